//! HTTP: the http half of the running site (mounts, headers, access logs),
//! the service threads' accept loops, the connection (hyper, timeouts),
//! choosing the vhost, the request service, the mounts it hands requests
//! to, the metrics endpoint, and the HTTP side of WebSocket upgrades.

pub mod accept;
pub mod access_log;
pub(crate) mod conn;
pub(crate) mod health;
pub(crate) mod listen_accept;
pub(crate) mod metrics;
pub(crate) mod mount;
pub(crate) mod normalize;
pub(crate) mod peers;
pub(crate) mod response;
pub(crate) mod service;
pub mod site;
pub(crate) mod upgrade;
pub(crate) mod vhost;
