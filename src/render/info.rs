//! The Info column, character for character as tshark 4.0 prints it for the TCP layer
//! (epan/dissectors/packet-tcp.c: dissect_tcp, tcp_flags_to_str, tcp_dissect_options), and
//! short Info texts for the other protocols tcplens decodes (packet-udp.c, packet-icmp.c, …).

use std::fmt::Write;

use super::push;
use crate::cli::SeqMode;
use crate::decode::{Cut, Decoded, Ip, Payload, Tcp, TcpOption, acc_ecn_counters, flags, options};
use crate::flow::{Analysis, Label, TcpInfo};

/// Wireshark's names for the 9 flag bits, low bit first (4.0 calls the NS bit "AE").
const FLAG_NAMES: [&str; 9] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE"];

/// Flag names as Wireshark spells them, low bit first, for JSON `flags`.
pub fn flag_names(bits: u16) -> impl Iterator<Item = &'static str> {
    FLAG_NAMES
        .iter()
        .enumerate()
        .filter(move |(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| *n)
}

/// Sequence and ack numbers as Info shows them under `--seq`.
pub struct Numbers {
    pub seq: u32,
    pub ack: u32,
    /// Subtracted from SACK edges: the same base as Ack=.
    pub sack_base: u32,
}

impl Numbers {
    /// The tracker's relative numbers (`TcpInfo::rel_seq`), or the raw ones under `--seq raw`.
    pub fn new(tcp: &Tcp, info: &TcpInfo, mode: SeqMode) -> Numbers {
        match mode {
            SeqMode::Raw => Numbers {
                seq: tcp.seq,
                ack: tcp.ack,
                sack_base: 0,
            },
            _ => Numbers {
                seq: info.rel_seq(tcp),
                ack: info.rel_ack(tcp),
                sack_base: info.ack_base.map_or(0, |b| b.0),
            },
        }
    }
}

/// Writes the Info column for a complete TCP header.
pub fn tcp_info(out: &mut String, tcp: &Tcp, info: &TcpInfo, mode: SeqMode) {
    let n = Numbers::new(tcp, info, mode);
    let start = out.len();
    push::int(out, tcp.sport);
    out.push_str(" → ");
    push::int(out, tcp.dport);
    out.push_str(" [");
    write_flags(out, tcp.flags, info.ace);
    out.push_str("] Seq=");
    push::int(out, n.seq);
    if tcp.has(flags::ACK) {
        out.push_str(" Ack=");
        push::int(out, n.ack);
    }
    out.push_str(" Win=");
    push::int(out, info.win);
    if tcp.hdr_len < 20 {
        let _ = write!(
            out,
            ", bogus TCP header length ({}, must be at least 20)",
            tcp.hdr_len
        );
        return;
    }
    // A header the IP length ends inside its first 20 bytes (decode::tcp): the exception
    // comes after the window, so no Urg, Len or options.
    if let (true, 0, Some(cut)) = (tcp.short, tcp.options_len, tcp.cut) {
        out.push_str(cut.marker());
        return;
    }
    if tcp.has(flags::URG) {
        out.push_str(" Urg=");
        push::int(out, tcp.urgent);
    }
    if !tcp.short {
        out.push_str(" Len=");
        push::int(out, tcp.len);
    }
    if let Some(marker) = write_options(out, tcp, n.sack_base) {
        // Wireshark aborts the TCP dissection here: no analysis prefixes.
        out.push_str(marker);
        return;
    }
    if !info.analysis.is_empty() {
        let mut prefixes = String::new();
        write_labels(&mut prefixes, &info.analysis);
        out.insert_str(start, &prefixes);
    }
}

/// A segment's analysis labels as Info prefixes them: Wireshark prepends each label in turn,
/// and DISPLAY_ORDER is the resulting order. Each ends with a space.
pub fn write_labels(out: &mut String, analysis: &Analysis) {
    for (label, _, _) in Label::DISPLAY_ORDER {
        if analysis.has(label) {
            write_label(out, label, analysis);
        }
    }
}

