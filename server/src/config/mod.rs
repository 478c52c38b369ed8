//! The lwsws configuration: `<dir>/conf` plus `<dir>/conf.d/*`, read the way
//! lwsws reads them (contract §1 and §2), into the resolved [`Config`].
//!
//! * [`load`] reads a config dir; [`load_texts`] parses given texts (tests,
//!   fuzzing); [`host_checks`] runs the checks that depend on this machine.
//! * Two passes, like lwsws: first every `"global"` object of every file in
//!   reading order (merged: later scalar keys override, repeatable keys
//!   append), then every `"vhosts"` array. Either may be in any file; one
//!   file may hold both.
//! * Every problem of every file is collected (a file with a syntax error
//!   contributes that one error and is skipped) and returned in file order
//!   as [`Diagnostic`]s: `FILE:LINE:COL: error: MESSAGE`. Keys lwsws does
//!   not know are warnings, not errors.
//!
//! Files: `source` (finding/reading files, locations), `json` (the LEJP
//! dialect: JSON plus `#` comments; a small parser of our own, see its
//! doc), `value` (lws value conversions), `global`, `vhost`, `mount` (one
//! mapping per section), `checks` (host checks), `diag` (diagnostics).

pub mod model;
pub use model::*;

mod checks;
mod diag;
mod global;
mod json;
mod mount;
mod source;
mod value;
mod vhost;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;

pub use checks::host_checks;
pub use diag::{count_errors, Diagnostic, Severity};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use diag::Report;
use json::{Node, Value};
use source::{Source, SourceFile};
use value::Cx;

/// How to load.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Replaces `_lws_ddir_` in vhost strings (lwsws: `LWS_INSTALL_DATADIR`).
    pub data_dir: PathBuf,
}

impl Default for LoadOptions {
    /// lwsws's default install data dir, `/usr/local/share`.
    fn default() -> Self {
        LoadOptions {
            data_dir: PathBuf::from("/usr/local/share"),
        }
    }
}

/// A configuration that loaded, and the warnings found on the way.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The resolved configuration.
    pub config: Config,
    /// Warnings (no errors), in file order.
    pub warnings: Vec<Diagnostic>,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `<dir>/conf` could not be read.
    #[error("cannot open {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// At least one error; `problems` holds errors and warnings, in file order.
    #[error("{} error(s) in the configuration", count_errors(problems))]
    Invalid { problems: Vec<Diagnostic> },
}

/// Loads `<dir>/conf` and `<dir>/conf.d/*`.
pub fn load(dir: &Path, opts: &LoadOptions) -> Result<Loaded, Error> {
    let contents = source::read_config_dir(dir)?;
    let mut report = Report::default();
    // Problems with conf.d itself sort before its first file.
    for w in contents.warnings {
        report.push(1, 0, w);
    }
    load_sources(contents.sources, report, opts)
}

/// Parses texts as if they were these files (name, text), in this order;
/// for tests and fuzzing. No filesystem access.
pub fn load_texts(files: &[(&str, &str)], opts: &LoadOptions) -> Result<Loaded, Error> {
    let sources = files
        .iter()
        .map(|(name, text)| Source {
            path: PathBuf::from(name),
            content: Ok(text.as_bytes().to_vec()),
        })
        .collect();
    load_sources(sources, Report::default(), opts)
}

/// Decodes and parses every source, then runs the two passes.
fn load_sources(
    sources: Vec<Source>,
    mut report: Report,
    opts: &LoadOptions,
) -> Result<Loaded, Error> {
    let files: Vec<PathBuf> = sources.iter().map(|s| s.path.clone()).collect();
    let mut parsed: Vec<(SourceFile, Vec<json::Member>)> = Vec::new();
    for (index, src) in sources.into_iter().enumerate() {
        if let Some(p) = parse_source(index, src, &mut report) {
            parsed.push(p);
        }
    }

    // Pass 1: globals.
    let mut global = Global::default();
    for (file, top) in &parsed {
        let mut cx = Cx {
            file,
            report: &mut report,
            ddir: None,
        };
        for m in top {
            match m.key.as_str() {
                "global" => {
                    if let Some(members) = cx.object("global", &m.value) {
                        global::apply(&mut cx, members, &mut global);
                    }
                }
                "vhosts" => {}
                other => cx.warn(
                    m.at,
                    format!(
                        "unknown top-level key \"{}\" (ignored; expected \"global\" or \"vhosts\")",
                        other.escape_debug()
                    ),
                ),
            }
        }
    }

    // Pass 2: vhosts.
    let data_dir = opts.data_dir.to_string_lossy();
    let mut vhosts = Vec::new();
    let mut vhost_objects = 0usize;
    for (file, top) in &parsed {
        let mut cx = Cx {
            file,
            report: &mut report,
            ddir: Some(&data_dir),
        };
        for m in top.iter().filter(|m| m.key == "vhosts") {
            let Some(items) = cx.array("vhosts", &m.value) else {
                continue;
            };
            for item in items {
                match &item.value {
                    Value::Object(members) => {
                        vhost_objects += 1;
                        vhosts.push(vhost::read(&mut cx, item, members));
                    }
                    other => cx.error(
                        item.at,
                        format!(
                            "\"vhosts\": expected an array of vhost objects, found {} in it",
                            other.kind()
                        ),
                    ),
                }
            }
        }
    }
    if vhost_objects == 0 {
        report.push_last(Diagnostic::error(None, "need at least one vhost"));
    }

    let failed = report.has_errors();
    let problems = report.into_sorted();
    if failed {
        return Err(Error::Invalid { problems });
    }
    Ok(Loaded {
        config: Config {
            global,
            vhosts,
            files,
        },
        warnings: problems,
    })
}

/// Decodes one file and parses it; `None` (with the problem reported) if it
/// cannot be read, is not UTF-8, has a syntax error or is empty.
fn parse_source(
    index: usize,
    src: Source,
    report: &mut Report,
) -> Option<(SourceFile, Vec<json::Member>)> {
    let path: Arc<Path> = Arc::from(src.path.as_path());
    let bytes = match src.content {
        Ok(b) => b,
        Err(e) => {
            let msg = format!("cannot open {}: {e}", path.display());
            report.push(index, 0, Diagnostic::error(None, msg));
            return None;
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bad = e.as_bytes().get(valid).copied().unwrap_or(0);
            let prefix = String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned();
            let file = SourceFile::new(path, index, prefix);
            let msg = format!("the file is not valid UTF-8 (byte 0x{bad:02X})");
            report.push(
                index,
                valid,
                Diagnostic::error(Some(file.location(valid)), msg),
            );
            return None;
        }
    };
    let file = SourceFile::new(path, index, text);
    match json::parse(&file.text) {
        Ok(Some(Node {
            value: Value::Object(members),
            ..
        })) => Some((file, members)),
        Ok(Some(_)) => None, // parse() only returns objects
        Ok(None) => {
            let d = Diagnostic::warning(Some(file.location(0)), "the file is empty (ignored)");
            report.push(index, 0, d);
            None
        }
        Err(e) => {
            let d = Diagnostic::error(Some(file.location(e.at)), e.message);
            report.push(index, e.at, d);
            None
        }
    }
}

/// Parses raw bytes as files (for the fuzz tests: not necessarily UTF-8).
#[cfg(test)]
fn load_bytes(files: &[(&str, &[u8])], opts: &LoadOptions) -> Result<Loaded, Error> {
    let sources = files
        .iter()
        .map(|(name, bytes)| Source {
            path: PathBuf::from(name),
            content: Ok(bytes.to_vec()),
        })
        .collect();
    load_sources(sources, Report::default(), opts)
}
