//! Wireshark-compatible TCP analysis labels (packet-tcp.c 4.0, `tcp_analyze_sequence_number`).
//!
//! Runs on raw numbers and raw (unscaled) windows, as Wireshark does, per direction of a
//! connection. The order of the checks matters: the retransmission family is exclusive, and a
//! zero-window probe skips the rest. Each direction also keeps Wireshark's list of segments
//! not yet acknowledged (`tcp_unacked_t`), from which come `tcp.analysis.acks_frame`,
//! `ack_rtt`, `bytes_in_flight`, `push_bytes_sent` and a retransmission's `rto`; it is
//! capped as Wireshark caps it (TCP_MAX_UNACKED_SEGMENTS), so memory per connection stays
//! bounded.

use std::collections::VecDeque;

use super::seq::Nanos;
use super::{SeqNum, WinScale};
use crate::decode::{Tcp, TcpOption, flags, options};

/// One `tcp.analysis.*` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Label {
    Retransmission = 1 << 0,
    FastRetransmission = 1 << 1,
    SpuriousRetransmission = 1 << 2,
    OutOfOrder = 1 << 3,
    LostSegment = 1 << 4,
    AckLostSegment = 1 << 5,
    WindowUpdate = 1 << 6,
    WindowFull = 1 << 7,
    KeepAlive = 1 << 8,
    KeepAliveAck = 1 << 9,
    DuplicateAck = 1 << 10,
    ZeroWindow = 1 << 11,
    ZeroWindowProbe = 1 << 12,
    ZeroWindowProbeAck = 1 << 13,
    ReusedPorts = 1 << 14,
}

impl Label {
    /// Labels in the order Wireshark shows their Info prefixes, with tshark's field names.
    pub const DISPLAY_ORDER: [(Label, &'static str, &'static str); 15] = [
        (
            Label::ZeroWindowProbeAck,
            "zero_window_probe_ack",
            "[TCP ZeroWindowProbeAck] ",
        ),
        (Label::ZeroWindow, "zero_window", "[TCP ZeroWindow] "),
        (
            Label::ZeroWindowProbe,
            "zero_window_probe",
            "[TCP ZeroWindowProbe] ",
        ),
        (Label::DuplicateAck, "duplicate_ack", "[TCP Dup ACK "),
        (
            Label::KeepAliveAck,
            "keep_alive_ack",
            "[TCP Keep-Alive ACK] ",
        ),
        (Label::KeepAlive, "keep_alive", "[TCP Keep-Alive] "),
        (Label::WindowFull, "window_full", "[TCP Window Full] "),
        (Label::WindowUpdate, "window_update", "[TCP Window Update] "),
        (
            Label::AckLostSegment,
            "ack_lost_segment",
            "[TCP ACKed unseen segment] ",
        ),
        (
            Label::LostSegment,
            "lost_segment",
            "[TCP Previous segment not captured] ",
        ),
        (Label::OutOfOrder, "out_of_order", "[TCP Out-Of-Order] "),
        (
            Label::SpuriousRetransmission,
            "spurious_retransmission",
            "[TCP Spurious Retransmission] ",
        ),
        (
            Label::FastRetransmission,
            "fast_retransmission",
            "[TCP Fast Retransmission] ",
        ),
        (
            Label::Retransmission,
            "retransmission",
            "[TCP Retransmission] ",
        ),
        (
            Label::ReusedPorts,
            "reused_ports",
            "[TCP Port numbers reused] ",
        ),
    ];
}

/// The analysis of one segment: its labels and, for a duplicate ACK, `N#M`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Analysis {
    bits: u16,
    /// Frame of the original ACK and the running count: Info's `[TCP Dup ACK N#M]`.
    pub dup_ack: Option<(u64, u32)>,
    /// What the acknowledgment says that its sender's earlier ones did not.
    pub ack: AckNews,
    /// `tcp.analysis.acks_frame` and `ack_rtt`: the segment this ACK acknowledges exactly.
    pub acks: Option<Acked>,
    /// `tcp.analysis.bytes_in_flight` and `push_bytes_sent`, for a segment with data.
    pub flight: Option<Flight>,
    /// `tcp.analysis.rto` and `rto_frame`, for a (plain) retransmission.
    pub rto: Option<Rto>,
    /// The ACK goes beyond what the peer was seen sending, again: Wireshark makes its
    /// analysis record (and shows the tree) though it labels only the first such ACK.
    beyond_seen: bool,
    /// The receive window the peer last advertised, as this segment finds it.
    pub peer_window: PeerWindow,
    /// Whether the segment moves its sender's next sequence number.
    pub seq: SeqNews,
    /// Whether Wireshark hands the payload to a subdissector (`frame.protocols` ends in
    /// `data`) or shows it as retransmitted segment data.
    pub payload: PayloadNews,
}

/// An ACK that ends exactly where an unacknowledged segment of the peer ended (packet-tcp.c
/// sets `frame_acked` only on that exact match, not on an ACK covering several segments'
/// middle).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Acked {
    /// The acknowledged segment's frame (`tcp.analysis.acks_frame`); the oldest one when a
    /// retransmission left two with the same end.
    pub frame: u64,
    /// Nanoseconds from that segment to this ACK (`tcp.analysis.ack_rtt`, shown when not 0).
    pub rtt: i64,
}

/// Data in flight after a segment with payload was sent (Wireshark's default, "historical"
/// method: the span of its direction's unacknowledged segments, less what the peer's last
/// SACK blocks reported delivered).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Flight {
    /// `tcp.analysis.bytes_in_flight`; 0 when Wireshark shows neither field.
    pub bytes: u32,
    /// `tcp.analysis.push_bytes_sent`: bytes sent since the last segment with PSH.
    pub push: u32,
}

/// The `ack_rtt` samples of one direction's data (the time from a segment to the ACK that
/// ends exactly at it): what a connection summary shows as min/avg/max.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RttStats {
    pub samples: u32,
    pub min: i64,
    pub max: i64,
    sum: i64,
}

impl RttStats {
    pub fn add(&mut self, rtt: i64) {
        if self.samples == 0 {
            (self.min, self.max) = (rtt, rtt);
        } else {
            self.min = self.min.min(rtt);
            self.max = self.max.max(rtt);
        }
        self.samples = self.samples.saturating_add(1);
        self.sum = self.sum.saturating_add(rtt);
    }

    /// The mean sample, ns; None without samples.
    pub fn avg(&self) -> Option<i64> {
        (self.samples > 0).then(|| self.sum / i64::from(self.samples))
    }
}

/// How long after the segment it repeats a retransmission came (the oldest unacknowledged
/// segment of its direction, else the segment that last advanced the sequence number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rto {
    pub frame: u64,
    /// Nanoseconds (`tcp.analysis.rto`, shown when not 0).
    pub after: i64,
}

