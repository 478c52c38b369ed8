//! `protocol-post-demo`, lws's form demo, in Rust: parses a urlencoded or
//! multipart POST with the host's form parser and answers with the fields.

#![deny(unsafe_code)]

use std::cell::RefCell;
use std::ffi::CStr;
use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use comlink_plugin_api::form::{Form, Upload};
use comlink_plugin_api::{Action, Connection, Options, Protocol, Vhost};

/// The fields shown, as lws's demo has them.
const FIELDS: [&str; 4] = ["text", "send", "file", "upload"];
/// Bytes of field values kept (each field is at most 1024 in lws's demo).
const MAX_STORAGE: usize = 4 * 1024;
/// Bytes of an uploaded file kept.
const MAX_FILE: usize = 100_000;

static NEXT_FILE: AtomicU64 = AtomicU64::new(1);

/// The protocol.
pub struct PostDemo;

/// The upload in progress: where it goes and how much was kept.
#[derive(Default)]
struct UploadFile {
    name: String,
    path: Option<std::path::PathBuf>,
    file: Option<std::fs::File>,
    length: usize,
}

/// One transaction.
pub struct Session {
    form: Option<Form>,
    upload: Rc<RefCell<UploadFile>>,
    page: Option<Vec<u8>>,
    head_sent: bool,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.form = None;
        if let Some(p) = self.upload.borrow_mut().path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Appends `s` with HTML's special characters escaped: one pass over the
/// bytes, the runs between them copied whole (this page is built on every
/// POST, and a JSON value has a `"` every few bytes).
fn push_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends `n` in decimal (without the formatting machinery).
fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

impl Session {
    fn results_page(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(
            b"<!DOCTYPE html><html lang=\"en\"><head><meta charset=utf-8><title>Form results</title></head>\
             <body><h1>Form results (after urldecoding)</h1>\
             <table><tr><td>Name</td><td>Length</td><td>Value</td></tr>",
        );
        for (i, name) in FIELDS.iter().enumerate() {
            let (len, value) = match &self.form {
                Some(f) => (f.len_of(i), f.value(i)),
                None => (0, None),
            };
            out.extend_from_slice(b"<tr><td><b>");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"</b></td><td>");
            push_decimal(&mut out, len);
            out.extend_from_slice(b"</td><td>");
            match value {
                Some(v) => push_escaped(&mut out, &v),
                None => out.extend_from_slice(b"NULL"),
            }
            out.extend_from_slice(b"</td></tr>");
        }
        let up = self.upload.borrow();
        out.extend_from_slice(b"</table><br><b>filename:</b> ");
        push_escaped(&mut out, &up.name);
        out.extend_from_slice(b", <b>length</b> ");
        push_decimal(&mut out, up.length);
        out.extend_from_slice(b"</body></html>");
        out
    }
}

impl Protocol for PostDemo {
    type Vhost = ();
    type Session = Session;
    const NAME: &'static CStr = c"protocol-post-demo";

    fn init(_vhost: Vhost, _options: &Options) -> Option<()> {
        Some(())
    }

    fn open(_vhd: &mut (), _conn: Connection) -> Option<Session> {
        None
    }

    fn open_http(_vhd: &mut (), conn: Connection, _path: &str) -> Option<Session> {
        let upload = Rc::new(RefCell::new(UploadFile::default()));
        let sink = upload.clone();
        let form = Form::new(
            conn,
            &FIELDS,
            MAX_STORAGE,
            move |_field, filename, data, state| {
                let mut up = sink.borrow_mut();
                match state {
                    Upload::Open => {
                        let path = std::env::temp_dir().join(format!(
                            "post-file-{}-{}",
                            std::process::id(),
                            NEXT_FILE.fetch_add(1, Ordering::Relaxed)
                        ));
                        up.file = std::fs::File::create(&path).ok();
                        up.path = Some(path);
                        up.name = filename.to_string();
                        up.length = 0;
                    }
                    Upload::Content | Upload::FinalContent => {
                        let room = MAX_FILE.saturating_sub(up.length);
                        let take = data.len().min(room);
                        if let Some(f) = up.file.as_mut() {
                            let _ = f.write_all(&data[..take]);
                        }
                        up.length += take;
                        if state == Upload::FinalContent {
                            up.file = None;
                        }
                    }
                    Upload::Close => up.file = None,
                }
                true
            },
        );
        let bodyless = conn.method().is_some_and(|m| m == "GET" || m == "HEAD")
            && conn
                .header(comlink_plugin_api::abi::WSI_TOKEN_HTTP_CONTENT_LENGTH)
                .is_none();
        let s = Session {
            form,
            upload,
            page: None,
            head_sent: false,
        };
        if bodyless {
            conn.request_writable();
        }
        Some(s)
    }

    fn http_body(_vhd: &mut (), s: &mut Session, _conn: Connection, data: &[u8]) -> Action {
        if let Some(f) = s.form.as_mut() {
            if !f.process(data) {
                return Action::Close;
            }
        }
        Action::Continue
    }

    fn http_body_complete(_vhd: &mut (), s: &mut Session, conn: Connection) -> Action {
        if let Some(f) = s.form.as_mut() {
            f.finalize();
        }
        conn.request_writable();
        Action::Continue
    }

    fn http_writeable(_vhd: &mut (), s: &mut Session, conn: Connection) -> Action {
        if !s.head_sent {
            let page = s.results_page();
            let len = page.len() as u64;
            s.page = Some(page);
            if conn
                .write_http_head(200, &[("content-type", "text/html")], Some(len))
                .is_err()
            {
                return Action::Close;
            }
            s.head_sent = true;
            // The body goes in the next writeable callback, as lws's demo does.
            conn.request_writable();
            return Action::Continue;
        }
        let page = s.page.take().unwrap_or_default();
        if conn.write_http(&page, true).is_err() {
            return Action::Close;
        }
        conn.transaction_completed()
    }
}

comlink_plugin_api::export_plugin!(post_demo, "post demo", [PostDemo]);
