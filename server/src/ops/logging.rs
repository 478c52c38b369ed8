//! Server logs: the lws `-d` bitmask mapped onto `tracing` levels, to stderr.

use tracing_subscriber::EnvFilter;

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

/// Installs the global subscriber. `RUST_LOG` wins over the mask when set.
/// Under systemd (`JOURNAL_STREAM` set) lines carry no timestamp: journald adds one.
pub fn init(mask: u32) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(s) if !s.is_empty() => EnvFilter::new(s),
        _ => EnvFilter::new(level_for_mask(mask)),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.without_time().with_ansi(false).init();
    } else {
        builder.with_ansi(false).init();
    }
}

#[cfg(test)]
mod tests {
    use super::level_for_mask;

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
