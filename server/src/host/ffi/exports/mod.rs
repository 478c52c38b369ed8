//! The lws functions plugins call, exported by name from the `lwsws`
//! executable (it is linked with `-rdynamic`), so a plugin built against
//! `plugin-api/include/libwebsockets.h` resolves them when it is loaded.
//!
//! Every entry point is defined with [`export!`](super::boundary::export):
//! it checks its pointers with the helpers of [`boundary`](super::boundary)
//! (a `struct lws *` must be live on the calling service thread, a `struct
//! lws_vhost *` must belong to a live site, a ring or form parser must be
//! one we made), then calls safe code. A bad pointer is logged and the call
//! fails the way lws fails it (-1, NULL or nothing); so does a panic, which
//! never unwinds into C.

mod adopt;
mod client;
mod context;
mod dir;
mod dll2;
mod http;
mod log;
mod lwsac;
mod misc;
mod mount;
mod peer;
mod request;
mod ring;
mod spa;
mod threadpool;
mod timing;
mod tokenize;
mod uv;
mod write;
