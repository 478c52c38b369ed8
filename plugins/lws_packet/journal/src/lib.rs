//! The comlink packet journal and the delivery logic on top of it, with no
//! host calls (the `lws_packet` plugin adds the connections).
//!
//! * [`record`]: a packet and its on-disk framing (length + CRC-32).
//! * [`store`]: the small trait the service runs on, implemented by
//!   [`segment`] and [`log`], the segment log (zero-filled segment files,
//!   recovery that cuts a torn tail, reads by id, retention), the embedded
//!   default, and by [`redis`], a Redis stream shared by several servers.
//! * [`service`]: the [`Service`] of one journal directory: a writer thread
//!   with group commit and the `fsync` policy, a reader thread for
//!   subscribers catching up, and per-client mailboxes for the results.
//! * [`clean`]: the note a clean stop leaves, so the next open skips
//!   reading the newest segment's empty tail and the spare.
//! * [`tail`]: the recent packets kept in memory for live subscribers.
//! * [`feed`]: one subscriber's cursor: live from the tail, catch-up from
//!   the journal, gaps.
//! * [`envelope`]: the JSON and SSE text subscribers receive.
//! * [`config`]: settings from the per-vhost options.
//!
//! ```no_run
//! use std::sync::Arc;
//! use packet_journal::{Service, Settings};
//!
//! let settings = Settings { dir: "/tmp/packets".into(), ..Settings::default() };
//! let svc = Service::open(settings, Arc::new(|| { /* wake the event loop */ })).unwrap();
//! let client = svc.client();
//! client.append(1, "text/plain".into(), b"hello".to_vec());
//! // ... later, on the event loop: client.take_events() holds Recorded { token: 1, .. }
//! ```

#![deny(unsafe_code)]

pub mod clean;
pub mod config;
pub mod dedup;
pub mod envelope;
pub mod faults;
pub mod feed;
pub mod log;
pub mod metrics;
pub mod record;
pub mod redis;
pub mod segment;
pub mod service;
pub mod store;
pub mod tail;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use config::{Fsync, Settings};
pub use feed::{Feed, Since, Step};
pub use record::Packet;
pub use service::{Client, Event, Service};
pub use store::Outcome;
