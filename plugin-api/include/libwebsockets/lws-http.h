/*
 * Comlink plugin header: HTTP. Part of <libwebsockets.h>.
 *
 * Two parts:
 *  1. reading the request (headers by token, URL arguments) -- used by
 *     WebSocket plugins too, on the upgrade request;
 *  2. answering HTTP on a callback:// mount (response headers, status pages,
 *     transaction end, the POST body parser "spa").
 */

#ifndef COMLINK_LWS_HTTP_H
#define COMLINK_LWS_HTTP_H

/* Room worth reserving for a typical response head. */
#define LWS_RECOMMENDED_MIN_HEADER_SPACE 2048

/*
 * Request header and pseudo-header indexes, in lws's order. lws drops some of
 * them from some builds (which renumbers the rest); this header always has
 * all of them, numbered from 0 in this order, and the host uses the same
 * numbers (plugin-api/src/abi.rs).
 */
enum lws_token_indexes {
	WSI_TOKEN_GET_URI,			/* request path of a GET */
	WSI_TOKEN_POST_URI,			/* request path of a POST */
	WSI_TOKEN_OPTIONS_URI,			/* ... of an OPTIONS */
	WSI_TOKEN_HOST,
	WSI_TOKEN_CONNECTION,
	WSI_TOKEN_UPGRADE,
	WSI_TOKEN_ORIGIN,
	WSI_TOKEN_DRAFT,			/* sec-websocket-draft */
	WSI_TOKEN_CHALLENGE,			/* old ws handshake body; internal */
	WSI_TOKEN_EXTENSIONS,			/* sec-websocket-extensions */
	WSI_TOKEN_KEY1,
	WSI_TOKEN_KEY2,
	WSI_TOKEN_PROTOCOL,			/* sec-websocket-protocol */
	WSI_TOKEN_ACCEPT,			/* sec-websocket-accept */
	WSI_TOKEN_NONCE,
	WSI_TOKEN_HTTP,				/* "HTTP/1.1" status line; internal */
	WSI_TOKEN_HTTP2_SETTINGS,
	WSI_TOKEN_HTTP_ACCEPT,
	WSI_TOKEN_HTTP_AC_REQUEST_HEADERS,	/* access-control-request-headers */
	WSI_TOKEN_HTTP_IF_MODIFIED_SINCE,
	WSI_TOKEN_HTTP_IF_NONE_MATCH,
	WSI_TOKEN_HTTP_ACCEPT_ENCODING,
	WSI_TOKEN_HTTP_ACCEPT_LANGUAGE,
	WSI_TOKEN_HTTP_PRAGMA,
	WSI_TOKEN_HTTP_CACHE_CONTROL,
	WSI_TOKEN_HTTP_AUTHORIZATION,
	WSI_TOKEN_HTTP_COOKIE,
	WSI_TOKEN_HTTP_CONTENT_LENGTH,
	WSI_TOKEN_HTTP_CONTENT_TYPE,
	WSI_TOKEN_HTTP_DATE,
	WSI_TOKEN_HTTP_RANGE,
	WSI_TOKEN_HTTP_REFERER,
	WSI_TOKEN_KEY,				/* sec-websocket-key */
	WSI_TOKEN_VERSION,			/* sec-websocket-version */
	WSI_TOKEN_SWORIGIN,			/* sec-websocket-origin */
	WSI_TOKEN_HTTP_COLON_AUTHORITY,		/* HTTP/2 pseudo-headers */
	WSI_TOKEN_HTTP_COLON_METHOD,
	WSI_TOKEN_HTTP_COLON_PATH,
	WSI_TOKEN_HTTP_COLON_SCHEME,
	WSI_TOKEN_HTTP_COLON_STATUS,
	WSI_TOKEN_HTTP_ACCEPT_CHARSET,
	WSI_TOKEN_HTTP_ACCEPT_RANGES,
	WSI_TOKEN_HTTP_ACCESS_CONTROL_ALLOW_ORIGIN,
	WSI_TOKEN_HTTP_AGE,
	WSI_TOKEN_HTTP_ALLOW,
	WSI_TOKEN_HTTP_CONTENT_DISPOSITION,
	WSI_TOKEN_HTTP_CONTENT_ENCODING,
	WSI_TOKEN_HTTP_CONTENT_LANGUAGE,
	WSI_TOKEN_HTTP_CONTENT_LOCATION,
	WSI_TOKEN_HTTP_CONTENT_RANGE,
	WSI_TOKEN_HTTP_ETAG,
	WSI_TOKEN_HTTP_EXPECT,
	WSI_TOKEN_HTTP_EXPIRES,
	WSI_TOKEN_HTTP_FROM,
	WSI_TOKEN_HTTP_IF_MATCH,
	WSI_TOKEN_HTTP_IF_RANGE,
	WSI_TOKEN_HTTP_IF_UNMODIFIED_SINCE,
	WSI_TOKEN_HTTP_LAST_MODIFIED,
	WSI_TOKEN_HTTP_LINK,
	WSI_TOKEN_HTTP_LOCATION,
	WSI_TOKEN_HTTP_MAX_FORWARDS,
	WSI_TOKEN_HTTP_PROXY_AUTHENTICATE,
	WSI_TOKEN_HTTP_PROXY_AUTHORIZATION,
	WSI_TOKEN_HTTP_REFRESH,
	WSI_TOKEN_HTTP_RETRY_AFTER,
	WSI_TOKEN_HTTP_SERVER,
	WSI_TOKEN_HTTP_SET_COOKIE,
	WSI_TOKEN_HTTP_STRICT_TRANSPORT_SECURITY,
	WSI_TOKEN_HTTP_TRANSFER_ENCODING,
	WSI_TOKEN_HTTP_USER_AGENT,
	WSI_TOKEN_HTTP_VARY,
	WSI_TOKEN_HTTP_VIA,
	WSI_TOKEN_HTTP_WWW_AUTHENTICATE,
	WSI_TOKEN_PATCH_URI,			/* request path of a PATCH */
	WSI_TOKEN_PUT_URI,			/* ... of a PUT */
	WSI_TOKEN_DELETE_URI,			/* ... of a DELETE */
	WSI_TOKEN_HTTP_URI_ARGS,		/* the query string, one fragment per
						 * '&'-separated argument */
	WSI_TOKEN_PROXY,			/* internal */
	WSI_TOKEN_HTTP_X_REAL_IP,
	WSI_TOKEN_HTTP1_0,			/* "HTTP/1.0" status line; internal */
	WSI_TOKEN_X_FORWARDED_FOR,
	WSI_TOKEN_CONNECT,			/* request target of a CONNECT */
	WSI_TOKEN_HEAD_URI,			/* request path of a HEAD */
	WSI_TOKEN_TE,
	WSI_TOKEN_REPLAY_NONCE,
	WSI_TOKEN_COLON_PROTOCOL,		/* HTTP/2 :protocol */
	WSI_TOKEN_X_AUTH_TOKEN,
	WSI_TOKEN_DSS_SIGNATURE,		/* x-amzn-dss-signature */

