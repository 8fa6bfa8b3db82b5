//! One TCP connection's reconstruction: phases and steps, who opened and closed it and how,
//! byte and packet counts, and Zeek's `history` and `conn_state` for the summary.

use super::endpoint::{EndpointState, Endpoints, Side, Transitions};
pub use super::zeek::ConnState;
use super::zeek::ZeekConn;
use super::{Analysis, Endpoint};
use crate::decode::{Tcp, flags};

/// What a segment does in its connection's life (design.md `phase`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Phase {
    Handshake,
    Data,
    Close,
    Reset,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Handshake => "handshake",
            Phase::Data => "data",
            Phase::Close => "close",
            Phase::Reset => "reset",
        }
    }
}

/// How a connection opened (design.md `open`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Open {
    ThreeWay,
    Simultaneous,
    Refused,
    NoAnswer,
    Midstream,
}

/// How it closed (design.md `close`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    FourWay,
    ThreeWay,
    Simultaneous,
    Reset,
    None,
}

impl Open {
    pub fn name(self) -> &'static str {
        match self {
            Open::ThreeWay => "three_way",
            Open::Simultaneous => "simultaneous",
            Open::Refused => "refused",
            Open::NoAnswer => "no_answer",
            Open::Midstream => "midstream",
        }
    }
}

impl Close {
    pub fn name(self) -> &'static str {
        match self {
            Close::FourWay => "four_way",
            Close::ThreeWay => "three_way",
            Close::Simultaneous => "simultaneous",
            Close::Reset => "reset",
            Close::None => "none",
        }
    }
}

/// Per-side counters and facts.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
struct SideLog {
    packets: u64,
    bytes: u64,
    pure_syn: bool,
    syn_ack: bool,
    fin: bool,
    rst: bool,
    /// Sent payload after the peer's FIN: the peer half-closed and this side kept sending.
    data_after_peer_fin: bool,
    retrans: u64,
}

/// The reconstruction of one connection, fed every segment in capture order.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Life {
    pub endpoints: Endpoints,
    sides: [SideLog; 2],
    steps: [u32; 4],
    /// The first FIN was acknowledged by a segment without FIN (four-way rather than three).
    first_fin_acked_alone: bool,
    first_closer: Option<Side>,
    /// A RST came before both FINs were out: the connection was aborted.
    aborted: bool,
    /// Who sent the aborting RST, and in what state.
    abort: Option<(Side, EndpointState)>,
    /// Zeek's own reconstruction, for `history` and `conn_state` (zeek.rs). Boxed: its two
    /// endpoints (~230 bytes) would take a connection past the 8 cache lines flow/mod.rs holds
    /// it to; the allocation is made once per connection.
    zeek: Box<ZeekConn>,
    pub retransmissions: u64,
}

/// What the capture holds of one segment, beyond its TCP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wire {
    /// The capture holds all of its payload (the snap length did not cut it).
    pub whole: bool,
    /// Its IP datagram's length, headers included (`decode::Ip::len`).
    pub ip_len: u32,
    /// Its capture time, ns since the epoch.
    pub ts: i128,
}

/// One segment's place in its connection, for rows and JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Step {
    /// Who sent the segment: the ladder draws its arrow from this side.
    pub sender: Side,
    pub phase: Phase,
    pub step: u32,
    pub transitions: Transitions,
    pub client: EndpointState,
    pub server: EndpointState,
    /// A named moment of the connection's life, when this segment is one.
    pub event: Option<Event>,
    /// The segment is the first to acknowledge the peer's FIN (its Ack is the FIN's Seq + 1).
    pub acks_peer_fin: bool,
}

/// The moments tcplens names on rows (and sums up in the summary).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Event {
    /// The capture starts inside the connection: no SYN seen.
    Midstream,
    /// A pure SYN from a side whose peer's SYN is still unanswered: SYNs crossed.
    SimultaneousOpen,
    /// The SYN was answered by RST: nothing listens on the port.
    Refused,
    /// A SYN sent again, the first still unanswered.
    SynUnanswered,
    /// The second FIN does not acknowledge the first: FINs crossed.
    SimultaneousClose,
    /// The second FIN carries the ACK of the first: a close in three segments.
    FinCarriesAck,
    /// Data toward a side that already sent its FIN.
    HalfClose,
    /// A RST aborts the connection, sent by a side in the given state.
    Abort(Side, EndpointState),
}

