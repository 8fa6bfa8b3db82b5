//! The entries of the field table, sorted by name (a test checks it): Wireshark's name, type,
//! what the pipeline must keep for it, one line of meaning, and how a packet yields it.
//! Values follow Wireshark 4.0's dissectors (packet-tcp.c, packet-ip.c, packet-eth.c, …):
//! `tcp.seq` relative as Wireshark shows it, `ip.flags` as the three flag bits, `tcp.ack`
//! present on every segment (raw when the ACK flag is clear).

use std::borrow::Cow;

use super::{Field, Kind, Needs, Packet, Value};
use crate::decode::{self, Payload, TcpOption, flags};
use crate::flow::endpoint::EndpointState;
use crate::flow::{Label, Summary, WinScale};

macro_rules! field {
    ($name:literal, $kind:expr, $needs:ident, $desc:literal, $get:expr) => {
        field!($name, $kind, $needs, $desc, $get, bits = 32, values = &[])
    };
    ($name:literal, $kind:expr, $needs:ident, $desc:literal, $get:expr, bits = $bits:expr) => {
        field!(
            $name,
            $kind,
            $needs,
            $desc,
            $get,
            bits = $bits,
            values = &[]
        )
    };
    ($name:literal, $kind:expr, $needs:ident, $desc:literal, $get:expr, bits = $bits:expr, values = $values:expr) => {
        Field {
            name: $name,
            kind: $kind,
            desc: $desc,
            needs: Needs::$needs,
            get: $get,
            bits: $bits,
            values: $values,
        }
    };
}

/// Ether types by the names Wireshark's `etype_vals` gives them.
const ETHERTYPES: &[(&str, u64)] = &[
    ("IPv4", 0x0800),
    ("ARP", 0x0806),
    ("IPv6", 0x86dd),
    ("802.1Q Virtual LAN", 0x8100),
    ("802.1ad Provider Bridge (Q-in-Q)", 0x88a8),
];

/// IP protocol numbers by Wireshark's names (`ipproto_val`).
const IP_PROTOCOLS: &[(&str, u64)] = &[
    ("ICMP", 1),
    ("IGMP", 2),
    ("TCP", 6),
    ("UDP", 17),
    ("IPv6", 41),
    ("GRE", 47),
    ("ESP", 50),
    ("AH", 51),
    ("ICMPv6", 58),
    ("SCTP", 132),
];

const ARP_OPCODES: &[(&str, u64)] = &[("request", 1), ("reply", 2)];

const HEX2: Kind = Kind::Hex { digits: 2 };
const HEX4: Kind = Kind::Hex { digits: 4 };

fn uint(out: &mut Vec<Value<'_>>, v: Option<impl Into<u64>>) {
    if let Some(v) = v {
        out.push(Value::UInt(v.into()));
    }
}

fn str<'p>(out: &mut Vec<Value<'p>>, v: Option<&'static str>) {
    if let Some(v) = v {
        out.push(Value::Str(Cow::Borrowed(v)));
    }
}

fn flag(p: &Packet<'_>, out: &mut Vec<Value<'_>>, bit: u16) {
    if let Some(t) = p.tcp_header() {
        out.push(Value::Bool(t.flags & bit != 0));
    }
}

fn label(p: &Packet<'_>, out: &mut Vec<Value<'_>>, l: Label) {
    if p.tcp.is_some_and(|i| i.analysis.has(l)) {
        out.push(Value::Present(&[]));
    }
}

/// A layer's presence, with its bytes when kept.
fn layer<'p>(p: &'p Packet<'_>, out: &mut Vec<Value<'p>>, present: bool, at: Option<usize>) {
    if present {
        out.push(Value::Present(p.bytes_from(at)));
    }
}

fn conn<'p>(p: &'p Packet<'_>, out: &mut Vec<Value<'p>>, f: fn(&'p Summary) -> Option<Value<'p>>) {
    if let Some(v) = p.conn.and_then(f) {
        out.push(v);
    }
}

fn state(s: EndpointState) -> Value<'static> {
    Value::Str(Cow::Borrowed(s.name()))
}

/// Each option of the segment in wire order, as Wireshark walks them.
fn each_option<'p>(p: &'p Packet<'_>, mut f: impl FnMut(u8, &'p [u8])) {
    if let Some(t) = p.tcp_header() {
        for o in decode::options(t) {
            if let TcpOption::Opt { kind, data } = o {
                f(kind, data);
            }
        }
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn ipv4<'p>(p: &'p Packet<'_>, out: &mut Vec<Value<'p>>, f: fn(&decode::Ipv4Header) -> Value<'p>) {
    let layers = &p.decoded().layers;
    if let Some(h) = p.bytes.and_then(|b| decode::ipv4_header(layers, b)) {
        out.push(f(&h));
    }
}

fn ipv6<'p>(p: &'p Packet<'_>, out: &mut Vec<Value<'p>>, f: fn(&decode::Ipv6Header) -> Value<'p>) {
    let layers = &p.decoded().layers;
    if let Some(h) = p.bytes.and_then(|b| decode::ipv6_header(layers, b)) {
        out.push(f(&h));
    }
}

fn eth<'p>(
    p: &'p Packet<'_>,
    out: &mut Vec<Value<'p>>,
    f: fn(&decode::EthernetHeader, &mut Vec<Value<'p>>),
) {
    let layers = &p.decoded().layers;
    if let Some(h) = p.bytes.and_then(|b| decode::ethernet(layers, b)) {
        f(&h, out);
    }
}

fn vlan<'p>(p: &'p Packet<'_>, out: &mut Vec<Value<'p>>, f: fn(decode::VlanTag) -> Value<'p>) {
    let layers = &p.decoded().layers;
    if let Some(b) = p.bytes {
        out.extend(decode::vlan_tags(layers, b).map(f));
    }
}

