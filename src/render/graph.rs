//! `tcplens graph`: Wireshark's TCP Stream Graphs (ui/qt/tcp_stream_dialog.cpp, 4.0) and
//! tcptrace's time-sequence graph, computed from the event stream. This module gathers each
//! selected stream's series as its frames pass (the tracker's relative numbers, calculated
//! windows and analysis: nothing is recomputed here); `render::plot` draws them to SVG, PNG or
//! the terminal once the input has ended.

use std::collections::{BTreeMap, HashSet};

use anyhow::Result;

use super::{Sink, View};
use crate::decode::{self, TcpOption, flags};
use crate::flow::Endpoint;
use crate::flow::Label;
use crate::flow::endpoint::Side;

/// The graphs Wireshark's TCP Stream Graphs dialog offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphKind {
    /// tcptrace's time-sequence graph: each segment a bar from its first to its last byte,
    /// the receiver's ACK line and receive-window line, SACK blocks, retransmissions, zero
    /// windows and resets marked.
    Tcptrace,
    /// Stevens' time-sequence graph: one dot per segment at its sequence number.
    Stevens,
    /// Throughput and goodput (retransmissions left out) over a moving window.
    Throughput,
    /// Round-trip time (`tcp.analysis.ack_rtt`) of each acknowledged segment, by sequence
    /// number.
    Rtt,
    /// Window scaling: bytes in flight against the receiver's advertised window.
    Window,
}

impl GraphKind {
    pub fn name(self) -> &'static str {
        match self {
            GraphKind::Tcptrace => "tcptrace",
            GraphKind::Stevens => "stevens",
            GraphKind::Throughput => "throughput",
            GraphKind::Rtt => "rtt",
            GraphKind::Window => "window",
        }
    }
}

/// How a data segment is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Data,
    /// Any of Wireshark's retransmission labels (plain, fast, spurious).
    Retransmission,
    /// SYN or FIN (or a segment without data that is not a pure ACK).
    Control,
}

/// One segment of the graphed direction: its sequence range (relative, unwrapped past 4 GiB).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    /// Seconds since the stream's first frame (`tcp.time_relative`).
    pub t: f64,
    pub seq: u64,
    pub len: u32,
    pub mark: Mark,
}

/// What the receiver said with one segment: the next byte it expects and the right edge of
/// its receive window (ack + calculated window).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AckPoint {
    pub t: f64,
    pub ack: u64,
    pub window: u32,
}

/// A SACK block the receiver reported (RFC 2018): bytes it holds beyond the ACK.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SackBlock {
    pub t: f64,
    pub left: u64,
    pub right: u64,
}

/// One acknowledged segment's round-trip time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RttSample {
    pub t: f64,
    /// The acknowledged segment's end (the ACK's number).
    pub seq: u64,
    pub rtt: f64,
}

/// One direction's data and what the other side said about it.
#[derive(Clone, Debug, Default)]
pub struct Direction {
    pub segments: Vec<Segment>,
    pub acks: Vec<AckPoint>,
    pub sacks: Vec<SackBlock>,
    /// Times the receiver advertised a zero window (`tcp.analysis.zero_window`), with its ACK.
    pub zero_windows: Vec<(f64, u64)>,
    /// Resets sent by either side, at the time and sequence number of this direction.
    pub resets: Vec<(f64, u64)>,
    pub rtt: Vec<RttSample>,
    /// `tcp.analysis.bytes_in_flight` after each data segment.
    pub flight: Vec<(f64, u32)>,
    /// Payload bytes sent, retransmissions included.
    pub bytes: u64,
    /// The last sequence number seen, for unwrapping.
    last_seq: u64,
    last_ack: u64,
}

/// Unwraps a 32-bit relative number to the 64-bit value nearest the previous one.
fn unwrap(prev: &mut u64, rel: u32) -> u64 {
    let base = *prev & !0xffff_ffff;
    let mut v = base | u64::from(rel);
    if v + (1 << 31) < *prev {
        v += 1 << 32;
    } else if v > *prev + (1 << 31) && v >= 1 << 32 {
        v -= 1 << 32;
    }
    *prev = v.max(*prev);
    v
}

/// A stream's two directions.
#[derive(Clone, Debug)]
pub struct StreamGraph {
    pub stream: u32,
    pub client: Endpoint,
    pub server: Endpoint,
    /// Indexed by [`Side`]: the client's data, the server's data.
    pub dirs: [Direction; 2],
}

impl StreamGraph {
    /// The side whose data is graphed by default: the one that sent more.
    pub fn busier(&self) -> Side {
        if self.dirs[Side::Server as usize].bytes > self.dirs[Side::Client as usize].bytes {
            Side::Server
        } else {
            Side::Client
        }
    }

    /// "127.0.0.1:5201 → 127.0.0.1:5200" for the direction `side` sends in.
    pub fn endpoints(&self, side: Side) -> String {
        match side {
            Side::Client => format!("{} → {}", self.client, self.server),
            Side::Server => format!("{} → {}", self.server, self.client),
        }
    }
}

/// What becomes of a stream's series once its connection has left the tracker.
pub type OnClose<'a> = Box<dyn FnMut(StreamGraph) -> Result<()> + Send + 'a>;

