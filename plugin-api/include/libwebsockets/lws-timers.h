/*
 * Comlink plugin header: connection timeouts and timers. Part of
 * <libwebsockets.h>.
 */

#ifndef COMLINK_LWS_TIMERS_H
#define COMLINK_LWS_TIMERS_H

/*
 * Why a connection is on a timeout (lws's numbering). Plugins mostly use
 * NO_PENDING_TIMEOUT (cancel), PENDING_TIMEOUT_HTTP_CONTENT,
 * PENDING_TIMEOUT_USER_OK and PENDING_TIMEOUT_USER_REASON_BASE + n.
 */
enum pending_timeout {
	NO_PENDING_TIMEOUT = 0,
	PENDING_TIMEOUT_AWAITING_PROXY_RESPONSE = 1,
	PENDING_TIMEOUT_AWAITING_CONNECT_RESPONSE = 2,
	PENDING_TIMEOUT_ESTABLISH_WITH_SERVER = 3,
	PENDING_TIMEOUT_AWAITING_SERVER_RESPONSE = 4,
	PENDING_TIMEOUT_AWAITING_PING = 5,
	PENDING_TIMEOUT_CLOSE_ACK = 6,
	PENDING_TIMEOUT_UNUSED1 = 7,
	PENDING_TIMEOUT_SENT_CLIENT_HANDSHAKE = 8,
	PENDING_TIMEOUT_SSL_ACCEPT = 9,
	PENDING_TIMEOUT_HTTP_CONTENT = 10,
	PENDING_TIMEOUT_AWAITING_CLIENT_HS_SEND = 11,
	PENDING_FLUSH_STORED_SEND_BEFORE_CLOSE = 12,
	PENDING_TIMEOUT_SHUTDOWN_FLUSH = 13,
	PENDING_TIMEOUT_CGI = 14,
	PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE = 15,
	PENDING_TIMEOUT_WS_PONG_CHECK_SEND_PING = 16,
	PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG = 17,
	PENDING_TIMEOUT_CLIENT_ISSUE_PAYLOAD = 18,
	PENDING_TIMEOUT_AWAITING_SOCKS_GREETING_REPLY = 19,
	PENDING_TIMEOUT_AWAITING_SOCKS_CONNECT_REPLY = 20,
	PENDING_TIMEOUT_AWAITING_SOCKS_AUTH_REPLY = 21,
	PENDING_TIMEOUT_KILLED_BY_SSL_INFO = 22,
	PENDING_TIMEOUT_KILLED_BY_PARENT = 23,
	PENDING_TIMEOUT_CLOSE_SEND = 24,
	PENDING_TIMEOUT_HOLDING_AH = 25,
	PENDING_TIMEOUT_UDP_IDLE = 26,
	PENDING_TIMEOUT_CLIENT_CONN_IDLE = 27,
	PENDING_TIMEOUT_LAGGING = 28,
	PENDING_TIMEOUT_THREADPOOL = 29,
	PENDING_TIMEOUT_THREADPOOL_TASK = 30,
	PENDING_TIMEOUT_KILLED_BY_PROXY_CLIENT_CLOSE = 31,
	PENDING_TIMEOUT_USER_OK = 32,
	PENDING_TIMEOUT_HTTP_RESPONSE = 33,	/* lws main branch */
	PENDING_TIMEOUT_USER_REASON_BASE = 1000
};

/* Special `secs` for lws_set_timeout(): close now, from the loop / at once. */
#define LWS_TO_KILL_ASYNC -1
#define LWS_TO_KILL_SYNC -2
#define lws_wsi_close(w, to_kill) lws_set_timeout(w, 1, to_kill)

/*
 * Close wsi if it is still on this timeout after `secs` seconds; a new call
 * replaces the old timeout, NO_PENDING_TIMEOUT cancels it.
 */
LWS_VISIBLE LWS_EXTERN void
lws_set_timeout(struct lws *wsi, enum pending_timeout reason, int secs);

/* As lws_set_timeout(), in microseconds. */
LWS_VISIBLE LWS_EXTERN void
lws_set_timeout_us(struct lws *wsi, enum pending_timeout reason, lws_usec_t us);

