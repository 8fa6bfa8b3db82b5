//! What the interactive view holds, gathered from the event stream: every connection's row
//! (both endpoints' current states from the tracker's steps, packets and bytes per side,
//! retransmissions, the handshake's RTT, the last named moment, how it opened and closed once
//! it ended), and every frame — not its row, which is made when it is on screen, but a
//! record in a temporary file ([`Store`]): the frame's bytes and what the tracker said of it
//! (`TcpInfo`, the frame's times). The model keeps 16 bytes per frame and 4 more in its
//! connection's list, however long the capture (Wireshark keeps its `frame_data` per frame
//! the same way and reads the bytes back from the file). No TCP logic lives here: states,
//! events and sentences are the tracker's and the explainer's.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::cli::{Output, SeqMode};
use crate::dfilter::DisplayFilter;
use crate::fields::{FrameTimes, Packet};
use crate::flow::conn::{Close, Event, Open, Phase};
use crate::flow::endpoint::{EndpointState, Side};
use crate::flow::{Endpoint, Summary, TcpInfo};
use crate::render::color::Rule;
use crate::render::explain::Explainer;
use crate::render::{Sink, View};
use crate::source::{Frame, Timestamp};

/// Where a frame's record sits in the [`Store`].
#[derive(Clone, Copy, Debug)]
pub struct FrameRef {
    at: u64,
    len: u32,
}

/// What the store keeps of a frame besides its bytes: enough to make its `Packet` again.
#[derive(Serialize, Deserialize)]
struct Header {
    number: u64,
    ts: Timestamp,
    origlen: u32,
    linktype: u32,
    file: u16,
    times: FrameTimes,
    tcp: Option<TcpInfo>,
    /// The row, sentence and coloring rule of a frame that completed an IP datagram: its own
    /// bytes decode to a fragment (the reassembly needed the earlier frames), so what was
    /// shown is kept. Rare: only such frames carry text.
    fixed: Option<(String, String, Option<Rule>)>,
}

/// How much the store holds in memory before writing it to its file.
const TAIL: usize = 1 << 20;

/// Frames written to an unnamed temporary file (on disk: [`crate::render::spill_file`]) and
/// read back by offset; the newest ones wait in memory until 1 MiB has gathered.
pub struct Store {
    file: File,
    flushed: u64,
    tail: Vec<u8>,
}

impl Store {
    pub fn new() -> Result<Store> {
        Ok(Store {
            file: crate::render::spill_file().context(
                "cannot create the view's temporary file (set TMPDIR to a writable directory)",
            )?,
            flushed: 0,
            tail: Vec::new(),
        })
    }

    fn push(&mut self, header: &Header, data: &[u8]) -> Result<(u64, u32)> {
        let at = self.flushed + self.tail.len() as u64;
        let start = self.tail.len();
        self.tail = postcard::to_extend(header, std::mem::take(&mut self.tail))?;
        self.tail.extend_from_slice(data);
        let len = (self.tail.len() - start) as u32;
        if self.tail.len() >= TAIL {
            self.file
                .write_all(&self.tail)
                .context("cannot write the view's temporary file")?;
            self.flushed += self.tail.len() as u64;
            self.tail.clear();
        }
        Ok((at, len))
    }

    /// The record of one frame: from memory when it is among the newest, else from the file.
    pub fn read(&self, r: FrameRef) -> Result<Stored> {
        let mut buf = vec![0; r.len as usize];
        if r.at >= self.flushed {
            let s = (r.at - self.flushed) as usize;
            let n = buf.len();
            buf.copy_from_slice(&self.tail[s..s + n]);
        } else {
            self.file
                .read_exact_at(&mut buf, r.at)
                .context("cannot read the view's temporary file")?;
        }
        let (header, rest) = postcard::take_from_bytes::<Header>(&buf)?;
        let data_at = buf.len() - rest.len();
        Ok(Stored {
            header,
            buf,
            data_at,
        })
    }
}

/// One frame read back from the store.
pub struct Stored {
    header: Header,
    buf: Vec<u8>,
    data_at: usize,
}

/// A frame made again, as `read` showed it.
pub struct Shown {
    pub row: String,
    pub note: String,
    pub rule: Option<Rule>,
}

impl Stored {
    /// The captured bytes.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.data_at..]
    }

    /// The frame with the tracker's verdict, as the sinks saw it.
    pub fn with_packet<R>(&self, f: impl FnOnce(&Packet<'_>) -> R) -> R {
        let h = &self.header;
        let mut frame = Frame::new(h.number, h.ts, h.linktype, h.origlen, self.data());
        frame.file = h.file;
        f(&Packet {
            frame: &frame,
            tcp: h.tcp.as_ref(),
            bytes: Some(self.data()),
            times: h.times,
            conn: None,
        })
    }
}

