//! Comlink: an lwsws-compatible HTTP/WebSocket server.
//!
//! The modules follow a request: [`config`] (parse, validate, resolve) →
//! [`listen`] (sockets) → [`serve`] (service threads) → [`http`] (hyper
//! connection, vhost choice, mounts) → [`ops`] (access logs, server logs).
//! [`ws`] (upgrade, frames, sessions) → [`host`] (plugins and their
//! callbacks). [`site`] is the running configuration requests read.

#![deny(unsafe_code)]

pub mod cli;
pub mod config;
pub mod host;
pub mod http;
pub mod listen;
pub mod manpage;
pub mod ops;
pub mod runtime;
pub mod ws;
