use super::*;
use crate::testing::{collect, ids, waker};

fn settings(dir: &std::path::Path, fsync: Fsync) -> Settings {
    Settings {
        dir: dir.to_path_buf(),
        fsync,
        segment_bytes: 1 << 20,
        ..Settings::default()
    }
}

#[test]
fn appends_are_acknowledged_in_order_for_every_policy() {
    for fsync in [
        Fsync::Always,
        Fsync::Interval(Duration::from_millis(5)),
        Fsync::Never,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (notify, pair) = waker();
        let svc = Service::open(settings(dir.path(), fsync), notify).unwrap();
        let c = svc.client();
        for i in 0..1000u64 {
            c.append(i, "text/plain".into(), i.to_string().into_bytes());
        }
        let ev = collect(&c, &pair, 1000);
        assert_eq!(ids(&ev), (1..=1000).collect::<Vec<_>>(), "{fsync:?}");
        let tokens: Vec<u64> = ev
            .iter()
            .map(|e| match e {
                Event::Recorded { token, .. } => *token,
                _ => 0,
            })
            .collect();
        assert_eq!(tokens, (0..1000).collect::<Vec<_>>());
        assert_eq!(svc.committed(), 1000);
        let got = svc.tail(998, 10, usize::MAX).unwrap();
        assert_eq!(
            got.iter().map(|p| p.data.clone()).collect::<Vec<_>>(),
            [b"997".to_vec(), b"998".to_vec(), b"999".to_vec()]
        );
        assert!(svc.snapshot().syncs >= 1 || fsync == Fsync::Never);
    }
}

#[test]
fn group_commit_shares_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let (notify, pair) = waker();
    let svc = Service::open(settings(dir.path(), Fsync::Always), notify).unwrap();
    let c = svc.client();
    for i in 0..5000u64 {
        c.append(i, String::new(), vec![1; 100]);
    }
    assert_eq!(collect(&c, &pair, 5000).len(), 5000);
    let s = svc.snapshot();
    assert!(s.syncs < 5000, "{} syncs for 5000 packets", s.syncs);
}

#[test]
fn fetch_reads_the_journal_and_reports_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let (notify, pair) = waker();
    {
        let svc = Service::open(settings(dir.path(), Fsync::Always), notify.clone()).unwrap();
        let c = svc.client();
        for i in 0..300u64 {
            c.append(i, "a/b".into(), vec![i as u8; 10]);
        }
        assert_eq!(collect(&c, &pair, 300).len(), 300);
    }
    // Reopened: the tail is empty, the journal has everything.
    let svc = Service::open(settings(dir.path(), Fsync::Always), notify).unwrap();
    assert_eq!(svc.committed(), 300);
    assert!(matches!(svc.tail(5, 10, 100), Err(Miss)));
    assert!(!svc.reader_started(), "no reader thread before a read");
    let c = svc.client();
    c.fetch(7, 5, 1 << 20);
    assert!(svc.reader_started(), "the first read starts it");
    let ev = collect(&c, &pair, 1);
    let Some(Event::Fetched {
        token: 7,
        result: Ok(chunk),
    }) = ev.first()
    else {
        panic!("{ev:?}")
    };
    assert_eq!(chunk.packets.len(), 296);
    assert_eq!(chunk.packets[0].id, 5);
    c.append(0, String::new(), Vec::new());
    assert_eq!(ids(&collect(&c, &pair, 1)), [301]);
}