/// What Wireshark 4.0 does with a segment's payload. A retransmission or an out-of-order copy
/// never reaches a subdissector (packet-tcp.c `decode_tcp_ports` checks those two flags); a
/// spurious retransmission does not either when its payload is captured whole, so that
/// desegmentation runs (arkime__wireshark-retrans.pcap frames 30 and 89 in ../shared/corpus),
/// but is dissected as data when the snap length cut it (fixtures/spurious_retransmission.pcap
/// frame 6). A fast retransmission is dissected either way (the same corpus file, frame 22).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PayloadNews {
    /// No payload.
    #[default]
    Empty,
    /// Handed to the subdissectors.
    Dissected,
    /// Shown as retransmitted data only.
    Repeated,
}

/// What a segment's sequence space adds to what its sender sent before: explanations say
/// "so its next Seq is N" only for a segment that moved it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SeqNews {
    /// No payload, SYN or FIN: it occupies no sequence number (RFC 9293 §3.4).
    #[default]
    Empty,
    /// It ends beyond the sender's next sequence number, which now follows it.
    Advances,
    /// It ends at or below the sender's next sequence number (sent before, or a zero-window
    /// probe's byte, which Wireshark does not count as sent until the window opens).
    Behind,
}

/// The peer's receive window when a segment is sent: whether the sender may send at all.
/// Wireshark names an empty segment one below the next sequence number a keep-alive whatever
/// this window; into a closed window it is the sender's zero-window probe (RFC 9293
/// §3.8.6.1), which Linux sends empty at SND.UNA − 1 (`tcp_xmit_probe_skb`), so an
/// explanation must know the window to say which the segment is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PeerWindow {
    /// The peer has sent nothing yet.
    #[default]
    Unknown,
    /// Its last segment advertised a window above zero.
    Open,
    /// Its last segment advertised a zero window.
    Closed,
}

/// What a segment's acknowledgment tells beyond its sender's earlier ACKs: explanations say
/// "acknowledges N more bytes" from it. (Which segment it acknowledges exactly is
/// [`Analysis::acks`], from Wireshark's list of unacknowledged segments.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AckNews {
    /// No ACK flag.
    #[default]
    NoAck,
    /// The sender's first ACK.
    First,
    /// The sender's first ACK while the capture holds nothing from the peer: it acknowledges
    /// no captured segment (a SYN/ACK captured after the ACK that answers it), so Wireshark
    /// gives it no `acks_frame`.
    FirstUnseen,
    /// Beyond the sender's highest earlier ACK (`previous`, raw) by `by` sequence numbers.
    Beyond { previous: u32, by: u32 },
    /// The sender's highest earlier ACK again.
    Same,
    /// Below the sender's highest earlier ACK (`highest`, raw): it arrives after a later one.
    Behind { highest: u32 },
}

impl AckNews {
    /// The ACK acknowledges something the other side sent that no earlier ACK did.
    pub fn is_new(self) -> bool {
        matches!(self, AckNews::First | AckNews::Beyond { .. })
    }
}

impl Analysis {
    /// Wireshark shows its "SEQ/ACK analysis" tree (and `tcp.analysis.initial_rtt` in it) on
    /// the segments it made a `tcp_acked` record for: an exact ACK of a segment, data while
    /// bytes in flight are tracked, an ACK beyond the data seen, or a label.
    pub fn has_tree(&self) -> bool {
        self.acks.is_some() || self.flight.is_some() || self.beyond_seen || !self.is_empty()
    }
}

impl Analysis {
    pub fn has(&self, l: Label) -> bool {
        self.bits & l as u16 != 0
    }

    pub fn set(&mut self, l: Label) {
        self.bits |= l as u16;
    }

    pub fn is_empty(&self) -> bool {
        self.bits == 0
    }

    /// The `tcp.analysis.*` fields tshark sets on the segment, in Info order. A fast or
    /// spurious retransmission is also a `retransmission`: Wireshark's tree adds both fields
    /// (packet-tcp.c, tcp_print_sequence_number_analysis), though Info names only the first.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        Label::DISPLAY_ORDER
            .iter()
            .filter(|(l, ..)| self.has(*l))
            .flat_map(|&(l, n, _)| {
                let also = matches!(l, Label::FastRetransmission | Label::SpuriousRetransmission)
                    && !self.has(Label::Retransmission);
                std::iter::once(n).chain(also.then_some("retransmission"))
            })
    }

    /// Any retransmission-family label: what connection summaries count.
    pub fn is_retransmission(&self) -> bool {
        self.has(Label::Retransmission)
            || self.has(Label::FastRetransmission)
            || self.has(Label::SpuriousRetransmission)
    }

    /// Wireshark's "Bad TCP" coloring rule: any label but window update and keep-alives.
    pub fn is_bad(&self) -> bool {
        let benign =
            Label::WindowUpdate as u16 | Label::KeepAlive as u16 | Label::KeepAliveAck as u16;
        self.bits & !benign != 0
    }
}

/// Wireshark keeps at most this many unacknowledged segments per direction (packet-tcp.h,
/// TCP_MAX_UNACKED_SEGMENTS); later ones are not listed, as there.
const MAX_UNACKED: usize = 10_000;

/// Wireshark stores at most three SACK blocks of a segment for bytes in flight (its array has
/// MAX_TCP_SACK_RANGES = 4 slots, filled from index 1, and stops at `num < 4`).
const SACK_BLOCKS_KEPT: usize = 3;

/// A segment not yet acknowledged (Wireshark's `tcp_unacked_t`).
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
struct Unacked {
    #[serde(with = "super::seq::frame")]
    frame: u64,
    #[serde(with = "super::seq::packed")]
    seq: u32,
    #[serde(with = "super::seq::packed")]
    nextseq: u32,
    at: Nanos,
}

/// One direction's unacknowledged segments, oldest first (Wireshark prepends to a list and
/// walks it newest first; where the order decides a value, the code below says so).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct InFlight {
    segs: VecDeque<Unacked>,
    /// Every segment starts at or after the previous one's end: then an ACK only touches a
    /// prefix of the list and the span is its two ends, which is what makes the list cheap
    /// on bulk transfers. Retransmissions break it until the list empties again.
    ordered: bool,
}

impl Default for InFlight {
    fn default() -> InFlight {
        InFlight {
            segs: VecDeque::new(),
            ordered: true,
        }
    }
}

impl InFlight {
    fn push(&mut self, seg: Unacked) {
        if let Some(last) = self.segs.back() {
            self.ordered &= SeqNum(seg.seq) >= SeqNum(last.nextseq);
        }
        self.segs.push_back(seg);
    }