/// The graph sink: gathers the series of the selected streams. With an `on_close`, each
/// stream is handed over as its connection leaves the tracker, so that graphing every stream
/// of a long capture holds only the streams still open.
#[derive(Default)]
pub struct GraphStreams<'a> {
    /// None: every stream.
    streams: Option<HashSet<u32>>,
    open: BTreeMap<u32, StreamGraph>,
    on_close: Option<OnClose<'a>>,
}

impl<'a> GraphStreams<'a> {
    pub fn new(streams: Option<HashSet<u32>>, on_close: Option<OnClose<'a>>) -> GraphStreams<'a> {
        GraphStreams {
            streams,
            open: BTreeMap::new(),
            on_close,
        }
    }

    /// The series not handed over yet, in stream order.
    pub fn into_graphs(self) -> Vec<StreamGraph> {
        self.open.into_values().collect()
    }
}

impl Sink for GraphStreams<'_> {
    fn packet(&mut self, _out: &mut String, frame: &View<'_>) -> Result<()> {
        let p = frame.packet;
        let (Some((tcp, info)), Some(ip)) = (p.segment(), p.decoded().ip) else {
            return Ok(());
        };
        let Some(step) = info.step else {
            return Ok(());
        };
        if self
            .streams
            .as_ref()
            .is_some_and(|s| !s.contains(&info.stream))
        {
            return Ok(());
        }
        let (src, dst) = Endpoint::of_segment(&ip, tcp);
        let g = self.open.entry(info.stream).or_insert_with(|| {
            let (client, server) = match step.sender {
                Side::Client => (src, dst),
                Side::Server => (dst, src),
            };
            StreamGraph {
                stream: info.stream,
                client,
                server,
                dirs: Default::default(),
            }
        });
        let t = info.since_first as f64 / 1e9;
        let sender = step.sender;
        let analysis = &info.analysis;
        // This segment as data of its sender's direction.
        {
            let d = &mut g.dirs[sender as usize];
            let seq = unwrap(&mut d.last_seq, info.rel_seq(tcp));
            let control = tcp.has(flags::SYN) || tcp.has(flags::FIN);
            if tcp.len > 0 || control {
                let mark = if analysis.is_retransmission() {
                    Mark::Retransmission
                } else if tcp.len == 0 {
                    Mark::Control
                } else {
                    Mark::Data
                };
                d.segments.push(Segment {
                    t,
                    seq,
                    len: tcp.len,
                    mark,
                });
                d.bytes += u64::from(tcp.len);
            }
            if let Some(f) = analysis.flight.filter(|f| f.bytes > 0) {
                d.flight.push((t, f.bytes));
            }
            if tcp.has(flags::RST) {
                d.resets.push((t, seq));
            }
        }
        // This segment as the receiver's word on the other direction's data.
        let peer = &mut g.dirs[sender.peer() as usize];
        if tcp.has(flags::RST) {
            let at = peer.last_seq;
            peer.resets.push((t, at));
        }
        if tcp.has(flags::ACK) && info.ack_base.is_some() {
            let ack = unwrap(&mut peer.last_ack, info.rel_ack(tcp));
            peer.acks.push(AckPoint {
                t,
                ack,
                window: info.win,
            });
            if analysis.has(Label::ZeroWindow) {
                peer.zero_windows.push((t, ack));
            }
            if let Some(a) = analysis.acks {
                peer.rtt.push(RttSample {
                    t,
                    seq: ack,
                    rtt: a.rtt as f64 / 1e9,
                });
            }
            if tcp.sack {
                for o in decode::options(tcp) {
                    if let TcpOption::Opt { kind: 5, data } = o {
                        for edge in data.chunks_exact(8) {
                            let l = u32::from_be_bytes([edge[0], edge[1], edge[2], edge[3]]);
                            let r = u32::from_be_bytes([edge[4], edge[5], edge[6], edge[7]]);
                            let (mut pl, mut pr) = (peer.last_ack, peer.last_ack);
                            peer.sacks.push(SackBlock {
                                t,
                                left: unwrap(&mut pl, info.rel_peer_seq(l)),
                                right: unwrap(&mut pr, info.rel_peer_seq(r)),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn shows_connections(&self) -> bool {
        self.on_close.is_some()
    }

    fn connection(
        &mut self,
        _out: &mut String,
        s: &crate::flow::Summary,
        _first: Option<crate::source::Timestamp>,
    ) -> Result<()> {
        if let Some(on_close) = &mut self.on_close
            && let Some(g) = self.open.remove(&s.stream)
        {
            on_close(g)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_unwrap_past_four_gib() {
        let mut prev = 0;
        assert_eq!(unwrap(&mut prev, 10), 10);
        assert_eq!(unwrap(&mut prev, 0xffff_fff0), 0xffff_fff0);
        // After 0xffff_fff0, a small number is the next lap.
        let mut prev = 0xffff_fff0;
        assert_eq!(unwrap(&mut prev, 0x10), (1 << 32) + 0x10);
        // A retransmission from just before the wrap stays in the earlier lap.
        assert_eq!(unwrap(&mut prev, 0xffff_ff00), 0xffff_ff00);
        assert_eq!(prev, (1 << 32) + 0x10);
    }
}
