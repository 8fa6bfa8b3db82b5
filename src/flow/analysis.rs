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
    /// The receive window the peer last advertised, as this segment finds it.
    pub peer_window: PeerWindow,
    /// Whether the segment moves its sender's next sequence number.
    pub seq: SeqNews,
    /// Whether Wireshark hands the payload to a subdissector (`frame.protocols` ends in
    /// `data`) or shows it as retransmitted segment data.
    pub payload: PayloadNews,
}

/// What Wireshark 4.0 does with a segment's payload. A retransmission or an out-of-order copy
/// never reaches a subdissector (packet-tcp.c `decode_tcp_ports` checks those two flags); a
/// spurious retransmission does not either when its payload is captured whole, so that
/// desegmentation runs (arkime__wireshark-retrans.pcap frames 30 and 89 in ../shared/corpus),
/// but is dissected as data when the snap length cut it (fixtures/spurious_retransmission.pcap
/// frame 6). A fast retransmission is dissected either way (the same corpus file, frame 22).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
/// "acknowledges N more bytes" from it, and an ACK that moves forward is one Wireshark gives
/// an `acks_frame` (approximated by it until ack_rtt is computed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
    /// The capture holds the whole frame, so Wireshark desegments its payload.
    pub whole: bool,
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
    if t.flags & (flags::SYN | flags::ACK) == flags::SYN {
        conn.mru_syn = Some(seg.now.into());
    } else if t.flags & (flags::SYN | flags::ACK) == flags::ACK
        && conn.initial_rtt.is_none()
        && let Some(syn) = conn.mru_syn
    {
        conn.initial_rtt = Some((seg.now - syn.get()).into());
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
                now: ms * 1_000_000,
                rev_scale: WinScale::Shift(0),
                whole: self.whole,
            };
            analyze(&seg, fwd, rev, &mut self.conn, Analysis::default())
        }
    }

    /// The fixture: a three-way handshake at 0, 10 and 20 ms (frames 1–3), nothing else.
    fn established() -> Wire {
        let mut w = Wire {
            flows: [FlowAnalysis::default(); 2],
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
            flows: [FlowAnalysis::default(); 2],
            conn: ConnAnalysis::default(),
            frame: 0,
            whole: true,
        };
        w.send(C, seg(SYN, C_ISN, 0, 0), 0);
        // The capture point saw the client's ACK before the server's SYN/ACK.
        let ack = w.send(C, seg(A, C1, S1, 0), 1);
        assert_eq!(ack.ack, AckNews::FirstUnseen);
        assert!(
            !ack.has_tree(0),
            "Wireshark shows no SEQ/ACK tree: no acks_frame"
        );
        let syn_ack = w.send(S, seg(SYN | A, S_ISN, C1, 0), 50);
        assert_eq!(syn_ack.ack, AckNews::First);
        assert!(syn_ack.has_tree(0));
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
