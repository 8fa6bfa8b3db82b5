//! Bytes → layers. Knows link types, IP and TCP wire formats; knows nothing of connections.
//!
//! Link headers without an etherparse decoder (SLL2, BSD NULL/LOOP) are stripped here, then
//! etherparse's lax slicer takes over from the ether type or the IP version: it keeps what
//! parsed and reports where it stopped, so a frame cut by the snap length still decodes as far
//! as its bytes go. The TCP header and options are read here by hand because etherparse's
//! option iterator stops at kinds it does not know (TFO, MPTCP, experimental), and Wireshark
//! names those. Truncation and malformation are data: every frame decodes to *something*.

use std::net::{IpAddr, Ipv4Addr};

use etherparse::{EtherType, IpNumber, LaxNetSlice, LaxSlicedPacket, TransportSlice};

pub mod defrag;
mod encap;
mod link;

/// TCP flag bits as Wireshark numbers them in `tcp.flags` (12 bits).
pub mod flags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
    pub const URG: u16 = 0x020;
    pub const ECE: u16 = 0x040;
    pub const CWR: u16 = 0x080;
    /// Accurate ECN (RFC 9768), formerly NS; Wireshark 4.0 still calls it NS.
    pub const NS: u16 = 0x100;
    pub const RESERVED: u16 = 0xe00;
}

/// A decoded frame: what each layer said, and where decoding stopped if it did.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub ip: Option<Ip>,
    pub payload: Payload,
    /// Set when decoding could not go as far as the frame claims (cut or malformed).
    pub stop: Option<Stop>,
    /// Where each layer starts in the frame's bytes, for fields read from them on demand.
    pub layers: Layers,
}

/// The link type and where the network header, the transport header and the TCP payload start
/// in the frame's bytes. Fields that only a display filter or `-T fields` asks for (TTL, MAC
/// addresses, the payload) are read from the bytes through these, when the bytes are kept,
/// instead of being decoded for every frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layers {
    pub linktype: u32,
    net: u32,
    transport: u32,
    payload: u32,
}

impl Layers {
    const ABSENT: u32 = u32::MAX;
    pub const NONE: Layers = Layers {
        linktype: 0,
        net: Layers::ABSENT,
        transport: Layers::ABSENT,
        payload: Layers::ABSENT,
    };

    /// Only the network header's offset known (a reassembled datagram's frame).
    pub fn network_only(net: usize) -> Layers {
        Layers {
            net: net as u32,
            ..Layers::NONE
        }
    }

    fn at(v: Option<usize>) -> u32 {
        v.map_or(Layers::ABSENT, |v| v as u32)
    }

    fn get(v: u32) -> Option<usize> {
        (v != Layers::ABSENT).then_some(v as usize)
    }

    /// The IPv4, IPv6 or ARP header.
    pub fn net(&self) -> Option<usize> {
        Layers::get(self.net)
    }

    /// The TCP, UDP or ICMP header (not for fragments).
    pub fn transport(&self) -> Option<usize> {
        Layers::get(self.transport)
    }

    /// The TCP payload.
    pub fn payload(&self) -> Option<usize> {
        Layers::get(self.payload)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    /// Set when this datagram is an IP fragment (tcplens does not reassemble).
    pub fragment: Option<Fragment>,
    /// The datagram's length as its header gives it: IPv4's total length, IPv6's payload
    /// length + 40 (Zeek's `IP_Hdr::TotalLen`, which conn.log's `*_ip_bytes` sum).
    pub len: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// Offset in bytes.
    pub offset: u32,
    pub id: u32,
    pub more: bool,
}

#[derive(Debug, Clone)]
pub enum Payload {
    Tcp(Tcp),
    /// The TCP header is cut short; only what the bytes held.
    TcpPartial {
        sport: Option<u16>,
        dport: Option<u16>,
        cut: Cut,
    },
    Udp {
        sport: u16,
        dport: u16,
        len: u16,
    },
    Icmp {
        v6: bool,
        typ: u8,
        code: u8,
    },
    Arp {
        op: u16,
        sender: Ipv4Addr,
        target: Ipv4Addr,
    },
    /// An IP fragment whose datagram this frame does not complete: where its bytes start in
    /// the frame and how many there are (0 when the capture cut them).
    Fragment {
        at: u32,
        len: u32,
    },
    /// An IP protocol tcplens does not decode.
    OtherIp,
    /// A link-layer protocol tcplens does not decode.
    OtherLink {
        ethertype: u16,
    },
    /// Nothing above the link layer could be read.
    Undecoded,
}

/// A TCP header: fixed part complete, options as far as the capture and IP length allow.
#[derive(Debug, Clone, Copy)]
pub struct Tcp {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    /// Header length in bytes from the data offset (may be bogus, i.e. < 20).
    pub hdr_len: u8,
    pub flags: u16,
    pub window: u16,
    pub urgent: u16,
    /// Option bytes present in the frame (captured, and inside the IP length).
    pub options: OptionBytes,
    /// Option bytes the header declares (`hdr_len - 20`).
    pub options_len: usize,
    /// The shift of a well-formed window scale option, if the header has one: found once
    /// here, on the source's thread, because the tracker asks on every segment.
    pub window_scale: Option<u8>,
    /// The header carries a well-formed AccECN option (RFC 9768 §3.2.3), after which
    /// Wireshark prints its sender's flags as the ACE counter; found in the same walk.
    pub acc_ecn: bool,
    /// Whether the header has a SACK option (RFC 2018): found in the same walk, so that the
    /// tracker reads the blocks (for bytes in flight) only when there are some.
    pub sack: bool,
    /// Payload length by the IP header (Wireshark's `tcp.len`), even when the capture cut it.
    pub len: u32,
    /// The IP length leaves less than the header: Wireshark then tracks nothing for it.
    pub short: bool,
    /// Why the header ends before its declared length, if it does.
    pub cut: Option<Cut>,
}

/// How a header came to be incomplete, with the marker Wireshark appends to Info.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The capture's snap length cut it: `[Packet size limited during capture]`.
    Snaplen,
    /// The IP length leaves no room for it: `[Malformed Packet]`.
    Malformed,
}

impl Cut {
    pub fn marker(self) -> &'static str {
        match self {
            Cut::Snaplen => "[Packet size limited during capture]",
            Cut::Malformed => "[Malformed Packet]",
        }
    }
}

impl Tcp {
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
}

/// A well-formed 20-byte header with no flags, for tests to override (`..TCP_TEMPLATE`), as
/// smoltcp's tests build segments from `SEND_TEMPL`.
#[cfg(test)]
pub const TCP_TEMPLATE: Tcp = Tcp {
    sport: 5201,
    dport: 5200,
    seq: 0,
    ack: 0,
    hdr_len: 20,
    flags: 0,
    window: 65535,
    urgent: 0,
    options: OptionBytes::EMPTY,
    options_len: 0,
    window_scale: None,
    acc_ecn: false,
    sack: false,
    len: 0,
    short: false,
    cut: None,
};

/// A TCP header's option bytes, copied out of the frame: at most 40, the most a header's data
/// offset allows. A copy rather than a slice of the frame so that a [`Decoded`] frame borrows
/// nothing and can be decoded on the source's thread (see `source::Frame::decoded`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct OptionBytes {
    len: u8,
    bytes: [u8; 40],
}

impl OptionBytes {
    pub const EMPTY: OptionBytes = OptionBytes {
        len: 0,
        bytes: [0; 40],
    };

    /// The first 40 of `b` (a header never has more).
    pub fn new(b: &[u8]) -> OptionBytes {
        let mut o = OptionBytes::EMPTY;
        let n = b.len().min(o.bytes.len());
        o.bytes[..n].copy_from_slice(&b[..n]);
        o.len = n as u8;
        o
    }
}

