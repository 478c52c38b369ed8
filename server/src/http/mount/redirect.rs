//! `>http://` and `>https://` mounts: a 301 to the origin URL, with the rest
//! of the request path appended when the mount has `append-path`.

use http::StatusCode;

use crate::http::response::{redirect, Response};

/// The redirect for a request whose path after the mountpoint is `rest`
/// (and whose query, if any, is `query`).
pub(crate) fn answer(target: &str, append_path: bool, rest: &str, query: Option<&str>) -> Response {
    redirect(
        StatusCode::MOVED_PERMANENTLY,
        &location(target, append_path, rest, query),
    )
}

fn location(target: &str, append_path: bool, rest: &str, query: Option<&str>) -> String {
    if !append_path {
        return target.to_string();
    }
    let mut url = target.trim_end_matches('/').to_string();
    url.push('/');
    url.push_str(rest);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::location;

    #[test]
    fn plain_and_appended() {
        assert_eq!(location("https://x/", false, "a/b", None), "https://x/");
        assert_eq!(
            location("https://x/", true, "a/b", Some("q=1")),
            "https://x/a/b?q=1"
        );
        assert_eq!(location("https://x", true, "", None), "https://x/");
    }
}
