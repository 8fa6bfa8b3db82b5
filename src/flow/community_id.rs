//! Community ID v1 (https://github.com/corelight/community-id-spec): a flow's identity as a
//! string that Zeek, Suricata, Arkime and others compute alike, so their records of one
//! connection join. `1:` then the base64 of a SHA-1 over the seed, both addresses, the IP
//! protocol, a zero pad byte and both ports, the endpoints in canonical order.
//!
//! Written here from the spec rather than taken from a crate: `communityid` is GPL-3.0, and
//! `community-id` is a single-maintainer 0.2 crate that adds `hex` and a second SHA-1 version
//! for what is one hash over 40 bytes. The spec's own baseline vectors are the unit tests.

use std::net::IpAddr;

use base64::Engine;
use sha1::{Digest, Sha1};

use super::Endpoint;

/// The spec's IP protocol numbers with ports: TCP, UDP, SCTP (ICMP's type and code mapping
/// is not needed here: tcplens records TCP connections).
const PORTED: [u8; 3] = [6, 17, 132];

/// The seed every tool uses unless configured otherwise (the spec's default, 0).
pub const DEFAULT_SEED: u16 = 0;

/// TCP's IP protocol number.
pub const TCP: u8 = 6;

/// A flow's Community ID, version 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommunityId(String);

impl CommunityId {
    /// The ID of a flow between `a` and `b` (either order: the result is the same) over IP
    /// protocol `proto`. Ports are hashed only for protocols that have them.
    pub fn new(seed: u16, proto: u8, a: Endpoint, b: Endpoint) -> CommunityId {
        // Canonical order: the smaller address first, the smaller port on equal addresses
        // (the spec compares addresses as bytes in network order; IPv4 sorts below IPv6,
        // as the two never meet in one flow).
        let key = |e: &Endpoint| (octets(e.addr), e.port);
        let (lo, hi) = if key(&a) <= key(&b) { (a, b) } else { (b, a) };
        let mut h = Sha1::new();
        h.update(seed.to_be_bytes());
        h.update(octets(lo.addr).as_slice());
        h.update(octets(hi.addr).as_slice());
        h.update([proto, 0]);
        if PORTED.contains(&proto) {
            h.update(lo.port.to_be_bytes());
            h.update(hi.port.to_be_bytes());
        }
        let digest = h.finalize();
        let mut s = String::from("1:");
        base64::engine::general_purpose::STANDARD.encode_string(digest, &mut s);
        CommunityId(s)
    }

    /// A TCP connection's ID with the default seed.
    pub fn tcp(a: Endpoint, b: Endpoint) -> CommunityId {
        CommunityId::new(DEFAULT_SEED, TCP, a, b)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CommunityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An address's bytes in network order: 4 for IPv4, 16 for IPv6.
fn octets(addr: IpAddr) -> Octets {
    match addr {
        IpAddr::V4(a) => Octets::V4(a.octets()),
        IpAddr::V6(a) => Octets::V6(a.octets()),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Octets {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Octets {
    fn as_slice(&self) -> &[u8] {
        match self {
            Octets::V4(b) => b,
            Octets::V6(b) => b,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The spec's baseline vectors (community-id-spec/baseline/baseline_deflt.json and
    //! baseline_seed1.json), those of the protocols this module hashes: TCP, UDP, SCTP and
    //! RSVP (no ports). Each flow is checked in both directions.
    use super::*;

    fn end(addr: &str, port: u16) -> Endpoint {
        Endpoint {
            addr: addr.parse().unwrap(),
            port,
        }
    }

    /// (proto, saddr, sport, daddr, dport, seed 0, seed 1).
    const VECTORS: &[(u8, &str, u16, &str, u16, &str, &str)] = &[
        (
            6,
            "2001:470:e5bf:dead:4957:2174:e82c:4887",
            63943,
            "2607:f8b0:400c:c03::1a",
            25,
            "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            "1:eJYTW6AOzFLlSUoESovMjnu7rMw=",
        ),
        (
            6,
            "128.232.110.120",
            34855,
            "66.35.250.204",
            80,
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            "1:3V71V58M3Ksw/yuFALMcW0LAHvc=",
        ),
        (
            17,
            "192.168.1.52",
            54585,
            "8.8.8.8",
            53,
            "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=",
        ),
        (
            132,
            "192.168.170.8",
            7,
            "192.168.170.56",
            7,
            "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
            "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=",
        ),
        (
            46,
            "10.1.12.1",
            0,
            "10.1.12.2",
            0,
            "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=",
            "1:rYir8gphR31noO9iDRQmF/BteEI=",
        ),
    ];

    #[test]
    fn the_specs_baseline_vectors_in_both_directions() {
        for &(proto, sa, sp, da, dp, seed0, seed1) in VECTORS {
            let (s, d) = (end(sa, sp), end(da, dp));
            for (seed, want) in [(0, seed0), (1, seed1)] {
                assert_eq!(
                    CommunityId::new(seed, proto, s, d).as_str(),
                    want,
                    "{sa} {da}"
                );
                assert_eq!(
                    CommunityId::new(seed, proto, d, s).as_str(),
                    want,
                    "{da} {sa}"
                );
            }
        }
    }

    #[test]
    fn tcp_uses_the_default_seed() {
        let (s, d) = (end("128.232.110.120", 34855), end("66.35.250.204", 80));
        assert_eq!(
            CommunityId::tcp(s, d).to_string(),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
    }

    #[test]
    fn equal_addresses_order_by_port() {
        let (a, b) = (end("127.0.0.1", 5201), end("127.0.0.1", 5200));
        assert_eq!(CommunityId::tcp(a, b), CommunityId::tcp(b, a));
    }
}