impl std::ops::Deref for OptionBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl std::fmt::Debug for OptionBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

/// Where decoding stopped and why, for the row's marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    pub layer: Layer,
    pub reason: Reason,
}

/// The layer at which decoding stopped (its name as Wireshark's protocol column says it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The link type itself: one tcplens has no decoder for.
    Link,
    Ethernet,
    Sll,
    Sll2,
    Null,
    Ppp,
    Chdlc,
    Nflog,
    Wlan,
    Radiotap,
    Ipoib,
    Arcnet,
    Juniper,
    Vlan,
    Mpls,
    Pppoe,
    Pbb,
    VnTag,
    FabricPath,
    Erspan,
    Gre,
    Vxlan,
    Geneve,
    Gtp,
    Macsec,
    Ip,
    Ipv4,
    Ipv6,
    Ipv6Ext,
    IpAuth,
    Udp,
    Tcp,
    Icmp,
    Icmpv6,
    Packet,
}

impl Layer {
    pub fn name(self) -> &'static str {
        match self {
            Layer::Link => "link",
            Layer::Ethernet => "Ethernet",
            Layer::Sll => "SLL",
            Layer::Sll2 => "SLL2",
            Layer::Null => "Null/Loopback",
            Layer::Ppp => "PPP",
            Layer::Chdlc => "CHDLC",
            Layer::Nflog => "NFLOG",
            Layer::Wlan => "802.11",
            Layer::Radiotap => "Radiotap",
            Layer::Ipoib => "IPoIB",
            Layer::Arcnet => "ARCNET",
            Layer::Juniper => "Juniper",
            Layer::Vlan => "VLAN",
            Layer::Mpls => "MPLS",
            Layer::Pppoe => "PPPoE",
            Layer::Pbb => "PBB",
            Layer::VnTag => "VN-Tag",
            Layer::FabricPath => "CFP",
            Layer::Erspan => "ERSPAN",
            Layer::Gre => "GRE",
            Layer::Vxlan => "VXLAN",
            Layer::Geneve => "Geneve",
            Layer::Gtp => "GTP",
            Layer::Macsec => "MACsec",
            Layer::Ip => "IP",
            Layer::Ipv4 => "IPv4",
            Layer::Ipv6 => "IPv6",
            Layer::Ipv6Ext => "IPv6 extension header",
            Layer::IpAuth => "IP auth header",
            Layer::Udp => "UDP",
            Layer::Tcp => "TCP",
            Layer::Icmp => "ICMP",
            Layer::Icmpv6 => "ICMPv6",
            Layer::Packet => "packet",
        }
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why decoding stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The frame ends inside the layer's header: `have` of the `need` bytes it takes.
    Cut { have: usize, need: usize },
    /// The TCP header is cut: `have` of its `need` bytes.
    TcpCut { have: usize, need: usize },
    /// A TCP data offset below 20 bytes.
    BogusTcpHeaderLength(u8),
    /// etherparse's verdict on a layer it slices.
    Slice(etherparse::err::packet::SliceError),
    /// etherparse's verdict on a raw IP frame's first header.
    IpHeader(etherparse::err::ip::LaxHeaderSliceError),
    /// A link type tcplens has no decoder for (the frame is a row, not the file an error).
    LinkType(u32),
    /// A BSD loopback address family that is not IPv4 or IPv6.
    AddressFamily(u32),
    /// The layer carries a protocol tcplens does not decode (PPP protocol, ERSPAN version,
    /// NFLOG family, a Geneve protocol type …): its number.
    Protocol(u32),
    /// An 802.11 frame that carries no data (management, control, protected or null data).
    NotData,
    /// Tunnels nested deeper than tcplens follows (a bound against crafted frames).
    TooDeep,
    /// An IPv4 option (its kind) shorter than what Wireshark's dissector reads of it.
    IpOption(u8),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Cut { have, need } => write!(f, "{have} of {need} bytes"),
            Reason::TcpCut { have, need } => write!(f, "header cut at {have} of {need} bytes"),
            Reason::BogusTcpHeaderLength(n) => write!(f, "bogus header length {n}"),
            Reason::Slice(e) => write!(f, "{e}"),
            Reason::IpHeader(e) => write!(f, "{e}"),
            Reason::LinkType(t) => write!(f, "unsupported link type {t}"),
            Reason::AddressFamily(a) => write!(f, "address family {a}"),
            Reason::Protocol(p) => write!(f, "protocol 0x{p:04x} not decoded"),
            Reason::NotData => f.write_str("not a data frame"),
            Reason::TooDeep => f.write_str("tunnels nested too deep"),
            Reason::IpOption(k) => write!(f, "malformed option {k}"),
        }
    }
}

impl Stop {
    fn new(layer: Layer, reason: Reason) -> Stop {
        Stop { layer, reason }
    }

    /// The frame ended inside `layer`'s header.
    fn cut(layer: Layer, have: usize, need: usize) -> Stop {
        Stop::new(layer, Reason::Cut { have, need })
    }

    /// Decoding went as far as it could, not that the bytes were wrong: a link type, a
    /// protocol or a frame kind tcplens does not decode.
    pub fn is_not_decoded(&self) -> bool {
        matches!(
            self.reason,
            Reason::LinkType(_) | Reason::Protocol(_) | Reason::NotData | Reason::AddressFamily(_)
        )
    }
}

impl Decoded {
    fn stopped(stop: Stop) -> Decoded {
        Decoded {
            ip: None,
            payload: Payload::Undecoded,
            stop: Some(stop),
            layers: Layers::NONE,
        }
    }
}

/// Decodes one frame of link type `linktype` (LINKTYPE_*), `origlen` bytes on the wire.
/// Like Wireshark's tvbuffs, an IP header's length counts only as far as the frame went on
/// the wire (packet-ip.c shrinks the tvb to the IP length, never grows it): a total length
/// beyond the frame gives TCP the bytes the frame had, so `tcp.len` comes from them.
pub fn decode(linktype: u32, data: &[u8], origlen: u32) -> Decoded {
    let wire = (origlen as usize).max(data.len());
    // Most captured frames are TCP in plain IPv4 behind Ethernet or Linux cooked headers.
    let ipv4 = match linktype {
        1 if data.get(12..14) == Some(&[0x08, 0x00]) => data.get(14..),
        113 if data.get(14..16) == Some(&[0x08, 0x00]) => data.get(16..),
        276 if data.get(0..2) == Some(&[0x08, 0x00]) => data.get(20..),
        _ => None,
    };
    let net = data.len() - ipv4.map_or(0, <[u8]>::len);
    if let Some(mut decoded) = ipv4.and_then(|ip| plain_ipv4_tcp(ip, wire - net)) {
        decoded.layers = Layers {
            linktype,
            net: net as u32,
            transport: net as u32 + 20,
            payload: match &decoded.payload {
                Payload::Tcp(t) if t.hdr_len >= 20 => net as u32 + 20 + t.hdr_len as u32,
                _ => Layers::ABSENT,
            },
        };
        return decoded;
    }
    decode_sliced(linktype, data, wire)
}