fn sll<'p>(p: &'p Packet<'_>, out: &mut Vec<Value<'p>>, f: fn(decode::SllHeader) -> Value<'p>) {
    let layers = &p.decoded().layers;
    if let Some(h) = p.bytes.and_then(|b| decode::sll(layers, b)) {
        out.push(f(h));
    }
}

fn icmp(p: &Packet<'_>, out: &mut Vec<Value<'_>>, v6: bool, code: bool) {
    if let Payload::Icmp {
        v6: is_v6,
        typ,
        code: c,
    } = p.decoded().payload
        && is_v6 == v6
    {
        out.push(Value::UInt(if code { c } else { typ }.into()));
    }
}

fn udp(p: &Packet<'_>, out: &mut Vec<Value<'_>>, which: usize) {
    if let Payload::Udp { sport, dport, len } = p.decoded().payload {
        match which {
            0 => out.push(Value::UInt(sport.into())),
            1 => out.push(Value::UInt(dport.into())),
            2 => out.extend([Value::UInt(sport.into()), Value::UInt(dport.into())]),
            _ => out.push(Value::UInt(len.into())),
        }
    }
}

fn before(p: &Packet<'_>, out: &mut Vec<Value<'_>>, side: crate::flow::endpoint::Side) {
    if let Some(step) = p.step() {
        let now = match side {
            crate::flow::endpoint::Side::Client => step.client,
            crate::flow::endpoint::Side::Server => step.server,
        };
        let from = step
            .transitions
            .iter()
            .find(|t| t.side == side)
            .map_or(now, |t| t.from);
        out.push(state(from));
    }
}

