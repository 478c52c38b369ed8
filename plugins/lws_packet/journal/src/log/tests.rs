//! The segmented log's tests: appends, segments, recovery at open, faults.

use super::*;

fn put(w: &mut Writer, n: usize, size: usize) -> Vec<u64> {
    let data = vec![b'x'; size];
    let entries: Vec<Entry<'_>> = (0..n)
        .map(|i| Entry {
            ts_ms: i as i64,
            content_type: b"text/plain",
            data: &data,
            key: None,
            source: None,
        })
        .collect();
    let (out, err) = w.append(&entries, None);
    assert!(err.is_none(), "{err:?}");
    w.sync().unwrap();
    out.into_iter().map(Outcome::id).collect()
}

#[test]
fn a_whole_spare_is_kept_across_a_restart_and_a_dirty_one_prepared_again() {
    let dir = tempfile::tempdir().unwrap();
    let spare = dir.path().join(SPARE);
    let (log, w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
    drop((log, w)); // waits for the spare
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1 << 30);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&spare)
        .unwrap();
    f.set_modified(old).unwrap();
    drop(f);
    let (log, w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
    drop((log, w));
    let m = std::fs::metadata(&spare).unwrap();
    assert_eq!(m.len(), 64 * 1024);
    assert_eq!(
        m.modified().unwrap(),
        old,
        "the whole spare was not rewritten"
    );

    // One byte that is not zero: it is prepared again.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&spare)
        .unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"x", 4000).unwrap();
    drop(f);
    let (log, mut w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
    drop(log);
    if let Some(s) = w.spare.take() {
        assert!(s.finish(), "the dirty spare is prepared again");
    }
    drop(w);
    assert!(std::fs::read(&spare).unwrap().iter().all(|&b| b == 0));
    assert_eq!(std::fs::metadata(&spare).unwrap().len(), 64 * 1024);
    // and the journal rolls into it
    let (log, mut w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
    let ids = put(&mut w, 300, 300);
    assert_eq!(ids.len(), 300);
    assert!(log.segment_count() > 1);
}

#[test]
fn ids_continue_across_reopen_and_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let (log, mut w, rec) = Log::open(dir.path(), 64 * 1024).unwrap();
    assert_eq!(rec.next_id, 1);
    let ids = put(&mut w, 500, 300);
    assert_eq!(ids, (1..=500).collect::<Vec<_>>());
    assert!(
        log.segment_count() > 2,
        "300-byte packets roll 64 KiB segments"
    );
    let c = log.read(1, 500, usize::MAX).unwrap();
    assert_eq!(c.packets.len(), 500);
    assert!(c
        .packets
        .iter()
        .enumerate()
        .all(|(i, p)| p.id == i as u64 + 1));
    drop((log, w));
    let (log, mut w, rec) = Log::open(dir.path(), 64 * 1024).unwrap();
    assert_eq!((rec.next_id, rec.records), (501, 500));
    assert_eq!(put(&mut w, 1, 10), [501]);
    let c = log.read(499, 600, usize::MAX).unwrap();
    assert_eq!(
        c.packets.iter().map(|p| p.id).collect::<Vec<_>>(),
        [499, 500, 501]
    );
}

#[test]
fn a_second_process_is_kept_out() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Log::open(dir.path(), 64 * 1024).unwrap();
    let second = Log::open(dir.path(), 64 * 1024);
    assert!(second.is_err());
}

#[test]
fn retention_drops_old_segments_reports_gaps_and_never_reuses_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (log, mut w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
    put(&mut w, 2000, 100);
    let dropped = w.retain(Some(3 * 64 * 1024), None, 0);
    assert!(!dropped.is_empty());
    let first = log.first_id();
    assert!(first > 1);
    let c = log.read(1, 2000, usize::MAX).unwrap();
    assert_eq!(c.gap, Some((1, first - 1)));
    assert!(c.packets.is_empty());
    let c = log.read(first, 2000, usize::MAX).unwrap();
    assert_eq!(c.packets.first().map(|p| p.id), Some(first));
    // Everything dropped but the (empty) active segment: ids still go on.
    let dropped = w.retain(Some(0), None, 0);
    assert!(!dropped.is_empty());
    drop((log, w));
    let (_, w, rec) = Log::open(dir.path(), 64 * 1024).unwrap();
    assert!(
        rec.next_id >= 2001,
        "next id {} after retention",
        rec.next_id
    );
    assert_eq!(w.next_id(), rec.next_id);
}

