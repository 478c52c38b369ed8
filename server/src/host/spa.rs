//! The host side of `lws_spa_*`: form parsers
//! ([`FormParser`](comlink_wire::form::FormParser)) made for a transaction,
//! kept per service thread and handed to plugins as opaque handles.
//!
//! A parser calls the plugin's file callback while it parses, and lws lets
//! that callback read the fields parsed so far (`lws_spa_get_string`). So
//! the parser's state is behind a `RefCell` that `process` and `finalize`
//! hold mutably across the callback: a call from inside the callback that
//! would parse, finalize or free the same parser finds it borrowed and is
//! refused ([`SpaError::Busy`]), instead of aliasing it (lws itself would
//! corrupt or free it under its own feet). Reads from inside the callback
//! are answered from the values the callback's event carried.

use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::rc::Rc;

use comlink_wire::form::{FileEvent, FormError, FormParser, Values};

/// The plugin's file callback, as the parser calls it: false refuses the
/// upload.
pub(crate) type Upload = Box<dyn FnMut(FileEvent<'_>) -> bool>;

/// Why a form parser call was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpaError {
    /// Not a handle this thread gave out (or one already destroyed).
    #[error("{0:#x} is not a form parser of this service thread")]
    Unknown(usize),
    /// The parser is running the callback this call comes from.
    #[error(
        "re-entrant call refused: the form parser is running the file callback this call \
         comes from"
    )]
    Busy,
    /// The body does not parse, or the plugin refused an upload.
    #[error(transparent)]
    Form(#[from] FormError),
}

/// One parser.
pub(crate) struct Spa {
    /// Borrowed mutably while `process` or `finalize` run (and call the
    /// plugin).
    work: RefCell<Work>,
    /// The values as the last file event carried them: what a read from
    /// inside the callback sees.
    seen: RefCell<Vec<Option<Vec<u8>>>>,
    /// NUL-terminated copies handed out by [`Spa::string`], one per field;
    /// each stays put while its value does (lws's stay until destroy).
    strings: RefCell<Vec<Option<CString>>>,
}

struct Work {
    parser: FormParser,
    upload: Upload,
    finalized: bool,
}

thread_local! {
    static SPAS: RefCell<FxHashMap<usize, Rc<Spa>>> = RefCell::new(FxHashMap::default());
}

/// Registers a parser with `fields` wanted fields; its handle.
pub(crate) fn create(parser: FormParser, upload: Upload, fields: usize) -> usize {
    let spa = Rc::new(Spa {
        work: RefCell::new(Work {
            parser,
            upload,
            finalized: false,
        }),
        seen: RefCell::new(Vec::new()),
        strings: RefCell::new(vec![None; fields]),
    });
    let handle = Rc::as_ptr(&spa) as usize;
    SPAS.with(|t| t.borrow_mut().insert(handle, spa));
    handle
}

/// The parser behind `handle` (held for as long as the caller needs it).
pub(crate) fn get(handle: usize) -> Result<Rc<Spa>, SpaError> {
    SPAS.with(|t| t.borrow().get(&handle).cloned())
        .ok_or(SpaError::Unknown(handle))
}

/// `lws_spa_destroy`: finalizes the parser if it was not (so the plugin
/// sees its upload closed), then forgets it.
pub(crate) fn destroy(handle: usize) -> Result<(), SpaError> {
    get(handle)?.finalize()?;
    SPAS.with(|t| t.borrow_mut().remove(&handle));
    Ok(())
}

impl Spa {
    /// Feeds body bytes.
    pub(crate) fn process(&self, data: &[u8]) -> Result<(), SpaError> {
        let mut work = self.work.try_borrow_mut().map_err(|_| SpaError::Busy)?;
        let Work { parser, upload, .. } = &mut *work;
        parser.process(data, &mut |ev| {
            self.saw(ev.values);
            upload(ev)
        })?;
        Ok(())
    }

    /// The end of the body (the first call only). A body that did not
    /// parse is logged, not refused: lws's finalize returns 0 regardless.
    pub(crate) fn finalize(&self) -> Result<(), SpaError> {
        let mut work = self.work.try_borrow_mut().map_err(|_| SpaError::Busy)?;
        if work.finalized {
            return Ok(());
        }
        work.finalized = true;
        let Work { parser, upload, .. } = &mut *work;
        if let Err(e) = parser.finalize(&mut |ev| {
            self.saw(ev.values);
            upload(ev)
        }) {
            tracing::info!("lws_spa_finalize: {e}");
        }
        Ok(())
    }

    /// Remembers the values a file event carries, for reads from inside
    /// the callback (copied only when they changed: a field ended).
    fn saw(&self, values: Values<'_>) {
        let mut seen = self.seen.borrow_mut();
        let same = seen.len() == values.len()
            && seen
                .iter()
                .enumerate()
                .all(|(i, v)| v.as_deref() == values.get_bytes(i));
        if !same {
            *seen = (0..values.len())
                .map(|i| values.get_bytes(i).map(<[u8]>::to_vec))
                .collect();
        }
    }

    /// Runs `f` on field `i`'s value: the parser's, or (while the parser is
    /// busy calling the plugin) the one the callback's event carried.
    fn with_value<R>(&self, i: usize, f: impl FnOnce(Option<&[u8]>) -> R) -> R {
        match self.work.try_borrow() {
            Ok(work) => f(work.parser.get_bytes(i)),
            Err(_) => f(self.seen.borrow().get(i).and_then(|v| v.as_deref())),
        }
    }

    /// `lws_spa_get_length`: the value's length (0 when absent).
    pub(crate) fn length(&self, i: usize) -> usize {
        self.with_value(i, |v| v.map_or(0, <[u8]>::len))
    }

    /// `lws_spa_get_string`: the value NUL-terminated (NUL bytes inside it
    /// dropped), or null when absent. The pointer stays valid while the
    /// parser lives and the value stays the same.
    pub(crate) fn string(&self, i: usize) -> *const c_char {
        let mut strings = self.strings.borrow_mut();
        let Some(slot) = strings.get_mut(i) else {
            return std::ptr::null();
        };
        // A plugin asks for the same value more than once (its length, then
        // its string, per field, per request): the copy made last time is
        // handed out again while it still matches, without a new one.
        self.with_value(i, |v| {
            let Some(v) = v else {
                return std::ptr::null();
            };
            let unchanged = slot
                .as_ref()
                .is_some_and(|c| c.as_bytes().iter().eq(v.iter().filter(|&&b| b != 0)));
            if !unchanged {
                let mut bytes = Vec::with_capacity(v.len() + 1);
                if v.contains(&0) {
                    bytes.extend(v.iter().copied().filter(|&b| b != 0));
                } else {
                    bytes.extend_from_slice(v);
                }
                *slot = CString::new(bytes).ok();
            }
            slot.as_ref().map_or(std::ptr::null(), |c| c.as_ptr())
        })
    }
}
