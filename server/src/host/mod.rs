//! The plugin host: loading lws protocol plugins, binding their protocols to
//! vhosts, and running their callbacks on the service threads.
//!
//! * [`loader`] finds `lib*.so` files and checks each one (api magic, class,
//!   protocol table) before anything else is trusted; a bad one is logged
//!   with its path and reason and skipped.
//! * [`vhost`] is what `struct lws_vhost *` points at: the protocols enabled
//!   on a vhost, their per-vhost options (pvo) and per-vhost data.
//! * [`wsi`] is what `struct lws *` points at: one connection (or a stand-in
//!   for vhost-level callbacks), owned by the service thread that runs it.
//! * [`thread`] is the per-service-thread state: live connections, the
//!   command queue other threads use to reach it, timers.
//! * [`ffi`] holds every `unsafe` line of the server: `dlopen`, reading
//!   plugin structs, calling callbacks, and the lws functions plugins call.

pub mod context;
pub mod dispatch;
#[allow(unsafe_code)]
pub mod ffi;
pub mod figures;
pub mod handover;
pub mod http_response;
pub mod loader;
pub mod retire;
pub mod site;
pub mod spa;

pub mod request;
pub mod ring;
pub mod thread;
pub mod timers;
pub mod vhost;
pub mod write;
pub mod wsi;
