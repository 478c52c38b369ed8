//! The request that opened a connection, as lws's header calls read it:
//! by token (`lws_hdr_copy`), by fragment (`lws_hdr_copy_fragment`), by
//! name (`lws_hdr_custom_copy`) and url arguments (`lws_get_urlarg_by_name`).

use std::ffi::c_int;

use comlink_plugin_api::abi::{token_header, TokenKind};

use crate::host::wsi::RequestInfo;

impl RequestInfo {
    /// Header `token` (repeated headers joined with ','), the request path
    /// for the token of its method, or the whole query string.
    pub(crate) fn token(&self, token: c_int) -> Option<Vec<u8>> {
        match token_header(token)? {
            TokenKind::Header(name) => self.named(name),
            TokenKind::MethodUri(method) => {
                (method == self.method).then(|| self.path.clone().into_bytes())
            }
            TokenKind::UriArgs => self.query.clone().map(String::into_bytes),
            TokenKind::Pseudo(_) => None,
        }
    }

    /// A header by name (repeats joined with ','); `name` may end with ':'.
    pub(crate) fn named(&self, name: &str) -> Option<Vec<u8>> {
        let name = name.trim_end_matches(':');
        let headers = self.headers.borrow();
        let vals: Vec<&[u8]> = headers.get_all(name).iter().map(|v| v.as_bytes()).collect();
        (!vals.is_empty()).then(|| vals.join(&b","[..]))
    }

    /// Fragment `idx` of token `token`: url arguments one by one (decoded),
    /// header values one per occurrence.
    pub(crate) fn fragment(&self, token: c_int, idx: usize) -> Option<Vec<u8>> {
        match token_header(token)? {
            TokenKind::UriArgs => {
                let q = self.query.as_deref()?;
                let part = q.split('&').nth(idx)?;
                Some(percent_encoding::percent_decode_str(&part.replace('+', " ")).collect())
            }
            TokenKind::Header(name) => self
                .headers
                .borrow()
                .get_all(name)
                .iter()
                .nth(idx)
                .map(|v| v.as_bytes().to_vec()),
            TokenKind::MethodUri(m) => {
                (idx == 0 && m == self.method).then(|| self.path.clone().into_bytes())
            }
            TokenKind::Pseudo(_) => None,
        }
    }

    /// The decoded value of url argument `name` (`name` may end with '=').
    pub(crate) fn urlarg(&self, name: &str) -> Option<String> {
        let q = self.query.as_deref()?;
        let key = name.strip_suffix('=').unwrap_or(name);
        for part in q.split('&') {
            let decoded = percent_encoding::percent_decode_str(&part.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned();
            let (k, v) = decoded.split_once('=').unwrap_or((decoded.as_str(), ""));
            if k == key {
                return Some(v.to_string());
            }
        }
        None
    }
}
