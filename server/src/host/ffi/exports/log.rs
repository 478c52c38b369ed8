//! Logging: the non-variadic end of the header's `lwsl_*` macros.

use super::*;

fn level_of(filter: c_int) -> tracing::Level {
    let f = filter as u32;
    if f & LLL_ERR as u32 != 0 {
        tracing::Level::ERROR
    } else if f & LLL_WARN as u32 != 0 {
        tracing::Level::WARN
    } else if f & (LLL_NOTICE as u32 | LLL_USER as u32) != 0 {
        tracing::Level::INFO
    } else if f & (LLL_INFO as u32 | LLL_DEBUG as u32) != 0 {
        tracing::Level::DEBUG
    } else {
        tracing::Level::TRACE
    }
}

/// `lwsl_visible`: whether a log line of `level` would be printed.
#[no_mangle]
pub extern "C" fn lwsl_visible(level: c_int) -> c_int {
    let on = match level_of(level) {
        tracing::Level::ERROR => tracing::enabled!(tracing::Level::ERROR),
        tracing::Level::WARN => tracing::enabled!(tracing::Level::WARN),
        tracing::Level::INFO => tracing::enabled!(tracing::Level::INFO),
        tracing::Level::DEBUG => tracing::enabled!(tracing::Level::DEBUG),
        tracing::Level::TRACE => tracing::enabled!(tracing::Level::TRACE),
    };
    c_int::from(on)
}

/// The non-variadic end of the header's `_lws_log` (which formats the line).
#[no_mangle]
pub extern "C" fn comlink_log_line(level: c_int, line: *const c_char) {
    guard("comlink_log_line", (), || {
        let text = cstr_lossy(line);
        let text = text.trim_end();
        match level_of(level) {
            tracing::Level::ERROR => tracing::error!(target: "plugin", "{text}"),
            tracing::Level::WARN => tracing::warn!(target: "plugin", "{text}"),
            tracing::Level::INFO => tracing::info!(target: "plugin", "{text}"),
            tracing::Level::DEBUG => tracing::debug!(target: "plugin", "{text}"),
            tracing::Level::TRACE => tracing::trace!(target: "plugin", "{text}"),
        }
    })
}