/// TCP in an IPv4 datagram without options or fragmentation, whose header the frame holds:
/// decoded directly, to exactly what the etherparse path gives for it (the test
/// `plain_ipv4_tcp_matches_etherparse` compares the two on every fixture frame cut at every
/// length). etherparse's general slicer moves large structs around for every layer and was
/// half of decode's cost in the profile. Anything else returns None for the general path.
fn plain_ipv4_tcp(ip: &[u8], wire: usize) -> Option<Decoded> {
    let h = ip.get(..20)?;
    let total = (u16::from_be_bytes([h[2], h[3]]) as usize).min(wire);
    let fragmenting = u16::from_be_bytes([h[6], h[7]]) & 0x3fff != 0;
    if h[0] != 0x45 || h[9] != 6 || total < 20 || fragmenting {
        return None;
    }
    // Bytes past the IP length are link padding; a shorter frame was cut by the snap length,
    // and the IP length still tells how long the segment was (as reported_len does).
    let payload = ip.get(20..total.min(ip.len()))?;
    let (payload, stop) = tcp(payload, total - 20);
    Some(Decoded {
        ip: Some(Ip {
            src: IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15])),
            dst: IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19])),
            proto: 6,
            fragment: None,
            len: u32::from(u16::from_be_bytes([h[2], h[3]])),
        }),
        payload,
        stop,
        layers: Layers::NONE,
    })
}

/// The general path: link headers and encapsulations walked here, network layers sliced by
/// etherparse.
fn decode_sliced(linktype: u32, data: &[u8], wire: usize) -> Decoded {
    let mut decoded = decode_layers(linktype, data, wire);
    decoded.layers.linktype = linktype;
    decoded
}

/// What the bytes at an offset are, as far as the walk knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// An Ethernet II header: addresses, then an ether type.
    Ethernet,
    /// The payload of a layer that named it by ether type.
    EtherType(u16),
    /// An IP header, its version from the first nibble.
    Ip,
}

/// Tunnels and tags followed before the walk gives up: more than real networks nest, few
/// enough that a crafted frame of nested tunnels costs little.
const MAX_LAYERS: usize = 16;

fn decode_layers(linktype: u32, mut data: &[u8], mut wire: usize) -> Decoded {
    let (mut next, mut at) = match link::start(linktype, data) {
        Ok(start) => start,
        Err(stop) => return Decoded::stopped(stop),
    };
    // The datagram around the tunnel being walked: where an inner layer stops, the frame is
    // that datagram, with the inner stop (Wireshark shows the outer IP header's fields then).
    let mut outer: Option<Decoded> = None;
    let stopped = |outer: Option<Decoded>, stop: Stop| match outer {
        Some(mut o) => {
            o.stop = Some(stop);
            o
        }
        None => Decoded::stopped(stop),
    };
    for _ in 0..MAX_LAYERS {
        let rest = data.get(at..).unwrap_or_default();
        let sliced = match next {
            Next::Ethernet => {
                let Some(t) = be16(data, at + 12) else {
                    return stopped(outer, Stop::cut(Layer::Ethernet, rest.len(), 14));
                };
                (next, at) = (Next::EtherType(t), at + 14);
                continue;
            }
            Next::EtherType(t) => match encap::ether(t, data, at) {
                encap::Step::Next(n, a) if t == 0x8903 => {
                    // packet-cfp.c takes the frame's last 4 bytes as the FabricPath FCS: the
                    // inner frame ends before them, on the wire and in the captured bytes.
                    wire = wire.saturating_sub(4);
                    data = &data[..data.len().min(wire)];
                    (next, at) = (n, a);
                    continue;
                }
                encap::Step::Next(n, a) => {
                    (next, at) = (n, a);
                    continue;
                }
                encap::Step::Stop(stop) => return stopped(outer, stop),
                encap::Step::Here => LaxSlicedPacket::from_ether_type(EtherType(t), rest),
            },
            Next::Ip => match LaxSlicedPacket::from_ip(rest) {
                Ok(p) => p,
                Err(e) => return stopped(outer, Stop::new(Layer::Ip, Reason::IpHeader(e))),
            },
        };
        let mut decoded = from_sliced(&sliced, data, wire);
        decoded.layers = layers(&sliced, data, &decoded);
        match tunnel(&sliced, &decoded, data) {
            Some(encap::Step::Next(n, a)) => {
                (next, at) = (n, a);
                outer = Some(decoded);
            }
            Some(encap::Step::Stop(stop)) => return stopped(Some(decoded), stop),
            Some(encap::Step::Here) | None => return decoded,
        }
    }
    stopped(outer, Stop::new(Layer::Packet, Reason::TooDeep))
}

/// The tunnel an unfragmented IP payload holds (IP in IP, GRE, a UDP port bound to VXLAN,
/// Geneve or GTP-U), if it is one.
fn tunnel(p: &LaxSlicedPacket<'_>, decoded: &Decoded, frame: &[u8]) -> Option<encap::Step> {
    let offset = |s: &[u8]| (s.as_ptr() as usize).checked_sub(frame.as_ptr() as usize);
    let payload = match &p.net {
        Some(LaxNetSlice::Ipv4(v4)) if !v4.payload().fragmented => v4.payload(),
        Some(LaxNetSlice::Ipv6(v6)) if !v6.payload().fragmented => v6.payload(),
        _ => return None,
    };
    match &decoded.payload {
        Payload::OtherIp => encap::in_ip(payload.ip_number.0, frame, offset(payload.payload)?),
        Payload::Udp { sport, dport, .. } => {
            let Some(TransportSlice::Udp(u)) = &p.transport else {
                return None;
            };
            encap::in_udp(*sport, *dport, frame, offset(u.payload())?)
        }
        _ => None,
    }
}

/// Where the layers etherparse found start in `frame`.
fn layers(p: &LaxSlicedPacket<'_>, frame: &[u8], decoded: &Decoded) -> Layers {
    let offset = |s: &[u8]| (s.as_ptr() as usize).checked_sub(frame.as_ptr() as usize);
    let (net, transport) = match &p.net {
        None => (None, None),
        Some(LaxNetSlice::Arp(arp)) => (offset(arp.slice()), None),
        Some(LaxNetSlice::Ipv4(v4)) => (
            offset(v4.header().slice()),
            (!v4.payload().fragmented)
                .then(|| offset(v4.payload().payload))
                .flatten(),
        ),
        Some(LaxNetSlice::Ipv6(v6)) => (
            offset(v6.header().slice()),
            (!v6.payload().fragmented)
                .then(|| offset(v6.payload().payload))
                .flatten(),
        ),
    };
    let payload = match (&decoded.payload, transport) {
        (Payload::Tcp(t), Some(at)) if t.hdr_len >= 20 => Some(at + t.hdr_len as usize),
        _ => None,
    };
    Layers {
        linktype: 0,
        net: Layers::at(net),
        transport: Layers::at(transport),
        payload: Layers::at(payload),
    }
}