	/* lws-internal client-side slots; never filled for a plugin */
	_WSI_TOKEN_CLIENT_SENT_PROTOCOLS,
	_WSI_TOKEN_CLIENT_PEER_ADDRESS,
	_WSI_TOKEN_CLIENT_URI,
	_WSI_TOKEN_CLIENT_HOST,
	_WSI_TOKEN_CLIENT_ORIGIN,
	_WSI_TOKEN_CLIENT_METHOD,
	_WSI_TOKEN_CLIENT_IFACE,
	_WSI_TOKEN_CLIENT_LOCALPORT,
	_WSI_TOKEN_CLIENT_ALPN,

	WSI_TOKEN_COUNT,			/* number of real tokens */

	/* lws parser states, not tokens */
	WSI_TOKEN_NAME_PART,
	WSI_TOKEN_UNKNOWN_VALUE_PART,
	WSI_TOKEN_SKIPPING,
	WSI_TOKEN_SKIPPING_SAW_CR,
	WSI_PARSING_COMPLETE,
	WSI_INIT_TOKEN_MUXURL
};

/* ---------------------------------------------------------------------------
 * 1. Reading the request. Valid in callbacks about an HTTP request or a ws
 * upgrade (the host keeps the upgrade request's headers for the life of a ws
 * connection).
 */

