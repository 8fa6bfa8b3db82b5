//! Link-layer headers: where each link type's network layer starts and what it is.
//!
//! Each decoder follows the Wireshark 4.0 dissector named beside it, as far as a frame can
//! carry TCP; anything else stops with a typed [`Stop`] that names the layer, so a frame of a
//! link type or protocol tcplens does not decode is still a row.

use super::{Layer, Next, Reason, Stop, be16};

/// Where the network layer of a frame of link type `linktype` starts, and what it is.
pub(super) fn start(linktype: u32, data: &[u8]) -> Result<(Next, usize), Stop> {
    match linktype {
        1 => Ok((Next::Ethernet, 0)),
        113 => {
            // Linux cooked v1: 16-byte header, protocol (an ether type) at offset 14.
            let t = be16(data, 14).ok_or(Stop::cut(Layer::Sll, data.len(), 16))?;
            Ok((Next::EtherType(t), 16))
        }
        276 => {
            // Linux cooked v2: 20-byte header, protocol first.
            let t = be16(data, 0).filter(|_| data.len() >= 20).ok_or(Stop::cut(
                Layer::Sll2,
                data.len(),
                20,
            ))?;
            Ok((Next::EtherType(t), 20))
        }
        0 | 108 => null(linktype, data),
        12 | 101 | 228 | 229 => Ok((Next::Ip, 0)),
        // PPP (9), PPP in HDLC-like framing (50), PPP with a direction byte (204).
        9 | 50 => ppp(data, 0),
        204 => ppp(data, 1),
        104 => chdlc(data, 0),
        239 => nflog(data),
        105 => wlan(data, 0),
        127 => radiotap(data),
        129 => arcnet(data),
        178 => juniper_ether(data),
        242 => {
            // IP over InfiniBand (packet-ipoib.c): a 40-byte destination address (QPN, GID),
            // then an ether type and two reserved bytes.
            let t = be16(data, 40)
                .filter(|_| data.len() >= 44)
                .ok_or(Stop::cut(Layer::Ipoib, data.len(), 44))?;
            Ok((Next::EtherType(t), 44))
        }
        other => Err(Stop::new(Layer::Link, Reason::LinkType(other))),
    }
}

/// BSD loopback: a 4-byte address family, host order for NULL, network for LOOP. Wireshark
/// accepts either order for NULL, since the writer's host is unknown.
fn null(linktype: u32, data: &[u8]) -> Result<(Next, usize), Stop> {
    let fam = data.get(..4).ok_or(Stop::cut(Layer::Null, data.len(), 4))?;
    let be = u32::from_be_bytes([fam[0], fam[1], fam[2], fam[3]]);
    let le = u32::from_le_bytes([fam[0], fam[1], fam[2], fam[3]]);
    let family = if linktype == 108 || be < 0x10000 {
        be
    } else {
        le
    };
    match family {
        2 => Ok((Next::EtherType(0x0800), 4)),
        10 | 24 | 28 | 30 => Ok((Next::EtherType(0x86dd), 4)),
        _ => Err(Stop::new(Layer::Null, Reason::AddressFamily(family))),
    }
}

/// PPP (packet-ppp.c): an optional `ff 03` address and control, then a protocol of one byte
/// when its low bit is set (RFC 1661 §6.5, protocol field compression), else two. A frame that
/// starts with a Cisco HDLC address (0x0f unicast, 0x8f broadcast) is Cisco HDLC, as Wireshark
/// decides for link type 9.
pub(super) fn ppp(data: &[u8], at: usize) -> Result<(Next, usize), Stop> {
    match data.get(at) {
        Some(0x0f | 0x8f) => return chdlc(data, at),
        Some(0xff) if data.get(at + 1) == Some(&0x03) => return ppp_protocol(data, at + 2),
        _ => {}
    }
    ppp_protocol(data, at)
}

/// The PPP protocol field at `at` and what follows it.
pub(super) fn ppp_protocol(data: &[u8], at: usize) -> Result<(Next, usize), Stop> {
    let first = *data.get(at).ok_or(Stop::cut(Layer::Ppp, 0, 1))?;
    let (proto, at) = if first & 1 == 1 {
        (first as u16, at + 1)
    } else {
        let p = be16(data, at).ok_or(Stop::cut(Layer::Ppp, 1, 2))?;
        (p, at + 2)
    };
    let ethertype = match proto {
        0x0021 => 0x0800,
        0x0057 => 0x86dd,
        0x0281 => 0x8847,
        0x0283 => 0x8848,
        other => return Err(Stop::new(Layer::Ppp, Reason::Protocol(other as u32))),
    };
    Ok((Next::EtherType(ethertype), at))
}

/// Cisco HDLC (packet-chdlc.c): address, control, then an ether type.
fn chdlc(data: &[u8], at: usize) -> Result<(Next, usize), Stop> {
    let t = be16(data, at + 2).ok_or(Stop::cut(Layer::Chdlc, data.len().saturating_sub(at), 4))?;
    Ok((Next::EtherType(t), at + 4))
}

