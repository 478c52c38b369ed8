/*
 * Test plugin for raw sockets, a device poller: at PROTOCOL_INIT protocol
 * "raw-poll" connects to the TCP "device" its pvo names (host:port) and
 * adopts the socket with LWS_ADOPT_SOCKET (once per loaded copy of the
 * plugin). It sends "POLL <VERSION>\n" from RAW_WRITEABLE, gets the
 * device's answer in RAW_RX, publishes it to every WebSocket of the
 * protocol and polls again 50 ms later (a timer on the raw wsi). An
 * answer holding "BYE" makes RAW_RX return -1.
 */
#include <libwebsockets.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef VERSION
#define VERSION "v1"
#endif

static char last[LWS_PRE + 256];
static size_t last_len;
static unsigned int last_seq;
static struct lws *raw;
static int poll_due; /* WRITEABLE also comes from publish()'s all-protocol call */

struct pss {
	unsigned int seen;
};

static void
publish(struct lws *wsi, const char *s, size_t n)
{
	if (n > sizeof(last) - LWS_PRE)
		n = sizeof(last) - LWS_PRE;
	memcpy(last + LWS_PRE, s, n);
	last_len = n;
	last_seq++;
	lws_callback_on_writable_all_protocol(lws_get_context(wsi),
					      lws_get_protocol(wsi));
}

static int
dial(const char *hostport)
{
	struct sockaddr_in sa;
	char host[64];
	const char *colon = strchr(hostport, ':');
	int fd;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		return -1;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
   size_t len)
{
	struct pss *pss = (struct pss *)user;
	const struct lws_protocol_vhost_options *pvo;
	unsigned char poll[LWS_PRE + 32];
	lws_sock_file_fd_type u;
	int n;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		if (raw)
			break;
		pvo = lws_pvo_search((const struct lws_protocol_vhost_options *)in, "device");
		if (!pvo)
			return 1;
		u.sockfd = dial(pvo->value);
		if (u.sockfd < 0)
			return 1;
		raw = lws_adopt_descriptor_vhost(lws_get_vhost(wsi),
						 LWS_ADOPT_SOCKET, u,
						 "raw-poll", NULL);
		if (!raw)
			return 1;
		break;

	case LWS_CALLBACK_PROTOCOL_DESTROY:
		lwsl_user("raw-poll %s: PROTOCOL_DESTROY\n", VERSION);
		break;

	case LWS_CALLBACK_RAW_ADOPT:
		lwsl_user("raw-poll %s: RAW_ADOPT\n", VERSION);
		poll_due = 1;
		lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_RAW_WRITEABLE:
		if (!poll_due)
			break;
		poll_due = 0;
		n = lws_snprintf((char *)poll + LWS_PRE, 32, "POLL %s\n", VERSION);
		if (lws_write(wsi, poll + LWS_PRE, (size_t)n, LWS_WRITE_RAW) < n)
			return -1;
		break;

	case LWS_CALLBACK_RAW_RX:
		publish(wsi, (const char *)in, len);
		if (strstr((const char *)in, "BYE"))
			return -1;
		lws_set_timer_usecs(wsi, 50 * LWS_US_PER_MS);
		break;

	case LWS_CALLBACK_TIMER:
		if (wsi == raw) {
			poll_due = 1;
			lws_callback_on_writable(wsi);
		}
		break;

	case LWS_CALLBACK_RAW_CLOSE:
		lwsl_user("raw-poll %s: RAW_CLOSE\n", VERSION);
		raw = NULL;
		publish(wsi, "[closed]", 8);
		break;

	case LWS_CALLBACK_ESTABLISHED:
		if (last_len)
			lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (pss->seen == last_seq)
			break;
		pss->seen = last_seq;
		if (lws_write(wsi, (unsigned char *)last + LWS_PRE, last_len,
			      LWS_WRITE_TEXT) < (int)last_len)
			return -1;
		break;

	default:
		break;
	}

	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "raw-poll", cb, sizeof(struct pss), 256, 0, NULL, 0 },
};

LWS_VISIBLE const lws_plugin_protocol_t raw_poll = {
	.hdr = { "raw poll test", "lws_protocol_plugin", LWS_BUILD_HASH, LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = 1,
};
