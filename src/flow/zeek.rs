//! Zeek's view of one TCP connection, for the summary's `history` and `conn_state`.
//!
//! Zeek does not derive these from RFC 9293 states but from its own per-endpoint machine
//! (TCPSessionAdapter.cc: `init_endpoint`, `update_history`, `update_window`,
//! `update_last_seq`, `UpdateStateMachine`), its reassembler's content gaps
//! (TCP_Reassembler.cc: `AckReceived`, `Undelivered`, `Gap`) and the script-level
//! `conn_state()` of base/protocols/conn/main.zeek. This module follows those rules segment by
//! segment; tcplens's own endpoint states (endpoint.rs) stay RFC 9293's.
//!
//! What it cannot follow, documented in docs/states.md: letters that need Zeek's application
//! analyzers or checksum checks (`x`, `c`), Zeek's port-based guess of the responder
//! (`likely_server_ports`, filled by the analyzers a Zeek run loads), and the points where
//! Zeek starts a new connection inside what Wireshark keeps as one stream.

use super::conn::Wire;
use super::endpoint::Side;
use crate::decode::{Tcp, flags};

/// A Zeek endpoint state (`TCP_ENDPOINT_*`, analyzer/protocol/tcp/TCP_Endpoint.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ZeekState {
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

/// Zeek's conn.log `conn_state` (base/protocols/conn/main.zeek documents each code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// Connection attempt seen, no reply.
    S0,
    /// Established, not terminated.
    S1,
    /// Normal establishment and termination.
    Sf,
    /// Connection attempt rejected.
    Rej,
    /// Established, close attempt by the originator only.
    S2,
    /// Established, close attempt by the responder only.
    S3,
    /// Established, the originator aborted (RST).
    Rsto,
    /// The responder sent a RST.
    Rstr,
    /// The originator sent a SYN then a RST; no SYN/ACK seen.
    Rstos0,
    /// The responder sent a SYN/ACK then a RST; no SYN seen.
    Rstrh,
    /// The originator sent a SYN then a FIN; no SYN/ACK seen.
    Sh,
    /// The responder sent a SYN/ACK then a FIN; no SYN seen.
    Shr,
    /// No SYN seen, just midstream traffic.
    Oth,
}

impl ConnState {
    /// Zeek's code, as conn.log prints it.
    pub fn name(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::Sf => "SF",
            ConnState::Rej => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::Rsto => "RSTO",
            ConnState::Rstr => "RSTR",
            ConnState::Rstos0 => "RSTOS0",
            ConnState::Rstrh => "RSTRH",
            ConnState::Sh => "SH",
            ConnState::Shr => "SHR",
            ConnState::Oth => "OTH",
        }
    }
}

impl std::fmt::Display for ConnState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Zeek ignores SYN and RST sequence numbers that jump further than this (TOO_LARGE_SEQ_DELTA).
const TOO_LARGE_SEQ_DELTA: i64 = 1_048_576;

/// The once-per-role letters (`Session::CheckHistory` masks).
#[derive(Clone, Copy)]
#[repr(u8)]
enum Once {
    Syn = 1,
    Fin = 2,
    Rst = 4,
    Ack = 8,
    Data = 16,
    Multi = 32,
    FinRst = 64,
}

/// A letter Zeek records at the 1st, 10th, 100th… occurrence (`Session::ScaledHistoryEntry`,
/// whose threshold is multiplied by 10 each time it is reached): the count alone says when.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Scaled(u32);

impl Scaled {
    /// Counts one occurrence; true when the count is 1, 10, 100…
    fn hit(&mut self) -> bool {
        self.0 = self.0.saturating_add(1);
        let mut n = self.0;
        while n >= 10 && n.is_multiple_of(10) {
            n /= 10;
        }
        n == 1
    }
}

/// Sequence numbers unwrapped to 64 bits: a 32-bit number is placed nearest to `near`.
fn unwrap(near: i64, seq: u32) -> i64 {
    near + i64::from(seq.wrapping_sub(near as u32) as i32)
}

