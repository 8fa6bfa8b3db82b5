//! Connection identity: the canonical 4-tuple. A segment's direction within its connection is
//! its sender's role, `endpoint::Side` (client or server).

use std::net::IpAddr;

/// One end of a connection.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct Endpoint {
    pub addr: IpAddr,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    /// `addr:port`, IPv6 as `[addr]:port` (design.md, connection records).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// A 4-tuple in canonical order (lower endpoint first), so both directions of a connection
/// map to the same key, as Wireshark's conversation table does.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FlowKey {
    pub lo: Endpoint,
    pub hi: Endpoint,
}

impl FlowKey {
    /// The key for a segment from `src` to `dst`, and whether the segment travels lo→hi.
    pub fn new(src: Endpoint, dst: Endpoint) -> (FlowKey, bool) {
        if src <= dst {
            (FlowKey { lo: src, hi: dst }, true)
        } else {
            (FlowKey { lo: dst, hi: src }, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str, port: u16) -> Endpoint {
        Endpoint {
            addr: s.parse().unwrap(),
            port,
        }
    }

    #[test]
    fn both_directions_share_one_key() {
        let a = ep("127.0.0.1", 5201);
        let b = ep("127.0.0.1", 5200);
        let (k1, fwd1) = FlowKey::new(a, b);
        let (k2, fwd2) = FlowKey::new(b, a);
        assert_eq!(k1, k2);
        assert_ne!(fwd1, fwd2);
    }

    #[test]
    fn ipv6_endpoint_is_bracketed() {
        assert_eq!(ep("::1", 80).to_string(), "[::1]:80");
        assert_eq!(ep("10.0.0.1", 80).to_string(), "10.0.0.1:80");
    }
}
