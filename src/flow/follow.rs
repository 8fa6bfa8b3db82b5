//! Follow TCP Stream: each side's payload put back in sequence order, in the chunks Wireshark's
//! Follow TCP Stream shows (packet-tcp.c 4.0, `follow_tcp_tap_listener` and
//! `check_follow_fragments`).
//!
//! Per side, the next expected sequence number and the segments that arrived ahead of it.
//! A segment at the expected number is a chunk at once; one that starts earlier gives only
//! its unseen tail; one that starts later waits until the gap fills — or until the other
//! side acknowledges beyond it, when the bytes were on the wire but not in the capture: a
//! `[N bytes missing in capture file]` chunk marks the place, as Wireshark marks it.
//! Retransmitted and overlapping bytes therefore appear once, in the order they first
//! completed the stream. Waiting segments are capped per side ([`MAX_WAITING`]): past the
//! cap the oldest waiting data is given up as missing, so memory stays bounded on any input.
//!
//! Sequence numbers are relative, as Wireshark's tap sees them (`tcp.seq`, and `tcp.ack`
//! only with the ACK flag): its "no data yet" sentinel is a zero sequence number.

use std::borrow::Cow;

use super::SeqNum;

/// Bytes waiting for a gap to fill, per side, before the oldest are given up.
pub const MAX_WAITING: usize = 4 << 20;

/// Which end of the followed stream a chunk came from. Wireshark's "client" (node 0) is the
/// sender of the stream's first segment, whatever its flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    Client,
    Server,
}

impl Node {
    fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Node::Client => "client",
            Node::Server => "server",
        }
    }
}

/// What a chunk holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data<'a> {
    /// Stream bytes, in order.
    Bytes(Cow<'a, [u8]>),
    /// Bytes the capture lacks but the peer acknowledged: Wireshark's chunk is the text
    /// `[N bytes missing in capture file]` and its terminating NUL.
    Missing(i32),
}

impl Data<'_> {
    /// The chunk's bytes as Wireshark's follow record holds them.
    pub fn bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Data::Bytes(b) => Cow::Borrowed(b),
            Data::Missing(n) => {
                let mut text = format!("[{n} bytes missing in capture file]").into_bytes();
                text.push(0);
                Cow::Owned(text)
            }
        }
    }
}

/// One chunk of the followed stream, in the order Wireshark appends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk<'a> {
    pub node: Node,
    /// The frame whose data this is (for a missing-bytes marker, the frame that ACKed it).
    pub frame: u64,
    /// Relative sequence number of the chunk's first byte.
    pub seq: u32,
    pub data: Data<'a>,
}

/// A segment that arrived ahead of its side's expected sequence number.
#[derive(Debug)]
struct Waiting {
    frame: u64,
    seq: u32,
    data: Vec<u8>,
}

#[derive(Debug, Default)]
struct Side {
    /// Next expected relative sequence number; 0 until the side's first segment.
    next: u32,
    /// Bytes appended directly (Wireshark's `bytes_written`, which only that path counts).
    written: u64,
    waiting: Vec<Waiting>,
    waiting_bytes: usize,
}

/// One segment as the follow tap sees it.
pub struct Segment<'a> {
    /// Whether the sender is the stream's node 0; decided by [`Follow::node_of`].
    pub node: Node,
    pub frame: u64,
    /// Relative `tcp.seq` (a SYN's data starts one later).
    pub seq: u32,
    /// `tcp.ack` as Wireshark shows it: relative with the ACK flag, else the raw field.
    pub ack: u32,
    pub syn: bool,
    /// `tcp.len`: how far the segment moves the sequence number.
    pub len: u32,
    /// The payload bytes captured (fewer than `len` when the snap length cut them).
    pub payload: &'a [u8],
}

/// The follow state of one TCP stream.
#[derive(Debug, Default)]
pub struct Follow {
    sides: [Side; 2],
}

