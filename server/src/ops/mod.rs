//! Operations, on top of everything that serves: server logging, the
//! status JSON (`lws_json_dump_context`), and watching the configuration.

pub mod logging;
pub mod reload_status;
pub mod stats;
pub mod watch;