/// NFLOG (packet-nflog.c, what `tcpdump -i nflog:N` writes): family, version and resource id,
/// then TLVs of a host-order length (including its 4-byte header, padded to 4) and type; the
/// payload TLV (NFULA_PAYLOAD, 9) holds the IP packet.
fn nflog(data: &[u8]) -> Result<(Next, usize), Stop> {
    let family = *data.first().ok_or(Stop::cut(Layer::Nflog, 0, 4))?;
    if data.len() < 4 {
        return Err(Stop::cut(Layer::Nflog, data.len(), 4));
    }
    let mut at = 4;
    loop {
        let tlv = data.get(at..at + 4).ok_or(Stop::cut(
            Layer::Nflog,
            data.len().saturating_sub(at),
            4,
        ))?;
        // Written in the capturing host's order; Linux hosts are little-endian in practice,
        // and Wireshark reads them as the host's order (ENC_HOST_ENDIAN).
        let len = u16::from_le_bytes([tlv[0], tlv[1]]) as usize;
        let typ = u16::from_le_bytes([tlv[2], tlv[3]]) & 0x7fff;
        if len < 4 {
            return Err(Stop::cut(Layer::Nflog, len, 4));
        }
        if typ == 9 {
            return match family {
                2 => Ok((Next::EtherType(0x0800), at + 4)),
                10 => Ok((Next::EtherType(0x86dd), at + 4)),
                other => Err(Stop::new(Layer::Nflog, Reason::Protocol(other as u32))),
            };
        }
        at += len.div_ceil(4) * 4;
    }
}

/// IEEE 802.11 data frames (packet-ieee80211.c): the MAC header (24 bytes, 30 with both DS
/// bits, +2 for QoS, +4 for an HT control field when QoS and Order are set), then LLC/SNAP
/// with an ether type. Management, control, null-data and protected frames carry no TCP that
/// can be read.
fn wlan(data: &[u8], at: usize) -> Result<(Next, usize), Stop> {
    let fc =
        data.get(at..at + 2)
            .ok_or(Stop::cut(Layer::Wlan, data.len().saturating_sub(at), 24))?;
    let (typ, subtype, flags) = ((fc[0] >> 2) & 3, fc[0] >> 4, fc[1]);
    // Type 2 is data; subtypes with bit 2 set (null, CF-ACK/poll without data) carry none.
    if typ != 2 || subtype & 0x4 != 0 || flags & 0x40 != 0 {
        return Err(Stop::new(Layer::Wlan, Reason::NotData));
    }
    let qos = subtype & 0x8 != 0;
    let mut hdr = 24;
    if flags & 0x03 == 0x03 {
        hdr += 6;
    }
    if qos {
        hdr += 2;
        if flags & 0x80 != 0 {
            hdr += 4;
        }
    }
    let llc = data.get(at + hdr..at + hdr + 8).ok_or(Stop::cut(
        Layer::Wlan,
        data.len().saturating_sub(at),
        hdr + 8,
    ))?;
    if llc[..3] != [0xaa, 0xaa, 0x03] {
        return Err(Stop::new(
            Layer::Wlan,
            Reason::Protocol(u16::from_be_bytes([llc[0], llc[1]]) as u32),
        ));
    }
    Ok((
        Next::EtherType(u16::from_be_bytes([llc[6], llc[7]])),
        at + hdr + 8,
    ))
}

/// Radiotap (packet-ieee80211-radiotap.c): a little-endian header length, then an 802.11
/// frame. A trailing FCS (the Flags field's 0x10) is past the IP length, so it needs no care.
fn radiotap(data: &[u8]) -> Result<(Next, usize), Stop> {
    let len = data
        .get(2..4)
        .filter(|_| data.len() >= 8)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
        .ok_or(Stop::cut(Layer::Radiotap, data.len(), 8))?;
    if len < 8 || len > data.len() {
        return Err(Stop::cut(Layer::Radiotap, data.len(), len.max(8)));
    }
    wlan(data, len)
}

/// Linux ARCNET (packet-arcnet.c, with the offset field): source, destination, offset, a
/// protocol id; RFC 1201 protocols then have a split flag and a sequence number, RFC 1051
/// ones do not. An RFC 1201 exception packet (split flag 0xff) stops here.
fn arcnet(data: &[u8]) -> Result<(Next, usize), Stop> {
    let proto = *data.get(4).ok_or(Stop::cut(Layer::Arcnet, data.len(), 5))?;
    let (ethertype, rfc1201) = match proto {
        0xf0 => (0x0800, false),
        0xf1 => (0x0806, false),
        0xd4 => (0x0800, true),
        0xd5 => (0x0806, true),
        0xc4 => (0x86dd, true),
        other => return Err(Stop::new(Layer::Arcnet, Reason::Protocol(other as u32))),
    };
    if !rfc1201 {
        return Ok((Next::EtherType(ethertype), 5));
    }
    match data.get(5) {
        None => Err(Stop::cut(Layer::Arcnet, data.len(), 8)),
        Some(0xff) => Err(Stop::new(Layer::Arcnet, Reason::Protocol(0xff))),
        Some(_) if data.len() < 8 => Err(Stop::cut(Layer::Arcnet, data.len(), 8)),
        Some(_) => Ok((Next::EtherType(ethertype), 8)),
    }
}

/// Juniper Ethernet (packet-juniper.c): the magic "MGC", a flags byte, and with the
/// extension flag (0x80) a two-byte length of TLV extensions; then the Ethernet frame, unless
/// the flags say it has no layer-2 header (0x02), which stops here.
fn juniper_ether(data: &[u8]) -> Result<(Next, usize), Stop> {
    let h = data
        .get(..4)
        .ok_or(Stop::cut(Layer::Juniper, data.len(), 4))?;
    if h[..3] != *b"MGC" {
        return Err(Stop::new(
            Layer::Juniper,
            Reason::Protocol(u16::from_be_bytes([h[0], h[1]]) as u32),
        ));
    }
    let flags = h[3];
    let mut at = 4;
    if flags & 0x80 != 0 {
        let ext = be16(data, 4).ok_or(Stop::cut(Layer::Juniper, data.len(), 6))? as usize;
        at += 2 + ext;
    }
    if flags & 0x02 != 0 {
        return Err(Stop::new(Layer::Juniper, Reason::Protocol(flags as u32)));
    }
    Ok((Next::Ethernet, at))
}
