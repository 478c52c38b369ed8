/*
 * Comlink plugin header: sending, writability, receive flow and closing.
 * Part of <libwebsockets.h>.
 *
 * The rules (as in lws): write only from a WRITEABLE callback
 * (LWS_CALLBACK_SERVER_WRITEABLE / LWS_CALLBACK_HTTP_WRITEABLE), one
 * lws_write() per callback unless you loop on !lws_send_pipe_choked(), and
 * leave LWS_PRE writable bytes in front of the buffer you pass.
 */

#ifndef COMLINK_LWS_WRITE_H
#define COMLINK_LWS_WRITE_H

/* What a lws_write() carries: one kind, optionally or-ed with flags. */
enum lws_write_protocol {
	LWS_WRITE_TEXT = 0,			/* ws text message (or its first part) */
	LWS_WRITE_BINARY = 1,			/* ws binary message (or first part) */
	LWS_WRITE_CONTINUATION = 2,		/* later part of a ws message */
	LWS_WRITE_HTTP = 3,			/* HTTP body bytes */
	/* 4 (close) is not a write type: use lws_close_reason() */
	LWS_WRITE_PING = 5,
	LWS_WRITE_PONG = 6,
	LWS_WRITE_HTTP_FINAL = 7,		/* last HTTP body bytes of the response */
	LWS_WRITE_HTTP_HEADERS = 8,		/* the response head, built with the
						 * lws_add_http_header_* calls */
	LWS_WRITE_HTTP_HEADERS_CONTINUATION = 9,
	LWS_WRITE_QUIC_DATAGRAM = 10,		/* lws main branch; not supported */

	/* flags */
	LWS_WRITE_BUFLIST = 0x20,
	LWS_WRITE_NO_FIN = 0x40,		/* more parts of this ws message follow */
	LWS_WRITE_H2_STREAM_END = 0x80,
	LWS_WRITE_CLIENT_IGNORE_XOR_MASK = 0x80
};

/* Raw connections write like HTTP bodies. */
#define LWS_WRITE_RAW LWS_WRITE_HTTP

/*
 * Send len bytes at buf (buf - LWS_PRE .. buf must be writable). Returns the
 * number of bytes accepted: the host keeps what the socket cannot take yet
 * and reports the full length; a negative value means the connection is
 * gone and the callback should return -1.
 */
LWS_VISIBLE LWS_EXTERN int
lws_write(struct lws *wsi, unsigned char *buf, size_t len,
	  enum lws_write_protocol protocol);

/* Comlink: one whole LWS_WRITE_TEXT or LWS_WRITE_BINARY message for each
 * of count WebSockets of this service thread, framed once. Each that waits
 * for nothing (its earlier output is all on the socket, no message of its
 * own is half written, it is not running a callback) takes it: taken[i] is
 * set to 1, and it is written to its socket there and then, as if its
 * WRITEABLE had written it, without calling it back (what the socket does
 * not take yet goes out as it drains, before any WRITEABLE it asks for).
 * The others are left as they were, taken[i] = 0: ask for WRITEABLE as
 * usual. A message for many subscribers, each waiting for the next one,
 * reaches them all in one walk. No LWS_PRE room is needed. A connection
 * listed twice may get it twice. Returns how many took it; -1 when refused
 * (another write type, a null array). */
LWS_VISIBLE LWS_EXTERN int
comlink_write_queued(struct lws **wsi, size_t count, unsigned char *buf,
		     size_t len, enum lws_write_protocol protocol,
		     unsigned char *taken);

/* HTTP body write from a possibly-const buffer. */
#define lws_write_http(wsi, buf, len) \
	lws_write(wsi, (unsigned char *)(buf), len, LWS_WRITE_HTTP)

/*
 * Write type for one part of a ws message sent in parts: `initial` (TEXT or
 * BINARY) for the first part, CONTINUATION after it, NO_FIN unless last.
 */
static LWS_INLINE int
lws_write_ws_flags(int initial, int is_start, int is_end)
{
	int r = is_start ? initial : LWS_WRITE_CONTINUATION;

	if (!is_end)
		r |= LWS_WRITE_NO_FIN;
	return r;
}

/*
 * Nonzero when the connection cannot take another write now (the host still
 * holds unsent data, or the socket is full). Loop "while
 * (!lws_send_pipe_choked(wsi))" to send several messages in one callback.
 */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_send_pipe_choked(struct lws *wsi);

/* Nonzero while the host holds bytes of an earlier write not yet sent. */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_partial_buffered(struct lws *wsi);

