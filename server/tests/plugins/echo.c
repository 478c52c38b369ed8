/*
 * "echo": sends every message back whole, text or binary as it came
 * (pieces are gathered up to the final fragment).
 */
#include <libwebsockets.h>

#define MAX (256 * 1024)

struct pss {
	unsigned char *buf;	/* LWS_PRE + MAX */
	size_t len;
	int binary;
	int ready;
};

static int
callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	int n;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		pss->buf = malloc(LWS_PRE + MAX);
		if (!pss->buf)
			return -1;
		break;

	case LWS_CALLBACK_RECEIVE:
		if (pss->ready)
			return -1; /* the client must wait for the echo */
		if (lws_is_first_fragment(wsi))
			pss->len = 0;
		if (pss->len + len > MAX)
			return -1;
		memcpy(pss->buf + LWS_PRE + pss->len, in, len);
		pss->len += len;
		pss->binary = lws_frame_is_binary(wsi);
		if (lws_is_final_fragment(wsi)) {
			pss->ready = 1;
			lws_callback_on_writable(wsi);
		}
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!pss->ready)
			break;
		pss->ready = 0;
		n = lws_write(wsi, pss->buf + LWS_PRE, pss->len,
			      pss->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
		if (n < (int)pss->len)
			return -1;
		break;

	case LWS_CALLBACK_CLOSED:
		free(pss->buf);
		pss->buf = NULL;
		break;

	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "echo", callback_echo, sizeof(struct pss), 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

LWS_VISIBLE const lws_plugin_protocol_t echo = {
	.hdr = { "echo", "lws_protocol_plugin", LWS_BUILD_HASH,
		 LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
};
