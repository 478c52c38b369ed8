//! Operations: server logs and access logs (later: status, signals, reload).

pub mod access_log;
pub mod logging;
pub mod metrics;
pub mod reload_status;
pub mod stats;
pub mod watch;
