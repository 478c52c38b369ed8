//! Per-vhost options (pvo) as the C linked list lws hands plugins
//! (`struct lws_protocol_vhost_options`), built from the config and owned
//! here so every pointer in it stays valid as long as the list lives.

use std::ffi::CString;

use comlink_plugin_api::abi::LwsProtocolVhostOptions;

use crate::config::Pvo;

/// An owned pvo list. Nodes are boxed, so their addresses never move.
#[derive(Debug)]
pub struct PvoList {
    // Boxed on purpose: `next`/`options` point at nodes while the Vec grows.
    #[allow(clippy::vec_box)]
    nodes: Vec<Box<LwsProtocolVhostOptions>>,
    _strings: Vec<CString>,
    head: *const LwsProtocolVhostOptions,
    /// The top-level names, for [`PvoList::has`].
    names: Vec<String>,
}

// SAFETY: the list is built once and never written afterwards; the raw
// pointers only point into `nodes` and `_strings`, owned by the list.
unsafe impl Send for PvoList {}
// SAFETY: read-only after construction, see above.
unsafe impl Sync for PvoList {}

impl PvoList {
    /// Builds the list, in reverse file order as lws does (it prepends).
    pub fn new(options: &[Pvo]) -> PvoList {
        let mut list = PvoList {
            nodes: Vec::new(),
            _strings: Vec::new(),
            head: std::ptr::null(),
            names: options.iter().map(|o| o.name.clone()).collect(),
        };
        list.head = list.build(options);
        list
    }

    fn cstring(&mut self, s: &str) -> *const std::ffi::c_char {
        let c = CString::new(s.replace('\0', "")).unwrap_or_default();
        let p = c.as_ptr();
        self._strings.push(c);
        p
    }

    fn build(&mut self, options: &[Pvo]) -> *const LwsProtocolVhostOptions {
        let mut head: *const LwsProtocolVhostOptions = std::ptr::null();
        for o in options {
            let children = self.build(&o.options);
            let node = Box::new(LwsProtocolVhostOptions {
                next: head,
                options: children,
                name: self.cstring(&o.name),
                value: self.cstring(&o.value),
            });
            head = &*node as *const LwsProtocolVhostOptions;
            self.nodes.push(node);
        }
        head
    }

    /// The first node (null for an empty list): what PROTOCOL_INIT gets as `in`.
    pub fn head(&self) -> *const LwsProtocolVhostOptions {
        self.head
    }

    /// Whether the list has a node called `name` (top level).
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }
}
