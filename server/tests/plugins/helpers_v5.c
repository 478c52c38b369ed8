/*
 * Test plugin built the lws v5 way: COMLINK_LWS_V5 makes the exported
 * struct carry api magic 192 and a priority. Protocol "v5-proto" answers a
 * callback:// mount with what lws v5's per-mount options give it:
 *   prio=<its priority> greeting=<pmo "greeting" of its mount>
 *   missing=<lws_pmo_search of an absent name> mp=<mountpoint> kind=<origin_protocol>
 *   http_pmo=<the "greeting" value HTTP_PMO delivered>
 * Build it twice with different V5_SYM / V5_PRIO / V5_NAME (each file must
 * export the struct named after it) to see which priority wins the name.
 */
#define COMLINK_LWS_V5
#include <libwebsockets.h>
#include <string.h>

#ifndef V5_SYM
#define V5_SYM helpers_v5
#endif
#ifndef V5_PRIO
#define V5_PRIO 0
#endif
#ifndef V5_NAME
#define V5_NAME "helpers v5"
#endif

#if LWS_PLUGIN_API_MAGIC != 192 || LWS_LIBRARY_VERSION_MAJOR != 5
#error "COMLINK_LWS_V5 should give lws v5's plugin shape"
#endif

struct pss {
	char body[512];
	int body_len;
	int headers_sent;
	char http_pmo[64];
};

static int
callback_v5(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	    void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	unsigned char buf[LWS_PRE + 600], *start = &buf[LWS_PRE], *p = start,
		      *end = &buf[sizeof(buf) - 1];
	const struct lws_http_mount *m;
	const char *greeting = "(none)";
	char uri[128];

	switch (reason) {
	case LWS_CALLBACK_HTTP_PMO: {
		const char *v;

		memset(pss, 0, sizeof(*pss));
		if (!lws_pvo_get_str(in, "greeting", &v))
			lws_strncpy(pss->http_pmo, v, sizeof(pss->http_pmo));
		break;
	}

	case LWS_CALLBACK_HTTP:
		if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0)
			return -1;
		m = lws_find_mount(wsi, uri, (int)strlen(uri));
		if (m)
			lws_pmo_get_str(m, "greeting", &greeting);
		pss->body_len = lws_snprintf(pss->body, sizeof(pss->body),
			"prio=%d greeting=%s missing=%s mp=%s kind=%d len=%d "
			"http_pmo=%s nomount=%d",
			V5_PRIO, greeting,
			lws_pmo_search(m, "missing") ? "found" : "null",
			m ? m->mountpoint : "-", m ? m->origin_protocol : -1,
			m ? m->mountpoint_len : -1, pss->http_pmo,
			lws_find_mount(wsi, "/nowhere", -1) == NULL);
		lws_callback_on_writable(wsi);
		return 0;

	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!pss->headers_sent) {
			if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK,
					"text/plain", (lws_filepos_t)pss->body_len,
					&p, end) ||
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
	{ "v5-proto", callback_v5, sizeof(struct pss), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

LWS_VISIBLE const lws_plugin_protocol_t V5_SYM = {
	.hdr = {
		.name = V5_NAME,
		._class = "lws_protocol_plugin",
		.lws_build_hash = LWS_BUILD_HASH,
		.api_magic = LWS_PLUGIN_API_MAGIC,
		.priority = V5_PRIO,
	},
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
	.extensions = NULL,
	.count_extensions = 0,
};
