//! Who may send packets and who may read them, per vhost (issue #16).
//!
//! Each side, ingest (POST, WebSocket ingest) and subscribe (WebSocket
//! delivery, SSE, long-poll, stats), is open to anyone unless the vhost
//! names a token file for it (`ingest-tokens`, `subscribe-tokens`, see
//! [`tokens`]) or a certificate-names file (`ingest-cert-names`,
//! `subscribe-cert-names`, see [`certs`]). Then a request needs a token
//! from that side's file ([`credential`] says where it goes) or a verified
//! client certificate whose name that side's names file maps, and what it
//! gets is a [`Grant`]: the label that names the sender (carried in its
//! packets, the access log and the metrics) and the credential, kept with
//! the connection so that a credential the files no longer hold ends it.
//!
//! The decision is [`decide`], pure; [`vhosts`] holds the library-global
//! state (the rules of every vhost, shared by old and new protocol
//! instances across a reload, the rate limit's buckets, the counters) and
//! re-reads the files when they change.

use std::sync::Arc;

pub mod certs;
pub mod credential;
pub mod label;
pub mod rate;
pub mod tokens;
pub mod vhosts;

use certs::{CertNames, Name};
use credential::Presented;
use tokens::{hash, TokenHash, TokenSet};

/// The two sides of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Sending packets.
    Ingest,
    /// Reading them.
    Subscribe,
}

impl Side {
    /// Its name in options, logs and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Side::Ingest => "ingest",
            Side::Subscribe => "subscribe",
        }
    }

    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Ingest => Side::Subscribe,
            Side::Subscribe => Side::Ingest,
        }
    }
}

/// What a side requires: a token from `tokens`, or a certificate whose
/// name `certs` maps. Neither: open to anyone.
#[derive(Debug, Clone, Default)]
pub struct SideRules {
    /// The token file's entries.
    pub tokens: Option<Arc<TokenSet>>,
    /// The certificate-names file's entries.
    pub certs: Option<Arc<CertNames>>,
}

impl SideRules {
    /// Anyone may use the side.
    pub fn is_open(&self) -> bool {
        self.tokens.is_none() && self.certs.is_none()
    }
}

/// How a client was let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// The side is open.
    Open,
    /// A token (its hash).
    Token(TokenHash),
    /// A client certificate, by the name its names file matched.
    Cert(String),
}

/// A client let in: who it is and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Its label (none on an open side).
    pub label: Option<Arc<str>>,
    /// What it presented.
    pub credential: Credential,
}

impl Grant {
    /// A client of an open side.
    pub fn open() -> Grant {
        Grant {
            label: None,
            credential: Credential::Open,
        }
    }

    /// Whether `rules` still let this client in as the same label (after
    /// the files changed).
    pub fn still_valid(&self, rules: &SideRules) -> bool {
        let label = self.label.as_deref();
        match &self.credential {
            Credential::Open => rules.is_open(),
            Credential::Token(d) => rules
                .tokens
                .as_ref()
                .is_some_and(|t| t.label_of(d).is_some() && t.label_of(d) == label),
            Credential::Cert(name) => rules
                .certs
                .as_ref()
                .is_some_and(|c| c.label_for(name).is_some() && c.label_for(name) == label),
        }
    }
}

/// Why a request is not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No credential: 401.
    Missing,
    /// A token no file of the vhost knows: 401 `invalid_token`.
    Invalid,
    /// A credential of the other side: 403 `insufficient_scope`.
    WrongSide,
    /// A token both in the header and in the URL: 400 `invalid_request`.
    TwoMethods,
}