/// One direction's data as Zeek's reassembler sees it: where contiguous delivery has reached
/// and the blocks buffered above a hole, in relative sequence numbers (the first data byte
/// after a SYN is 1, as in TCP_Reassembler).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Reassembly {
    delivered: u64,
    trimmed: u64,
    /// Disjoint `[seq, upper)` ranges above `delivered`, in order: only reordered or lost
    /// segments leave blocks here, so it is empty (and unallocated) most of the time.
    above_hole: Vec<(u64, u64)>,
}

impl Default for Reassembly {
    fn default() -> Reassembly {
        Reassembly {
            delivered: 1,
            trimmed: 1,
            above_hole: Vec::new(),
        }
    }
}

impl Reassembly {
    /// `TCP_Reassembler::DataSent` and `Reassembler::NewBlock`: data already acknowledged or
    /// trimmed is dropped, the rest buffered and delivered while contiguous.
    fn data(&mut self, mut seq: u64, len: u64, acked: u64) {
        let upper = seq + len;
        if seq < acked {
            if upper <= acked {
                return;
            }
            seq = acked;
        }
        if upper <= self.trimmed {
            return;
        }
        seq = seq.max(self.trimmed);
        if seq <= self.delivered && self.above_hole.is_empty() {
            // In order, nothing buffered: delivered at once. Most segments take this path,
            // so most connections never allocate a block list.
            self.delivered = self.delivered.max(upper);
            return;
        }
        self.insert(seq, upper);
        self.deliver();
    }

    fn insert(&mut self, seq: u64, upper: u64) {
        let (mut lo, mut hi) = (seq, upper);
        self.above_hole.retain(|&(s, u)| {
            let overlaps = s <= hi && lo <= u;
            if overlaps {
                lo = lo.min(s);
                hi = hi.max(u);
            }
            !overlaps
        });
        let at = self.above_hole.partition_point(|&(s, _)| s < lo);
        self.above_hole.insert(at, (lo, hi));
    }

    fn deliver(&mut self) {
        while let Some(&(s, u)) = self.above_hole.first() {
            if s > self.delivered {
                break;
            }
            self.delivered = self.delivered.max(u);
            self.above_hole.remove(0);
        }
    }

    /// `Reassembler::TrimToSeq` on an acknowledgment up to `ack`: the holes below it are
    /// content gaps (`TCP_Reassembler::Undelivered`, which calls `Gap(seq, len)` for each).
    fn acked(&mut self, ack: u64, partial: bool) -> Gaps {
        let mut gaps = Gaps::default();
        if ack <= self.trimmed {
            return gaps;
        }
        // A partial connection's first ack may point just past the faked SYN: Zeek ignores it
        // (and leaves delivery where it was).
        if ack > self.delivered && !(ack <= 2 && partial) {
            while let Some(&(s, u)) = self.above_hole.first() {
                if s >= ack {
                    break;
                }
                if s > self.delivered {
                    gaps.add(s - self.delivered);
                }
                self.delivered = self.delivered.max(u);
                self.above_hole.remove(0);
            }
            if ack > self.delivered {
                gaps.add(ack - self.delivered);
                self.delivered = ack;
            }
        }
        if !self.above_hole.is_empty() {
            self.above_hole.retain(|&(_, u)| u > ack);
            self.deliver();
        }
        self.trimmed = ack;
        gaps
    }
}

/// The content gaps one acknowledgment revealed: how many, and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Gaps {
    count: u32,
    bytes: u64,
}

impl Gaps {
    fn add(&mut self, len: u64) {
        self.count += 1;
        self.bytes += len;
    }
}

/// One endpoint (`TCP_Endpoint`): sequence numbers unwrapped to 64 bits.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct ZEndpoint {
    state: ZeekState,
    prev: ZeekState,
    #[serde(with = "super::seq::packed::wide")]
    start: i64,
    #[serde(with = "super::seq::packed::wide")]
    last: i64,
    /// Highest acknowledgment the peer sent for this endpoint's data.
    #[serde(with = "super::seq::packed::wide")]
    ack: i64,
    fins: u16,
    /// `did_close`: a FIN or RST closed this side (`ConnectionClosed`).
    did_close: bool,
    /// Relative sequence number just past the FIN.
    fin_seq: i64,
    /// Relative numbers of the last SYN, FIN (past its data) and RST (`hist_last_*`, 0 at
    /// first), kept modulo 2^32: only compared for equality.
    hist_last: [u32; 3],
    retransmitted: Scaled,
    zero_window: Scaled,
    gaps: Scaled,
    reassembly: Reassembly,
}

