//! `interface`: an address, or the name of a network interface whose
//! addresses we bind.

use std::net::{IpAddr, SocketAddr};

/// The addresses to bind for `interface` (empty when nothing matches).
pub(crate) fn resolve(
    interface: &str,
    port: u16,
    noipv6: bool,
    ipv6only: Option<bool>,
) -> Vec<SocketAddr> {
    let want = |ip: &IpAddr| match ip {
        IpAddr::V4(_) => ipv6only != Some(true),
        IpAddr::V6(_) => !noipv6,
    };
    if let Ok(ip) = interface.trim_matches(['[', ']']).parse::<IpAddr>() {
        return vec![SocketAddr::new(ip, port)];
    }
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ifa in addrs {
        if ifa.interface_name != interface {
            continue;
        }
        let Some(a) = ifa.address else { continue };
        let ip = if let Some(v4) = a.as_sockaddr_in() {
            IpAddr::V4(v4.ip())
        } else if let Some(v6) = a.as_sockaddr_in6() {
            if v6.scope_id() != 0 {
                continue; // link-local addresses need a scope; skip them
            }
            IpAddr::V6(v6.ip())
        } else {
            continue;
        };
        if want(&ip) && !out.iter().any(|s: &SocketAddr| s.ip() == ip) {
            out.push(SocketAddr::new(ip, port));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn addresses_and_loopback_by_name() {
        assert_eq!(
            resolve("127.0.0.1", 80, false, None)[0].to_string(),
            "127.0.0.1:80"
        );
        assert_eq!(resolve("::1", 80, false, None)[0].to_string(), "[::1]:80");
        let lo = resolve("lo", 80, true, None);
        assert!(lo.iter().any(|a| a.to_string() == "127.0.0.1:80"), "{lo:?}");
        assert!(resolve("no-such-if0", 80, false, None).is_empty());
    }
}
