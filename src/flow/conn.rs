//! One TCP connection's reconstruction: phases and steps, who opened and closed it and how,
//! byte and packet counts, and Zeek's `history` and `conn_state` for the summary.

use super::endpoint::{EndpointState, Endpoints, Side, Transitions};
pub use super::zeek::ConnState;
use super::zeek::ZeekConn;
use super::{Analysis, Endpoint};
use crate::decode::{Tcp, flags};

/// What a segment does in its connection's life (design.md `phase`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
#[derive(Clone, Copy, Debug, Default)]
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
#[derive(Clone, Debug)]
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

/// One segment's place in its connection, for rows and JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
}

/// The moments tcplens names on rows (and sums up in the summary).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

    /// Applies one segment sent by `sender` with its analysis labels; `whole`: the capture
    /// holds all of its payload.
    pub fn segment(&mut self, sender: Side, tcp: &Tcp, analysis: &Analysis, whole: bool) -> Step {
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
        self.zeek.segment(zeek_sender, tcp, whole);

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
    pub life: LifeSummary,
}
