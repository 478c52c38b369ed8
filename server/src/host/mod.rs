//! The plugin host: loading lws protocol plugins, binding their protocols to
//! vhosts, and running their callbacks on the service threads.
//!
//! * [`loader`] finds `lib*.so` files and checks each one (api magic, class,
//!   protocol table) before anything else is trusted; a bad one is logged
//!   with its path and reason and skipped.
//! * `vhost` is what `struct lws_vhost *` points at: the protocols enabled
//!   on a vhost, their per-vhost options (pvo) and per-vhost data.
//! * `wsi` is what `struct lws *` points at: one connection (or a stand-in
//!   for vhost-level callbacks), owned by the service thread that runs it.
//! * [`thread`] is the per-service-thread state: live connections, the
//!   command queue other threads use to reach it, timers.
//! * `ffi` holds every `unsafe` line of the server: `dlopen`, reading
//!   plugin structs, calling callbacks, and the lws functions plugins call
//!   (each through one wrapper that checks its pointers, then calls safe
//!   code here: `write`, `http_response`, `request`, `spa`, `ring`).

pub mod client;
pub mod context;
pub(crate) mod dispatch;
#[allow(unsafe_code)]
pub(crate) mod ffi;
pub(crate) mod figures;
pub mod handover;
pub(crate) mod health;
pub(crate) mod http_response;
pub(crate) mod image;
pub mod loader;
pub(crate) mod retire;
pub mod site;
pub(crate) mod spa;

pub(crate) mod dir;
pub(crate) mod lwsac;
pub(crate) mod raw;
pub(crate) mod request;
pub(crate) mod ring;
pub mod thread;
pub(crate) mod threadpool;
pub(crate) mod timer_pass;
pub(crate) mod timers;
pub(crate) mod uv;
pub(crate) mod vhost;
pub(crate) mod writable;
pub(crate) mod write;
pub(crate) mod write_many;
pub(crate) mod wsi;

pub use ffi::heap::arena_reserve_kib;
