//! Mounts: which part of the URL space goes where (one module per origin kind).

pub(crate) mod callback;
pub(crate) mod cgi;
pub(crate) mod file;
pub(crate) mod redirect;

use crate::config::{Mount, Origin};

/// Finds the mount for a (decoded) URL path, as lws does: a mount matches
/// when the path starts with its mountpoint and the next character is the
/// end or `/` (mountpoint `/` matches everything); `exact-match` mounts match
/// only their own path. The longest mountpoint wins; on a tie an exact-match
/// mount wins.
pub(crate) fn find<'a, I>(mounts: I, path: &str) -> Option<usize>
where
    I: IntoIterator<Item = &'a Mount>,
{
    let mut best: Option<(usize, &Mount)> = None;
    for (i, m) in mounts.into_iter().enumerate() {
        if matches!(m.origin, Origin::Gzip(_)) {
            continue;
        }
        if !matches_path(m, path) {
            continue;
        }
        best = match best {
            None => Some((i, m)),
            Some((bi, b)) => {
                let (bl, ml) = (trimmed(&b.mountpoint).len(), trimmed(&m.mountpoint).len());
                if ml > bl || (ml == bl && m.exact_match && !b.exact_match) {
                    Some((i, m))
                } else {
                    Some((bi, b))
                }
            }
        };
    }
    best.map(|(i, _)| i)
}

/// The mountpoint without a trailing `/` (except for `/` itself).
pub(crate) fn trimmed(mountpoint: &str) -> &str {
    if mountpoint.len() > 1 {
        mountpoint.trim_end_matches('/')
    } else {
        mountpoint
    }
}

fn matches_path(m: &Mount, path: &str) -> bool {
    let mp = trimmed(&m.mountpoint);
    if m.exact_match {
        return path == mp || path == m.mountpoint;
    }
    if mp == "/" {
        return path.starts_with('/');
    }
    match path.strip_prefix(mp) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// The part of `path` after the mountpoint (`""` for the bare mountpoint).
pub(crate) fn rest<'p>(m: &Mount, path: &'p str) -> &'p str {
    let mp = trimmed(&m.mountpoint);
    if mp == "/" {
        return path.strip_prefix('/').unwrap_or(path);
    }
    path.strip_prefix(mp).unwrap_or("").trim_start_matches('/')
}

#[cfg(test)]
mod tests;
