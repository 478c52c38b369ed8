/*
 * Test plugin for raw file descriptors: at PROTOCOL_INIT protocol
 * "raw-fifo" opens the FIFO its pvo "fifo" names and adopts the read end
 * with LWS_ADOPT_RAW_FILE_DESC (once per loaded copy of the plugin). What
 * RAW_RX_FILE reads, and "[closed]" at RAW_CLOSE_FILE, is appended to a
 * text every WebSocket of the protocol receives from its start.
 */
#include <libwebsockets.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#ifndef VERSION
#define VERSION "v1"
#endif

static char text[LWS_PRE + 4096];
static size_t text_len;
static int adopted;

struct pss {
	size_t sent;
};

static void
add(struct lws *wsi, const char *s, size_t n)
{
	if (n > sizeof(text) - LWS_PRE - text_len)
		n = sizeof(text) - LWS_PRE - text_len;
	memcpy(text + LWS_PRE + text_len, s, n);
	text_len += n;
	lws_callback_on_writable_all_protocol(lws_get_context(wsi),
					      lws_get_protocol(wsi));
}

static int
cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
   size_t len)
{
	struct pss *pss = (struct pss *)user;
	const struct lws_protocol_vhost_options *pvo;
	lws_sock_file_fd_type u;
	char buf[256];
	ssize_t n;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		if (adopted)
			break;
		pvo = lws_pvo_search((const struct lws_protocol_vhost_options *)in, "fifo");
		if (!pvo)
			return 1;
		u.filefd = open(pvo->value, O_RDONLY | O_NONBLOCK);
		if (u.filefd < 0)
			return 1;
		if (!lws_adopt_descriptor_vhost(lws_get_vhost(wsi),
						LWS_ADOPT_RAW_FILE_DESC, u,
						"raw-fifo", NULL))
			return 1;
		adopted = 1;
		break;

	case LWS_CALLBACK_PROTOCOL_DESTROY:
		lwsl_user("raw-fifo %s: PROTOCOL_DESTROY\n", VERSION);
		break;

	case LWS_CALLBACK_RAW_ADOPT_FILE:
		lwsl_user("raw-fifo %s: RAW_ADOPT_FILE\n", VERSION);
		break;

	case LWS_CALLBACK_RAW_RX_FILE:
		n = read(lws_get_socket_fd(wsi), buf, sizeof(buf));
		if (n < 0 && errno != EAGAIN)
			return -1;
		if (n > 0)
			add(wsi, buf, (size_t)n);
		break;

	case LWS_CALLBACK_RAW_CLOSE_FILE:
		lwsl_user("raw-fifo %s: RAW_CLOSE_FILE\n", VERSION);
		add(wsi, "[closed]", 8);
		adopted = 0;
		break;

	case LWS_CALLBACK_ESTABLISHED:
		pss->sent = 0;
		if (text_len)
			lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (pss->sent == text_len)
			break;
		n = (ssize_t)(text_len - pss->sent);
		if (lws_write(wsi, (unsigned char *)text + LWS_PRE + pss->sent,
			      (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		pss->sent = text_len;
		break;

	default:
		break;
	}

	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "raw-fifo", cb, sizeof(struct pss), 256, 0, NULL, 0 },
};

LWS_VISIBLE const lws_plugin_protocol_t raw_fifo = {
	.hdr = { "raw fifo test", "lws_protocol_plugin", LWS_BUILD_HASH, LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = 1,
};
