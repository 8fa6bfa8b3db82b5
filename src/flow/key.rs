//! Connection identity: the canonical 4-tuple. A segment's direction within its connection is
//! its sender's role, `endpoint::Side` (client or server).

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr};

use hashbrown::Equivalent;

/// One end of a connection.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct Endpoint {
    pub addr: IpAddr,
    pub port: u16,
}

impl Endpoint {
    /// The sender's and the receiver's ends of a TCP segment.
    pub fn of_segment(ip: &crate::decode::Ip, tcp: &crate::decode::Tcp) -> (Endpoint, Endpoint) {
        let end = |addr, port| Endpoint { addr, port };
        (end(ip.src, tcp.sport), end(ip.dst, tcp.dport))
    }
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
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FlowKey {
    pub lo: Endpoint,
    pub hi: Endpoint,
}

impl Hash for FlowKey {
    /// Every field, packed into three words: the derived impl feeds the hasher ten small
    /// writes (enum tags, slice lengths, bytes), which showed in the per-packet profile.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let word = |a: IpAddr| match a {
            IpAddr::V4(v4) => u32::from(v4) as u128 | 1 << 64,
            IpAddr::V6(v6) => u128::from(v6),
        };
        // Bit 64 marks IPv4 so that 10.0.0.1 and ::a00:1 hash apart; a rarer collision would
        // only cost a comparison, since Eq still compares the addresses themselves.
        state.write_u128(word(self.lo.addr));
        state.write_u128(word(self.hi.addr));
        state.write_u32((self.lo.port as u32) << 16 | self.hi.port as u32);
    }
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

/// A [`FlowKey`] as the flow table and its expiry queue hold it: an IPv4 key (the common
/// case) in 12 bytes, 16 with its tag, where a `FlowKey` takes 40 (two `IpAddr`s of 17 bytes
/// and their ports); an IPv6 key boxed. The table's slots are what a capture of many
/// connections grows by in steps (hashbrown doubles them; a table of 32k connections has
/// 65,536), so they shrink from 57 bytes to 33 (25 in the table of stored connections).
/// Looked up by `&FlowKey` ([`Equivalent`]), so a segment never builds one except to insert
/// a new connection.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum TableKey {
    V4 {
        addrs: [Ipv4Addr; 2],
        ports: [u16; 2],
    },
    V6(Box<FlowKey>),
}

impl TableKey {
    pub fn flow(&self) -> FlowKey {
        match self {
            TableKey::V4 { addrs, ports } => {
                let end = |i: usize| Endpoint {
                    addr: IpAddr::V4(addrs[i]),
                    port: ports[i],
                };
                FlowKey {
                    lo: end(0),
                    hi: end(1),
                }
            }
            TableKey::V6(key) => **key,
        }
    }
}

impl From<&FlowKey> for TableKey {
    fn from(key: &FlowKey) -> TableKey {
        match (key.lo.addr, key.hi.addr) {
            (IpAddr::V4(lo), IpAddr::V4(hi)) => TableKey::V4 {
                addrs: [lo, hi],
                ports: [key.lo.port, key.hi.port],
            },
            _ => TableKey::V6(Box::new(*key)),
        }
    }
}

impl Hash for TableKey {
    /// As the `FlowKey` it stands for: lookups hash a `FlowKey`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.flow().hash(state);
    }
}

impl Equivalent<TableKey> for FlowKey {
    fn equivalent(&self, key: &TableKey) -> bool {
        match key {
            TableKey::V4 { addrs, ports } => {
                self.lo.addr == IpAddr::V4(addrs[0])
                    && self.hi.addr == IpAddr::V4(addrs[1])
                    && [self.lo.port, self.hi.port] == *ports
            }
            TableKey::V6(key) => **key == *self,
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
    fn table_keys_stand_for_their_flow_keys_and_hash_alike() {
        use std::hash::BuildHasher;
        let hasher = foldhash::fast::RandomState::default();
        let v4 = FlowKey::new(ep("10.0.0.1", 40000), ep("10.0.0.2", 80)).0;
        let v6 = FlowKey::new(ep("::1", 40000), ep("fe80::2", 80)).0;
        let mixed = FlowKey::new(ep("10.0.0.1", 1), ep("::a00:1", 1)).0;
        for key in [v4, v6, mixed] {
            let table = TableKey::from(&key);
            assert_eq!(table.flow(), key);
            assert!(key.equivalent(&table));
            assert_eq!(hasher.hash_one(key), hasher.hash_one(&table));
        }
        assert!(matches!(TableKey::from(&v4), TableKey::V4 { .. }));
        assert!(!v4.equivalent(&TableKey::from(&v6)));
        let other_port = FlowKey::new(ep("10.0.0.1", 40001), ep("10.0.0.2", 80)).0;
        assert!(!other_port.equivalent(&TableKey::from(&v4)));
        assert_eq!(std::mem::size_of::<TableKey>(), 16);
    }

    #[test]
    fn ipv6_endpoint_is_bracketed() {
        assert_eq!(ep("::1", 80).to_string(), "[::1]:80");
        assert_eq!(ep("10.0.0.1", 80).to_string(), "10.0.0.1:80");
    }
}