impl Default for ZEndpoint {
    fn default() -> ZEndpoint {
        ZEndpoint {
            state: ZeekState::Inactive,
            prev: ZeekState::Inactive,
            start: 0,
            last: 0,
            ack: 0,
            fins: 0,
            did_close: false,
            fin_seq: 0,
            hist_last: [0; 3],
            retransmitted: Scaled::default(),
            zero_window: Scaled::default(),
            gaps: Scaled::default(),
            reassembly: Reassembly::default(),
        }
    }
}

impl ZEndpoint {
    fn set_state(&mut self, state: ZeekState) {
        if state != self.state {
            self.prev = self.state;
            self.state = state;
        }
    }

    /// Starts the sequence space at `start` (a SYN's number, or one before the first seen).
    fn init_seq(&mut self, start: i64, last: i64) {
        self.start = start;
        self.ack = start;
        self.last = last;
    }

    fn rel(&self, full: i64) -> i64 {
        full - self.start
    }

    /// `TCP_Endpoint::Size`: payload bytes by sequence numbers, SYN and FIN not counted.
    fn size(&self, peer: &ZEndpoint) -> u64 {
        let no_data_acked = self.ack == self.start || self.ack == self.start + 1;
        if self.prev == ZeekState::SynSent
            && self.state == ZeekState::Reset
            && peer.state == ZeekState::Inactive
            && !no_data_acked
        {
            return 0;
        }
        let mut size = (self.last.max(self.ack) - self.start).max(0) as u64;
        size = size.saturating_sub(1);
        if self.fins > 0 {
            size = size.saturating_sub(1);
        }
        size
    }

    /// Established, or closed from established (TCP_Reassembler.cc `is_clean`): only then are
    /// content gaps trusted enough to enter the history.
    fn clean(&self) -> bool {
        self.state == ZeekState::Established
            || (self.state == ZeekState::Closed && self.prev == ZeekState::Established)
    }
}

/// Zeek's reconstruction of one connection: both endpoints, the roles, the history string.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ZeekConn {
    /// Endpoints by tcplens side (`Side as usize`).
    ends: [ZEndpoint; 2],
    /// The tcplens side Zeek currently calls the originator.
    orig: Side,
    /// `is_partial`: a side's first segment was not the handshake's.
    partial: bool,
    /// Sides whose first segment has been seen (`first_packet_seen`), by role: 1 orig, 2 resp.
    first_seen: u8,
    /// Once-letters already recorded, by role (index 0: originator), as Zeek's `hist_seen`
    /// masks: kept by role, so a flip does not move them.
    once: [u8; 2],
    history: String,
    /// Packets and IP bytes (the IP header's length, headers included) each tcplens side
    /// sent, as Zeek's ConnSize analyzer counts them for `*_pkts` and `*_ip_bytes`
    /// (`ConnSize_Analyzer::DeliverPacket` adds `ip->TotalLen()` per packet).
    packets: [u64; 2],
    ip_bytes: [u64; 2],
    /// Bytes of the content gaps Zeek reports (`content_gap` events, which main.zeek sums
    /// into `missed_bytes`): only while both endpoints are clean, as `report_gap` requires
    /// with `report_gaps_for_partial` off (its default).
    missed: u64,
    /// `Connection::last_time` (ns): the last segment seen before both sides had closed.
    last_time: super::seq::Nanos,
}

impl ZeekConn {
    /// A connection first seen at `first`, sent by `first_sender`. Zeek makes the first
    /// sender the originator, except that a first segment other than a pure SYN coming from a
    /// likely server port is flipped (`TCPAnalyzer::WantConnection`). Which ports are likely
    /// depends on the analyzers a Zeek run loads; tcplens takes a first SYN/ACK's sender as the
    /// server (its own role rule), which is Zeek's result whenever that port is a service's.
    pub fn new(first_sender: Side) -> ZeekConn {
        let mut z = ZeekConn {
            ends: [ZEndpoint::default(), ZEndpoint::default()],
            orig: first_sender,
            partial: false,
            first_seen: 0,
            once: [0; 2],
            history: String::new(),
            packets: [0; 2],
            ip_bytes: [0; 2],
            missed: 0,
            last_time: Default::default(),
        };
        if first_sender == Side::Server {
            z.flip();
        }
        z
    }

