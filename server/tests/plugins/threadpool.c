/*
 * Test plugin for lws_threadpool_*, in the shape lws documents: each
 * WebSocket's ESTABLISHED queues a task on the vhost's pool; the task
 * makes "n=<i>" results on its worker, checking in between them, and
 * SYNCs each one to the service thread, which sends it from WRITEABLE and
 * lets the task go on. When the task is done WRITEABLE sends "done".
 *
 * pvo "count": messages per task (-1: endless, 20 ms per slice).
 * pvo "slice-us": how long a slice sleeps (default 1000; endless: 20000).
 * pvo "forget": "1" leaves the pool alive at PROTOCOL_DESTROY.
 * Cleanups are logged: "tp-test <VERSION>: cleanup after <i> of <count>,
 * collected|detached".
 * Built with -DAPI_V40 it uses lws v4.0's wsi-based calls instead
 * (lws_threadpool_dequeue, lws_threadpool_task_status_wsi).
 */
#include <libwebsockets.h>
#include <string.h>
#include <unistd.h>

#ifndef VERSION
#define VERSION "v1"
#endif

struct vhd {
	struct lws_threadpool *tp;
	int count;
	int slice_us;
	int forget;
};

struct task_data {
	char result[LWS_PRE + 64];
	int i, count, slices, slice_us;
};

static enum lws_threadpool_task_return
task_fn(void *user, enum lws_threadpool_task_status s)
{
	struct task_data *t = (struct task_data *)user;

	if (s == LWS_TP_STATUS_STOPPING)
		return LWS_TP_RETURN_STOPPED;
	if (t->i == t->count)
		return LWS_TP_RETURN_FINISHED;
	if (t->slice_us)
		usleep((useconds_t)t->slice_us);
	/* every other slice only checks in */
	if (++t->slices % 2)
		return LWS_TP_RETURN_CHECKING_IN;
	lws_snprintf(t->result + LWS_PRE, 64, "%s n=%d", VERSION, t->i++);

	return LWS_TP_RETURN_SYNC;
}

static void
cleanup_fn(struct lws *wsi, void *user)
{
	struct task_data *t = (struct task_data *)user;

	lwsl_user("tp-test %s: cleanup after %d of %d, %s\n", VERSION, t->i,
		  t->count, wsi ? "collected" : "detached");
	free(t);
}

static int
cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
   size_t len)
{
	struct vhd *vhd = (struct vhd *)lws_protocol_vh_priv_get(
			lws_get_vhost(wsi), lws_get_protocol(wsi));
	const struct lws_protocol_vhost_options *pvo;
	struct lws_threadpool_create_args cargs;
	struct lws_threadpool_task_args args;
	struct lws_threadpool_task *task;
	struct task_data *t;
	unsigned char done[LWS_PRE + 16];
	void *tu;
	int n;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		vhd = lws_protocol_vh_priv_zalloc(lws_get_vhost(wsi),
				lws_get_protocol(wsi), sizeof(*vhd));
		if (!vhd)
			return 1;
		vhd->count = 20;
		pvo = lws_pvo_search((const struct lws_protocol_vhost_options *)in, "count");
		if (pvo)
			vhd->count = atoi(pvo->value);
		vhd->slice_us = vhd->count < 0 ? 20000 : 1000;
		pvo = lws_pvo_search((const struct lws_protocol_vhost_options *)in, "slice-us");
		if (pvo)
			vhd->slice_us = atoi(pvo->value);
		pvo = lws_pvo_search((const struct lws_protocol_vhost_options *)in, "forget");
		vhd->forget = pvo && !strcmp(pvo->value, "1");
		memset(&cargs, 0, sizeof(cargs));
		cargs.threads = 2;
		cargs.max_queue_depth = 8;
		vhd->tp = lws_threadpool_create(lws_get_context(wsi), &cargs,
						"%s", lws_get_protocol(wsi)->name);
		if (!vhd->tp)
			return 1;
		break;

	case LWS_CALLBACK_PROTOCOL_DESTROY:
		if (!vhd || !vhd->tp || vhd->forget)
			break;
		lws_threadpool_finish(vhd->tp);
		lws_threadpool_destroy(vhd->tp);
		lwsl_user("tp-test %s: pool destroyed\n", VERSION);
		break;

	case LWS_CALLBACK_ESTABLISHED:
		t = calloc(1, sizeof(*t));
		if (!t)
			return 1;
		t->count = vhd->count;
		t->slice_us = vhd->slice_us;
		memset(&args, 0, sizeof(args));
		args.wsi = wsi;
		args.user = t;
		args.task = task_fn;
		args.cleanup = cleanup_fn;
		if (!lws_threadpool_enqueue(vhd->tp, &args, "ws %d",
					    lws_get_socket_fd(wsi))) {
			free(t);
			return 1;
		}
		break;

	case LWS_CALLBACK_WS_SERVER_DROP_PROTOCOL:
#if defined(API_V40)
		lws_threadpool_dequeue(wsi);
#else
		task = lws_threadpool_get_task_wsi(wsi);
		if (task)
			lws_threadpool_dequeue_task(task);
#endif
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
#if defined(API_V40)
		task = NULL;
		n = lws_threadpool_task_status_wsi(wsi, &task, &tu);
		if (!task)
			break;
#else
		task = lws_threadpool_get_task_wsi(wsi);
		if (!task)
			break;
		n = lws_threadpool_task_status(task, &tu);
#endif
		switch (n) {
		case LWS_TP_STATUS_SYNCING:
			t = (struct task_data *)tu;
			n = (int)strlen(t->result + LWS_PRE);
			if (lws_write(wsi, (unsigned char *)t->result + LWS_PRE,
				      (size_t)n, LWS_WRITE_TEXT) < n) {
				lws_threadpool_task_sync(task, 1);
				return -1;
			}
			lws_threadpool_task_sync(task, 0);
			break;
		case LWS_TP_STATUS_FINISHED:
			/* reaped: the task and its data are gone now */
			memcpy(done + LWS_PRE, "done", 4);
			if (lws_write(wsi, done + LWS_PRE, 4, LWS_WRITE_TEXT) < 4)
				return -1;
			break;
		case LWS_TP_STATUS_STOPPED:
			return -1;
		default:
			break;
		}
		break;

	default:
		break;
	}

	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "tp-count", cb, 0, 128, 0, NULL, 0 },
	{ "tp-endless", cb, 0, 128, 0, NULL, 0 },
};

LWS_VISIBLE const lws_plugin_protocol_t threadpool = {
	.hdr = { "threadpool test", "lws_protocol_plugin", LWS_BUILD_HASH, LWS_PLUGIN_API_MAGIC },
	.protocols = protocols,
	.count_protocols = 2,
};
