use super::*;
use crate::test_rng::Rng;

const PARAMS: &[&str] = &["text", "send", "file", "upload"];

/// A file event sequence with Content/FinalContent data merged, so that
/// results from different splittings compare equal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Open(String, String),
    Data(Vec<u8>),
    Final,
    Close(String, String),
}

#[derive(Debug, Default)]
struct Recorder {
    events: Vec<Ev>,
    open: Option<(String, String)>,
    /// Largest Content/FinalContent data seen.
    max_chunk: usize,
}

impl Recorder {
    fn on(&mut self, e: FileEvent<'_>) {
        let who = (e.field.to_owned(), e.filename.to_owned());
        match e.state {
            UploadState::Open => {
                assert!(e.data.is_empty());
                assert!(self.open.is_none(), "Open while a file is open");
                assert!(!e.filename.is_empty());
                self.events.push(Ev::Open(who.0.clone(), who.1.clone()));
                self.open = Some(who);
            }
            UploadState::Content | UploadState::FinalContent => {
                assert_eq!(self.open.as_ref(), Some(&who), "data outside Open");
                if e.state == UploadState::Content {
                    assert!(!e.data.is_empty(), "empty Content");
                }
                self.max_chunk = self.max_chunk.max(e.data.len());
                if !e.data.is_empty() {
                    match self.events.last_mut() {
                        Some(Ev::Data(d)) => d.extend_from_slice(e.data),
                        _ => self.events.push(Ev::Data(e.data.to_vec())),
                    }
                }
                if e.state == UploadState::FinalContent {
                    self.events.push(Ev::Final);
                    self.open = None;
                }
            }
            UploadState::Close => {
                assert!(e.data.is_empty());
                assert!(
                    !matches!(self.events.last(), Some(Ev::Close(..))),
                    "second Close"
                );
                if let Some(open) = &self.open {
                    assert_eq!(open, &who, "Close does not name the open file");
                }
                self.events.push(Ev::Close(who.0, who.1));
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    values: Vec<Option<Vec<u8>>>,
    events: Vec<Ev>,
    /// The first error from `process` (feeding stops there).
    error: Option<FormError>,
    finalize: Result<(), FormError>,
}

struct Run {
    outcome: Outcome,
    max_buffered: usize,
    max_chunk: usize,
    storage_used: usize,
}

fn params(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Parses `body` cut at `cuts` (ascending positions).
fn run_cuts(ct: Option<&str>, names: &[&str], max: usize, body: &[u8], cuts: &[usize]) -> Run {
    let mut p = FormParser::new(ct, &params(names), max).expect("new");
    let mut rec = Recorder::default();
    let mut error = None;
    let mut max_buffered = 0;
    let mut last = 0;
    for &cut in cuts.iter().chain(std::iter::once(&body.len())) {
        let piece = &body[last..cut];
        last = cut;
        if let Err(e) = p.process(piece, &mut |e| {
            rec.on(e);
            true
        }) {
            error = Some(e);
            break;
        }
        max_buffered = max_buffered.max(p.buffered());
    }
    let finalize = p.finalize(&mut |e| {
        rec.on(e);
        true
    });
    let values = (0..names.len())
        .map(|i| p.get_bytes(i).map(<[u8]>::to_vec))
        .collect();
    Run {
        outcome: Outcome {
            values,
            events: rec.events,
            error,
            finalize,
        },
        max_buffered,
        max_chunk: rec.max_chunk,
        storage_used: p.storage_used(),
    }
}

fn run(ct: Option<&str>, names: &[&str], max: usize, body: &[u8]) -> Outcome {
    run_cuts(ct, names, max, body, &[]).outcome
}

fn some(s: &str) -> Option<Vec<u8>> {
    Some(s.as_bytes().to_vec())
}

fn close() -> Ev {
    Ev::Close(String::new(), String::new())
}

const URL: Option<&str> = Some("application/x-www-form-urlencoded");

// ---------------------------------------------------------------------------
// urlencoded

#[test]
fn urlencoded_basic() {
    let p = {
        let mut p = FormParser::new(URL, &params(&["a", "b", "c"]), 1024).unwrap();
        p.process(b"a=1&b=x+y%21", &mut |_| true).unwrap();
        p.finalize(&mut |_| true).unwrap();
        p
    };
    assert_eq!(p.get_string(0), Some("1"));
    assert_eq!(p.get_string(1), Some("x y!"));
    assert_eq!(p.get_length(1), 4);
    assert_eq!(p.get_string(2), None);
    assert_eq!(p.get_length(2), 0);
    assert_eq!(p.get_string(99), None);
    assert_eq!(p.get_length(99), 0);
    assert_eq!(p.get_bytes(99), None);
}

#[test]
fn urlencoded_every_split() {
    let body =
        b"x=%41%42&text=Hello%2C+World%21%0D%0A%e2%9c%93&send=%7e~%7E&file=a%3Db=c+&upload=%25%2b+";
    let expected = Outcome {
        values: vec![
            some("Hello, World!\r\n\u{2713}"),
            some("~~~"),
            some("a=b=c "),
            some("%+ "),
        ],
        events: vec![close()],
        error: None,
        finalize: Ok(()),
    };
    assert_eq!(run(URL, PARAMS, 1024, body), expected);
    for a in 0..=body.len() {
        for b in a..=body.len() {
            let r = run_cuts(URL, PARAMS, 1024, body, &[a, b]);
            assert_eq!(r.outcome, expected, "cuts at {a}, {b}");
        }
    }
    let bytewise: Vec<usize> = (1..body.len()).collect();
    assert_eq!(
        run_cuts(URL, PARAMS, 1024, body, &bytewise).outcome,
        expected
    );
}

#[test]
fn urlencoded_first_nonempty_value_wins_and_empty_is_absent() {
    let o = run(
        URL,
        &["a", "b", "c"],
        1024,
        b"a=&a=first&a=second&b=&c=3&c=",
    );
    assert_eq!(o.values, vec![some("first"), None, some("3")]);
    let mut p = FormParser::new(URL, &params(&["a"]), 1024).unwrap();
    p.process(b"a=first&a=longer-second", &mut |_| true)
        .unwrap();
    p.finalize(&mut |_| true).unwrap();
    assert_eq!(p.get_string(0), Some("first"));
    assert_eq!(p.get_length(0), 5);
}

#[test]
fn urlencoded_names_without_values() {
    let o = run(URL, &["a", "b"], 1024, b"a&b=1&&=x&a");
    assert_eq!(o.values, vec![None, some("1")]);
    assert_eq!(o.finalize, Ok(()));
}

#[test]
fn urlencoded_names_are_compared_as_sent() {
    let o = run(URL, &["my name", "my+name", "A"], 1024, b"my+name=1&a=2");
    assert_eq!(o.values, vec![None, some("1"), None]);
}

#[test]
fn urlencoded_bad_and_truncated_escapes() {
    let o = run(URL, &["a", "b"], 1024, b"b=ok&a=%zz&b=x");
    assert_eq!(o.error, Some(FormError::BadEscape));
    assert_eq!(o.finalize, Err(FormError::BadEscape));
    assert_eq!(o.values, vec![None, some("ok")]);
    assert_eq!(o.events, vec![close()]);
    assert_eq!(run(URL, &["a"], 1024, b"a=%4").error, None);

    let o = run(URL, &["a", "b"], 1024, b"b=1&a=x%4");
    assert_eq!(o.error, None);
    assert!(matches!(o.finalize, Err(FormError::Truncated(_))));
    assert_eq!(o.values, vec![None, some("1")]);
}

#[test]
fn urlencoded_json_of_a_controller_in_every_split() {
    // Issue #17's body: a JSON object posted in a form, every {}":,
    // escaped.
    let body = b"text=%7B%22device%22%3A%22ctrl-0042%22%2C%22seq%22%3A1%2C%22type%22%3A%22telemetry%22%2C%22values%22%3A%7B%22t%22%3A21.5%2C%22h%22%3A40.1%7D%2C%22note%22%3A%22abcdefghijklmnopqrstuv%22%7D&send=Send";
    let json = r#"{"device":"ctrl-0042","seq":1,"type":"telemetry","values":{"t":21.5,"h":40.1},"note":"abcdefghijklmnopqrstuv"}"#;
    let expected = Outcome {
        values: vec![some(json), some("Send"), None, None],
        events: vec![close()],
        error: None,
        finalize: Ok(()),
    };
    assert_eq!(run(URL, PARAMS, 1024, body), expected);
    for a in 0..=body.len() {
        assert_eq!(
            run_cuts(URL, PARAMS, 1024, body, &[a]).outcome,
            expected,
            "cut at {a}"
        );
    }
    let bytewise: Vec<usize> = (1..body.len()).collect();
    assert_eq!(
        run_cuts(URL, PARAMS, 1024, body, &bytewise).outcome,
        expected
    );
}

#[test]
fn urlencoded_the_first_problem_in_a_value_is_the_error() {
    // Storage runs out before a bad escape: that is the error, and the
    // other way round.
    let o = run(URL, &["a"], 8, b"a=abcdefg%zz");
    assert_eq!(o.error, Some(FormError::StorageExceeded { max_storage: 8 }));
    let o = run(URL, &["a"], 8, b"a=ab%zzcdefgh");
    assert_eq!(o.error, Some(FormError::BadEscape));
    // A bad escape right after good ones, and a `%` cut by `&`.
    let o = run(URL, &["a", "b"], 1024, b"b=1&a=%41%4");
    assert!(matches!(o.finalize, Err(FormError::Truncated(_))));
    assert_eq!(
        run(URL, &["a"], 1024, b"a=%41%4&b=2").error,
        Some(FormError::BadEscape)
    );
    assert_eq!(
        run(URL, &["a"], 1024, b"a=%41%g1").error,
        Some(FormError::BadEscape)
    );
    // Escapes of unwanted fields are checked too, as before.
    assert_eq!(
        run(URL, &["a"], 1024, b"z=%%&a=1").error,
        Some(FormError::BadEscape)
    );
}

#[test]
fn urlencoded_failed_parser_stays_failed() {
    let mut p = FormParser::new(URL, &params(&["a"]), 1024).unwrap();
    assert_eq!(p.process(b"a=%g", &mut |_| true), Err(FormError::BadEscape));
    assert_eq!(p.process(b"&a=1", &mut |_| true), Err(FormError::BadEscape));
    let mut closes = 0;
    assert_eq!(
        p.finalize(&mut |e| {
            closes += usize::from(e.state == UploadState::Close);
            true
        }),
        Err(FormError::BadEscape)
    );
    assert_eq!(closes, 1);
    assert_eq!(p.get_string(0), None);
}

#[test]
fn urlencoded_non_utf8_value() {
    let mut p = FormParser::new(URL, &params(&["a"]), 1024).unwrap();
    p.process(b"a=%ff%00x", &mut |_| true).unwrap();
    p.finalize(&mut |_| true).unwrap();
    assert_eq!(p.get_string(0), None);
    assert_eq!(p.get_bytes(0), Some(&b"\xff\x00x"[..]));
    assert_eq!(p.get_length(0), 3);
}

#[test]
fn urlencoded_name_too_long() {
    let long = "n".repeat(MAX_NAME_LEN);
    let ok = format!("{long}=1");
    assert_eq!(
        run(URL, &[&long], 1024, ok.as_bytes()).values,
        vec![some("1")]
    );
    let bad = format!("{long}n=1");
    assert_eq!(
        run(URL, &["a"], 1024, bad.as_bytes()).error,
        Some(FormError::NameTooLong)
    );
    // Split across pieces too.
    let r = run_cuts(URL, &["a"], 1024, bad.as_bytes(), &[10, 200]);
    assert_eq!(r.outcome.error, Some(FormError::NameTooLong));
    assert!(r.max_buffered <= MAX_NAME_LEN);
}

#[test]
fn other_content_types_are_urlencoded() {
    for ct in [None, Some("text/plain"), Some("application/json"), Some("")] {
        let o = run(ct, &["a"], 1024, b"a=1+2");
        assert_eq!(o.values, vec![some("1 2")], "{ct:?}");
    }
}

// ---------------------------------------------------------------------------
// storage

#[test]
fn storage_limit_matches_lws() {
    // lws: each value takes len + 1 and must end before the last byte.
    let names = &["a", "b"];
    assert_eq!(
        run(URL, names, 8, b"a=abcdef").values,
        vec![some("abcdef"), None]
    );
    let o = run(URL, names, 8, b"a=abcdefg");
    assert_eq!(o.error, Some(FormError::StorageExceeded { max_storage: 8 }));
    assert_eq!(o.values, vec![None, None]);
    assert_eq!(
        run(URL, names, 8, b"a=abc&b=ab").values,
        vec![some("abc"), some("ab")]
    );
    let o = run(URL, names, 8, b"a=abc&b=abc");
    assert_eq!(o.error, Some(FormError::StorageExceeded { max_storage: 8 }));
    assert_eq!(o.values, vec![some("abc"), None]);
    // Unknown names and empty values take nothing; repeats do.
    assert_eq!(
        run(URL, names, 8, b"zzz=a-long-unknown-value&b=&a=abcdef").values,
        vec![some("abcdef"), None]
    );
    let o = run(URL, names, 8, b"a=abc&a=abc");
    assert_eq!(o.error, Some(FormError::StorageExceeded { max_storage: 8 }));
    // Escapes count decoded.
    assert_eq!(
        run(URL, names, 8, b"a=%41%42%43%44%45%46").values[0],
        some("ABCDEF")
    );
}

#[test]
fn storage_zero_means_512() {
    let ok = format!("a={}", "v".repeat(510));
    let o = run(URL, &["a"], 0, ok.as_bytes());
    assert_eq!(o.error, None);
    assert_eq!(o.values[0].as_ref().map(Vec::len), Some(510));
    let bad = format!("a={}", "v".repeat(511));
    assert_eq!(
        run(URL, &["a"], 0, bad.as_bytes()).error,
        Some(FormError::StorageExceeded { max_storage: 512 })
    );
}

#[test]
fn storage_limit_multipart() {
    let ct = Some("multipart/form-data; boundary=B");
    let body = |a: &str, b: &str| {
        format!(
            "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n{a}\r\n\
             --B\r\nContent-Disposition: form-data; name=\"zz\"\r\n\r\n{}\r\n\
             --B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f\"\r\n\r\n{}\r\n\
             --B\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n{b}\r\n--B--\r\n",
            "u".repeat(100),
            "f".repeat(100)
        )
    };
    let o = run(ct, &["a", "b"], 8, body("abc", "ab").as_bytes());
    assert_eq!(o.error, None);
    assert_eq!(o.values, vec![some("abc"), some("ab")]);
    let o = run(ct, &["a", "b"], 8, body("abc", "abc").as_bytes());
    assert_eq!(o.error, Some(FormError::StorageExceeded { max_storage: 8 }));
    assert_eq!(o.values, vec![some("abc"), None]);
}

// ---------------------------------------------------------------------------
// multipart

const MP_CT: &str = "multipart/form-data; boundary=XyZ-boundary";
const FILE_DATA: &[u8] = b"line1\r\nline2\r\n--XyZ-bound\r\r\n--XyZ\r\n-\r\n--\r\n\
---XyZ-boundary-ish\x00\xff\r\n--XyZ-boundar\r";

fn mp_body() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"This is the preamble.\r\n--XyZ-boundary\r\n");
    b.extend_from_slice(b"Content-Disposition: form-data; name=\"text\"\r\n\r\n");
    b.extend_from_slice(b"hello world\r\n--XyZ-boundary  \r\n");
    b.extend_from_slice(b"content-disposition:form-data; NAME=send\r\n\r\n");
    b.extend_from_slice(b"Send it\r\n--XyZ-boundary\r\n");
    b.extend_from_slice(b"X-Other: a--b\r\n");
    b.extend_from_slice(b"CONTENT-DISPOSITION: form-data; name=\"file\"; filename=\"t.txt\"\r\n");
    b.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
    b.extend_from_slice(FILE_DATA);
    b.extend_from_slice(b"\r\n--XyZ-boundary--\r\nepilogue\r\n--XyZ-boundary\r\n");
    b.extend_from_slice(b"Content-Disposition: form-data; name=\"upload\"\r\n\r\nX\r\n");
    b
}

fn mp_expected() -> Outcome {
    Outcome {
        values: vec![some("hello world"), some("Send it"), None, None],
        events: vec![
            Ev::Open("file".into(), "t.txt".into()),
            Ev::Data(FILE_DATA.to_vec()),
            Ev::Final,
            close(),
        ],
        error: None,
        finalize: Ok(()),
    }
}

#[test]
fn multipart_whole() {
    assert!(!FILE_DATA.windows(16).any(|w| w == b"\r\n--XyZ-boundary"));
    assert_eq!(run(Some(MP_CT), PARAMS, 1024, &mp_body()), mp_expected());
}

/// A file callback sees the fields that ended before its part (what
/// `lws_spa_get_string` answers from inside lws's callback).
#[test]
fn file_events_see_the_fields_stored_before_them() {
    let names = params(PARAMS);
    let mut p = FormParser::new(Some(MP_CT), &names, 1024).unwrap();
    let mut seen = Vec::new();
    let mut on_file = |e: FileEvent<'_>| {
        seen.push((
            e.state,
            e.values.len(),
            e.values.get_bytes(0).map(<[u8]>::to_vec),
            e.values.get_bytes(1).map(<[u8]>::to_vec),
        ));
        true
    };
    p.process(&mp_body(), &mut on_file).unwrap();
    p.finalize(&mut on_file).unwrap();
    let both = (some("hello world"), some("Send it"));
    let states: Vec<UploadState> = seen.iter().map(|s| s.0).collect();
    use UploadState::{Close, FinalContent, Open};
    assert_eq!(states, [Open, FinalContent, Close]);
    for (state, len, text, send) in seen {
        assert_eq!((len, (text, send)), (4, both.clone()), "{state:?}");
    }
}

#[test]
fn multipart_every_split() {
    let body = mp_body();
    let expected = mp_expected();
    for a in 0..=body.len() {
        for b in a..=body.len() {
            let r = run_cuts(Some(MP_CT), PARAMS, 1024, &body, &[a, b]);
            assert_eq!(r.outcome, expected, "cuts at {a}, {b}");
            assert!(r.max_buffered <= 100, "buffered {}", r.max_buffered);
        }
    }
    let bytewise: Vec<usize> = (1..body.len()).collect();
    let r = run_cuts(Some(MP_CT), PARAMS, 1024, &body, &bytewise);
    assert_eq!(r.outcome, expected);
}

#[test]
fn multipart_one_megabyte_file_streams() {
    let boundary = "----WebKitFormBoundarycc7YgAPEIHvgE9Bf";
    let delim_len = boundary.len() + 4;
    let ct = format!("multipart/form-data; boundary={boundary}");
    let mut rng = Rng::new(0x1234_5678_9abc_def1);
    let mut data = Vec::with_capacity(1 << 20);
    while data.len() < 1 << 20 {
        if rng.chance(1) {
            // A near miss of the boundary.
            data.extend_from_slice(b"\r\n--");
            let n = rng.below(boundary.len());
            data.extend_from_slice(&boundary.as_bytes()[..n]);
            data.push(b'#');
        } else {
            data.push(rng.next() as u8);
        }
    }
    data.truncate(1 << 20);
    let delim = format!("\r\n--{boundary}");
    assert_eq!(find(&data, delim.as_bytes()), None);
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    body.extend_from_slice(
        b"Content-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n",
    );
    body.extend_from_slice(&data);
    body.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
    body.extend_from_slice(b"Content-Disposition: form-data; name=\"text\"\r\n\r\nafter\r\n");
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());