/* The lower-case name of a token ("host:"-style, as lws), or NULL. */
LWS_VISIBLE LWS_EXTERN const unsigned char *
lws_token_to_string(enum lws_token_indexes token);

/* Length of header h (all fragments joined), 0 if absent. No NUL counted. */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_hdr_total_length(struct lws *wsi, enum lws_token_indexes h);

/* Length of fragment frag_idx of header h, 0 if absent. */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_hdr_fragment_length(struct lws *wsi, enum lws_token_indexes h,
			int frag_idx);

/*
 * Copy header h, NUL-terminated, into dest of len bytes (len must leave room
 * for the NUL). Repeated headers are joined (',' in general, "; " for
 * cookies, '&' for URI args). Returns the length copied, 0 if absent, -1 if
 * it does not fit.
 */
LWS_VISIBLE LWS_EXTERN int
lws_hdr_copy(struct lws *wsi, char *dest, int len, enum lws_token_indexes h);

/* Copy fragment frag_idx of header h, NUL-terminated; as lws_hdr_copy(). */
LWS_VISIBLE LWS_EXTERN int
lws_hdr_copy_fragment(struct lws *wsi, char *dest, int len,
		      enum lws_token_indexes h, int frag_idx);

/* A request header that has no token, by name with its ':' ("x-my-hdr:"):
 * its length (-1 when absent), and a NUL-terminated copy (its length, or -1
 * when absent or when it does not fit in len bytes). */
LWS_VISIBLE LWS_EXTERN int
lws_hdr_custom_length(struct lws *wsi, const char *name, int nlen);

LWS_VISIBLE LWS_EXTERN int
lws_hdr_custom_copy(struct lws *wsi, char *dst, int len, const char *name,
		    int nlen);

/*
 * Find URL argument `name` (given with or without its '='): copy the
 * url-decoded value, NUL-terminated, into buf of len bytes and return its
 * length, or -1 if absent or too long.
 */
LWS_VISIBLE LWS_EXTERN int
lws_get_urlarg_by_name_safe(struct lws *wsi, const char *name, char *buf,
			    int len);

/* Older form: on success buf holds the value and the return points at it;
 * NULL if absent. */
LWS_VISIBLE LWS_EXTERN const char *
lws_get_urlarg_by_name(struct lws *wsi, const char *name, char *buf, int len);

/* ===========================================================================
 * 2. HTTP RESPONSES (callback:// mounts).
 *
 * Flow: LWS_CALLBACK_HTTP (and HTTP_BODY / HTTP_BODY_COMPLETION for a body)
 * -> lws_callback_on_writable() -> in HTTP_WRITEABLE build the head into a
 * buffer with LWS_PRE free in front: lws_add_http_header_status(), ..._by_*,
 * ..._content_length(), lws_finalize_http_header(); send it with ONE
 * lws_write(LWS_WRITE_HTTP_HEADERS); send the body in LATER writeable
 * callbacks with LWS_WRITE_HTTP, the last with LWS_WRITE_HTTP_FINAL; then
 * lws_http_transaction_completed() (nonzero -> return -1).
 *
 * The lws_add_http_header_* calls append to the buffer at *p (never past
 * end), advance *p, and return 0, or nonzero if it does not fit.
 * ===========================================================================
 */

enum http_status {
	HTTP_STATUS_CONTINUE = 100,

	HTTP_STATUS_OK = 200,
	HTTP_STATUS_NO_CONTENT = 204,
	HTTP_STATUS_PARTIAL_CONTENT = 206,

	HTTP_STATUS_MOVED_PERMANENTLY = 301,
	HTTP_STATUS_FOUND = 302,
	HTTP_STATUS_SEE_OTHER = 303,
	HTTP_STATUS_NOT_MODIFIED = 304,

