/*
 * Test plugin for a raw vhost ("listen-accept-role": "raw-skt"): protocol
 * "raw-echo" gets each accepted connection as a raw socket and answers
 * every piece it receives with "echo: " and the piece; "quit" closes the
 * connection from RAW_RX.
 *
 * With the pvo "probe-refusals" (on a vhost that is not raw), its
 * PROTOCOL_INIT checks that adoptions the host cannot do fail cleanly:
 * NULL back and the descriptor closed. It logs "raw-echo: refusals ok".
 */
#include <libwebsockets.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

struct pss {
	unsigned char buf[LWS_PRE + 512];
	size_t len;
};

/* NULL back, and fd closed by the host */
static int
refused(struct lws *w, int fd)
{
	return !w && fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

static void
probe_refusals(struct lws_vhost *vh)
{
	lws_sock_file_fd_type u;
	int sv[2], ok = 1;
	FILE *f;

	/* a protocol the vhost does not have */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return;
	close(sv[1]);
	u.sockfd = sv[0];
	ok &= refused(lws_adopt_descriptor_vhost(vh, LWS_ADOPT_SOCKET, u,
						 "no-such-protocol", NULL), sv[0]);
	/* HTTP service of an adopted socket on a vhost that is not raw */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return;
	close(sv[1]);
	ok &= refused(lws_adopt_socket_vhost(vh, sv[0]), sv[0]);
	/* a regular file: nothing can wait for it */
	f = tmpfile();	/* the host closes its descriptor; f is never used again */
	if (!f)
		return;
	u.filefd = fileno(f);
	ok &= refused(lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC,
						 u, "raw-echo", NULL), u.filefd);
	lwsl_user("raw-echo: refusals %s\n", ok ? "ok" : "NOT ok");
}

static int
cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
   size_t len)
{
	struct pss *pss = (struct pss *)user;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		if (lws_pvo_search((const struct lws_protocol_vhost_options *)in,
				   "probe-refusals"))
			probe_refusals(lws_get_vhost(wsi));
		break;
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
