/*
 * "queued": comlink_write_queued, a message for many connections given from
 * outside their WRITEABLE. A message "all:<text>" from one connection gives
 * <text> to every connection of the protocol at once (the sender included:
 * in its own callback, it cannot take it that way); each that did not take
 * it gets <text> from its next WRITEABLE instead. The sender then also gets
 * "taken <n>": how many took it at once. A message "bad" makes two calls
 * the host refuses (no array; a write type that is not a message) and
 * answers "bad <rc> <rc>".
 */
#include <stdio.h>
#include <string.h>
#include <libwebsockets.h>

#define CONNS_MAX 16
#define WAITING_MAX 128
#define TEXT_MAX 256

struct pss {
	/* messages for its WRITEABLE, oldest first */
	char waiting[WAITING_MAX][TEXT_MAX];
	int count;
};

static struct lws *conns[CONNS_MAX];

static void
wait_for_writeable(struct lws *wsi, struct pss *pss, const char *text)
{
	if (pss->count == WAITING_MAX)
		return;
	lws_strncpy(pss->waiting[pss->count++], text, TEXT_MAX);
	lws_callback_on_writable(wsi);
}

static void
give_all(struct lws *from, struct pss *from_pss, const char *text)
{
	struct lws *to[CONNS_MAX];
	unsigned char taken[CONNS_MAX];
	char note[32];
	int n, k = 0, given;

	for (n = 0; n < CONNS_MAX; n++)
		if (conns[n])
			to[k++] = conns[n];
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

static int
callback_queued(struct lws *wsi, enum lws_callback_reasons reason,
		void *user, void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	unsigned char buf[LWS_PRE + TEXT_MAX];
	char text[TEXT_MAX];
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
		break;

	case LWS_CALLBACK_RECEIVE:
		n = len < TEXT_MAX - 1 ? len : TEXT_MAX - 1;
		memcpy(text, in, n);
		text[n] = '\0';
		if (!strncmp(text, "all:", 4))
			give_all(wsi, pss, text + 4);
		if (!strcmp(text, "bad")) {
			/* refused: no array; a write type that is no message */
			unsigned char taken[1];
			struct lws *one[1] = { wsi };
			char note[32];
			int a = comlink_write_queued(NULL, 1, (unsigned char *)text,
						     3, LWS_WRITE_TEXT, taken);
			int b = comlink_write_queued(one, 1, (unsigned char *)text,
						     3, LWS_WRITE_PING, taken);

			snprintf(note, sizeof(note), "bad %d %d", a, b);
			wait_for_writeable(wsi, pss, note);
		}
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!pss->count)
			break;
		n = strlen(pss->waiting[0]);
		memcpy(buf + LWS_PRE, pss->waiting[0], n);
		memmove(pss->waiting[0], pss->waiting[1],
			sizeof(pss->waiting[0]) * (size_t)(WAITING_MAX - 1));
		pss->count--;
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