    /// `Connection::FlipRoles`: the originator becomes the responder; `^` marks it.
    fn flip(&mut self) {
        self.orig = self.orig.peer();
        self.first_seen = ((self.first_seen & 1) << 1) | ((self.first_seen & 2) >> 1);
        self.partial = false;
        self.history.push('^');
    }

    fn is_orig(&self, side: Side) -> bool {
        side == self.orig
    }

    fn role(&self, side: Side) -> usize {
        usize::from(!self.is_orig(side))
    }

    fn letter(&mut self, side: Side, c: char) {
        self.history.push(if self.is_orig(side) {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }

    /// `CheckHistory`: records `c` the first time the role shows it; true if seen before.
    fn seen_before(&mut self, side: Side, once: Once, c: char) -> bool {
        let role = self.role(side);
        if self.once[role] & once as u8 != 0 {
            return true;
        }
        self.once[role] |= once as u8;
        self.letter(side, c);
        false
    }

    /// `update_history`: one SYN, FIN or RST records its letter again only at a new sequence
    /// number; two of them make `q` (`i` for FIN+RST); none make `d` or `a`, once each.
    fn update_history(&mut self, side: Side, tcp: &Tcp, rel_seq: i64) {
        let (syn, fin, rst) = (
            tcp.has(flags::SYN),
            tcp.has(flags::FIN),
            tcp.has(flags::RST),
        );
        match u8::from(syn) + u8::from(fin) + u8::from(rst) {
            0 if tcp.len > 0 => {
                self.seen_before(side, Once::Data, 'd');
            }
            0 if tcp.has(flags::ACK) => {
                self.seen_before(side, Once::Ack, 'a');
            }
            0 => {}
            1 => {
                let (kind, once, c, at) = if syn {
                    let c = if tcp.has(flags::ACK) { 'h' } else { 's' };
                    (0, Once::Syn, c, rel_seq)
                } else if fin {
                    // A FIN's number is the one after its data.
                    (1, Once::Fin, 'f', rel_seq + i64::from(tcp.len))
                } else {
                    (2, Once::Rst, 'r', rel_seq)
                };
                let at = at as u32;
                if self.seen_before(side, once, c) && at != self.ends[side as usize].hist_last[kind]
                {
                    self.letter(side, c);
                }
                self.ends[side as usize].hist_last[kind] = at;
            }
            _ if fin && rst => {
                self.seen_before(side, Once::FinRst, 'i');
            }
            _ => {
                self.seen_before(side, Once::Multi, 'q');
            }
        }
    }

    fn scaled(&mut self, side: Side, c: char, pick: fn(&mut ZEndpoint) -> &mut Scaled) {
        if pick(&mut self.ends[side as usize]).hit() {
            self.letter(side, c);
        }
    }

    /// Applies one segment sent by `side` (TCPSessionAdapter::Process, in its order), with
    /// what the capture holds of it.
    pub fn segment(&mut self, side: Side, tcp: &Tcp, wire: Wire) {
        let Wire { whole, ip_len, ts } = wire;
        self.packets[side as usize] += 1;
        self.ip_bytes[side as usize] += u64::from(ip_len);
        // `if ( ! orig->did_close || ! resp->did_close ) Conn()->SetLastTime(...)`: once both
        // sides closed, later segments (the last ACK) no longer stretch the duration.
        if !(self.ends[0].did_close && self.ends[1].did_close) {
            self.last_time = ts.into();
        }
        let (syn, fin, rst, ack) = (
            tcp.has(flags::SYN),
            tcp.has(flags::FIN),
            tcp.has(flags::RST),
            tcp.has(flags::ACK),
        );
        let len = i64::from(tcp.len);
        let me = side as usize;
        let peer = side.peer() as usize;
        self.set_partial_status(side, syn, ack);

        // A RST's payload is not part of the stream.
        let seg_len = len + i64::from(syn) + i64::from(fin) - if rst { len } else { 0 };
        self.init_endpoint(side, syn, tcp.seq, seg_len);
        let e = &self.ends[me];
        let seq_full = unwrap(e.last, tcp.seq);
        let rel_seq = e.rel(seq_full);
        let underflow = rel_seq < 0;

        self.update_history(side, tcp, rel_seq);
        // update_window: zero windows are boring with or after a RST, or once the peer closed.
        if tcp.window == 0
            && !rst
            && self.ends[peer].state != ZeekState::Closed
            && self.ends[me].state != ZeekState::Reset
        {
            self.scaled(side, 'w', |e| &mut e.zero_window);
        }
        if fin {
            let e = &mut self.ends[me];
            e.fins = e.fins.saturating_add(1);
            e.fin_seq = rel_seq + seg_len;
        }

        let mut rel_ack = 0;
        if ack {
            let p = &mut self.ends[peer];
            if p.state == ZeekState::Inactive {
                // init_peer: number the peer as if its SYN had been seen.
                rel_ack = 1;
                let base = i64::from(tcp.ack.wrapping_sub(1));
                p.init_seq(base, base);
            } else {
                let ack_full = unwrap(p.ack, tcp.ack);
                let r = p.rel(ack_full);
                if r < 0 {
                    rel_ack = 0;
                } else {
                    rel_ack = r;
                    // Acks in RSTs are not trusted; a zero ack far ahead is a broken one.
                    let delta = ack_full - p.ack;
                    let broken = tcp.ack == 0 && delta > TOO_LARGE_SEQ_DELTA;
                    if !rst && !broken && delta > 0 {
                        p.ack = ack_full;
                    }
                }
            }
        }

        self.update_last_seq(side, seq_full + seg_len, syn, fin, rst, len);
        let state_before = self.ends[me].state;
        self.update_state_machine(side, tcp, seq_full);
        // The state handlers' `do_close`, after which `ConnectionClosed` sets `did_close`: a
        // FIN or RST from any state but CLOSED and RESET, or a RST after our FIN while the
        // peer has not closed (UpdateClosedState).
        let do_close = match state_before {
            ZeekState::Reset => false,
            ZeekState::Closed => rst && self.ends[peer].state != ZeekState::Closed,
            _ => fin || rst,
        };
        if do_close {
            self.ends[me].did_close = true;
        }

        if ack {
            // After the state machine: a gap revealed by the ack that closes the connection
            // is judged with the final states.
            let partial = self.partial;
            let p = &mut self.ends[peer];
            let mut upto = rel_ack.max(0) as u64;
            if p.fins > 0 && rel_ack >= p.fin_seq {
                upto = (p.fin_seq - 1).max(0) as u64;
            }
            let gaps = p.reassembly.acked(upto, partial);
            if self.ends[peer].clean() && self.ends[me].clean() {
                for _ in 0..gaps.count {
                    self.scaled(side.peer(), 'g', |e| &mut e.gaps);
                }
                self.missed += gaps.bytes;
            }
        }
        if len > 0 && whole && !rst && !underflow {
            let e = &mut self.ends[me];
            let data_seq = (rel_seq + i64::from(syn)) as u64;
            let acked = e.rel(e.ack).max(0) as u64;
            e.reassembly.data(data_seq, len as u64, acked);
        }
    }

    /// `SetPartialStatus`: the originator's first segment not a pure SYN, or the responder's
    /// without SYN, makes the connection partial.
    fn set_partial_status(&mut self, side: Side, syn: bool, ack: bool) {
        let bit = if self.is_orig(side) { 1 } else { 2 };
        if self.first_seen & bit == 0 {
            if self.is_orig(side) {
                self.partial = !syn || ack;
            } else if !self.partial {
                self.partial = !syn;
            }
        }
        self.first_seen |= bit;
    }

    /// `init_endpoint`: where an endpoint's sequence space starts, and when a SYN restarts it.
    fn init_endpoint(&mut self, side: Side, syn: bool, seq: u32, seg_len: i64) {
        let e = &mut self.ends[side as usize];
        match e.state {
            ZeekState::Inactive => {
                if syn {
                    let s = i64::from(seq);
                    e.init_seq(s, s + seg_len);
                } else {
                    // As though a SYN came just before, so the first segment is not old.
                    let s = i64::from(seq);
                    e.init_seq(s - 1, s);
                }
            }
            ZeekState::SynSent | ZeekState::SynAckSent => {
                let s = unwrap(e.last, seq);
                if syn && s != e.start {
                    e.init_seq(s, s + seg_len);
                }
            }
            ZeekState::Established | ZeekState::Partial => {
                if syn {
                    let s = unwrap(e.last, seq);
                    e.init_seq(s, s + seg_len);
                }
            }
            ZeekState::Reset => {
                if syn && e.prev == ZeekState::Inactive {
                    let s = unwrap(e.last, seq);
                    e.init_seq(s, s + seg_len);
                }
            }
            ZeekState::Closed => {}
        }
    }

    /// `update_last_seq`: payload that does not reach past the highest sequence number seen
    /// is a retransmission (`t`), the only source of that letter.
    fn update_last_seq(
        &mut self,
        side: Side,
        end_full: i64,
        syn: bool,
        fin: bool,
        rst: bool,
        len: i64,
    ) {
        let e = &mut self.ends[side as usize];
        let delta = end_full - e.last;
        if (syn || rst) && delta.abs() > TOO_LARGE_SEQ_DELTA {
            // SYN and RST numbers that jump far are not trusted.
        } else if fin && e.last == e.start + 1 {
            // Only the SYN and the FIN seen (a >2 GB connection): trust the FIN.
            e.last = end_full;
        } else if e.state == ZeekState::Reset {
            // Nothing after a RST is trusted.
        } else if delta > 0 {
            e.last = end_full;
        } else if len > 0 {
            self.scaled(side, 't', |e| &mut e.retransmitted);
        }
    }

    /// `UpdateStateMachine` and the per-state handlers it calls.
    fn update_state_machine(&mut self, side: Side, tcp: &Tcp, seq_full: i64) {
        use ZeekState::*;
        let (syn, fin, rst, ack) = (
            tcp.has(flags::SYN),
            tcp.has(flags::FIN),
            tcp.has(flags::RST),
            tcp.has(flags::ACK),
        );
        let me = side as usize;
        let peer = side.peer() as usize;
        match self.ends[me].state {
            Inactive => {
                if syn {
                    if self.is_orig(side) {
                        self.ends[me].set_state(if ack { SynAckSent } else { SynSent });
                    } else {
                        // A pure SYN from the responder answering the originator's SYN/ACK
                        // with the number that SYN/ACK acknowledged: the SYN and SYN/ACK were
                        // captured reversed. Zeek flips the roles and establishes.
                        if !ack
                            && self.ends[peer].state == SynAckSent
                            && seq_full == self.ends[me].start
                        {
                            self.flip();
                            self.first_seen |= if self.is_orig(side) { 1 } else { 2 };
                            self.ends[peer].set_state(Established);
                        }
                        if self.ends[peer].state == SynSent {
                            self.ends[peer].set_state(Established);
                        }
                        self.ends[me].set_state(Established);
                    }
                }
                if fin {
                    self.ends[me].set_state(Closed);
                }
                if rst {
                    self.ends[me].set_state(Reset);
                }
                if self.ends[me].state == Inactive {
                    if !self.is_orig(side)
                        && tcp.len == 0
                        && self.ends[self.orig as usize].state == SynSent
                    {
                        // An ack of the SYN before the SYN/ACK: not yet a partial connection.
                    } else if ack && self.ends[peer].state == Established {
                        // The SYN was missed but the SYN/ACK seen: established, not partial.
                        self.ends[me].set_state(Established);
                        self.partial = false;
                        self.first_seen |= if self.is_orig(side) { 1 } else { 2 };
                    } else {
                        self.ends[me].set_state(Partial);
                    }
                }
            }
            SynSent | SynAckSent => {
                if fin {
                    self.ends[me].set_state(Closed);
                }
                if rst {
                    self.ends[me].set_state(Reset);
                }
            }
            Established | Partial => {
                if syn
                    && self.ends[me].state == Partial
                    && self.ends[peer].state == Inactive
                    && !ack
                {
                    self.ends[me].set_state(SynSent);
                }
                if fin && !rst {
                    self.ends[me].set_state(Closed);
                    // A FIN after the peer's FIN then RST: that was a normal close after all.
                    if self.ends[peer].state == Reset && self.ends[peer].prev == Closed {
                        self.ends[peer].set_state(Closed);
                    }
                }
                if rst {
                    self.ends[me].set_state(Reset);
                }
            }
            Closed => {
                // A RST once both sides closed changes nothing: the FIN exchange happened.
                if rst && self.ends[peer].state != Closed {
                    self.ends[me].set_state(Reset);
                }
            }
            Reset => {}
        }
    }

    /// Zeek's `orig_bytes` and `resp_bytes` (`TCP_Endpoint::Size`: from sequence numbers,
    /// so a retransmission counts once and a byte the capture missed counts too), by tcplens
    /// side (`Side as usize`).
    pub fn sizes(&self) -> [u64; 2] {
        let [c, s] = &self.ends;
        [c.size(s), s.size(c)]
    }

    /// The tcplens side Zeek takes for the originator, after any flip (`^`).
    pub fn originator(&self) -> Side {
        self.orig
    }

    /// Packets each tcplens side sent (Zeek's `orig_pkts`/`resp_pkts` by side).
    pub fn packets(&self) -> [u64; 2] {
        self.packets
    }

    /// IP bytes each tcplens side sent (Zeek's `orig_ip_bytes`/`resp_ip_bytes` by side).
    pub fn ip_bytes(&self) -> [u64; 2] {
        self.ip_bytes
    }

    /// Zeek's `last_time` (ns since the epoch): its duration ends there.
    pub fn last_time(&self) -> i128 {
        self.last_time.get()
    }

    /// Zeek's `missed_bytes`: the bytes of every content gap reported.
    pub fn missed_bytes(&self) -> u64 {
        self.missed
    }

    /// The history (Zeek's `c$history`).
    pub fn into_history(self) -> String {
        self.history
    }

    /// `conn_state()` of base/protocols/conn/main.zeek, from both endpoints' final states.
    pub fn conn_state(&self) -> ConnState {
        use ZeekState::*;
        let o = &self.ends[self.orig as usize];
        let r = &self.ends[self.orig.peer() as usize];
        let (os, rs) = (o.state, r.state);
        let o_inactive = matches!(os, Inactive | Partial);
        let r_inactive = matches!(rs, Inactive | Partial);
        if rs == Reset {
            if matches!(os, SynSent | SynAckSent)
                || (os == Reset && o.size(r) == 0 && r.size(o) == 0)
            {
                ConnState::Rej
            } else if o_inactive {
                ConnState::Rstrh
            } else {
                ConnState::Rstr
            }
        } else if os == Reset {
            if r_inactive {
                if rstos0_history(&self.history) {
                    ConnState::Rstos0
                } else {
                    ConnState::Oth
                }
            } else {
                ConnState::Rsto
            }
        } else if rs == Closed && os == Closed {
            ConnState::Sf
        } else if os == Closed {
            if r_inactive {
                ConnState::Sh
            } else {
                ConnState::S2
            }
        } else if rs == Closed {
            if o_inactive {
                ConnState::Shr
            } else {
                ConnState::S3
            }
        } else if os == SynSent && rs == Inactive {
            ConnState::S0
        } else if os == Established && rs == Established {
            ConnState::S1
        } else {
            ConnState::Oth
        }
    }
}

/// main.zeek's `/\^?S[^HAFGIQ]*R.*/`: an originator's SYN, then its RST with no handshake,
/// ACK, FIN, gap or odd flags of its own between them.
fn rstos0_history(history: &str) -> bool {
    let h = history.strip_prefix('^').unwrap_or(history);
    let Some(rest) = h.strip_prefix('S') else {
        return false;
    };
    for c in rest.chars() {
        match c {
            'R' => return true,
            'H' | 'A' | 'F' | 'G' | 'I' | 'Q' => return false,
            _ => {}
        }
    }
    false
}
