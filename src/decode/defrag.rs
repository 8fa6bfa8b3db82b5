//! IP reassembly as Wireshark does it (reassemble.c, `ip.defragment` and IPv6's fragment
//! header, both on by default): fragments of a datagram are kept until the last missing byte
//! arrives, and the frame that completes the datagram carries its transport layer; the other
//! fragments stay fragment rows. Out-of-order fragments are fine; where fragments overlap,
//! the bytes come from the fragments in offset order, the earlier one first, as
//! `fragment_defragment` copies only what lies past the bytes already placed.
//!
//! The table is per capture and fed in frame order by the source's batcher, and it is bounded:
//! at most [`MAX_DATAGRAMS`] datagrams and [`MAX_BYTES`] of fragment bytes (the oldest
//! datagram leaves first), and a datagram incomplete after [`TIMEOUT_NS`] of capture time is
//! dropped.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use super::{Decoded, Layers, Payload, decode_sliced};

/// Datagrams in reassembly at once.
pub const MAX_DATAGRAMS: usize = 1024;
/// Fragment bytes held at once.
pub const MAX_BYTES: usize = 16 << 20;
/// Capture time a datagram may wait for its missing fragments.
pub const TIMEOUT_NS: i128 = 60_000_000_000;
/// The largest datagram payload an IP header can describe (16-bit lengths; fragment offsets
/// beyond it are ignored, as Wireshark flags a fragment "too long").
const MAX_DATAGRAM: usize = 65_535;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
}

struct Datagram {
    /// Capture time of its first fragment.
    first: i128,
    /// Fragments in arrival order: offset and bytes.
    pieces: Vec<(u32, Box<[u8]>)>,
    /// The payload's length, once the fragment without "more fragments" has arrived.
    total: Option<usize>,
    bytes: usize,
}

/// The reassembly table of one capture.
#[derive(Default)]
pub struct Reassembler {
    table: HashMap<Key, Datagram, foldhash::fast::RandomState>,
    /// Datagrams by age (first fragment's time, key): the oldest leaves first. Entries of
    /// datagrams already completed are skipped when reached, and dropped when they outnumber
    /// the live ones.
    order: VecDeque<(i128, Key)>,
    bytes: usize,
}

impl Reassembler {
    /// Takes the fragment `decoded` of frame `data` (link type `linktype`), seen at `now`
    /// (ns). Returns the frame as Wireshark shows it when this fragment completes its
    /// datagram: the reassembled payload decoded behind this frame's IP header.
    pub fn add(
        &mut self,
        decoded: &Decoded,
        data: &[u8],
        linktype: u32,
        now: i128,
    ) -> Option<Reassembled> {
        let (Some(ip), Payload::Fragment { at, len }) = (decoded.ip, &decoded.payload) else {
            return None;
        };
        let frag = ip.fragment?;
        let (at, len) = (*at as usize, *len as usize);
        let bytes = data.get(at..at + len)?;
        let offset = frag.offset as usize;
        if offset + len > MAX_DATAGRAM {
            return None;
        }
        self.expire(now);
        let key = Key {
            src: ip.src,
            dst: ip.dst,
            id: frag.id,
            proto: ip.proto,
        };
        let d = self.table.entry(key).or_insert_with(|| {
            self.order.push_back((now, key));
            Datagram {
                first: now,
                pieces: Vec::new(),
                total: None,
                bytes: 0,
            }
        });
        d.pieces.push((frag.offset, bytes.into()));
        d.bytes += len;
        self.bytes += len;
        if !frag.more && d.total.is_none() {
            d.total = Some(offset + len);
        }
        let payload = d.total.and_then(|total| assemble(&mut d.pieces, total));
        let Some(payload) = payload else {
            self.bound();
            return None;
        };
        let d = self.table.remove(&key)?;
        self.bytes -= d.bytes;
        self.compact();
        Some(reassembled(decoded, data, linktype, &payload))
    }

    /// Drops the datagrams whose first fragment is older than the timeout.
    fn expire(&mut self, now: i128) {
        while let Some(&(first, key)) = self.order.front() {
            if now - first <= TIMEOUT_NS {
                break;
            }
            self.order.pop_front();
            self.drop_if_live(first, key);
        }
    }

    /// Drops the oldest datagrams while the table holds too many or too many bytes.
    fn bound(&mut self) {
        while self.table.len() > MAX_DATAGRAMS || self.bytes > MAX_BYTES {
            let Some((first, key)) = self.order.pop_front() else {
                break;
            };
            self.drop_if_live(first, key);
        }
    }

    fn drop_if_live(&mut self, first: i128, key: Key) {
        if self.table.get(&key).is_some_and(|d| d.first == first)
            && let Some(d) = self.table.remove(&key)
        {
            self.bytes -= d.bytes;
        }
    }