/* ---------------------------------------------------------------------------
 * Per-connection timer: LWS_CALLBACK_TIMER fires once, `usecs` from now, on
 * the connection's protocol. A new call re-arms; LWS_SET_TIMER_USEC_CANCEL
 * cancels.
 */
#define LWS_SET_TIMER_USEC_CANCEL ((lws_usec_t)-1ll)
#define LWS_USEC_PER_SEC ((lws_usec_t)1000000)

LWS_VISIBLE LWS_EXTERN void
lws_set_timer_usecs(struct lws *wsi, lws_usec_t usecs);

/*
 * Per vhost + protocol timer (lws v3.x - v4.2): after `secs` seconds the host
 * calls prot's callback once with `reason`, a stand-in wsi that only knows
 * its vhost and protocol, and user/in NULL. Returns 0, or nonzero if it could
 * not be scheduled.
 */
LWS_VISIBLE LWS_EXTERN int
lws_timed_callback_vh_protocol(struct lws_vhost *vh,
			       const struct lws_protocols *prot,
			       int reason, int secs);

LWS_VISIBLE LWS_EXTERN int
lws_timed_callback_vh_protocol_us(struct lws_vhost *vh,
				  const struct lws_protocols *prot,
				  int reason, lws_usec_t us);

/* ---------------------------------------------------------------------------
 * Free-standing timers ("sul", lws v4.0+), the loop-agnostic replacement for
 * a plugin's own uv_timer_t.
 *
 * The plugin embeds an lws_sorted_usec_list_t by value in its own data
 * (usually the vhd), zeroed, and schedules it:
 *
 *	lws_sul_schedule(cx, 0, &vhd->sul, my_cb, 50 * LWS_US_PER_MS);
 *
 * my_cb(sul) runs once on service thread `tsi`, later; recover the owner with
 * lws_container_of(sul, struct my_vhd, sul) and re-schedule from inside for a
 * periodic timer. The host keys the timer on the struct's ADDRESS: scheduling
 * the same sul again replaces its pending timer, and the memory must stay put
 * and be cancelled with lws_sul_cancel() (or have fired) before it is freed
 * (e.g. in PROTOCOL_DESTROY).
 *
 * Fields: the host writes them; plugins may read them.
 *   list      list.owner is non-NULL exactly while the timer is pending, so
 *             lws_dll2_is_detached(&sul->list) means "not scheduled";
 *             list.prev / list.next are not used.
 *   us        when it is due, on the lws_now_usecs() clock.
 *   cb        the callback given to lws_sul_schedule().
 *   latency_us  how late it may run; ignored by the host.
 */
struct lws_sorted_usec_list;

typedef void (*sul_cb_t)(struct lws_sorted_usec_list *sul);

typedef struct lws_sorted_usec_list {
	struct lws_dll2 list;
	lws_usec_t us;
	sul_cb_t cb;
	uint32_t latency_us;
} lws_sorted_usec_list_t;

/*
 * Run cb(sul) once, `us` microseconds from now, on service thread tsi (0 if
 * unsure). us == LWS_SET_TIMER_USEC_CANCEL cancels instead (the lws v4.0
 * way).
 */
LWS_VISIBLE LWS_EXTERN void
lws_sul_schedule(struct lws_context *context, int tsi,
		 lws_sorted_usec_list_t *sul, sul_cb_t cb, lws_usec_t us);

/* As lws_sul_schedule(); lws would also wake a suspended device for it. */
LWS_VISIBLE LWS_EXTERN void
lws_sul_schedule_wakesuspend(struct lws_context *context, int tsi,
			     lws_sorted_usec_list_t *sul, sul_cb_t cb,
			     lws_usec_t us);

/* Cancel a pending sul; harmless if it is not pending. */
LWS_VISIBLE LWS_EXTERN void
lws_sul_cancel(lws_sorted_usec_list_t *sul);

/* lws debugging aid; nothing to check here. */
#define lws_sul_debug_zombies(_a, _b, _c, _d)

/* Microseconds on the clock sul.us uses (lws: since 1970). */
LWS_VISIBLE LWS_EXTERN lws_usec_t
lws_now_usecs(void);

#define lws_time_in_microseconds lws_now_usecs

#endif /* COMLINK_LWS_TIMERS_H */