    /// Removes what `ack` acknowledges (packet-tcp.c, "remove all segments this ACKs"):
    /// a segment ending exactly at `ack` is the acknowledged one; one that `ack` cuts keeps
    /// only its unacknowledged part; older ones go silently.
    fn acknowledge(&mut self, ack: u32) -> Option<Unacked> {
        let mut acked = None;
        let gt = |a: u32, b: u32| SeqNum(a) > SeqNum(b);
        if self.ordered {
            while let Some(s) = self.segs.front_mut() {
                if s.nextseq == ack {
                    acked = Some(*s);
                } else if gt(ack, s.seq) && !gt(ack, s.nextseq) {
                    s.seq = ack;
                    break;
                } else if gt(s.nextseq, ack) {
                    break;
                }
                self.segs.pop_front();
            }
        } else {
            // Wireshark assigns frame_acked at every exact match while walking newest
            // first, so the oldest match is what it shows: the first one here.
            self.segs.retain_mut(|s| {
                if s.nextseq == ack {
                    acked.get_or_insert(*s);
                    false
                } else if gt(ack, s.seq) && !gt(ack, s.nextseq) {
                    s.seq = ack;
                    true
                } else {
                    gt(s.nextseq, ack)
                }
            });
        }
        if self.segs.is_empty() {
            self.ordered = true;
        }
        acked
    }

    /// The span from the lowest start to the highest end, both relative to `base` as
    /// Wireshark compares them (unsigned, so a span across the relative wrap is its own).
    fn span(&self, base: u32) -> Option<u32> {
        let rel = |x: u32| x.wrapping_sub(base);
        let (first, last) = (self.segs.front()?, self.segs.back()?);
        if self.ordered && rel(first.seq) <= rel(last.nextseq) {
            return Some(rel(last.nextseq) - rel(first.seq));
        }
        let lo = self.segs.iter().map(|s| rel(s.seq)).min()?;
        let hi = self.segs.iter().map(|s| rel(s.nextseq)).max()?;
        Some(hi.wrapping_sub(lo))
    }
}

/// Per-direction analysis state (Wireshark's `tcp_flow_t`, the fields the labels need).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FlowAnalysis {
    /// Next expected sequence number; 0 = unknown (as Wireshark, which shares the sentinel).
    #[serde(with = "super::seq::packed")]
    nextseq: u32,
    nextseq_time: Nanos,
    #[serde(with = "super::seq::frame")]
    nextseq_frame: u64,
    #[serde(with = "super::seq::packed")]
    maxseqtobeacked: u32,
    #[serde(with = "super::seq::packed")]
    lastack: u32,
    lastack_time: Nanos,
    #[serde(with = "super::seq::frame")]
    last_nondup_ack: u64,
    /// Consecutive duplicate ACKs; -1 after an ACK of unseen data.
    dupacknum: i32,
    /// Last raw window; starts at 0xFFFFFFFF so the first segment is never a window update.
    window: u32,
    /// Whether this direction's last segment was a keep-alive / a zero-window probe: all the
    /// next segment's checks need of its labels (two bools rather than a 32-byte Analysis,
    /// twice per connection: connection state is what memory grows with).
    last_keep_alive: bool,
    last_zero_window_probe: bool,
    is_first_ack: bool,
    /// This direction has sent an ACK, and the highest it sent.
    acked: bool,
    #[serde(with = "super::seq::packed")]
    highest_ack: u32,
    unacked: InFlight,
    /// Bytes in flight are shown until a segment goes missing, and again once the peer ACKs
    /// (Wireshark's `valid_bif`).
    valid_bif: bool,
    /// Running count for `push_bytes_sent`, and whether the last data segment had PSH.
    push_bytes: u32,
    push_last: bool,
    /// Bytes the SACK blocks of this direction's latest segment report delivered.
    sacked: u32,
}

impl FlowAnalysis {
    /// Gives back the unacknowledged list's buffer when nothing waits in it: called as the
    /// connection closes, which then stays in the table for 2×MSL; memory follows data in
    /// flight, not closed connections. (Not on every empty list: a request/response
    /// connection empties it at each exchange, and would allocate again each time.)
    pub fn settle(&mut self) {
        if self.unacked.segs.is_empty() {
            self.unacked.segs = VecDeque::new();
        }
    }
}

impl Default for FlowAnalysis {
    fn default() -> FlowAnalysis {
        FlowAnalysis {
            nextseq: 0,
            nextseq_time: Nanos::default(),
            nextseq_frame: 0,
            maxseqtobeacked: 0,
            lastack: 0,
            lastack_time: Nanos::default(),
            last_nondup_ack: 0,
            dupacknum: 0,
            window: 0xffff_ffff,
            last_keep_alive: false,
            last_zero_window_probe: false,
            is_first_ack: false,
            acked: false,
            highest_ack: 0,
            unacked: InFlight::default(),
            valid_bif: true,
            push_bytes: 0,
            push_last: false,
            sacked: 0,
        }
    }
}

/// Connection-wide analysis state.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ConnAnalysis {
    /// Time of the most recent pure SYN, ns.
    mru_syn: Option<Nanos>,
    /// `tcp.analysis.initial_rtt`: first ACK (without SYN) after a SYN, minus that SYN's time.
    #[serde(with = "super::seq::span")]
    initial_rtt: Option<Nanos>,
}

impl ConnAnalysis {
    /// Wireshark keeps the first RTT in an `nstime_t` whose zero means "not yet": a zero
    /// difference (the SYN and ACK in the same microsecond, or clocks out of order) is
    /// neither shown nor kept, and the next ACK measures again.
    pub fn initial_rtt(&self) -> Option<i128> {
        self.initial_rtt.map(Nanos::get).filter(|r| *r != 0)
    }
}

/// What the analysis needs to know about the segment besides its header.
pub struct Segment<'a> {
    pub tcp: &'a Tcp,
    pub frame: u64,
    pub now: i128,
    /// Receiver's window scale, for "window full".
    pub rev_scale: WinScale,
    /// This direction's relative-sequence base (raw), for bytes in flight.
    pub base: u32,
    /// The capture holds the whole frame, so Wireshark desegments its payload.
    pub whole: bool,
}

/// Bytes in flight and push bytes after a data segment (packet-tcp.c 4.0, the historical
/// method Wireshark uses by default).
fn flight(t: &Tcp, fwd: &mut FlowAnalysis, peer_sacked: u32, base: u32) -> Flight {
    let span = fwd.unacked.span(base).unwrap_or(0);
    let in_flight = span.wrapping_sub(peer_sacked);
    let mut bytes = 0;
    if in_flight > 0 && in_flight < 2_000_000_000 {
        // SYN and FIN take a sequence number but no byte of the stream.
        bytes = in_flight - u32::from(t.flags & (flags::SYN | flags::FIN) != 0);
    }
    let psh = t.has(flags::PSH);
    fwd.push_bytes = if fwd.push_last {
        t.len
    } else {
        fwd.push_bytes.wrapping_add(t.len)
    };
    fwd.push_last = psh;
    Flight {
        bytes,
        push: fwd.push_bytes,
    }
}