	HTTP_STATUS_BAD_REQUEST = 400,
	HTTP_STATUS_UNAUTHORIZED = 401,
	HTTP_STATUS_PAYMENT_REQUIRED = 402,
	HTTP_STATUS_FORBIDDEN = 403,
	HTTP_STATUS_NOT_FOUND = 404,
	HTTP_STATUS_METHOD_NOT_ALLOWED = 405,
	HTTP_STATUS_NOT_ACCEPTABLE = 406,
	HTTP_STATUS_PROXY_AUTH_REQUIRED = 407,
	HTTP_STATUS_REQUEST_TIMEOUT = 408,
	HTTP_STATUS_CONFLICT = 409,
	HTTP_STATUS_GONE = 410,
	HTTP_STATUS_LENGTH_REQUIRED = 411,
	HTTP_STATUS_PRECONDITION_FAILED = 412,
	HTTP_STATUS_REQ_ENTITY_TOO_LARGE = 413,
	HTTP_STATUS_REQ_URI_TOO_LONG = 414,
	HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE = 415,
	HTTP_STATUS_REQ_RANGE_NOT_SATISFIABLE = 416,
	HTTP_STATUS_EXPECTATION_FAILED = 417,

	HTTP_STATUS_INTERNAL_SERVER_ERROR = 500,
	HTTP_STATUS_NOT_IMPLEMENTED = 501,
	HTTP_STATUS_BAD_GATEWAY = 502,
	HTTP_STATUS_SERVICE_UNAVAILABLE = 503,
	HTTP_STATUS_GATEWAY_TIMEOUT = 504,
	HTTP_STATUS_HTTP_VERSION_NOT_SUPPORTED = 505
};

/*
 * `in` of LWS_CALLBACK_CHECK_ACCESS_RIGHTS, _PROCESS_HTML and _ADD_HEADERS.
 * For CHECK_ACCESS_RIGHTS: p = the URI, len its length, max_len the mount's
 * auth mask; set final = 1 to say the plugin handled the request itself.
 */
struct lws_process_html_args {
	char *p;
	int len;
	int max_len;
	int final;
	int chunked;
};

/* Bits or-ed into `code` of lws_add_http_header_status(). */
#define LWSAHH_CODE_MASK ((1 << 16) - 1)
#define LWSAHH_FLAG_NO_SERVER_NAME (1 << 30)

/* The status line (plus the vhost's standard headers, Server: unless
 * LWSAHH_FLAG_NO_SERVER_NAME). */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_add_http_header_status(struct lws *wsi, unsigned int code,
			   unsigned char **p, unsigned char *end);

/* A header by name; `name` includes the ':' ("x-foo:"). */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_add_http_header_by_name(struct lws *wsi, const unsigned char *name,
			    const unsigned char *value, int length,
			    unsigned char **p, unsigned char *end);

/* A header by token (e.g. WSI_TOKEN_HTTP_CONTENT_TYPE). */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_add_http_header_by_token(struct lws *wsi, enum lws_token_indexes token,
			     const unsigned char *value, int length,
			     unsigned char **p, unsigned char *end);

/* content-length:, and tells the host how much body to expect. */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_add_http_header_content_length(struct lws *wsi,
				   lws_filepos_t content_length,
				   unsigned char **p, unsigned char *end);

/* End the head (the blank line). */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_finalize_http_header(struct lws *wsi, unsigned char **p,
			 unsigned char *end);

/* Finalize and lws_write() the head that starts at `start` in one go. */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_finalize_write_http_header(struct lws *wsi, unsigned char *start,
			       unsigned char **p, unsigned char *end);

/* content_len for lws_add_http_common_headers() when it is unknown. */
#define LWS_ILLEGAL_HTTP_CONTENT_LEN ((lws_filepos_t)-1ll)

/* Status, content-type and (unless LWS_ILLEGAL_HTTP_CONTENT_LEN)
 * content-length in one call. */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_add_http_common_headers(struct lws *wsi, unsigned int code,
			    const char *content_type, lws_filepos_t content_len,
			    unsigned char **p, unsigned char *end);

/* Send a complete response: status `code` and a small HTML page with
 * html_body (may be NULL). Returns nonzero if the connection should close. */
LWS_VISIBLE LWS_EXTERN int
lws_return_http_status(struct lws *wsi, unsigned int code,
		       const char *html_body);