#[test]
fn a_source_is_recorded_with_its_packet_counted_and_read_back_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (notify, pair) = waker();
    {
        let svc = Service::open(settings(dir.path(), Fsync::Always), notify.clone()).unwrap();
        let c = svc.client();
        c.append_from(1, "a/b".into(), b"x".to_vec(), None, Some("ctrl-1".into()));
        c.append_from(
            2,
            "a/b".into(),
            b"y".to_vec(),
            Some(b"v\nk".to_vec()),
            Some("ctrl-1".into()),
        );
        c.append_from(3, "a/b".into(), b"z".to_vec(), None, Some("ctrl-2".into()));
        c.append(4, "a/b".into(), b"w".to_vec());
        assert_eq!(ids(&collect(&c, &pair, 4)), [1, 2, 3, 4]);
        // Live subscribers see it in the envelope.
        let live = svc.tail(1, 10, usize::MAX).unwrap();
        assert!(live[0].envelope().contains("\"source\":\"ctrl-1\""));
        assert!(!live[3].envelope().contains("source"));
        assert_eq!(
            svc.snapshot().sources,
            [("ctrl-1".to_string(), 2), ("ctrl-2".to_string(), 1)]
        );
        assert!(svc
            .snapshot()
            .to_json()
            .ends_with("\"sources\":{\"ctrl-1\":2,\"ctrl-2\":1}}"));
    }
    let svc = Service::open(settings(dir.path(), Fsync::Always), notify).unwrap();
    let c = svc.client();
    c.fetch(7, 1, 1 << 20);
    let ev = collect(&c, &pair, 1);
    let Some(Event::Fetched {
        result: Ok(chunk), ..
    }) = ev.first()
    else {
        panic!("{ev:?}")
    };
    let sources: Vec<_> = chunk.packets.iter().map(|p| p.source.as_deref()).collect();
    assert_eq!(
        sources,
        [Some("ctrl-1"), Some("ctrl-1"), Some("ctrl-2"), None]
    );
    // The keyed one's key still deduplicates after the restart.
    c.append_from(
        9,
        "a/b".into(),
        b"y".to_vec(),
        Some(b"v\nk".to_vec()),
        Some("ctrl-1".into()),
    );
    assert_eq!(recorded(&collect(&c, &pair, 1)[0]), (9, Ok(2), true));
}