/// One label as Info shows it, with its trailing space: `[TCP Retransmission] `, or with the
/// frame and count of a duplicate ACK, `[TCP Dup ACK 31#2] `.
pub fn write_label(out: &mut String, label: Label, analysis: &Analysis) {
    let Some((_, _, prefix)) = Label::DISPLAY_ORDER.iter().find(|(l, _, _)| *l == label) else {
        return;
    };
    out.push_str(prefix);
    if let (Label::DuplicateAck, Some((frame, n))) = (label, analysis.dup_ack) {
        let _ = write!(out, "{frame}#{n}] ");
    }
}

/// `tcp_flags_to_str`: names low bit first; after an AccECN handshake the ECE/CWR/AE bits
/// print as one `ACE=` counter (RFC 9768 §3.2), always preceded by ", " as in 4.0.
pub fn write_flags(out: &mut String, bits: u16, ace: bool) {
    let start = out.len();
    let named = if ace { 6 } else { 9 };
    for (i, name) in FLAG_NAMES.iter().enumerate().take(named) {
        if bits & (1 << i) != 0 {
            if out.len() > start {
                out.push_str(", ");
            }
            out.push_str(name);
        }
    }
    if ace {
        // ACE = AE·4 + CWR·2 + ECE, which is exactly bits 8..6.
        let _ = write!(out, ", ACE={}", (bits >> 6) & 0x7);
    }
    if bits & flags::RESERVED != 0 {
        if out.len() > start {
            out.push_str(", ");
        }
        out.push_str("Reserved");
    }
    if out.len() == start {
        out.push_str("<None>");
    }
}

/// Appends the options' Info text in wire order; returns the marker when dissection of the
/// options would end in an exception (cut by the capture, or a SACK too short to read).
fn write_options(out: &mut String, tcp: &Tcp, sack_base: u32) -> Option<&'static str> {
    let be32 = |d: &[u8], i: usize| u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    for opt in options(tcp) {
        let (kind, d) = match opt {
            TcpOption::Eol | TcpOption::Nop => continue,
            TcpOption::Cut => return Some(tcp.cut.unwrap_or(Cut::Snaplen).marker()),
            TcpOption::Opt { kind, data } => (kind, data),
        };
        let _ = match (kind, d.len()) {
            // The common options skip core::fmt (see render/push.rs); rare ones keep write!.
            (2, 2) => {
                out.push_str(" MSS=");
                push::int(out, u16::from_be_bytes([d[0], d[1]]));
                Ok(())
            }
            (3, 1) => {
                out.push_str(" WS=");
                push::int(out, 1u32 << d[0].min(14));
                Ok(())
            }
            // SACK_PERM and MD5 print before Wireshark checks their length.
            (4, _) => {
                out.push_str(" SACK_PERM");
                Ok(())
            }
            (5, len) => {
                // The D-SACK check reads a whole first block: shorter is malformed.
                if len < 8 {
                    return Some(Cut::Malformed.marker());
                }
                for block in d.chunks_exact(8) {
                    out.push_str(" SLE=");
                    push::int(out, be32(block, 0).wrapping_sub(sack_base));
                    out.push_str(" SRE=");
                    push::int(out, be32(block, 4).wrapping_sub(sack_base));
                }
                Ok(())
            }
            (6 | 7, 4) => write!(out, " ECHO={}", be32(d, 0)),
            (8, 8) => {
                out.push_str(" TSval=");
                push::int(out, be32(d, 0));
                out.push_str(" TSecr=");
                push::int(out, be32(d, 4));
                Ok(())
            }
            (11..=13, 4) => write!(out, " CC={}", be32(d, 0)),
            (19, _) => write!(out, " MD5"),
            (27, 6) => write!(out, " QSresp={}", quick_start_rate(d[0] & 0x0f)),
            (28, 2) => write!(
                out,
                " USER_TO={}",
                u16::from_be_bytes([d[0], d[1]]) & 0x7fff
            ),
            (29, _) => write!(out, "TCP AO"),
            // TCP Fast Open (RFC 7413): an empty cookie is a request.
            (34, 0) => write!(out, " TFO=R"),
            (34, _) => write!(out, " TFO=C"),
            // AccECN (RFC 9768 §3.2.3), as its kind or as an RFC 6994 experiment: its byte
            // counters by name in wire order, ` AccECN` when it has none.
            (172 | 174 | 253 | 254, _) if let Some((order1, c)) = acc_ecn_counters(kind, d) => {
                const NAMES: [[&str; 3]; 2] = [["EE0B", "ECEB", "EE1B"], ["EE1B", "ECEB", "EE0B"]];
                if c.is_empty() {
                    out.push_str(" AccECN");
                }
                for (name, v) in NAMES[order1 as usize].iter().zip(c.chunks_exact(3)) {
                    let v = u32::from_be_bytes([0, v[0], v[1], v[2]]);
                    let _ = write!(out, " {name}={v}");
                }
                Ok(())
            }
            // RFC 6994 experimental options, identified by a 16-bit ExID. An AccECN ExID
            // whose length fits no counters adds nothing, as in Wireshark.
            (253 | 254, len) if len >= 2 => match u16::from_be_bytes([d[0], d[1]]) {
                0xf989 if len == 2 => write!(out, " TFO=R"),
                0xf989 => write!(out, " TFO=C"),
                0xacc0 | 0xacc1 => Ok(()),
                exid => write!(out, " ExID={exid:X}"),
            },
            _ => Ok(()),
        };
    }
    None
}

