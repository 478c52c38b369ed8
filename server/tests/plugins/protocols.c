/*
 * Three protocols in one plugin (lws v4.1+ exported-struct shape, built as
 * libprotocol_abc.so so the struct is called "abc"): each says who it is
 * ("<protocol> on <vhost>") once the connection is established.
 */
#include <libwebsockets.h>

struct pss {
	int sent;
};

static int
callback_who(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	     void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	unsigned char buf[LWS_PRE + 256];
	int n;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (pss->sent)
			break;
		pss->sent = 1;
		n = lws_snprintf((char *)buf + LWS_PRE, 256, "%s on %s",
				 lws_get_protocol(wsi)->name,
				 lws_get_vhost_name(lws_get_vhost(wsi)));
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "proto-a", callback_who, sizeof(struct pss), 0, 0, NULL, 0 },
	{ "proto-b", callback_who, sizeof(struct pss), 0, 0, NULL, 0 },
	{ "proto-c", callback_who, sizeof(struct pss), 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

LWS_VISIBLE const lws_plugin_protocol_t abc = {
	.hdr = {
		"abc test protocols",
		"lws_protocol_plugin",
		LWS_BUILD_HASH,
		LWS_PLUGIN_API_MAGIC
	},
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
	.extensions = NULL,
	.count_extensions = 0,
};