/// `wire`: the frame's length on the wire, where every IP length is cut.
fn from_sliced<'a>(p: &LaxSlicedPacket<'a>, frame: &'a [u8], wire: usize) -> Decoded {
    let wire_end = frame.as_ptr() as usize + wire;
    let stop = p
        .stop_err
        .as_ref()
        .map(|(err, layer)| Stop::new(layer_of(*layer), Reason::Slice(err.clone())));
    let (ip, ip_payload) = match &p.net {
        None => {
            let ethertype = p
                .link_exts
                .last()
                .and_then(|ext| match ext {
                    etherparse::LaxLinkExtSlice::Vlan(v) => Some(v.ether_type().0),
                    _ => None,
                })
                .or_else(|| match &p.link {
                    Some(etherparse::LinkSlice::Ethernet2(e)) => Some(e.ether_type().0),
                    Some(etherparse::LinkSlice::LinuxSll(s)) => match s.protocol_type() {
                        etherparse::LinuxSllProtocolType::EtherType(t) => Some(t.0),
                        _ => None,
                    },
                    Some(etherparse::LinkSlice::EtherPayload(e)) => Some(e.ether_type.0),
                    Some(etherparse::LinkSlice::LinuxSllPayload(_)) | None => None,
                })
                .unwrap_or(0);
            let payload = if stop.is_some() {
                Payload::Undecoded
            } else {
                Payload::OtherLink { ethertype }
            };
            return Decoded {
                ip: None,
                payload,
                stop,
                layers: Layers::NONE,
            };
        }
        Some(LaxNetSlice::Arp(arp)) => {
            let s = arp.slice();
            let payload = match (be16(s, 6), ipv4_at(s, 14), ipv4_at(s, 24)) {
                (Some(op), Some(sender), Some(target)) => Payload::Arp { op, sender, target },
                _ => Payload::Undecoded,
            };
            return Decoded {
                ip: None,
                payload,
                stop,
                layers: Layers::NONE,
            };
        }
        Some(LaxNetSlice::Ipv4(v4)) => {
            let h = v4.header();
            let frag = h.is_fragmenting_payload().then(|| Fragment {
                offset: h.fragments_offset().byte_offset() as u32,
                id: h.identification() as u32,
                more: h.more_fragments(),
            });
            let options = ipv4_options(h.options());
            let ip = Ip {
                src: IpAddr::V4(h.source_addr()),
                dst: IpAddr::V4(options.route_dst.unwrap_or(h.destination_addr())),
                proto: h.protocol().0,
                fragment: frag,
                len: u32::from(h.total_len()),
            };
            if let Some(kind) = options.malformed {
                // packet-ip.c's option dissector read past the option: the exception ends
                // the frame's dissection at IP, so TShark has no TCP for it either.
                return Decoded {
                    ip: Some(ip),
                    payload: Payload::Undecoded,
                    stop: Some(Stop::new(Layer::Ipv4, Reason::IpOption(kind))),
                    layers: Layers::NONE,
                };
            }
            let pl = v4.payload();
            let start = h.slice().as_ptr() as usize;
            let total = (h.total_len() as usize).min(wire_end.saturating_sub(start));
            (ip, Some((pl, reported_len(pl, start, total))))
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            let pl = v6.payload();
            let frag = v6.is_payload_fragmented().then(|| {
                // etherparse does not expose the fragment header's fields through the lax
                // slice, so read them from the bytes just before the payload.
                let frag_hdr = (pl.payload.as_ptr() as usize)
                    .checked_sub(frame.as_ptr() as usize)
                    .and_then(|end| end.checked_sub(8))
                    .and_then(|at| frame.get(at..at + 8));
                match frag_hdr {
                    Some(f) => Fragment {
                        offset: (u16::from_be_bytes([f[2], f[3]]) & 0xfff8) as u32,
                        id: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
                        more: f[3] & 1 == 1,
                    },
                    None => Fragment {
                        offset: 0,
                        id: 0,
                        more: false,
                    },
                }
            });
            let ip = Ip {
                src: IpAddr::V6(h.source_addr()),
                dst: IpAddr::V6(h.destination_addr()),
                proto: pl.ip_number.0,
                fragment: frag,
                len: 40 + u32::from(h.payload_length()),
            };
            let start = h.slice().as_ptr() as usize;
            let total = (40 + h.payload_length() as usize).min(wire_end.saturating_sub(start));
            (ip, Some((pl, reported_len(pl, start, total))))
        }
    };
    let Some((pl, reported)) = ip_payload else {
        return Decoded {
            ip: Some(ip),
            payload: Payload::Undecoded,
            stop,
            layers: Layers::NONE,
        };
    };
    if pl.fragmented {
        // The fragment's bytes, for reassembly: only those the capture holds, and only
        // when it holds all the IP length says (a cut fragment cannot complete a datagram).
        let at = (pl.payload.as_ptr() as usize).saturating_sub(frame.as_ptr() as usize);
        let whole = pl.payload.len() >= reported;
        return Decoded {
            ip: Some(ip),
            payload: Payload::Fragment {
                at: at as u32,
                len: if whole { reported as u32 } else { 0 },
            },
            stop,
            layers: Layers::NONE,
        };
    }
    let payload = match pl.ip_number {
        IpNumber::TCP => {
            let (payload, tcp_stop) = tcp(pl.payload, reported);
            return Decoded {
                ip: Some(ip),
                payload,
                stop: tcp_stop.or(stop),
                layers: Layers::NONE,
            };
        }
        IpNumber::UDP => match &p.transport {
            Some(TransportSlice::Udp(u)) => Payload::Udp {
                sport: u.source_port(),
                dport: u.destination_port(),
                len: u.length(),
            },
            _ => Payload::Undecoded,
        },
        IpNumber::ICMP => match &p.transport {
            Some(TransportSlice::Icmpv4(i)) => Payload::Icmp {
                v6: false,
                typ: i.type_u8(),
                code: i.code_u8(),
            },
            _ => Payload::Undecoded,
        },
        IpNumber::IPV6_ICMP => match &p.transport {
            Some(TransportSlice::Icmpv6(i)) => Payload::Icmp {
                v6: true,
                typ: i.type_u8(),
                code: i.code_u8(),
            },
            _ => Payload::Undecoded,
        },
        _ => Payload::OtherIp,
    };
    Decoded {
        ip: Some(ip),
        payload,
        stop,
        layers: Layers::NONE,
    }
}

/// Length of the IP payload as the IP header reports it: the captured slice when whole,
/// otherwise the header's length minus the header bytes before the payload.
fn reported_len(pl: &etherparse::LaxIpPayloadSlice<'_>, ip_start: usize, ip_total: usize) -> usize {
    if !pl.incomplete {
        return pl.payload.len();
    }
    let header_bytes = (pl.payload.as_ptr() as usize).saturating_sub(ip_start);
    ip_total.saturating_sub(header_bytes).max(pl.payload.len())
}

/// What IPv4 options change for tcplens (packet-ip.c `dissect_ip_options`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Ipv4Options {
    /// A loose or strict source route not yet complete: Wireshark's `ip.dst`, and the
    /// conversation's address, is the route's last address (RFC 791 §3.1: the final
    /// destination), not the next hop in the header.
    route_dst: Option<Ipv4Addr>,
    /// The kind of an option shorter than the fields its Wireshark dissector reads, which
    /// throws and ends the frame's dissection at IP.
    malformed: Option<u8>,
}

fn ipv4_options(opts: &[u8]) -> Ipv4Options {
    let mut out = Ipv4Options::default();
    let mut at = 0;
    while let Some(&kind) = opts.get(at) {
        // EOL and NOP have no length; Wireshark goes on after an EOL too.
        if kind <= 1 {
            at += 1;
            continue;
        }
        // A missing, too small or overlong length ends the walk with an expert note only.
        let Some(&len) = opts.get(at + 1) else { break };
        let len = len as usize;
        if len < 2 || at + len > opts.len() {
            break;
        }
        let opt = &opts[at..at + len];
        // The bytes each option dissector reads whatever the length says: Security (fixed
        // 11), Stream ID, MTU probe/reply and Router Alert (4), Quick-Start (8), Traceroute
        // (12), the routes' and timestamp's pointer (3, 4), CIPSO's DOI (6).
        let reads = match kind {
            130 => 11,
            136 | 11 | 12 | 148 => 4,
            25 => 8,
            82 => 12,
            7 | 131 | 137 => 3,
            68 => 4,
            134 => 6,
            _ => 0,
        };
        if len < reads {
            out.malformed = Some(kind);
            return out;
        }
        if matches!(kind, 131 | 137) {
            // dissect_ipopt_route: a pointer before the first address or inside one ends the
            // option; the last address is the destination while the pointer has not passed
            // the end (the route is not complete).
            let ptr = opt[2] as usize;
            if ptr >= 4 && ptr & 3 == 0 && ptr <= len && len >= 7 {
                let a = &opt[len - 4..];
                out.route_dst = Some(Ipv4Addr::new(a[0], a[1], a[2], a[3]));
            }
        }
        at += len;
    }
    out
}