/// Quick-Start rate requests (RFC 4782 §4.1), as Wireshark names them.
fn quick_start_rate(code: u8) -> &'static str {
    const RATES: [&str; 16] = [
        "0 bit/s",
        "80 Kbit/s",
        "160 Kbit/s",
        "320 Kbit/s",
        "640 Kbit/s",
        "1.28 Mbit/s",
        "2.56 Mbit/s",
        "5.12 Mbit/s",
        "10.24 Mbit/s",
        "20.48 Mbit/s",
        "40.96 Mbit/s",
        "81.92 Mbit/s",
        "163.84 Mbit/s",
        "327.68 Mbit/s",
        "655.36 Mbit/s",
        "1.31072 Gbit/s",
    ];
    RATES[(code & 0x0f) as usize]
}

/// Protocol column and Info for a frame that is not a complete TCP header.
pub fn other_info(out: &mut String, d: &Decoded) -> &'static str {
    let ip_name = |ip: &Ip| if ip.src.is_ipv4() { "IPv4" } else { "IPv6" };
    match (&d.payload, &d.ip) {
        (Payload::Tcp(_), _) => "TCP",
        (
            Payload::TcpPartial {
                sport: Some(s),
                dport: Some(p),
                cut,
            },
            _,
        ) => {
            let _ = write!(out, "{s} → {p}{}", cut.marker());
            "TCP"
        }
        (Payload::TcpPartial { cut, .. }, ip) => {
            out.push_str(cut.marker());
            ip.as_ref().map_or("TCP", ip_name)
        }
        (Payload::Udp { sport, dport, len }, _) => {
            let _ = write!(out, "{sport} → {dport} Len={}", len.saturating_sub(8));
            "UDP"
        }
        (
            Payload::Icmp {
                v6: false,
                typ,
                code,
            },
            _,
        ) => {
            match icmp_text(*typ, *code) {
                (t, Some(c)) => {
                    let _ = write!(out, "{t:<20} ({c})");
                }
                (t, None) => out.push_str(t),
            }
            "ICMP"
        }
        (
            Payload::Icmp {
                v6: true,
                typ,
                code,
            },
            _,
        ) => {
            let _ = write!(out, "{}", icmpv6_text(*typ, *code));
            "ICMPv6"
        }
        (
            Payload::Arp {
                op: 1,
                sender,
                target,
            },
            _,
        ) => {
            let _ = write!(out, "Who has {target}? Tell {sender}");
            "ARP"
        }
        (Payload::Arp { op, sender, .. }, _) => {
            let _ = write!(out, "{sender} is at (opcode {op})");
            "ARP"
        }
        (Payload::Fragment { .. }, Some(ip)) => {
            let f = ip.fragment.unwrap_or(crate::decode::Fragment {
                offset: 0,
                id: 0,
                more: false,
            });
            if ip.src.is_ipv4() {
                let _ = write!(
                    out,
                    "Fragmented IP protocol (proto={} {}, off={}, ID={:04x})",
                    ip_proto_name(ip.proto),
                    ip.proto,
                    f.offset,
                    f.id
                );
            } else {
                let _ = write!(
                    out,
                    "IPv6 fragment (off={} more={} ident=0x{:08x} nxt={})",
                    f.offset,
                    if f.more { "y" } else { "n" },
                    f.id,
                    ip.proto
                );
            }
            ip_name(ip)
        }
        (Payload::OtherIp, Some(ip)) => {
            let _ = write!(out, "{} ({})", ip_proto_name(ip.proto), ip.proto);
            ip_name(ip)
        }
        (Payload::OtherLink { ethertype }, _) => {
            let _ = write!(out, "Ethertype 0x{ethertype:04x}");
            "Ethernet"
        }
        (_, _) if let Some(stop) = d.stop.as_ref().filter(|s| s.is_not_decoded()) => {
            // A link type, protocol or frame kind tcplens does not decode: the row names the
            // layer, in the protocol column, and what it carried.
            let _ = write!(out, "{}: {}", stop.layer, stop.reason);
            stop.layer.name()
        }
        (_, ip) => {
            let stop = d.stop.as_ref().map_or("undecoded", |s| s.layer.name());
            let _ = write!(out, "[Malformed Packet: {stop}]");
            ip.as_ref().map_or("Frame", ip_name)
        }
    }
}

