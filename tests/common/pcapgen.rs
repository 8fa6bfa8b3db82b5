//! Hand-made captures for the hostile-input tests. These are hand-crafted on purpose: the
//! damage they carry (absurd lengths, cut blocks, a million SYNs from distinct sources,
//! segments with every flag set) is what no real TCP stack produces on demand, and it is
//! exactly what a reader of untrusted captures must survive. Real traffic comes from fixtures.

#![allow(dead_code)]

use std::ops::Range;

/// LINKTYPE_ETHERNET.
pub const EN10MB: u32 = 1;

/// A classic little-endian µs pcap file: header, then `(µs since epoch, frame)` records.
pub fn pcap(linktype: u32, frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut out = pcap_header(linktype);
    for (usec, f) in frames {
        pcap_record(&mut out, *usec, f);
    }
    out
}

pub fn pcap_header(linktype: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&linktype.to_le_bytes());
    out
}

pub fn pcap_record(out: &mut Vec<u8>, usec: u64, frame: &[u8]) {
    out.extend_from_slice(&((usec / 1_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&((usec % 1_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    out.extend_from_slice(frame);
}

/// A little-endian pcapng file: section header, one interface (µs), enhanced packet blocks.
pub fn pcapng(linktype: u32, frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    // Section header block: type, length, byte-order magic, version 1.0, section length -1.
    block(&mut out, 0x0a0d_0d0a, &{
        let mut b = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&(-1i64).to_le_bytes());
        b
    });
    // Interface description block: link type, reserved, snap length; no options.
    block(&mut out, 1, &{
        let mut b = (linktype as u16).to_le_bytes().to_vec();
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&262_144u32.to_le_bytes());
        b
    });
    for (usec, f) in frames {
        let mut b = 0u32.to_le_bytes().to_vec();
        b.extend_from_slice(&((usec >> 32) as u32).to_le_bytes());
        b.extend_from_slice(&(*usec as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(f);
        b.resize(b.len().div_ceil(4) * 4, 0);
        block(&mut out, 6, &b);
    }
    out
}

fn block(out: &mut Vec<u8>, typ: u32, body: &[u8]) {
    let len = (12 + body.len()) as u32;
    out.extend_from_slice(&typ.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&len.to_le_bytes());
}

/// Where each record's packet bytes lie in a pcap or pcapng file (either byte order): the
/// bytes a mutant may flip while its framing stays intact. Also the record boundaries.
pub struct Layout {
    pub packets: Vec<Range<usize>>,
    /// Start of every record or block after the file header, and the file's end.
    pub boundaries: Vec<usize>,
}

pub fn layout(file: &[u8]) -> Layout {
    let u32_at = |at: usize, be: bool| -> Option<u32> {
        let b: [u8; 4] = file.get(at..at + 4)?.try_into().ok()?;
        Some(if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let mut packets = Vec::new();
    let mut boundaries = Vec::new();
    let magic = u32_at(0, false).unwrap_or(0);
    if magic == 0x0a0d_0d0a {
        let mut at = 0;
        let mut be = false;
        while let Some(typ) = u32_at(at, be) {
            if typ == 0x0a0d_0d0a {
                be = u32_at(at + 8, false) != Some(0x1a2b_3c4d);
            }
            let Some(len) = u32_at(at + 4, be) else { break };
            if typ == 6 {
                let caplen = u32_at(at + 20, be).unwrap_or(0) as usize;
                packets.push(at + 28..at + 28 + caplen);
            }
            boundaries.push(at);
            at += len as usize;
        }
        boundaries.push(at);
    } else {
        let be = matches!(magic, 0xd4c3_b2a1 | 0x4d3c_b2a1);
        let mut at = 24;
        boundaries.push(at);
        while let Some(caplen) = u32_at(at + 8, be) {
            packets.push(at + 16..at + 16 + caplen as usize);
            at += 16 + caplen as usize;
            boundaries.push(at);
        }
    }
    Layout {
        packets,
        boundaries,
    }
}

/// TCP flag bits.
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// One TCP segment to build.
#[derive(Clone)]
pub struct Seg {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub payload: Vec<u8>,
}

impl Seg {
    pub fn new(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8) -> Seg {
        Seg {
            src: [10, 0, 0, 1],
            dst: [10, 0, 0, 2],
            sport,
            dport,
            seq,
            ack,
            flags,
            payload: Vec::new(),
        }
    }

    /// The same segment sent the other way.
    pub fn reply(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8) -> Seg {
        Seg {
            src: [10, 0, 0, 2],
            dst: [10, 0, 0, 1],
            ..Seg::new(sport, dport, seq, ack, flags)
        }
    }

    /// Ethernet II + IPv4 (20 bytes) + TCP (20 bytes) + payload. Checksums are left zero:
    /// tcplens, like Wireshark by default, does not verify them.
    pub fn ethernet(&self) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        let total = (40 + self.payload.len()) as u16;
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&self.src);
        f.extend_from_slice(&self.dst);
        f.extend_from_slice(&self.sport.to_be_bytes());
        f.extend_from_slice(&self.dport.to_be_bytes());
        f.extend_from_slice(&self.seq.to_be_bytes());
        f.extend_from_slice(&self.ack.to_be_bytes());
        f.extend_from_slice(&[0x50, self.flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(&self.payload);
        f
    }
}

/// xorshift64*: a reproducible generator for mutants, no dependency needed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