impl Event {
    /// The machine-readable name (`tcplens.event`).
    pub fn name(self) -> &'static str {
        match self {
            Event::Midstream => "midstream",
            Event::SimultaneousOpen => "simultaneous_open",
            Event::Refused => "refused",
            Event::SynUnanswered => "syn_unanswered",
            Event::SimultaneousClose => "simultaneous_close",
            Event::FinCarriesAck => "fin_carries_ack",
            Event::HalfClose => "half_close",
            Event::Abort(..) => "abort",
        }
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Midstream => f.write_str("mid-stream pickup"),
            Event::SimultaneousOpen => f.write_str("simultaneous open"),
            Event::Refused => f.write_str("refused"),
            Event::SynUnanswered => f.write_str("SYN unanswered"),
            Event::SimultaneousClose => f.write_str("simultaneous close"),
            Event::FinCarriesAck => f.write_str("FIN carries the ACK"),
            Event::HalfClose => f.write_str("half-close"),
            Event::Abort(side, state) => write!(f, "abort by {} in {}", side.name(), state.name()),
        }
    }
}

impl Life {
    /// Only one side has sent anything (an unanswered SYN, one direction of a capture).
    pub fn one_sided(&self) -> bool {
        self.sides.iter().any(|s| s.packets == 0)
    }

    pub fn new(first: &Tcp, first_sender: Side, self_connect: bool) -> Life {
        Life {
            endpoints: Endpoints::new(first, self_connect),
            sides: [SideLog::default(); 2],
            steps: [0; 4],
            first_fin_acked_alone: false,
            first_closer: None,
            aborted: false,
            abort: None,
            zeek: Box::new(ZeekConn::new(first_sender)),
            retransmissions: 0,
        }
    }

    /// Applies one segment sent by `sender` with its analysis labels; `wire`: what the
    /// capture holds of it.
    pub fn segment(&mut self, sender: Side, tcp: &Tcp, analysis: &Analysis, wire: Wire) -> Step {
        let peer_fin_before = self.sides[sender.peer() as usize].fin;
        let receiver_fin_acked_before = self.fin_acked(sender.peer());
        let first_segment = self.sides.iter().all(|s| s.packets == 0);
        let half_closed_before = self.sides[sender as usize].data_after_peer_fin;
        let sender_state = self.endpoints.state(sender);
        let (syns_crossed, fins_crossed) =
            (self.endpoints.syns_crossed, self.endpoints.fins_crossed);
        let transitions = self.endpoints.segment(sender, tcp);
        let me = &mut self.sides[sender as usize];
        me.packets += 1;
        me.bytes += tcp.len as u64;
        if analysis.is_retransmission() {
            me.retrans += 1;
            self.retransmissions += 1;
        }
        let syn = tcp.has(flags::SYN);
        let fin = tcp.has(flags::FIN);
        let rst = tcp.has(flags::RST);
        me.pure_syn |= syn && !tcp.has(flags::ACK);
        me.syn_ack |= syn && tcp.has(flags::ACK);
        if tcp.len > 0 && peer_fin_before && !me.fin {
            me.data_after_peer_fin = true;
        }
        if (fin || rst) && self.first_closer.is_none() {
            self.first_closer = Some(sender);
        }
        let me = &self.sides[sender as usize];
        let both_fins_before = me.fin && self.sides[sender.peer() as usize].fin;
        if rst && !both_fins_before {
            self.aborted = true;
        }
        let me = &mut self.sides[sender as usize];
        me.fin |= fin;
        me.rst |= rst;
        let newly_acks_peer_fin =
            peer_fin_before && !receiver_fin_acked_before && self.fin_acked(sender.peer());
        // Four-way rather than three-way: the first FIN got an ACK of its own, not one
        // carried by the second FIN (RFC 9293 §3.6, the delayed-ACK case the articles show).
        if newly_acks_peer_fin && !fin && self.first_closer == Some(sender.peer()) {
            self.first_fin_acked_alone = true;
        }
        // A self-connect is one socket: Zeek sees every segment come from its originator.
        let zeek_sender = if self.endpoints.self_connect {
            Side::Client
        } else {
            sender
        };
        self.zeek.segment(zeek_sender, tcp, wire);

        let entered_established = transitions
            .iter()
            .any(|t| t.to == EndpointState::Established && t.from != EndpointState::Established);
        let phase = if rst {
            Phase::Reset
        } else if syn || entered_established {
            Phase::Handshake
        } else if fin || newly_acks_peer_fin || self.closing_ack(tcp) {
            Phase::Close
        } else {
            Phase::Data
        };
        let peer = self.log(sender.peer());
        let event = if first_segment && !syn {
            Some(Event::Midstream)
        } else if !syns_crossed && self.endpoints.syns_crossed {
            Some(Event::SimultaneousOpen)
        } else if rst && sender_state == EndpointState::Listen {
            Some(Event::Refused)
        } else if rst && !self.sides.iter().all(|s| s.fin) {
            Some(Event::Abort(sender, sender_state))
        } else if syn && !tcp.has(flags::ACK) && self.log(sender).packets > 1 && peer.packets == 0 {
            Some(Event::SynUnanswered)
        } else if !fins_crossed && self.endpoints.fins_crossed {
            Some(Event::SimultaneousClose)
        } else if fin && peer_fin_before && newly_acks_peer_fin && !self.first_fin_acked_alone {
            Some(Event::FinCarriesAck)
        } else if !half_closed_before && self.sides[sender as usize].data_after_peer_fin {
            Some(Event::HalfClose)
        } else {
            None
        };
        if let Some(Event::Abort(side, state)) = event {
            self.abort.get_or_insert((side, state));
        }
        let counter = &mut self.steps[phase as usize];
        *counter += 1;
        Step {
            sender,
            phase,
            step: *counter,
            transitions,
            client: self.endpoints.state(Side::Client),
            server: self.endpoints.state(Side::Server),
            event,
            acks_peer_fin: newly_acks_peer_fin,
        }
    }

