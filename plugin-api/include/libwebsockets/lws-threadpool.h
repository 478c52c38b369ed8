/*
 * Comlink plugin header: thread pools, for slow work kept off the service
 * thread. Part of <libwebsockets.h>.
 *
 * A task runs on a worker thread in slices: the host calls task(user,
 * status) again and again; each call does a little work and returns
 *  - LWS_TP_RETURN_CHECKING_IN: more to do (status tells whether to stop);
 *  - LWS_TP_RETURN_SYNC: a result is ready for the service thread; the
 *    worker waits until the service thread calls lws_threadpool_task_sync();
 *  - LWS_TP_RETURN_FINISHED / LWS_TP_RETURN_STOPPED: done.
 * Results come back through the service thread: on SYNC and when the task
 * is done, the host asks for a WRITEABLE callback on the task's wsi (on that
 * wsi's own service thread). There the plugin looks with
 * lws_threadpool_task_status(); once that reports FINISHED or STOPPED the
 * task is reaped: cleanup(wsi, user) runs and the task handle is gone.
 *
 * A wsi closing ends its tasks: dequeue them in LWS_CALLBACK_CLOSED (or
 * _WS_SERVER_DROP_PROTOCOL); the host detaches any left. A detached task
 * still running is called with LWS_TP_STATUS_STOPPING and cleaned up on its
 * worker with cleanup(NULL, user) when it returns.
 *
 * Pools made in PROTOCOL_INIT are finished and destroyed in
 * PROTOCOL_DESTROY (lws's rule). The host stops, with a warning, the
 * workers of a pool its plugin forgot, before the plugin is unloaded.
 */

#ifndef COMLINK_LWS_THREADPOOL_H
#define COMLINK_LWS_THREADPOOL_H

struct lws_threadpool;		/* made by lws_threadpool_create() */
struct lws_threadpool_task;	/* made by lws_threadpool_enqueue() */

enum lws_threadpool_task_status {
	LWS_TP_STATUS_QUEUED,
	LWS_TP_STATUS_RUNNING,
	LWS_TP_STATUS_SYNCING,
	LWS_TP_STATUS_STOPPING,
	LWS_TP_STATUS_FINISHED,	/* lws_threadpool_task_status() reaps it */
	LWS_TP_STATUS_STOPPED,	/* lws_threadpool_task_status() reaps it */
};

enum lws_threadpool_task_return {
	LWS_TP_RETURN_CHECKING_IN,
	LWS_TP_RETURN_SYNC,
	LWS_TP_RETURN_FINISHED,
	LWS_TP_RETURN_STOPPED,
	/* or-ed on: dequeueing detaches the task instead of stopping it */
	LWS_TP_RETURN_FLAG_OUTLIVE = 64
};

struct lws_threadpool_create_args {
	int threads;		/* worker threads */
	int max_queue_depth;	/* tasks waiting for a worker, at most */
};

struct lws_threadpool_task_args {
	struct lws *wsi;	/* the connection the results go to */
	void *user;		/* the task's own data (cleanup frees it) */
	const char *name;	/* not used by the host */
	char async_task;	/* not used by the host */
	enum lws_threadpool_task_return (*task)(void *user,
					enum lws_threadpool_task_status s);
	void (*cleanup)(struct lws *wsi, void *user);	/* NULL: nothing */
};

/*
 * What the printf-style lws calls below (defined by lwsws in C, since its
 * Rust cannot define variadic functions) call with the name formatted.
 */
LWS_VISIBLE LWS_EXTERN struct lws_threadpool *
comlink_threadpool_create(struct lws_context *context,
			  const struct lws_threadpool_create_args *args,
			  const char *name);

LWS_VISIBLE LWS_EXTERN struct lws_threadpool_task *
comlink_threadpool_enqueue(struct lws_threadpool *tp,
			   const struct lws_threadpool_task_args *args,
			   const char *name);

/* A pool of args->threads workers, named by the format. NULL on failure. */
LWS_VISIBLE LWS_EXTERN struct lws_threadpool *
lws_threadpool_create(struct lws_context *context,
		      const struct lws_threadpool_create_args *args,
		      const char *format, ...) LWS_FORMAT(3);

/* Queue a task (args is copied). NULL when the queue is full or the pool
 * is finishing: the caller still owns args->user then. */
LWS_VISIBLE LWS_EXTERN struct lws_threadpool_task *
lws_threadpool_enqueue(struct lws_threadpool *tp,
		       const struct lws_threadpool_task_args *args,
		       const char *format, ...) LWS_FORMAT(3);

/* Stop taking tasks; queued ones become STOPPED, running ones are asked to
 * stop. */
LWS_VISIBLE LWS_EXTERN void
lws_threadpool_finish(struct lws_threadpool *tp);

/* Wait for the workers to end, clean up every task left, free the pool. */
LWS_VISIBLE LWS_EXTERN void
lws_threadpool_destroy(struct lws_threadpool *tp);

/* End a task: a queued or done one is cleaned up now, a running one is
 * asked to stop and cleaned up on its worker. Always 0. */
LWS_VISIBLE LWS_EXTERN int
lws_threadpool_dequeue_task(struct lws_threadpool_task *task);

/* lws v4.0's form: the task of wsi. */
LWS_VISIBLE LWS_EXTERN int
lws_threadpool_dequeue(struct lws *wsi);

/* The task's status and its user pointer (service thread). FINISHED or
 * STOPPED reaps the task: cleanup runs, the handle is gone after this. */
LWS_VISIBLE LWS_EXTERN enum lws_threadpool_task_status
lws_threadpool_task_status(struct lws_threadpool_task *task, void **user);

/* lws v4.0's form: the task of wsi (FINISHED if it has none). */
LWS_VISIBLE LWS_EXTERN enum lws_threadpool_task_status
lws_threadpool_task_status_wsi(struct lws *wsi,
			       struct lws_threadpool_task **task, void **user);

/* The status without reaping. */
LWS_VISIBLE LWS_EXTERN enum lws_threadpool_task_status
lws_threadpool_task_status_noreap(struct lws_threadpool_task *task);

/* The service thread is done with a SYNC result: the worker goes on (or,
 * with stop nonzero, is asked to stop). */
LWS_VISIBLE LWS_EXTERN void
lws_threadpool_task_sync(struct lws_threadpool_task *task, int stop);

/* Log the pool's queues (info level). */
LWS_VISIBLE LWS_EXTERN void
lws_threadpool_dump(struct lws_threadpool *tp);

/* The first task bound to wsi, or NULL. */
LWS_VISIBLE LWS_EXTERN struct lws_threadpool_task *
lws_threadpool_get_task_wsi(struct lws *wsi);

/* cb(task, user) for each task bound to wsi until one returns nonzero
 * (then 1); 0 otherwise. */
LWS_VISIBLE LWS_EXTERN int
lws_threadpool_foreach_task_wsi(struct lws *wsi, void *user,
				int (*cb)(struct lws_threadpool_task *task,
					  void *user));

#endif /* COMLINK_LWS_THREADPOOL_H */
