//! Encapsulations Wireshark decodes down to TCP: tags and shims named by an ether type (VLAN,
//! MPLS, PPPoE, 802.1ah, VN-Tag, FabricPath, ERSPAN) and tunnels inside IP (IP-in-IP, GRE,
//! VXLAN, Geneve, GTP-U). The walk peels them and hands the innermost network layer to
//! etherparse; as in Wireshark, the innermost IP header's addresses and TCP header are the
//! frame's, so the inner TCP is a connection of its own.

use super::link::{ppp, ppp_protocol};
use super::{Layer, Next, Reason, Stop, be16};

/// What an ether type at `at` leads to.
pub(super) enum Step {
    /// Another layer, at an offset.
    Next(Next, usize),
    /// Decoding stops in this layer.
    Stop(Stop),
    /// A network layer etherparse slices (IPv4, IPv6, ARP, MACsec) or one nobody decodes.
    Here,
}

fn next(n: Next, at: usize) -> Step {
    Step::Next(n, at)
}

/// The header of `layer` needs `need` bytes at `at`.
fn need(data: &[u8], at: usize, need: usize, layer: Layer) -> Result<(), Step> {
    if data.len() < at + need {
        return Err(Step::Stop(Stop::cut(
            layer,
            data.len().saturating_sub(at),
            need,
        )));
    }
    Ok(())
}

fn from(r: Result<(Next, usize), Stop>) -> Step {
    match r {
        Ok((n, at)) => Step::Next(n, at),
        Err(stop) => Step::Stop(stop),
    }
}

/// The layer an ether type `t` names, whose header starts at `at`.
pub(super) fn ether(t: u16, data: &[u8], at: usize) -> Step {
    let be = |o: usize| be16(data, o).unwrap_or(0);
    let r = (|| -> Result<Step, Step> {
        Ok(match t {
            // 802.1Q, 802.1ad and the pre-standard QinQ tag: TCI, then the next ether type.
            0x8100 | 0x88a8 | 0x9100 => {
                need(data, at, 4, Layer::Vlan)?;
                next(Next::EtherType(be(at + 2)), at + 4)
            }
            0x8847 | 0x8848 => mpls(data, at)?,
            // PPPoE session stage (RFC 2516 §4): version/type, code, session id, length, then
            // a PPP protocol field.
            0x8864 => {
                need(data, at, 8, Layer::Pppoe)?;
                from(ppp_protocol(data, at + 6))
            }
            // 802.1ah backbone service instance tag: I-TCI, then the customer's addresses and
            // ether type.
            0x88e7 => {
                need(data, at, 18, Layer::Pbb)?;
                next(Next::EtherType(be(at + 16)), at + 18)
            }
            // VN-Tag (802.1Qbh draft, packet-vntag.c): four bytes, then the ether type.
            0x8926 => {
                need(data, at, 6, Layer::VnTag)?;
                next(Next::EtherType(be(at + 4)), at + 6)
            }
            // Cisco FabricPath (packet-cfp.c): FTag and TTL, then the whole inner frame.
            0x8903 => {
                need(data, at, 2, Layer::FabricPath)?;
                next(Next::Ethernet, at + 2)
            }
            // Transparent Ethernet bridging (GRE's and Geneve's name for an inner frame).
            0x6558 => next(Next::Ethernet, at),
            // ERSPAN type II (packet-erspan.c): an 8-byte header, then the mirrored frame.
            0x88be => {
                need(data, at, 8, Layer::Erspan)?;
                next(Next::Ethernet, at + 8)
            }
            // ERSPAN type III: 12 bytes, 8 more with the platform-specific subheader (O bit).
            0x22eb => {
                need(data, at, 12, Layer::Erspan)?;
                let o = data[at + 11] & 0x01 != 0;
                next(Next::Ethernet, at + if o { 20 } else { 12 })
            }
            // PPP, as enhanced GRE (PPTP) carries it.
            0x880b => from(ppp(data, at)),
            _ => Step::Here,
        })
    })();
    r.unwrap_or_else(|s| s)
}

/// An MPLS label stack (RFC 3032) down to its bottom; then, as Wireshark 4.0 guesses the
/// payload of a label it has no binding for (packet-mpls.c), IPv4 or IPv6 from the first
/// nibble. Other payloads (pseudowires) stop here, with the nibble.
fn mpls(data: &[u8], mut at: usize) -> Result<Step, Step> {
    loop {
        need(data, at, 4, Layer::Mpls)?;
        let bottom = data[at + 2] & 0x01 != 0;
        at += 4;
        if bottom {
            break;
        }
    }
    need(data, at, 1, Layer::Mpls)?;
    Ok(match data[at] >> 4 {
        4 => next(Next::EtherType(0x0800), at),
        6 => next(Next::EtherType(0x86dd), at),
        other => Step::Stop(Stop::new(Layer::Mpls, Reason::Protocol(other as u32))),
    })
}