/// What this segment's SACK blocks report delivered (RFC 2018). Only the direction's latest
/// segment counts: TShark 4.0 subtracts nothing after an ACK without SACK, however recent
/// the blocks before it (checked on fixtures/retransmissions.pcap, frames 66–67). Wireshark
/// keeps the first three blocks of an option.
fn record_sack(t: &Tcp, fwd: &mut FlowAnalysis) {
    fwd.sacked = 0;
    if !t.sack {
        return;
    }
    for o in options(t) {
        if let TcpOption::Opt { kind: 5, data } = o {
            fwd.sacked = data
                .chunks_exact(8)
                .take(SACK_BLOCKS_KEPT)
                .map(|b| {
                    let edge = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
                    edge(4).wrapping_sub(edge(0))
                })
                .fold(0u32, u32::wrapping_add);
        }
    }
}

/// A pure SYN retransmitted with its original ISN rewinds the expected sequence number, so the
/// SYN itself is judged a retransmission (packet-tcp.c, port-reuse block).
pub fn syn_again(fwd: &mut FlowAnalysis) {
    fwd.nextseq = fwd.maxseqtobeacked;
}

/// The labels of one segment; updates both directions' state.
pub fn analyze(
    seg: &Segment<'_>,
    fwd: &mut FlowAnalysis,
    rev: &mut FlowAnalysis,
    conn: &mut ConnAnalysis,
    mut out: Analysis,
) -> Analysis {
    let t = seg.tcp;
    let seq = t.seq;
    let ack = t.ack;
    let seglen = t.len;
    let window = t.window as u32;
    let sfr = t.flags & (flags::SYN | flags::FIN | flags::RST);
    let gt = |a: u32, b: u32| SeqNum(a) > SeqNum(b);
    let lt = |a: u32, b: u32| SeqNum(a) < SeqNum(b);
    let le = |a: u32, b: u32| SeqNum(a) <= SeqNum(b);
    if t.has(flags::ACK) {
        rev.valid_bif = true;
    }
    record_sack(t, fwd);

    out.peer_window = match rev.window {
        0xffff_ffff => PeerWindow::Unknown,
        0 => PeerWindow::Closed,
        _ => PeerWindow::Open,
    };
    'fwd: {
        // A one-byte segment at the edge of a closed window probes it (RFC 9293 §3.8.6.1).
        if seglen == 1 && seq == fwd.nextseq && rev.window == 0 {
            out.set(Label::ZeroWindowProbe);
            break 'fwd;
        }
        if window == 0 && sfr == 0 {
            out.set(Label::ZeroWindow);
        }
        if fwd.nextseq != 0 && gt(seq, fwd.nextseq) && !t.has(flags::RST) {
            out.set(Label::LostSegment);
            // Bytes in flight cannot be counted across a hole until the peer ACKs again.
            fwd.valid_bif = false;
        }
        if seglen <= 1 && seq == fwd.nextseq.wrapping_sub(1) && sfr == 0 {
            out.set(Label::KeepAlive);
        }
        let pure_ack_same_place =
            seglen == 0 && seq == fwd.nextseq && ack == fwd.lastack && sfr == 0;
        if pure_ack_same_place && window != 0 && window != fwd.window {
            out.set(Label::WindowUpdate);
        }
        // Wireshark skips "window full" while the receiver's scaling is unknown.
        if seglen > 0 && seg.rev_scale != WinScale::Unknown && sfr == 0 {
            let shift = match seg.rev_scale {
                WinScale::Shift(s) if !rev.is_first_ack => s as u32,
                _ => 0,
            };
            let edge = rev.lastack.wrapping_add(rev.window.wrapping_shl(shift));
            if seq.wrapping_add(seglen) == edge {
                out.set(Label::WindowFull);
            }
        }
        if pure_ack_same_place && window != 0 && window == fwd.window && rev.last_keep_alive {
            out.set(Label::KeepAliveAck);
            break 'fwd;
        }
        if pure_ack_same_place && window == 0 && window == fwd.window && rev.last_zero_window_probe
        {
            out.set(Label::ZeroWindowProbeAck);
            break 'fwd;
        }
        if pure_ack_same_place && window != 0 && window == fwd.window {
            fwd.dupacknum = if fwd.dupacknum == -1 {
                1
            } else {
                fwd.dupacknum + 1
            };
            out.set(Label::DuplicateAck);
            out.dup_ack = Some((fwd.last_nondup_ack, fwd.dupacknum.max(0) as u32));
        }
    }
    // Only an ACK beyond every earlier one acknowledges something: reordered ACKs do not.
    out.ack = match (t.has(flags::ACK), fwd.acked) {
        (false, _) => AckNews::NoAck,
        // The peer's next sequence number is still Wireshark's "unknown": it sent nothing.
        (true, false) if rev.nextseq == 0 => AckNews::FirstUnseen,
        (true, false) => AckNews::First,
        (true, true) if gt(ack, fwd.highest_ack) => AckNews::Beyond {
            previous: fwd.highest_ack,
            by: ack.wrapping_sub(fwd.highest_ack),
        },
        (true, true) if ack == fwd.highest_ack => AckNews::Same,
        (true, true) => AckNews::Behind {
            highest: fwd.highest_ack,
        },
    };
    if ack != fwd.lastack {
        fwd.last_nondup_ack = seg.frame;
        fwd.dupacknum = 0;
    }
    // An ACK beyond anything the other side was seen sending: segments were not captured.
    if rev.maxseqtobeacked != 0 && gt(ack, rev.maxseqtobeacked) && t.has(flags::ACK) {
        out.beyond_seen = true;
        if lt(rev.maxseqtobeacked, rev.nextseq) {
            rev.maxseqtobeacked = rev.nextseq;
            out.set(Label::AckLostSegment);
        } else {
            if rev.dupacknum == 0 {
                out.set(Label::AckLostSegment);
            }
            rev.dupacknum = -1;
        }
    }
    let syn_fin = t.flags & (flags::SYN | flags::FIN) != 0;
    if (seglen > 0 || syn_fin) && !out.has(Label::KeepAlive) {
        let mut not_advanced = fwd.nextseq != 0 && lt(seq, fwd.nextseq);
        if seglen > 1 && fwd.nextseq.wrapping_sub(1) == seq {
            not_advanced = false;
        }
        let since = |then: Nanos| seg.now - then.get();
        let ooo_threshold = conn.initial_rtt().unwrap_or(3_000_000);
        if seglen > 0 && rev.lastack != 0 && le(seq.wrapping_add(seglen), rev.lastack) {
            out.set(Label::SpuriousRetransmission);
        } else if not_advanced
            && rev.dupacknum >= 2
            && rev.lastack == seq
            && since(rev.lastack_time) < 20_000_000
        {
            out.set(Label::FastRetransmission);
        } else if not_advanced
            && since(fwd.nextseq_time) < ooo_threshold
            && fwd.nextseq != seq.wrapping_add(seglen).wrapping_add(syn_fin as u32)
        {
            out.set(Label::OutOfOrder);
        } else if not_advanced {
            out.set(Label::Retransmission);
            // Measured from the oldest segment still unacknowledged, which is likely the
            // one repeated here; without one, from the segment that last advanced nextseq.
            let (frame, at) = fwd
                .unacked
                .segs
                .front()
                .map_or((fwd.nextseq_frame, fwd.nextseq_time), |u| (u.frame, u.at));
            out.rto = Some(Rto {
                frame,
                after: since(at) as i64,
            });
        }
    }

    out.payload = if seglen == 0 {
        PayloadNews::Empty
    } else if out.has(Label::Retransmission)
        || out.has(Label::OutOfOrder)
        || (seg.whole && out.has(Label::SpuriousRetransmission))
    {
        PayloadNews::Repeated
    } else {
        PayloadNews::Dissected
    };

    // SYN and FIN each occupy one sequence number (RFC 9293 §3.4).
    let nextseq = seq.wrapping_add(seglen).wrapping_add(syn_fin as u32);
    if (seglen > 0 || syn_fin) && fwd.unacked.segs.len() < MAX_UNACKED {
        fwd.unacked.push(Unacked {
            frame: seg.frame,
            seq,
            nextseq,
            at: seg.now.into(),
        });
    }
    let probe = out.has(Label::ZeroWindowProbe);
    let advances = (gt(nextseq, fwd.nextseq) || fwd.nextseq == 0) && !probe;
    out.seq = match (seglen > 0 || syn_fin, advances) {
        (false, _) => SeqNews::Empty,
        (true, true) => SeqNews::Advances,
        (true, false) => SeqNews::Behind,
    };
    if advances {
        fwd.nextseq = nextseq;
        fwd.nextseq_time = seg.now.into();
        fwd.nextseq_frame = seg.frame;
    }
    if (seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0) && !probe {
        fwd.maxseqtobeacked = fwd.nextseq;
    }
    fwd.window = window;
    fwd.lastack = ack;
    fwd.lastack_time = seg.now.into();
    if t.has(flags::ACK) && (!fwd.acked || gt(ack, fwd.highest_ack)) {
        fwd.highest_ack = ack;
    }
    fwd.acked |= t.has(flags::ACK);
    fwd.last_keep_alive = out.has(Label::KeepAlive);
    fwd.last_zero_window_probe = out.has(Label::ZeroWindowProbe);
    if t.has(flags::SYN) {
        fwd.is_first_ack = true;
    } else if t.has(flags::ACK) {
        fwd.is_first_ack = false;
    }

    // Wireshark runs this on the raw ack field whatever the flags say, as it does above.
    out.acks = rev.unacked.acknowledge(ack).map(|u| Acked {
        frame: u.frame,
        rtt: (seg.now - u.at.get()) as i64,
    });
    if seglen != 0 && fwd.valid_bif && !fwd.unacked.segs.is_empty() {
        out.flight = Some(flight(t, fwd, rev.sacked, seg.base));
    }

    // tcp.analysis.initial_rtt: from the latest pure SYN to the first ACK without SYN.
    // packet-tcp.c keeps both as nstime_t where zero means "none": a SYN stamped at the epoch
    // records no SYN time, and a zero RTT (the ACK in the SYN's microsecond) is not shown and
    // is measured again at the next pure ACK.
    if t.flags & (flags::SYN | flags::ACK) == flags::SYN {
        conn.mru_syn = (seg.now != 0).then(|| seg.now.into());
    } else if t.flags & (flags::SYN | flags::ACK) == flags::ACK
        && conn.initial_rtt().is_none()
        && let Some(syn) = conn.mru_syn
    {
        let rtt = seg.now - syn.get();
        conn.initial_rtt = (rtt != 0).then(|| rtt.into());
    }
    out
}

