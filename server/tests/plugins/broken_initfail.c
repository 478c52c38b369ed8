/* An old-ABI plugin whose init_ function refuses (returns 1). */
#include <libwebsockets.h>

static int
cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
   size_t len)
{
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "init-fail", cb, 0, 0, 0, NULL, 0 },
};

LWS_VISIBLE int
init_protocol_initfail(struct lws_context *context,
		       struct lws_plugin_capability *c)
{
	c->protocols = protocols;
	c->count_protocols = 1;
	return 1;
}