fn ip_proto_name(p: u8) -> &'static str {
    match p {
        1 => "ICMP",
        2 => "IGMP",
        6 => "TCP",
        17 => "UDP",
        41 => "IPv6",
        47 => "Generic Routing Encapsulation",
        50 => "Encap Security Payload",
        51 => "Authentication Header",
        58 => "ICMPv6",
        89 => "OSPF IGP",
        132 => "SCTP",
        _ => "Unknown",
    }
}

fn icmp_text(typ: u8, code: u8) -> (&'static str, Option<&'static str>) {
    match typ {
        0 => ("Echo (ping) reply", None),
        8 => ("Echo (ping) request", None),
        3 => (
            "Destination unreachable",
            Some(match code {
                0 => "Network unreachable",
                1 => "Host unreachable",
                2 => "Protocol unreachable",
                3 => "Port unreachable",
                4 => "Fragmentation needed",
                13 => "Communication administratively filtered",
                _ => "Unknown code",
            }),
        ),
        5 => ("Redirect", Some("Redirect for host")),
        11 => (
            "Time-to-live exceeded",
            Some(if code == 0 {
                "Time to live exceeded in transit"
            } else {
                "Fragment reassembly time exceeded"
            }),
        ),
        _ => ("Unknown ICMP (obsolete or malformed?)", None),
    }
}

fn icmpv6_text(typ: u8, _code: u8) -> &'static str {
    match typ {
        1 => "Destination Unreachable",
        2 => "Packet Too Big",
        3 => "Time Exceeded",
        128 => "Echo (ping) request",
        129 => "Echo (ping) reply",
        133 => "Router Solicitation",
        134 => "Router Advertisement",
        135 => "Neighbor Solicitation",
        136 => "Neighbor Advertisement",
        143 => "Multicast Listener Report Message v2",
        _ => "Unknown ICMPv6 message",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags_str(bits: u16, ace: bool) -> String {
        let mut s = String::new();
        write_flags(&mut s, bits, ace);
        s
    }

    #[test]
    fn flags_low_bit_first() {
        assert_eq!(flags_str(flags::SYN | flags::ACK, false), "SYN, ACK");
        assert_eq!(
            flags_str(flags::FIN | flags::PSH | flags::ACK, false),
            "FIN, PSH, ACK"
        );
        assert_eq!(
            flags_str(flags::SYN | flags::ECE | flags::CWR, false),
            "SYN, ECE, CWR"
        );
        assert_eq!(
            flags_str(flags::RST | flags::ACK | flags::NS | 0x200, false),
            "RST, ACK, AE, Reserved"
        );
        assert_eq!(flags_str(0, false), "<None>");
    }

    #[test]
    fn accecn_prints_ace_counter() {
        assert_eq!(
            flags_str(flags::ACK | flags::NS | flags::ECE, true),
            "ACK, ACE=5"
        );
        assert_eq!(flags_str(0, true), ", ACE=0");
    }
}