    let cuts: Vec<usize> = (1..body.len().div_ceil(1024)).map(|i| i * 1024).collect();
    let r = run_cuts(Some(&ct), PARAMS, 1024, &body, &cuts);
    let o = r.outcome;
    assert_eq!((&o.error, &o.finalize), (&None, &Ok(())));
    assert_eq!(o.values, vec![some("after"), None, None, None]);
    assert_eq!(o.events.len(), 4);
    assert_eq!(o.events[0], Ev::Open("file".into(), "big.bin".into()));
    let Ev::Data(got) = &o.events[1] else {
        panic!("no data")
    };
    let first_diff = got.iter().zip(&data).position(|(a, b)| a != b);
    assert!(
        got.len() == data.len() && first_diff.is_none(),
        "got {} bytes, want {}, first difference at {first_diff:?}",
        got.len(),
        data.len()
    );
    assert_eq!(o.events[2..], [Ev::Final, close()]);
    // Nothing held back beyond a partial boundary or a piece of a header
    // line.
    assert!(
        r.max_buffered < 2 * delim_len,
        "buffered {}",
        r.max_buffered
    );
    assert!(r.max_chunk <= 1024, "chunk {}", r.max_chunk);
}

#[test]
fn multipart_boundary_spellings() {
    let body = b"--a b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nv\r\n--a b--";
    for ct in [
        "multipart/form-data; boundary=\"a b\"",
        "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b\"",
        "multipart/related;boundary=\"a b\";type=x",
    ] {
        let o = run(Some(ct), PARAMS, 1024, body);
        assert_eq!(o.values[0], some("v"), "{ct}");
        assert_eq!(o.finalize, Ok(()), "{ct}");
    }
    let body = b"--abc\r\nContent-Disposition: form-data; name=text\r\n\r\nv\r\n--abc--";
    for ct in [
        "multipart/form-data; boundary=abc",
        "multipart/form-data;boundary=abc ; charset=utf-8",
        "multipart/form-data; boundary=\"abc\"",
    ] {
        assert_eq!(
            run(Some(ct), PARAMS, 1024, body).values[0],
            some("v"),
            "{ct}"
        );
    }
}