#[test]
fn reads_are_bounded_in_bytes_and_by_upto() {
    let dir = tempfile::tempdir().unwrap();
    let (log, mut w, _) = Log::open(dir.path(), 1 << 20).unwrap();
    put(&mut w, 100, 1000);
    let c = log.read(10, 100, 5000).unwrap();
    assert!((5..=7).contains(&c.packets.len()), "{}", c.packets.len());
    let c = log.read(10, 12, usize::MAX).unwrap();
    assert_eq!(c.packets.len(), 3);
    assert!(log.read(101, 100, 10).unwrap().packets.is_empty());
}

#[test]
fn a_packet_bigger_than_a_segment_gets_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let (log, mut w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
    put(&mut w, 1, 10);
    put(&mut w, 1, 200 * 1024);
    put(&mut w, 1, 10);
    let c = log.read(1, 3, usize::MAX).unwrap();
    assert_eq!(
        c.packets.iter().map(|p| p.data.len()).collect::<Vec<_>>(),
        [10, 200 * 1024, 10]
    );
}

/// Options whose fault injection reads `dir/fault`, and that path.
fn with_faults(dir: &Path, keys_since_ms: Option<i64>) -> (PathBuf, Options) {
    let fault = dir.join("fault");
    let opts = Options {
        keys_since_ms,
        faults: Some(Faults::new(fault.clone())),
    };
    (fault, opts)
}

fn keyed<'a>(key: &'a [u8], data: &'a [u8], ts_ms: i64) -> Entry<'a> {
    Entry {
        ts_ms,
        content_type: b"t",
        data,
        key: Some(key),
        source: None,
    }
}

#[test]
fn keys_replay_within_a_batch_across_reopen_and_only_in_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        keys_since_ms: Some(0),
        faults: None,
    };
    let (log, mut w, _) = Log::open_with(dir.path(), 64 * 1024, &opts).unwrap();
    let (out, err) = w.append(
        &[
            keyed(b"a", b"1", 1000),
            keyed(b"b", b"2", 1000),
            keyed(b"a", b"3", 1000),
        ],
        Some(10_000),
    );
    assert!(err.is_none());
    assert_eq!(out, [Outcome::New(1), Outcome::New(2), Outcome::Replay(1)]);
    w.sync().unwrap();
    assert_eq!(log.read(1, 10, usize::MAX).unwrap().packets.len(), 2);
    drop((log, w));
    // The keys are in the records: a restart still knows them, as long
    // as they are within the window (since 500 ms here).
    let opts = Options {
        keys_since_ms: Some(500),
        faults: None,
    };
    let (_, mut w, rec) = Log::open_with(dir.path(), 64 * 1024, &opts).unwrap();
    assert_eq!(rec.keys, 2);
    let (out, _) = w.append(&[keyed(b"b", b"again", 5000)], Some(10_000));
    assert_eq!(out, [Outcome::Replay(2)]);
    // Past the window, the same key is a new packet.
    let (out, _) = w.append(&[keyed(b"b", b"later", 20_000)], Some(10_000));
    assert_eq!(out, [Outcome::New(3)]);
    // Without a window, keys are not looked at.
    let (out, _) = w.append(&[keyed(b"b", b"off", 20_001)], None);
    assert_eq!(out, [Outcome::New(4)]);
    assert_eq!(w.keys(), 1);
}