#[cfg(test)]
mod tests {
    //! Each label from a state fixture and segment templates, as smoltcp's socket tests are
    //! built (`socket_established()`, `..SEND_TEMPL`): a connection after its handshake, then
    //! the segments of the scenario, each checked against what Wireshark 4.0's
    //! `tcp_analyze_sequence_number` decides for it.
    use super::*;
    use crate::decode::TCP_TEMPLATE;
    use crate::flow::endpoint::Side::{self, Client as C, Server as S};

    const A: u16 = flags::ACK;
    const SYN: u16 = flags::SYN;
    /// Client ISN, and its first data byte.
    const C_ISN: u32 = 1000;
    const C1: u32 = C_ISN + 1;
    /// Server ISN near the top of the sequence space, so its numbers wrap.
    const S_ISN: u32 = u32::MAX - 10;
    const S1: u32 = S_ISN.wrapping_add(1);
    /// Every segment's window unless a scenario changes it.
    const WIN: u16 = 5000;
    /// The handshake's ACK comes 20 ms after the SYN: Wireshark's initial RTT, which is also
    /// its out-of-order threshold.
    const RTT_MS: i128 = 20;

    /// Both directions' analysis state, a frame counter and the capture's clock.
    struct Wire {
        flows: [FlowAnalysis; 2],
        conn: ConnAnalysis,
        frame: u64,
        /// Whether the capture holds each frame whole (no snap length cut).
        whole: bool,
    }

    /// A segment: flags, seq, ack, payload length, with the default window.
    fn seg(flags: u16, seq: u32, ack: u32, len: u32) -> Tcp {
        Tcp {
            flags,
            seq,
            ack,
            len,
            window: WIN,
            ..TCP_TEMPLATE
        }
    }

    fn with_window(t: Tcp, window: u16) -> Tcp {
        Tcp { window, ..t }
    }

