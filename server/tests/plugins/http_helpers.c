/*
 * Test plugin: lws's HTTP helper calls on a callback:// mount, one path each
 * (the path after the mountpoint):
 *   /deny            FILTER_HTTP_CONNECTION refuses the request
 *   /status          lws_return_http_status(403, own body)
 *   /status-default  lws_return_http_status(404, NULL): lws's own page
 *   /redirect        lws_http_redirect(302, "/elsewhere")
 *   /common          lws_add_http_common_headers + lws_add_http_header_by_name
 *                    + lws_finalize_write_http_header, the body in the next
 *                    writeable with LWS_WRITE_HTTP_FINAL
 *   /echo?x=..       the same answer, its body telling the url arg `x`, the
 *                    custom header `x-thing`, Host, and the header lengths
 *   /bad-pointers    the header helpers given pointers that describe no
 *                    buffer (start after *p, *p after end); each must fail
 *                    and change nothing. The body tells their returns and
 *                    where *p ended up: "finalize=1 status=1 by-name=1 moved=0"
 */
#include <libwebsockets.h>
#include <string.h>

struct pss {
	char body[512];
	int body_len;
	int headers_sent;
};

static int
callback_helpers(struct lws *wsi, enum lws_callback_reasons reason,
		 void *user, void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	unsigned char buf[LWS_PRE + 512], *start = &buf[LWS_PRE], *p = start,
		      *end = &buf[sizeof(buf) - 1];

	switch (reason) {
	case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
		if (in && strstr((const char *)in, "/deny"))
			return 1;
		break;

	case LWS_CALLBACK_HTTP:
		memset(pss, 0, sizeof(*pss));
		if (!strcmp((const char *)in, "/status")) {
			if (lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN,
						   "<p>not for you</p>"))
				return -1;
			return lws_http_transaction_completed(wsi) ? -1 : 0;
		}
		if (!strcmp((const char *)in, "/status-default")) {
			if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
				return -1;
			return lws_http_transaction_completed(wsi) ? -1 : 0;
		}
		if (!strcmp((const char *)in, "/redirect")) {
			if (lws_http_redirect(wsi, HTTP_STATUS_FOUND,
					      (unsigned char *)"/elsewhere", 10,
					      &p, end) < 0)
				return -1;
			return lws_http_transaction_completed(wsi) ? -1 : 0;
		}
		if (!strcmp((const char *)in, "/bad-pointers")) {
			unsigned char *q1 = start + 8, *q2 = end + 1;
			int fin, st, bn;

			/* start after *p: lws would write p - start bytes,
			 * a huge length once it wraps */
			fin = lws_finalize_write_http_header(wsi, start + 64,
							     &q1, end);
			/* *p after end: no room, not a huge one */
			st = lws_add_http_header_status(wsi, HTTP_STATUS_OK,
							&q2, end);
			bn = lws_add_http_header_by_name(wsi,
					(unsigned char *)"x-bad:",
					(unsigned char *)"1", 1, &q2, end);
			pss->body_len = lws_snprintf(pss->body, sizeof(pss->body),
				"finalize=%d status=%d by-name=%d moved=%d",
				fin, st, bn, (int)(q1 - (start + 8)) +
				(int)(q2 - (end + 1)));
			lws_callback_on_writable(wsi);
			return 0;
		}
		if (!strcmp((const char *)in, "/echo")) {
			char x[64], thing[64], host[64];

			if (!lws_get_urlarg_by_name(wsi, "x", x, sizeof(x)))
				strcpy(x, "(none)");
			if (lws_hdr_custom_copy(wsi, thing, sizeof(thing),
						"x-thing:", 8) < 0)
				strcpy(thing, "(none)");
			if (lws_hdr_copy(wsi, host, sizeof(host),
					 WSI_TOKEN_HOST) < 0)
				strcpy(host, "(none)");
			pss->body_len = lws_snprintf(pss->body, sizeof(pss->body),
				"x=%s thing=%s host=%s host_len=%d thing_len=%d",
				x, thing, host,
				lws_hdr_total_length(wsi, WSI_TOKEN_HOST),
				lws_hdr_custom_length(wsi, "x-thing:", 8));
		} else
			pss->body_len = lws_snprintf(pss->body, sizeof(pss->body),
						     "hello");
		lws_callback_on_writable(wsi);
		return 0;

	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!pss->headers_sent) {
			if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK,
					"text/plain", (lws_filepos_t)pss->body_len,
					&p, end) ||
			    lws_add_http_header_by_name(wsi,
					(unsigned char *)"x-helper:",
					(unsigned char *)"yes", 3, &p, end) ||
			    lws_finalize_write_http_header(wsi, start, &p, end))
				return -1;
			pss->headers_sent = 1;
			lws_callback_on_writable(wsi);
			return 0;
		}
		memcpy(start, pss->body, (size_t)pss->body_len);
		if (lws_write(wsi, start, (size_t)pss->body_len,
			      LWS_WRITE_HTTP_FINAL) < 0)
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;

	default:
		break;
	}

	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "http-helpers", callback_helpers, sizeof(struct pss), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

LWS_VISIBLE const lws_plugin_protocol_t http_helpers = {
	.hdr = {
		"http helpers",
		"lws_protocol_plugin",
		LWS_BUILD_HASH,
		LWS_PLUGIN_API_MAGIC
	},
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
	.extensions = NULL,
	.count_extensions = 0,
};
