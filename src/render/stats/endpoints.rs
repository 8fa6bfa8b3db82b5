//! TCP endpoints, as `tshark -q -z endpoints,tcp` counts them (ui/cli/tap-endpoints.c and
//! epan/conversation_table.c of Wireshark 4.0): one row per address and port, whatever the
//! stream, with the frames and frame bytes it sent (Tx) and received (Rx).

use std::collections::HashMap;

use super::{Align, Grid, heading};
use crate::fields::Packet;
use crate::flow::Endpoint;
use crate::render::{json, push};

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointRow {
    pub end: Endpoint,
    /// Frames and frame bytes sent (tx), then received (rx).
    pub frames: [u64; 2],
    pub bytes: [u64; 2],
}

impl EndpointRow {
    pub fn total_frames(&self) -> u64 {
        self.frames[0] + self.frames[1]
    }
}

/// The endpoint table: rows in the order each endpoint was first seen (a frame's sender
/// before its receiver, as the TCP tap adds them).
#[derive(Default)]
pub struct Endpoints {
    index: HashMap<Endpoint, usize>,
    rows: Vec<EndpointRow>,
}

const TX: usize = 0;
const RX: usize = 1;

impl Endpoints {
    /// A displayed frame: counted when it is a TCP segment the tracker placed in a stream.
    pub fn packet(&mut self, p: &Packet<'_>) {
        let (Some((t, _)), Some(ip)) = (p.segment(), p.decoded().ip) else {
            return;
        };
        let (src, dst) = Endpoint::of_segment(&ip, t);
        let len = u64::from(p.frame.origlen);
        self.add(src, TX, len);
        self.add(dst, RX, len);
    }

    fn add(&mut self, end: Endpoint, dir: usize, len: u64) {
        let rows = &mut self.rows;
        let i = *self.index.entry(end).or_insert_with(|| {
            rows.push(EndpointRow {
                end,
                frames: [0; 2],
                bytes: [0; 2],
            });
            rows.len() - 1
        });
        self.rows[i].frames[dir] += 1;
        self.rows[i].bytes[dir] += len;
    }

    /// By total frames, most first; equal totals in the order first seen (endpoints_draw).
    pub fn sorted(&self) -> Vec<&EndpointRow> {
        let mut rows: Vec<&EndpointRow> = self.rows.iter().collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.total_frames()));
        rows
    }

    pub fn text(&self, out: &mut String, filter: Option<&str>) {
        heading(out, &format!("TCP endpoints: {}", self.rows.len()), filter);
        let mut grid = Grid::new(&[
            ("Address", Align::Left),
            ("Port", Align::Right),
            ("Frames", Align::Right),
            ("Bytes", Align::Right),
            ("Tx frames", Align::Right),
            ("Tx bytes", Align::Right),
            ("Rx frames", Align::Right),
            ("Rx bytes", Align::Right),
        ]);
        for r in self.sorted() {
            grid.cell(|o| push::ip(o, r.end.addr));
            grid.int(r.end.port);
            grid.int(r.total_frames());
            grid.int(r.bytes[TX] + r.bytes[RX]);
            grid.int(r.frames[TX]);
            grid.int(r.bytes[TX]);
            grid.int(r.frames[RX]);
            grid.int(r.bytes[RX]);
        }
        grid.write(out);
    }

    /// One JSON record per endpoint, in the table's order.
    pub fn json(&self, out: &mut String) {
        for r in self.sorted() {
            out.push_str("{\"type\":\"endpoint\",\"address\":");
            json::string(out, &r.end.addr.to_string());
            out.push_str(&format!(
                ",\"port\":{},\"frames\":{},\"bytes\":{},\"tx_frames\":{},\"tx_bytes\":{},\
                 \"rx_frames\":{},\"rx_bytes\":{}}}\n",
                r.end.port,
                r.total_frames(),
                r.bytes[TX] + r.bytes[RX],
                r.frames[TX],
                r.bytes[TX],
                r.frames[RX],
                r.bytes[RX],
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn end(last: u8, port: u16) -> Endpoint {
        Endpoint {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
            port,
        }
    }

    #[test]
    fn sender_is_seen_before_receiver_and_ties_keep_that_order() {
        let mut t = Endpoints::default();
        t.add(end(2, 40000), TX, 60);
        t.add(end(1, 80), RX, 60);
        t.add(end(1, 80), TX, 1500);
        t.add(end(2, 40000), RX, 1500);
        let order: Vec<u16> = t.sorted().iter().map(|r| r.end.port).collect();
        assert_eq!(order, [40000, 80]);
        t.add(end(3, 22), TX, 60);
        t.add(end(3, 22), TX, 60);
        t.add(end(3, 22), TX, 60);
        let order: Vec<u16> = t.sorted().iter().map(|r| r.end.port).collect();
        assert_eq!(order, [22, 40000, 80]);
        assert_eq!(t.rows[1].bytes, [1500, 60]);
    }
}
