/*
 * Comlink plugin header: libuv helpers. Part of <libwebsockets.h> (lws
 * declares these in its lws-service.h).
 *
 * lws_uv_getloop(context, tsi) is service thread tsi's libuv loop, made on
 * the first call. lwsws runs it from that thread's own event loop, so libuv
 * callbacks (uv_timer_t, uv_poll_t, ...) run on the service thread, never
 * at the same time as another callback of that thread; lws functions may be
 * called from them as from any callback. The plugin links libuv (-luv; the
 * SDK's libwebsockets.pc and libwebsockets.so bring it), or lwsws loads
 * libuv.so.1 for it.
 *
 * Stop and close your handles at LWS_CALLBACK_PROTOCOL_DESTROY, as lwsws
 * expects. Before the memory lwsws gave the plugin (per-vhost and
 * per-session data) is freed, and before a plugin library is unloaded
 * (replaced by a reload), lwsws closes any handle still living in that
 * memory or calling into that library, and frees or unloads only once
 * libuv has finished closing them.
 */

#ifndef COMLINK_LWS_LIBUV_H
#define COMLINK_LWS_LIBUV_H

#if defined(LWS_WITH_LIBUV)

/* Service thread tsi's libuv loop (NULL if there is no such thread, or the
 * host cannot load libuv.so.1). */
LWS_VISIBLE LWS_EXTERN uv_loop_t *
lws_uv_getloop(struct lws_context *context, int tsi);

/*
 * lws's reference count of a plugin's own libuv handles. lwsws needs none
 * (see above): _add() only counts the handle (handle->data is left
 * alone), and _del() is a close callback that only counts it back. Both
 * exist so that lws plugins using them build and run unchanged. tsi is lws
 * v4.1+'s third argument.
 */
LWS_VISIBLE LWS_EXTERN void
lws_libuv_static_refcount_add(uv_handle_t *h, struct lws_context *context,
			      int tsi);

LWS_VISIBLE LWS_EXTERN void
lws_libuv_static_refcount_del(uv_handle_t *h);

#endif /* LWS_WITH_LIBUV */

#endif /* COMLINK_LWS_LIBUV_H */
