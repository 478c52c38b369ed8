//! `ip-limit-wsi`: how many connections one peer IP may hold open at once.
//!
//! Counted in the accept path (before any byte is read), across every
//! listener and service thread. A connection beyond the limit is closed at
//! once, unanswered, as lws does: under a flood, answering costs more than
//! the flood. A connection holds its slot until it ends, WebSocket sessions
//! included (the upgraded session keeps the slot). IPv4-mapped IPv6
//! addresses count as their IPv4 address. A limit of 0 counts nothing; a
//! reload that sets a limit counts connections accepted from then on.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock, Mutex};

static OPEN: LazyLock<Mutex<HashMap<IpAddr, u32>>> = LazyLock::new(Default::default);

/// One open connection of a peer; the count goes down when it is dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    ip: IpAddr,
}

/// Takes a slot for a new connection from `ip`: `Ok(None)` when there is no
/// limit, `Err(())` when the peer already holds `limit` connections.
#[allow(clippy::result_unit_err)]
pub(crate) fn acquire(ip: IpAddr, limit: u32) -> Result<Option<Arc<Slot>>, ()> {
    if limit == 0 {
        return Ok(None);
    }
    let ip = ip.to_canonical();
    let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
    let n = open.entry(ip).or_insert(0);
    if *n >= limit {
        return Err(());
    }
    *n += 1;
    Ok(Some(Arc::new(Slot { ip })))
}

/// Connections `ip` holds now (counted ones only).
#[cfg(test)]
pub(crate) fn open_count(ip: IpAddr) -> u32 {
    let open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
    open.get(&ip.to_canonical()).copied().unwrap_or(0)
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_ip_and_released() {
        let a: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        let b: IpAddr = "192.0.2.8".parse().unwrap();
        assert!(acquire(a, 0).unwrap().is_none());
        let s1 = acquire(a, 2).unwrap().unwrap();
        let s2 = acquire(mapped, 2).unwrap().unwrap();
        assert!(acquire(a, 2).is_err());
        assert_eq!(open_count(a), 2);
        let other = acquire(b, 2).unwrap().unwrap();
        drop(s1);
        assert_eq!(open_count(a), 1);
        let s3 = acquire(a, 2).unwrap().unwrap();
        drop((s2, s3, other));
        assert_eq!(open_count(a), 0);
        assert_eq!(open_count(b), 0);
    }
}