/// The last named moment of a connection: an event (`refused`, `close 1`…), or its phase
/// and step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    Event(Event),
    Step(Phase, u32),
}

impl Moment {
    /// What the table sorts by: the name as shown, without making the text.
    pub fn key(&self) -> (&'static str, u32) {
        match *self {
            Moment::Event(e) => (e.name(), 0),
            Moment::Step(p, n) => (p.name(), n),
        }
    }
}

impl std::fmt::Display for Moment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Moment::Event(e) => f.write_str(e.name()),
            Moment::Step(p, n) => write!(f, "{} {n}", p.name()),
        }
    }
}

/// How a connection ended, as the tracker summed it up. Its counts replace the ones the
/// rows added up: they are the tracker's (a connection from a port to itself counts each
/// segment on both sides, as the summary does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ended {
    pub client: EndpointState,
    pub server: EndpointState,
    pub open: Open,
    pub close: Close,
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub retransmissions: u64,
    pub rtt: Option<i64>,
    pub duration: i64,
}

impl ConnRow {
    /// The connection as the tracker summed it up when it ended.
    fn end(&mut self, e: Ended) {
        self.client_state = e.client;
        self.server_state = e.server;
        self.packets = e.packets;
        self.bytes = e.bytes;
        self.retransmissions = e.retransmissions;
        self.rtt = e.rtt;
        self.duration = e.duration;
        self.ended = Some(e);
    }
}

/// One connection as the table shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnRow {
    pub stream: u32,
    pub client: Endpoint,
    pub server: Endpoint,
    pub client_state: EndpointState,
    pub server_state: EndpointState,
    /// Frames and TCP payload bytes sent by the client, then the server.
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub retransmissions: u64,
    /// `tcp.analysis.initial_rtt`, once the handshake's ACK was seen (ns).
    pub rtt: Option<i64>,
    /// From its first segment to its latest (`tcp.time_relative` of the latest), ns.
    pub duration: i64,
    pub last: Moment,
    /// How it opened and closed, once the connection has ended.
    pub ended: Option<Ended>,
    /// Its frames, as indexes into the model's frames.
    pub frames: Vec<u32>,
}

/// What the screen shows, gathered from the event stream.
pub struct TuiModel {
    store: Store,
    /// Every frame stored, in order.
    frames: Vec<FrameRef>,
    /// The frames shown (all of them, or those a filter applied on a live capture selects),
    /// as indexes into `frames`.
    shown: Vec<u32>,
    conns: Vec<ConnRow>,
    by_stream: HashMap<u32, u32>,
    /// How connections ended, kept apart from the rows so that a new filter finds them.
    ended: HashMap<u32, Ended>,
    /// The display filter applied to the frames already stored (a live capture's `/`).
    filter: Option<Arc<DisplayFilter>>,
    /// Bumped on every change: the view sorts the table again when it moved.
    pub changes: u64,
    seq: SeqMode,
    explainer: Explainer,
}

impl TuiModel {
    pub fn new(output: &Output) -> Result<TuiModel> {
        Ok(TuiModel {
            store: Store::new()?,
            frames: Vec::new(),
            shown: Vec::new(),
            conns: Vec::new(),
            by_stream: HashMap::new(),
            ended: HashMap::new(),
            filter: None,
            changes: 0,
            seq: output.seq,
            explainer: Explainer::new(output.msl, output.ascii),
        })
    }

    pub fn conns(&self) -> &[ConnRow] {
        &self.conns
    }

    /// Every frame shown, as indexes for [`TuiModel::frame`].
    pub fn shown(&self) -> &[u32] {
        &self.shown
    }

    /// Frame `i` (an index from [`TuiModel::shown`] or a connection's list), read back.
    pub fn frame(&self, i: u32) -> Result<Stored> {
        self.store.read(self.frames[i as usize])
    }

    /// Frame `i`'s row, sentence and coloring rule, made again from its record.
    pub fn describe(&self, i: u32) -> Result<Shown> {
        Ok(self.describe_stored(&self.frame(i)?))
    }

    /// [`TuiModel::describe`] of a frame already read back.
    pub fn describe_stored(&self, stored: &Stored) -> Shown {
        if let Some((row, note, rule)) = &stored.header.fixed {
            return Shown {
                row: row.clone(),
                note: note.clone(),
                rule: *rule,
            };
        }
        let (mut row, mut note) = (String::new(), String::new());
        let rule = stored.with_packet(|p| {
            crate::render::describe(p, self.seq, Some(&self.explainer), &mut row, &mut note)
        });
        Shown { row, note, rule }
    }