    /// Forgets the age entries of completed datagrams once they outnumber the live ones, so
    /// the queue stays within a small multiple of the table.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.table.len() + MAX_DATAGRAMS {
            let table = &self.table;
            self.order
                .retain(|(first, key)| table.get(key).is_some_and(|d| d.first == *first));
        }
    }

    /// Datagrams in reassembly (for tests and the bound's checks).
    pub fn datagrams(&self) -> usize {
        self.table.len()
    }

    /// Fragment bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// The datagram's payload when the pieces cover `0..total`; earlier pieces (by offset, then
/// arrival) give the bytes where pieces overlap.
fn assemble(pieces: &mut [(u32, Box<[u8]>)], total: usize) -> Option<Vec<u8>> {
    pieces.sort_by_key(|(offset, _)| *offset);
    let mut covered = 0;
    for (offset, b) in pieces.iter() {
        let offset = *offset as usize;
        if offset > covered {
            return None;
        }
        covered = covered.max(offset + b.len());
    }
    if covered < total {
        return None;
    }
    let mut out = vec![0; total];
    let mut filled = 0;
    for (offset, b) in pieces.iter() {
        let offset = *offset as usize;
        let end = (offset + b.len()).min(total);
        if end > filled {
            out[filled..end].copy_from_slice(&b[filled - offset..end - offset]);
            filled = end;
        }
    }
    Some(out)
}

/// A frame that completed its datagram.
pub struct Reassembled {
    /// The frame as Wireshark shows it; its layer offsets past the IP header are unknown
    /// (they would point into the reassembled bytes, not the frame's).
    pub decoded: Decoded,
    /// The reassembled datagram (this frame's IP header in front of the payload), and where
    /// its TCP payload starts in it: follow and `tcp.payload` read the segment's data here.
    pub datagram: Vec<u8>,
    pub payload_at: Option<usize>,
}

