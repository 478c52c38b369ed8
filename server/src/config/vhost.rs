//! One `vhosts[]` object (contract §1.3).
//!
//! Defaults are lwsws's (name `"default"`, `keepalive_timeout` 5). `port`
//! is required unless `unix-socket` is on. Every string read here has its
//! first `_lws_ddir_` replaced (the [`Cx`] of the vhost pass does it).
//! `keepalive_timeout` is spelled with an underscore on vhosts (lwsws);
//! the hyphenated spelling is accepted with a warning. `onlyraw` is the old
//! name of `apply-listen-accept`. `disable-no-protocol-ws-upgrades` is
//! turned on by its mere presence, whatever its value, as in lwsws.

use std::collections::HashSet;

use super::json::{Member, Node, Value};
use super::model::{ProtocolOptions, Pvo, Tls, Vhost};
use super::mount;
use super::value::{scalar_text, set, set_some, substitute_ddir, Cx};

/// Reads one vhost object. Always returns the vhost (problems, such as a
/// missing port, are reported; the load then fails as a whole).
pub(crate) fn read(cx: &mut Cx<'_>, node: &Node, members: &[Member]) -> Vhost {
    let mut v = Vhost {
        name: "default".into(),
        port: 0,
        interface: None,
        unix_socket: false,
        unix_socket_perms: None,
        sts: false,
        tls: Tls::default(),
        access_log: None,
        mounts: Vec::new(),
        ws_protocols: Vec::new(),
        keepalive_timeout: 5,
        headers: Vec::new(),
        error_document_404: None,
        noipv6: false,
        ipv6only: None,
        strict_host_check: false,
        disable_no_protocol_ws_upgrades: false,
        h2_half_closed_long_poll: false,
        fo_listen_queue: 0,
        listen_accept_role: None,
        listen_accept_protocol: None,
        apply_listen_accept: false,
        fallback_listen_accept: false,
        at: cx.loc(node.at),
    };
    let mut port_given = false;

    for m in members {
        let (key, val) = (m.key.as_str(), &m.value);
        let tls = &mut v.tls;
        match key {
            "name" => set(&mut v.name, cx.text(key, val)),
            "port" => {
                port_given = true;
                set(&mut v.port, cx.u16(key, val));
            }
            "interface" => set_some(&mut v.interface, cx.text(key, val)),
            "unix-socket" => set(&mut v.unix_socket, cx.bool(key, val)),
            "unix-socket-perms" => set_some(&mut v.unix_socket_perms, cx.text(key, val)),
            "sts" => set(&mut v.sts, cx.bool(key, val)),
            "host-ssl-key" => set_some(&mut tls.key, cx.path_setting(key, val)),
            "host-ssl-cert" => set_some(&mut tls.cert, cx.path_setting(key, val)),
            "host-ssl-ca" => set_some(&mut tls.ca, cx.path_setting(key, val)),
            "access-log" => set_some(&mut v.access_log, cx.path_setting(key, val)),
            "mounts" => {
                if let Some(items) = cx.array(key, val) {
                    for item in items {
                        match &item.value {
                            Value::Object(ms) => v.mounts.extend(mount::read(cx, item, ms)),
                            other => cx.error(
                                item.at,
                                format!(
                                    "\"mounts\": expected an array of mount objects, found {} in it",
                                    other.kind()
                                ),
                            ),
                        }
                    }
                }
            }
            "ws-protocols" => ws_protocols(cx, val, &mut v.ws_protocols),
            "keepalive_timeout" => set(&mut v.keepalive_timeout, cx.u32(key, val)),
            "keepalive-timeout" => {
                cx.warn(
                    m.at,
                    "lwsws spells the vhost key \"keepalive_timeout\" (with an underscore) \
                     and ignores \"keepalive-timeout\"; accepted by Comlink",
                );
                set(&mut v.keepalive_timeout, cx.u32(key, val));
            }
            "headers" => {
                let pairs = header_pairs(cx, key, val);
                v.headers.extend(pairs);
            }
            "error-document-404" => set_some(&mut v.error_document_404, cx.text(key, val)),
            "enable-client-ssl" => set(&mut tls.enable_client_ssl, cx.bool(key, val)),
            "client-ssl-key" => set_some(&mut tls.client_key, cx.path(key, val)),
            "client-ssl-cert" => set_some(&mut tls.client_cert, cx.path(key, val)),
            "client-ssl-ca" => set_some(&mut tls.client_ca, cx.path(key, val)),
            "client-ssl-ciphers" => set_some(&mut tls.client_ciphers, cx.text(key, val)),
            "ciphers" => set_some(&mut tls.ciphers, cx.text(key, val)),
            "tls13-ciphers" => set_some(&mut tls.tls13_ciphers, cx.text(key, val)),
            "client-tls13-ciphers" => set_some(&mut tls.client_tls13_ciphers, cx.text(key, val)),
            "ecdh-curve" => set_some(&mut tls.ecdh_curve, cx.text(key, val)),
            "client-ecdh-curve" => set_some(&mut tls.client_ecdh_curve, cx.text(key, val)),
            "ssl-option-set" => or_bits(&mut tls.ssl_option_set, cx.u64(key, val)),
            "ssl-option-clear" => or_bits(&mut tls.ssl_option_clear, cx.u64(key, val)),
            "ssl-client-option-set" => or_bits(&mut tls.ssl_client_option_set, cx.u64(key, val)),
            "ssl-client-option-clear" => {
                or_bits(&mut tls.ssl_client_option_clear, cx.u64(key, val))
            }
            "client-cert-required" => set(&mut tls.client_cert_required, cx.bool(key, val)),
            "ignore-missing-cert" => set(&mut tls.ignore_missing_cert, cx.bool(key, val)),
            "alpn" => set_some(&mut tls.alpn, cx.text(key, val)),
            "allow-non-tls" => set(&mut tls.allow_non_tls, cx.bool(key, val)),
            "redirect-http" => set(&mut tls.redirect_http, cx.bool(key, val)),
            "allow-http-on-https" => set(&mut tls.allow_http_on_https, cx.bool(key, val)),
            "noipv6" => set(&mut v.noipv6, cx.bool(key, val)),
            "ipv6only" => set_some(&mut v.ipv6only, cx.bool(key, val)),
            "strict-host-check" => set(&mut v.strict_host_check, cx.bool(key, val)),
            "disable-no-protocol-ws-upgrades" => v.disable_no_protocol_ws_upgrades = true,
            "h2-half-closed-long-poll" => set(&mut v.h2_half_closed_long_poll, cx.bool(key, val)),
            "fo-listen-queue" => set(&mut v.fo_listen_queue, cx.u32(key, val)),
            "listen-accept-role" => set_some(&mut v.listen_accept_role, cx.text(key, val)),
            "listen-accept-protocol" => set_some(&mut v.listen_accept_protocol, cx.text(key, val)),
            "apply-listen-accept" | "onlyraw" => set(&mut v.apply_listen_accept, cx.bool(key, val)),
            "fallback-listen-accept" => set(&mut v.fallback_listen_accept, cx.bool(key, val)),
            "quic-mtu" | "quic-preferred-addresses" | "dht" => cx.head_only("vhost", m),
            _ => cx.unknown_key("vhost", m),
        }
    }

    if !port_given && !v.unix_socket {
        cx.error(
            node.at,
            format!("vhost \"{}\": port required", v.name.escape_debug()),
        );
    }
    v
}

