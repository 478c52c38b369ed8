//! Creating one listening socket.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

/// The addresses for "all interfaces": one dual-stack IPv6 socket, or IPv4
/// only with `noipv6` (or where the host has no IPv6).
pub(crate) fn wildcard_addrs(port: u16, noipv6: bool) -> Vec<SocketAddr> {
    if noipv6 || !ipv6_available() {
        vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)]
    } else {
        vec![SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)]
    }
}

fn ipv6_available() -> bool {
    Socket::new(Domain::IPV6, Type::STREAM, None).is_ok()
}

/// Binds and listens. A wildcard IPv6 socket also takes IPv4 unless
/// `ipv6only` is on.
pub(crate) fn listen(
    addr: SocketAddr,
    ipv6only: Option<bool>,
    wildcard: bool,
) -> io::Result<TcpListener> {
    let domain = Domain::for_address(addr);
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        let only = match ipv6only {
            Some(v) => v,
            None => !wildcard,
        };
        socket.set_only_v6(only)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}