    impl Wire {
        /// `from` sends `tcp` at `ms` milliseconds; its labels. Window scaling is known and 0
        /// both ways, so windows are what the segments say.
        fn send(&mut self, from: Side, tcp: Tcp, ms: i128) -> Analysis {
            self.frame += 1;
            let (f, r) = match from {
                C => (0, 1),
                S => (1, 0),
            };
            let [a, b] = &mut self.flows;
            let (fwd, rev) = if f < r { (a, b) } else { (b, a) };
            let seg = Segment {
                tcp: &tcp,
                frame: self.frame,
                // A second after the epoch: Wireshark records no SYN time at the epoch itself.
                now: (1000 + ms) * 1_000_000,
                rev_scale: WinScale::Shift(0),
                base: if f == 0 { C_ISN } else { S_ISN },
                whole: self.whole,
            };
            analyze(&seg, fwd, rev, &mut self.conn, Analysis::default())
        }
    }

    /// The fixture: a three-way handshake at 0, 10 and 20 ms (frames 1–3), nothing else.
    fn established() -> Wire {
        let mut w = Wire {
            flows: Default::default(),
            conn: ConnAnalysis::default(),
            frame: 0,
            whole: true,
        };
        for (from, t, ms) in [
            (C, seg(SYN, C_ISN, 0, 0), 0),
            (S, seg(SYN | A, S_ISN, C1, 0), 10),
            (C, seg(A, C1, S1, 0), RTT_MS),
        ] {
            assert!(
                w.send(from, t, ms).is_empty(),
                "the handshake has no labels"
            );
        }
        assert_eq!(w.conn.initial_rtt(), Some(RTT_MS * 1_000_000));
        w
    }

    fn labels(a: &Analysis) -> Vec<&'static str> {
        a.names().collect()
    }

    #[test]
    fn syn_then_ack_before_the_syn_ack_acknowledges_nothing_captured() {
        let mut w = Wire {
            flows: Default::default(),
            conn: ConnAnalysis::default(),
            frame: 0,
            whole: true,
        };
        w.send(C, seg(SYN, C_ISN, 0, 0), 0);
        // The capture point saw the client's ACK before the server's SYN/ACK.
        let ack = w.send(C, seg(A, C1, S1, 0), 1);
        assert_eq!(ack.ack, AckNews::FirstUnseen);
        assert!(
            !ack.has_tree(),
            "Wireshark shows no SEQ/ACK tree: no acks_frame"
        );
        let syn_ack = w.send(S, seg(SYN | A, S_ISN, C1, 0), 50);
        assert_eq!(syn_ack.ack, AckNews::First);
        assert!(syn_ack.has_tree());
    }

    #[test]
    fn established_data_then_its_ack_have_no_labels_and_move_the_numbers() {
        let mut w = established();
        let data = w.send(C, seg(A, C1, S1, 100), 30);
        assert!(data.is_empty());
        assert_eq!(data.seq, SeqNews::Advances);
        assert_eq!(data.peer_window, PeerWindow::Open);
        let ack = w.send(S, seg(A, S1, C1 + 100, 0), 40);
        assert!(ack.is_empty());
        assert_eq!(ack.seq, SeqNews::Empty);
        assert_eq!(
            ack.ack,
            AckNews::Beyond {
                previous: C1,
                by: 100
            }
        );
    }

    #[test]
    fn established_resend_of_acknowledged_bytes_is_a_spurious_retransmission() {
        let mut w = established();
        w.send(C, seg(A, C1, S1, 100), 30);
        w.send(S, seg(A, S1, C1 + 100, 0), 40);
        // The ACK was late for the client's timer: the bytes go again, already acknowledged.
        let again = w.send(C, seg(A, C1, S1, 100), 300);
        assert_eq!(
            labels(&again),
            ["spurious_retransmission", "retransmission"]
        );
        assert!(again.is_retransmission());
        assert_eq!(again.seq, SeqNews::Behind);
    }

    #[test]
    fn spurious_resend_of_a_payload_captured_whole_is_not_dissected_again() {
        let mut w = established();
        assert_eq!(
            w.send(C, seg(A, C1, S1, 100), 30).payload,
            PayloadNews::Dissected
        );
        w.send(S, seg(A, S1, C1 + 100, 0), 40);
        let again = w.send(C, seg(A, C1, S1, 100), 300);
        assert_eq!(again.payload, PayloadNews::Repeated);
    }

    #[test]
    fn spurious_resend_of_a_payload_the_snap_length_cut_is_dissected() {
        let mut w = established();
        w.whole = false;
        w.send(C, seg(A, C1, S1, 100), 30);
        w.send(S, seg(A, S1, C1 + 100, 0), 40);
        // Without desegmentation only the retransmission and out-of-order flags keep a
        // payload from the subdissectors; a spurious retransmission has a flag of its own.
        let again = w.send(C, seg(A, C1, S1, 100), 300);
        assert_eq!(
            labels(&again),
            ["spurious_retransmission", "retransmission"]
        );
        assert_eq!(again.payload, PayloadNews::Dissected);
    }

    #[test]
    fn established_resend_after_the_initial_rtt_is_a_retransmission() {
        let mut w = established();
        w.send(C, seg(A, C1, S1, 100), 30);
        let again = w.send(C, seg(A, C1, S1, 100), 30 + RTT_MS + 200);
        assert_eq!(labels(&again), ["retransmission"]);
        assert_eq!(again.seq, SeqNews::Behind);
    }

    #[test]
    fn established_older_segment_within_the_initial_rtt_is_out_of_order() {
        let mut w = established();
        w.send(C, seg(A, C1, S1, 100), 30);
        w.send(C, seg(A, C1 + 100, S1, 100), 31);
        let late = w.send(C, seg(A, C1, S1, 100), 31 + RTT_MS - 1);
        assert_eq!(labels(&late), ["out_of_order"]);
        assert!(!late.is_retransmission());
    }

    #[test]
    fn established_three_duplicate_acks_then_the_resend_is_a_fast_retransmission() {
        let mut w = established();
        w.send(C, seg(A, C1, S1, 100), 30);
        let ack_frame = w.frame + 1;
        assert!(w.send(S, seg(A, S1, C1 + 100, 0), 40).is_empty());
        // The next segment is lost past the capture point; the three after it each make the
        // server repeat its ACK, with the same window.
        for i in 0..4 {
            w.send(C, seg(A, C1 + 100 * (i + 1), S1, 100), 50 + i as i128);
        }
        for n in 1..=3 {
            let dup = w.send(S, seg(A, S1, C1 + 100, 0), 60 + n as i128);
            assert_eq!(labels(&dup), ["duplicate_ack"]);
            assert_eq!(dup.dup_ack, Some((ack_frame, n)));
            assert_eq!(dup.ack, AckNews::Same);
        }
        let fast = w.send(C, seg(A, C1 + 100, S1, 100), 64);
        assert_eq!(labels(&fast), ["fast_retransmission", "retransmission"]);
    }

    #[test]
    fn established_segment_beyond_the_next_seq_is_lost_segment() {
        let mut w = established();
        // Bytes C1..C1+100 were not captured.
        let after_gap = w.send(C, seg(A, C1 + 100, S1, 100), 30);
        assert_eq!(labels(&after_gap), ["lost_segment"]);
        assert_eq!(after_gap.seq, SeqNews::Advances);
    }

    #[test]
    fn established_ack_beyond_anything_captured_is_ack_lost_segment() {
        let mut w = established();
        w.send(C, seg(A, C1, S1, 100), 30);
        // The server acknowledges 400 bytes the capture never saw the client send.
        let ack = w.send(S, seg(A, S1, C1 + 500, 0), 40);
        assert_eq!(labels(&ack), ["ack_lost_segment"]);
    }

    #[test]
    fn established_empty_segment_one_below_next_seq_is_keep_alive_and_its_answer_the_ack() {
        let mut w = established();
        let probe = w.send(C, seg(A, C1 - 1, S1, 0), 7_200_000);
        assert_eq!(labels(&probe), ["keep_alive"]);
        assert_eq!(probe.peer_window, PeerWindow::Open);
        let answer = w.send(S, seg(A, S1, C1, 0), 7_200_010);
        assert_eq!(labels(&answer), ["keep_alive_ack"]);
        assert!(!answer.is_bad(), "keep-alives are not Bad TCP");
    }

    #[test]
    fn zero_window_then_a_byte_at_the_edge_is_a_zero_window_probe_and_its_answer_the_ack() {
        let mut w = established();
        w.send(C, seg(A, C1, S1, 100), 30);
        let closed = w.send(S, with_window(seg(A, S1, C1 + 100, 0), 0), 40);
        assert_eq!(labels(&closed), ["zero_window"]);
        let probe = w.send(C, seg(A, C1 + 100, S1, 1), 250);
        assert_eq!(labels(&probe), ["zero_window_probe"]);
        assert_eq!(probe.peer_window, PeerWindow::Closed);
        // Wireshark does not count the probe's byte as sent: it goes again once the window opens.
        assert_eq!(probe.seq, SeqNews::Behind);
        let answer = w.send(S, with_window(seg(A, S1, C1 + 100, 0), 0), 251);
        // Still Win=0, so also a zero window (checked first in packet-tcp.c).
        assert_eq!(labels(&answer), ["zero_window_probe_ack", "zero_window"]);
        let open = w.send(S, seg(A, S1, C1 + 100, 0), 3000);
        assert_eq!(labels(&open), ["window_update"]);
        let resent = w.send(C, seg(A, C1 + 100, S1, 1), 3001);
        assert!(resent.is_empty(), "the probe's byte, now sent: {resent:?}");
        assert_eq!(resent.seq, SeqNews::Advances);
    }

    #[test]
    fn zero_window_then_linux_empty_probe_is_a_keep_alive_into_a_closed_window() {
        let mut w = established();
        w.send(C, seg(A, C1, S1, 100), 30);
        w.send(S, with_window(seg(A, S1, C1 + 100, 0), 0), 40);
        // Linux probes with an empty segment at SND.UNA - 1 (tcp_xmit_probe_skb).
        let probe = w.send(C, seg(A, C1 + 99, S1, 0), 250);
        assert_eq!(labels(&probe), ["keep_alive"]);
        assert_eq!(probe.peer_window, PeerWindow::Closed);
        let answer = w.send(S, with_window(seg(A, S1, C1 + 100, 0), 0), 251);
        // Wireshark's keep-alive ACK needs an open window: the answer is only a zero window.
        assert_eq!(labels(&answer), ["zero_window"]);
    }

    #[test]
    fn established_pure_ack_with_a_new_window_is_a_window_update() {
        let mut w = established();
        let update = w.send(S, with_window(seg(A, S1, C1, 0), WIN * 2), 30);
        assert_eq!(labels(&update), ["window_update"]);
        assert!(!update.is_bad());
    }

    #[test]
    fn established_data_up_to_the_peer_window_edge_is_window_full() {
        let mut w = established();
        let full = w.send(C, seg(A, C1, S1, WIN as u32), 30);
        assert_eq!(labels(&full), ["window_full"]);
    }

    #[test]
    fn established_same_ack_and_window_without_data_is_a_duplicate_ack() {
        let mut w = established();
        let handshake_ack = w.frame;
        let dup = w.send(C, seg(A, C1, S1, 0), 30);
        assert_eq!(labels(&dup), ["duplicate_ack"]);
        assert_eq!(dup.dup_ack, Some((handshake_ack, 1)));
    }
}

