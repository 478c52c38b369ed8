//! A real `redis-server` for the packet service's Redis backend tests: the
//! journal crate's test helper, shared so both test suites start it alike.

pub(crate) use packet_journal::testing::{free_port, Redis};
