//! Comlink: an lwsws-compatible HTTP/WebSocket server.
//!
//! The modules follow a request: [`config`] (parse, validate, resolve) →
//! [`listen`] (sockets) → [`runtime`] (service threads) → [`http`] (hyper
//! connection, vhost choice, mounts) → `ws` (upgrade, frames, sessions) →
//! [`host`] (plugins and their callbacks); [`client`] runs the connections
//! plugins open; [`ops`] watches over it all.
//! ARCHITECTURE.md says which layer may use which.
//!
//! The library exists for the `lwsws` binary (`main.rs`) and the fuzz
//! harness: what they use is `pub`, the rest is `pub(crate)`
//! (`unreachable_pub` keeps it so).

#![deny(unsafe_code)]

pub mod cli;
pub mod client;
pub mod config;
pub mod host;
pub mod http;
pub mod listen;
pub mod manpage;
pub mod ops;
pub mod runtime;
pub(crate) mod ws;
