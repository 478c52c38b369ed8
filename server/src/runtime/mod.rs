//! The service-thread runtime, below everything that serves: the threads
//! themselves (each one event loop, as in lws), which thread this is, and
//! the counters every layer bumps. It knows no plugin, HTTP or WebSocket.

pub mod counters;
pub(crate) mod threads;