/// Reads a TCP header from the IP payload; `reported` is the payload length by the IP header.
fn tcp(b: &[u8], reported: usize) -> (Payload, Option<Stop>) {
    let cut_at = |need: usize| {
        if reported < need {
            Cut::Malformed
        } else {
            Cut::Snaplen
        }
    };
    if b.len() < 20 {
        return short_tcp(b, reported, cut_at(20));
    }
    let hdr_len = (b[12] >> 4) * 4;
    let declared = (hdr_len as usize).max(20);
    let available = b.len().min(reported.max(20));
    let options = OptionBytes::new(&b[20..declared.min(available)]);
    let cut = (available < declared).then(|| cut_at(declared));
    let stop = if hdr_len < 20 {
        Some(Stop::new(Layer::Tcp, Reason::BogusTcpHeaderLength(hdr_len)))
    } else {
        cut.map(|_| {
            Stop::new(
                Layer::Tcp,
                Reason::TcpCut {
                    have: available,
                    need: hdr_len as usize,
                },
            )
        })
    };
    let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let mut seg = Tcp {
        sport: u16::from_be_bytes([b[0], b[1]]),
        dport: u16::from_be_bytes([b[2], b[3]]),
        seq: word(4),
        ack: word(8),
        hdr_len,
        flags: u16::from_be_bytes([b[12], b[13]]) & 0x0fff,
        window: u16::from_be_bytes([b[14], b[15]]),
        urgent: u16::from_be_bytes([b[18], b[19]]),
        options,
        options_len: declared - 20,
        window_scale: None,
        acc_ecn: false,
        sack: false,
        len: reported.saturating_sub(hdr_len as usize) as u32,
        short: reported < hdr_len as usize,
        cut,
    };
    let scan = scan_options(&seg);
    (seg.window_scale, seg.acc_ecn, seg.sack) = (scan.window_scale, scan.acc_ecn, scan.sack);
    (Payload::Tcp(seg), stop)
}

/// A TCP header of fewer than 20 bytes: cut by the snap length, or by the IP length (or the
/// frame's end) when `cut` is Malformed.
fn short_tcp(b: &[u8], reported: usize, cut: Cut) -> (Payload, Option<Stop>) {
    let stop = Some(Stop::new(
        Layer::Tcp,
        Reason::TcpCut {
            have: b.len(),
            need: 20,
        },
    ));
    if b.len() >= 16 && reported < 20 {
        // packet-tcp.c reads ports, sequence and acknowledgment numbers, flags and window
        // (the first 16 bytes) and puts them in Info before it reads the checksum; when the IP
        // length (or the frame's end) comes first, the exception follows the window: Info has
        // everything but Len, and the segment is not tracked (`short`).
        let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let seg = Tcp {
            sport: u16::from_be_bytes([b[0], b[1]]),
            dport: u16::from_be_bytes([b[2], b[3]]),
            seq: word(4),
            ack: word(8),
            hdr_len: (b[12] >> 4) * 4,
            flags: u16::from_be_bytes([b[12], b[13]]) & 0x0fff,
            window: u16::from_be_bytes([b[14], b[15]]),
            urgent: 0,
            options: OptionBytes::EMPTY,
            options_len: 0,
            window_scale: None,
            acc_ecn: false,
            sack: false,
            len: 0,
            short: true,
            cut: Some(Cut::Malformed),
        };
        return (Payload::Tcp(seg), stop);
    }
    (
        Payload::TcpPartial {
            sport: be16(b, 0),
            dport: be16(b, 2),
            cut,
        },
        stop,
    )
}

/// An Ethernet II header: what `eth.*` fields read from a frame's kept bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetHeader {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    pub ethertype: u16,
}

/// The Ethernet header of a frame of link type `layers.linktype`, if it has one.
pub fn ethernet(layers: &Layers, bytes: &[u8]) -> Option<EthernetHeader> {
    let h = bytes.get(..14).filter(|_| layers.linktype == 1)?;
    Some(EthernetHeader {
        dst: h[0..6].try_into().ok()?,
        src: h[6..12].try_into().ok()?,
        ethertype: u16::from_be_bytes([h[12], h[13]]),
    })
}

/// One 802.1Q/802.1ad tag: its TCI and the ether type after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanTag {
    pub tci: u16,
    pub ethertype: u16,
}

/// The VLAN tags after an Ethernet header, outermost first (as etherparse reads them: up to
/// the network header).
pub fn vlan_tags(layers: &Layers, bytes: &[u8]) -> impl Iterator<Item = VlanTag> {
    let mut at = 12;
    let end = layers.net().unwrap_or(bytes.len());
    let ethernet = layers.linktype == 1;
    std::iter::from_fn(move || {
        let typ = be16(bytes, at).filter(|_| ethernet)?;
        if !matches!(typ, 0x8100 | 0x88a8 | 0x9100) || at + 6 > end {
            return None;
        }
        let tag = VlanTag {
            tci: be16(bytes, at + 2)?,
            ethertype: be16(bytes, at + 4)?,
        };
        at += 4;
        Some(tag)
    })
}

/// A Linux cooked capture header (SLL or SLL2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SllHeader {
    pub pkttype: u16,
    pub hatype: u16,
    pub ethertype: u16,
    /// SLL2 only.
    pub ifindex: Option<u32>,
    /// The link-layer source address, when it is a 6-byte (Ethernet-like) one.
    pub src_eth: Option<[u8; 6]>,
}

pub fn sll(layers: &Layers, bytes: &[u8]) -> Option<SllHeader> {
    // SLL: pkttype, hatype, halen, 8 address bytes, protocol; SLL2: protocol, reserved,
    // ifindex, hatype, pkttype (1 byte), halen (1 byte), 8 address bytes.
    let (pkttype, hatype, ethertype, ifindex, halen, addr) = match layers.linktype {
        113 => (
            be16(bytes, 0)?,
            be16(bytes, 2)?,
            be16(bytes, 14)?,
            None,
            be16(bytes, 4)?,
            bytes.get(6..12),
        ),
        276 => (
            *bytes.get(10)? as u16,
            be16(bytes, 8)?,
            be16(bytes, 0)?,
            Some(u32::from_be_bytes(bytes.get(4..8)?.try_into().ok()?)),
            *bytes.get(11)? as u16,
            bytes.get(12..18),
        ),
        _ => return None,
    };
    // ARPHRD_ETHER and ARPHRD_LOOPBACK carry Ethernet addresses (Wireshark's sll.src.eth).
    let src_eth = (matches!(hatype, 1 | 772) && halen == 6)
        .then(|| addr.and_then(|a| a.try_into().ok()))
        .flatten();
    Some(SllHeader {
        pkttype,
        hatype,
        ethertype,
        ifindex,
        src_eth,
    })
}

/// Wireshark's wiretap encapsulation number for a link type (`frame.encap_type`).
pub fn encap_type(linktype: u32) -> Option<i64> {
    Some(match linktype {
        1 => 1,
        0 => 15,
        12 | 101 => 7,
        108 => 15,
        113 => 25,
        228 => 129,
        229 => 130,
        276 => 210,
        _ => return None,
    })
}

