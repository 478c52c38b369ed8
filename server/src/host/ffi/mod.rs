//! Every `unsafe` operation of the server lives below this module: opening
//! plugin libraries and reading what they export ([`load`]), calling their
//! callbacks and owning the memory they share with the host ([`call`],
//! [`pvo`]), the allocators' settings ([`heap`]), the read leases on
//! plugin files and moving a library into memory ([`lease`]), letting go
//! of the pages only start-up needed ([`resident`]), and the lws functions plugins call back into ([`exports`],
//! exported from the `lwsws` executable by name, each through
//! [`boundary`]'s `export!` and checks).
//!
//! Everything here that trusts a pointer it cannot check is an `unsafe fn`
//! with a `# Safety` section, or an `unsafe` block under a `// SAFETY:`
//! line naming the lws contract it relies on. What these modules give the
//! rest of the host is safe: a `&Wsi` only for a live wsi, owned plugin
//! memory, timers whose unsafe constructor took the obligation.

pub(crate) mod boundary;
pub(crate) mod call;
pub(crate) mod exports;
pub(crate) mod fd;
pub(crate) mod heap;
pub(crate) mod lease;
pub(crate) mod load;
pub(crate) mod mount;
pub(crate) mod pvo;
pub(crate) mod resident;
pub(crate) mod tasks;
pub(crate) mod uv;
