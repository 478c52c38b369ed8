/*
 * Test plugin for live swaps: protocol "swap-version" sends
 * "<VERSION>:<n>" every 100 ms to each connection. Built twice with
 * different -DVERSION values to replace the .so under a running server.
 */
#include <libwebsockets.h>
#include <stdio.h>

#ifndef VERSION
#define VERSION "v1"
#endif

struct pss { int n; };

static int
cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
   size_t len)
{
	struct pss *pss = (struct pss *)user;
	unsigned char buf[LWS_PRE + 64];
	int n;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		lws_set_timer_usecs(wsi, 100 * LWS_US_PER_MS);
		break;
	case LWS_CALLBACK_TIMER:
		lws_callback_on_writable(wsi);
		lws_set_timer_usecs(wsi, 100 * LWS_US_PER_MS);
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		n = lws_snprintf((char *)buf + LWS_PRE, 64, "%s:%d", VERSION, pss->n++);
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "swap-version", cb, sizeof(struct pss), 64, 0, NULL, 0 },
};

LWS_VISIBLE const lws_plugin_protocol_t swap_version = {
	.hdr = { "swap version", "lws_protocol_plugin", LWS_BUILD_HASH, LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = 1,
};
