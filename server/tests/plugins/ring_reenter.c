/*
 * "ring-reenter": an lws_ring whose destroy_element calls back into the
 * same ring, which lws does not survive. At ESTABLISHED it makes a ring of
 * 4-byte elements, inserts two, consumes one with a NULL tail (releasing
 * it) and destroys the ring (releasing the other). Each destroy_element
 * tries lws_ring_insert, lws_ring_get_count_free_elements and
 * lws_ring_destroy on its own ring: all must be refused (0, nothing done).
 * The client then gets
 *   "insert=I free=F waiting=W released=R"
 * I and F the re-entrant calls' returns (last call), W the elements waiting
 * between the consume and the destroy, R how many destroy_element calls.
 */
#include <libwebsockets.h>
#include <string.h>

static struct lws_ring *cur;
static int re_insert = 99, re_free = 99, released;

static void
destroy_element(void *e)
{
	released++;
	re_insert = (int)lws_ring_insert(cur, e, 1);
	re_free = (int)lws_ring_get_count_free_elements(cur);
	lws_ring_destroy(cur);
}

struct pss {
	char report[128];
};

static int
callback_ring(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	unsigned char buf[LWS_PRE + 128];
	int waiting, n;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		released = 0;
		cur = lws_ring_create(4, 4, destroy_element);
		if (!cur)
			return -1;
		lws_ring_insert(cur, "aaaabbbb", 2);
		lws_ring_consume(cur, NULL, NULL, 1);
		waiting = (int)lws_ring_get_count_waiting_elements(cur, NULL);
		lws_ring_destroy(cur);
		lws_snprintf(pss->report, sizeof(pss->report),
			     "insert=%d free=%d waiting=%d released=%d",
			     re_insert, re_free, waiting, released);
		lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		n = (int)strlen(pss->report);
		memcpy(&buf[LWS_PRE], pss->report, (size_t)n);
		if (lws_write(wsi, &buf[LWS_PRE], (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		break;

	default:
		break;
	}

	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "ring-reenter", callback_ring, sizeof(struct pss), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

LWS_VISIBLE const lws_plugin_protocol_t ring_reenter = {
	.hdr = {
		"ring reenter",
		"lws_protocol_plugin",
		LWS_BUILD_HASH,
		LWS_PLUGIN_API_MAGIC
	},
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
	.extensions = NULL,
	.count_extensions = 0,
};
