//! `lws_threadpool_*`, over [`host::threadpool`](crate::host::threadpool).
//! Pools and tasks are handles of its tables, never dereferenced.

use std::ffi::{c_char, c_int, c_void};

use comlink_plugin_api::abi::{
    Lws, LwsContext, LwsThreadpool, LwsThreadpoolCreateArgs, LwsThreadpoolForeachFn,
    LwsThreadpoolTask, LwsThreadpoolTaskArgs, LWS_TP_STATUS_FINISHED,
};

use crate::host::ffi::boundary::{export, text, wsi, Fault};
use crate::host::threadpool::{self, TaskFns, WsiRef};

export! {
    /// `lws_threadpool_create` (the header's inline formats the name).
    fn comlink_threadpool_create(
        _cx: *mut LwsContext,
        args: *const LwsThreadpoolCreateArgs,
        name: *const c_char,
    ) -> *mut LwsThreadpool {
        // SAFETY: lws contract: `args` is null or a readable create-args
        // struct.
        let args = unsafe { args.as_ref() }.ok_or(Fault::Null("args"))?;
        // SAFETY: the header's inline passes its formatted, NUL-terminated
        // name (or NULL).
        let name = unsafe { text(name) };
        Ok(threadpool::create(&name, args.threads, args.max_queue_depth)
            .map_or(std::ptr::null_mut(), |id| id as *mut LwsThreadpool))
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_threadpool_enqueue` (the header's inline formats the name).
    fn comlink_threadpool_enqueue(
        tp: *mut LwsThreadpool,
        args: *const LwsThreadpoolTaskArgs,
        name: *const c_char,
    ) -> *mut LwsThreadpoolTask {
        // SAFETY: lws contract: `args` is null or a readable task-args
        // struct.
        let args = unsafe { args.as_ref() }.ok_or(Fault::Null("args"))?;
        let bound = if args.wsi.is_null() {
            None
        } else {
            let w = wsi(&args.wsi)?;
            Some(WsiRef { addr: args.wsi as usize, tsi: w.tsi })
        };
        // SAFETY: `task` and `cleanup` are the calling plugin's functions;
        // the pool holds that plugin's library while it has workers.
        let fns = unsafe { TaskFns::new(args) }.ok_or(Fault::Null("args->task"))?;
        // SAFETY: as for create.
        let name = unsafe { text(name) };
        Ok(threadpool::enqueue(tp as usize, bound, fns, &name)
            .map_or(std::ptr::null_mut(), |id| id as *mut LwsThreadpoolTask))
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_threadpool_finish`.
    fn lws_threadpool_finish(tp: *mut LwsThreadpool) {
        threadpool::finish(tp as usize);
        Ok(())
    }
}

export! {
    /// `lws_threadpool_destroy`: joins the workers (blocks until their
    /// current slices return).
    fn lws_threadpool_destroy(tp: *mut LwsThreadpool) {
        threadpool::destroy(tp as usize);
        Ok(())
    }
}

export! {
    /// `lws_threadpool_dequeue_task`.
    fn lws_threadpool_dequeue_task(task: *mut LwsThreadpoolTask) -> c_int {
        threadpool::dequeue(task as usize);
        Ok(0)
    } ?= 0
}

export! {
    /// `lws_threadpool_dequeue` (lws v4.0): the wsi's first task.
    fn lws_threadpool_dequeue(p: *mut Lws) -> c_int {
        wsi(&p)?;
        if let Some(&id) = threadpool::tasks_of(p as usize).first() {
            threadpool::dequeue(id);
        }
        Ok(0)
    } ?= 0
}

/// Stores `user` through the plugin's `void **`, if not null.
///
/// # Safety
///
/// `out` is null or a writable `void *`.
unsafe fn put_user(out: *mut *mut c_void, user: usize) {
    // SAFETY: our contract.
    if let Some(out) = unsafe { out.as_mut() } {
        *out = user as *mut c_void;
    }
}

export! {
    /// `lws_threadpool_task_status`: FINISHED or STOPPED reaps the task.
    fn lws_threadpool_task_status(task: *mut LwsThreadpoolTask, user: *mut *mut c_void) -> c_int {
        let (status, u) = threadpool::status(task as usize, true);
        // SAFETY: lws contract: `user` is the plugin's `void *` to set.
        unsafe { put_user(user, u) };
        Ok(status)
    } ?= LWS_TP_STATUS_FINISHED
}

export! {
    /// `lws_threadpool_task_status_noreap`.
    fn lws_threadpool_task_status_noreap(task: *mut LwsThreadpoolTask) -> c_int {
        Ok(threadpool::status(task as usize, false).0)
    } ?= LWS_TP_STATUS_FINISHED
}

export! {
    /// `lws_threadpool_task_status_wsi` (lws v4.0): the wsi's first task;
    /// FINISHED when it has none.
    fn lws_threadpool_task_status_wsi(
        p: *mut Lws,
        task: *mut *mut LwsThreadpoolTask,
        user: *mut *mut c_void,
    ) -> c_int {
        wsi(&p)?;
        let Some(&id) = threadpool::tasks_of(p as usize).first() else {
            return Ok(LWS_TP_STATUS_FINISHED);
        };
        // SAFETY: lws contract: `task` is the plugin's pointer to set.
        if let Some(t) = unsafe { task.as_mut() } {
            *t = id as *mut LwsThreadpoolTask;
        }
        let (status, u) = threadpool::status(id, true);
        // SAFETY: lws contract: `user` is the plugin's `void *` to set.
        unsafe { put_user(user, u) };
        Ok(status)
    } ?= LWS_TP_STATUS_FINISHED
}

export! {
    /// `lws_threadpool_task_sync`.
    fn lws_threadpool_task_sync(task: *mut LwsThreadpoolTask, stop: c_int) {
        threadpool::task_sync(task as usize, stop != 0);
        Ok(())
    }
}

export! {
    /// `lws_threadpool_dump`.
    fn lws_threadpool_dump(tp: *mut LwsThreadpool) {
        threadpool::dump(tp as usize);
        Ok(())
    }
}

export! {
    /// `lws_threadpool_get_task_wsi`: the wsi's first task, or NULL.
    fn lws_threadpool_get_task_wsi(p: *mut Lws) -> *mut LwsThreadpoolTask {
        wsi(&p)?;
        Ok(threadpool::tasks_of(p as usize)
            .first()
            .map_or(std::ptr::null_mut(), |&id| id as *mut LwsThreadpoolTask))
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_threadpool_foreach_task_wsi`.
    fn lws_threadpool_foreach_task_wsi(
        p: *mut Lws,
        user: *mut c_void,
        cb: Option<LwsThreadpoolForeachFn>,
    ) -> c_int {
        wsi(&p)?;
        let cb = cb.ok_or(Fault::Null("cb"))?;
        for id in threadpool::tasks_of(p as usize) {
            // SAFETY: the plugin's callback, given a task handle of this
            // wsi and its own `user`.
            if unsafe { cb(id as *mut LwsThreadpoolTask, user) } != 0 {
                return Ok(1);
            }
        }
        Ok(0)
    } ?= 0
}
