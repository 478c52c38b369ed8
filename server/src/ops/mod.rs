//! Operations: server logs and access logs, figures, the health check and
//! its probe, the last reload's outcome, file watching.

pub mod access_log;
pub mod health;
pub mod logging;
pub mod metrics;
pub mod probe;
pub mod reload_status;
pub mod stats;
pub mod watch;
