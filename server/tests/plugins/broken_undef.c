/* A plugin that needs a host function the host does not have. */
#include <libwebsockets.h>

extern int lws_this_does_not_exist(void);

static int
cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
   size_t len)
{
	return lws_this_does_not_exist();
}

static const struct lws_protocols protocols[] = {
	{ "undef", cb, 0, 0, 0, NULL, 0 },
};

LWS_VISIBLE const lws_plugin_protocol_t undef = {
	.hdr = { "undef", "lws_protocol_plugin", LWS_BUILD_HASH,
		 LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = 1,
};
