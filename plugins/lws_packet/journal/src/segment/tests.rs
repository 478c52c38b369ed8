//! The segment file's tests: records, recovery at open, stray bytes, spares.

use super::*;

#[test]
fn the_first_nonzero_byte_is_found_anywhere_in_a_block() {
    let mut b = vec![0u8; 1000];
    assert_eq!(first_nonzero_byte(&b), None);
    for at in [0, 1, 63, 64, 127, 500, 959, 960, 999] {
        b.fill(0);
        b[at] = 1;
        b[999] = 7; // a later one does not hide it
        assert_eq!(first_nonzero_byte(&b), Some(at), "at {at}");
    }
    assert_eq!(first_nonzero_byte(&[]), None);
}

fn entries(first: u64, n: u64) -> (Vec<u8>, Vec<(u64, i64, u64)>) {
    let mut buf = Vec::new();
    let mut recs = Vec::new();
    for id in first..first + n {
        recs.push((id, id as i64, buf.len() as u64));
        record::encode(&mut buf, id, id as i64, b"t", format!("p{id}").as_bytes());
    }
    (buf, recs)
}

#[test]
fn names_parse() {
    assert_eq!(parse_name(&file_name(42)), Some(42));
    assert_eq!(parse_name("42.seg"), None);
    assert_eq!(parse_name("spare.tmp"), None);
}

#[test]
fn append_read_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let spare = dir.path().join("spare.tmp");
    Segment::prepare(&spare, 1 << 20).unwrap();
    let seg = Segment::activate(&spare, dir.path(), 5).unwrap();
    let (buf, recs) = entries(5, 3000);
    seg.append(HEADER, &buf, &recs).unwrap();
    seg.sync().unwrap();
    let mut out = Vec::new();
    seg.read(2000, 2004, usize::MAX, &mut out).unwrap();
    assert_eq!(
        out.iter().map(|p| p.id).collect::<Vec<_>>(),
        [2000, 2001, 2002, 2003, 2004]
    );
    assert_eq!(out[0].data, b"p2000");
    let mut one = Vec::new();
    seg.read(7, 3004, 1, &mut one).unwrap();
    assert_eq!(one.len(), 1);
    let end = seg.end();
    drop(seg);
    let (again, cut, _) = Segment::open(&dir.path().join(file_name(5)), 5, true, None).unwrap();
    assert!(cut.is_none());
    assert_eq!((again.end(), again.last_id()), (end, 3004));
}

#[test]
fn a_torn_tail_is_cut_and_zeroed() {
    let dir = tempfile::tempdir().unwrap();
    let spare = dir.path().join("spare.tmp");
    Segment::prepare(&spare, 64 * 1024).unwrap();
    let seg = Segment::activate(&spare, dir.path(), 1).unwrap();
    let (buf, recs) = entries(1, 10);
    seg.append(HEADER, &buf, &recs).unwrap();
    let good_end = seg.end();
    // Half of an 11th record, as a crash inside write(2) leaves it.
    let (more, _) = entries(11, 1);
    seg.file
        .write_all_at(&more[..more.len() / 2], good_end)
        .unwrap();
    drop(seg);
    let path = dir.path().join(file_name(1));
    let (seg, cut, _) = Segment::open(&path, 1, true, None).unwrap();
    let cut = cut.expect("the torn record is found");
    assert_eq!(cut.offset, good_end);
    assert_eq!((seg.last_id(), seg.end()), (10, good_end));
    let mut rest = vec![1u8; 64];
    seg.file.read_exact_at(&mut rest, good_end).unwrap();
    assert!(rest.iter().all(|&b| b == 0), "the torn bytes are zeroed");
    drop(seg);
    let (_, cut, _) = Segment::open(&path, 1, true, None).unwrap();
    assert!(cut.is_none(), "once cut, the segment is clean");
}

