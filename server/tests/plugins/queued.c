/*
 * "queued": comlink_write_queued, a message for many connections given from
 * outside their WRITEABLE. A message "all:<text>" from one connection gives
 * <text> to every other connection of the protocol at once; each that did
 * not take it, or still has messages waiting for its WRITEABLE (so that
 * they stay in order), gets it from its WRITEABLE instead. The sender gets
 * "taken <n>": how many took it at once. A message "bad" makes two calls
 * the host refuses (no array; a write type that is not a message) and
 * answers "bad <rc> <rc>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libwebsockets.h>

#define CONNS_MAX 16
#define TEXT_MAX 4096

/* a message waiting for its connection's WRITEABLE */
struct waiting {
	struct waiting *next;
	size_t len;
	char text[];
};

struct pss {
	/* messages for its WRITEABLE, oldest first */
	struct waiting *head, *tail;
	int count;
	/* the message being received (RECEIVE may bring it in pieces) */
	char rx[TEXT_MAX];
	size_t rx_len;
};

static struct lws *conns[CONNS_MAX];

static void
wait_for_writeable(struct lws *wsi, struct pss *pss, const char *text)
{
	size_t len = strlen(text);
	struct waiting *w = malloc(sizeof(*w) + len);

	if (!w)
		return;
	w->next = NULL;
	w->len = len;
	memcpy(w->text, text, len);
	if (pss->tail)
		pss->tail->next = w;
	else
		pss->head = w;
	pss->tail = w;
	pss->count++;
	lws_callback_on_writable(wsi);
}

/* the oldest waiting message, taken off the list (the caller frees it) */
static struct waiting *
next_waiting(struct pss *pss)
{
	struct waiting *w = pss->head;

	if (!w)
		return NULL;
	pss->head = w->next;
	if (!pss->head)
		pss->tail = NULL;
	pss->count--;
	return w;
}

static void
give_all(struct lws *from, struct pss *from_pss, const char *text)
{
	struct lws *to[CONNS_MAX];
	unsigned char taken[CONNS_MAX];
	char note[32];
	int n, k = 0, given;

	for (n = 0; n < CONNS_MAX; n++) {
		struct pss *p;

		if (!conns[n] || conns[n] == from)
			continue;
		p = (struct pss *)lws_wsi_user(conns[n]);
		if (p->count)
			wait_for_writeable(conns[n], p, text);
		else
			to[k++] = conns[n];
	}
	given = comlink_write_queued(to, (size_t)k, (unsigned char *)text,
				     strlen(text), LWS_WRITE_TEXT, taken);
	for (n = 0; n < k; n++)
		if (given < 0 || !taken[n])
			wait_for_writeable(to[n],
					   (struct pss *)lws_wsi_user(to[n]),
					   text);
	snprintf(note, sizeof(note), "taken %d", given);
	wait_for_writeable(from, from_pss, note);
}

static void
refusals(struct lws *wsi, struct pss *pss)
{
	unsigned char taken[1];
	struct lws *one[1] = { wsi };
	char note[32];
	int a = comlink_write_queued(NULL, 1, (unsigned char *)"bad", 3,
				     LWS_WRITE_TEXT, taken);
	int b = comlink_write_queued(one, 1, (unsigned char *)"bad", 3,
				     LWS_WRITE_PING, taken);

	snprintf(note, sizeof(note), "bad %d %d", a, b);
	wait_for_writeable(wsi, pss, note);
}

static int
callback_queued(struct lws *wsi, enum lws_callback_reasons reason,
		void *user, void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	unsigned char buf[LWS_PRE + TEXT_MAX];
	char text[TEXT_MAX];
	struct waiting *w;
	size_t n;
	int i;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		for (i = 0; i < CONNS_MAX; i++)
			if (!conns[i]) {
				conns[i] = wsi;
				break;
			}
		break;

	case LWS_CALLBACK_CLOSED:
		for (i = 0; i < CONNS_MAX; i++)
			if (conns[i] == wsi)
				conns[i] = NULL;
		while ((w = next_waiting(pss)))
			free(w);
		break;

	case LWS_CALLBACK_RECEIVE:
		n = len < TEXT_MAX - 1 - pss->rx_len ? len :
						       TEXT_MAX - 1 - pss->rx_len;
		memcpy(pss->rx + pss->rx_len, in, n);
		pss->rx_len += n;
		if (!lws_is_final_fragment(wsi) ||
		    lws_remaining_packet_payload(wsi))
			break;
		memcpy(text, pss->rx, pss->rx_len);
		text[pss->rx_len] = '\0';
		pss->rx_len = 0;
		if (!strncmp(text, "all:", 4))
			give_all(wsi, pss, text + 4);
		else if (!strcmp(text, "bad"))
			refusals(wsi, pss);
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		w = next_waiting(pss);
		if (!w)
			break;
		n = w->len;
		memcpy(buf + LWS_PRE, w->text, n);
		free(w);
		if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
			return -1;
		if (pss->count)
			lws_callback_on_writable(wsi);
		break;

	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "queued", callback_queued, sizeof(struct pss), 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

LWS_VISIBLE const lws_plugin_protocol_t queued = {
	.hdr = { "queued", "lws_protocol_plugin", LWS_BUILD_HASH,
		 LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
};