#[test]
fn a_failed_fsync_stops_the_writer_and_reopen_cuts_what_was_not_synced() {
    let dir = tempfile::tempdir().unwrap();
    let (fault, opts) = with_faults(dir.path(), Some(0));
    let jdir = dir.path().join("j");
    let (log, mut w, _) = Log::open_with(&jdir, 64 * 1024, &opts).unwrap();
    assert_eq!(put(&mut w, 3, 10), [1, 2, 3]);
    std::fs::write(&fault, "sync").unwrap();
    let (out, err) = w.append(&[keyed(b"k", b"lost", 1)], Some(1000));
    assert_eq!((out, err.is_none()), (vec![Outcome::New(4)], true));
    assert!(w.sync().is_err());
    assert!(
        w.broken().unwrap().contains("sync failed"),
        "{:?}",
        w.broken()
    );
    // Stopped: nothing is taken, and the fsync is not tried again.
    let (out, err) = w.append(&[keyed(b"x", b"refused", 1)], Some(1000));
    assert!(out.is_empty() && err.is_some());
    assert!(w.sync().is_err());
    // While the cause lasts, reopening fails and changes nothing.
    assert!(w.reopen(false).is_err());
    assert!(w.broken().is_some());
    std::fs::remove_file(&fault).unwrap();
    let rec = w.reopen(false).unwrap();
    assert_eq!((rec.next_id, w.broken()), (4, None));
    // Record 4 was never synced: cut (zeroed on disk, not delivered),
    // its key forgotten, its id given again.
    assert_eq!(log.read(1, 10, usize::MAX).unwrap().packets.len(), 3);
    let (out, _) = w.append(&[keyed(b"k", b"retried", 2)], Some(1000));
    assert_eq!(out, [Outcome::New(4)]);
    w.sync().unwrap();
    drop((log, w));
    let (log, _, rec) = Log::open_with(&jdir, 64 * 1024, &opts).unwrap();
    assert_eq!((rec.next_id, rec.cut.is_none()), (5, true));
    let c = log.read(1, 10, usize::MAX).unwrap();
    assert_eq!(
        c.packets.last().map(|p| p.data.clone()),
        Some(b"retried".to_vec())
    );
}

#[test]
fn the_never_policy_keeps_what_was_written_when_it_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let (fault, opts) = with_faults(dir.path(), None);
    let jdir = dir.path().join("j");
    let (log, mut w, _) = Log::open_with(&jdir, 64 * 1024, &opts).unwrap();
    put(&mut w, 2, 10);
    // Written (acknowledged under `never`), then a write fails.
    let (out, _) = w.append(&[keyed(b"a", b"kept", 1)], None);
    assert_eq!(out, [Outcome::New(3)]);
    std::fs::write(&fault, "write").unwrap();
    let (out, err) = w.append(&[keyed(b"b", b"failed", 1)], None);
    assert!(out.is_empty() && err.is_some() && w.broken().is_some());
    std::fs::remove_file(&fault).unwrap();
    let rec = w.reopen(true).unwrap();
    assert_eq!(rec.next_id, 4);
    assert_eq!(log.read(1, 10, usize::MAX).unwrap().packets.len(), 3);
}

#[test]
fn no_room_for_a_new_segment_refuses_without_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let (fault, opts) = with_faults(dir.path(), None);
    let (log, mut w, _) = Log::open_with(&dir.path().join("j"), 64 * 1024, &opts).unwrap();
    std::fs::write(&fault, "full").unwrap();
    // The first segment fills; the next cannot be made.
    let data = vec![b'x'; 1000];
    let mut ok = 0;
    let err = loop {
        let (out, err) = w.append(&[keyed(b"", &data, 0)], None);
        ok += out.len();
        if let Some(e) = err {
            break e;
        }
    };
    assert!(crate::faults::is_full(&err), "{err}");
    assert!(w.broken().is_none(), "a full disk does not stop the writer");
    // (The background thread may have made a spare segment before the
    // fault was set: then the disk is "full" one segment later.)
    let segments = log.segment_count();
    w.sync().unwrap();
    std::fs::remove_file(&fault).unwrap();
    let (out, err) = w.append(&[keyed(b"", &data, 0)], None);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(out, [Outcome::New(ok as u64 + 1)]);
    assert_eq!(log.segment_count(), segments + 1);
}

#[test]
fn a_corrupt_record_in_a_sealed_segment_is_a_gap_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let (log, mut w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
    put(&mut w, 600, 300);
    assert!(log.segment_count() >= 3);
    let second = log.segments()[1].clone();
    drop((log, w));
    // A bit of the second segment's 5th record flips.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&second.path)
        .unwrap();
    let rec_len = record::encoded_len(b"text/plain", &[0; 300]) as u64;
    let at = HEADER + 4 * rec_len + 100;
    let mut b = [0u8];
    std::os::unix::fs::FileExt::read_exact_at(&f, &mut b, at).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &[b[0] ^ 0x10], at).unwrap();
    drop(f);
    let (log, _, rec) = Log::open(dir.path(), 64 * 1024).unwrap();
    let lost = second.first_id + 4;
    assert_eq!(rec.corruptions.len(), 1);
    assert_eq!(
        (rec.corruptions[0].from, rec.corruptions[0].to),
        (lost, lost)
    );
    let mut got = Vec::new();
    let mut gaps = Vec::new();
    let mut from = 1;
    while from <= 600 {
        let c = log.read(from, 600, 64 * 1024).unwrap();
        if let Some((a, b)) = c.gap {
            gaps.push((a, b));
            from = b + 1;
        }
        for p in c.packets {
            got.push(p.id);
            from = p.id + 1;
        }
    }
    assert_eq!(gaps, [(lost, lost)]);
    assert_eq!(got.len(), 599);
    assert!(!got.contains(&lost));
}

