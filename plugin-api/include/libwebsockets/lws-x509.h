/*
 * Comlink plugin header: what the client's TLS certificate says. Part of
 * <libwebsockets.h>.
 *
 * The host knows a client certificate only when the vhost verified it
 * (host-ssl-ca with client-cert-required). It answers
 * LWS_TLS_CERT_INFO_VERIFIED and LWS_TLS_CERT_INFO_DER_RAW; the other kinds
 * return -1 (read the names you need from the DER).
 */

#ifndef COMLINK_LWS_X509_H
#define COMLINK_LWS_X509_H

enum lws_tls_cert_info {
	LWS_TLS_CERT_INFO_VALIDITY_FROM = 0,
	LWS_TLS_CERT_INFO_VALIDITY_TO = 1,
	LWS_TLS_CERT_INFO_COMMON_NAME = 2,
	LWS_TLS_CERT_INFO_ISSUER_NAME = 3,
	LWS_TLS_CERT_INFO_USAGE = 4,
	LWS_TLS_CERT_INFO_VERIFIED = 5,
	LWS_TLS_CERT_INFO_OPAQUE_PUBLIC_KEY = 6,
	LWS_TLS_CERT_INFO_DER_RAW = 7,
};

/*
 * The answer. For names and byte strings (ns), `name` may be longer than
 * declared: allocate a larger buffer, cast it, and pass the room `name`
 * has there as `len`.
 */
union lws_tls_cert_info_results {
	unsigned int verified;
	time_t time;
	unsigned int usage;
	struct {
		int len;
		char name[64];
	} ns;
};

/*
 * Fills buf with `type` of the client's certificate: 0, or -1 when there
 * is no certificate or the kind is not provided. DER_RAW that does not fit
 * in len bytes returns -1 with the size needed in buf->ns.len.
 */
LWS_VISIBLE LWS_EXTERN int
lws_tls_peer_cert_info(struct lws *wsi, enum lws_tls_cert_info type,
		       union lws_tls_cert_info_results *buf, size_t len);

#endif /* COMLINK_LWS_X509_H */
