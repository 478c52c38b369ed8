//! One `mounts[]` object of a vhost (contract §2).
//!
//! `mountpoint` and `origin` are required. The origin's prefix selects the
//! [`Origin`]: `http://`, `https://` (reverse proxy; the variant holds the
//! whole URL, prefix included), `file://` and `cgi://` (the path after the
//! prefix), `>http://`, `>https://` (redirect; the URL without the `>`),
//! `callback://` (the protocol name), `gzip://` (the rest; behaves as no
//! mount). Any other prefix is an error, as in lwsws. As in lwsws, when a
//! mount names `origin` twice the first one is used (with a warning).

use std::path::PathBuf;

use super::json::{Member, Node};
use super::model::{Mount, Origin};
use super::value::{set, set_some, Cx};
use super::vhost::header_pairs;

/// Reads one mount object; `None` when it cannot be used (problems are
/// already reported).
pub(crate) fn read(cx: &mut Cx<'_>, node: &Node, members: &[Member]) -> Option<Mount> {
    let mut mountpoint: Option<String> = None;
    let mut origin: Option<(String, usize)> = None;
    let mut m = Mount {
        mountpoint: String::new(),
        origin: Origin::Gzip(String::new()),
        default: None,
        cache_max_age: 0,
        cache_reuse: false,
        cache_revalidate: false,
        cache_intermediaries: false,
        cache_no: false,
        extra_mimetypes: Vec::new(),
        interpret: Vec::new(),
        cgi_env: Vec::new(),
        cgi_timeout: 5,
        cgi_chroot: None,
        cgi_chdir: None,
        pmo: Vec::new(),
        basic_auth: None,
        auth_mask: 0,
        headers: Vec::new(),
        keepalive_timeout: 0,
        exact_match: false,
        append_path: false,
        no_ws_upgrades: false,
        interceptor_path: None,
        protocol: None,
        at: cx.loc(node.at),
    };

    for member in members {
        let (key, v) = (member.key.as_str(), &member.value);
        match key {
            "mountpoint" => set_some(&mut mountpoint, cx.text(key, v)),
            "origin" => {
                if let Some(text) = cx.text(key, v) {
                    if origin.is_some() {
                        cx.warn(
                            member.at,
                            "\"origin\" given twice in one mount; the first one is used (as lwsws does)",
                        );
                    } else {
                        origin = Some((text, v.at));
                    }
                }
            }
            "protocol" => set_some(&mut m.protocol, cx.text(key, v)),
            "default" => set_some(&mut m.default, cx.text(key, v)),
            "cache-max-age" => set(&mut m.cache_max_age, cx.u32(key, v)),
            "cache-reuse" => set(&mut m.cache_reuse, cx.bool(key, v)),
            "cache-revalidate" => set(&mut m.cache_revalidate, cx.bool(key, v)),
            "cache-intermediaries" => set(&mut m.cache_intermediaries, cx.bool(key, v)),
            "cache-no" => set(&mut m.cache_no, cx.bool(key, v)),
            "extra-mimetypes" => {
                let pairs = cx.map(key, v);
                m.extra_mimetypes.extend(pairs);
            }
            "interpret" => {
                let pairs = cx.map(key, v);
                m.interpret.extend(pairs);
            }
            "cgi-env" => {
                let pairs = cx.pairs(key, v);
                m.cgi_env.extend(pairs);
            }
            "cgi-timeout" => set(&mut m.cgi_timeout, cx.u32(key, v)),
            "cgi-chroot" => set_some(&mut m.cgi_chroot, cx.path(key, v)),
            "cgi-chdir" => set_some(&mut m.cgi_chdir, cx.path(key, v)),
            "pmo" => {
                let pairs = cx.pairs(key, v);
                m.pmo.extend(pairs);
            }
            "basic-auth" => set_some(&mut m.basic_auth, cx.path(key, v)),
            "auth-mask" => set(&mut m.auth_mask, cx.u32(key, v)),
            "headers" => {
                let pairs = header_pairs(cx, key, v);
                m.headers.extend(pairs);
            }
            "keepalive-timeout" => set(&mut m.keepalive_timeout, cx.u32(key, v)),
            "keepalive_timeout" => {
                cx.warn(
                    member.at,
                    "mounts spell it \"keepalive-timeout\" (with a hyphen); accepted",
                );
                set(&mut m.keepalive_timeout, cx.u32(key, v));
            }
            "exact-match" => set(&mut m.exact_match, cx.bool(key, v)),
            "append-path" => set(&mut m.append_path, cx.bool(key, v)),
            "no-ws-upgrades" => set(&mut m.no_ws_upgrades, cx.bool(key, v)),
            "interceptor-path" => set_some(&mut m.interceptor_path, cx.text(key, v)),
            _ => cx.unknown_key("mount", member),
        }
    }

    let (mountpoint, (origin, origin_at)) = match (mountpoint, origin) {
        (Some(mp), Some(o)) => (mp, o),
        (None, None) => {
            cx.error(node.at, "mount: \"mountpoint\" and \"origin\" required");
            return None;
        }
        (None, Some(_)) => {
            cx.error(node.at, "mount: \"mountpoint\" required");
            return None;
        }
        (Some(mp), None) => {
            cx.error(
                node.at,
                format!("mount \"{}\": \"origin\" required", mp.escape_debug()),
            );
            return None;
        }
    };
    if !mountpoint.starts_with('/') {
        cx.warn(
            node.at,
            format!(
                "mount \"{}\": a mountpoint should start with '/' (URL paths always do)",
                mountpoint.escape_debug()
            ),
        );
    }
    match parse_origin(&origin) {
        Ok(o) => m.origin = o,
        Err(message) => {
            cx.error(origin_at, message);
            return None;
        }
    }
    m.mountpoint = mountpoint;
    Some(m)
}

