//! Where a client's token is: `Authorization: Bearer <token>` (every
//! endpoint), or, on the subscribe endpoints only, the `access_token` URL
//! argument (RFC 6750 §2.3: browsers cannot give `EventSource` or
//! `WebSocket` a header).

/// The token a request presents, or why it has none that can be used.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented {
    /// No token.
    None,
    /// This token.
    Token(String),
    /// Both a header and a URL argument (RFC 6750 allows one method).
    TwoMethods,
}

/// The token of a request with `authorization` (the header) and
/// `access_token` (the URL argument, already ignored where not allowed).
/// A header of another scheme, or `Bearer` without a token, is no token.
pub fn presented(authorization: Option<&str>, access_token: Option<&str>) -> Presented {
    let header = authorization.and_then(bearer);
    let query = access_token.map(str::trim).filter(|t| !t.is_empty());
    match (header, query) {
        (Some(_), Some(_)) => Presented::TwoMethods,
        (Some(t), None) | (None, Some(t)) => Presented::Token(t.to_string()),
        (None, None) => Presented::None,
    }
}

/// The token of an `Authorization: Bearer <token>` value (the scheme's
/// case does not matter).
fn bearer(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, rest) = value.split_once([' ', '\t'])?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_header_or_an_access_token_argument() {
        let t = |s: &str| Presented::Token(s.into());
        assert_eq!(presented(Some("Bearer abc"), None), t("abc"));
        assert_eq!(presented(Some("bearer   abc  "), None), t("abc"));
        assert_eq!(presented(Some("BEARER\tabc"), None), t("abc"));
        assert_eq!(presented(None, Some("xyz")), t("xyz"));
        assert_eq!(
            presented(Some("Bearer a"), Some("b")),
            Presented::TwoMethods
        );
    }

    #[test]
    fn anything_else_is_no_token() {
        assert_eq!(presented(None, None), Presented::None);
        assert_eq!(presented(Some("Basic dXNlcjpwYXNz"), None), Presented::None);
        assert_eq!(presented(Some("Bearer"), None), Presented::None);
        assert_eq!(presented(Some("Bearer   "), None), Presented::None);
        assert_eq!(presented(Some("Bearerabc"), None), Presented::None);
        assert_eq!(presented(None, Some("  ")), Presented::None);
        // Another scheme and an argument: the argument is the token.
        assert_eq!(
            presented(Some("Basic x"), Some("t")),
            Presented::Token("t".into())
        );
    }
}
