//! The plugin boundary of Comlink.
//!
//! Comlink loads protocol plugins written for libwebsockets' `lwsws`. A
//! plugin is a shared object (`libprotocol_<name>.so`) that talks to the host
//! only through a C ABI with lws's names. This crate holds both sides of that
//! contract:
//!
//! * `include/libwebsockets.h` (plus `include/libwebsockets/*.h`): the header
//!   C plugins compile against, unchanged from their lws sources. It declares
//!   the functions the host exports (`lws_write`, `lws_callback_on_writable`,
//!   ...), the structs plugins fill (`struct lws_protocols`,
//!   `lws_plugin_protocol_t`, ...) and the numbers (callback reasons, write
//!   types, close codes, header tokens).
//! * [`abi`]: the same boundary in Rust, data only: `#[repr(C)]` mirrors of
//!   the structs, the constants under their C names, and [`abi::Reason`], the
//!   one table that turns a C callback reason into a Rust name.
//!
//! `tests/header.rs` compiles the header with the system C compiler and checks
//! every struct size, field offset and constant against [`abi`], so the two
//! cannot drift apart.
//!
//! # ABI rules
//!
//! * Both plugin shapes load: the old `init_protocol_<name>()` /
//!   `destroy_protocol_<name>()` functions (the host passes
//!   [`abi::LWS_PLUGIN_API_MAGIC`], 180) and the v4.1+ exported
//!   `lws_plugin_protocol_t` (any magic in [`abi::ACCEPTED_STRUCT_MAGICS`]).
//! * Structs only grow at the end; the host checks the magic before reading
//!   anything else.
//! * Variadic lws functions (logging, `lws_open`) are `static inline` in the
//!   header, because stable Rust cannot define C variadic functions; logging
//!   reaches the host as finished lines through `comlink_log_line()`.
//!   `lws_snprintf` is a host function defined in C by the server.
//! * lws v5 plugins: defining `COMLINK_LWS_V5` before including the header
//!   builds the exported struct as lws v5 does (magic 192, `priority`).
//!
//! # What of the lws API is there
//!
//! Every function and callback reason of the lws v4.3 / v5 API a plugin may
//! use, marked supported, partly or no: [`coverage`]
//! (`docs/coverage.md`, generated from `docs/coverage.tsv` and checked
//! against the header and the `lwsws` binary by `scripts/coverage`).
//!
//! # Reloads
//!
//! What a reload (SIGHUP, a `conf.d` edit, a replaced plugin file) does to a
//! plugin, and what one holding an exclusive resource must do: [`reload`].
//!
//! # Versioning
//!
//! Adding a host function or a constant is compatible. Changing a value, a
//! struct layout or a function signature breaks every built plugin and needs
//! a new plugin API magic.

#![deny(unsafe_code)]

pub mod abi;
#[allow(unsafe_code)]
pub mod export;
#[allow(unsafe_code)]
pub mod form;
pub mod protocol;
#[allow(unsafe_code)]
pub mod sys;
pub mod threads;

#[doc = include_str!("../docs/reload.md")]
pub mod reload {}

#[doc = include_str!("../docs/coverage.md")]
pub mod coverage {}

pub use protocol::{Action, Connection, Options, Protocol, Vhost};
