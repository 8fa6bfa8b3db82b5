//! Wireshark-compatible TCP analysis labels (packet-tcp.c 4.0, `tcp_analyze_sequence_number`).
//!
//! Runs on raw numbers and raw (unscaled) windows, as Wireshark does, per direction of a
//! connection. The order of the checks matters: the retransmission family is exclusive, and a
//! zero-window probe skips the rest. Only the labels are kept; Wireshark's per-segment lists
//! (for ack RTT and bytes in flight) are not, so memory per connection stays constant.

use super::seq::Nanos;
use super::{SeqNum, WinScale};
use crate::decode::{Tcp, flags};

/// One `tcp.analysis.*` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Analysis {
    bits: u16,
    /// Frame of the original ACK and the running count: Info's `[TCP Dup ACK N#M]`.
    pub dup_ack: Option<(u64, u32)>,
    /// What the acknowledgment says that its sender's earlier ones did not.
    pub ack: AckNews,
}

/// What a segment's acknowledgment tells beyond its sender's earlier ACKs: explanations say
/// "acknowledges N more bytes" from it, and an ACK that moves forward is one Wireshark gives
/// an `acks_frame` (approximated by it until ack_rtt is computed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AckNews {
    /// No ACK flag.
    #[default]
    NoAck,
    /// The sender's first ACK.
    First,
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
    /// segments that acknowledge something, carry data (bytes in flight) or have a label.
    pub fn has_tree(&self, seglen: u32) -> bool {
        self.ack.is_new() || seglen > 0 || !self.is_empty()
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

/// Per-direction analysis state (Wireshark's `tcp_flow_t`, the fields the labels need).
#[derive(Clone, Copy, Debug)]
pub struct FlowAnalysis {
    /// Next expected sequence number; 0 = unknown (as Wireshark, which shares the sentinel).
    nextseq: u32,
    nextseq_time: Nanos,
    maxseqtobeacked: u32,
    lastack: u32,
    lastack_time: Nanos,
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
    highest_ack: u32,
}

impl Default for FlowAnalysis {
    fn default() -> FlowAnalysis {
        FlowAnalysis {
            nextseq: 0,
            nextseq_time: Nanos::default(),
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
        }
    }
}

/// Connection-wide analysis state.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnAnalysis {
    /// Time of the most recent pure SYN, ns.
    mru_syn: Option<Nanos>,
    /// `tcp.analysis.initial_rtt`: first ACK (without SYN) after a SYN, minus that SYN's time.
    initial_rtt: Option<Nanos>,
}

impl ConnAnalysis {
    pub fn initial_rtt(&self) -> Option<i128> {
        self.initial_rtt.map(Nanos::get)
    }
}

/// What the analysis needs to know about the segment besides its header.
pub struct Segment<'a> {
    pub tcp: &'a Tcp,
    pub frame: u64,
    pub now: i128,
    /// Receiver's window scale, for "window full".
    pub rev_scale: WinScale,
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
        let ooo_threshold = conn.initial_rtt().filter(|r| *r != 0).unwrap_or(3_000_000);
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
        }
    }

    // SYN and FIN each occupy one sequence number (RFC 9293 §3.4).
    let nextseq = seq.wrapping_add(seglen).wrapping_add(syn_fin as u32);
    let probe = out.has(Label::ZeroWindowProbe);
    if (gt(nextseq, fwd.nextseq) || fwd.nextseq == 0) && !probe {
        fwd.nextseq = nextseq;
        fwd.nextseq_time = seg.now.into();
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

    // tcp.analysis.initial_rtt: from the latest pure SYN to the first ACK without SYN.
    // packet-tcp.c keeps both as nstime_t where zero means "none": a SYN stamped at the epoch
    // records no SYN time, and a zero RTT (the ACK in the SYN's microsecond) is not shown and
    // is measured again at the next pure ACK.
    if t.flags & (flags::SYN | flags::ACK) == flags::SYN {
        conn.mru_syn = (seg.now != 0).then(|| seg.now.into());
    } else if t.flags & (flags::SYN | flags::ACK) == flags::ACK
        && conn.initial_rtt.is_none()
        && let Some(syn) = conn.mru_syn
    {
        let rtt = seg.now - syn.get();
        conn.initial_rtt = (rtt != 0).then(|| rtt.into());
    }
    out
}
