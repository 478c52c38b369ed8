//! HTTP: the connection (hyper, timeouts), choosing the vhost, the request
//! service, and the mounts it hands requests to.

pub mod accept;
pub mod conn;
pub mod form;
pub mod mount;
pub mod normalize;
pub mod path;
pub mod peers;
pub mod response;
pub mod service;
pub mod upgrade;
pub mod vhost;