/* ---------------------------------------------------------------------------
 * Asking for WRITEABLE callbacks. Requests for the same connection merge
 * into one callback.
 */

/* One WRITEABLE callback for this connection, when it can send. Returns 1
 * when registered, 0 when ignored (the connection is closing), -1 on error. */
LWS_VISIBLE LWS_EXTERN int
lws_callback_on_writable(struct lws *wsi);

/* ... for every connection of `protocol`, on every vhost. Returns 0. */
LWS_VISIBLE LWS_EXTERN int
lws_callback_on_writable_all_protocol(const struct lws_context *context,
				      const struct lws_protocols *protocol);

/* ... for every connection of `protocol` on one vhost. */
LWS_VISIBLE LWS_EXTERN int
lws_callback_on_writable_all_protocol_vhost(const struct lws_vhost *vhost,
					    const struct lws_protocols *protocol);

/* Call `protocol`'s callback now with `reason` for each of its connections
 * (every vhost). */
LWS_VISIBLE LWS_EXTERN int
lws_callback_all_protocol(struct lws_context *context,
			  const struct lws_protocols *protocol, int reason);

/* ... on one vhost. */
LWS_VISIBLE LWS_EXTERN int
lws_callback_all_protocol_vhost(struct lws_vhost *vh,
				const struct lws_protocols *protocol,
				int reason);

/* ... on one vhost, passing argp/len as in/len. */
LWS_VISIBLE LWS_EXTERN int
lws_callback_all_protocol_vhost_args(struct lws_vhost *vh,
				     const struct lws_protocols *protocol,
				     int reason, void *argp, size_t len);

/* ---------------------------------------------------------------------------
 * Receiving.
 */

/* Pause (enable = 0) or resume (enable = 1) RECEIVE callbacks on wsi. */
LWS_VISIBLE LWS_EXTERN int
lws_rx_flow_control(struct lws *wsi, int enable);

/* Resume RECEIVE on every connection of `protocol`. */
LWS_VISIBLE LWS_EXTERN void
lws_rx_flow_allow_all_protocol(const struct lws_context *context,
			       const struct lws_protocols *protocol);

/* Inside RECEIVE: is this piece the first / last of its ws message? */
LWS_VISIBLE LWS_EXTERN int
lws_is_first_fragment(struct lws *wsi);

LWS_VISIBLE LWS_EXTERN int
lws_is_final_fragment(struct lws *wsi);

/* Inside RECEIVE: nonzero if the message is binary. */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_frame_is_binary(struct lws *wsi);

/* Inside RECEIVE: bytes of the current frame still to come. */
LWS_VISIBLE LWS_EXTERN size_t
lws_remaining_packet_payload(struct lws *wsi);

/* ---------------------------------------------------------------------------
 * Closing a ws connection with a status. Call lws_close_reason(), then
 * return -1 from the callback.
 */
enum lws_close_status {
	LWS_CLOSE_STATUS_NOSTATUS = 0,		/* send a close with no status */
	LWS_CLOSE_STATUS_NORMAL = 1000,
	LWS_CLOSE_STATUS_GOINGAWAY = 1001,
	LWS_CLOSE_STATUS_PROTOCOL_ERR = 1002,
	LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE = 1003,
	LWS_CLOSE_STATUS_RESERVED = 1004,
	LWS_CLOSE_STATUS_NO_STATUS = 1005,	/* never sent on the wire */
	LWS_CLOSE_STATUS_ABNORMAL_CLOSE = 1006,	/* never sent on the wire */
	LWS_CLOSE_STATUS_INVALID_PAYLOAD = 1007,
	LWS_CLOSE_STATUS_POLICY_VIOLATION = 1008,
	LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE = 1009,
	LWS_CLOSE_STATUS_EXTENSION_REQUIRED = 1010,
	LWS_CLOSE_STATUS_UNEXPECTED_CONDITION = 1011,
	LWS_CLOSE_STATUS_TLS_FAILURE = 1015,	/* never sent on the wire */
	LWS_CLOSE_STATUS_CLIENT_TRANSACTION_DONE = 2000,
	LWS_CLOSE_STATUS_NOSTATUS_CONTEXT_DESTROY = 9999
};

/* Set the status and reason (buf/len, at most 123 bytes) of the close frame
 * the host sends when this callback returns nonzero. */
LWS_VISIBLE LWS_EXTERN void
lws_close_reason(struct lws *wsi, enum lws_close_status status,
		 unsigned char *buf, size_t len);

#endif /* COMLINK_LWS_WRITE_H */