    /// A pure ACK once both FINs are out: the last segments of a close.
    fn closing_ack(&self, tcp: &Tcp) -> bool {
        tcp.len == 0 && self.log(Side::Client).fin && self.log(Side::Server).fin
    }

    /// A side's log; in a self-connect both roles are one socket and share the client's.
    fn log(&self, side: Side) -> &SideLog {
        let side = if self.endpoints.self_connect {
            Side::Client
        } else {
            side
        };
        &self.sides[side as usize]
    }

    fn fin_acked(&self, side: Side) -> bool {
        use EndpointState::*;
        matches!(self.endpoints.state(side), FinWait2 | TimeWait | Closed)
            && self.sides[side as usize].fin
    }

    pub fn into_summary(self) -> LifeSummary {
        let c = self.log(Side::Client);
        let s = self.log(Side::Server);
        let open = if self.endpoints.syns_crossed {
            Open::Simultaneous
        } else if c.pure_syn {
            if s.syn_ack {
                Open::ThreeWay
            } else if s.rst {
                Open::Refused
            } else {
                Open::NoAnswer
            }
        } else if s.syn_ack {
            // The SYN was not captured, but the SYN/ACK shows the handshake.
            Open::ThreeWay
        } else {
            Open::Midstream
        };
        let close = if self.aborted {
            Close::Reset
        } else if c.fin && s.fin {
            self.fin_close()
        } else {
            Close::None
        };
        let closer = self.first_closer;
        let half_closed = match closer {
            Some(side) => self.sides[side.peer() as usize].data_after_peer_fin,
            None => false,
        };
        LifeSummary {
            open,
            close,
            closed_by: closer,
            abort: self.abort,
            half_closed,
            packets: [c.packets, s.packets],
            bytes: [c.bytes, s.bytes],
            retransmissions: self.retransmissions,
            client: self.endpoints.state(Side::Client),
            server: self.endpoints.state(Side::Server),
            conn_state: self.zeek.conn_state(),
            zeek_bytes: self.zeek.sizes(),
            zeek_orig: self.zeek.originator(),
            zeek_packets: self.zeek.packets(),
            ip_bytes: self.zeek.ip_bytes(),
            missed_bytes: self.zeek.missed_bytes(),
            zeek_last: self.zeek.last_time(),
            history: self.zeek.into_history(),
        }
    }

    fn fin_close(&self) -> Close {
        if self.endpoints.fins_crossed {
            Close::Simultaneous
        } else if self.first_fin_acked_alone {
            Close::FourWay
        } else {
            Close::ThreeWay
        }
    }
}

