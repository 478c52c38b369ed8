/*
 * Comlink plugin header: adopting descriptors a plugin opened itself (a
 * FIFO, a serial device, a socket it connected) into the service loop, so
 * their events arrive as callbacks of one of its protocols. Part of
 * <libwebsockets.h>.
 *
 * A raw file wsi: when the descriptor is readable the protocol gets
 * LWS_CALLBACK_RAW_RX_FILE with no data (read() the descriptor yourself,
 * lws_get_socket_fd() gives it); after lws_callback_on_writable(), once it
 * can be written, LWS_CALLBACK_RAW_WRITEABLE_FILE. A raw socket wsi: the
 * bytes received arrive in LWS_CALLBACK_RAW_RX (in, len); send with
 * lws_write(wsi, buf, len, LWS_WRITE_RAW) from LWS_CALLBACK_RAW_WRITEABLE.
 * A callback returning nonzero closes the wsi; so does the peer's close
 * (sockets) or a hang-up with nothing left to read (files). The last
 * callback is LWS_CALLBACK_RAW_CLOSE_FILE / LWS_CALLBACK_RAW_CLOSE, and the
 * host closes the descriptor then: it belongs to the wsi from adoption on.
 *
 * A descriptor the event loop cannot watch (a regular file: epoll refuses
 * it) cannot be adopted. UDP, TLS on adopted sockets and the raw proxy
 * role are not provided.
 *
 * Adopt from a callback on a service thread (PROTOCOL_INIT is one). The
 * wsi belongs to the plugin generation that made it: when a reload
 * replaces the plugin's file, its raw wsis are closed before its
 * PROTOCOL_DESTROY.
 */

#ifndef COMLINK_LWS_ADOPT_H
#define COMLINK_LWS_ADOPT_H

/* What the descriptor is: flags or-ed together. */
typedef enum {
	LWS_ADOPT_RAW_FILE_DESC		= 0,	/* neither socket nor HTTP: a file */
	LWS_ADOPT_HTTP			= 1,	/* serve HTTP on it (absent: raw) */
	LWS_ADOPT_SOCKET		= 2,	/* a socket (absent: a file) */
	LWS_ADOPT_ALLOW_SSL		= 4,	/* lws: TLS if the vhost has it; ignored */
	LWS_ADOPT_FLAG_UDP		= 16,	/* a UDP socket: not supported */
	LWS_ADOPT_FLAG_RAW_PROXY	= 32,	/* raw proxy role: not supported */
	LWS_ADOPT_RAW_SOCKET_UDP	= LWS_ADOPT_SOCKET | LWS_ADOPT_FLAG_UDP,
} lws_adoption_type;

/* The descriptor: .sockfd for a socket, .filefd for anything else. */
typedef union {
	lws_sockfd_type sockfd;
	lws_filefd_type filefd;
} lws_sock_file_fd_type;

/*
 * Adopt fd on vhost vh as a raw file (type LWS_ADOPT_RAW_FILE_DESC) or a raw
 * socket (LWS_ADOPT_SOCKET), bound to the vhost's protocol vh_prot_name
 * (NULL: for a socket, the protocol whose pvo has "raw"; for a file, the
 * vhost's default protocol). parent is accepted and ignored. Returns the new
 * wsi after its LWS_CALLBACK_RAW_ADOPT(_FILE) returned 0; on any failure the
 * descriptor is closed and NULL returned.
 *
 * LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP asks for HTTP service of an accepted
 * socket: that is done only on a vhost whose "listen-accept-role" is
 * "raw-skt" with "apply-listen-accept" set (it is then adopted raw, bound to
 * "listen-accept-protocol"); elsewhere it is refused.
 */
LWS_VISIBLE LWS_EXTERN struct lws *
lws_adopt_descriptor_vhost(struct lws_vhost *vh, lws_adoption_type type,
			   lws_sock_file_fd_type fd, const char *vh_prot_name,
			   struct lws *parent);

/* The same with its arguments in a struct (lws v4.1+). */
typedef struct lws_adopt_desc {
	struct lws_vhost *vh;
	lws_adoption_type type;
	lws_sock_file_fd_type fd;
	const char *vh_prot_name;
	struct lws *parent;
	void *opaque;		/* set as the new wsi's opaque user data */
	const char *fi_wsi_name;	/* fault injection: ignored */
} lws_adopt_desc_t;

LWS_VISIBLE LWS_EXTERN struct lws *
lws_adopt_descriptor_vhost_via_info(const lws_adopt_desc_t *info);

/*
 * An accepted socket, as if vh's listener had accepted it:
 * lws_adopt_descriptor_vhost(vh, LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP |
 * LWS_ADOPT_ALLOW_SSL, ...), see there.
 */
LWS_VISIBLE LWS_EXTERN struct lws *
lws_adopt_socket_vhost(struct lws_vhost *vh, lws_sockfd_type accept_fd);

/* As lws_adopt_socket_vhost(), with len bytes already read from the socket
 * to be handled before anything read from it. */
LWS_VISIBLE LWS_EXTERN struct lws *
lws_adopt_socket_vhost_readbuf(struct lws_vhost *vhost,
			       lws_sockfd_type accept_fd, const char *readbuf,
			       size_t len);

/* The descriptor under a raw wsi (or a connection's socket); -1 if none. */
LWS_VISIBLE LWS_EXTERN lws_sockfd_type
lws_get_socket_fd(struct lws *wsi);

#endif /* COMLINK_LWS_ADOPT_H */
