/*
 * "spa-reenter": a callback:// protocol whose form parser's file callback
 * calls back into the same parser, which lws does not survive. At the
 * file part's LWS_UFS_OPEN it tries lws_spa_process, lws_spa_finalize and
 * lws_spa_destroy on its own spa (each must be refused, -1, changing
 * nothing) and reads the field "text" sent before the file (allowed, as in
 * lws). The answer, a 200 page, tells:
 *   "process=P finalize=F destroy=D during=T after=A file=N"
 * P, F, D the re-entrant calls' returns, T "text" as read inside the
 * callback, A as read after the body, N the file bytes received.
 */
#include <libwebsockets.h>
#include <string.h>

static const char * const names[] = { "text" };

struct pss {
	struct lws_spa *spa;
	int process, finalize, destroy, file;
	char during[64];
};

static int
file_cb(void *data, const char *name, const char *filename, char *buf,
	int len, enum lws_spa_fileupload_states state)
{
	struct pss *pss = (struct pss *)data;
	const char *t;

	switch (state) {
	case LWS_UFS_OPEN:
		pss->process = lws_spa_process(pss->spa, "x", 1);
		pss->finalize = lws_spa_finalize(pss->spa);
		pss->destroy = lws_spa_destroy(pss->spa);
		t = lws_spa_get_string(pss->spa, 0);
		lws_snprintf(pss->during, sizeof(pss->during), "%s",
			     t ? t : "(null)");
		break;
	case LWS_UFS_CONTENT:
	case LWS_UFS_FINAL_CONTENT:
		pss->file += len;
		break;
	default:
		break;
	}
	return 0;
}

static int
callback_reenter(struct lws *wsi, enum lws_callback_reasons reason,
		 void *user, void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	char page[256];
	const char *after;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		memset(pss, 0, sizeof(*pss));
		strcpy(pss->during, "(not called)");
		pss->process = pss->finalize = pss->destroy = 99;
		pss->spa = lws_spa_create(wsi, names, LWS_ARRAY_SIZE(names),
					  1024, file_cb, pss);
		return pss->spa ? 0 : -1;

	case LWS_CALLBACK_HTTP_BODY:
		lws_spa_process(pss->spa, (const char *)in, (int)len);
		return 0;

	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		lws_spa_finalize(pss->spa);
		after = lws_spa_get_string(pss->spa, 0);
		lws_snprintf(page, sizeof(page),
			"process=%d finalize=%d destroy=%d during=%s after=%s file=%d",
			pss->process, pss->finalize, pss->destroy, pss->during,
			after ? after : "(null)", pss->file);
		lws_spa_destroy(pss->spa);
		pss->spa = NULL;
		if (lws_return_http_status(wsi, HTTP_STATUS_OK, page))
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;

	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (pss && pss->spa) {
			lws_spa_destroy(pss->spa);
			pss->spa = NULL;
		}
		break;

	default:
		break;
	}

	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "spa-reenter", callback_reenter, sizeof(struct pss), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

LWS_VISIBLE const lws_plugin_protocol_t spa_reenter = {
	.hdr = {
		"spa reenter",
		"lws_protocol_plugin",
		LWS_BUILD_HASH,
		LWS_PLUGIN_API_MAGIC
	},
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
	.extensions = NULL,
	.count_extensions = 0,
};