fn or_bits(slot: &mut u64, bits: Option<u64>) {
    if let Some(b) = bits {
        *slot |= b;
    }
}

/// `"ws-protocols": [ { "proto": { "k": "v", ... }, ... }, ... ]`, in file
/// order (lwsws builds its list backwards; the order here is the file's).
fn ws_protocols(cx: &mut Cx<'_>, node: &Node, out: &mut Vec<ProtocolOptions>) {
    let Some(items) = cx.array("ws-protocols", node) else {
        return;
    };
    let mut seen: HashSet<String> = out.iter().map(|p| p.name.clone()).collect();
    for item in items {
        let Value::Object(protocols) = &item.value else {
            cx.error(
                item.at,
                format!(
                    "\"ws-protocols\": expected an array of objects \
                     ({{ \"protocol-name\": {{ options }} }}), found {} in it",
                    item.value.kind()
                ),
            );
            continue;
        };
        for p in protocols {
            let Value::Object(options) = &p.value.value else {
                cx.error(
                    p.value.at,
                    format!(
                        "ws-protocols \"{}\": expected an object of options (can be {{}}), found {}",
                        p.key.escape_debug(),
                        p.value.value.kind()
                    ),
                );
                continue;
            };
            if !seen.insert(p.key.clone()) {
                cx.warn(
                    p.at,
                    format!(
                        "ws-protocols: protocol \"{}\" is listed twice on this vhost",
                        p.key.escape_debug()
                    ),
                );
            }
            out.push(ProtocolOptions {
                name: p.key.clone(),
                options: pvos(cx, options),
                at: cx.loc(p.at),
            });
        }
    }
}

