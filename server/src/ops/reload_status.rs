//! The last reload's outcome, where an operator can see it: systemd's
//! `STATUS=` line (`systemctl status lwsws`) and `lws-server-status`'s JSON
//! (its page shows it). A refused reload keeps the running configuration
//! and logs its problems; this makes the refusal visible without reading
//! the log.

use std::sync::Mutex;

use serde_json::{json, Value};

/// How many problems the one-line `STATUS=` names before "(N more)".
const STATUS_PROBLEMS: usize = 3;

/// What one reload came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// When it ended (RFC 3339, UTC, seconds).
    pub at: String,
    /// Whether the new configuration was taken.
    pub ok: bool,
    /// One line: what is served now, or why the reload was refused.
    pub summary: String,
    /// For a refusal, each problem (`file:line:col: error: ...` where the
    /// configuration was at fault).
    pub problems: Vec<String>,
}

impl Outcome {
    /// A reload that took the new configuration.
    pub fn taken(summary: impl Into<String>) -> Outcome {
        Outcome {
            at: now(),
            ok: true,
            summary: summary.into(),
            problems: Vec::new(),
        }
    }

    /// A reload that was refused for `problems`.
    pub fn refused(summary: impl Into<String>, problems: Vec<String>) -> Outcome {
        Outcome {
            at: now(),
            ok: false,
            summary: summary.into(),
            problems,
        }
    }

    /// The `STATUS=` text: one line.
    pub fn status_line(&self) -> String {
        let line = if self.ok {
            format!("reloaded {}: {}", self.at, self.summary)
        } else {
            let mut s = format!(
                "reload refused {}, the previous configuration stays: {}",
                self.at, self.summary
            );
            for p in self.problems.iter().take(STATUS_PROBLEMS) {
                s.push_str("; ");
                s.push_str(p);
            }
            if self.problems.len() > STATUS_PROBLEMS {
                s.push_str(&format!(
                    "; ({} more)",
                    self.problems.len() - STATUS_PROBLEMS
                ));
            }
            s
        };
        line.replace(['\n', '\r'], " ")
    }

    fn to_json(&self) -> Value {
        json!({
            "at": self.at,
            "ok": self.ok,
            "summary": self.summary,
            "problems": self.problems,
        })
    }
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The reloads so far: counts and the last outcome.
#[derive(Debug, Default)]
struct Record {
    taken: u64,
    refused: u64,
    last: Option<Outcome>,
}

static RECORD: Mutex<Record> = Mutex::new(Record {
    taken: 0,
    refused: 0,
    last: None,
});

fn record_lock() -> std::sync::MutexGuard<'static, Record> {
    RECORD.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records a reload's outcome.
pub fn record(outcome: Outcome) {
    let mut r = record_lock();
    if outcome.ok {
        r.taken += 1;
    } else {
        r.refused += 1;
    }
    r.last = Some(outcome);
}

/// The last reload's outcome, if there was a reload.
pub fn last() -> Option<Outcome> {
    record_lock().last.clone()
}

/// For `lws-server-status`: `{"taken", "refused", "last": {...} | null}`.
pub fn json() -> Value {
    let r = record_lock();
    json!({
        "taken": r.taken,
        "refused": r.refused,
        "last": r.last.as_ref().map(Outcome::to_json),
    })
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn a_refusal_names_its_first_problems_on_one_line() {
        let problems: Vec<String> = (1..=5)
            .map(|i| format!("conf.d/v:{i}:3: error: bad\nthing"))
            .collect();
        let o = Outcome::refused("5 problem(s) in the new configuration", problems);
        let line = o.status_line();
        assert!(!line.contains('\n'), "{line}");
        assert!(
            line.starts_with("reload refused ")
                && line.contains("the previous configuration stays"),
            "{line}"
        );
        assert!(line.contains("conf.d/v:3:3: error: bad thing"), "{line}");
        assert!(!line.contains("conf.d/v:4:3"), "{line}");
        assert!(line.ends_with("; (2 more)"), "{line}");
        let ok = Outcome::taken("serving 2 vhost(s)");
        assert!(ok.status_line().starts_with("reloaded "));
        assert!(ok.status_line().ends_with(": serving 2 vhost(s)"));
    }
}