/// The completing frame as Wireshark shows it: its own IP header (addresses, options) in
/// front of the reassembled payload, decoded down to TCP (or a tunnel's inner TCP). Layer
/// offsets past the IP header would point into the reassembled bytes, not the frame's, so
/// only the network header's is kept.
fn reassembled(decoded: &Decoded, data: &[u8], linktype: u32, payload: &[u8]) -> Reassembled {
    let unchanged = || Reassembled {
        decoded: decoded.clone(),
        datagram: Vec::new(),
        payload_at: None,
    };
    let (Some(ip), Some(net)) = (decoded.ip, decoded.layers.net()) else {
        return unchanged();
    };
    let mut buf = Vec::with_capacity(60 + payload.len());
    match ip.src {
        IpAddr::V4(_) => {
            let Some(ihl) = data.get(net).map(|b| (b & 0xf) as usize * 4) else {
                return unchanged();
            };
            let Some(h) = data.get(net..net + ihl) else {
                return unchanged();
            };
            buf.extend_from_slice(h);
            let total = ((ihl + payload.len()).min(u16::MAX as usize) as u16).to_be_bytes();
            buf[2..4].copy_from_slice(&total);
            // No more fragments, offset 0; don't-fragment as the frame had it.
            buf[6] &= 0x40;
            buf[7] = 0;
        }
        IpAddr::V6(_) => {
            let Some(h) = data.get(net..net + 40) else {
                return unchanged();
            };
            buf.extend_from_slice(h);
            buf[4..6].copy_from_slice(&(payload.len().min(u16::MAX as usize) as u16).to_be_bytes());
            buf[6] = ip.proto;
        }
    }
    buf.extend_from_slice(payload);
    let mut out = decode_sliced(12, &buf, buf.len());
    let payload_at = out.layers.payload();
    out.layers = Layers {
        linktype,
        ..Layers::network_only(net)
    };
    Reassembled {
        decoded: out,
        datagram: buf,
        payload_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;

    /// A raw-IPv4 frame (link type 101) of a fragment of datagram `id` from 10.0.0.1 to
    /// 10.0.0.2, protocol TCP: `bytes` at byte offset `offset`, more fragments or not.
    fn fragment(id: u16, offset: usize, more: bool, bytes: &[u8]) -> Vec<u8> {
        let total = (20 + bytes.len()) as u16;
        let frag = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
        let mut f = vec![0x45, 0];
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
        f.extend_from_slice(&frag.to_be_bytes());
        f.extend_from_slice(&[64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(bytes);
        f
    }

    /// A 40-byte TCP segment (20 bytes of header, SYN, 20 of payload) from port 1234 to 80.
    fn segment() -> Vec<u8> {
        let mut t = vec![
            0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff,
        ];
        t.extend_from_slice(&[0, 0, 0, 0]);
        t.extend((0..20).map(|i| b'a' + i));
        t
    }

    fn add(r: &mut Reassembler, frame: &[u8], now: i128) -> Option<Reassembled> {
        let d = decode(101, frame, frame.len() as u32);
        assert!(matches!(d.payload, Payload::Fragment { .. }), "{d:?}");
        r.add(&d, frame, 101, now)
    }

    fn tcp_len(r: &Reassembled) -> u32 {
        match &r.decoded.payload {
            Payload::Tcp(t) => t.len,
            other => panic!("not TCP: {other:?}"),
        }
    }

    #[test]
    fn in_order_fragments_complete_on_the_last_one() {
        let seg = segment();
        let mut r = Reassembler::default();
        assert!(add(&mut r, &fragment(7, 0, true, &seg[..16]), 0).is_none());
        assert!(add(&mut r, &fragment(7, 16, true, &seg[16..32]), 1).is_none());
        let whole = add(&mut r, &fragment(7, 32, false, &seg[32..]), 2).expect("complete");
        assert_eq!(tcp_len(&whole), 20);
        // The segment's data, for follow: read from the reassembled datagram.
        let at = whole.payload_at.expect("payload offset");
        assert_eq!(&whole.datagram[at..], &seg[20..]);
        assert_eq!((r.datagrams(), r.bytes()), (0, 0));
    }

    #[test]
    fn out_of_order_fragments_complete_when_the_gap_fills() {
        let seg = segment();
        let mut r = Reassembler::default();
        assert!(add(&mut r, &fragment(7, 32, false, &seg[32..]), 0).is_none());
        assert!(add(&mut r, &fragment(7, 0, true, &seg[..16]), 1).is_none());
        let whole = add(&mut r, &fragment(7, 16, true, &seg[16..32]), 2).expect("complete");
        assert_eq!(tcp_len(&whole), 20);
    }

    #[test]
    fn overlapping_fragments_keep_the_earlier_bytes() {
        let seg = segment();
        let mut r = Reassembler::default();
        assert!(add(&mut r, &fragment(7, 0, true, &seg[..24]), 0).is_none());
        // Overlaps bytes 16..24 with different payload: the first fragment's bytes stay.
        let mut other = seg[16..].to_vec();
        other[..8].copy_from_slice(b"XXXXXXXX");
        let whole = add(&mut r, &fragment(7, 16, false, &other), 1).expect("complete");
        assert_eq!(tcp_len(&whole), 20);
        let mut pieces = vec![
            (0u32, b"abcd".to_vec().into()),
            (2, b"XYZW".to_vec().into()),
        ];
        assert_eq!(assemble(&mut pieces, 6).unwrap(), b"abcdZW");
    }

    #[test]
    fn datagrams_are_told_apart_by_id() {
        let seg = segment();
        let mut r = Reassembler::default();
        assert!(add(&mut r, &fragment(1, 0, true, &seg[..16]), 0).is_none());
        assert!(add(&mut r, &fragment(2, 16, false, &seg[16..]), 1).is_none());
        assert_eq!(r.datagrams(), 2);
    }

    #[test]
    fn a_datagram_older_than_the_timeout_never_completes() {
        let seg = segment();
        let mut r = Reassembler::default();
        assert!(add(&mut r, &fragment(7, 0, true, &seg[..16]), 0).is_none());
        let late = add(&mut r, &fragment(7, 16, false, &seg[16..]), TIMEOUT_NS + 1);
        assert!(
            late.is_none(),
            "the first fragment was dropped at the timeout"
        );
        assert_eq!(
            r.datagrams(),
            1,
            "only the late fragment's datagram is left"
        );
    }

    #[test]
    fn the_table_stays_within_its_datagram_and_byte_bounds() {
        let mut r = Reassembler::default();
        let chunk = vec![0u8; 1400];
        for id in 0..5000u32 {
            // First fragments only: none completes.
            add(&mut r, &fragment(id as u16, 0, true, &chunk), 0);
            assert!(r.datagrams() <= MAX_DATAGRAMS);
            assert!(r.bytes() <= MAX_BYTES);
        }
        assert_eq!(r.datagrams(), MAX_DATAGRAMS);
        // Completed datagrams leave no age entries behind beyond the bound.
        let seg = segment();
        for id in 0..10_000u32 {
            add(&mut r, &fragment(id as u16, 0, true, &seg[..16]), 1);
            add(&mut r, &fragment(id as u16, 16, false, &seg[16..]), 1);
        }
        assert!(r.order.len() <= 2 * r.table.len() + MAX_DATAGRAMS + 1);
    }
}
