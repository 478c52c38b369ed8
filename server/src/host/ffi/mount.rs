//! What `lws_find_mount` returns: one `struct lws_http_mount` per mount of
//! a vhost, built from its configuration and owned by the vhost's handle,
//! so every pointer in it stays valid as long as the site lives. Its
//! `cgienv` list holds the mount's `pmo` options (then its `cgi-env`), as
//! lws v5 keeps them, for `lws_pmo_search` / `lws_pmo_get_str`.

use std::ffi::{c_char, CString};

use comlink_plugin_api::abi::{
    LwsHttpMount, LWSMPRO_CALLBACK, LWSMPRO_CGI, LWSMPRO_FILE, LWSMPRO_HTTP, LWSMPRO_HTTPS,
    LWSMPRO_NO_MOUNT, LWSMPRO_REDIR_HTTP, LWSMPRO_REDIR_HTTPS,
};

use crate::config::{Mount, Origin, Pvo};
use crate::host::ffi::pvo::PvoList;

/// The mounts of one vhost, as C structs.
#[derive(Debug)]
pub struct MountTable {
    // Boxed so each struct keeps its address (plugins hold them).
    #[allow(clippy::vec_box)]
    mounts: Vec<Box<LwsHttpMount>>,
    points: Vec<(String, bool)>,
    _lists: Vec<PvoList>,
    _strings: Vec<CString>,
}

// SAFETY: built once and never written afterwards; the raw pointers point
// only into the table's own boxes, lists and strings.
unsafe impl Send for MountTable {}
// SAFETY: read-only after construction, see above.
unsafe impl Sync for MountTable {}

fn pvos(pairs: &[(String, String)]) -> Vec<Pvo> {
    pairs
        .iter()
        .map(|(k, v)| Pvo {
            name: k.clone(),
            value: v.clone(),
            options: Vec::new(),
        })
        .collect()
}

impl MountTable {
    /// The table of `mounts`, in configuration order.
    pub fn new(mounts: &[Mount]) -> MountTable {
        let mut t = MountTable {
            mounts: Vec::new(),
            points: Vec::new(),
            _lists: Vec::new(),
            _strings: Vec::new(),
        };
        for m in mounts {
            let (proto, origin) = match &m.origin {
                Origin::Http(u) => (LWSMPRO_HTTP, u.clone()),
                Origin::Https(u) => (LWSMPRO_HTTPS, u.clone()),
                Origin::File(p) => (LWSMPRO_FILE, p.display().to_string()),
                Origin::Cgi(p) => (LWSMPRO_CGI, p.display().to_string()),
                Origin::RedirectHttp(u) => (LWSMPRO_REDIR_HTTP, u.clone()),
                Origin::RedirectHttps(u) => (LWSMPRO_REDIR_HTTPS, u.clone()),
                Origin::Callback(p) => (LWSMPRO_CALLBACK, p.clone()),
                Origin::Gzip(u) => (LWSMPRO_NO_MOUNT, u.clone()),
            };
            let mut env = m.pmo.clone();
            env.extend(m.cgi_env.iter().cloned());
            let cgienv = t.list(&env);
            let extra_mimetypes = t.list(&m.extra_mimetypes);
            let interpret = t.list(&m.interpret);
            let headers = t.list(&m.headers);
            let flags = u8::from(m.cache_reuse)
                | u8::from(m.cache_revalidate) << 1
                | u8::from(m.cache_intermediaries) << 2
                | u8::from(m.cache_no) << 3
                | u8::from(m.exact_match) << 4
                | u8::from(m.append_path) << 5
                | u8::from(m.no_ws_upgrades) << 6;
            let c = LwsHttpMount {
                mount_next: std::ptr::null(),
                mountpoint: t.string(&m.mountpoint),
                origin: t.string(&origin),
                def: t.opt(m.default.as_deref()),
                protocol: t.opt(m.protocol.as_deref()),
                cgienv,
                extra_mimetypes,
                interpret,
                cgi_timeout: i32::try_from(m.cgi_timeout).unwrap_or(i32::MAX),
                cache_max_age: i32::try_from(m.cache_max_age).unwrap_or(i32::MAX),
                auth_mask: m.auth_mask,
                flags,
                origin_protocol: proto,
                mountpoint_len: u8::try_from(m.mountpoint.len()).unwrap_or(u8::MAX),
                _pad: 0,
                basic_auth_login_file: t.opt(
                    m.basic_auth
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .as_deref(),
                ),
                cgi_chroot_path: t.opt(
                    m.cgi_chroot
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .as_deref(),
                ),
                cgi_wd: t.opt(
                    m.cgi_chdir
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .as_deref(),
                ),
                headers,
                keepalive_timeout: m.keepalive_timeout,
                interceptor_path: t.opt(m.interceptor_path.as_deref()),
                max_http_body_size: 0,
            };
            t.mounts.push(Box::new(c));
            t.points.push((m.mountpoint.clone(), m.exact_match));
        }
        t
    }

    fn string(&mut self, s: &str) -> *const c_char {
        let c = CString::new(s.replace('\0', "")).unwrap_or_default();
        let p = c.as_ptr();
        self._strings.push(c);
        p
    }

    fn opt(&mut self, s: Option<&str>) -> *const c_char {
        s.map_or(std::ptr::null(), |s| self.string(s))
    }

    fn list(
        &mut self,
        pairs: &[(String, String)],
    ) -> *const comlink_plugin_api::abi::LwsProtocolVhostOptions {
        if pairs.is_empty() {
            return std::ptr::null();
        }
        let l = PvoList::new(&pvos(pairs));
        let head = l.head();
        self._lists.push(l);
        head
    }

    /// The mount serving `uri`: lws's rule, the longest mountpoint that is
    /// the whole of `uri` or a prefix of it ending at a `/` (an
    /// `exact-match` mount only for the whole).
    pub fn find(&self, uri: &[u8]) -> Option<*const LwsHttpMount> {
        best(&self.points, uri).map(|i| &*self.mounts[i] as *const LwsHttpMount)
    }

    /// Whether `p` is one of this table's mounts.
    pub fn owns(&self, p: *const LwsHttpMount) -> bool {
        self.mounts.iter().any(|m| std::ptr::eq(&**m, p))
    }
}

/// Index of the mountpoint of `points` serving `uri`.
fn best(points: &[(String, bool)], uri: &[u8]) -> Option<usize> {
    let mut found: Option<(usize, usize)> = None;
    for (i, (mp, exact)) in points.iter().enumerate() {
        let mp = mp.as_bytes();
        let fits = uri == mp
            || (!exact
                && uri.starts_with(mp)
                && (mp.ends_with(b"/") || uri.get(mp.len()) == Some(&b'/')));
        if fits && found.is_none_or(|(_, len)| mp.len() > len) {
            found = Some((i, mp.len()));
        }
    }
    found.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::best;

    #[test]
    fn the_longest_mountpoint_on_a_segment_boundary_wins() {
        let p = |v: &[(&str, bool)]| -> Vec<(String, bool)> {
            v.iter().map(|(s, e)| (s.to_string(), *e)).collect()
        };
        let pts = p(&[("/", false), ("/a", false), ("/a/b", false), ("/x", true)]);
        assert_eq!(best(&pts, b"/a/b/c"), Some(2));
        assert_eq!(best(&pts, b"/a/bc"), Some(1));
        assert_eq!(best(&pts, b"/ab"), Some(0));
        assert_eq!(best(&pts, b"/x"), Some(3));
        assert_eq!(best(&pts, b"/x/y"), Some(0));
        assert_eq!(best(&p(&[("/a", false)]), b"/b"), None);
    }
}
