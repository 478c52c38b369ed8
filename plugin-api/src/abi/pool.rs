//! Adopted descriptors and thread pools (`lws-adopt.h`,
//! `lws-threadpool.h`): their enums and argument structs.

use std::ffi::{c_char, c_int, c_void};
use std::marker::{PhantomData, PhantomPinned};

use super::{Lws, LwsVhost};

c_consts! {
    /// `lws_adoption_type`: what `lws_adopt_descriptor_vhost` is given.
    ADOPTION_TYPES: c_int {
        /// Neither socket nor HTTP: a file descriptor.
        LWS_ADOPT_RAW_FILE_DESC = 0,
        /// Serve HTTP on it (absent: raw).
        LWS_ADOPT_HTTP = 1,
        /// A socket (absent: a file).
        LWS_ADOPT_SOCKET = 2,
        /// TLS if the vhost has it.
        LWS_ADOPT_ALLOW_SSL = 4,
        /// A UDP socket.
        LWS_ADOPT_FLAG_UDP = 16,
        /// The raw proxy role.
        LWS_ADOPT_FLAG_RAW_PROXY = 32,
        /// A UDP socket, raw.
        LWS_ADOPT_RAW_SOCKET_UDP = 18,
    }
}

c_consts! {
    /// `enum lws_threadpool_task_status`.
    TASK_STATUSES: c_int {
        /// Waiting for a worker.
        LWS_TP_STATUS_QUEUED = 0,
        /// On a worker.
        LWS_TP_STATUS_RUNNING = 1,
        /// Waiting for the service thread's `lws_threadpool_task_sync`.
        LWS_TP_STATUS_SYNCING = 2,
        /// Asked to stop.
        LWS_TP_STATUS_STOPPING = 3,
        /// Done; reaped by `lws_threadpool_task_status`.
        LWS_TP_STATUS_FINISHED = 4,
        /// Stopped; reaped by `lws_threadpool_task_status`.
        LWS_TP_STATUS_STOPPED = 5,
    }
}

c_consts! {
    /// `enum lws_threadpool_task_return`: what a task slice returns.
    TASK_RETURNS: c_int {
        /// More to do.
        LWS_TP_RETURN_CHECKING_IN = 0,
        /// Wait for the service thread.
        LWS_TP_RETURN_SYNC = 1,
        /// Done.
        LWS_TP_RETURN_FINISHED = 2,
        /// Stopped as asked.
        LWS_TP_RETURN_STOPPED = 3,
        /// Flag: dequeueing detaches instead of stopping.
        LWS_TP_RETURN_FLAG_OUTLIVE = 64,
    }
}

/// `lws_sock_file_fd_type`: a socket or a file descriptor (both `int`).
#[repr(C)]
#[derive(Clone, Copy)]
pub union LwsSockFileFd {
    /// A socket.
    pub sockfd: c_int,
    /// A file.
    pub filefd: c_int,
}

impl std::fmt::Debug for LwsSockFileFd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("lws_sock_file_fd_type")
    }
}

/// `lws_adopt_desc_t`: the arguments of
/// `lws_adopt_descriptor_vhost_via_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsAdoptDesc {
    /// The vhost.
    pub vh: *mut LwsVhost,
    /// `lws_adoption_type` flags.
    pub type_: c_int,
    /// The descriptor.
    pub fd: LwsSockFileFd,
    /// NULL or the protocol to bind.
    pub vh_prot_name: *const c_char,
    /// Ignored.
    pub parent: *mut Lws,
    /// The new wsi's opaque user data.
    pub opaque: *mut c_void,
    /// Ignored (fault injection).
    pub fi_wsi_name: *const c_char,
}

opaque! {
    /// `struct lws_threadpool`.
    LwsThreadpool;
    /// `struct lws_threadpool_task`.
    LwsThreadpoolTask;
}

/// `struct lws_threadpool_create_args`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsThreadpoolCreateArgs {
    /// Worker threads.
    pub threads: c_int,
    /// Tasks waiting for a worker, at most.
    pub max_queue_depth: c_int,
}

/// A task slice: `(user, status) -> lws_threadpool_task_return`.
pub type LwsThreadpoolTaskFn = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;

/// A task's cleanup: `(wsi or NULL, user)`.
pub type LwsThreadpoolCleanupFn = unsafe extern "C" fn(*mut Lws, *mut c_void);

/// `lws_threadpool_foreach_task_wsi`'s callback.
pub type LwsThreadpoolForeachFn =
    unsafe extern "C" fn(*mut LwsThreadpoolTask, *mut c_void) -> c_int;

/// `struct lws_threadpool_task_args` (lws v4.0 - v4.3 without secure
/// streams).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsThreadpoolTaskArgs {
    /// The wsi results go to.
    pub wsi: *mut Lws,
    /// The task's data.
    pub user: *mut c_void,
    /// Unused by the host.
    pub name: *const c_char,
    /// Unused by the host.
    pub async_task: c_char,
    /// The task.
    pub task: Option<LwsThreadpoolTaskFn>,
    /// NULL or its cleanup.
    pub cleanup: Option<LwsThreadpoolCleanupFn>,
}