#[test]
fn power_loss_at_every_byte_past_the_synced_end_keeps_every_acknowledged_packet() {
    let base = tempfile::tempdir().unwrap();
    let opts = Options {
        keys_since_ms: Some(0),
        faults: None,
    };
    let (log, mut w, _) = Log::open_with(base.path(), 64 * 1024, &opts).unwrap();
    let bodies: Vec<Vec<u8>> = (0..5).map(|i| format!("acked {i}").into_bytes()).collect();
    for b in &bodies {
        let (out, _) = w.append(&[keyed(b"", b, 7)], None);
        assert_eq!(out.len(), 1);
    }
    w.sync().unwrap();
    let seg = log.segments()[0].path.clone();
    let end = log.segments()[0].end();
    drop((log, w));
    // What was being written when the power went: three more records,
    // never synced, so never acknowledged.
    let mut inflight = Vec::new();
    for id in 6..=8u64 {
        let body = format!("in flight {id}");
        let key = format!("key{id}");
        record::encode_keyed(
            &mut inflight,
            id,
            8,
            b"t",
            Some(key.as_bytes()),
            body.as_bytes(),
        );
    }
    let pristine = std::fs::read(&seg).unwrap();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for k in 0..=inflight.len() {
        for garbage in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let mut bytes = pristine.clone();
            let at = end as usize;
            bytes[at..at + k].copy_from_slice(&inflight[..k]);
            if garbage {
                for b in &mut bytes[at + k..at + k + 37] {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    *b = rng as u8;
                }
            }
            std::fs::write(dir.path().join(seg.file_name().unwrap()), &bytes).unwrap();
            let (log, mut w, rec) = Log::open_with(dir.path(), 64 * 1024, &opts).unwrap();
            let c = log.read(1, u64::MAX, usize::MAX).unwrap();
            let what = format!("cut at +{k}, garbage {garbage}");
            assert_eq!(c.gap, None, "{what}");
            let got: Vec<(u64, Vec<u8>)> = c.packets.into_iter().map(|p| (p.id, p.data)).collect();
            // Every acknowledged packet, once, intact.
            for (i, b) in bodies.iter().enumerate() {
                assert_eq!(got[i], (i as u64 + 1, b.clone()), "{what}");
            }
            // After them only whole in-flight records, in order.
            for (j, (id, data)) in got[5..].iter().enumerate() {
                assert_eq!(*id, 6 + j as u64, "{what}");
                assert_eq!(data, format!("in flight {id}").as_bytes(), "{what}");
            }
            let last = got.last().unwrap().0;
            assert_eq!(rec.next_id, last + 1, "{what}");
            // Ids continue; a whole in-flight record's key is known.
            let (out, _) = w.append(&[keyed(b"fresh", b"next", 9)], Some(1000));
            assert_eq!(out, [Outcome::New(last + 1)], "{what}");
            let (out, _) = w.append(&[keyed(b"key6", b"retry", 9)], Some(1000));
            let want = if last >= 6 {
                Outcome::Replay(6)
            } else {
                Outcome::New(last + 2)
            };
            assert_eq!(out, [want], "{what}");
        }
    }
}

fn note_in(dir: &Path) -> Option<Clean> {
    let text = std::fs::read(dir.join(crate::clean::CLEAN)).ok()?;
    let copy = tempfile::tempdir().unwrap();
    std::fs::write(copy.path().join(crate::clean::CLEAN), text).unwrap();
    Clean::take(copy.path()).unwrap().0
}

