/*
 * Comlink plugin header: connections a plugin opens to other servers
 * (WebSocket or HTTP client). Part of <libwebsockets.h>.
 *
 * A plugin fills a struct lws_client_connect_info (zero it first) and
 * calls lws_client_connect_via_info() from a service thread, usually from
 * one of its callbacks. The call returns the new connection at once (or
 * NULL when the request cannot be started at all: no address, a bad
 * vhost); connecting, TLS and the handshake go on in the background on the
 * calling thread, and the outcome arrives as callbacks on the protocol the
 * connection is bound to:
 *
 *   WebSocket (method NULL):
 *     CLIENT_APPEND_HANDSHAKE_HEADER  in = char ** cursor, len = room left
 *     CLIENT_ESTABLISHED, then CLIENT_RECEIVE / CLIENT_WRITEABLE /
 *     CLIENT_RECEIVE_PONG, and CLIENT_CLOSED at the end
 *   HTTP (method "GET", "POST", ...):
 *     CLIENT_APPEND_HANDSHAKE_HEADER, CLIENT_HTTP_WRITEABLE while a body
 *     is sent (lws_client_http_body_pending), ESTABLISHED_CLIENT_HTTP (the status
 *     is lws_http_client_http_response()), RECEIVE_CLIENT_HTTP each time
 *     body bytes wait (call lws_http_client_read(), which hands them over
 *     as RECEIVE_CLIENT_HTTP_READ), COMPLETED_CLIENT_HTTP when the body
 *     has all been read, CLOSED_CLIENT_HTTP at the end
 *   either, on failure before that: CLIENT_CONNECTION_ERROR with in = a
 *     NUL-terminated reason (may be NULL) - and no CLOSED callback.
 *
 * The write rules of server connections hold: one lws_write() per
 * CLIENT_WRITEABLE (a client's WebSocket frames are masked by the host),
 * lws_rx_flow_control() pauses reading.
 *
 * The layout of struct lws_client_connect_info is lws v4.3's, for an lws
 * built without fault injection; fields the host does not use are listed
 * so that code filling them compiles, and are ignored.
 */

#ifndef COMLINK_LWS_CLIENT_H
#define COMLINK_LWS_CLIENT_H

/* Bits of lws_client_connect_info.ssl_connection. */
enum lws_client_connect_ssl_connection_flags {
	LCCSCF_USE_SSL				= (1 << 0),  /* TLS (wss://, https://) */
	LCCSCF_ALLOW_SELFSIGNED			= (1 << 1),  /* any certificate */
	LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK	= (1 << 2),  /* chain checked, name not */
	LCCSCF_ALLOW_EXPIRED			= (1 << 3),  /* ignored: refused */
	LCCSCF_ALLOW_INSECURE			= (1 << 4),  /* any certificate */
	LCCSCF_H2_QUIRK_NGHTTP2_END_STREAM	= (1 << 5),
	LCCSCF_H2_QUIRK_OVERFLOWS_TXCR		= (1 << 6),
	LCCSCF_H2_AUTH_BEARER			= (1 << 7),
	LCCSCF_H2_HEXIFY_AUTH_TOKEN		= (1 << 8),
	LCCSCF_H2_MANUAL_RXFLOW			= (1 << 9),
	LCCSCF_HTTP_MULTIPART_MIME		= (1 << 10),
	LCCSCF_HTTP_X_WWW_FORM_URLENCODED	= (1 << 11),
	LCCSCF_HTTP_NO_FOLLOW_REDIRECT		= (1 << 12),
	LCCSCF_PIPELINE				= (1 << 16),
	LCCSCF_MUXABLE_STREAM			= (1 << 17),
	LCCSCF_H2_PRIOR_KNOWLEDGE		= (1 << 18),
	LCCSCF_WAKE_SUSPEND__VALIDITY		= (1 << 19),
	LCCSCF_PRIORITIZE_READS			= (1 << 20),
	LCCSCF_SECSTREAM_CLIENT			= (1 << 21),
	LCCSCF_SECSTREAM_PROXY_LINK		= (1 << 22),
	LCCSCF_SECSTREAM_PROXY_ONWARD		= (1 << 23),
	LCCSCF_IP_LOW_LATENCY			= (1 << 24),
	LCCSCF_IP_HIGH_THROUGHPUT		= (1 << 25),
	LCCSCF_IP_HIGH_RELIABILITY		= (1 << 26),
	LCCSCF_IP_LOW_COST			= (1 << 27),
	LCCSCF_CONMON				= (1 << 28),
	LCCSCF_ACCEPT_TLS_DOWNGRADE_REDIRECTS	= (1 << 29),
	LCCSCF_CACHE_COOKIES			= (1 << 30)
};

