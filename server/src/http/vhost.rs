//! Choosing the vhost for a request, as lws does: exact name match on the
//! socket's vhosts, then a `*.name` suffix match, else the socket's first.

use crate::http::site::Site;

/// The host a request names: the authority of an absolute-form target, else
/// `Host:`; port and trailing dot stripped, lower-cased.
pub(crate) fn requested_host<B>(req: &http::Request<B>) -> Option<String> {
    let raw = match req.uri().authority() {
        Some(a) => a.host().to_string(),
        None => {
            let h = req.headers().get(http::header::HOST)?.to_str().ok()?;
            strip_port(h).to_string()
        }
    };
    let h = raw.trim_end_matches('.').to_ascii_lowercase();
    (!h.is_empty()).then_some(h)
}

fn strip_port(h: &str) -> &str {
    let h = h.trim();
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match h.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => h,
    }
}

/// Index (into `site.vhosts`) of the vhost for `host` among `candidates`.
pub(crate) fn select(site: &Site, candidates: &[usize], host: Option<&str>) -> usize {
    if let Some(host) = host {
        for &i in candidates {
            if site.vhosts[i].cfg.name.eq_ignore_ascii_case(host) {
                return i;
            }
        }
        for &i in candidates {
            let name = &site.vhosts[i].cfg.name;
            if host.len() > name.len()
                && host.ends_with(&name.to_ascii_lowercase())
                && host.as_bytes()[host.len() - name.len() - 1] == b'.'
            {
                return i;
            }
        }
    }
    candidates[0]
}

#[cfg(test)]
mod tests {
    use super::strip_port;

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port("example.com:8080"), "example.com");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("127.0.0.1:7681"), "127.0.0.1");
    }
}