#[test]
fn multipart_missing_or_bad_boundary() {
    let new = |ct: &str| FormParser::new(Some(ct), &params(PARAMS), 1024).map(|_| ());
    assert_eq!(new("multipart/form-data"), Err(FormError::MissingBoundary));
    assert_eq!(
        new("multipart/form-data; charset=utf-8"),
        Err(FormError::MissingBoundary)
    );
    assert!(matches!(
        new("multipart/form-data; boundary="),
        Err(FormError::BadBoundary(_))
    ));
    assert!(matches!(
        new("multipart/form-data; boundary=\"\""),
        Err(FormError::BadBoundary(_))
    ));
    let long = format!(
        "multipart/form-data; boundary={}",
        "x".repeat(MAX_BOUNDARY_LEN + 1)
    );
    assert!(matches!(new(&long), Err(FormError::BadBoundary(_))));
    assert!(matches!(
        new("multipart/form-data; boundary=\"a\u{e9}\""),
        Err(FormError::BadBoundary(_))
    ));
    let ok = format!(
        "multipart/form-data; boundary={}",
        "x".repeat(MAX_BOUNDARY_LEN)
    );
    assert_eq!(new(&ok), Ok(()));
}

#[test]
fn empty_bodies() {
    for ct in [URL, Some(MP_CT)] {
        let o = run(ct, PARAMS, 1024, b"");
        assert_eq!(
            o,
            Outcome {
                values: vec![None; 4],
                events: vec![close()],
                error: None,
                finalize: Ok(()),
            },
            "{ct:?}"
        );
    }
}