    /// The frames of a live capture shown again under `filter` (None: all): the stored
    /// frames are read back and the table rebuilt from those it selects; frames captured
    /// from now on are filtered as they come.
    pub fn refilter(&mut self, filter: Option<Arc<DisplayFilter>>) -> Result<()> {
        self.filter = filter;
        self.shown.clear();
        self.conns.clear();
        self.by_stream.clear();
        self.changes += 1;
        for i in 0..self.frames.len() as u32 {
            let stored = self.frame(i)?;
            stored.with_packet(|p| {
                if self.filter.as_ref().is_none_or(|f| f.matches(p)) {
                    self.show(i, p);
                }
            });
        }
        Ok(())
    }

    /// Adds frame `i` to the shown frames and its connection's row.
    fn show(&mut self, i: u32, p: &Packet<'_>) {
        self.shown.push(i);
        self.changes += 1;
        let (Some((tcp, info)), Some(ip)) = (p.segment(), p.decoded().ip) else {
            return;
        };
        let Some(step) = info.step else {
            return;
        };
        let at = match self.by_stream.get(&info.stream) {
            Some(&at) => at as usize,
            None => {
                let (src, dst) = Endpoint::of_segment(&ip, tcp);
                let (client, server) = match step.sender {
                    Side::Client => (src, dst),
                    Side::Server => (dst, src),
                };
                self.by_stream.insert(info.stream, self.conns.len() as u32);
                self.conns.push(ConnRow {
                    stream: info.stream,
                    client,
                    server,
                    client_state: step.client,
                    server_state: step.server,
                    packets: [0; 2],
                    bytes: [0; 2],
                    retransmissions: 0,
                    rtt: None,
                    duration: 0,
                    last: Moment::Step(step.phase, step.step),
                    ended: None,
                    frames: Vec::new(),
                });
                self.conns.len() - 1
            }
        };
        let c = &mut self.conns[at];
        c.frames.push(i);
        c.last = match step.event {
            Some(e) => Moment::Event(e),
            None => Moment::Step(step.phase, step.step),
        };
        // Once ended (a live capture's rows rebuilt under a filter), the tracker's counts
        // stand.
        if let Some(e) = self.ended.get(&info.stream) {
            c.end(*e);
            return;
        }
        let side = step.sender as usize;
        c.packets[side] += 1;
        c.bytes[side] += u64::from(tcp.len);
        c.retransmissions += u64::from(info.analysis.is_retransmission());
        c.rtt = info.initial_rtt.or(c.rtt);
        c.duration = info.since_first;
        c.client_state = step.client;
        c.server_state = step.server;
    }

    /// Stores a displayed frame (its bytes are in `view.captured`: the view's runs keep
    /// them) and shows it unless a live capture's filter leaves it out.
    fn add(&mut self, view: &View<'_>) -> Result<()> {
        let p = view.packet;
        let data = view.captured.map_or(&[][..], |c| c.data);
        let frame = p.frame;
        let decoded = frame.decoded();
        let fixed = frame.completes_datagram.then(|| {
            let (mut row, mut note) = (String::new(), String::new());
            let rule =
                crate::render::describe(p, self.seq, Some(&self.explainer), &mut row, &mut note);
            (row, note, rule)
        });
        let header = Header {
            number: frame.number,
            ts: frame.ts,
            origlen: frame.origlen,
            linktype: decoded.layers.linktype,
            file: frame.file,
            times: p.times,
            tcp: p.tcp.copied(),
            fixed,
        };
        let (at, len) = self.store.push(&header, data)?;
        let i = self.frames.len() as u32;
        self.frames.push(FrameRef { at, len });
        if self.filter.as_ref().is_none_or(|f| f.matches(p)) {
            self.show(i, p);
        }
        Ok(())
    }
}

impl Sink for TuiModel {
    fn packet(&mut self, _out: &mut String, view: &View<'_>) -> Result<()> {
        self.add(view)
    }

    fn shows_connections(&self) -> bool {
        true
    }

    fn connection(
        &mut self,
        _out: &mut String,
        s: &Summary,
        _first: Option<Timestamp>,
    ) -> Result<()> {
        let ended = Ended {
            client: s.life.client,
            server: s.life.server,
            open: s.life.open,
            close: s.life.close,
            packets: s.life.packets,
            bytes: s.life.bytes,
            retransmissions: s.life.retransmissions,
            rtt: s.initial_rtt.map(|r| r as i64),
            duration: (s.last - s.first) as i64,
        };
        self.ended.insert(s.stream, ended);
        if let Some(&at) = self.by_stream.get(&s.stream) {
            self.conns[at as usize].end(ended);
            self.changes += 1;
        }
        Ok(())
    }
}
