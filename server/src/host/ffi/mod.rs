//! Every `unsafe` operation of the server lives below this module: opening
//! plugin libraries and reading what they export ([`load`]), calling their
//! callbacks ([`call`]), and the lws functions plugins call back into
//! ([`exports`], exported from the `lwsws` executable by name).

// The entry points here are called by C plugins (which cannot see Rust's
// `unsafe`) or take addresses the host itself handed out; each one checks
// what it can (live wsi and vhost sets, null pointers) and says in a SAFETY
// comment what it has to trust. Marking them `unsafe fn` would not move any
// obligation onto their real callers.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod boundary;
pub mod call;
pub mod exports;
pub mod load;
pub mod pvo;
