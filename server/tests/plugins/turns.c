/*
 * "turns": any message received asks WRITEABLE for every connection of the
 * protocol (lws_callback_on_writable_all_protocol); each WRITEABLE writes
 * the count of WRITEABLEs served so far by this plugin, so a client can
 * tell the order in which the connections were served.
 */
#include <stdio.h>
#include <libwebsockets.h>

static unsigned long served;

/* WRITEABLE: the count of WRITEABLEs served so far, this one included */
static int
write_count(struct lws *wsi)
{
	unsigned char buf[LWS_PRE + 32];
	int n = snprintf((char *)buf + LWS_PRE, 32, "%lu", ++served);

	return lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n ? -1 : 0;
}

static int
callback_turns(struct lws *wsi, enum lws_callback_reasons reason,
	       void *user, void *in, size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_RECEIVE:
		lws_callback_on_writable_all_protocol(lws_get_context(wsi),
						      lws_get_protocol(wsi));
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		return write_count(wsi);

	default:
		break;
	}
	return 0;
}

/*
 * "turns-asked": any message received asks WRITEABLE for every other
 * connection of the protocol one by one (lws_callback_on_writable), the
 * newest first; each WRITEABLE writes the count so far, as above.
 */
#define ASKED_MAX 16
static struct lws *asked[ASKED_MAX];

static int
callback_turns_asked(struct lws *wsi, enum lws_callback_reasons reason,
		     void *user, void *in, size_t len)
{
	int n;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		for (n = 0; n < ASKED_MAX; n++)
			if (!asked[n]) {
				asked[n] = wsi;
				break;
			}
		break;

	case LWS_CALLBACK_CLOSED:
		for (n = 0; n < ASKED_MAX; n++)
			if (asked[n] == wsi)
				asked[n] = NULL;
		break;

	case LWS_CALLBACK_RECEIVE:
		for (n = ASKED_MAX - 1; n >= 0; n--)
			if (asked[n] && asked[n] != wsi)
				lws_callback_on_writable(asked[n]);
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		return write_count(wsi);

	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "turns", callback_turns, 0, 0, 0, NULL, 0 },
	{ "turns-asked", callback_turns_asked, 0, 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

LWS_VISIBLE const lws_plugin_protocol_t turns = {
	.hdr = { "turns", "lws_protocol_plugin", LWS_BUILD_HASH,
		 LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
};