impl Follow {
    /// Puts one segment in its place; every chunk it completes goes to `emit`, in order.
    pub fn segment(&mut self, s: &Segment<'_>, emit: &mut dyn FnMut(Chunk<'_>)) {
        let me = s.node;
        let peer = other(me);
        // The segment's ACK tells that the peer's waiting data was received by this side,
        // so what is missing before it was on the wire (Wireshark bug 592).
        if !self.sides[peer.index()].waiting.is_empty() {
            while self.check(peer, Some(s.ack), s.frame, emit) {}
        }
        let mut seq = s.seq.wrapping_add(u32::from(s.syn));
        let side = &mut self.sides[me.index()];
        if side.written == 0 && side.next == 0 {
            side.next = seq;
        }
        let mut data = s.payload;
        let mut len = s.len;
        if SeqNum(seq) < SeqNum(side.next) {
            // A retransmission may carry more than was seen: keep its unseen tail.
            let end = seq.wrapping_add(len);
            if SeqNum(end) > SeqNum(side.next) {
                let skip = side.next.wrapping_sub(seq) as usize;
                data = data.get(skip..).unwrap_or_default();
                seq = side.next;
                len = end.wrapping_sub(side.next);
            }
        }
        if data.is_empty() || SeqNum(seq) < SeqNum(side.next) {
            return;
        }
        if seq == side.next {
            side.next = side.next.wrapping_add(len);
            side.written += data.len() as u64;
            emit(Chunk {
                node: me,
                frame: s.frame,
                seq,
                data: Data::Bytes(Cow::Borrowed(data)),
            });
            while self.check(me, None, s.frame, emit) {}
        } else {
            side.waiting_bytes += data.len();
            side.waiting.push(Waiting {
                frame: s.frame,
                seq,
                data: data.to_vec(),
            });
            self.cap(me, s.frame, emit);
        }
    }

    /// Wireshark's `check_follow_fragments`: appends the first waiting segment that now fits
    /// (or its unseen tail), else, when `acked` passes the lowest waiting one, marks the gap
    /// as missing. Whether anything was appended.
    fn check(
        &mut self,
        node: Node,
        acked: Option<u32>,
        frame: u64,
        emit: &mut dyn FnMut(Chunk<'_>),
    ) -> bool {
        let side = &mut self.sides[node.index()];
        let Some(first) = side.waiting.first() else {
            return false;
        };
        let mut lowest = first.seq;
        for i in 0..side.waiting.len() {
            let w = &side.waiting[i];
            if SeqNum(lowest) > SeqNum(w.seq) {
                lowest = w.seq;
            }
            if SeqNum(w.seq) < SeqNum(side.next) {
                let w = side.waiting.remove(i);
                side.waiting_bytes -= w.data.len();
                let end = w.seq.wrapping_add(w.data.len() as u32);
                if SeqNum(end) > SeqNum(side.next) {
                    let new = side.next.wrapping_sub(w.seq) as usize;
                    let seq = side.next;
                    side.next = end;
                    emit(Chunk {
                        node,
                        frame: w.frame,
                        seq,
                        data: Data::Bytes(Cow::Borrowed(&w.data[new..])),
                    });
                }
                return true;
            }
            if w.seq == side.next {
                let w = side.waiting.remove(i);
                side.waiting_bytes -= w.data.len();
                side.next = side.next.wrapping_add(w.data.len() as u32);
                if !w.data.is_empty() {
                    emit(Chunk {
                        node,
                        frame: w.frame,
                        seq: w.seq,
                        data: Data::Bytes(Cow::Owned(w.data)),
                    });
                }
                return true;
            }
        }
        if acked.is_some_and(|ack| SeqNum(ack) > SeqNum(lowest)) {
            let missing = lowest.wrapping_sub(side.next) as i32;
            let seq = side.next;
            side.next = lowest;
            emit(Chunk {
                node,
                frame,
                seq,
                data: Data::Missing(missing),
            });
            return true;
        }
        false
    }

    /// Past [`MAX_WAITING`] bytes waiting on one side, the gap before the lowest waiting
    /// segment is given up as missing (a bounded memory: Wireshark keeps everything).
    fn cap(&mut self, node: Node, frame: u64, emit: &mut dyn FnMut(Chunk<'_>)) {
        while self.sides[node.index()].waiting_bytes > MAX_WAITING {
            let side = &self.sides[node.index()];
            let lowest = side
                .waiting
                .iter()
                .map(|w| w.seq)
                .min_by_key(|s| s.wrapping_sub(side.next))
                .unwrap_or(side.next);
            // An ACK just past the lowest waiting byte releases it as Wireshark would.
            self.check(node, Some(lowest.wrapping_add(1)), frame, emit);
            while self.check(node, None, frame, emit) {}
        }
    }
}

fn other(n: Node) -> Node {
    match n {
        Node::Client => Node::Server,
        Node::Server => Node::Client,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what a segment emits as (node, seq, text).
    fn feed(
        f: &mut Follow,
        node: Node,
        seq: u32,
        ack: u32,
        data: &[u8],
    ) -> Vec<(Node, u32, String)> {
        let mut out = Vec::new();
        let s = Segment {
            node,
            frame: 1,
            seq,
            ack,
            syn: false,
            len: data.len() as u32,
            payload: data,
        };
        f.segment(&s, &mut |c| {
            out.push((
                c.node,
                c.seq,
                String::from_utf8_lossy(&c.data.bytes()).into_owned(),
            ))
        });
        out
    }

    use Node::{Client as C, Server as S};

    #[test]
    fn in_order_segments_are_chunks_at_once() {
        let mut f = Follow::default();
        assert_eq!(feed(&mut f, C, 1, 1, b"user1"), [(C, 1, "user1".into())]);
        assert_eq!(feed(&mut f, S, 1, 6, b"Hi"), [(S, 1, "Hi".into())]);
        assert_eq!(feed(&mut f, C, 6, 3, b"exit"), [(C, 6, "exit".into())]);
    }

    #[test]
    fn retransmitted_bytes_appear_once_and_a_longer_retransmission_gives_its_tail() {
        let mut f = Follow::default();
        feed(&mut f, C, 1, 1, b"abc");
        assert_eq!(feed(&mut f, C, 1, 1, b"abc"), []);
        assert_eq!(feed(&mut f, C, 1, 1, b"abcdef"), [(C, 4, "def".into())]);
    }

    #[test]
    fn out_of_order_segment_waits_for_the_gap_then_both_follow_in_order() {
        let mut f = Follow::default();
        feed(&mut f, C, 1, 1, b"ab");
        assert_eq!(feed(&mut f, C, 5, 1, b"ef"), []);
        assert_eq!(
            feed(&mut f, C, 3, 1, b"cd"),
            [(C, 3, "cd".into()), (C, 5, "ef".into())]
        );
    }

    #[test]
    fn gap_the_peer_acknowledged_is_marked_missing_where_it_was() {
        let mut f = Follow::default();
        feed(&mut f, C, 1, 1, b"ab");
        feed(&mut f, C, 13, 1, b"xy");
        // The server ACKs past the hole: 10 bytes were sent but not captured.
        let out = feed(&mut f, S, 1, 15, b"");
        assert_eq!(
            out,
            [
                (C, 3, "[10 bytes missing in capture file]\0".into()),
                (C, 13, "xy".into())
            ]
        );
    }

    #[test]
    fn sequence_numbers_wrap_around() {
        let mut f = Follow::default();
        feed(&mut f, C, u32::MAX - 1, 1, b"ab");
        assert_eq!(feed(&mut f, C, 0, 1, b"cd"), [(C, 0, "cd".into())]);
    }

    #[test]
    fn waiting_data_past_the_cap_is_given_up_as_missing() {
        let mut f = Follow::default();
        feed(&mut f, C, 1, 1, b"a");
        let big = vec![b'z'; MAX_WAITING / 2 + 1];
        assert_eq!(feed(&mut f, C, 100, 1, &big), []);
        let out = feed(&mut f, C, 100 + big.len() as u32 + 50, 1, &big);
        assert_eq!(out[0].2, "[98 bytes missing in capture file]\0");
        assert!(f.sides[0].waiting_bytes <= MAX_WAITING);
    }
}
