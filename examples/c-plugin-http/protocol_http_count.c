/*
 * An HTTP plugin in the seed's style: a callback:// mount answers each POST
 * with JSON, the headers in one HTTP_WRITEABLE callback and the body in the
 * next (the seed's CreateHeaders + justHeader pattern), cleaned of the
 * seed's bugs: the JSON is formatted with a length limit (not sprintf of a
 * caller string), the header buffer is on the stack (no malloc/leak), the
 * per-request state is reset at HTTP_BIND_PROTOCOL, and the transaction is
 * completed after the body so the connection is kept alive.
 *
 * It answers {"bytes":N,"chunks":M,"path":"..."} where N counts the body.
 *
 * Build (from the repository root):
 *   cc -shared -fPIC -Wall -I plugin-api/include \
 *      -o libprotocol_http_count.so examples/c-plugin-http/protocol_http_count.c
 *
 * Use it from a vhost:
 *   "mounts": [{ "mountpoint": "/count", "origin": "callback://http-count" }],
 *   "ws-protocols": [{ "http-count": { "status": "ok" } }]
 */
#include <libwebsockets.h>
#include <string.h>

struct pss__http_count {
	unsigned long bytes;
	unsigned long chunks;
	char path[128];
	char result[LWS_PRE + 256];	/* the JSON body, after LWS_PRE */
	int result_len;
	int header_sent;		/* the seed's justHeader */
};

/* The seed's CreateHeaders(): status, type and length, written at once. */
static int
create_headers(struct lws *wsi, struct pss__http_count *pss)
{
	unsigned char buf[LWS_PRE + 512], *start = &buf[LWS_PRE], *p = start,
		      *end = &buf[sizeof(buf) - 1];

	pss->result_len = lws_snprintf(pss->result + LWS_PRE, 256,
			"{\"bytes\":%lu,\"chunks\":%lu,\"path\":\"%s\"}",
			pss->bytes, pss->chunks, pss->path);

	if (lws_add_http_header_status(wsi, HTTP_STATUS_OK, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
				(unsigned char *)"application/json", 16, &p, end) ||
	    lws_add_http_header_content_length(wsi,
				(lws_filepos_t)pss->result_len, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end))
		return -1;

	if (lws_write(wsi, start, lws_ptr_diff_size_t(p, start),
		      LWS_WRITE_HTTP_HEADERS) < 0)
		return -1;

	return 0;
}

static int
callback_http_count(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	struct pss__http_count *pss = (struct pss__http_count *)user;

	switch (reason) {
	case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
		if (pss)
			memset(pss, 0, sizeof(*pss));
		break;

	case LWS_CALLBACK_HTTP:
		lws_strncpy(pss->path, in ? (const char *)in : "",
			    sizeof(pss->path));
		/*
		 * A request without a body is answered at once. POST, PUT and
		 * PATCH always have one (lws reads it, up to the client's close
		 * when no length is given), as has any request with a length or
		 * chunked framing: those are answered at BODY_COMPLETION.
		 */
		if (!lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) &&
		    !lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI) &&
		    !lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI) &&
		    !lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) &&
		    !lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING))
			lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_HTTP_BODY:
		pss->bytes += len;
		pss->chunks++;
		break;

	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!pss->header_sent) {
			/* first the headers ... */
			if (create_headers(wsi, pss))
				return -1;
			pss->header_sent = 1;
			/* ... and the body in the next writeable callback */
			lws_callback_on_writable(wsi);
			return 0;
		}
		if (lws_write(wsi, (unsigned char *)pss->result + LWS_PRE,
			      (size_t)pss->result_len, LWS_WRITE_HTTP_FINAL) < 0)
			return -1;
		if (lws_http_transaction_completed(wsi))
			return -1;
		return 0;

	default:
		break;
	}

	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "http-count", callback_http_count, sizeof(struct pss__http_count), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

LWS_VISIBLE const lws_plugin_protocol_t http_count = {
	.hdr = {
		"http count",
		"lws_protocol_plugin",
		LWS_BUILD_HASH,
		LWS_PLUGIN_API_MAGIC
	},
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
	.extensions = NULL,
	.count_extensions = 0,
};
