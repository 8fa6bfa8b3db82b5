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
    /// An IP fragment whose transport header is elsewhere (or not reassembled).
    Fragment,
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
    pub layer: &'static str,
    pub reason: String,
}

impl Decoded {
    fn undecoded(layer: &'static str, reason: String) -> Decoded {
        Decoded {
            ip: None,
            payload: Payload::Undecoded,
            stop: Some(Stop { layer, reason }),
            layers: Layers::NONE,
        }
    }
}

/// Decodes one frame of link type `linktype` (LINKTYPE_*), `origlen` bytes on the wire.
pub fn decode(linktype: u32, data: &[u8]) -> Decoded {
    // Most captured frames are TCP in plain IPv4 behind Ethernet or Linux cooked headers.
    let ipv4 = match linktype {
        1 if data.get(12..14) == Some(&[0x08, 0x00]) => data.get(14..),
        113 if data.get(14..16) == Some(&[0x08, 0x00]) => data.get(16..),
        276 if data.get(0..2) == Some(&[0x08, 0x00]) => data.get(20..),
        _ => None,
    };
    if let Some(mut decoded) = ipv4.and_then(plain_ipv4_tcp) {
        let net = data.len() - ipv4.map_or(0, <[u8]>::len);
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
    decode_sliced(linktype, data)
}

/// TCP in an IPv4 datagram without options or fragmentation, whose header the frame holds:
/// decoded directly, to exactly what the etherparse path gives for it (the test
/// `plain_ipv4_tcp_matches_etherparse` compares the two on every fixture frame cut at every
/// length). etherparse's general slicer moves large structs around for every layer and was
/// half of decode's cost in the profile. Anything else returns None for the general path.
fn plain_ipv4_tcp(ip: &[u8]) -> Option<Decoded> {
    let h = ip.get(..20)?;
    let total = u16::from_be_bytes([h[2], h[3]]) as usize;
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
        }),
        payload,
        stop,
        layers: Layers::NONE,
    })
}

/// The general path: etherparse's lax slicer for every link type and layer.
fn decode_sliced(linktype: u32, data: &[u8]) -> Decoded {
    let mut decoded = decode_layers(linktype, data);
    decoded.layers.linktype = linktype;
    decoded
}

