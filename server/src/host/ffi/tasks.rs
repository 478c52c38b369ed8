//! A plugin's thread-pool task as the host runs it: its slice and cleanup
//! functions and its `user` pointer (`struct lws_threadpool_task_args`).

use std::ffi::{c_int, c_void};

use comlink_plugin_api::abi::{
    Lws, LwsThreadpoolCleanupFn, LwsThreadpoolTaskArgs, LwsThreadpoolTaskFn,
};

/// What a task runs.
#[derive(Debug)]
pub(crate) struct TaskFns {
    task: LwsThreadpoolTaskFn,
    cleanup: Option<LwsThreadpoolCleanupFn>,
    user: usize,
}

// SAFETY: lws's contract for thread-pool tasks: `task` runs on worker
// threads and `cleanup` on whichever thread reaps the task, with `user`,
// which the plugin hands over to the task for its life. The host never
// reads through `user`.
unsafe impl Send for TaskFns {}
// SAFETY: as above; `&TaskFns` only calls the plugin's functions, which the
// same contract allows from any thread.
unsafe impl Sync for TaskFns {}

impl TaskFns {
    /// The functions of `args`; None without a `task`.
    ///
    /// # Safety
    ///
    /// `args.task` and `args.cleanup` are functions of a loaded plugin that
    /// stays loaded while the task exists (its pool holds the library), and
    /// follow lws's contract for thread-pool tasks.
    pub(crate) unsafe fn new(args: &LwsThreadpoolTaskArgs) -> Option<TaskFns> {
        Some(TaskFns {
            task: args.task?,
            cleanup: args.cleanup,
            user: args.user as usize,
        })
    }

    /// One slice: `task(user, status)`.
    pub(crate) fn slice(&self, status: c_int) -> c_int {
        // SAFETY: `new`'s contract: a plugin task function, still loaded,
        // called with the user pointer it was given and a status value of
        // `enum lws_threadpool_task_status`.
        unsafe { (self.task)(self.user as *mut c_void, status) }
    }

    /// `cleanup(wsi, user)` (`wsi` 0 for NULL); once, when the task is
    /// reaped.
    pub(crate) fn cleanup(&self, wsi: usize) {
        if let Some(cleanup) = self.cleanup {
            // SAFETY: `new`'s contract; `wsi` is NULL or the task's wsi,
            // live on this (its service) thread.
            unsafe { cleanup(wsi as *mut Lws, self.user as *mut c_void) }
        }
    }

    /// The user pointer, as an address.
    pub(crate) fn user(&self) -> usize {
        self.user
    }
}
