//! The packet console: `GET <mount>/console`, a page for the people who
//! watch the controllers. It shows packets as they arrive (from the
//! mount's `events` stream): id, time, content type and body, JSON
//! pretty-printed and binary as a hex dump; resumes from an id, filters by
//! content type, pauses (and catches up on resume), and plots the ingest
//! rate of the last minutes (from the mount's `stats`). One static page
//! without dependencies (`console.html`); `?since=N&filter=T` in its URL
//! preset the fields.

/// The page.
pub const PAGE: &str = include_str!("console.html");

/// Its content type.
pub const CONTENT_TYPE: &str = "text/html; charset=utf-8";
