//! Logging: the non-variadic end of the header's `lwsl_*` macros.

use std::ffi::{c_char, c_int};

use comlink_plugin_api::abi::{LLL_DEBUG, LLL_ERR, LLL_INFO, LLL_NOTICE, LLL_USER, LLL_WARN};

use crate::host::ffi::boundary::{export, text};

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

export! {
    /// `lwsl_visible`: whether a log line of `level` would be printed.
    fn lwsl_visible(level: c_int) -> c_int {
        let on = match level_of(level) {
            tracing::Level::ERROR => tracing::enabled!(tracing::Level::ERROR),
            tracing::Level::WARN => tracing::enabled!(tracing::Level::WARN),
            tracing::Level::INFO => tracing::enabled!(tracing::Level::INFO),
            tracing::Level::DEBUG => tracing::enabled!(tracing::Level::DEBUG),
            tracing::Level::TRACE => tracing::enabled!(tracing::Level::TRACE),
        };
        Ok(c_int::from(on))
    } ?= 0
}

export! {
    /// The non-variadic end of the header's `_lws_log` (which formats the line).
    fn comlink_log_line(level: c_int, line: *const c_char) {
        // SAFETY: the header's `_lws_log` passes its NUL-terminated buffer.
        let text = unsafe { text(line) };
        let text = text.trim_end();
        match level_of(level) {
            tracing::Level::ERROR => tracing::error!(target: "plugin", "{text}"),
            tracing::Level::WARN => tracing::warn!(target: "plugin", "{text}"),
            tracing::Level::INFO => tracing::info!(target: "plugin", "{text}"),
            tracing::Level::DEBUG => tracing::debug!(target: "plugin", "{text}"),
            tracing::Level::TRACE => tracing::trace!(target: "plugin", "{text}"),
        }
        Ok(())
    }
}
