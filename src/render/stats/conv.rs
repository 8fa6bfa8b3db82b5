//! TCP conversations, as `tshark -q -z conv,tcp` counts them (epan/conversation_table.c
//! and ui/cli/tap-iousers.c of Wireshark 4.0).
//!
//! One conversation per `tcp.stream` (4.0 keys the table by the address/port quadruple *and*
//! the stream, so a reused port pair is a second row). Its ends are named A and B as tshark
//! names them: A sent the conversation's first frame (the ports and addresses only order the
//! hash key), the `A → B` columns count the frames A sent, the `A ← B` columns those it
//! received. Bytes are frame bytes on the wire
//! (`frame.len`), not payload: the tracker counts segments and payload per connection, which
//! is a different number, so the table counts the frames it is given.

use super::{Align, Grid, heading, push_secs};
use crate::fields::Packet;
use crate::flow::Endpoint;
use crate::render::push;

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub stream: u32,
    /// The ends as tshark orders them (see the module comment).
    pub a: Endpoint,
    pub b: Endpoint,
    /// Frames and frame bytes sent by A (`->`), then by B (`<-`).
    pub frames: [u64; 2],
    pub bytes: [u64; 2],
    /// First and last frame, ns since the capture's first frame (`frame.time_relative`).
    pub start: i64,
    pub stop: i64,
}

impl Conversation {
    fn new(stream: u32, src: Endpoint, dst: Endpoint, at: i64) -> Conversation {
        Conversation {
            stream,
            a: src,
            b: dst,
            frames: [0; 2],
            bytes: [0; 2],
            start: at,
            stop: at,
        }
    }

    pub fn total_frames(&self) -> u64 {
        self.frames[0] + self.frames[1]
    }

    /// tshark's Duration: the span of the conversation's frames.
    pub fn duration(&self) -> i64 {
        self.stop - self.start
    }
}

/// The conversation table: rows in the order their first frame came, found by stream.
#[derive(Default)]
pub struct Conversations {
    /// Each stream's row, plus one (0: none yet). Streams are numbered densely from 0.
    by_stream: Vec<u32>,
    rows: Vec<Conversation>,
}

impl Conversations {
    /// A displayed frame: counted when it is a TCP segment the tracker placed in a stream.
    pub fn packet(&mut self, p: &Packet<'_>) {
        let (Some((t, info)), Some(ip)) = (p.segment(), p.decoded().ip) else {
            return;
        };
        let (src, dst) = Endpoint::of_segment(&ip, t);
        let at = p.times.relative;
        let stream = info.stream as usize;
        if self.by_stream.len() <= stream {
            self.by_stream.resize(stream + 1, 0);
        }
        let index = match self.by_stream[stream] {
            0 => {
                self.rows.push(Conversation::new(info.stream, src, dst, at));
                self.by_stream[stream] = self.rows.len() as u32;
                self.rows.len() - 1
            }
            n => n as usize - 1,
        };
        let c = &mut self.rows[index];
        let dir = usize::from(src != c.a);
        c.frames[dir] += 1;
        c.bytes[dir] += u64::from(p.frame.origlen);
        // tap-iousers keeps the earliest and latest times, whatever the frames' order.
        c.start = c.start.min(at);
        c.stop = c.stop.max(at);
    }

    /// The rows as tshark prints them: by total frames, most first; equal totals in the
    /// order their first frame came (iousers_draw's repeated scan for the next lower total).
    pub fn sorted(&self) -> Vec<&Conversation> {
        let mut rows: Vec<&Conversation> = self.rows.iter().collect();
        rows.sort_by_key(|c| std::cmp::Reverse(c.total_frames()));
        rows
    }

    pub fn text(&self, out: &mut String, filter: Option<&str>) {
        heading(
            out,
            &format!("TCP conversations: {}", self.rows.len()),
            filter,
        );
        let mut grid = Grid::new(&[
            ("A", Align::Left),
            ("B", Align::Left),
            ("A←B frames", Align::Right),
            ("A←B bytes", Align::Right),
            ("A→B frames", Align::Right),
            ("A→B bytes", Align::Right),
            ("Frames", Align::Right),
            ("Bytes", Align::Right),
            ("Rel start", Align::Right),
            ("Duration", Align::Right),
            ("Stream", Align::Right),
        ]);
        for c in self.sorted() {
            grid.cell(|o| push::endpoint(o, c.a));
            grid.cell(|o| push::endpoint(o, c.b));
            grid.int(c.frames[1]);
            grid.int(c.bytes[1]);
            grid.int(c.frames[0]);
            grid.int(c.bytes[0]);
            grid.int(c.total_frames());
            grid.int(c.bytes[0] + c.bytes[1]);
            grid.cell(|o| push_secs(o, c.start.into(), 9));
            grid.cell(|o| push_secs(o, c.duration().into(), 4));
            grid.int(c.stream);
        }
        grid.write(out);
    }

    /// One JSON record per conversation, in the table's order.
    pub fn json(&self, out: &mut String) {
        for c in self.sorted() {
            out.push_str("{\"type\":\"conversation\",\"stream\":");
            push::int(out, c.stream);
            out.push_str(",\"a\":\"");
            push::endpoint(out, c.a);
            out.push_str("\",\"b\":\"");
            push::endpoint(out, c.b);
            out.push('"');
            for (key, n) in [
                ("frames_a_to_b", c.frames[0]),
                ("bytes_a_to_b", c.bytes[0]),
                ("frames_b_to_a", c.frames[1]),
                ("bytes_b_to_a", c.bytes[1]),
                ("frames", c.total_frames()),
                ("bytes", c.bytes[0] + c.bytes[1]),
            ] {
                out.push_str(",\"");
                out.push_str(key);
                out.push_str("\":");
                push::int(out, n);
            }
            out.push_str(",\"rel_start\":");
            push_secs(out, c.start.into(), 9);
            out.push_str(",\"duration\":");
            push_secs(out, c.duration().into(), 9);
            out.push_str("}\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn end(a: [u8; 4], port: u16) -> Endpoint {
        Endpoint {
            addr: IpAddr::V4(Ipv4Addr::from(a)),
            port,
        }
    }

    #[test]
    fn rows_sort_by_total_frames_and_ties_keep_their_first_frames_order() {
        let mut table = Conversations::default();
        for (stream, frames) in [(0u32, 3u64), (1, 5), (2, 3), (3, 9)] {
            let mut c =
                Conversation::new(stream, end([1, 1, 1, 1], 1000), end([2, 2, 2, 2], 80), 0);
            c.frames = [frames, 0];
            table.rows.push(c);
        }
        let order: Vec<u32> = table.sorted().iter().map(|c| c.stream).collect();
        assert_eq!(order, [3, 1, 0, 2]);
    }
}
