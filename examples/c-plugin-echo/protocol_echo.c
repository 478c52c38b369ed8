/*
 * protocol "echo": sends every message back whole, as one frame of the type
 * it came as (text or binary), in the order they came.
 *
 * Messages arrive in pieces (RECEIVE, at most the protocol's rx buffer size
 * each); a message is gathered up to its final fragment, then queued. Each
 * WRITEABLE sends the oldest queued message with one lws_write. While
 * QUEUE_MAX messages wait, reading is paused (lws_rx_flow_control), so a
 * client that sends without reading costs bounded memory.
 *
 * Used by the Autobahn WebSocket suite (scripts/autobahn) and by the
 * integration tests' compression checks (server/tests/ws_deflate.rs).
 * Build, from the project root, against Comlink's header:
 *
 *   cc -shared -fPIC -O2 -I plugin-api/include \
 *      -o libprotocol_echo.so examples/c-plugin-echo/protocol_echo.c
 *
 * Enable it on a vhost with "ws-protocols": [{"echo": {"default": "1"}}]
 * ("default" lets clients that name no subprotocol, like Autobahn, have it).
 * Messages over 64 MiB close the connection with 1009 (the server's own
 * per-protocol "max-message" option can set a lower limit).
 */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MESSAGE (64u * 1024 * 1024)
#define QUEUE_MAX 4

struct msg {
	struct msg *next;
	size_t len;
	int binary;
	unsigned char buf[]; /* LWS_PRE + len */
};

struct pss {
	struct msg *head, *tail; /* complete messages waiting to go back */
	int queued;
	int paused;
	unsigned char *rx; /* the message being gathered: LWS_PRE + rx_len */
	size_t rx_len, rx_cap;
};

static void
free_all(struct pss *pss)
{
	while (pss->head) {
		struct msg *m = pss->head;

		pss->head = m->next;
		free(m);
	}
	pss->tail = NULL;
	pss->queued = 0;
	free(pss->rx);
	pss->rx = NULL;
	pss->rx_len = pss->rx_cap = 0;
}

static int
gather(struct lws *wsi, struct pss *pss, const void *in, size_t len)
{
	size_t want = pss->rx_len + len;

	if (want > MAX_MESSAGE) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
				 (unsigned char *)"too big", 7);
		return -1;
	}
	if (want > pss->rx_cap) {
		size_t cap = pss->rx_cap ? pss->rx_cap : 1024;
		unsigned char *p;

		while (cap < want)
			cap *= 2;
		p = realloc(pss->rx, LWS_PRE + cap);
		if (!p)
			return -1;
		pss->rx = p;
		pss->rx_cap = cap;
	}
	if (len)
		memcpy(pss->rx + LWS_PRE + pss->rx_len, in, len);
	pss->rx_len = want;
	return 0;
}

static int
callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	struct msg *m;
	int n;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		memset(pss, 0, sizeof(*pss));
		break;

	case LWS_CALLBACK_RECEIVE:
		if (lws_is_first_fragment(wsi))
			pss->rx_len = 0;
		if (gather(wsi, pss, in, len))
			return -1;
		if (!lws_is_final_fragment(wsi))
			break;
		m = malloc(sizeof(*m) + LWS_PRE + pss->rx_len);
		if (!m)
			return -1;
		m->next = NULL;
		m->len = pss->rx_len;
		m->binary = lws_frame_is_binary(wsi);
		memcpy(m->buf + LWS_PRE, pss->rx + LWS_PRE, pss->rx_len);
		pss->rx_len = 0;
		if (pss->rx_cap > 64 * 1024) {
			/* do not keep a big message's buffer while idle */
			free(pss->rx);
			pss->rx = NULL;
			pss->rx_cap = 0;
		}
		if (pss->tail)
			pss->tail->next = m;
		else
			pss->head = m;
		pss->tail = m;
		if (++pss->queued >= QUEUE_MAX && !pss->paused) {
			pss->paused = 1;
			lws_rx_flow_control(wsi, 0);
		}
		lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		m = pss->head;
		if (!m)
			break;
		n = lws_write(wsi, m->buf + LWS_PRE, m->len,
			      m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
		if (n < (int)m->len)
			return -1;
		pss->head = m->next;
		if (!pss->head)
			pss->tail = NULL;
		free(m);
		pss->queued--;
		if (pss->paused && pss->queued < QUEUE_MAX) {
			pss->paused = 0;
			lws_rx_flow_control(wsi, 1);
		}
		if (pss->head)
			lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_CLOSED:
		free_all(pss);
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
