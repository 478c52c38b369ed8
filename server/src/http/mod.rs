//! HTTP: the http half of the running site (mounts, headers, access logs),
//! the service threads' accept loops, the connection (hyper, timeouts),
//! choosing the vhost, the request service, the mounts it hands requests
//! to, the metrics endpoint, and the HTTP side of WebSocket upgrades.

pub mod accept;
pub mod access_log;
pub mod conn;
pub mod health;
pub mod metrics;
pub mod mount;
pub mod normalize;
pub mod peers;
pub mod response;
pub mod service;
pub mod site;
pub mod upgrade;
pub mod vhost;