#[test]
fn multipart_truncated_inside_file_is_abandoned() {
    let ct = Some("multipart/form-data; boundary=B");
    let body = b"--B\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nt\r\n\
--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\n\r\nsome data\r\n-";
    let o = run(ct, PARAMS, 1024, body);
    assert_eq!(o.error, None);
    assert!(matches!(o.finalize, Err(FormError::Truncated(_))));
    assert_eq!(o.values[0], some("t"));
    assert_eq!(
        o.events,
        vec![
            Ev::Open("file".into(), "f.bin".into()),
            Ev::Data(b"some data".to_vec()),
            Ev::Close("file".into(), "f.bin".into()),
        ]
    );
}

#[test]
fn multipart_truncated_elsewhere() {
    let ct = Some("multipart/form-data; boundary=B");
    let text = Ev::Close("text".into(), String::new());
    for (body, close) in [
        (&b"no boundary at all"[..], close()),
        (
            b"--B\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nt\r\n--B\r\n",
            close(),
        ),
        (
            b"--B\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nt",
            text,
        ),
        (b"--B\r\nContent-Disposition: form-da", close()),
        (b"--B", close()),
    ] {
        let o = run(ct, PARAMS, 1024, body);
        assert_eq!(o.error, None);
        assert!(matches!(o.finalize, Err(FormError::Truncated(_))), "{o:?}");
        assert_eq!(o.events, vec![close]);
    }
    // A completed field before the cut is kept.
    let o = run(
        ct,
        PARAMS,
        1024,
        b"--B\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nt\r\n--B\r\n",
    );
    assert_eq!(o.values[0], some("t"));
}