struct lws_sequencer;
typedef struct lws_retry_bo lws_retry_bo_t;
typedef struct lws_log_cx lws_log_cx_t;

struct lws_client_connect_info {
	struct lws_context *context;	/* ignored: there is one */
	const char *address;		/* host name or IP to connect to */
	int port;
	int ssl_connection;		/* LCCSCF_* bits */
	const char *path;		/* request target, "/" when NULL */
	const char *host;		/* Host: (and the TLS name); else address */
	const char *origin;		/* Origin:, when not NULL */
	const char *protocol;		/* ws: Sec-WebSocket-Protocol list */
	int ietf_version_or_minus_one;	/* ignored */
	void *userdata;			/* the connection's user data, instead
					 * of per_session_data_size zeroed bytes */
	const void *client_exts;	/* ignored */
	const char *method;		/* NULL: WebSocket; else the HTTP method */
	struct lws *parent_wsi;		/* ignored */
	const char *uri_replace_from;	/* ignored */
	const char *uri_replace_to;	/* ignored */
	struct lws_vhost *vhost;	/* whose protocols and client TLS; NULL:
					 * the first vhost */
	struct lws **pwsi;		/* set to the connection before any of its
					 * callbacks runs */
	const char *iface;		/* ignored */
	const char *local_protocol_name; /* the protocol that gets the
					  * callbacks; NULL: the one named by
					  * .protocol; unknown: the vhost's first */
	const char *alpn;		/* ignored: HTTP/1.1 */
	struct lws_sequencer *seq;	/* ignored */
	void *opaque_user_data;		/* lws_get_opaque_user_data() */
	const lws_retry_bo_t *retry_and_idle_policy; /* ignored */
	int manual_initial_tx_credit;	/* ignored */
	uint8_t sys_tls_client_cert;	/* ignored */
	uint8_t priority;		/* ignored */
	void *mqtt_cp;			/* ignored */
	const char *fi_wsi_name;	/* ignored */
	uint16_t keep_warm_secs;	/* ignored */
	lws_log_cx_t *log_cx;		/* ignored */
	void *_unused[4];
};

/* Starts a client connection; see the top of this file. */
LWS_VISIBLE LWS_EXTERN struct lws *
lws_client_connect_via_info(const struct lws_client_connect_info *ccinfo);

/*
 * From RECEIVE_CLIENT_HTTP: hands the body bytes waiting to the protocol as
 * RECEIVE_CLIENT_HTTP_READ callbacks of at most *len bytes each (*buf is
 * the plugin's buffer, unused by the host). 0, or -1 when a callback asked
 * to close.
 */
LWS_VISIBLE LWS_EXTERN int
lws_http_client_read(struct lws *wsi, char **buf, int *len);

/*
 * A request with a body (POST, PUT): call with 1 from
 * CLIENT_APPEND_HANDSHAKE_HEADER (adding Content-Length there, else the
 * body goes chunked) and ask lws_callback_on_writable(); each
 * CLIENT_HTTP_WRITEABLE then takes one lws_write() of LWS_WRITE_HTTP, the
 * last one LWS_WRITE_HTTP_FINAL. The response follows as for a GET.
 */
LWS_VISIBLE LWS_EXTERN void
lws_client_http_body_pending(struct lws *wsi, int something_left_to_send);

/* The HTTP status of a client HTTP connection's response; 0 before it. */
LWS_VISIBLE LWS_EXTERN unsigned int
lws_http_client_http_response(struct lws *wsi);

#endif /* COMLINK_LWS_CLIENT_H */
