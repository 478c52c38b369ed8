//! The same refusals for HTTP/2 requests, which never pass through the
//! HTTP/1 byte layer. h2's framing already rules out what is ambiguous in
//! HTTP/1 (`Transfer-Encoding` is a protocol error there, header values with
//! control bytes do not decode, the header list is capped by
//! `max_header_list_size`, answered 431 by hyper); what is left is checked
//! on the decoded request with the HTTP/1 limits, so a client gets the same
//! answer whichever protocol it speaks.

use http::header::CONTENT_LENGTH;
use http::{Request, StatusCode};

use super::{Limits, Refusal};

/// Why `req` (an HTTP/2 request) is refused, if it is.
pub fn refusal<B>(req: &Request<B>, limits: &Limits) -> Option<Refusal> {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target + req.method().as_str().len() + " HTTP/2".len() + 1 > limits.max_request_line {
        return Some(Refusal {
            status: StatusCode::URI_TOO_LONG,
            reason: "request line too long",
        });
    }
    if req.headers().len() > limits.max_headers {
        return Some(Refusal {
            status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            reason: "too many header lines",
        });
    }
    let mut lengths = req.headers().get_all(CONTENT_LENGTH).iter();
    if let Some(first) = lengths.next() {
        let valid = first.as_bytes().iter().all(u8::is_ascii_digit) && !first.is_empty();
        if !valid || lengths.any(|v| v != first) {
            return Some(Refusal::bad("invalid or differing Content-Length"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder()
            .version(http::Version::HTTP_2)
            .uri(format!("https://localhost{path}"));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn the_http1_limits_apply() {
        let l = Limits::default();
        assert!(refusal(&req("/", &[("a", "b")]), &l).is_none());
        let long = format!("/{}", "x".repeat(l.max_request_line));
        assert_eq!(
            refusal(&req(&long, &[]), &l).map(|r| r.status),
            Some(StatusCode::URI_TOO_LONG)
        );
        let names: Vec<String> = (0..=l.max_headers).map(|i| format!("x-h{i}")).collect();
        let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
        assert_eq!(
            refusal(&req("/", &many), &l).map(|r| r.status),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        assert!(refusal(&req("/", &many[1..]), &l).is_none());
    }

    #[test]
    fn content_length_must_be_one_number() {
        let l = Limits::default();
        let bad = |h: &[(&str, &str)]| refusal(&req("/", h), &l).map(|r| r.status);
        assert_eq!(bad(&[("content-length", "7")]), None);
        assert_eq!(
            bad(&[("content-length", "7"), ("content-length", "7")]),
            None
        );
        for h in [
            &[("content-length", "7"), ("content-length", "8")][..],
            &[("content-length", "-1")],
            &[("content-length", "7, 8")],
            &[("content-length", "")],
        ] {
            assert_eq!(bad(h), Some(StatusCode::BAD_REQUEST), "{h:?}");
        }
    }
}
