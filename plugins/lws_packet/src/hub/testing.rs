//! A real journal in a temp dir, for the unit tests of the subscriber
//! kinds: packets recorded through it, and feeds driven as the hub drives
//! them (a journal read's result handed back to the feed).

use std::sync::Arc;

use packet_journal::testing::{collect, waker, Wakes};
use packet_journal::{Client, Event, Feed, Fsync, Service, Settings};

/// A journal service with one client for appends and one for reads.
pub(super) struct Journal {
    _dir: tempfile::TempDir,
    pub(super) svc: Arc<Service>,
    writer: Client,
    /// The client subscribers' journal reads go through.
    pub(super) reader: Client,
    wakes: Wakes,
}

impl Journal {
    /// A journal keeping `live_bytes` of recent packets in memory.
    pub(super) fn new(live_bytes: usize) -> Journal {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            dir: dir.path().to_path_buf(),
            fsync: Fsync::Never,
            segment_bytes: 8 << 20,
            live_bytes,
            ..Settings::default()
        };
        let (notify, wakes) = waker();
        let svc = Service::open(settings, notify).unwrap();
        Journal {
            _dir: dir,
            writer: svc.client(),
            reader: svc.client(),
            svc,
            wakes,
        }
    }

    /// Records `packets` (content type, body) and waits until they are
    /// committed.
    pub(super) fn record(&self, packets: &[(&str, &[u8])]) {
        for (i, (ct, body)) in packets.iter().enumerate() {
            self.writer.append(i as u64, ct.to_string(), body.to_vec());
        }
        let events = collect(&self.writer, &self.wakes, packets.len());
        assert_eq!(events.len(), packets.len(), "{events:?}");
    }

    /// Hands `feed` the result of the journal read it asked for.
    pub(super) fn fetched(&self, feed: &mut Feed) {
        assert!(feed.is_fetching());
        let events = collect(&self.reader, &self.wakes, 1);
        let [Event::Fetched { result, .. }] = <[Event; 1]>::try_from(events).unwrap() else {
            panic!("not a journal read");
        };
        feed.fetched(result).unwrap();
    }
}