/// A finished (or still open) connection's summary, without timing and endpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LifeSummary {
    pub open: Open,
    pub close: Close,
    pub closed_by: Option<Side>,
    /// The side whose RST aborted the connection, and its state when it sent it.
    pub abort: Option<(Side, EndpointState)>,
    pub half_closed: bool,
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub retransmissions: u64,
    pub client: EndpointState,
    pub server: EndpointState,
    /// Zeek's `history`, cased by Zeek's originator (zeek.rs).
    pub history: String,
    pub conn_state: ConnState,
    /// Zeek's `orig_bytes`/`resp_bytes` of each side (zeek.rs `sizes`), by client and server:
    /// by sequence numbers, where `bytes` counts every payload byte sent, copies included.
    pub zeek_bytes: [u64; 2],
    /// The side Zeek calls the originator (`id.orig_h`): the client, unless Zeek flipped
    /// the roles (a `^` in the history).
    pub zeek_orig: Side,
    /// Zeek's `orig_pkts`/`resp_pkts` by client and server: `packets`, except that a
    /// self-connect's segments all count for Zeek's originator (zeek.rs).
    pub zeek_packets: [u64; 2],
    /// Zeek's `orig_ip_bytes`/`resp_ip_bytes` by client and server: each segment's IP length,
    /// headers included (ConnSize_Analyzer adds `IP_Hdr::TotalLen()` per packet).
    pub ip_bytes: [u64; 2],
    /// Zeek's `missed_bytes`: the bytes of the content gaps it reports (the `g`/`G` letters'
    /// holes; main.zeek sums `content_gap` lengths).
    pub missed_bytes: u64,
    /// Zeek's `last_time` (ns since the epoch): the connection's last segment, except that
    /// segments after both sides closed (the final ACK) do not count. conn.log's duration
    /// runs from the first segment to it.
    pub zeek_last: i128,
}

/// The summary record of one stream (design.md connection record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub stream: u32,
    pub client: Endpoint,
    pub server: Endpoint,
    /// Capture time of the first and last segment, ns since the epoch.
    pub first: i128,
    pub last: i128,
    pub initial_rtt: Option<i128>,
    /// `tcp.analysis.ack_rtt` over the connection: the client's data, then the server's.
    pub ack_rtt: [super::RttStats; 2],
    pub life: LifeSummary,
}

impl Summary {
    /// The connection's Community ID v1 (default seed), the same from either end.
    pub fn community_id(&self) -> super::community_id::CommunityId {
        super::community_id::CommunityId::tcp(self.client, self.server)
    }
}

#[cfg(test)]
mod tests {
    //! Connections built from segment templates, as flow/endpoint.rs's tests build them; the
    //! expected history and conn_state are Zeek's (docs/states.md, "Zeek's history").
    use super::*;
    use crate::decode::TCP_TEMPLATE;
    use Side::{Client as C, Server as S};

    const A: u16 = flags::ACK;
    const SYN: u16 = flags::SYN;
    const FIN: u16 = flags::FIN | flags::ACK;
    const RST: u16 = flags::RST;
    const C_ISN: u32 = 1000;
    /// A segment captured whole, in a 40-byte IPv4 datagram (its payload not counted).
    const WHOLE: Wire = Wire {
        whole: true,
        ip_len: 40,
        ts: 0,
    };
    const S_ISN: u32 = u32::MAX - 1;

    /// One segment: sender, flags, seq, ack, payload length.
    type Seg = (Side, u16, u32, u32, u32);

    fn tcp(&(_, flags, seq, ack, len): &Seg) -> Tcp {
        Tcp {
            flags,
            seq,
            ack,
            len,
            window: 1000,
            ..TCP_TEMPLATE
        }
    }

    /// The summary of a connection made of `segs`, every payload captured whole.
    fn life(segs: &[Seg]) -> LifeSummary {
        let first = tcp(&segs[0]);
        let mut life = Life::new(&first, segs[0].0, false);
        for s in segs {
            life.segment(s.0, &tcp(s), &Analysis::default(), WHOLE);
        }
        life.into_summary()
    }

    fn zeek(segs: &[Seg]) -> (String, &'static str) {
        let l = life(segs);
        (l.history, l.conn_state.name())
    }