/// Per-vhost options: scalars as text (numbers as written, booleans as
/// "1"/"0"), objects as nested options.
fn pvos(cx: &mut Cx<'_>, members: &[Member]) -> Vec<Pvo> {
    let mut out = Vec::with_capacity(members.len());
    for m in members {
        match &m.value.value {
            Value::Object(nested) => out.push(Pvo {
                name: m.key.clone(),
                value: String::new(),
                options: pvos(cx, nested),
            }),
            v => match scalar_text(v) {
                Some(text) => out.push(Pvo {
                    name: m.key.clone(),
                    value: match cx.ddir {
                        Some(d) => substitute_ddir(&text, d),
                        None => text.into_owned(),
                    },
                    options: Vec::new(),
                }),
                None => cx.error(
                    m.value.at,
                    format!(
                        "option \"{}\": expected a string, number or object, found {}",
                        m.key.escape_debug(),
                        v.kind()
                    ),
                ),
            },
        }
    }
    out
}

/// `"headers": [{ "Name": "value", ... }, ...]` (vhost and mount), with the
/// names and values checked so they can be sent as HTTP headers.
pub(crate) fn header_pairs(cx: &mut Cx<'_>, key: &str, node: &Node) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(items) = cx.array(key, node) else {
        return out;
    };
    for item in items {
        let Value::Object(members) = &item.value else {
            cx.error(
                item.at,
                format!(
                    "\"{key}\": expected an array of objects, found {} in it",
                    item.value.kind()
                ),
            );
            continue;
        };
        for m in members {
            let Some(value) = cx.text(&m.key, &m.value) else {
                continue;
            };
            if !valid_header_name(&m.key) {
                cx.error(
                    m.at,
                    format!(
                        "\"{}\" is not a valid HTTP header name",
                        m.key.escape_debug()
                    ),
                );
            } else if !valid_header_value(&value) {
                cx.error(
                    m.value.at,
                    format!(
                        "header \"{}\": the value contains a control character",
                        m.key
                    ),
                );
            } else {
                out.push((m.key.clone(), value));
            }
        }
    }
    out
}

/// An RFC 9110 token.
fn valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// No control characters other than tab.
fn valid_header_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks() {
        assert!(valid_header_name("X-Frame-Options"));
        assert!(!valid_header_name("Bad Name"));
        assert!(!valid_header_name("Bad:"));
        assert!(!valid_header_name(""));
        assert!(valid_header_value("a\tb é"));
        assert!(!valid_header_value("a\r\nSet-Cookie: x"));
    }
}