/// Wireshark's per-segment timing (acks_frame, ack_rtt, bytes_in_flight, push_bytes_sent,
/// rto) on segment templates; the same fields are compared with TShark on every fixture and
/// corpus capture by tests/timing_oracle.rs.
#[cfg(test)]
mod timing_tests {
    use super::*;
    use crate::decode::{OptionBytes, TCP_TEMPLATE};

    const MS: i128 = 1_000_000;
    /// The client's ISN; the server's is 5000.
    const C: u32 = 1000;
    const S: u32 = 5000;

    /// Both directions of one connection, fed segments as the tracker feeds `analyze`.
    #[derive(Default)]
    struct Conn {
        client: FlowAnalysis,
        server: FlowAnalysis,
        conn: ConnAnalysis,
        frame: u64,
    }

    struct Sent {
        from_server: bool,
        flags: u16,
        seq: u32,
        ack: u32,
        len: u32,
        sack: Option<(u32, u32)>,
    }

    fn client(flags: u16, seq: u32, ack: u32, len: u32) -> Sent {
        Sent {
            from_server: false,
            flags,
            seq,
            ack,
            len,
            sack: None,
        }
    }

    fn server(flags: u16, seq: u32, ack: u32, len: u32) -> Sent {
        Sent {
            from_server: true,
            ..client(flags, seq, ack, len)
        }
    }

    const A: u16 = flags::ACK;
    const PA: u16 = flags::PSH | flags::ACK;

    impl Conn {
        fn send(&mut self, s: Sent, at: i128) -> Analysis {
            self.frame += 1;
            let mut tcp = Tcp {
                flags: s.flags,
                seq: s.seq,
                ack: s.ack,
                len: s.len,
                ..TCP_TEMPLATE
            };
            if let Some((le, re)) = s.sack {
                let mut o = vec![1, 1, 5, 10];
                o.extend(le.to_be_bytes());
                o.extend(re.to_be_bytes());
                tcp.options = OptionBytes::new(&o);
                tcp.options_len = o.len();
                tcp.sack = true;
            }
            let (fwd, rev, base) = if s.from_server {
                (&mut self.server, &mut self.client, S)
            } else {
                (&mut self.client, &mut self.server, C)
            };
            let seg = Segment {
                tcp: &tcp,
                frame: self.frame,
                // A second after the epoch: Wireshark records no SYN time at the epoch itself.
                now: 1_000_000_000 + at,
                rev_scale: WinScale::Off,
                base,
                whole: true,
            };
            analyze(&seg, fwd, rev, &mut self.conn, Analysis::default())
        }