    /// The handshake, 5 bytes each way, then `close`.
    fn with_handshake(close: &[Seg]) -> Vec<Seg> {
        let mut v = vec![
            (C, SYN, C_ISN, 0, 0),
            (S, SYN | A, S_ISN, C_ISN + 1, 0),
            (C, A, C_ISN + 1, S_ISN.wrapping_add(1), 0),
            (C, A, C_ISN + 1, S_ISN.wrapping_add(1), 5),
            (S, A, S_ISN.wrapping_add(1), C_ISN + 6, 5),
        ];
        v.extend_from_slice(close);
        v
    }

    const C_END: u32 = C_ISN + 6;
    const S_END: u32 = S_ISN.wrapping_add(6);

    #[test]
    fn retransmitted_payload_counts_twice_in_bytes_and_once_in_zeek_bytes() {
        let l = life(&with_handshake(&[
            // The client's 5 bytes again, then 3 new ones; the server's ACK of them all.
            (C, A, C_ISN + 1, S_ISN.wrapping_add(6), 5),
            (C, A, C_END, S_ISN.wrapping_add(6), 3),
            (S, A, S_END, C_END + 3, 0),
            (C, FIN, C_END + 3, S_END, 0),
            (S, FIN, S_END, C_END + 4, 0),
            (C, A, C_END + 4, S_END.wrapping_add(1), 0),
        ]));
        assert_eq!(l.bytes, [13, 5]);
        // TCP_Endpoint::Size: sequence space used, SYN and FIN left out.
        assert_eq!(l.zeek_bytes, [8, 5]);
        assert_eq!(l.history, "ShADdTaFf");
    }

    #[test]
    fn four_way_close_is_sf_with_each_letter_once() {
        let l = life(&with_handshake(&[
            (C, FIN, C_END, S_END, 0),
            (S, A, S_END, C_END + 1, 0),
            (S, FIN, S_END, C_END + 1, 0),
            (C, A, C_END + 1, S_END.wrapping_add(1), 0),
        ]));
        assert_eq!(
            (l.history.as_str(), l.conn_state),
            ("ShADdFaf", ConnState::Sf)
        );
        assert_eq!((l.open, l.close), (Open::ThreeWay, Close::FourWay));
        assert_eq!(l.closed_by, Some(C));
    }

    #[test]
    fn retransmitted_fin_adds_no_letter_and_no_t() {
        let (h, st) = zeek(&with_handshake(&[
            (C, FIN, C_END, S_END, 0),
            (C, FIN, C_END, S_END, 0),
            (S, FIN, S_END, C_END + 1, 0),
            (C, A, C_END + 1, S_END.wrapping_add(1), 0),
        ]));
        assert_eq!((h.as_str(), st), ("ShADdFf", "SF"));
    }

    #[test]
    fn rst_after_both_fins_stays_sf() {
        let l = life(&with_handshake(&[
            (C, FIN, C_END, S_END, 0),
            (S, FIN, S_END, C_END + 1, 0),
            (C, RST, C_END + 1, 0, 0),
        ]));
        assert_eq!(
            (l.history.as_str(), l.conn_state),
            ("ShADdFfR", ConnState::Sf)
        );
        assert_ne!(l.close, Close::Reset, "both FINs were out before the RST");
    }

    #[test]
    fn retransmitted_syn_is_not_t() {
        let l = life(&[(C, SYN, C_ISN, 0, 0), (C, SYN, C_ISN, 0, 0)]);
        assert_eq!((l.history.as_str(), l.conn_state), ("S", ConnState::S0));
        assert_eq!(l.open, Open::NoAnswer);
    }

    #[test]
    fn retransmitted_payload_is_t_at_1_and_10() {
        let mut segs = with_handshake(&[]);
        segs.extend(std::iter::repeat_n(
            (C, A, C_ISN + 1, S_ISN.wrapping_add(1), 5),
            10,
        ));
        let (h, st) = zeek(&segs);
        assert_eq!((h.as_str(), st), ("ShADdTT", "S1"));
    }

    #[test]
    fn zero_window_is_w_logarithmically() {
        let mut segs = with_handshake(&[]);
        let zero = (S, A, S_END, C_END, 0);
        for _ in 0..12 {
            segs.push(zero);
        }
        let first = tcp(&segs[0]);
        let mut life = Life::new(&first, C, false);
        for s in &segs {
            let mut t = tcp(s);
            if s == &zero {
                t.window = 0;
            }
            life.segment(s.0, &t, &Analysis::default(), WHOLE);
        }
        assert_eq!(life.into_summary().history, "ShADdaww");
    }

