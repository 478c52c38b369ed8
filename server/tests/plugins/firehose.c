/*
 * "firehose": on every WRITEABLE, one 64 KiB binary message (8-byte
 * little-endian sequence number, then the low byte of that number
 * repeated), and another WRITEABLE asked for at once.
 */
#include <libwebsockets.h>

#define MSG (64 * 1024)

struct pss {
	uint64_t seq;
};

static unsigned char buf[LWS_PRE + MSG];

static int
callback_firehose(struct lws *wsi, enum lws_callback_reasons reason,
		  void *user, void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	unsigned char *p = buf + LWS_PRE;
	int i;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		for (i = 0; i < 8; i++)
			p[i] = (unsigned char)(pss->seq >> (8 * i));
		memset(p + 8, (int)(pss->seq & 0xff), MSG - 8);
		if (lws_write(wsi, p, MSG, LWS_WRITE_BINARY) < MSG)
			return -1;
		pss->seq++;
		lws_callback_on_writable(wsi);
		break;

	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "firehose", callback_firehose, sizeof(struct pss), 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

LWS_VISIBLE const lws_plugin_protocol_t firehose = {
	.hdr = { "firehose", "lws_protocol_plugin", LWS_BUILD_HASH,
		 LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
};