#[test]
fn multipart_part_details() {
    let ct = Some("multipart/form-data; boundary=B");
    let body = b"--B\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"\"\r\n\r\nnot a file\r\n\
--B\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"empty.txt\"\r\n\r\n\r\n\
--B\r\nContent-Disposition: form-data; name=\"nobody\"\r\n\r\nignored\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n\
--B\r\ncontent-disposition: form-data; filename=\"C:\\dir\\x y.txt\"; Name=\"send\"\r\n\r\nxy\r\n\
--B\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n\r\n\
--B\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nline\r\nline\r\n\
--B--";
    let o = run(ct, PARAMS, 1024, body);
    assert_eq!(o.error, None);
    assert_eq!(o.finalize, Ok(()));
    assert_eq!(
        o.values,
        vec![some("line\r\nline"), None, some("not a file"), None]
    );
    assert_eq!(
        o.events,
        vec![
            Ev::Open("upload".into(), "empty.txt".into()),
            Ev::Final,
            Ev::Open("send".into(), "C:\\dir\\x y.txt".into()),
            Ev::Data(b"xy".to_vec()),
            Ev::Final,
            close(),
        ]
    );
}

#[test]
fn multipart_header_too_long() {
    let ct = Some("multipart/form-data; boundary=B");
    let mut body = b"--B\r\nX-Long: ".to_vec();
    body.extend(std::iter::repeat_n(b'x', MAX_PART_HEADER));
    body.extend_from_slice(b"\r\n\r\ndata\r\n--B--");
    let cuts: Vec<usize> = (1..body.len() / 100).map(|i| i * 100).collect();
    let r = run_cuts(ct, PARAMS, 1024, &body, &cuts);
    assert_eq!(r.outcome.error, Some(FormError::HeaderTooLong));
    assert!(r.max_buffered <= MAX_PART_HEADER);
    // Many short header lines add up too.
    let mut body = b"--B\r\n".to_vec();
    for _ in 0..MAX_PART_HEADER / 8 {
        body.extend_from_slice(b"X-A: b\r\n");
    }
    body.extend_from_slice(b"\r\nv\r\n--B--");
    assert_eq!(
        run(ct, PARAMS, 1024, &body).error,
        Some(FormError::HeaderTooLong)
    );
    // Junk after a boundary counts as header.
    let mut body = b"--B".to_vec();
    body.extend(std::iter::repeat_n(b' ', MAX_PART_HEADER + 1));
    assert_eq!(
        run(ct, PARAMS, 1024, &body).error,
        Some(FormError::HeaderTooLong)
    );
}