/// `frame.protocols` as Wireshark builds it for the layers tcplens decodes, with `data` for
/// an undissected payload (`eth:ethertype:ip:tcp:data`), application protocols left out.
pub fn protocols(decoded: &Decoded, bytes: &[u8]) -> String {
    let layers = &decoded.layers;
    let mut p: Vec<&str> = Vec::new();
    match layers.linktype {
        1 => {
            p.extend(["eth", "ethertype"]);
            for _ in vlan_tags(layers, bytes) {
                p.extend(["vlan", "ethertype"]);
            }
        }
        113 | 276 => p.extend(["sll", "ethertype"]),
        0 | 108 => p.push("null"),
        12 | 101 => p.push("raw"),
        _ => {}
    }
    let Some(ip) = decoded.ip else {
        if let Payload::Arp { .. } = decoded.payload {
            p.push("arp");
        }
        return p.join(":");
    };
    p.push(if ip.src.is_ipv4() { "ip" } else { "ipv6" });
    if ip.src.is_ipv6()
        && let Some(at) = layers.net()
    {
        let mut next = bytes.get(at + 6).copied();
        let mut at = at + 40;
        while let Some(n) = next {
            let name = match n {
                0 => "ipv6.hopopts",
                43 => "ipv6.routing",
                60 => "ipv6.dstopts",
                44 => "ipv6.fraghdr",
                _ => break,
            };
            p.push(name);
            if n == 44 {
                break;
            }
            next = bytes.get(at).copied();
            at += (*bytes.get(at + 1).unwrap_or(&0) as usize + 1) * 8;
        }
    }
    let end = |ip_len: usize| {
        layers
            .net()
            .map_or(bytes.len(), |n| (n + ip_len).min(bytes.len()))
    };
    let ip_end = match ip_header_len(layers, bytes) {
        Some(total) => end(total),
        None => bytes.len(),
    };
    let rest = |from: Option<usize>| from.map_or(0, |f| ip_end.saturating_sub(f));
    let data = match &decoded.payload {
        Payload::Tcp(t) => {
            p.push("tcp");
            // A RST's data is its diagnostic text, not handed on as payload.
            t.len > 0 && !t.has(flags::RST) && rest(layers.payload()) > 0
        }
        Payload::TcpPartial { .. } => {
            p.push("tcp");
            false
        }
        Payload::Udp { .. } => {
            p.push("udp");
            rest(layers.transport()) > 8
        }
        Payload::Icmp { v6, typ, .. } => {
            p.push(if *v6 { "icmpv6" } else { "icmp" });
            // Echo request and reply carry data; the other messages are dissected whole.
            let echo = if *v6 {
                matches!(typ, 128 | 129)
            } else {
                matches!(typ, 0 | 8)
            };
            echo && rest(layers.transport()) > 8
        }
        Payload::Fragment { .. } | Payload::OtherIp => true,
        _ => false,
    };
    if data {
        p.push("data");
    }
    p.join(":")
}

/// The IP datagram's length by its header (IPv4 total length, IPv6 40 + payload length).
fn ip_header_len(layers: &Layers, bytes: &[u8]) -> Option<usize> {
    if let Some(h) = ipv4_header(layers, bytes) {
        return Some(h.len as usize);
    }
    ipv6_header(layers, bytes).map(|h| 40 + h.plen as usize)
}

/// The IPv4 header fields only a filter or `-T fields` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    pub hdr_len: u8,
    pub dsfield: u8,
    pub len: u16,
    pub id: u16,
    /// The three flag bits (0x2 don't fragment, 0x1 more fragments), as `ip.flags` shows them.
    pub flags: u8,
    /// Fragment offset in bytes.
    pub frag_offset: u16,
    pub ttl: u8,
}

pub fn ipv4_header(layers: &Layers, bytes: &[u8]) -> Option<Ipv4Header> {
    let h = bytes.get(layers.net()?..)?.get(..20)?;
    if h[0] >> 4 != 4 {
        return None;
    }
    let frag = u16::from_be_bytes([h[6], h[7]]);
    Some(Ipv4Header {
        hdr_len: (h[0] & 0xf) * 4,
        dsfield: h[1],
        len: u16::from_be_bytes([h[2], h[3]]),
        id: u16::from_be_bytes([h[4], h[5]]),
        flags: (frag >> 13) as u8,
        frag_offset: (frag & 0x1fff) * 8,
        ttl: h[8],
    })
}

/// The IPv6 fixed header's fields only a filter or `-T fields` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Header {
    pub plen: u16,
    pub nxt: u8,
    pub hlim: u8,
}

pub fn ipv6_header(layers: &Layers, bytes: &[u8]) -> Option<Ipv6Header> {
    let h = bytes.get(layers.net()?..)?.get(..40)?;
    if h[0] >> 4 != 6 {
        return None;
    }
    Some(Ipv6Header {
        plen: u16::from_be_bytes([h[4], h[5]]),
        nxt: h[6],
        hlim: h[7],
    })
}

/// The TCP payload the frame holds (cut at the IP length: link padding is not payload).
pub fn tcp_payload<'b>(layers: &Layers, tcp: &Tcp, bytes: &'b [u8]) -> Option<&'b [u8]> {
    let at = layers.payload()?;
    let end = at.saturating_add(tcp.len as usize).min(bytes.len());
    bytes.get(at..end)
}

/// One step of Wireshark's walk over the options (packet-tcp.c `tcp_dissect_options`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    Eol,
    Nop,
    /// Any option with a length byte; `data` excludes kind and length.
    Opt {
        kind: u8,
        data: &'a [u8],
    },
    /// The option runs past the bytes present: Wireshark stops with the header's cut marker.
    Cut,
}

/// Walks options in wire order as Wireshark does: after EOL only zero padding; a missing,
/// too small or overlong length byte ends the walk silently.
pub fn options(tcp: &Tcp) -> TcpOptions<'_> {
    TcpOptions {
        bytes: &tcp.options,
        declared: tcp.options_len,
        pos: 0,
        eol: false,
    }
}

pub struct TcpOptions<'a> {
    bytes: &'a [u8],
    declared: usize,
    pos: usize,
    eol: bool,
}

impl<'a> Iterator for TcpOptions<'a> {
    type Item = TcpOption<'a>;

    fn next(&mut self) -> Option<TcpOption<'a>> {
        if self.pos >= self.declared {
            return None;
        }
        let end = |s: &mut Self| {
            s.pos = s.declared;
        };
        let Some(&kind) = self.bytes.get(self.pos) else {
            end(self);
            return Some(TcpOption::Cut);
        };
        if self.eol && kind != 0 {
            end(self);
            return None;
        }
        if kind <= 1 {
            self.pos += 1;
            self.eol |= kind == 0;
            return Some(if kind == 0 {
                TcpOption::Eol
            } else {
                TcpOption::Nop
            });
        }
        if self.pos + 1 >= self.declared {
            end(self);
            return None;
        }
        let Some(&len) = self.bytes.get(self.pos + 1) else {
            end(self);
            return Some(TcpOption::Cut);
        };
        let len = len as usize;
        if len < 2 || self.pos + len > self.declared {
            end(self);
            return None;
        }
        let Some(data) = self.bytes.get(self.pos + 2..self.pos + len) else {
            end(self);
            return Some(TcpOption::Cut);
        };
        self.pos += len;
        Some(TcpOption::Opt { kind, data })
    }
}

/// What every segment needs of its options, found in one walk.
struct OptionScan {
    /// The shift of the first well-formed window scale option (kind 3, length 3).
    window_scale: Option<u8>,
    /// A well-formed AccECN option is present.
    acc_ecn: bool,
    /// A SACK option (kind 5) is present.
    sack: bool,
}

fn scan_options(tcp: &Tcp) -> OptionScan {
    let mut scan = OptionScan {
        window_scale: None,
        acc_ecn: false,
        sack: false,
    };
    for o in options(tcp) {
        match o {
            TcpOption::Opt {
                kind: 3,
                data: [shift],
            } if scan.window_scale.is_none() => scan.window_scale = Some(*shift),
            TcpOption::Opt { kind: 5, .. } => scan.sack = true,
            TcpOption::Opt { kind, data } => {
                scan.acc_ecn |= acc_ecn_counters(kind, data).is_some();
            }
            _ => {}
        }
    }
    scan
}

