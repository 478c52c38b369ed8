/*
 * Test plugin for lws_uv_getloop: protocol "uv-leaky" sends "<VERSION>:<n>"
 * to each connection whenever its vhost's libuv timer fires (every 20 ms).
 * It also runs two more repeating timers: one stored in the library itself
 * (static) and one it mallocs, whose callbacks live in the library.
 *
 * Protocol "uv-session" gives each connection a timer (every 20 ms) on its
 * own service thread's loop, lws_uv_getloop(context, lws_get_tsi(wsi)),
 * stored in the per-session data; each tick sends "<tsi>:<n>". At CLOSED
 * it is left running.
 *
 * At PROTOCOL_DESTROY it deliberately stops and closes NOTHING: the host
 * must close what it left before freeing the per-vhost data and before
 * unloading the library (a plugin swap), or the next tick of a timer runs
 * into freed memory or unmapped code. Built with different -DVERSION values
 * to replace the .so under a running server.
 */
#include <libwebsockets.h>

#ifndef VERSION
#define VERSION "v1"
#endif

struct vhd {
	uv_timer_t tick;	/* in the host's per-vhost memory */
	struct lws_vhost *vhost;
	const struct lws_protocols *protocol;
};

struct pss { int n; };

static uv_timer_t static_timer;	/* in the library's own memory */
static int static_started;
static unsigned long static_fires, malloc_fires;

static void
tick_cb(uv_timer_t *t)
{
	struct vhd *vhd = lws_container_of(t, struct vhd, tick);

	lws_callback_on_writable_all_protocol_vhost(vhd->vhost, vhd->protocol);
}

static void
static_cb(uv_timer_t *t)
{
	static_fires++;
}

static void
malloc_cb(uv_timer_t *t)
{
	malloc_fires++;
}

static int
cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
   size_t len)
{
	struct pss *pss = (struct pss *)user;
	struct vhd *vhd = (struct vhd *)lws_protocol_vh_priv_get(
			lws_get_vhost(wsi), lws_get_protocol(wsi));
	unsigned char buf[LWS_PRE + 64];
	uv_loop_t *loop;
	uv_timer_t *m;
	int n;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		loop = lws_uv_getloop(lws_get_context(wsi), 0);
		if (!loop)
			return 1;
		vhd = lws_protocol_vh_priv_zalloc(lws_get_vhost(wsi),
				lws_get_protocol(wsi), sizeof(*vhd));
		vhd->vhost = lws_get_vhost(wsi);
		vhd->protocol = lws_get_protocol(wsi);
		uv_timer_init(loop, &vhd->tick);
		uv_timer_start(&vhd->tick, tick_cb, 20, 20);
		/* Once per library: a reload that keeps the library re-inits. */
		if (!static_started) {
			static_started = 1;
			uv_timer_init(loop, &static_timer);
			uv_timer_start(&static_timer, static_cb, 10, 10);
		}
		m = malloc(sizeof(*m));
		uv_timer_init(loop, m);
		uv_timer_start(m, malloc_cb, 10, 10);
		break;
	case LWS_CALLBACK_PROTOCOL_DESTROY:
		/* Left running on purpose (see the top of the file). */
		break;
	case LWS_CALLBACK_ESTABLISHED:
		pss->n = 0;
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		n = lws_snprintf((char *)buf + LWS_PRE, 64, "%s:%d:%lu:%lu",
				 VERSION, pss->n++, static_fires, malloc_fires);
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		break;
	default:
		break;
	}
	return 0;
}

struct session {
	uv_timer_t tick;	/* in the host's per-session memory */
	struct lws *wsi;
	int n;
};

static void
session_tick(uv_timer_t *t)
{
	struct session *s = lws_container_of(t, struct session, tick);

	lws_callback_on_writable(s->wsi);
}

static int
session_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	   void *in, size_t len)
{
	struct session *s = (struct session *)user;
	unsigned char buf[LWS_PRE + 64];
	uv_loop_t *loop;
	int n;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		loop = lws_uv_getloop(lws_get_context(wsi), lws_get_tsi(wsi));
		if (!loop)
			return -1;
		s->wsi = wsi;
		uv_timer_init(loop, &s->tick);
		uv_timer_start(&s->tick, session_tick, 20, 20);
		break;
	case LWS_CALLBACK_CLOSED:
		/* Left running on purpose: the host frees this memory next. */
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		n = lws_snprintf((char *)buf + LWS_PRE, 64, "%d:%d",
				 lws_get_tsi(wsi), s->n++);
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "uv-leaky", cb, sizeof(struct pss), 64, 0, NULL, 0 },
	{ "uv-session", session_cb, sizeof(struct session), 64, 0, NULL, 0 },
};

LWS_VISIBLE const lws_plugin_protocol_t uv_leaky = {
	.hdr = { "uv leaky", "lws_protocol_plugin", LWS_BUILD_HASH, LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = 2,
};