#[test]
fn refusal_by_callback() {
    let ct = Some("multipart/form-data; boundary=B");
    let body = b"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n0123456789\r\n--B--";
    for refuse in [
        UploadState::Open,
        UploadState::Content,
        UploadState::FinalContent,
    ] {
        let mut p = FormParser::new(ct, &params(PARAMS), 1024).unwrap();
        let mut result = Ok(());
        for chunk in body.chunks(7) {
            result = p.process(chunk, &mut |e| e.state != refuse);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(FormError::Refused), "{refuse:?}");
        assert_eq!(p.process(b"x", &mut |_| true), Err(FormError::Refused));
        let mut states = Vec::new();
        assert_eq!(
            p.finalize(&mut |e| {
                states.push(e.state);
                true
            }),
            Err(FormError::Refused)
        );
        assert_eq!(states, vec![UploadState::Close]);
    }
    // Refusing the Close.
    let mut p = FormParser::new(URL, &params(PARAMS), 1024).unwrap();
    p.process(b"text=1", &mut |_| true).unwrap();
    assert_eq!(p.finalize(&mut |_| false), Err(FormError::Refused));
    assert_eq!(p.get_string(0), Some("1"));
}

#[test]
fn after_finalize() {
    let mut p = FormParser::new(URL, &params(&["a"]), 1024).unwrap();
    p.process(b"a=1", &mut |_| true).unwrap();
    let mut n = 0;
    p.finalize(&mut |_| {
        n += 1;
        true
    })
    .unwrap();
    assert_eq!(p.process(b"&a=%zz", &mut |_| true), Ok(()));
    assert_eq!(
        p.finalize(&mut |_| {
            n += 1;
            true
        }),
        Ok(())
    );
    assert_eq!(n, 1);
    assert_eq!(p.get_string(0), Some("1"));
}

