//! The one table of fields: every value tcplens decodes or computes, under Wireshark's name
//! (`tcp.seq`, `ip.addr`, `tcp.analysis.retransmission`) or, for what only tcplens knows,
//! under `tcplens.` (`tcplens.state.client`). The display filter (`-Y`), `-T fields`,
//! `tcplens fields` and the JSON keys all read this table: adding a field is one entry here.

mod packet;
pub mod print;
mod table;

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

pub use packet::{FrameTimes, Packet};

/// Wireshark's field types (`ftenum`), as far as tcplens's fields need them. The type decides
/// which literals a comparison accepts and how `-T fields` prints a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// FT_PROTOCOL: a layer (`tcp`, `ip`); present or not; sliceable when bytes are kept.
    Protocol,
    /// FT_NONE: a label with no value (`tcp.analysis.flags`, `tcp.analysis.retransmission`).
    None,
    /// FT_BOOLEAN: a flag bit (`tcp.flags.syn`), 1/0 in comparisons.
    Bool,
    /// FT_UINT8..64, printed in decimal.
    UInt,
    /// FT_UINT8..64 that Wireshark prints in hex (`tcp.flags` is `0x0012`), `digits` wide.
    Hex { digits: u8 },
    /// FT_INT32.
    Int,
    /// FT_FRAMENUM: a frame number (`tcp.analysis.duplicate_ack_frame`).
    FrameNum,
    /// FT_DOUBLE.
    Float,
    /// FT_RELATIVE_TIME: seconds, compared as `frame.time_relative > 1.5`.
    RelTime,
    /// FT_ABSOLUTE_TIME: a capture time, printed as seconds since the epoch.
    AbsTime,
    /// FT_IPv4, compared with addresses and CIDR blocks.
    Ipv4,
    /// FT_IPv6.
    Ipv6,
    /// FT_ETHER: a MAC address.
    Ether,
    /// FT_BYTES: `tcp.payload`, compared with `48:65:6c` byte strings.
    Bytes,
    /// FT_STRING: text (`tcplens.state.client`).
    Str,
}

impl Kind {
    /// The name `tshark -G fields` gives the type.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Protocol => "FT_PROTOCOL",
            Kind::None => "FT_NONE",
            Kind::Bool => "FT_BOOLEAN",
            Kind::UInt | Kind::Hex { .. } => "FT_UINT",
            Kind::Int => "FT_INT32",
            Kind::FrameNum => "FT_FRAMENUM",
            Kind::Float => "FT_DOUBLE",
            Kind::RelTime => "FT_RELATIVE_TIME",
            Kind::AbsTime => "FT_ABSOLUTE_TIME",
            Kind::Ipv4 => "FT_IPv4",
            Kind::Ipv6 => "FT_IPv6",
            Kind::Ether => "FT_ETHER",
            Kind::Bytes => "FT_BYTES",
            Kind::Str => "FT_STRING",
        }
    }
}

/// One occurrence of a field in one packet. Borrowed from the packet where it can be (a
/// payload is not copied to be compared).
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// A protocol layer or an FT_NONE label: present, with the layer's bytes when kept.
    Present(&'a [u8]),
    Bool(bool),
    UInt(u64),
    Int(i64),
    Float(f64),
    /// Nanoseconds.
    RelTime(i128),
    /// Nanoseconds since the epoch.
    AbsTime(i128),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    Ether([u8; 6]),
    Bytes(Cow<'a, [u8]>),
    Str(Cow<'a, str>),
}

/// A field's index in [`FIELDS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u16);

/// What a field needs of the pipeline, beyond the decoded frame and the tracker's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// The decoded frame and the tracker's view of the segment.
    Packet,
    /// The frame's bytes (payloads, slices of a layer): kept only when a field asks.
    Bytes,
    /// The connection's verdict, known only when it ended: `read` makes two passes
    /// (as `tshark -2`), `capture` refuses such a filter.
    Connection,
}

/// One field: Wireshark's name, its type, one line of meaning, and how a packet yields it.
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub desc: &'static str,
    pub needs: Needs,
    /// Pushes every occurrence of the field in a packet.
    pub get: Getter,
    /// Bits of an integer field (FT_UINT8 … FT_UINT32): the largest literal it accepts, and
    /// what `len()` of it is.
    pub bits: u8,
    /// Names Wireshark accepts for values (`eth.type == IPv4`, `ip.proto == UDP`).
    pub values: &'static [(&'static str, u64)],
}

/// How a packet yields a field's occurrences.
pub type Getter = for<'p> fn(&'p Packet<'_>, &mut Vec<Value<'p>>);

impl FieldSource for Packet<'_> {
    fn values<'s>(&'s self, field: FieldId, out: &mut Vec<Value<'s>>) {
        (field.field().get)(self, out);
    }
}

/// Every occurrence of a field in one packet, in protocol-tree order (`ip.addr`: source then
/// destination). The display filter and `-T fields` read packets only through this.
pub trait FieldSource {
    fn values<'s>(&'s self, field: FieldId, out: &mut Vec<Value<'s>>);
}

pub use table::FIELDS;

impl FieldId {
    pub fn field(self) -> &'static Field {
        &FIELDS[self.0 as usize]
    }
}

/// The field called `name`, if tcplens knows it.
pub fn lookup(name: &str) -> Option<FieldId> {
    FIELDS
        .binary_search_by(|f| f.name.cmp(name))
        .ok()
        .map(|i| FieldId(i as u16))
}

/// Known names closest to an unknown one (for "unknown field" errors): shared prefixes and
/// small edit distances first.
pub fn closest(name: &str, n: usize) -> Vec<&'static str> {
    let mut scored: Vec<(usize, &'static str)> = FIELDS
        .iter()
        .map(|f| (distance(name, f.name), f.name))
        .collect();
    scored.sort();
    scored.into_iter().take(n).map(|(_, name)| name).collect()
}

/// Levenshtein distance, by bytes (field names are ASCII).
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique_so_lookup_finds_every_name() {
        for pair in FIELDS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        for (i, f) in FIELDS.iter().enumerate() {
            assert_eq!(lookup(f.name), Some(FieldId(i as u16)));
        }
        assert_eq!(lookup("tcp.nosuch"), None);
    }

    #[test]
    fn unknown_name_suggests_the_closest() {
        assert_eq!(closest("tcp.srcprot", 1), ["tcp.srcport"]);
        assert_eq!(closest("ip.adr", 1), ["ip.addr"]);
    }
}
