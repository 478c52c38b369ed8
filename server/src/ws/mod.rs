//! WebSockets after the HTTP request: [`upgrade`] decides an upgrade
//! (protocol choice as lws does it, the plugin's say, permessage-deflate)
//! and [`session`] runs an accepted connection: frames in, RECEIVE
//! callbacks, WRITEABLE callbacks only when the socket has drained. The
//! codecs themselves (frames, deflate, handshake) are `comlink_wire`'s.

pub(crate) mod session;
pub(crate) mod upgrade;