#[test]
fn a_clean_stop_leaves_a_note_that_the_next_first_write_takes() {
    let dir = tempfile::tempdir().unwrap();
    let (log, mut w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
    put(&mut w, 10, 100);
    let end = w.offset;
    let first = w.active.first_id;
    drop((log, w));
    let note = note_in(dir.path()).expect("a clean stop leaves a note");
    assert_eq!((note.segment, note.end), (first, end));
    assert!(note.spare.is_some(), "the spare was whole: {note:?}");

    let (log, mut w, rec) = Log::open(dir.path(), 64 * 1024).unwrap();
    assert_eq!((rec.next_id, rec.cut.is_none()), (11, true));
    assert!(
        matches!(w.spare, Some(Spare::Whole)),
        "the vouched-for spare is taken as it is, without a thread"
    );
    assert_eq!(
        note_in(dir.path()),
        Some(note),
        "a note that vouched stays until the first write"
    );
    assert_eq!(w.note, Note::Kept);
    assert_eq!(put(&mut w, 1, 100), [11]);
    assert_eq!(
        w.note,
        Note::Settled,
        "the unlink is synced before the first write"
    );
    assert!(note_in(dir.path()).is_none(), "the first write takes it");
    drop((log, w));
    assert_eq!(
        note_in(dir.path()).map(|n| n.end),
        Some(end + (end - HEADER) / 10)
    );
}

#[test]
fn an_open_that_never_writes_leaves_the_note_true_even_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let (log, mut w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
    put(&mut w, 10, 100);
    let end = w.offset;
    drop((log, w));
    let note = note_in(dir.path()).expect("a clean stop leaves a note");

    // Opened and "killed" (forgotten: no drop, so no new note) before
    // anything was written: the note still vouches for the segment.
    let (log, mut w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
    drop(std::mem::replace(
        &mut w._lock,
        File::open(dir.path()).unwrap(),
    ));
    std::mem::forget(w);
    drop(log);
    assert_eq!(note_in(dir.path()), Some(note));
    let (_, w, rec) = Log::open(dir.path(), 64 * 1024).unwrap();
    assert_eq!(
        (rec.next_id, rec.records, rec.cut.is_none()),
        (11, 10, true)
    );
    assert_eq!((w.note, w.offset), (Note::Kept, end));
}

#[test]
fn a_note_that_does_not_vouch_is_unlinked_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let (log, mut w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
    put(&mut w, 10, 100);
    let path = w.active.path.clone();
    drop((log, w));
    assert!(note_in(dir.path()).is_some());
    // Touched after the stop: its times move, the note no longer vouches.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(f.metadata().unwrap().len()).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &[0], 64 * 1024 - 1).unwrap();
    drop(f);
    let (_, w, rec) = Log::open(dir.path(), 64 * 1024).unwrap();
    assert_eq!(rec.next_id, 11);
    assert_eq!(w.note, Note::Unlinked);
    assert!(note_in(dir.path()).is_none(), "gone before any repair");
}

#[test]
fn stray_bytes_written_after_a_clean_stop_are_still_found() {
    let dir = tempfile::tempdir().unwrap();
    let (log, mut w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
    put(&mut w, 10, 100);
    let end = w.offset;
    let path = w.active.path.clone();
    drop((log, w));
    assert!(note_in(dir.path()).is_some());
    // Anything written to the segment after the note moves its times, so
    // the note no longer vouches for it and the tail is read.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"stray", end + 3000).unwrap();
    drop(f);
    let (_, _, rec) = Log::open(dir.path(), 64 * 1024).unwrap();
    let (_, cut) = rec.cut.expect("the stray bytes are found");
    assert_eq!(cut.offset, end);
}

#[test]
fn a_writer_whose_fsync_failed_leaves_no_note() {
    let dir = tempfile::tempdir().unwrap();
    let (fault, opts) = with_faults(dir.path(), None);
    let jdir = dir.path().join("j");
    let (log, mut w, _) = Log::open_with(&jdir, 64 * 1024, &opts).unwrap();
    put(&mut w, 3, 100);
    std::fs::write(&fault, "sync").unwrap();
    let data = [b'y'; 100];
    let (_, err) = w.append(&[keyed(b"", &data, 0)], None);
    assert!(err.is_none());
    assert!(w.sync().is_err());
    drop((log, w));
    assert!(note_in(&jdir).is_none(), "a broken writer is no clean stop");
}
