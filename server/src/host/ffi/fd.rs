//! Registering an adopted file descriptor with the service thread's
//! reactor (tokio makes that `unsafe`: the registration must not outlive
//! the descriptor).

use std::fs::File;
use std::io;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Watches `file` for readability and writability on this thread's loop.
pub(crate) fn watch(file: File) -> io::Result<AsyncFd<File>> {
    // SAFETY: the `File` owns its descriptor and is moved into the
    // `AsyncFd`, which holds it until it is dropped (deregistering first);
    // a `File`'s `as_raw_fd` never changes and nothing else closes it.
    unsafe { AsyncFd::register_with_interest(file, Interest::READABLE | Interest::WRITABLE) }
        .map_err(io::Error::from)
}
