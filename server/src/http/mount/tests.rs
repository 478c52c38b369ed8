use super::*;
use crate::config::Location;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) fn mount(mp: &str, origin: Origin) -> Mount {
    Mount {
        mountpoint: mp.into(),
        origin,
        default: None,
        cache_max_age: 0,
        cache_reuse: false,
        cache_revalidate: false,
        cache_intermediaries: false,
        cache_no: false,
        extra_mimetypes: vec![],
        interpret: vec![],
        cgi_env: vec![],
        cgi_timeout: 5,
        cgi_chroot: None,
        cgi_chdir: None,
        pmo: vec![],
        basic_auth: None,
        auth_mask: 0,
        headers: vec![],
        keepalive_timeout: 0,
        exact_match: false,
        append_path: false,
        no_ws_upgrades: false,
        interceptor_path: None,
        protocol: None,
        at: Location {
            file: Arc::from(Path::new("test")),
            line: 1,
            column: 1,
        },
    }
}

fn file(mp: &str) -> Mount {
    mount(mp, Origin::File(PathBuf::from("/srv")))
}

#[test]
fn longest_mountpoint_wins_whatever_the_order() {
    let ms = vec![file("/"), file("/app/sub"), file("/app")];
    assert_eq!(ms[find(&ms, "/app/sub/x").unwrap()].mountpoint, "/app/sub");
    assert_eq!(ms[find(&ms, "/app/x").unwrap()].mountpoint, "/app");
    assert_eq!(ms[find(&ms, "/apple").unwrap()].mountpoint, "/");
    assert_eq!(ms[find(&ms, "/app").unwrap()].mountpoint, "/app");
}

#[test]
fn prefix_must_end_at_a_segment() {
    let ms = vec![file("/formtest")];
    assert!(find(&ms, "/formtest2").is_none());
    assert!(find(&ms, "/formtest/x").is_some());
}

#[test]
fn exact_match_only_matches_itself_and_wins_ties() {
    let mut exact = file("/a");
    exact.exact_match = true;
    exact.default = Some("exact".into());
    let ms = vec![file("/a"), exact];
    assert_eq!(
        ms[find(&ms, "/a").unwrap()].default.as_deref(),
        Some("exact")
    );
    assert_eq!(ms[find(&ms, "/a/b").unwrap()].default, None);
}

#[test]
fn rest_strips_the_mountpoint() {
    assert_eq!(rest(&file("/"), "/x/y.html"), "x/y.html");
    assert_eq!(rest(&file("/app"), "/app"), "");
    assert_eq!(rest(&file("/app"), "/app/"), "");
    assert_eq!(rest(&file("/app/"), "/app/z"), "z");
}
