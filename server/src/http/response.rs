//! Response bodies and the small responses lws sends itself (status pages,
//! redirects), plus the headers every response of a vhost carries.

use bytes::Bytes;
use http::header::{
    HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, LOCATION,
};
use http::{HeaderMap, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Empty, Full};

/// The body of every response we produce.
pub(crate) type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// A response with our body type.
pub(crate) type Response = http::Response<Body>;

/// A body that is already in memory.
pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// No body.
pub(crate) fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

/// lws's status page: a tiny HTML document naming the code.
pub(crate) fn status_page(status: StatusCode) -> Response {
    let text = status.canonical_reason().unwrap_or("");
    let html = format!(
        "<!doctype html><html><head><meta charset=utf-8>\
         <link rel=\"stylesheet\" type=\"text/css\" href=\"/error.css\"></head>\
         <body><h1>{}</h1>{}</body></html>",
        status.as_u16(),
        text
    );
    let mut resp = http::Response::new(full(html.clone()));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    h.insert(CONTENT_LENGTH, HeaderValue::from(html.len()));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A redirect with an empty body.
pub(crate) fn redirect(status: StatusCode, location: &str) -> Response {
    let mut resp = http::Response::new(empty());
    *resp.status_mut() = status;
    match HeaderValue::from_str(location) {
        Ok(v) => {
            resp.headers_mut().insert(LOCATION, v);
        }
        Err(_) => return status_page(StatusCode::INTERNAL_SERVER_ERROR),
    }
    resp.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    resp
}

/// Headers configured with `headers` (vhost or mount), parsed once.
#[derive(Clone, Debug, Default)]
pub struct ExtraHeaders(Vec<(HeaderName, HeaderValue)>);

impl ExtraHeaders {
    /// Parses `(name, value)` pairs; an invalid one is skipped with a warning.
    pub fn parse(pairs: &[(String, String)], what: &str) -> Self {
        let mut out = Vec::new();
        for (n, v) in pairs {
            match (
                HeaderName::from_bytes(n.trim_end_matches(':').as_bytes()),
                HeaderValue::from_str(v),
            ) {
                (Ok(n), Ok(v)) => out.push((n, v)),
                _ => tracing::warn!("{what}: invalid header {n:?}: {v:?} (ignored)"),
            }
        }
        ExtraHeaders(out)
    }

    /// Adds (replacing same-named headers) to `headers`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (n, v) in &self.0 {
            headers.insert(n.clone(), v.clone());
        }
    }

    /// Whether there is nothing to add.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
