/*
 * Test plugin for a raw vhost ("listen-accept-role": "raw-skt"): protocol
 * "raw-echo" gets each accepted connection as a raw socket and answers
 * every piece it receives with "echo: " and the piece; "quit" closes the
 * connection from RAW_RX.
 */
#include <libwebsockets.h>
#include <string.h>

struct pss {
	unsigned char buf[LWS_PRE + 512];
	size_t len;
};

static int
cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
   size_t len)
{
	struct pss *pss = (struct pss *)user;

	switch (reason) {
	case LWS_CALLBACK_RAW_ADOPT:
		lwsl_user("raw-echo: RAW_ADOPT fd %d\n", lws_get_socket_fd(wsi));
		break;
	case LWS_CALLBACK_RAW_RX:
		if (len >= 4 && !memcmp(in, "quit", 4))
			return -1;
		if (len > sizeof(pss->buf) - LWS_PRE - 6)
			len = sizeof(pss->buf) - LWS_PRE - 6;
		memcpy(pss->buf + LWS_PRE, "echo: ", 6);
		memcpy(pss->buf + LWS_PRE + 6, in, len);
		pss->len = len + 6;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_RAW_WRITEABLE:
		if (!pss->len)
			break;
		if (lws_write(wsi, pss->buf + LWS_PRE, pss->len, LWS_WRITE_RAW) <
		    (int)pss->len)
			return -1;
		pss->len = 0;
		break;
	case LWS_CALLBACK_RAW_CLOSE:
		lwsl_user("raw-echo: RAW_CLOSE\n");
		break;
	default:
		break;
	}

	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "raw-echo", cb, sizeof(struct pss), 512, 0, NULL, 0 },
};

LWS_VISIBLE const lws_plugin_protocol_t raw_echo = {
	.hdr = { "raw echo test", "lws_protocol_plugin", LWS_BUILD_HASH, LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = 1,
};