/// Splits an origin into its kind (see the module doc for what each
/// variant holds).
pub(crate) fn parse_origin(origin: &str) -> Result<Origin, String> {
    let rest = |prefix: &str| origin.strip_prefix(prefix);
    let o = if origin.starts_with("http://") {
        Origin::Http(origin.to_string())
    } else if origin.starts_with("https://") {
        Origin::Https(origin.to_string())
    } else if let Some(dir) = rest("file://") {
        if dir.is_empty() {
            return Err("file:// origin needs a directory".into());
        }
        Origin::File(PathBuf::from(dir))
    } else if let Some(script) = rest("cgi://") {
        if script.is_empty() {
            return Err("cgi:// origin needs a program".into());
        }
        Origin::Cgi(PathBuf::from(script))
    } else if let Some(url) = origin
        .strip_prefix('>')
        .filter(|u| u.starts_with("http://"))
    {
        Origin::RedirectHttp(url.to_string())
    } else if let Some(url) = origin
        .strip_prefix('>')
        .filter(|u| u.starts_with("https://"))
    {
        Origin::RedirectHttps(url.to_string())
    } else if let Some(protocol) = rest("callback://") {
        if protocol.is_empty() {
            return Err("callback:// origin needs a protocol name".into());
        }
        Origin::Callback(protocol.to_string())
    } else if let Some(r) = rest("gzip://") {
        Origin::Gzip(r.to_string())
    } else {
        return Err(format!(
            "unsupported protocol:// in origin \"{}\" (expected http://, https://, file://, \
             cgi://, >http://, >https://, callback:// or gzip://)",
            origin.escape_debug()
        ));
    };
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let ok = |s: &str| parse_origin(s).unwrap();
        assert_eq!(ok("http://h:80/x"), Origin::Http("http://h:80/x".into()));
        assert_eq!(ok("https://h/x"), Origin::Https("https://h/x".into()));
        assert_eq!(ok("file:///srv/www"), Origin::File("/srv/www".into()));
        assert_eq!(
            ok("cgi:///usr/bin/x.sh"),
            Origin::Cgi("/usr/bin/x.sh".into())
        );
        assert_eq!(ok(">http://a/b"), Origin::RedirectHttp("http://a/b".into()));
        assert_eq!(
            ok(">https://a/b"),
            Origin::RedirectHttps("https://a/b".into())
        );
        assert_eq!(ok("callback://p-x"), Origin::Callback("p-x".into()));
        assert_eq!(ok("gzip://z"), Origin::Gzip("z".into()));
        for bad in ["ftp://x", "^http://x", ">file://x", "", "/srv", "HTTP://x"] {
            let e = parse_origin(bad).unwrap_err();
            assert!(e.starts_with("unsupported protocol:// in origin \""), "{e}");
        }
        assert_eq!(
            parse_origin("callback://").unwrap_err(),
            "callback:// origin needs a protocol name"
        );
        assert!(parse_origin("file://").is_err());
        assert!(parse_origin("cgi://").is_err());
    }
}