/* Build a redirect head (code, location: loc) at *p; then lws_write it as
 * LWS_WRITE_HTTP_HEADERS. Returns the lws_write() result or -1. */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_http_redirect(struct lws *wsi, int code, const unsigned char *loc,
		  int len, unsigned char **p, unsigned char *end);

/* The response is complete: ready the connection for its next request.
 * Nonzero means it must close instead (return -1 from the callback). */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_http_transaction_completed(struct lws *wsi);

/* Serve a file as the whole response (LWS_CALLBACK_HTTP_FILE_COMPLETION
 * follows). other_headers: extra ready-made header lines, or NULL. */
LWS_VISIBLE LWS_EXTERN int
lws_serve_http_file(struct lws *wsi, const char *file,
		    const char *content_type, const char *other_headers,
		    int other_headers_len);

/* Request method, as returned by lws_http_get_uri_and_method(). */
enum {
	LWSHUMETH_GET,
	LWSHUMETH_POST,
	LWSHUMETH_OPTIONS,
	LWSHUMETH_PUT,
	LWSHUMETH_PATCH,
	LWSHUMETH_DELETE,
	LWSHUMETH_CONNECT,
	LWSHUMETH_HEAD,
	LWSHUMETH_COLON_PATH
};

/* Point *puri_ptr / *puri_len at the request path; returns LWSHUMETH_* or
 * -1. The path stays owned by the host. */
LWS_VISIBLE LWS_EXTERN int LWS_WARN_UNUSED_RESULT
lws_http_get_uri_and_method(struct lws *wsi, char **puri_ptr, int *puri_len);

/* ---------------------------------------------------------------------------
 * spa: parser for urlencoded and multipart/form-data POST bodies. Feed it the
 * HTTP_BODY pieces with lws_spa_process(), call lws_spa_finalize() at
 * HTTP_BODY_COMPLETION, read fields by index into param_names, and
 * lws_spa_destroy() it (at the latest in HTTP_DROP_PROTOCOL).
 */

enum lws_spa_fileupload_states {
	LWS_UFS_CONTENT,	/* a piece of the file */
	LWS_UFS_FINAL_CONTENT,	/* the last piece */
	LWS_UFS_OPEN,		/* a file field starts; filename is known */
	LWS_UFS_CLOSE		/* upload abandoned */
};

/* Receives file uploads; nonzero aborts the parse. */
typedef int (*lws_spa_fileupload_cb)(void *data, const char *name,
				     const char *filename, char *buf, int len,
				     enum lws_spa_fileupload_states state);

LWS_VISIBLE LWS_EXTERN struct lws_spa *
lws_spa_create(struct lws *wsi, const char * const *param_names,
	       int count_params, int max_storage,
	       lws_spa_fileupload_cb opt_cb, void *opt_data);

typedef struct lws_spa_create_info {
	const char * const *param_names;	/* field names */
	int count_params;
	int max_storage;		/* bytes for all field values together */
	lws_spa_fileupload_cb opt_cb;	/* NULL, or file upload sink */
	void *opt_data;			/* first argument of opt_cb */
	size_t param_names_stride;	/* 0: param_names is a char * array; else
					 * bytes between successive names */
	struct lwsac **ac;		/* must be NULL here */
	size_t ac_chunk_size;
} lws_spa_create_info_t;

LWS_VISIBLE LWS_EXTERN struct lws_spa *
lws_spa_create_via_info(struct lws *wsi, const lws_spa_create_info_t *info);

/* Feed len body bytes; nonzero on a parse error or a refused upload. */
LWS_VISIBLE LWS_EXTERN int
lws_spa_process(struct lws_spa *spa, const char *in, int len);

LWS_VISIBLE LWS_EXTERN int
lws_spa_finalize(struct lws_spa *spa);

/* Length / NUL-terminated, url-decoded value of field n; NULL if absent. */
LWS_VISIBLE LWS_EXTERN int
lws_spa_get_length(struct lws_spa *spa, int n);

LWS_VISIBLE LWS_EXTERN const char *
lws_spa_get_string(struct lws_spa *spa, int n);

LWS_VISIBLE LWS_EXTERN int
lws_spa_destroy(struct lws_spa *spa);

#endif /* COMLINK_LWS_HTTP_H */
