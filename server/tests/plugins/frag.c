/*
 * "frag" (rx_buffer_size 8): for every RECEIVE it notes
 * len/first/final/binary/remaining, and after the final piece of a message
 * sends the notes back as one text message.
 */
#include <libwebsockets.h>

struct pss {
	char report[2048];
	int ready;
};

static int
callback_frag(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	unsigned char buf[LWS_PRE + 2048];
	size_t used;
	int n;

	switch (reason) {
	case LWS_CALLBACK_RECEIVE:
		used = strlen(pss->report);
		lws_snprintf(pss->report + used, sizeof(pss->report) - used,
			     "%s%d/%d/%d/%d/%d", used ? " " : "", (int)len,
			     lws_is_first_fragment(wsi),
			     lws_is_final_fragment(wsi),
			     lws_frame_is_binary(wsi),
			     (int)lws_remaining_packet_payload(wsi));
		if (lws_is_final_fragment(wsi)) {
			pss->ready = 1;
			lws_callback_on_writable(wsi);
		}
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!pss->ready)
			break;
		n = (int)strlen(pss->report);
		memcpy(buf + LWS_PRE, pss->report, (size_t)n);
		pss->report[0] = '\0';
		pss->ready = 0;
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		break;

	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "frag", callback_frag, sizeof(struct pss), 8, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

LWS_VISIBLE const lws_plugin_protocol_t frag = {
	.hdr = { "frag", "lws_protocol_plugin", LWS_BUILD_HASH,
		 LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
};