impl Refusal {
    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Refusal::Missing | Refusal::Invalid => 401,
            Refusal::WrongSide => 403,
            Refusal::TwoMethods => 400,
        }
    }

    /// Its name in metric labels and logs.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Missing => "missing",
            Refusal::Invalid => "invalid",
            Refusal::WrongSide => "forbidden",
            Refusal::TwoMethods => "bad_request",
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3) for vhost `realm`.
    pub fn challenge(self, realm: &str) -> String {
        let realm: String = realm
            .chars()
            .filter(|c| !c.is_control())
            .map(|c| if c == '"' || c == '\\' { '_' } else { c })
            .collect();
        let error = match self {
            Refusal::Missing => return format!("Bearer realm=\"{realm}\""),
            Refusal::Invalid => "invalid_token",
            Refusal::WrongSide => "insufficient_scope",
            Refusal::TwoMethods => "invalid_request",
        };
        format!("Bearer realm=\"{realm}\", error=\"{error}\"")
    }

    /// What the JSON answer says, for `side`.
    pub fn message(self, side: Side) -> String {
        match self {
            Refusal::Missing => format!(
                "a {} token is needed (Authorization: Bearer <token>)",
                side.name()
            ),
            Refusal::Invalid => "unknown token".into(),
            Refusal::WrongSide => format!(
                "this credential may not {}",
                match side {
                    Side::Ingest => "send packets here",
                    Side::Subscribe => "read packets here",
                }
            ),
            Refusal::TwoMethods => {
                "a token goes in the Authorization header or in access_token, not both".into()
            }
        }
    }
}

