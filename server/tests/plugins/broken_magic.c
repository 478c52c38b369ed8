/* An exported plugin struct with an api magic no host accepts. */
#include <libwebsockets.h>

static int
cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
   size_t len)
{
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "bad-magic", cb, 0, 0, 0, NULL, 0 },
};

LWS_VISIBLE const lws_plugin_protocol_t badmagic = {
	.hdr = { "badmagic", "lws_protocol_plugin", LWS_BUILD_HASH, 999 },
	.protocols = protocols,
	.count_protocols = 1,
};
