/*
 * "timers": the host's timer calls, each reported to the client as a text
 * message.
 *   ESTABLISHED     lws_set_timer_usecs(20 ms) -> TIMER -> "timer"
 *   "rearm"         timer 20 ms -> TIMER "timer 1", which sets the timer
 *                   to 20 ms and moves it to 400 ms -> TIMER "timer 2",
 *                   which sets it to 20 ms and cancels it: no "timer 3"
 *   "sul"           lws_sul_schedule b (50 ms) and a (200 ms), then
 *                   lws_sul_cancel(b) -> "sul a, b fired 0"
 *   "vh"            lws_timed_callback_vh_protocol(USER + 7, 1 s) ->
 *                   "vh callback 1 user=null vhost=ok"
 *   "cancel"        a pthread calls lws_cancel_service() ->
 *                   EVENT_WAIT_CANCELLED -> "cancelled from thread"
 */
#include <libwebsockets.h>

#define MY_REASON (LWS_CALLBACK_USER + 7)

struct vhd {
	struct lws_context *cx;
	struct lws_vhost *vhost;
	const struct lws_protocols *protocol;
	int vh_calls;
	char vh_report[128];
	pthread_t thread;
	volatile int thread_state; /* 1 started, 2 called cancel, 3 seen */
};

struct pss {
	struct lws *wsi;
	lws_sorted_usec_list_t sul_a;
	lws_sorted_usec_list_t sul_b;
	int b_fired;
	int vh_seen;
	int cancel_seen;
	int rearm; /* TIMERs seen since "rearm" + 1; 0: not asked */
	char queue[8][128];
	int head, count;
};

static void
push(struct pss *pss, const char *s)
{
	if (pss->count == 8)
		return;
	lws_strncpy(pss->queue[(pss->head + pss->count) % 8], s, 128);
	pss->count++;
	lws_callback_on_writable(pss->wsi);
}

static void
sul_a_cb(lws_sorted_usec_list_t *sul)
{
	struct pss *pss = lws_container_of(sul, struct pss, sul_a);
	char s[64];

	lws_snprintf(s, sizeof(s), "sul a, b fired %d", pss->b_fired);
	push(pss, s);
}

static void
sul_b_cb(lws_sorted_usec_list_t *sul)
{
	struct pss *pss = lws_container_of(sul, struct pss, sul_b);

	pss->b_fired = 1;
	push(pss, "sul b");
}

static void *
thread_main(void *arg)
{
	struct vhd *vhd = (struct vhd *)arg;

	usleep(20000);
	__sync_synchronize();
	vhd->thread_state = 2;
	__sync_synchronize();
	lws_cancel_service(vhd->cx);
	return NULL;
}

static int
callback_timers(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;
	struct vhd *vhd = (struct vhd *)lws_protocol_vh_priv_get(
			lws_get_vhost(wsi), lws_get_protocol(wsi));
	unsigned char buf[LWS_PRE + 128];
	int n;

	switch ((int)reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		vhd = lws_protocol_vh_priv_zalloc(lws_get_vhost(wsi),
				lws_get_protocol(wsi), sizeof(*vhd));
		vhd->cx = lws_get_context(wsi);
		vhd->vhost = lws_get_vhost(wsi);
		vhd->protocol = lws_get_protocol(wsi);
		break;

	case LWS_CALLBACK_PROTOCOL_DESTROY:
		if (vhd && vhd->thread_state)
			pthread_join(vhd->thread, NULL);
		break;

	case LWS_CALLBACK_ESTABLISHED:
		pss->wsi = wsi;
		lws_set_timer_usecs(wsi, 20 * LWS_US_PER_MS);
		break;

	case LWS_CALLBACK_TIMER:
		if (!pss->rearm) {
			push(pss, "timer");
			break;
		}
		{
			char s[32];

			lws_snprintf(s, sizeof(s), "timer %d", pss->rearm);
			push(pss, s);
		}
		/* Each set is replaced at once: only the last may fire. */
		lws_set_timer_usecs(wsi, 20 * LWS_US_PER_MS);
		if (pss->rearm++ == 1)
			lws_set_timer_usecs(wsi, 400 * LWS_US_PER_MS);
		else
			lws_set_timer_usecs(wsi, -1);
		break;

	case LWS_CALLBACK_RECEIVE:
		if (len == 3 && !memcmp(in, "sul", 3)) {
			lws_sul_schedule(vhd->cx, 0, &pss->sul_b, sul_b_cb,
					 50 * LWS_US_PER_MS);
			lws_sul_schedule(vhd->cx, 0, &pss->sul_a, sul_a_cb,
					 200 * LWS_US_PER_MS);
			lws_sul_cancel(&pss->sul_b);
		}
		if (len == 5 && !memcmp(in, "rearm", 5)) {
			pss->rearm = 1;
			lws_set_timer_usecs(wsi, 20 * LWS_US_PER_MS);
		}
		if (len == 2 && !memcmp(in, "vh", 2))
			if (lws_timed_callback_vh_protocol(vhd->vhost,
					vhd->protocol, MY_REASON, 1))
				push(pss, "vh: could not schedule");
		if (len == 6 && !memcmp(in, "cancel", 6)) {
			if (vhd->thread_state) {
				push(pss, "cancel: already used");
				break;
			}
			vhd->thread_state = 1;
			if (pthread_create(&vhd->thread, NULL, thread_main, vhd)) {
				vhd->thread_state = 0;
				push(pss, "cancel: no thread");
			}
		}
		break;

	case MY_REASON:
		vhd->vh_calls++;
		lws_snprintf(vhd->vh_report, sizeof(vhd->vh_report),
			     "vh callback %d user=%s vhost=%s", vhd->vh_calls,
			     user ? "set" : "null",
			     lws_get_vhost(wsi) == vhd->vhost ? "ok" : "wrong");
		lws_callback_on_writable_all_protocol(vhd->cx, vhd->protocol);
		break;

	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		__sync_synchronize();
		if (vhd && vhd->thread_state == 2) {
			vhd->thread_state = 3;
			lws_callback_on_writable_all_protocol(vhd->cx,
							      vhd->protocol);
		}
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (pss->vh_seen != vhd->vh_calls) {
			pss->vh_seen = vhd->vh_calls;
			push(pss, vhd->vh_report);
		}
		if (!pss->cancel_seen && vhd->thread_state == 3) {
			pss->cancel_seen = 1;
			push(pss, "cancelled from thread");
		}
		if (!pss->count)
			break;
		n = (int)strlen(pss->queue[pss->head]);
		memcpy(buf + LWS_PRE, pss->queue[pss->head], (size_t)n);
		pss->head = (pss->head + 1) % 8;
		pss->count--;
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		if (pss->count)
			lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_CLOSED:
		lws_sul_cancel(&pss->sul_a);
		lws_sul_cancel(&pss->sul_b);
		break;

	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "timers", callback_timers, sizeof(struct pss), 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

LWS_VISIBLE const lws_plugin_protocol_t timers = {
	.hdr = { "timers", "lws_protocol_plugin", LWS_BUILD_HASH,
		 LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = LWS_ARRAY_SIZE(protocols),
};