/// Decides a request for a side with `rules`; `other` are the other
/// side's (to tell a wrong-side credential from an unknown one), `names`
/// those of the client's verified certificate, if it has one.
pub fn decide(
    rules: &SideRules,
    other: &SideRules,
    presented: &Presented,
    names: Option<&[Name]>,
) -> Result<Grant, Refusal> {
    if rules.is_open() {
        return Ok(Grant::open());
    }
    if let (Some(certs), Some(names)) = (&rules.certs, names) {
        if let Some((label, name)) = certs.label_of(names) {
            return Ok(Grant {
                label: Some(label.into()),
                credential: Credential::Cert(name.to_string()),
            });
        }
    }
    match presented {
        Presented::TwoMethods => Err(Refusal::TwoMethods),
        Presented::Token(t) => {
            let d = hash(t);
            if let Some(label) = rules.tokens.as_ref().and_then(|s| s.label_of(&d)) {
                return Ok(Grant {
                    label: Some(label.into()),
                    credential: Credential::Token(d),
                });
            }
            if other
                .tokens
                .as_ref()
                .is_some_and(|s| s.label_of(&d).is_some())
            {
                Err(Refusal::WrongSide)
            } else {
                Err(Refusal::Invalid)
            }
        }
        Presented::None => {
            let other_cert = other
                .certs
                .as_ref()
                .zip(names)
                .is_some_and(|(c, n)| c.label_of(n).is_some());
            if other_cert {
                Err(Refusal::WrongSide)
            } else {
                Err(Refusal::Missing)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IN: &str = "ingest-token-0001";
    const SUB: &str = "subscribe-token-01";

    fn rules(tokens: &str, certs: Option<&str>) -> SideRules {
        SideRules {
            tokens: Some(Arc::new(TokenSet::parse(tokens, "t").unwrap())),
            certs: certs.map(|c| Arc::new(CertNames::parse(c, "c").unwrap())),
        }
    }

    fn token(t: &str) -> Presented {
        Presented::Token(t.into())
    }

    #[test]
    fn an_open_side_lets_anyone_in() {
        let open = SideRules::default();
        let g = decide(&open, &open, &Presented::None, None).unwrap();
        assert_eq!(g, Grant::open());
        // Even with a token nobody knows.
        assert!(decide(&open, &open, &token("whatever"), None).is_ok());
    }

    #[test]
    fn every_case_of_a_token() {
        let ingest = rules(&format!("ctrl-1 {IN}\n"), None);
        let subscribe = rules(&format!("reader {SUB}\n"), None);
        let g = decide(&ingest, &subscribe, &token(IN), None).unwrap();
        assert_eq!(g.label.as_deref(), Some("ctrl-1"));
        assert_eq!(g.credential, Credential::Token(hash(IN)));
        assert_eq!(
            decide(&ingest, &subscribe, &Presented::None, None),
            Err(Refusal::Missing)
        );
        assert_eq!(
            decide(&ingest, &subscribe, &token("nobody-knows-this-one"), None),
            Err(Refusal::Invalid)
        );
        assert_eq!(
            decide(&ingest, &subscribe, &token(SUB), None),
            Err(Refusal::WrongSide)
        );
        assert_eq!(
            decide(&subscribe, &ingest, &token(IN), None),
            Err(Refusal::WrongSide)
        );
        assert_eq!(
            decide(&ingest, &subscribe, &Presented::TwoMethods, None),
            Err(Refusal::TwoMethods)
        );
    }

    #[test]
    fn a_mapped_certificate_needs_no_token() {
        let ingest = rules("", Some("ctrl-42 Controller 42\n"));
        let open = SideRules::default();
        let cn = [Name::CommonName("Controller 42".into())];
        let g = decide(&ingest, &open, &Presented::None, Some(&cn)).unwrap();
        assert_eq!(g.label.as_deref(), Some("ctrl-42"));
        assert_eq!(g.credential, Credential::Cert("Controller 42".into()));
        // A certificate it does not map: a token is still needed.
        let other = [Name::CommonName("Somebody".into())];
        assert_eq!(
            decide(&ingest, &open, &Presented::None, Some(&other)),
            Err(Refusal::Missing)
        );
        // Mapped on the other side only: forbidden here.
        assert_eq!(
            decide(&open.clone(), &open, &Presented::None, Some(&cn)),
            Ok(Grant::open())
        );
        let sub = rules("", Some("x Somebody\n"));
        assert_eq!(
            decide(&sub, &ingest, &Presented::None, Some(&cn)),
            Err(Refusal::WrongSide)
        );
    }

    #[test]
    fn a_grant_lasts_while_the_files_hold_its_credential_for_its_label() {
        let before = rules(&format!("ctrl-1 {IN}\nctrl-2 {SUB}\n"), Some("c Cert\n"));
        let g = decide(&before, &SideRules::default(), &token(IN), None).unwrap();
        assert!(g.still_valid(&before));
        // Removed.
        assert!(!g.still_valid(&rules(&format!("ctrl-2 {SUB}\n"), None)));
        // Given to another label.
        assert!(!g.still_valid(&rules(&format!("other {IN}\n"), None)));
        // The side opened: fine; an open grant on a side that closes: not.
        assert!(!g.still_valid(&SideRules::default()));
        assert!(Grant::open().still_valid(&SideRules::default()));
        assert!(!Grant::open().still_valid(&before));
        let c = Grant {
            label: Some("c".into()),
            credential: Credential::Cert("Cert".into()),
        };
        assert!(c.still_valid(&before));
        assert!(!c.still_valid(&rules("", Some("d Cert\n"))));
    }

    #[test]
    fn refusals_have_their_status_challenge_and_message() {
        assert_eq!(Refusal::Missing.status(), 401);
        assert_eq!(Refusal::Missing.challenge("vh"), "Bearer realm=\"vh\"");
        assert_eq!(
            Refusal::Invalid.challenge("v\"h"),
            "Bearer realm=\"v_h\", error=\"invalid_token\""
        );
        assert_eq!(Refusal::WrongSide.status(), 403);
        assert!(Refusal::WrongSide
            .challenge("vh")
            .ends_with("error=\"insufficient_scope\""));
        assert_eq!(Refusal::TwoMethods.status(), 400);
        assert!(Refusal::WrongSide
            .message(Side::Ingest)
            .contains("send packets"));
        assert!(Refusal::Missing
            .message(Side::Subscribe)
            .contains("subscribe"));
    }
}