/// An AccECN option's byte counters (RFC 9768 §3.2.3) in wire order, and whether the order is
/// AccECN1's (EE1B, ECEB, EE0B) rather than AccECN0's (EE0B, ECEB, EE1B): kinds 172 and 174,
/// or the experimental kinds with ExID 0xACC0 and 0xACC1. As Wireshark 4.0 reads it, the
/// option holds 0 to 3 whole 24-bit counters; any other length is not an AccECN option.
pub fn acc_ecn_counters(kind: u8, data: &[u8]) -> Option<(bool, &[u8])> {
    let (order1, counters) = match (kind, data) {
        (172, d) => (false, d),
        (174, d) => (true, d),
        (253 | 254, [0xac, 0xc0, d @ ..]) => (false, d),
        (253 | 254, [0xac, 0xc1, d @ ..]) => (true, d),
        _ => return None,
    };
    (counters.len() % 3 == 0 && counters.len() <= 9).then_some((order1, counters))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn ipv4_at(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    let s = b.get(at..at + 4)?;
    Some(Ipv4Addr::new(s[0], s[1], s[2], s[3]))
}

fn layer_of(layer: etherparse::err::Layer) -> Layer {
    use etherparse::err::Layer as L;
    match layer {
        L::LinuxSllHeader => Layer::Sll,
        L::Ethernet2Header | L::EtherPayload => Layer::Ethernet,
        L::VlanHeader => Layer::Vlan,
        L::MacsecHeader | L::MacsecPacket => Layer::Macsec,
        L::IpHeader => Layer::Ip,
        L::Ipv4Header | L::Ipv4Packet => Layer::Ipv4,
        L::IpAuthHeader => Layer::IpAuth,
        L::Ipv6Header | L::Ipv6Packet => Layer::Ipv6,
        L::Ipv6ExtHeader
        | L::Ipv6HopByHopHeader
        | L::Ipv6DestOptionsHeader
        | L::Ipv6RouteHeader
        | L::Ipv6FragHeader => Layer::Ipv6Ext,
        L::UdpHeader | L::UdpPayload => Layer::Udp,
        L::TcpHeader => Layer::Tcp,
        L::Icmpv4 | L::Icmpv4Timestamp | L::Icmpv4TimestampReply => Layer::Icmp,
        L::Icmpv6 => Layer::Icmpv6,
        _ => Layer::Packet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every frame of every fixture, whole and cut at every length, with a few header fields
    /// varied: the fast path must give exactly what the general path gives, or decline.
    #[test]
    fn plain_ipv4_tcp_matches_etherparse() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
        let (mut compared, mut took_fast_path) = (0, 0);
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "pcap") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let le32 = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
            if le32(0) != 0xa1b2_c3d4 {
                continue;
            }
            let linktype = le32(20);
            let mut at = 24;
            while at + 16 <= bytes.len() {
                let caplen = le32(at + 8) as usize;
                let frame = &bytes[at + 16..at + 16 + caplen];
                at += 16 + caplen;
                let l2 = match linktype {
                    1 => 14,
                    113 => 16,
                    276 => 20,
                    _ => continue,
                };
                let mut variants = vec![frame.to_vec()];
                for (offset, value) in [(2, 0u8), (3, 19), (3, 0xff), (6, 0x20), (7, 1), (0, 0x46)]
                {
                    let mut v = frame.to_vec();
                    if let Some(b) = v.get_mut(l2 + offset) {
                        *b = value;
                    }
                    variants.push(v);
                }
                for v in &variants {
                    for len in 0..=v.len() {
                        let cut = &v[..len];
                        let fast = format!("{:?}", decode(linktype, cut, v.len() as u32));
                        let general = format!("{:?}", decode_sliced(linktype, cut, v.len()));
                        assert_eq!(fast, general, "{} cut at {len}", path.display());
                        compared += 1;
                        let ip = cut.get(l2..).unwrap_or_default();
                        took_fast_path += plain_ipv4_tcp(ip, v.len() - l2).is_some() as usize;
                    }
                }
            }
        }
        assert!(compared > 10_000, "only {compared} frames compared");
        assert!(
            took_fast_path > 5_000,
            "only {took_fast_path} on the fast path"
        );
    }

    fn header_with(options: &[u8]) -> Vec<u8> {
        let mut b = vec![0x14, 0x51, 0x14, 0x50, 0, 0, 0, 1, 0, 0, 0, 0];
        b.push(((20 + options.len()) / 4 * 16) as u8);
        b.extend_from_slice(&[0x02, 0xff, 0xff, 0, 0, 0, 0]);
        b.extend_from_slice(options);
        b
    }

    fn walk(options_bytes: &[u8]) -> Vec<TcpOption<'static>> {
        let bytes = header_with(options_bytes);
        let (Payload::Tcp(t), _) = tcp(&bytes, bytes.len()) else {
            panic!("not TCP")
        };
        let t: &'static Tcp = Box::leak(Box::new(t));
        options(t).collect()
    }

    #[test]
    fn options_in_wire_order_with_nop_and_eol() {
        let got = walk(&[
            2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0,
        ]);
        assert_eq!(
            got,
            vec![
                TcpOption::Opt {
                    kind: 2,
                    data: &[5, 0xb4]
                },
                TcpOption::Nop,
                TcpOption::Opt {
                    kind: 3,
                    data: &[7]
                },
                TcpOption::Opt { kind: 4, data: &[] },
                TcpOption::Opt {
                    kind: 8,
                    data: &[0, 0, 0, 1, 0, 0, 0, 2]
                },
                TcpOption::Eol,
                TcpOption::Eol,
                TcpOption::Eol,
                TcpOption::Eol,
            ]
        );
    }

    #[test]
    fn option_length_past_header_ends_walk_silently() {
        assert_eq!(walk(&[1, 2, 9, 1]), vec![TcpOption::Nop]);
    }

    #[test]
    fn nonzero_byte_after_eol_ends_walk() {
        assert_eq!(walk(&[0, 1, 1, 1]), vec![TcpOption::Eol]);
    }

    #[test]
    fn snaplen_inside_options_yields_cut() {
        let mut b = header_with(&[2, 4, 5, 0xb4, 1, 1, 1, 1]);
        b.truncate(24 + 2);
        let (Payload::Tcp(t), stop) = tcp(&b, 28) else {
            panic!("not TCP")
        };
        assert_eq!(t.cut, Some(Cut::Snaplen));
        assert!(stop.is_some());
        let got: Vec<_> = options(&t).collect();
        assert_eq!(
            got,
            vec![
                TcpOption::Opt {
                    kind: 2,
                    data: &[5, 0xb4]
                },
                TcpOption::Nop,
                TcpOption::Nop,
                TcpOption::Cut
            ]
        );
    }

    #[test]
    fn ip_length_shorter_than_header_is_short_and_malformed() {
        let b = header_with(&[2, 4, 5, 0xb4]);
        let (Payload::Tcp(t), _) = tcp(&b, 22) else {
            panic!("not TCP")
        };
        assert!(t.short);
        assert_eq!(t.cut, Some(Cut::Malformed));
        assert_eq!(t.len, 0);
    }

    #[test]
    fn tcp_header_cut_by_snaplen_keeps_ports() {
        let (p, stop) = tcp(&[0x14, 0x51, 0x14, 0x50, 0, 0], 40);
        assert!(matches!(
            p,
            Payload::TcpPartial {
                sport: Some(5201),
                dport: Some(5200),
                cut: Cut::Snaplen
            }
        ));
        assert_eq!(stop.unwrap().layer, Layer::Tcp);
    }

    /// An IPv4 datagram from 10.0.0.1 to 10.0.0.2 of protocol `proto` around `payload`.
    fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
        let mut h = vec![0x45, 0];
        h.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
        h.extend_from_slice(&[0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        h.extend_from_slice(payload);
        h
    }

    fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn udp(dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut u = vec![0xc0, 0x00];
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(payload);
        u
    }

    /// The inner TCP segment every encapsulation test carries: 5201 → 5200, SYN.
    fn inner() -> Vec<u8> {
        ipv4(6, &header_with(&[]))
    }

    fn inner_tcp(linktype: u32, frame: &[u8]) -> (IpAddr, u16) {
        let d = decode(linktype, frame, frame.len() as u32);
        match (&d.payload, d.ip) {
            (Payload::Tcp(t), Some(ip)) => (ip.dst, t.dport),
            other => panic!("no inner TCP: {other:?} {:?}", d.stop),
        }
    }

    const INNER_DST: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn tcp_inside_each_tunnel_and_tag_is_the_frames_tcp() {
        let eth_inner = ethernet(0x0800, &inner());
        let mut mpls = vec![0, 0x01, 0x00, 64, 0, 0x02, 0x01, 64];
        mpls.extend_from_slice(&inner());
        let mut pppoe = vec![0x11, 0, 0, 1, 0, 42, 0x00, 0x21];
        pppoe.extend_from_slice(&inner());
        let mut gre = vec![0x20, 0, 0x08, 0x00, 0, 0, 0, 7];
        gre.extend_from_slice(&inner());
        let mut vxlan = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
        vxlan.extend_from_slice(&eth_inner);
        let mut geneve = vec![0x01, 0, 0x65, 0x58, 0, 0, 1, 0, 1, 2, 3, 4];
        geneve.extend_from_slice(&eth_inner);
        let mut vntag = vec![0, 0, 0, 0, 0x08, 0x00];
        vntag.extend_from_slice(&inner());
        let mut pbb = vec![0, 0, 0, 1];
        pbb.extend_from_slice(&eth_inner);
        let mut cfp = vec![0, 0x3f];
        cfp.extend_from_slice(&eth_inner);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "QinQ",
                ethernet(
                    0x88a8,
                    &[&[0, 1, 0x81, 0][..], &[0, 2, 0x08, 0], &inner()].concat(),
                ),
            ),
            ("MPLS", ethernet(0x8847, &mpls)),
            ("PPPoE", ethernet(0x8864, &pppoe)),
            ("PBB", ethernet(0x88e7, &pbb)),
            ("VN-Tag", ethernet(0x8926, &vntag)),
            ("FabricPath", ethernet(0x8903, &cfp)),
            ("4in4", ethernet(0x0800, &ipv4(4, &inner()))),
            ("GRE with a key", ethernet(0x0800, &ipv4(47, &gre))),
            ("VXLAN", ethernet(0x0800, &ipv4(17, &udp(4789, &vxlan)))),
            (
                "Geneve with an option",
                ethernet(0x0800, &ipv4(17, &udp(6081, &geneve))),
            ),
        ];
        for (name, frame) in cases {
            assert_eq!(inner_tcp(1, &frame), (INNER_DST, 5200), "{name}");
        }
    }

    #[test]
    fn tcp_behind_each_link_type_is_decoded() {
        let mut ppp = vec![0xff, 0x03, 0x00, 0x21];
        ppp.extend_from_slice(&inner());
        let mut chdlc = vec![0x0f, 0, 0x08, 0x00];
        chdlc.extend_from_slice(&inner());
        // NFLOG: family IPv4, a prefix TLV (padded to 8), then the payload TLV.
        let mut nflog = vec![2, 0, 0, 1, 7, 0, 10, 0, b'a', b'b', b'c', 0];
        let payload = inner();
        nflog.extend_from_slice(&((4 + payload.len()) as u16).to_le_bytes());
        nflog.extend_from_slice(&9u16.to_le_bytes());
        nflog.extend_from_slice(&payload);
        // 802.11 QoS data from the DS, then LLC/SNAP.
        let mut wlan = vec![0x88, 0x02];
        wlan.extend_from_slice(&[0; 24]);
        wlan.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        wlan.extend_from_slice(&inner());
        let mut radiotap = vec![0, 0, 8, 0, 0, 0, 0, 0];
        radiotap.extend_from_slice(&wlan);
        for (linktype, frame) in [
            (9, ppp),
            (104, chdlc),
            (239, nflog),
            (105, wlan),
            (127, radiotap),
        ] {
            assert_eq!(
                inner_tcp(linktype, &frame),
                (INNER_DST, 5200),
                "link type {linktype}"
            );
        }
    }

    #[test]
    fn an_unknown_link_type_stops_at_the_link_with_its_number() {
        let d = decode(147, &inner(), 40);
        assert_eq!(d.stop, Some(Stop::new(Layer::Link, Reason::LinkType(147))));
        assert!(d.stop.unwrap().is_not_decoded());
    }

    #[test]
    fn a_tunnel_whose_inside_stops_keeps_the_outer_datagram() {
        // GRE carrying PPP LCP (0xc021): the frame is the outer IPv4 datagram, stopped at PPP.
        let gre = [
            0x30, 0x01, 0x88, 0x0b, 0, 4, 0, 1, 0, 0, 0, 1, 0xff, 0x03, 0xc0, 0x21,
        ];
        let frame = ethernet(0x0800, &ipv4(47, &gre));
        let d = decode(1, &frame, frame.len() as u32);
        assert_eq!(d.ip.map(|ip| ip.proto), Some(47));
        assert!(matches!(d.payload, Payload::OtherIp));
        assert_eq!(
            d.stop,
            Some(Stop::new(Layer::Ppp, Reason::Protocol(0xc021)))
        );
    }

    #[test]
    fn an_ip_length_beyond_the_wire_counts_to_the_frames_end() {
        let mut frame = ethernet(0x0800, &inner());
        frame[14 + 2..14 + 4].copy_from_slice(&820u16.to_be_bytes());
        let Payload::Tcp(t) = decode(1, &frame, frame.len() as u32).payload else {
            panic!("not TCP")
        };
        assert_eq!(t.len, 0, "Len from the frame, not from the IP length");
    }

    #[test]
    fn a_source_route_makes_its_last_address_the_destination() {
        let opts = [0x83, 11, 4, 1, 2, 3, 4, 5, 6, 7, 8, 0];
        assert_eq!(
            ipv4_options(&opts).route_dst,
            Some(Ipv4Addr::new(5, 6, 7, 8))
        );
        // A route already complete (pointer past the end) leaves the header's destination.
        let done = [0x83, 11, 12, 1, 2, 3, 4, 5, 6, 7, 8, 0];
        assert_eq!(ipv4_options(&done).route_dst, None);
    }

    #[test]
    fn a_security_option_shorter_than_its_fields_is_malformed() {
        assert_eq!(ipv4_options(&[0x82, 2, 0, 0]).malformed, Some(0x82));
        assert_eq!(ipv4_options(&[0x94, 4, 0, 0]).malformed, None);
    }

    #[test]
    fn a_header_the_ip_length_ends_after_the_window_keeps_flags_and_window() {
        let b = header_with(&[]);
        let (Payload::Tcp(t), stop) = tcp(&b[..16], 16) else {
            panic!("not TCP")
        };
        assert_eq!((t.flags, t.window, t.short), (flags::SYN, 0xffff, true));
        assert_eq!(t.cut, Some(Cut::Malformed));
        assert!(stop.is_some());
        // Cut by the snap length instead (the IP length says 20): only the ports, as before.
        assert!(matches!(tcp(&b[..16], 20).0, Payload::TcpPartial { .. }));
    }
}