fn recorded(ev: &Event) -> (u64, Result<u64, String>, bool) {
    match ev {
        Event::Recorded {
            token,
            result,
            replayed,
        } => (*token, result.clone(), *replayed),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_retry_while_its_original_waits_for_the_commit_gets_the_same_id() {
    let dir = tempfile::tempdir().unwrap();
    let (notify, pair) = waker();
    // A long interval: the original waits for its sync when the retry
    // arrives.
    let s = settings(dir.path(), Fsync::Interval(Duration::from_millis(300)));
    let svc = Service::open(s.clone(), notify.clone()).unwrap();
    let c = svc.client();
    c.append_keyed(1, "t".into(), b"first".to_vec(), Some(b"k1".to_vec()));
    std::thread::sleep(Duration::from_millis(50));
    c.append_keyed(2, "t".into(), b"retry".to_vec(), Some(b"k1".to_vec()));
    c.append_keyed(3, "t".into(), b"other".to_vec(), Some(b"k2".to_vec()));
    let ev: Vec<_> = collect(&c, &pair, 3).iter().map(recorded).collect();
    assert_eq!(ev, [(1, Ok(1), false), (2, Ok(1), true), (3, Ok(2), false)]);
    assert_eq!(svc.snapshot().replays, 1);
    assert_eq!(svc.snapshot().packets_in, 2);
    drop((c, svc));
    // After a restart the key is still known (it is in the record).
    let svc = Service::open(s, notify).unwrap();
    let c = svc.client();
    c.append_keyed(4, "t".into(), b"late".to_vec(), Some(b"k2".to_vec()));
    c.append_keyed(5, "t".into(), b"new".to_vec(), Some(b"k3".to_vec()));
    let ev: Vec<_> = collect(&c, &pair, 2).iter().map(recorded).collect();
    assert_eq!(ev, [(4, Ok(2), true), (5, Ok(3), false)]);
}

/// A logger that keeps its lines.
fn lines() -> (LogFn, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l2 = lines.clone();
    let f: LogFn = Arc::new(move |_, line| l2.lock().unwrap().push(line.to_string()));
    (f, lines)
}

fn wait_state(svc: &Service, want: JournalState) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while svc.state().0 != want {
        assert!(Instant::now() < deadline, "state {:?}", svc.state());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_failed_fsync_stops_ingest_until_the_journal_reopens_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let fault = dir.path().join("fault");
    let (notify, pair) = waker();
    let (log, lines) = lines();
    let mut s = settings(&dir.path().join("j"), Fsync::Always);
    s.fault_file = Some(fault.clone());
    let svc = Service::open_logged(s, notify, log).unwrap();
    let c = svc.client();
    for i in 0..5 {
        c.append(i, "t".into(), b"before".to_vec());
    }
    assert_eq!(ids(&collect(&c, &pair, 5)), [1, 2, 3, 4, 5]);
    std::fs::write(&fault, "sync").unwrap();
    c.append(10, "t".into(), b"during".to_vec());
    let (_, r, _) = recorded(&collect(&c, &pair, 1)[0]);
    assert!(r.unwrap_err().contains("sync failed"));
    assert_eq!(svc.state().0, JournalState::Stopped);
    let snap = svc.snapshot();
    assert_eq!((snap.journal_state, snap.journal_failures), ("stopped", 1));
    assert!(snap.journal_error.unwrap().contains("injected fsync fault"));
    assert!(svc.retry_after() >= 1);
    // Refused at once while stopped, and never acknowledged.
    for i in 11..20 {
        c.append(i, "t".into(), b"refused".to_vec());
    }
    let ev = collect(&c, &pair, 9);
    assert!(ev.iter().all(|e| recorded(e).1.is_err()), "{ev:?}");
    assert_eq!(svc.committed(), 5);
    // Reopening fails while the cause lasts (the backoff grows) ...
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(svc.state().0, JournalState::Stopped);
    // ... and works once it is gone, without anyone asking.
    std::fs::remove_file(&fault).unwrap();
    wait_state(&svc, JournalState::Ok);
    c.append(20, "t".into(), b"after".to_vec());
    assert_eq!(ids(&collect(&c, &pair, 1)), [6]);
    let text = lines.lock().unwrap().join("\n");
    assert!(text.contains("stopped taking packets"), "{text}");
    assert!(text.contains("reopening failed"), "{text}");
    assert!(text.contains("reopened"), "{text}");
    assert_eq!(svc.snapshot().journal_reopens, 1);
    c.fetch(1, 1, usize::MAX);
    let Some(Event::Fetched {
        result: Ok(chunk), ..
    }) = collect(&c, &pair, 1).pop()
    else {
        panic!("fetch")
    };
    let got: Vec<_> = chunk.packets.iter().map(|p| p.data.clone()).collect();
    assert_eq!(got.len(), 6);
    assert!(got[..5].iter().all(|d| d == b"before"));
    assert_eq!(got[5], b"after");
}

#[test]
fn no_room_for_a_segment_refuses_and_resumes_when_there_is() {
    let dir = tempfile::tempdir().unwrap();
    let fault = dir.path().join("fault");
    let (notify, pair) = waker();
    let mut s = settings(&dir.path().join("j"), Fsync::Always);
    s.segment_bytes = 64 << 10;
    s.fault_file = Some(fault.clone());
    let svc = Service::open(s, notify).unwrap();
    let c = svc.client();
    std::fs::write(&fault, "full").unwrap();
    let mut acked = 0;
    loop {
        c.append(0, "t".into(), vec![1; 1000]);
        match recorded(&collect(&c, &pair, 1)[0]).1 {
            Ok(_) => acked += 1,
            Err(e) => {
                assert!(e.contains("No space"), "{e}");
                break;
            }
        }
    }
    assert_eq!(svc.state().0, JournalState::Full);
    assert_eq!(svc.snapshot().journal_state, "full");
    std::fs::remove_file(&fault).unwrap();
    // Within a second or so, packets are taken again.
    let deadline = Instant::now() + Duration::from_secs(10);
    let id = loop {
        c.append(0, "t".into(), vec![2; 1000]);
        if let (_, Ok(id), _) = recorded(&collect(&c, &pair, 1)[0]) {
            break id;
        }
        assert!(Instant::now() < deadline, "never resumed");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(id, acked + 1);
    assert_eq!(svc.state().0, JournalState::Ok);
}