        /// Handshake at 0, 10 and 11 ms: frames 1–3.
        fn established() -> Conn {
            let mut c = Conn::default();
            c.send(client(flags::SYN, C, 0, 0), 0);
            c.send(server(flags::SYN | A, S, C + 1, 0), 10 * MS);
            c.send(client(A, C + 1, S + 1, 0), 11 * MS);
            c
        }
    }

    #[test]
    fn handshake_ack_acknowledges_the_syn_ack_after_its_round_trip() {
        let mut c = Conn::default();
        c.send(client(flags::SYN, C, 0, 0), 0);
        let syn_ack = c.send(server(flags::SYN | A, S, C + 1, 0), 10 * MS);
        let ack = c.send(client(A, C + 1, S + 1, 0), 11 * MS);
        assert_eq!(
            syn_ack.acks,
            Some(Acked {
                frame: 1,
                rtt: 10_000_000
            })
        );
        assert_eq!(
            ack.acks,
            Some(Acked {
                frame: 2,
                rtt: 1_000_000
            })
        );
        // Neither carries data: no bytes in flight.
        assert_eq!((syn_ack.flight, ack.flight), (None, None));
    }

    #[test]
    fn bytes_in_flight_grow_with_each_unacknowledged_segment_and_push_resets_its_count() {
        let mut c = Conn::established();
        let one = c.send(client(A, C + 1, S + 1, 100), 20 * MS);
        let two = c.send(client(PA, C + 101, S + 1, 100), 21 * MS);
        let three = c.send(client(A, C + 201, S + 1, 50), 22 * MS);
        assert_eq!(
            one.flight,
            Some(Flight {
                bytes: 100,
                push: 100
            })
        );
        assert_eq!(
            two.flight,
            Some(Flight {
                bytes: 200,
                push: 200
            })
        );
        // After a PSH the count starts again from this segment.
        assert_eq!(
            three.flight,
            Some(Flight {
                bytes: 250,
                push: 50
            })
        );
    }

    #[test]
    fn ack_of_a_segments_end_names_it_and_an_ack_inside_a_segment_names_none() {
        let mut c = Conn::established();
        c.send(client(A, C + 1, S + 1, 100), 20 * MS); // frame 4
        c.send(client(A, C + 101, S + 1, 100), 21 * MS); // frame 5
        let inside = c.send(server(A, S + 1, C + 151, 0), 30 * MS);
        assert_eq!(
            inside.acks, None,
            "an ACK cutting frame 5 acknowledges no segment"
        );
        let next = c.send(client(A, C + 201, S + 1, 10), 31 * MS);
        // Frame 5's unacknowledged half (50 bytes) and the new 10 are in flight.
        assert_eq!(next.flight.map(|f| f.bytes), Some(60));
        let end = c.send(server(A, S + 1, C + 201, 0), 40 * MS);
        assert_eq!(
            end.acks,
            Some(Acked {
                frame: 5,
                rtt: 19_000_000
            })
        );
    }

    #[test]
    fn retransmission_is_timed_from_the_oldest_unacknowledged_segment() {
        let mut c = Conn::established();
        c.send(client(A, C + 1, S + 1, 100), 20 * MS); // frame 4
        c.send(client(A, C + 101, S + 1, 100), 21 * MS); // frame 5
        let again = c.send(client(A, C + 1, S + 1, 100), 220 * MS); // frame 6
        assert!(again.has(Label::Retransmission));
        assert_eq!(
            again.rto,
            Some(Rto {
                frame: 4,
                after: 200_000_000
            })
        );
        // The ACK of the first 100 bytes ends where both frame 4 and its retransmission end:
        // Wireshark names the oldest.
        let ack = c.send(server(A, S + 1, C + 101, 0), 230 * MS);
        assert_eq!(ack.acks.map(|a| a.frame), Some(4));
    }

    #[test]
    fn peer_sack_blocks_subtract_what_was_delivered_until_its_next_segment_without_them() {
        let mut c = Conn::established();
        for k in 0..4 {
            c.send(
                client(A, C + 1 + 100 * k, S + 1, 100),
                (20 + k as i128) * MS,
            ); // frames 4–7
        }
        // The first segment was lost: the server SACKs the next three.
        let mut dup = server(A, S + 1, C + 1, 0);
        dup.sack = Some((C + 101, C + 401));
        c.send(dup, 30 * MS);
        let fifth = c.send(client(A, C + 401, S + 1, 100), 31 * MS);
        // 500 bytes unacknowledged, 300 of them reported delivered.
        assert_eq!(fifth.flight.map(|f| f.bytes), Some(200));
        c.send(server(A, S + 1, C + 1, 0), 32 * MS);
        let sixth = c.send(client(A, C + 501, S + 1, 100), 33 * MS);
        assert_eq!(sixth.flight.map(|f| f.bytes), Some(600));
    }

    #[test]
    fn a_hole_in_the_data_stops_bytes_in_flight_until_the_peer_acks() {
        let mut c = Conn::established();
        c.send(client(A, C + 1, S + 1, 100), 20 * MS);
        let after_hole = c.send(client(A, C + 201, S + 1, 100), 21 * MS);
        assert!(after_hole.has(Label::LostSegment));
        assert_eq!(after_hole.flight, None);
        c.send(server(A, S + 1, C + 101, 0), 30 * MS);
        let later = c.send(client(A, C + 301, S + 1, 100), 31 * MS);
        assert_eq!(later.flight.map(|f| f.bytes), Some(200));
    }

    #[test]
    fn unacknowledged_list_stops_growing_at_wiresharks_cap() {
        let mut c = Conn::established();
        for k in 0..(MAX_UNACKED as u32 + 10) {
            c.send(client(A, C + 1 + k, S + 1, 1), 20 * MS);
        }
        assert_eq!(c.client.unacked.segs.len(), MAX_UNACKED);
    }

    #[test]
    fn a_zero_handshake_rtt_is_measured_again_at_the_next_ack() {
        let mut c = Conn::default();
        c.send(client(flags::SYN, C, 0, 0), 0);
        c.send(server(flags::SYN | A, S, C + 1, 0), 0);
        c.send(client(A, C + 1, S + 1, 0), 0);
        assert_eq!(c.conn.initial_rtt(), None, "zero is Wireshark's 'not yet'");
        c.send(client(A, C + 1, S + 1, 0), 5 * MS);
        assert_eq!(c.conn.initial_rtt(), Some(5_000_000));
    }
}