fn decode_layers(linktype: u32, data: &[u8]) -> Decoded {
    let sliced = match linktype {
        1 => match LaxSlicedPacket::from_ethernet(data) {
            Ok(p) => p,
            Err(e) => return Decoded::undecoded("Ethernet", format!("{} of 14 bytes", e.len)),
        },
        113 => {
            // Linux cooked v1: 16-byte header, protocol (an ether type) at offset 14.
            let Some(proto) = be16(data, 14) else {
                return Decoded::undecoded("SLL", format!("{} of 16 bytes", data.len()));
            };
            LaxSlicedPacket::from_ether_type(EtherType(proto), &data[16..])
        }
        276 => {
            // Linux cooked v2: 20-byte header, protocol first.
            let (Some(proto), true) = (be16(data, 0), data.len() >= 20) else {
                return Decoded::undecoded("SLL2", format!("{} of 20 bytes", data.len()));
            };
            LaxSlicedPacket::from_ether_type(EtherType(proto), &data[20..])
        }
        0 | 108 => {
            // BSD loopback: a 4-byte address family, host order for NULL, network for LOOP.
            // Wireshark accepts either order for NULL, since the writer's host is unknown.
            let Some(fam) = data.get(..4) else {
                return Decoded::undecoded("Null/Loopback", format!("{} of 4 bytes", data.len()));
            };
            let be = u32::from_be_bytes([fam[0], fam[1], fam[2], fam[3]]);
            let le = u32::from_le_bytes([fam[0], fam[1], fam[2], fam[3]]);
            let family = if linktype == 108 || be < 0x10000 {
                be
            } else {
                le
            };
            let ether = match family {
                2 => 0x0800,
                10 | 24 | 28 | 30 => 0x86dd,
                _ => {
                    return Decoded {
                        ip: None,
                        payload: Payload::OtherLink { ethertype: 0 },
                        stop: Some(Stop {
                            layer: "Null/Loopback",
                            reason: format!("address family {family}"),
                        }),
                        layers: Layers::NONE,
                    };
                }
            };
            LaxSlicedPacket::from_ether_type(EtherType(ether), &data[4..])
        }
        12 | 101 | 228 | 229 => match LaxSlicedPacket::from_ip(data) {
            Ok(p) => p,
            Err(e) => return Decoded::undecoded("IP", e.to_string()),
        },
        other => return Decoded::undecoded("link", format!("unsupported link type {other}")),
    };
    let mut decoded = from_sliced(&sliced, data);
    decoded.layers = layers(&sliced, data, &decoded);
    decoded
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

fn from_sliced<'a>(p: &LaxSlicedPacket<'a>, frame: &'a [u8]) -> Decoded {
    let stop = p.stop_err.as_ref().map(|(err, layer)| Stop {
        layer: layer_name(*layer),
        reason: err.to_string(),
    });
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
            let ip = Ip {
                src: IpAddr::V4(h.source_addr()),
                dst: IpAddr::V4(h.destination_addr()),
                proto: h.protocol().0,
                fragment: frag,
            };
            let pl = v4.payload();
            let start = h.slice().as_ptr() as usize;
            let total = h.total_len() as usize;
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
            };
            let start = h.slice().as_ptr() as usize;
            let total = 40 + h.payload_length() as usize;
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
        return Decoded {
            ip: Some(ip),
            payload: Payload::Fragment,
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
        let cut = cut_at(20);
        return (
            Payload::TcpPartial {
                sport: be16(b, 0),
                dport: be16(b, 2),
                cut,
            },
            Some(Stop {
                layer: "TCP",
                reason: format!("header cut at {} of 20 bytes", b.len()),
            }),
        );
    }
    let hdr_len = (b[12] >> 4) * 4;
    let declared = (hdr_len as usize).max(20);
    let available = b.len().min(reported.max(20));
    let options = OptionBytes::new(&b[20..declared.min(available)]);
    let cut = (available < declared).then(|| cut_at(declared));
    let stop = if hdr_len < 20 {
        Some(Stop {
            layer: "TCP",
            reason: format!("bogus header length {hdr_len}"),
        })
    } else {
        cut.map(|_| Stop {
            layer: "TCP",
            reason: format!("header cut at {} of {hdr_len} bytes", available),
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
        sack: false,
        len: reported.saturating_sub(hdr_len as usize) as u32,
        short: reported < hdr_len as usize,
        cut,
    };
    (seg.window_scale, seg.sack) = scale_and_sack(&seg);
    (Payload::Tcp(seg), stop)
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
        Payload::Fragment | Payload::OtherIp => true,
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

/// The shift of a well-formed window scale option (kind 3, length 3), if present, and whether
/// a SACK option (kind 5) is: one walk for both, as every segment needs them.
fn scale_and_sack(tcp: &Tcp) -> (Option<u8>, bool) {
    let (mut scale, mut sack) = (None, false);
    for o in options(tcp) {
        match o {
            TcpOption::Opt {
                kind: 3,
                data: [shift],
            } => {
                scale.get_or_insert(*shift);
            }
            TcpOption::Opt { kind: 5, .. } => sack = true,
            _ => {}
        }
    }
    (scale, sack)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn ipv4_at(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    let s = b.get(at..at + 4)?;
    Some(Ipv4Addr::new(s[0], s[1], s[2], s[3]))
}

fn layer_name(layer: etherparse::err::Layer) -> &'static str {
    use etherparse::err::Layer as L;
    match layer {
        L::LinuxSllHeader => "SLL",
        L::Ethernet2Header => "Ethernet",
        L::EtherPayload => "Ethernet payload",
        L::VlanHeader => "VLAN",
        L::MacsecHeader | L::MacsecPacket => "MACsec",
        L::IpHeader => "IP",
        L::Ipv4Header | L::Ipv4Packet => "IPv4",
        L::IpAuthHeader => "IP auth header",
        L::Ipv6Header | L::Ipv6Packet => "IPv6",
        L::Ipv6ExtHeader
        | L::Ipv6HopByHopHeader
        | L::Ipv6DestOptionsHeader
        | L::Ipv6RouteHeader
        | L::Ipv6FragHeader => "IPv6 extension header",
        L::UdpHeader | L::UdpPayload => "UDP",
        L::TcpHeader => "TCP",
        L::Icmpv4 | L::Icmpv4Timestamp | L::Icmpv4TimestampReply => "ICMP",
        L::Icmpv6 => "ICMPv6",
        _ => "packet",
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
                        let fast = format!("{:?}", decode(linktype, cut));
                        let general = format!("{:?}", decode_sliced(linktype, cut));
                        assert_eq!(fast, general, "{} cut at {len}", path.display());
                        compared += 1;
                        let ip = cut.get(l2..).unwrap_or_default();
                        took_fast_path += plain_ipv4_tcp(ip).is_some() as usize;
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
        assert_eq!(stop.unwrap().layer, "TCP");
    }
}