/// A sealed segment of records 1..=40, and the offset of each record.
fn sealed(dir: &Path) -> (PathBuf, Vec<u64>) {
    let spare = dir.join("spare.tmp");
    Segment::prepare(&spare, 64 * 1024).unwrap();
    let seg = Segment::activate(&spare, dir, 1).unwrap();
    let (buf, recs) = entries(1, 40);
    seg.append(HEADER, &buf, &recs).unwrap();
    seg.sync().unwrap();
    let offsets = recs.iter().map(|r| HEADER + r.2).collect();
    (seg.path.clone(), offsets)
}

fn flip(path: &Path, at: u64, bit: u8) {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, at).unwrap();
    b[0] ^= 1 << bit;
    f.write_all_at(&b, at).unwrap();
}

fn ids_from(seg: &Segment, from: u64) -> (Vec<u64>, Option<(u64, u64)>) {
    let mut out = Vec::new();
    let gap = seg.read(from, u64::MAX, usize::MAX, &mut out).unwrap();
    (out.iter().map(|p| p.id).collect(), gap)
}

#[test]
fn a_flipped_bit_loses_one_record_and_keeps_the_rest() {
    // In the length, the checksum, the id and the body of record 10.
    for (field, delta) in [("len", 1), ("crc", 5), ("id", 9), ("body", 28)] {
        let dir = tempfile::tempdir().unwrap();
        let (path, offs) = sealed(dir.path());
        flip(&path, offs[9] + delta, 3);
        let (seg, cut, found) = Segment::open(&path, 1, false, None).unwrap();
        assert!(cut.is_none(), "{field}");
        assert_eq!(found.len(), 1, "{field}: {found:?}");
        assert_eq!(
            (found[0].from, found[0].to, found[0].offset),
            (10, 10, offs[9])
        );
        assert!(
            found[0].to_string().contains("packet 10 lost"),
            "{}",
            found[0]
        );
        assert_eq!(seg.last_id(), 40, "{field}");
        let (ids, gap) = ids_from(&seg, 1);
        assert_eq!((ids, gap), ((1..=9).collect(), None), "{field}");
        assert_eq!(ids_from(&seg, 10), (vec![], Some((10, 10))), "{field}");
        let (ids, gap) = ids_from(&seg, 11);
        assert_eq!((ids, gap), ((11..=40).collect(), None), "{field}");
        assert_eq!(ids_from(&seg, 25).0.first(), Some(&25), "{field}");
    }
}

#[test]
fn a_body_that_holds_a_record_is_not_taken_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let spare = dir.path().join("spare.tmp");
    Segment::prepare(&spare, 64 * 1024).unwrap();
    let seg = Segment::activate(&spare, dir.path(), 1).unwrap();
    // Record 2's body is a whole record numbered 2 (a packet that
    // carries a journal record, say).
    let mut inner = Vec::new();
    record::encode(&mut inner, 2, 2, b"t", b"FAKE");
    let mut buf = Vec::new();
    let mut recs = Vec::new();
    for (id, body) in [(1, &b"one"[..]), (2, &inner[..]), (3, b"three")] {
        recs.push((id, id as i64, buf.len() as u64));
        record::encode(&mut buf, id, id as i64, b"t", body);
    }
    seg.append(HEADER, &buf, &recs).unwrap();
    let path = seg.path.clone();
    drop(seg);
    // A bit of record 2's body before the embedded record flips.
    let at = HEADER + recs[1].2 + (record::PREFIX + record::FIXED + 1) as u64;
    flip(&path, at - 1, 0);
    let (seg, _, found) = Segment::open(&path, 1, false, None).unwrap();
    assert_eq!((found[0].from, found[0].to), (2, 2));
    let mut out = Vec::new();
    seg.read(3, 3, usize::MAX, &mut out).unwrap();
    assert_eq!(out[0].data, b"three");
}

