/*
 * "turns": any message received asks WRITEABLE for every connection of the
 * protocol (lws_callback_on_writable_all_protocol); each WRITEABLE writes
 * the count of WRITEABLEs served so far by this plugin, so a client can
 * tell the order in which the connections were served.
 */
#include <stdio.h>
#include <libwebsockets.h>

static unsigned long served;

static int
callback_turns(struct lws *wsi, enum lws_callback_reasons reason,
	       void *user, void *in, size_t len)
{
	unsigned char buf[LWS_PRE + 32];
	int n;

	switch (reason) {
	case LWS_CALLBACK_RECEIVE:
		lws_callback_on_writable_all_protocol(lws_get_context(wsi),
						      lws_get_protocol(wsi));
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		n = snprintf((char *)buf + LWS_PRE, 32, "%lu", ++served);
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		break;

	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "turns", callback_turns, 0, 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

LWS_VISIBLE const lws_plugin_protocol_t turns = {
	.hdr = { "turns", "lws_protocol_plugin", LWS_BUILD_HASH,
		 LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
};