    #[test]
    fn missing_syn_with_both_fins_is_sf() {
        let l = life(&[
            (C, A, C_ISN, S_ISN, 5),
            (S, A, S_ISN, C_ISN + 5, 5),
            (C, FIN, C_ISN + 5, S_ISN.wrapping_add(5), 0),
            (S, FIN, S_ISN.wrapping_add(5), C_ISN + 6, 0),
            (C, A, C_ISN + 6, S_ISN.wrapping_add(6), 0),
        ]);
        assert_eq!((l.history.as_str(), l.conn_state), ("DdFfA", ConnState::Sf));
        assert_eq!(l.open, Open::Midstream);
    }

    #[test]
    fn syn_ack_first_is_flipped_and_s1_for_hadd() {
        // The SYN was not captured: Zeek flips the roles (^) and the client's ACK
        // establishes it.
        let l = life(&[
            (S, SYN | A, S_ISN, C_ISN + 1, 0),
            (C, A, C_ISN + 1, S_ISN.wrapping_add(1), 0),
            (C, A, C_ISN + 1, S_ISN.wrapping_add(1), 5),
            (S, A, S_ISN.wrapping_add(1), C_ISN + 6, 5),
        ]);
        assert_eq!((l.history.as_str(), l.conn_state), ("^hADd", ConnState::S1));
        assert_eq!(l.open, Open::ThreeWay);
    }

    #[test]
    fn responder_fin_without_originator_is_shr() {
        let (h, st) = zeek(&[
            (S, SYN | A, S_ISN, C_ISN + 1, 0),
            (S, FIN, S_ISN.wrapping_add(1), C_ISN + 1, 0),
        ]);
        assert_eq!((h.as_str(), st), ("^hf", "SHR"));
    }

    #[test]
    fn rstos0_only_without_ack_between_syn_and_rst() {
        let syn = (C, SYN, C_ISN, 0, 0);
        let rst = (C, RST, C_ISN + 1, 0, 0);
        assert_eq!(zeek(&[syn, rst]), ("SR".to_string(), "RSTOS0"));
        let ack = (C, A, C_ISN + 1, 77, 0);
        assert_eq!(zeek(&[syn, ack, rst]), ("SAR".to_string(), "OTH"));
    }

    #[test]
    fn refused_and_aborted() {
        let l = life(&[(C, SYN, C_ISN, 0, 0), (S, RST | A, 0, C_ISN + 1, 0)]);
        assert_eq!((l.history.as_str(), l.conn_state), ("Sr", ConnState::Rej));
        assert_eq!((l.open, l.close), (Open::Refused, Close::Reset));
        let l = life(&with_handshake(&[(C, RST | A, C_END, S_END, 0)]));
        assert_eq!(
            (l.history.as_str(), l.conn_state),
            ("ShADdR", ConnState::Rsto)
        );
        assert_eq!(l.abort, Some((C, EndpointState::Established)));
        let l = life(&with_handshake(&[(S, RST | A, S_END, C_END, 0)]));
        assert_eq!(l.conn_state, ConnState::Rstr);
    }

    #[test]
    fn simultaneous_close_and_half_open() {
        let l = life(&with_handshake(&[
            (C, FIN, C_END, S_END, 0),
            (S, FIN, S_END, C_END, 0),
            (C, A, C_END + 1, S_END.wrapping_add(1), 0),
        ]));
        assert_eq!(l.close, Close::Simultaneous);
        assert_eq!(l.conn_state, ConnState::Sf);
        let (_, st) = zeek(&with_handshake(&[(C, FIN, C_END, S_END, 0)]));
        assert_eq!(st, "S2");
        let (_, st) = zeek(&with_handshake(&[(S, FIN, S_END, C_END, 0)]));
        assert_eq!(st, "S3");
    }

    #[test]
    fn payload_the_capture_cut_is_a_content_gap_once_acked() {
        let segs = with_handshake(&[]);
        let first = tcp(&segs[0]);
        let mut life = Life::new(&first, C, false);
        for (i, s) in segs.iter().enumerate() {
            // The client's data (4th segment) was cut by the snap length.
            life.segment(
                s.0,
                &tcp(s),
                &Analysis::default(),
                Wire {
                    whole: i != 3,
                    ..WHOLE
                },
            );
        }
        // The server's d comes first: update_history runs before the ack reaches the
        // client's reassembler.
        assert_eq!(life.into_summary().history, "ShADdG");
    }
}