pub static FIELDS: &[Field] = &[
    field!(
        "arp",
        Kind::Protocol,
        Packet,
        "Address Resolution Protocol",
        |p, out| {
            let present = matches!(p.decoded().payload, Payload::Arp { .. });
            layer(p, out, present, p.decoded().layers.net());
        }
    ),
    field!(
        "arp.dst.proto_ipv4",
        Kind::Ipv4,
        Packet,
        "ARP target protocol (IPv4) address",
        |p, out| {
            if let Payload::Arp { target, .. } = p.decoded().payload {
                out.push(Value::Ipv4(target));
            }
        }
    ),
    field!(
        "arp.opcode",
        Kind::UInt,
        Packet,
        "ARP opcode: 1 request, 2 reply",
        |p, out| {
            if let Payload::Arp { op, .. } = p.decoded().payload {
                out.push(Value::UInt(op.into()));
            }
        },
        bits = 16,
        values = ARP_OPCODES
    ),
    field!(
        "arp.src.proto_ipv4",
        Kind::Ipv4,
        Packet,
        "ARP sender protocol (IPv4) address",
        |p, out| {
            if let Payload::Arp { sender, .. } = p.decoded().payload {
                out.push(Value::Ipv4(sender));
            }
        }
    ),
    field!("eth", Kind::Protocol, Bytes, "Ethernet II", |p, out| {
        let layers = &p.decoded().layers;
        let present = p.bytes.and_then(|b| decode::ethernet(layers, b)).is_some();
        layer(p, out, present, Some(0));
    }),
    field!(
        "eth.addr",
        Kind::Ether,
        Bytes,
        "Ethernet destination or source address",
        |p, out| {
            eth(p, out, |h, out| {
                out.extend([Value::Ether(h.dst), Value::Ether(h.src)])
            });
        }
    ),
    field!(
        "eth.dst",
        Kind::Ether,
        Bytes,
        "Ethernet destination address",
        |p, out| {
            eth(p, out, |h, out| out.push(Value::Ether(h.dst)));
        }
    ),
    field!(
        "eth.src",
        Kind::Ether,
        Bytes,
        "Ethernet source address",
        |p, out| {
            eth(p, out, |h, out| out.push(Value::Ether(h.src)));
        }
    ),
    field!(
        "eth.type",
        HEX4,
        Bytes,
        "Ethernet type of the next header (0x8100 before a VLAN tag)",
        |p, out| {
            eth(p, out, |h, out| out.push(Value::UInt(h.ethertype.into())));
        },
        bits = 16,
        values = ETHERTYPES
    ),
    field!(
        "frame",
        Kind::Protocol,
        Packet,
        "The frame: capture metadata",
        |p, out| {
            out.push(Value::Present(p.bytes.unwrap_or(&[])));
        }
    ),
    field!(
        "frame.cap_len",
        Kind::UInt,
        Bytes,
        "Bytes captured of the frame",
        |p, out| {
            uint(out, p.bytes.map(|b| b.len() as u64));
        }
    ),
    field!(
        "frame.encap_type",
        Kind::Int,
        Packet,
        "Wireshark's encapsulation number for the link type (1 Ethernet, 25 SLL, 210 SLL2)",
        |p, out| {
            if let Some(e) = decode::encap_type(p.decoded().layers.linktype) {
                out.push(Value::Int(e));
            }
        },
        bits = 16
    ),
    field!(
        "frame.len",
        Kind::UInt,
        Packet,
        "Bytes of the frame on the wire",
        |p, out| {
            out.push(Value::UInt(p.frame.origlen.into()));
        }
    ),
    field!(
        "frame.number",
        Kind::UInt,
        Packet,
        "Frame number in the file, from 1 (frames a filter rejects still count)",
        |p, out| {
            out.push(Value::UInt(p.frame.number));
        }
    ),
    field!(
        "frame.protocols",
        Kind::Str,
        Bytes,
        "The frame's protocols, outermost first (eth:ethertype:ip:tcp:data)",
        |p, out| {
            if p.frame.number > 0 {
                let mut text = decode::protocols(p.decoded(), p.bytes.unwrap_or(&[]));
                // The tracker knows whether Wireshark dissects the payload again
                // (PayloadNews: a retransmission, an out-of-order copy, or bytes already
                // dissected from a segment captured whole are not).
                if p.tcp
                    .is_some_and(|i| i.analysis.payload == crate::flow::PayloadNews::Repeated)
                    && text.ends_with(":data")
                {
                    text.truncate(text.len() - 5);
                }
                out.push(Value::Str(Cow::Owned(text)));
            }
        }
    ),
    field!(
        "frame.time_delta",
        Kind::RelTime,
        Packet,
        "Seconds since the previous captured frame",
        |p, out| {
            out.push(Value::RelTime(p.times.delta.into()));
        }
    ),
    field!(
        "frame.time_delta_displayed",
        Kind::RelTime,
        Packet,
        "Seconds since the previous displayed frame",
        |p, out| {
            out.push(Value::RelTime(p.times.delta_displayed.into()));
        }
    ),
    field!(
        "frame.time_epoch",
        Kind::AbsTime,
        Packet,
        "Capture time, seconds since 1970-01-01 UTC",
        |p, out| {
            out.push(Value::AbsTime(p.frame.ts.as_nanos()));
        }
    ),
    field!(
        "frame.time_relative",
        Kind::RelTime,
        Packet,
        "Seconds since the first frame",
        |p, out| {
            out.push(Value::RelTime(p.times.relative.into()));
        }
    ),
    field!(
        "icmp",
        Kind::Protocol,
        Packet,
        "Internet Control Message Protocol",
        |p, out| {
            let present = matches!(p.decoded().payload, Payload::Icmp { v6: false, .. });
            layer(p, out, present, p.decoded().layers.transport());
        }
    ),
    field!(
        "icmp.code",
        Kind::UInt,
        Packet,
        "ICMP code",
        |p, out| icmp(p, out, false, true),
        bits = 8
    ),
    field!(
        "icmp.type",
        Kind::UInt,
        Packet,
        "ICMP type",
        |p, out| icmp(p, out, false, false),
        bits = 8
    ),
    field!(
        "icmpv6",
        Kind::Protocol,
        Packet,
        "Internet Control Message Protocol v6",
        |p, out| {
            let present = matches!(p.decoded().payload, Payload::Icmp { v6: true, .. });
            layer(p, out, present, p.decoded().layers.transport());
        }
    ),
    field!(
        "icmpv6.code",
        Kind::UInt,
        Packet,
        "ICMPv6 code",
        |p, out| icmp(p, out, true, true),
        bits = 8
    ),
    field!(
        "icmpv6.type",
        Kind::UInt,
        Packet,
        "ICMPv6 type",
        |p, out| icmp(p, out, true, false),
        bits = 8
    ),
    field!(
        "ip",
        Kind::Protocol,
        Packet,
        "Internet Protocol version 4",
        |p, out| {
            layer(p, out, p.ipv4().is_some(), p.decoded().layers.net());
        }
    ),
    field!(
        "ip.addr",
        Kind::Ipv4,
        Packet,
        "IPv4 source or destination address",
        |p, out| {
            if let Some([s, d]) = p.ipv4() {
                out.extend([Value::Ipv4(s), Value::Ipv4(d)]);
            }
        }
    ),
    field!(
        "ip.dsfield",
        HEX2,
        Bytes,
        "IPv4 differentiated services byte (DSCP and ECN)",
        |p, out| {
            ipv4(p, out, |h| Value::UInt(h.dsfield.into()));
        },
        bits = 8
    ),
    field!(
        "ip.dst",
        Kind::Ipv4,
        Packet,
        "IPv4 destination address",
        |p, out| {
            if let Some([_, d]) = p.ipv4() {
                out.push(Value::Ipv4(d));
            }
        }
    ),
    field!(
        "ip.flags",
        HEX2,
        Bytes,
        "IPv4 flag bits: 0x02 don't fragment, 0x01 more fragments",
        |p, out| {
            ipv4(p, out, |h| Value::UInt(h.flags.into()));
        },
        bits = 8
    ),
    field!(
        "ip.flags.df",
        Kind::Bool,
        Bytes,
        "IPv4 don't-fragment flag",
        |p, out| {
            ipv4(p, out, |h| Value::Bool(h.flags & 2 != 0));
        }
    ),
    field!(
        "ip.flags.mf",
        Kind::Bool,
        Bytes,
        "IPv4 more-fragments flag",
        |p, out| {
            ipv4(p, out, |h| Value::Bool(h.flags & 1 != 0));
        }
    ),
    field!(
        "ip.frag_offset",
        Kind::UInt,
        Bytes,
        "IPv4 fragment offset in bytes",
        |p, out| {
            ipv4(p, out, |h| Value::UInt(h.frag_offset.into()));
        },
        bits = 16
    ),
    field!(
        "ip.hdr_len",
        Kind::UInt,
        Bytes,
        "IPv4 header length in bytes",
        |p, out| {
            ipv4(p, out, |h| Value::UInt(h.hdr_len.into()));
        },
        bits = 8
    ),
    field!(
        "ip.id",
        HEX4,
        Bytes,
        "IPv4 identification",
        |p, out| {
            ipv4(p, out, |h| Value::UInt(h.id.into()));
        },
        bits = 16
    ),
    field!(
        "ip.len",
        Kind::UInt,
        Bytes,
        "IPv4 total length",
        |p, out| {
            ipv4(p, out, |h| Value::UInt(h.len.into()));
        },
        bits = 16
    ),
    field!(
        "ip.proto",
        Kind::UInt,
        Packet,
        "IPv4 protocol of the payload (6 TCP, 17 UDP, 1 ICMP)",
        |p, out| {
            if p.ipv4().is_some() {
                uint(out, p.decoded().ip.map(|ip| ip.proto));
            }
        },
        bits = 8,
        values = IP_PROTOCOLS
    ),
    field!(
        "ip.src",
        Kind::Ipv4,
        Packet,
        "IPv4 source address",
        |p, out| {
            if let Some([s, _]) = p.ipv4() {
                out.push(Value::Ipv4(s));
            }
        }
    ),
    field!(
        "ip.ttl",
        Kind::UInt,
        Bytes,
        "IPv4 time to live",
        |p, out| {
            ipv4(p, out, |h| Value::UInt(h.ttl.into()));
        },
        bits = 8
    ),
    field!(
        "ipv6",
        Kind::Protocol,
        Packet,
        "Internet Protocol version 6",
        |p, out| {
            layer(p, out, p.ipv6().is_some(), p.decoded().layers.net());
        }
    ),
    field!(
        "ipv6.addr",
        Kind::Ipv6,
        Packet,
        "IPv6 source or destination address",
        |p, out| {
            if let Some([s, d]) = p.ipv6() {
                out.extend([Value::Ipv6(s), Value::Ipv6(d)]);
            }
        }
    ),
    field!(
        "ipv6.dst",
        Kind::Ipv6,
        Packet,
        "IPv6 destination address",
        |p, out| {
            if let Some([_, d]) = p.ipv6() {
                out.push(Value::Ipv6(d));
            }
        }
    ),
    field!(
        "ipv6.hlim",
        Kind::UInt,
        Bytes,
        "IPv6 hop limit",
        |p, out| {
            ipv6(p, out, |h| Value::UInt(h.hlim.into()));
        },
        bits = 8
    ),
    field!(
        "ipv6.nxt",
        Kind::UInt,
        Bytes,
        "IPv6 next header (of the fixed header)",
        |p, out| {
            ipv6(p, out, |h| Value::UInt(h.nxt.into()));
        },
        bits = 8,
        values = IP_PROTOCOLS
    ),
    field!(
        "ipv6.plen",
        Kind::UInt,
        Bytes,
        "IPv6 payload length",
        |p, out| {
            ipv6(p, out, |h| Value::UInt(h.plen.into()));
        },
        bits = 16
    ),
    field!(
        "ipv6.src",
        Kind::Ipv6,
        Packet,
        "IPv6 source address",
        |p, out| {
            if let Some([s, _]) = p.ipv6() {
                out.push(Value::Ipv6(s));
            }
        }
    ),
    field!(
        "sll",
        Kind::Protocol,
        Bytes,
        "Linux cooked capture (v1 or v2)",
        |p, out| {
            let layers = &p.decoded().layers;
            let present = p.bytes.and_then(|b| decode::sll(layers, b)).is_some();
            layer(p, out, present, Some(0));
        }
    ),
    field!(
        "sll.etype",
        HEX4,
        Bytes,
        "Linux cooked capture protocol (an Ethernet type)",
        |p, out| {
            sll(p, out, |h| Value::UInt(h.ethertype.into()));
        },
        bits = 16,
        values = ETHERTYPES
    ),
    field!(
        "sll.hatype",
        Kind::UInt,
        Bytes,
        "Linux cooked capture link-layer address type (1 Ethernet, 772 loopback)",
        |p, out| {
            sll(p, out, |h| Value::UInt(h.hatype.into()));
        },
        bits = 16
    ),
    field!(
        "sll.ifindex",
        Kind::UInt,
        Bytes,
        "Linux cooked capture v2 interface index",
        |p, out| {
            let layers = &p.decoded().layers;
            if let Some(i) = p
                .bytes
                .and_then(|b| decode::sll(layers, b))
                .and_then(|h| h.ifindex)
            {
                out.push(Value::UInt(i.into()));
            }
        }
    ),
    field!(
        "sll.pkttype",
        Kind::UInt,
        Bytes,
        "Linux cooked capture packet type: 0 to us, 4 sent by us",
        |p, out| {
            sll(p, out, |h| Value::UInt(h.pkttype.into()));
        },
        bits = 16
    ),
    field!(
        "sll.src.eth",
        Kind::Ether,
        Bytes,
        "Linux cooked capture source address, when an Ethernet one",
        |p, out| {
            let layers = &p.decoded().layers;
            if let Some(a) = p
                .bytes
                .and_then(|b| decode::sll(layers, b))
                .and_then(|h| h.src_eth)
            {
                out.push(Value::Ether(a));
            }
        }
    ),
    field!(
        "tcp",
        Kind::Protocol,
        Packet,
        "Transmission Control Protocol",
        |p, out| {
            layer(p, out, p.is_tcp(), p.decoded().layers.transport());
        }
    ),
    field!(
        "tcp.ack",
        Kind::UInt,
        Packet,
        "Acknowledgment number, relative to the peer's ISN",
        |p, out| {
            uint(out, p.segment().map(|(t, i)| i.rel_ack(t)));
        }
    ),
    field!(
        "tcp.ack_raw",
        Kind::UInt,
        Packet,
        "Acknowledgment number as on the wire",
        |p, out| {
            uint(out, p.tcp_header().map(|t| t.ack));
        }
    ),
    field!(
        "tcp.analysis.ack_lost_segment",
        Kind::None,
        Packet,
        "This ACKs a segment the capture did not see",
        |p, out| label(p, out, Label::AckLostSegment)
    ),
    field!(
        "tcp.analysis.ack_rtt",
        Kind::RelTime,
        Packet,
        "Time from the segment this ACK acknowledges to the ACK",
        |p, out| {
            let rtt = p.tcp.and_then(|i| i.analysis.acks).map(|a| a.rtt);
            if let Some(rtt) = rtt.filter(|r| *r != 0) {
                out.push(Value::RelTime(rtt.into()));
            }
        }
    ),
    field!(
        "tcp.analysis.acks_frame",
        Kind::FrameNum,
        Packet,
        "The frame whose end this ACK acknowledges",
        |p, out| {
            uint(out, p.tcp.and_then(|i| i.analysis.acks).map(|a| a.frame));
        }
    ),
    field!(
        "tcp.analysis.bytes_in_flight",
        Kind::UInt,
        Packet,
        "Bytes sent and not yet acknowledged, after this segment",
        |p, out| {
            let flight = p.tcp.and_then(|i| i.analysis.flight);
            uint(out, flight.map(|f| f.bytes).filter(|b| *b != 0));
        }
    ),
    field!(
        "tcp.analysis.duplicate_ack",
        Kind::None,
        Packet,
        "Duplicate ACK",
        |p, out| {
            // Wireshark adds it twice to a duplicate ACK: the flag and its expert item.
            label(p, out, Label::DuplicateAck);
            label(p, out, Label::DuplicateAck);
        }
    ),
    field!(
        "tcp.analysis.duplicate_ack_frame",
        Kind::FrameNum,
        Packet,
        "The frame this duplicate ACK repeats",
        |p, out| {
            uint(out, p.tcp.and_then(|i| i.analysis.dup_ack).map(|(f, _)| f));
        }
    ),
    field!(
        "tcp.analysis.duplicate_ack_num",
        Kind::UInt,
        Packet,
        "Count of duplicates of that ACK so far",
        |p, out| {
            uint(out, p.tcp.and_then(|i| i.analysis.dup_ack).map(|(_, n)| n));
        }
    ),
    field!(
        "tcp.analysis.fast_retransmission",
        Kind::None,
        Packet,
        "Fast retransmission (after three duplicate ACKs)",
        |p, out| label(p, out, Label::FastRetransmission)
    ),
    field!(
        "tcp.analysis.flags",
        Kind::None,
        Packet,
        "Any TCP analysis label (Wireshark's expert umbrella)",
        |p, out| {
            if p.tcp.is_some_and(|i| !i.analysis.is_empty()) {
                out.push(Value::Present(&[]));
            }
        }
    ),
    field!(
        "tcp.analysis.initial_rtt",
        Kind::RelTime,
        Packet,
        "First ACK without SYN minus the latest SYN before it",
        |p, out| {
            // In the SEQ/ACK analysis tree, which Wireshark adds only to some segments.
            let tree = p.tcp.is_some_and(|i| i.analysis.has_tree());
            if let Some(rtt) = p.tcp.and_then(|i| i.initial_rtt).filter(|_| tree) {
                out.push(Value::RelTime(rtt.into()));
            }
        }
    ),
    field!(
        "tcp.analysis.keep_alive",
        Kind::None,
        Packet,
        "Keep-alive",
        |p, out| label(p, out, Label::KeepAlive)
    ),
    field!(
        "tcp.analysis.keep_alive_ack",
        Kind::None,
        Packet,
        "ACK of a keep-alive",
        |p, out| label(p, out, Label::KeepAliveAck)
    ),
    field!(
        "tcp.analysis.lost_segment",
        Kind::None,
        Packet,
        "A previous segment was not captured",
        |p, out| label(p, out, Label::LostSegment)
    ),
    field!(
        "tcp.analysis.out_of_order",
        Kind::None,
        Packet,
        "Out-of-order segment",
        |p, out| label(p, out, Label::OutOfOrder)
    ),
    field!(
        "tcp.analysis.push_bytes_sent",
        Kind::UInt,
        Packet,
        "Bytes sent since the last segment with PSH",
        |p, out| {
            // Shown beside bytes_in_flight only (packet-tcp.c prints the two together).
            let flight = p.tcp.and_then(|i| i.analysis.flight);
            uint(out, flight.filter(|f| f.bytes != 0).map(|f| f.push));
        }
    ),
    field!(
        "tcp.analysis.retransmission",
        Kind::None,
        Packet,
        "Retransmission (Wireshark sets it on fast and spurious retransmissions too)",
        |p, out| {
            if p.tcp.is_some_and(|i| i.analysis.is_retransmission()) {
                out.push(Value::Present(&[]));
            }
        }
    ),
    field!(
        "tcp.analysis.reused_ports",
        Kind::None,
        Packet,
        "A new SYN reuses the ports of an earlier connection",
        |p, out| label(p, out, Label::ReusedPorts)
    ),
    field!(
        "tcp.analysis.rto",
        Kind::RelTime,
        Packet,
        "Time from the segment a retransmission repeats to the retransmission",
        |p, out| {
            let rto = p.tcp.and_then(|i| i.analysis.rto).map(|r| r.after);
            if let Some(after) = rto.filter(|a| *a != 0) {
                out.push(Value::RelTime(after.into()));
            }
        }
    ),
    field!(
        "tcp.analysis.rto_frame",
        Kind::FrameNum,
        Packet,
        "The segment a retransmission repeats",
        |p, out| {
            let rto = p.tcp.and_then(|i| i.analysis.rto);
            uint(out, rto.filter(|r| r.after != 0).map(|r| r.frame));
        }
    ),
    field!(
        "tcp.analysis.spurious_retransmission",
        Kind::None,
        Packet,
        "Retransmission of data already acknowledged",
        |p, out| label(p, out, Label::SpuriousRetransmission)
    ),
    field!(
        "tcp.analysis.window_full",
        Kind::None,
        Packet,
        "The segment fills the peer's receive window",
        |p, out| label(p, out, Label::WindowFull)
    ),
    field!(
        "tcp.analysis.window_update",
        Kind::None,
        Packet,
        "Window update: only the window changed",
        |p, out| label(p, out, Label::WindowUpdate)
    ),
    field!(
        "tcp.analysis.zero_window",
        Kind::None,
        Packet,
        "The sender's receive window is zero",
        |p, out| label(p, out, Label::ZeroWindow)
    ),
    field!(
        "tcp.analysis.zero_window_probe",
        Kind::None,
        Packet,
        "Zero-window probe",
        |p, out| label(p, out, Label::ZeroWindowProbe)
    ),
    field!(
        "tcp.analysis.zero_window_probe_ack",
        Kind::None,
        Packet,
        "ACK of a zero-window probe",
        |p, out| label(p, out, Label::ZeroWindowProbeAck)
    ),
    field!(
        "tcp.dstport",
        Kind::UInt,
        Packet,
        "Destination port",
        |p, out| uint(out, p.tcp_ports()[1]),
        bits = 16
    ),
    field!(
        "tcp.flags",
        Kind::Hex { digits: 4 },
        Packet,
        "Flag bits (12): 0x002 SYN, 0x010 ACK, 0x001 FIN, 0x004 RST",
        |p, out| {
            uint(out, p.tcp_header().map(|t| t.flags));
        },
        bits = 16
    ),
    field!("tcp.flags.ack", Kind::Bool, Packet, "ACK flag", |p, out| {
        flag(p, out, flags::ACK)
    }),
    field!(
        "tcp.flags.ae",
        Kind::Bool,
        Packet,
        "Accurate ECN flag (formerly NS)",
        |p, out| flag(p, out, flags::NS)
    ),
    field!(
        "tcp.flags.cwr",
        Kind::Bool,
        Packet,
        "Congestion Window Reduced flag",
        |p, out| flag(p, out, flags::CWR)
    ),
    field!(
        "tcp.flags.ece",
        Kind::Bool,
        Packet,
        "ECN-Echo flag",
        |p, out| flag(p, out, flags::ECE)
    ),
    field!("tcp.flags.fin", Kind::Bool, Packet, "FIN flag", |p, out| {
        flag(p, out, flags::FIN)
    }),
    field!(
        "tcp.flags.push",
        Kind::Bool,
        Packet,
        "PSH flag",
        |p, out| flag(p, out, flags::PSH)
    ),
    field!(
        "tcp.flags.res",
        Kind::Bool,
        Packet,
        "Reserved bits",
        |p, out| flag(p, out, flags::RESERVED)
    ),
    field!(
        "tcp.flags.reset",
        Kind::Bool,
        Packet,
        "RST flag",
        |p, out| flag(p, out, flags::RST)
    ),
    field!(
        "tcp.flags.str",
        Kind::Str,
        Packet,
        "The flags as twelve characters, as Wireshark's tree shows them",
        |p, out| {
            if let Some(t) = p.tcp_header() {
                // tcp_flags_to_str_first_letter: reserved bits as R, then N C E U A P R S F.
                const LETTERS: &[u8; 12] = b"RRRNCEUAPRSF";
                let s: String = (0..12)
                    .map(|i| {
                        if t.flags & (0x800 >> i) != 0 {
                            LETTERS[i] as char
                        } else {
                            '·'
                        }
                    })
                    .collect();
                out.push(Value::Str(Cow::Owned(s)));
            }
        }
    ),
    field!("tcp.flags.syn", Kind::Bool, Packet, "SYN flag", |p, out| {
        flag(p, out, flags::SYN)
    }),
    field!("tcp.flags.urg", Kind::Bool, Packet, "URG flag", |p, out| {
        flag(p, out, flags::URG)
    }),
    field!(
        "tcp.hdr_len",
        Kind::UInt,
        Packet,
        "TCP header length in bytes",
        |p, out| {
            uint(out, p.tcp_header().map(|t| t.hdr_len));
        },
        bits = 8
    ),
    field!(
        "tcp.len",
        Kind::UInt,
        Packet,
        "TCP payload length by the IP header",
        |p, out| {
            uint(out, p.tcp_header().filter(|t| !t.short).map(|t| t.len));
        }
    ),
    field!(
        "tcp.nxtseq",
        Kind::UInt,
        Packet,
        "Next sequence number: seq + len (+1 for SYN and FIN)",
        |p, out| {
            uint(
                out,
                p.segment()
                    .filter(|(t, _)| !t.short)
                    .map(|(t, i)| i.next_seq(t)),
            );
        }
    ),
    field!(
        "tcp.options",
        Kind::Bytes,
        Packet,
        "TCP option bytes",
        |p, out| {
            if let Some(t) = p.tcp_header().filter(|t| t.options_len > 0) {
                out.push(Value::Bytes(Cow::Borrowed(&t.options)));
            }
        }
    ),
    field!(
        "tcp.options.mss_val",
        Kind::UInt,
        Packet,
        "Maximum segment size option",
        |p, out| {
            each_option(p, |kind, data| {
                if kind == 2 && data.len() == 2 {
                    out.push(Value::UInt(u16::from_be_bytes([data[0], data[1]]).into()));
                }
            });
        },
        bits = 16
    ),
    field!(
        "tcp.options.sack_le",
        Kind::UInt,
        Packet,
        "SACK block left edge, relative",
        |p, out| {
            let Some(info) = p.tcp else { return };
            each_option(p, |kind, data| {
                if kind == 5 {
                    out.extend(
                        data.chunks_exact(8)
                            .filter_map(|b| be32(b, 0))
                            .map(|e| Value::UInt(info.rel_peer_seq(e).into())),
                    );
                }
            });
        }
    ),
    field!(
        "tcp.options.sack_perm",
        Kind::None,
        Packet,
        "SACK permitted option",
        |p, out| {
            each_option(p, |kind, _| {
                if kind == 4 {
                    out.push(Value::Present(&[4, 2]));
                }
            });
        }
    ),
    field!(
        "tcp.options.sack_re",
        Kind::UInt,
        Packet,
        "SACK block right edge, relative",
        |p, out| {
            let Some(info) = p.tcp else { return };
            each_option(p, |kind, data| {
                if kind == 5 {
                    out.extend(
                        data.chunks_exact(8)
                            .filter_map(|b| be32(b, 4))
                            .map(|e| Value::UInt(info.rel_peer_seq(e).into())),
                    );
                }
            });
        }
    ),
    field!(
        "tcp.options.timestamp.tsecr",
        Kind::UInt,
        Packet,
        "Timestamp echo reply",
        |p, out| {
            each_option(p, |kind, data| {
                if kind == 8 && data.len() == 8 {
                    uint(out, be32(data, 4));
                }
            });
        }
    ),
    field!(
        "tcp.options.timestamp.tsval",
        Kind::UInt,
        Packet,
        "Timestamp value",
        |p, out| {
            each_option(p, |kind, data| {
                if kind == 8 && data.len() == 8 {
                    uint(out, be32(data, 0));
                }
            });
        }
    ),
    field!(
        "tcp.options.wscale.multiplier",
        Kind::UInt,
        Packet,
        "Window scale multiplier (2^shift)",
        |p, out| {
            each_option(p, |kind, data| {
                if kind == 3 && data.len() == 1 {
                    out.push(Value::UInt(1u64 << data[0].min(14)));
                }
            });
        }
    ),
    field!(
        "tcp.options.wscale.shift",
        Kind::UInt,
        Packet,
        "Window scale shift count",
        |p, out| {
            each_option(p, |kind, data| {
                if kind == 3 && data.len() == 1 {
                    out.push(Value::UInt(data[0].into()));
                }
            });
        },
        bits = 8
    ),
    field!(
        "tcp.payload",
        Kind::Bytes,
        Bytes,
        "TCP payload bytes",
        |p, out| {
            // A RST's data is its diagnostic text (RFC 9293 §3.5.3), tcp.reset_cause to
            // Wireshark, not payload.
            if let Some(b) = p
                .tcp_header()
                .filter(|t| !t.has(flags::RST))
                .and_then(|t| p.tcp_payload(t))
                .filter(|b| !b.is_empty())
            {
                out.push(Value::Bytes(Cow::Borrowed(b)));
            }
        }
    ),
    field!(
        "tcp.port",
        Kind::UInt,
        Packet,
        "Source or destination port",
        |p, out| {
            let [s, d] = p.tcp_ports();
            uint(out, s);
            uint(out, d);
        },
        bits = 16
    ),
    field!(
        "tcp.seq",
        Kind::UInt,
        Packet,
        "Sequence number, relative to the sender's ISN",
        |p, out| {
            uint(out, p.segment().map(|(t, i)| i.rel_seq(t)));
        }
    ),
    field!(
        "tcp.seq_raw",
        Kind::UInt,
        Packet,
        "Sequence number as on the wire",
        |p, out| {
            uint(out, p.tcp_header().map(|t| t.seq));
        }
    ),
    field!(
        "tcp.srcport",
        Kind::UInt,
        Packet,
        "Source port",
        |p, out| uint(out, p.tcp_ports()[0]),
        bits = 16
    ),
    field!(
        "tcp.stream",
        Kind::UInt,
        Packet,
        "TCP stream index, as Wireshark numbers conversations",
        |p, out| {
            uint(out, p.tcp.map(|i| i.stream));
        }
    ),
    field!(
        "tcp.time_delta",
        Kind::RelTime,
        Packet,
        "Seconds since the previous frame of this TCP stream",
        |p, out| {
            if let Some(i) = p.tcp {
                out.push(Value::RelTime(i.since_prev.into()));
            }
        }
    ),
    field!(
        "tcp.time_relative",
        Kind::RelTime,
        Packet,
        "Seconds since the first frame of this TCP stream",
        |p, out| {
            if let Some(i) = p.tcp {
                out.push(Value::RelTime(i.since_first.into()));
            }
        }
    ),
    field!(
        "tcp.urgent_pointer",
        Kind::UInt,
        Packet,
        "Urgent pointer",
        |p, out| {
            uint(out, p.tcp_header().map(|t| t.urgent));
        },
        bits = 16
    ),
    field!(
        "tcp.window_size",
        Kind::UInt,
        Packet,
        "Calculated window: the value times the scale factor",
        |p, out| {
            uint(out, p.tcp.map(|i| i.win));
        }
    ),
    field!(
        "tcp.window_size_scalefactor",
        Kind::Int,
        Packet,
        "Window scale factor: -1 unknown, -2 no scaling used",
        |p, out| {
            // Wireshark leaves it off SYNs, whose windows are never scaled (RFC 7323 §2.2).
            if let Some((_, i)) = p.segment().filter(|(t, _)| !t.has(flags::SYN)) {
                out.push(Value::Int(match i.scale {
                    WinScale::Unknown => -1,
                    WinScale::Off => -2,
                    WinScale::Shift(s) => 1 << s,
                }));
            }
        }
    ),
    field!(
        "tcp.window_size_value",
        Kind::UInt,
        Packet,
        "Window field as on the wire",
        |p, out| {
            uint(out, p.tcp_header().map(|t| t.window));
        },
        bits = 16
    ),
    field!(
        "tcplens",
        Kind::Protocol,
        Packet,
        "tcplens's view of the segment's connection",
        |p, out| {
            if p.tcp.is_some() {
                out.push(Value::Present(&[]));
            }
        }
    ),
    field!(
        "tcplens.conn.abort.side",
        Kind::Str,
        Connection,
        "Who sent the RST that aborted the connection: client or server",
        |p, out| {
            conn(p, out, |s| {
                s.life
                    .abort
                    .map(|(side, _)| Value::Str(Cow::Borrowed(side.name())))
            });
        }
    ),
    field!(
        "tcplens.conn.abort.state",
        Kind::Str,
        Connection,
        "The aborting side's state when it sent the RST",
        |p, out| {
            conn(p, out, |s| s.life.abort.map(|(_, st)| state(st)));
        }
    ),
    field!(
        "tcplens.conn.close",
        Kind::Str,
        Connection,
        "How the connection closed: four_way, three_way, simultaneous, reset, none",
        |p, out| {
            conn(p, out, |s| {
                Some(Value::Str(Cow::Borrowed(s.life.close.name())))
            });
        }
    ),
    field!(
        "tcplens.conn.closed_by",
        Kind::Str,
        Connection,
        "Who sent the first FIN or RST: client or server",
        |p, out| {
            conn(p, out, |s| {
                s.life
                    .closed_by
                    .map(|side| Value::Str(Cow::Borrowed(side.name())))
            });
        }
    ),
    field!(
        "tcplens.conn.conn_state",
        Kind::Str,
        Connection,
        "Zeek's conn_state (SF, S0, REJ, RSTO, ...)",
        |p, out| {
            conn(p, out, |s| {
                Some(Value::Str(Cow::Borrowed(s.life.conn_state.name())))
            });
        }
    ),
    field!(
        "tcplens.conn.half_closed",
        Kind::Bool,
        Connection,
        "Data flowed toward a side that had sent its FIN",
        |p, out| {
            conn(p, out, |s| Some(Value::Bool(s.life.half_closed)));
        }
    ),
    field!(
        "tcplens.conn.history",
        Kind::Str,
        Connection,
        "Zeek's history letters",
        |p, out| {
            conn(p, out, |s| Some(Value::Str(Cow::Borrowed(&s.life.history))));
        }
    ),
    field!(
        "tcplens.conn.open",
        Kind::Str,
        Connection,
        "How the connection opened: three_way, simultaneous, refused, no_answer, midstream",
        |p, out| {
            conn(p, out, |s| {
                Some(Value::Str(Cow::Borrowed(s.life.open.name())))
            });
        }
    ),
    field!(
        "tcplens.conn.retransmissions",
        Kind::UInt,
        Connection,
        "Segments of the connection labelled retransmissions",
        |p, out| {
            conn(p, out, |s| Some(Value::UInt(s.life.retransmissions)));
        }
    ),
    field!(
        "tcplens.conn.state.client",
        Kind::Str,
        Connection,
        "The client's final state",
        |p, out| {
            conn(p, out, |s| Some(state(s.life.client)));
        }
    ),
    field!(
        "tcplens.conn.state.server",
        Kind::Str,
        Connection,
        "The server's final state",
        |p, out| {
            conn(p, out, |s| Some(state(s.life.server)));
        }
    ),
    field!(
        "tcplens.event",
        Kind::Str,
        Packet,
        "The named moment this segment is: refused, simultaneous_open, simultaneous_close, syn_unanswered, fin_carries_ack, half_close, midstream, abort",
        |p, out| {
            str(out, p.step().and_then(|s| s.event).map(|e| e.name()));
        }
    ),
    field!(
        "tcplens.file",
        Kind::Str,
        Packet,
        "The capture file the frame came from (several files read as one)",
        |p, out| {
            if let Some(name) = crate::source::merge::file_name(p.frame.file) {
                out.push(Value::Str(Cow::Borrowed(name)));
            }
        }
    ),
    field!(
        "tcplens.phase",
        Kind::Str,
        Packet,
        "The segment's phase: handshake, data, close, reset",
        |p, out| {
            str(out, p.step().map(|s| s.phase.name()));
        }
    ),
    field!(
        "tcplens.sender",
        Kind::Str,
        Packet,
        "Who sent the segment: client or server",
        |p, out| {
            str(out, p.step().map(|s| s.sender.name()));
        }
    ),
    field!(
        "tcplens.state.client",
        Kind::Str,
        Packet,
        "The client's state after the segment",
        |p, out| {
            if let Some(s) = p.step() {
                out.push(state(s.client));
            }
        }
    ),
    field!(
        "tcplens.state.client.before",
        Kind::Str,
        Packet,
        "The client's state before the segment",
        |p, out| {
            before(p, out, crate::flow::endpoint::Side::Client);
        }
    ),
    field!(
        "tcplens.state.server",
        Kind::Str,
        Packet,
        "The server's state after the segment",
        |p, out| {
            if let Some(s) = p.step() {
                out.push(state(s.server));
            }
        }
    ),
    field!(
        "tcplens.state.server.before",
        Kind::Str,
        Packet,
        "The server's state before the segment",
        |p, out| {
            before(p, out, crate::flow::endpoint::Side::Server);
        }
    ),
    field!(
        "tcplens.step",
        Kind::UInt,
        Packet,
        "The segment's position in its phase, from 1",
        |p, out| {
            uint(out, p.step().map(|s| s.step));
        }
    ),
    field!(
        "tcplens.transition",
        Kind::Str,
        Packet,
        "A state change the segment caused, as side:FROM>TO (side:FROM>VIA>TO)",
        |p, out| {
            if let Some(s) = p.step() {
                for t in s.transitions.iter() {
                    let via = t.via.map_or(String::new(), |v| format!("{}>", v.name()));
                    let text = format!("{}:{}>{via}{}", t.side.name(), t.from.name(), t.to.name());
                    out.push(Value::Str(Cow::Owned(text)));
                }
            }
        }
    ),
    field!(
        "udp",
        Kind::Protocol,
        Packet,
        "User Datagram Protocol",
        |p, out| {
            let present = matches!(p.decoded().payload, Payload::Udp { .. });
            layer(p, out, present, p.decoded().layers.transport());
        }
    ),
    field!(
        "udp.dstport",
        Kind::UInt,
        Packet,
        "UDP destination port",
        |p, out| udp(p, out, 1),
        bits = 16
    ),
    field!(
        "udp.length",
        Kind::UInt,
        Packet,
        "UDP length (header and payload)",
        |p, out| udp(p, out, 3),
        bits = 16
    ),
    field!(
        "udp.port",
        Kind::UInt,
        Packet,
        "UDP source or destination port",
        |p, out| udp(p, out, 2),
        bits = 16
    ),
    field!(
        "udp.srcport",
        Kind::UInt,
        Packet,
        "UDP source port",
        |p, out| udp(p, out, 0),
        bits = 16
    ),
    field!(
        "vlan",
        Kind::Protocol,
        Bytes,
        "802.1Q virtual LAN tag",
        |p, out| {
            vlan(p, out, |_| Value::Present(&[]));
        }
    ),
    field!(
        "vlan.etype",
        HEX4,
        Bytes,
        "Ethernet type after the tag",
        |p, out| {
            vlan(p, out, |t| Value::UInt(t.ethertype.into()));
        },
        bits = 16,
        values = ETHERTYPES
    ),
    field!(
        "vlan.id",
        Kind::UInt,
        Bytes,
        "VLAN identifier",
        |p, out| {
            vlan(p, out, |t| Value::UInt((t.tci & 0xfff).into()));
        },
        bits = 16
    ),
    field!(
        "vlan.priority",
        Kind::UInt,
        Bytes,
        "VLAN priority (PCP)",
        |p, out| {
            vlan(p, out, |t| Value::UInt((t.tci >> 13).into()));
        },
        bits = 16
    ),
];
