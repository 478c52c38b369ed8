//! Client certificates as identity: a certificate-names file
//! (`ingest-cert-names`, `subscribe-cert-names`) maps a name a verified
//! client certificate carries, its subject's common name or one of its
//! subject alternative names (DNS, e-mail, URI), to a label, one entry a
//! line: `<label> <name>` (the name is the rest of the line), `#`
//! comments. The names are read from the certificate's DER here.

use super::label::check_label;

/// The entries of a certificate-names file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertNames {
    entries: Vec<(String, String)>,
}

impl CertNames {
    /// Parses a certificate-names file's text (`file` names it in errors).
    pub fn parse(text: &str, file: &str) -> Result<CertNames, String> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let at = format!("{file}:{}", n + 1);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((label, name)) = line.split_once(char::is_whitespace) else {
                return Err(format!("{at}: an entry is `<label> <certificate name>`"));
            };
            let name = name.trim();
            check_label(label).map_err(|e| format!("{at}: {e}"))?;
            if name.is_empty() {
                return Err(format!("{at}: an entry is `<label> <certificate name>`"));
            }
            if let Some((other, _)) = entries.iter().find(|(l, n)| n == name && l != label) {
                return Err(format!(
                    "{at}: {name:?} is also {other:?}'s (one name, one label)"
                ));
            }
            entries.push((label.to_string(), name.to_string()));
        }
        Ok(CertNames { entries })
    }

    /// The label and the name matched, for a certificate with `names`:
    /// the first entry (in file order) that one of them matches. DNS
    /// names match without regard to case.
    pub fn label_of(&self, names: &[Name]) -> Option<(&str, &str)> {
        self.entries.iter().find_map(|(label, want)| {
            names
                .iter()
                .any(|n| n.matches(want))
                .then_some((label.as_str(), want.as_str()))
        })
    }

    /// The label of the entry for certificate name `name` (as matched
    /// before).
    pub fn label_for(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(_, n)| n == name)
            .map(|(l, _)| l.as_str())
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entries (no certificate is let in).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A name a certificate carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name {
    /// The subject's common name.
    CommonName(String),
    /// A DNS subject alternative name.
    Dns(String),
    /// An e-mail subject alternative name.
    Email(String),
    /// A URI subject alternative name.
    Uri(String),
}

impl Name {
    fn matches(&self, want: &str) -> bool {
        match self {
            Name::Dns(n) => n.eq_ignore_ascii_case(want),
            Name::CommonName(n) | Name::Email(n) | Name::Uri(n) => n == want,
        }
    }
}