/// The layer inside an IP payload of protocol `proto` at `at`, when it is a tunnel.
pub(super) fn in_ip(proto: u8, data: &[u8], at: usize) -> Option<Step> {
    Some(match proto {
        // IP in IP (RFC 2003) and IPv6 in IP (RFC 4213): Wireshark hands either to the IP
        // dissector, which goes by the version nibble.
        4 | 41 => next(Next::Ip, at),
        47 => gre(data, at),
        _ => return None,
    })
}

/// GRE (RFC 2784/2890; version 1 is PPTP's enhanced GRE, RFC 2637): flags and version, a
/// protocol (an ether type), then the optional checksum, key, sequence and (version 1)
/// acknowledgment words.
fn gre(data: &[u8], at: usize) -> Step {
    let Some(flags) = be16(data, at).filter(|_| data.len() >= at + 4) else {
        return Step::Stop(Stop::cut(Layer::Gre, data.len().saturating_sub(at), 4));
    };
    let proto = be16(data, at + 2).unwrap_or(0);
    let version = flags & 0x7;
    let words = |bits: &[u16]| bits.iter().filter(|b| flags & **b != 0).count() * 4;
    let hdr = 4 + match version {
        0 => words(&[0x8000 | 0x4000, 0x2000, 0x1000]),
        1 => words(&[0x2000, 0x1000, 0x0080]),
        _ => return Step::Stop(Stop::new(Layer::Gre, Reason::Protocol(version as u32))),
    };
    if data.len() < at + hdr {
        return Step::Stop(Stop::cut(Layer::Gre, data.len() - at, hdr));
    }
    // ERSPAN type I has no header of its own: Wireshark tells it from type II by GRE's
    // sequence bit, absent in type I.
    if proto == 0x88be && flags & 0x1000 == 0 {
        return next(Next::Ethernet, at + hdr);
    }
    next(Next::EtherType(proto), at + hdr)
}

/// UDP ports Wireshark 4.0 binds to a tunnel by default; either port of the datagram may
/// carry it (decode_udp_ports tries the lower port first, and the other one after).
pub(super) fn in_udp(sport: u16, dport: u16, data: &[u8], at: usize) -> Option<Step> {
    let port = |p: u16| sport == p || dport == p;
    Some(if port(4789) {
        // VXLAN (RFC 7348): flags, reserved, VNI, reserved; then an Ethernet frame.
        if data.len() < at + 8 {
            return Some(Step::Stop(Stop::cut(
                Layer::Vxlan,
                data.len().saturating_sub(at),
                8,
            )));
        }
        next(Next::Ethernet, at + 8)
    } else if port(6081) {
        // Geneve (RFC 8926): options length in 4-byte words, then a protocol (ether type).
        let Some(t) = be16(data, at + 2).filter(|_| data.len() >= at + 8) else {
            return Some(Step::Stop(Stop::cut(
                Layer::Geneve,
                data.len().saturating_sub(at),
                8,
            )));
        };
        let hdr = 8 + (data[at] & 0x3f) as usize * 4;
        if data.len() < at + hdr {
            return Some(Step::Stop(Stop::cut(Layer::Geneve, data.len() - at, hdr)));
        }
        next(Next::EtherType(t), at + hdr)
    } else if port(2152) {
        gtp_u(data, at)
    } else {
        return None;
    })
}

/// GTP-U (3GPP TS 29.281 §5): a G-PDU (message type 255) carries an IP packet after the
/// 8-byte header, 4 more when any of the E, S or PN flags is set, and each extension header
/// (its length in 4-byte units) while the next-extension type is not zero. Other messages
/// (echo, error indication, end marker) carry none.
fn gtp_u(data: &[u8], at: usize) -> Step {
    let cut = |need: usize| Step::Stop(Stop::cut(Layer::Gtp, data.len().saturating_sub(at), need));
    let Some(h) = data.get(at..at + 8) else {
        return cut(8);
    };
    if h[0] >> 5 != 1 || h[1] != 255 {
        return Step::Stop(Stop::new(Layer::Gtp, Reason::Protocol(h[1] as u32)));
    }
    let mut hdr = 8;
    if h[0] & 0x07 != 0 {
        let Some(&ext) = data.get(at + 11) else {
            return cut(12);
        };
        hdr = 12;
        let mut next_type = if h[0] & 0x04 != 0 { ext } else { 0 };
        while next_type != 0 {
            let Some(&units) = data.get(at + hdr) else {
                return cut(hdr + 1);
            };
            if units == 0 {
                return Step::Stop(Stop::new(Layer::Gtp, Reason::Protocol(next_type as u32)));
            }
            hdr += units as usize * 4;
            let Some(&n) = data.get(at + hdr - 1) else {
                return cut(hdr);
            };
            next_type = n;
        }
    }
    if data.len() < at + hdr {
        return cut(hdr);
    }
    next(Next::Ip, at + hdr)
}
