//! The one table of fields: every value tcplens decodes or computes, under Wireshark's name
//! (`tcp.seq`, `ip.addr`, `tcp.analysis.retransmission`) or, for what only tcplens knows,
//! under `tcplens.` (`tcplens.state.client`). The display filter (`-Y`), `-T fields`,
//! `tcplens fields` and the JSON keys all read this table: adding a field is one entry here.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

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
}

/// Every occurrence of a field in one packet, in protocol-tree order (`ip.addr`: source then
/// destination). The display filter and `-T fields` read packets only through this.
pub trait FieldSource {
    fn values<'s>(&'s self, field: FieldId, out: &mut Vec<Value<'s>>);
}

/// The table. Sorted by name so that lookups are a binary search.
pub static FIELDS: &[Field] = &[
    Field {
        name: "arp",
        kind: Kind::Protocol,
        desc: "Address Resolution Protocol",
        needs: Needs::Packet,
    },
    Field {
        name: "arp.dst.proto_ipv4",
        kind: Kind::Ipv4,
        desc: "ARP target protocol (IPv4) address",
        needs: Needs::Packet,
    },
    Field {
        name: "arp.opcode",
        kind: Kind::UInt,
        desc: "ARP opcode: 1 request, 2 reply",
        needs: Needs::Packet,
    },
    Field {
        name: "arp.src.proto_ipv4",
        kind: Kind::Ipv4,
        desc: "ARP sender protocol (IPv4) address",
        needs: Needs::Packet,
    },
    Field {
        name: "eth",
        kind: Kind::Protocol,
        desc: "Ethernet II",
        needs: Needs::Bytes,
    },
    Field {
        name: "eth.addr",
        kind: Kind::Ether,
        desc: "Ethernet source or destination address",
        needs: Needs::Bytes,
    },
    Field {
        name: "eth.dst",
        kind: Kind::Ether,
        desc: "Ethernet destination address",
        needs: Needs::Bytes,
    },
    Field {
        name: "eth.src",
        kind: Kind::Ether,
        desc: "Ethernet source address",
        needs: Needs::Bytes,
    },
    Field {
        name: "eth.type",
        kind: Kind::Hex { digits: 4 },
        desc: "Ethernet type of the next header (after any VLAN tags: the tag's type)",
        needs: Needs::Bytes,
    },
    Field {
        name: "frame",
        kind: Kind::Protocol,
        desc: "The frame: capture metadata",
        needs: Needs::Packet,
    },
    Field {
        name: "frame.cap_len",
        kind: Kind::UInt,
        desc: "Bytes captured of the frame",
        needs: Needs::Packet,
    },
    Field {
        name: "frame.len",
        kind: Kind::UInt,
        desc: "Bytes of the frame on the wire",
        needs: Needs::Packet,
    },
    Field {
        name: "frame.number",
        kind: Kind::UInt,
        desc: "Frame number in the file, from 1 (frames a filter rejects still count)",
        needs: Needs::Packet,
    },
    Field {
        name: "frame.time_delta",
        kind: Kind::RelTime,
        desc: "Seconds since the previous captured frame",
        needs: Needs::Packet,
    },
    Field {
        name: "frame.time_delta_displayed",
        kind: Kind::RelTime,
        desc: "Seconds since the previous displayed frame",
        needs: Needs::Packet,
    },
    Field {
        name: "frame.time_epoch",
        kind: Kind::AbsTime,
        desc: "Capture time, seconds since 1970-01-01 UTC",
        needs: Needs::Packet,
    },
    Field {
        name: "frame.time_relative",
        kind: Kind::RelTime,
        desc: "Seconds since the first frame",
        needs: Needs::Packet,
    },
    Field {
        name: "icmp",
        kind: Kind::Protocol,
        desc: "Internet Control Message Protocol",
        needs: Needs::Packet,
    },
    Field {
        name: "icmp.code",
        kind: Kind::UInt,
        desc: "ICMP code",
        needs: Needs::Packet,
    },
    Field {
        name: "icmp.type",
        kind: Kind::UInt,
        desc: "ICMP type",
        needs: Needs::Packet,
    },
    Field {
        name: "icmpv6",
        kind: Kind::Protocol,
        desc: "Internet Control Message Protocol v6",
        needs: Needs::Packet,
    },
    Field {
        name: "icmpv6.code",
        kind: Kind::UInt,
        desc: "ICMPv6 code",
        needs: Needs::Packet,
    },
    Field {
        name: "icmpv6.type",
        kind: Kind::UInt,
        desc: "ICMPv6 type",
        needs: Needs::Packet,
    },
    Field {
        name: "ip",
        kind: Kind::Protocol,
        desc: "Internet Protocol version 4",
        needs: Needs::Packet,
    },
    Field {
        name: "ip.addr",
        kind: Kind::Ipv4,
        desc: "IPv4 source or destination address",
        needs: Needs::Packet,
    },
    Field {
        name: "ip.dst",
        kind: Kind::Ipv4,
        desc: "IPv4 destination address",
        needs: Needs::Packet,
    },
    Field {
        name: "ip.flags",
        kind: Kind::Hex { digits: 2 },
        desc: "IPv4 flags byte (0x40 don't fragment, 0x20 more fragments)",
        needs: Needs::Packet,
    },
    Field {
        name: "ip.flags.df",
        kind: Kind::Bool,
        desc: "IPv4 don't-fragment flag",
        needs: Needs::Packet,
    },
    Field {
        name: "ip.flags.mf",
        kind: Kind::Bool,
        desc: "IPv4 more-fragments flag",
        needs: Needs::Packet,
    },
    Field {
        name: "ip.frag_offset",
        kind: Kind::UInt,
        desc: "IPv4 fragment offset in bytes",
        needs: Needs::Packet,
    },
    Field {
        name: "ip.hdr_len",
        kind: Kind::UInt,
        desc: "IPv4 header length in bytes",
        needs: Needs::Packet,
    },
    Field {
        name: "ip.id",
        kind: Kind::Hex { digits: 4 },
        desc: "IPv4 identification",
        needs: Needs::Packet,
    },
    Field {
        name: "ip.len",
        kind: Kind::UInt,
        desc: "IPv4 total length",
        needs: Needs::Packet,
    },
    Field {
        name: "ip.proto",
        kind: Kind::UInt,
        desc: "IPv4 protocol of the payload (6 TCP, 17 UDP, 1 ICMP)",
        needs: Needs::Packet,
    },
    Field {
        name: "ip.src",
        kind: Kind::Ipv4,
        desc: "IPv4 source address",
        needs: Needs::Packet,
    },
    Field {
        name: "ip.ttl",
        kind: Kind::UInt,
        desc: "IPv4 time to live",
        needs: Needs::Packet,
    },
    Field {
        name: "ipv6",
        kind: Kind::Protocol,
        desc: "Internet Protocol version 6",
        needs: Needs::Packet,
    },
    Field {
        name: "ipv6.addr",
        kind: Kind::Ipv6,
        desc: "IPv6 source or destination address",
        needs: Needs::Packet,
    },
    Field {
        name: "ipv6.dst",
        kind: Kind::Ipv6,
        desc: "IPv6 destination address",
        needs: Needs::Packet,
    },
    Field {
        name: "ipv6.hlim",
        kind: Kind::UInt,
        desc: "IPv6 hop limit",
        needs: Needs::Packet,
    },
    Field {
        name: "ipv6.nxt",
        kind: Kind::UInt,
        desc: "IPv6 next header",
        needs: Needs::Packet,
    },
    Field {
        name: "ipv6.plen",
        kind: Kind::UInt,
        desc: "IPv6 payload length",
        needs: Needs::Packet,
    },
    Field {
        name: "ipv6.src",
        kind: Kind::Ipv6,
        desc: "IPv6 source address",
        needs: Needs::Packet,
    },
    Field {
        name: "sll",
        kind: Kind::Protocol,
        desc: "Linux cooked capture (v1 or v2)",
        needs: Needs::Packet,
    },
    Field {
        name: "sll.etype",
        kind: Kind::Hex { digits: 4 },
        desc: "Linux cooked capture protocol (an Ethernet type)",
        needs: Needs::Packet,
    },
    Field {
        name: "sll.pkttype",
        kind: Kind::UInt,
        desc: "Linux cooked capture packet type: 0 to us, 4 sent by us",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp",
        kind: Kind::Protocol,
        desc: "Transmission Control Protocol",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.ack",
        kind: Kind::UInt,
        desc: "Acknowledgment number, relative to the peer's ISN",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.ack_raw",
        kind: Kind::UInt,
        desc: "Acknowledgment number as on the wire",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.ack_lost_segment",
        kind: Kind::None,
        desc: "This ACKs a segment the capture did not see",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.duplicate_ack",
        kind: Kind::None,
        desc: "Duplicate ACK",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.duplicate_ack_frame",
        kind: Kind::FrameNum,
        desc: "The frame this duplicate ACK repeats",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.duplicate_ack_num",
        kind: Kind::UInt,
        desc: "Count of duplicates of that ACK so far",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.fast_retransmission",
        kind: Kind::None,
        desc: "Fast retransmission (after three duplicate ACKs)",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.flags",
        kind: Kind::None,
        desc: "Any TCP analysis label (Wireshark's expert umbrella)",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.initial_rtt",
        kind: Kind::RelTime,
        desc: "First ACK without SYN minus the latest SYN before it",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.keep_alive",
        kind: Kind::None,
        desc: "Keep-alive",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.keep_alive_ack",
        kind: Kind::None,
        desc: "ACK of a keep-alive",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.lost_segment",
        kind: Kind::None,
        desc: "A previous segment was not captured",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.out_of_order",
        kind: Kind::None,
        desc: "Out-of-order segment",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.retransmission",
        kind: Kind::None,
        desc: "Retransmission",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.reused_ports",
        kind: Kind::None,
        desc: "A new SYN reuses the ports of an earlier connection",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.spurious_retransmission",
        kind: Kind::None,
        desc: "Retransmission of data already acknowledged",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.window_full",
        kind: Kind::None,
        desc: "The segment fills the peer's receive window",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.window_update",
        kind: Kind::None,
        desc: "Window update: only the window changed",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.zero_window",
        kind: Kind::None,
        desc: "The sender's receive window is zero",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.zero_window_probe",
        kind: Kind::None,
        desc: "Zero-window probe",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.analysis.zero_window_probe_ack",
        kind: Kind::None,
        desc: "ACK of a zero-window probe",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.dstport",
        kind: Kind::UInt,
        desc: "Destination port",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.flags",
        kind: Kind::Hex { digits: 4 },
        desc: "Flag bits (12): 0x002 SYN, 0x010 ACK, 0x001 FIN, 0x004 RST",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.flags.ack",
        kind: Kind::Bool,
        desc: "ACK flag",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.flags.ae",
        kind: Kind::Bool,
        desc: "Accurate ECN flag (formerly NS)",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.flags.cwr",
        kind: Kind::Bool,
        desc: "Congestion Window Reduced flag",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.flags.ece",
        kind: Kind::Bool,
        desc: "ECN-Echo flag",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.flags.fin",
        kind: Kind::Bool,
        desc: "FIN flag",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.flags.ns",
        kind: Kind::Bool,
        desc: "Nonce flag (now Accurate ECN)",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.flags.push",
        kind: Kind::Bool,
        desc: "PSH flag",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.flags.res",
        kind: Kind::Bool,
        desc: "Reserved bits",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.flags.reset",
        kind: Kind::Bool,
        desc: "RST flag",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.flags.str",
        kind: Kind::Str,
        desc: "The flags as twelve characters, as Wireshark's tree shows them",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.flags.syn",
        kind: Kind::Bool,
        desc: "SYN flag",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.flags.urg",
        kind: Kind::Bool,
        desc: "URG flag",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.hdr_len",
        kind: Kind::UInt,
        desc: "TCP header length in bytes",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.len",
        kind: Kind::UInt,
        desc: "TCP payload length by the IP header",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.nxtseq",
        kind: Kind::UInt,
        desc: "Next sequence number: seq + len (+1 for SYN and FIN)",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.options",
        kind: Kind::Bytes,
        desc: "TCP option bytes",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.options.mss_val",
        kind: Kind::UInt,
        desc: "Maximum segment size option",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.options.sack_le",
        kind: Kind::UInt,
        desc: "SACK block left edge, relative",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.options.sack_perm",
        kind: Kind::None,
        desc: "SACK permitted option",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.options.sack_re",
        kind: Kind::UInt,
        desc: "SACK block right edge, relative",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.options.timestamp.tsecr",
        kind: Kind::UInt,
        desc: "Timestamp echo reply",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.options.timestamp.tsval",
        kind: Kind::UInt,
        desc: "Timestamp value",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.options.wscale.multiplier",
        kind: Kind::UInt,
        desc: "Window scale multiplier (2^shift)",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.options.wscale.shift",
        kind: Kind::UInt,
        desc: "Window scale shift count",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.payload",
        kind: Kind::Bytes,
        desc: "TCP payload bytes",
        needs: Needs::Bytes,
    },
    Field {
        name: "tcp.port",
        kind: Kind::UInt,
        desc: "Source or destination port",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.seq",
        kind: Kind::UInt,
        desc: "Sequence number, relative to the sender's ISN",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.seq_raw",
        kind: Kind::UInt,
        desc: "Sequence number as on the wire",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.srcport",
        kind: Kind::UInt,
        desc: "Source port",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.stream",
        kind: Kind::UInt,
        desc: "TCP stream index, as Wireshark numbers conversations",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.time_delta",
        kind: Kind::RelTime,
        desc: "Seconds since the previous frame of this TCP stream",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.time_relative",
        kind: Kind::RelTime,
        desc: "Seconds since the first frame of this TCP stream",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.urgent_pointer",
        kind: Kind::UInt,
        desc: "Urgent pointer",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.window_size",
        kind: Kind::UInt,
        desc: "Calculated window: the value times the scale factor",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.window_size_scalefactor",
        kind: Kind::Int,
        desc: "Window scale factor: -1 unknown, -2 no scaling used",
        needs: Needs::Packet,
    },
    Field {
        name: "tcp.window_size_value",
        kind: Kind::UInt,
        desc: "Window field as on the wire",
        needs: Needs::Packet,
    },
    Field {
        name: "tcplens",
        kind: Kind::Protocol,
        desc: "tcplens's view of the segment's connection",
        needs: Needs::Packet,
    },
    Field {
        name: "tcplens.conn.abort.side",
        kind: Kind::Str,
        desc: "Who sent the RST that aborted the connection: client or server",
        needs: Needs::Connection,
    },
    Field {
        name: "tcplens.conn.abort.state",
        kind: Kind::Str,
        desc: "The aborting side's state when it sent the RST",
        needs: Needs::Connection,
    },
    Field {
        name: "tcplens.conn.close",
        kind: Kind::Str,
        desc: "How the connection closed: four_way, three_way, simultaneous, reset, none",
        needs: Needs::Connection,
    },
    Field {
        name: "tcplens.conn.closed_by",
        kind: Kind::Str,
        desc: "Who sent the first FIN or RST: client or server",
        needs: Needs::Connection,
    },
    Field {
        name: "tcplens.conn.conn_state",
        kind: Kind::Str,
        desc: "Zeek's conn_state (SF, S0, REJ, RSTO, ...)",
        needs: Needs::Connection,
    },
    Field {
        name: "tcplens.conn.half_closed",
        kind: Kind::Bool,
        desc: "Data flowed toward a side that had sent its FIN",
        needs: Needs::Connection,
    },
    Field {
        name: "tcplens.conn.history",
        kind: Kind::Str,
        desc: "Zeek's history letters",
        needs: Needs::Connection,
    },
    Field {
        name: "tcplens.conn.open",
        kind: Kind::Str,
        desc: "How the connection opened: three_way, simultaneous, refused, no_answer, midstream",
        needs: Needs::Connection,
    },
    Field {
        name: "tcplens.conn.retransmissions",
        kind: Kind::UInt,
        desc: "Segments of the connection labelled retransmissions",
        needs: Needs::Connection,
    },
    Field {
        name: "tcplens.conn.state.client",
        kind: Kind::Str,
        desc: "The client's final state",
        needs: Needs::Connection,
    },
    Field {
        name: "tcplens.conn.state.server",
        kind: Kind::Str,
        desc: "The server's final state",
        needs: Needs::Connection,
    },
    Field {
        name: "tcplens.event",
        kind: Kind::Str,
        desc: "The named moment this segment is: refused, simultaneous_open, simultaneous_close, syn_unanswered, fin_carries_ack, half_close, midstream, abort",
        needs: Needs::Packet,
    },
    Field {
        name: "tcplens.phase",
        kind: Kind::Str,
        desc: "The segment's phase: handshake, data, close, reset",
        needs: Needs::Packet,
    },
    Field {
        name: "tcplens.sender",
        kind: Kind::Str,
        desc: "Who sent the segment: client or server",
        needs: Needs::Packet,
    },
    Field {
        name: "tcplens.state.client",
        kind: Kind::Str,
        desc: "The client's state after the segment",
        needs: Needs::Packet,
    },
    Field {
        name: "tcplens.state.client.before",
        kind: Kind::Str,
        desc: "The client's state before the segment",
        needs: Needs::Packet,
    },
    Field {
        name: "tcplens.state.server",
        kind: Kind::Str,
        desc: "The server's state after the segment",
        needs: Needs::Packet,
    },
    Field {
        name: "tcplens.state.server.before",
        kind: Kind::Str,
        desc: "The server's state before the segment",
        needs: Needs::Packet,
    },
    Field {
        name: "tcplens.step",
        kind: Kind::UInt,
        desc: "The segment's position in its phase, from 1",
        needs: Needs::Packet,
    },
    Field {
        name: "tcplens.transition",
        kind: Kind::Str,
        desc: "A state change the segment caused, as side:FROM>TO (side:FROM>VIA>TO)",
        needs: Needs::Packet,
    },
    Field {
        name: "udp",
        kind: Kind::Protocol,
        desc: "User Datagram Protocol",
        needs: Needs::Packet,
    },
    Field {
        name: "udp.dstport",
        kind: Kind::UInt,
        desc: "UDP destination port",
        needs: Needs::Packet,
    },
    Field {
        name: "udp.length",
        kind: Kind::UInt,
        desc: "UDP length (header and payload)",
        needs: Needs::Packet,
    },
    Field {
        name: "udp.port",
        kind: Kind::UInt,
        desc: "UDP source or destination port",
        needs: Needs::Packet,
    },
    Field {
        name: "udp.srcport",
        kind: Kind::UInt,
        desc: "UDP source port",
        needs: Needs::Packet,
    },
    Field {
        name: "vlan",
        kind: Kind::Protocol,
        desc: "802.1Q virtual LAN tag",
        needs: Needs::Bytes,
    },
    Field {
        name: "vlan.etype",
        kind: Kind::Hex { digits: 4 },
        desc: "Ethernet type after the tag",
        needs: Needs::Bytes,
    },
    Field {
        name: "vlan.id",
        kind: Kind::UInt,
        desc: "VLAN identifier",
        needs: Needs::Bytes,
    },
];

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
            assert!(pair[0].name < pair[1].name, "{} before {}", pair[0].name, pair[1].name);
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
