//! Operations, on top of everything that serves: the server's life
//! (start, reload, stop) and its signals, the health state and its probe,
//! server logging, the status JSON (`lws_json_dump_context`) and the last
//! reload's outcome, and watching the configuration.

pub mod lifecycle;
pub mod logging;
pub mod probe;
pub mod reload_status;
pub mod signals;
pub mod stats;
pub mod watch;