#[test]
fn upload_state_values_are_lws_ones() {
    assert_eq!(UploadState::Content as i32, 0);
    assert_eq!(UploadState::FinalContent as i32, 1);
    assert_eq!(UploadState::Open as i32, 2);
    assert_eq!(UploadState::Close as i32, 3);
}

#[test]
fn error_messages() {
    assert_eq!(
        FormError::StorageExceeded { max_storage: 8 }.to_string(),
        "field values exceed the form storage of 8 bytes"
    );
    assert_eq!(
        FormError::MissingBoundary.to_string(),
        "multipart Content-Type has no boundary parameter"
    );
}

#[test]
fn urlencoded_long_values_decode_the_same_in_any_split() {
    // Longer than the decoder's 256-byte block, with escapes and `+` on
    // both sides of every block boundary.
    let mut body = b"text=".to_vec();
    let mut want = Vec::new();
    for i in 0..300 {
        match i % 3 {
            0 => {
                body.extend_from_slice(b"%7B");
                want.push(b'{');
            }
            1 => {
                body.push(b'+');
                want.push(b' ');
            }
            _ => {
                body.push(b'a' + (i % 26) as u8);
                want.push(b'a' + (i % 26) as u8);
            }
        }
    }
    body.extend_from_slice(b"&send=Send");
    let expected = Outcome {
        values: vec![Some(want), some("Send"), None, None],
        events: vec![close()],
        error: None,
        finalize: Ok(()),
    };
    assert_eq!(run(URL, PARAMS, 4096, &body), expected);
    for cut in (0..=body.len()).step_by(7) {
        let r = run_cuts(URL, PARAMS, 4096, &body, &[cut]);
        assert_eq!(r.outcome, expected, "cut at {cut}");
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[path = "tests/fuzz.rs"]
mod fuzz;
