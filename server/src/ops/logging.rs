//! Server logs: the lws `-d` bitmask mapped onto `tracing` levels, to stderr.

use std::str::FromStr;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// lws log bits.
const LLL_ERR: u32 = 1;
const LLL_WARN: u32 = 2;
const LLL_NOTICE: u32 = 4;
const LLL_INFO: u32 = 8;
const LLL_DEBUG: u32 = 16;
const LLL_USER: u32 = 1024;

/// lws bits more verbose than DEBUG (PARSER, HEADER, EXT, CLIENT, LATENCY, THREAD).
const LLL_TRACE_BITS: u32 = 32 | 64 | 128 | 256 | 512 | 2048;

/// The most verbose `tracing` level the lws mask asks for. lws INFO is
/// chattier than NOTICE, so it maps to `debug`; NOTICE and USER (what lwsws
/// prints by default) map to `info`.
pub fn level_for_mask(mask: u32) -> &'static str {
    if mask & LLL_TRACE_BITS != 0 {
        "trace"
    } else if mask & (LLL_DEBUG | LLL_INFO) != 0 {
        "debug"
    } else if mask & (LLL_NOTICE | LLL_USER) != 0 {
        "info"
    } else if mask & LLL_WARN != 0 {
        "warn"
    } else if mask & LLL_ERR != 0 {
        "error"
    } else {
        "off"
    }
}

/// The filter: `RUST_LOG` when set (`level`, `target=level`, comma
/// separated: the target and level directives of `env_logger` and
/// `tracing`'s `EnvFilter`, without their span and field filters, whose
/// regex engine was a twentieth of the binary), else the mask's level. A
/// `RUST_LOG` that does not parse is said on stderr and the mask is used.
fn filter(mask: u32, rust_log: Option<&str>) -> Targets {
    let by_mask = || Targets::from_str(level_for_mask(mask)).unwrap_or_default();
    match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Targets::from_str(s).unwrap_or_else(|e| {
            eprintln!("lwsws: RUST_LOG={s:?} is not a log filter ({e}); using -d {mask}");
            by_mask()
        }),
        None => by_mask(),
    }
}

/// Installs the global subscriber. `RUST_LOG` wins over the mask when set.
/// Under systemd (`JOURNAL_STREAM` set) lines carry no timestamp: journald adds one.
pub fn init(mask: u32) {
    let filter = filter(mask, std::env::var("RUST_LOG").ok().as_deref());
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false);
    let registry = tracing_subscriber::registry();
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        registry
            .with(layer.without_time().with_filter(filter))
            .init();
    } else {
        registry.with(layer.with_filter(filter)).init();
    }
}

#[cfg(test)]
mod tests {
    use super::{filter, level_for_mask};
    use tracing::Level;

    #[test]
    fn rust_log_wins_over_the_mask_and_a_bad_one_falls_back() {
        let f = filter(1031, Some("comlink=trace,warn"));
        assert!(f.would_enable("comlink::ws", &Level::TRACE));
        assert!(!f.would_enable("hyper", &Level::INFO));
        assert!(f.would_enable("hyper", &Level::WARN));
        let f = filter(1031, Some("debug"));
        assert!(f.would_enable("anything", &Level::DEBUG));
        let f = filter(1031, Some("x=loud"));
        assert!(f.would_enable("x", &Level::INFO));
        assert!(!f.would_enable("x", &Level::DEBUG));
        let f = filter(3, None);
        assert!(f.would_enable("x", &Level::WARN));
        assert!(!f.would_enable("x", &Level::INFO));
        let f = filter(0, Some(" "));
        assert!(!f.would_enable("x", &Level::ERROR));
    }

    #[test]
    fn lws_default_mask_is_info() {
        assert_eq!(level_for_mask(1031), "info");
    }

    #[test]
    fn masks_map_to_levels() {
        assert_eq!(level_for_mask(1), "error");
        assert_eq!(level_for_mask(3), "warn");
        assert_eq!(level_for_mask(7), "info");
        assert_eq!(level_for_mask(15), "debug");
        assert_eq!(level_for_mask(31), "debug");
        assert_eq!(level_for_mask(0xfff), "trace");
        assert_eq!(level_for_mask(0), "off");
    }
}