/// One DER element: its tag and contents, and what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    if tag & 0x1f == 0x1f {
        // High tag numbers: none in the parts we read.
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, &b| (a << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The elements of a constructed element's contents.
fn elements(mut der: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    while !der.is_empty() {
        let (tag, body, rest) = element(der)?;
        out.push((tag, body));
        der = rest;
    }
    Some(out)
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const OCTET_STRING: u8 = 0x04;
/// 2.5.4.3, commonName.
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
/// 2.5.29.17, subjectAltName.
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];

/// The names of an X.509 certificate (DER): its subject's common names and
/// its DNS, e-mail and URI subject alternative names. `None` when it is not
/// a certificate this reader understands.
pub fn names(der: &[u8]) -> Option<Vec<Name>> {
    let (SEQUENCE, cert, _) = element(der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(cert)? else {
        return None;
    };
    let fields = elements(tbs)?;
    // version [0] is optional; then serial, signature, issuer, validity,
    // subject, subjectPublicKeyInfo, then optional [1] [2] [3].
    let skip = usize::from(fields.first()?.0 == 0xa0);
    let subject = fields.get(skip + 4)?;
    if subject.0 != SEQUENCE {
        return None;
    }
    let mut out = Vec::new();
    for (tag, rdn) in elements(subject.1)? {
        if tag != SET {
            return None;
        }
        for (tag, atv) in elements(rdn)? {
            if tag != SEQUENCE {
                return None;
            }
            let parts = elements(atv)?;
            if let [(OID, oid), (_, value)] = parts[..] {
                if oid == OID_CN {
                    out.push(Name::CommonName(
                        String::from_utf8_lossy(value).into_owned(),
                    ));
                }
            }
        }
    }
    for &(tag, body) in fields.get(skip + 6..).unwrap_or_default() {
        if tag != 0xa3 {
            continue;
        }
        let (SEQUENCE, exts, _) = element(body)? else {
            return None;
        };
        for (tag, ext) in elements(exts)? {
            if tag != SEQUENCE {
                return None;
            }
            let parts = elements(ext)?;
            let (Some(&(OID, oid)), Some(&(OCTET_STRING, value))) = (parts.first(), parts.last())
            else {
                return None;
            };
            if oid != OID_SAN {
                continue;
            }
            let (SEQUENCE, general, _) = element(value)? else {
                return None;
            };
            for (tag, name) in elements(general)? {
                let text = || String::from_utf8_lossy(name).into_owned();
                match tag {
                    0x81 => out.push(Name::Email(text())),
                    0x82 => out.push(Name::Dns(text())),
                    0x86 => out.push(Name::Uri(text())),
                    _ => {}
                }
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(cn: Option<&str>, sans: Vec<rcgen::SanType>) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Plant 7");
        if let Some(cn) = cn {
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn);
        }
        params.subject_alt_names = sans;
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn names_are_the_common_name_and_the_alternative_names() {
        let der = cert(
            Some("Controller 42"),
            vec![
                rcgen::SanType::DnsName("ctrl-42.plant.example".try_into().unwrap()),
                rcgen::SanType::Rfc822Name("ops@plant.example".try_into().unwrap()),
                rcgen::SanType::URI("urn:plant:ctrl:42".try_into().unwrap()),
                rcgen::SanType::IpAddress("10.0.0.42".parse().unwrap()),
            ],
        );
        let got = names(&der).unwrap();
        assert_eq!(got.len(), 4, "{got:?}");
        for want in [
            Name::CommonName("Controller 42".into()),
            Name::Dns("ctrl-42.plant.example".into()),
            Name::Email("ops@plant.example".into()),
            Name::Uri("urn:plant:ctrl:42".into()),
        ] {
            assert!(got.contains(&want), "{want:?} not in {got:?}");
        }
        let only_san = cert(
            None,
            vec![rcgen::SanType::DnsName("a.example".try_into().unwrap())],
        );
        assert_eq!(names(&only_san).unwrap(), [Name::Dns("a.example".into())]);
        assert_eq!(
            names(&cert(Some("x"), vec![])).unwrap(),
            [Name::CommonName("x".into())]
        );
    }

    #[test]
    fn what_is_not_a_certificate_has_no_names() {
        let der = cert(Some("x"), vec![]);
        for cut in [0, 1, 2, 10, der.len() / 2, der.len() - 1] {
            assert_eq!(names(&der[..cut]), None, "cut at {cut}");
        }
        assert_eq!(names(b"\x30\x03\x02\x01\x01"), None);
        assert_eq!(names(&[0xff; 40]), None);
    }

    #[test]
    fn a_names_file_maps_a_certificate_name_to_a_label() {
        let file = "# who\nctrl-42 Controller 42\nctrl-43   ctrl-43.plant.example\n";
        let map = CertNames::parse(file, "n").unwrap();
        assert_eq!(map.len(), 2);
        let cn = [Name::CommonName("Controller 42".into())];
        assert_eq!(map.label_of(&cn), Some(("ctrl-42", "Controller 42")));
        let dns = [Name::Dns("CTRL-43.Plant.Example".into())];
        assert_eq!(map.label_of(&dns).map(|l| l.0), Some("ctrl-43"));
        // A common name is compared exactly.
        assert_eq!(
            map.label_of(&[Name::CommonName("controller 42".into())]),
            None
        );
        assert_eq!(map.label_of(&[]), None);
        for (bad, want) in [
            ("lonely\n", "n:1"),
            ("bad/label name\n", "label"),
            ("a same\nb same\n", "also \"a\"'s"),
        ] {
            let e = CertNames::parse(bad, "n").unwrap_err();
            assert!(e.contains(want), "{e:?} lacks {want:?}");
        }
    }
}