#[test]
fn corruption_found_while_running_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let (path, offs) = sealed(dir.path());
    let (seg, _, found) = Segment::open(&path, 1, false, None).unwrap();
    assert!(found.is_empty());
    // Two neighbours damaged after the segment was opened.
    flip(&path, offs[20] + 20, 0);
    flip(&path, offs[21] + 20, 0);
    assert_eq!(ids_from(&seg, 15), ((15..=20).collect(), None));
    assert_eq!(ids_from(&seg, 21), (vec![], Some((21, 22))));
    let news = seg.take_news();
    assert_eq!(news.len(), 1);
    assert_eq!((news[0].from, news[0].to), (21, 22));
    assert_eq!(ids_from(&seg, 23).0, (23..=40).collect::<Vec<_>>());
    assert!(seg.take_news().is_empty(), "reported once");
    // The last record damaged: lost up to the segment's end.
    flip(&path, offs[39] + 20, 0);
    assert_eq!(ids_from(&seg, 38), ((38..=39).collect(), None));
    assert_eq!(ids_from(&seg, 40), (vec![], Some((40, 40))));
}

/// A sealed segment with `stray` written 5,000 bytes past the end of its
/// data (a page persisted after one that was not): its path and that end.
fn sealed_with_stray(dir: &Path, stray: &[u8]) -> (PathBuf, u64) {
    let (path, _) = sealed(dir);
    let (seg, _, _) = Segment::open(&path, 1, true, None).unwrap();
    let end = seg.end();
    drop(seg);
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(stray, end + 5000).unwrap();
    (path, end)
}

#[test]
fn stray_bytes_after_the_end_of_the_newest_segment_are_zeroed() {
    let dir = tempfile::tempdir().unwrap();
    let (path, end) = sealed_with_stray(dir.path(), b"left over from before the crash");
    let (seg, cut, found) = Segment::open(&path, 1, true, None).unwrap();
    let cut = cut.expect("cut");
    assert_eq!((cut.offset, found.len()), (end, 0));
    assert_eq!((seg.end(), seg.last_id()), (end, 40));
    assert_eq!(first_nonzero(&seg.file, end, seg.capacity).unwrap(), None);
}

#[test]
fn a_known_end_from_a_clean_stop_skips_reading_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (path, end) = sealed_with_stray(dir.path(), b"not read when the end is known");
    // Told where a clean stop left the end: the tail is not read, so
    // these bytes (which no clean stop can leave) stay unseen.
    let (seg, cut, _) = Segment::open_known_end(&path, 1, true, None, Some(end)).unwrap();
    assert!(cut.is_none());
    assert_eq!((seg.end(), seg.last_id()), (end, 40));
    drop(seg);
    // A known end that is not where the records end: read as usual.
    let (_, cut, _) = Segment::open_known_end(&path, 1, true, None, Some(end + 1)).unwrap();
    assert_eq!(cut.expect("cut").offset, end);
}

#[test]
fn keys_of_recent_records_are_collected_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let spare = dir.path().join("spare.tmp");
    Segment::prepare(&spare, 64 * 1024).unwrap();
    let seg = Segment::activate(&spare, dir.path(), 1).unwrap();
    let mut buf = Vec::new();
    let mut recs = Vec::new();
    for (id, ts, key) in [
        (1, 100, Some(&b"old"[..])),
        (2, 200, None),
        (3, 300, Some(b"new")),
    ] {
        recs.push((id, ts, buf.len() as u64));
        record::encode_keyed(&mut buf, id, ts, b"t", key, b"x");
    }
    seg.append(HEADER, &buf, &recs).unwrap();
    drop(seg);
    let mut scan = KeyScan {
        since_ms: 150,
        found: Vec::new(),
    };
    let path = dir.path().join(file_name(1));
    let (seg, _, _) = Segment::open(&path, 1, true, Some(&mut scan)).unwrap();
    assert_eq!(scan.found, [(b"new".to_vec(), 3, 300)]);
    let mut out = Vec::new();
    seg.read(1, 3, usize::MAX, &mut out).unwrap();
    assert_eq!(
        out.iter().map(|p| p.data.clone()).collect::<Vec<_>>(),
        [b"x"; 3]
    );
}

#[test]
fn a_failed_fsync_is_never_retried_on_the_same_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = sealed(dir.path());
    let (seg, _, _) = Segment::open(&path, 1, true, None).unwrap();
    seg.sync().unwrap();
    seg.poison();
    assert!(seg.sync().is_err());
    assert!(seg.sync().is_err(), "still failing: not tried again");
    let (again, _, _) = Segment::open(&path, 1, true, None).unwrap();
    again.sync().unwrap();
}
