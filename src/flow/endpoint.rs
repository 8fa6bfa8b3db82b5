//! Both endpoints' TCP states as an observer on the wire infers them (RFC 9293 §3.3.2).
//!
//! Each segment applies its sender's transition (what sending it implies) and then its
//! receiver's (what receiving it does), so the states after a row are those once the segment
//! has arrived. Two refinements make the observer's view honest:
//! - After a SYN the server is LISTEN; it only shows SYN_RCVD when it answers SYN/ACK, because
//!   until then nothing on the wire says a listener took the SYN.
//! - Segments can cross: a FIN that does not acknowledge the peer's FIN was sent before that
//!   FIN arrived (simultaneous close, both sides through CLOSING), and a pure SYN from a side
//!   whose peer already sent one is a simultaneous open (both through SYN_SENT → SYN_RCVD).
//! - A socket connected to its own port (a self-connect, RFC 9293 §3.5's simultaneous open
//!   with one socket) sends and receives every segment: both roles are that one socket, so
//!   the receiving half starts from the state the sending half left.

use super::SeqNum;
use crate::decode::{Tcp, flags};

/// The eleven states of RFC 9293 §3.3.2, spelled as netstat spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EndpointState {
    Closed,
    Listen,
    SynSent,
    SynRcvd,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl EndpointState {
    /// CLOSED or TIME_WAIT: the endpoint sends no more data on this connection (RFC 9293
    /// §3.3.2: TIME_WAIT only waits out the peer's retransmitted FIN).
    pub fn is_done(self) -> bool {
        matches!(self, EndpointState::Closed | EndpointState::TimeWait)
    }

    pub fn name(self) -> &'static str {
        match self {
            EndpointState::Closed => "CLOSED",
            EndpointState::Listen => "LISTEN",
            EndpointState::SynSent => "SYN_SENT",
            EndpointState::SynRcvd => "SYN_RCVD",
            EndpointState::Established => "ESTABLISHED",
            EndpointState::FinWait1 => "FIN_WAIT_1",
            EndpointState::FinWait2 => "FIN_WAIT_2",
            EndpointState::CloseWait => "CLOSE_WAIT",
            EndpointState::Closing => "CLOSING",
            EndpointState::LastAck => "LAST_ACK",
            EndpointState::TimeWait => "TIME_WAIT",
        }
    }

    /// The side has sent its FIN: the states an active or passive close leads through
    /// (RFC 9293 §3.6).
    pub fn sent_fin(self) -> bool {
        matches!(
            self,
            EndpointState::FinWait1
                | EndpointState::FinWait2
                | EndpointState::Closing
                | EndpointState::LastAck
                | EndpointState::TimeWait
        )
    }
}

/// The two roles: the client sent the first SYN (without a SYN, it sent the first segment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }

    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Transition {
    pub side: Side,
    pub from: EndpointState,
    /// The state passed through when one segment moves a side twice (e.g. FIN_WAIT_2 when a
    /// FIN/ACK acknowledges our FIN and carries the peer's).
    pub via: Option<EndpointState>,
    pub to: EndpointState,
}

/// At most one transition per side per segment (a side's several steps are collapsed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Transitions {
    items: [Option<Transition>; 2],
}

impl Transitions {
    pub fn iter(&self) -> impl Iterator<Item = &Transition> {
        self.items.iter().flatten()
    }

    fn record(&mut self, side: Side, from: EndpointState, to: EndpointState) {
        if from == to {
            return;
        }
        // Keep the first `from` of a side and its first intermediate state; the sender's
        // change comes first.
        if let Some(t) = self.items.iter_mut().flatten().find(|t| t.side == side) {
            t.via = t.via.or(Some(t.to));
            t.to = to;
            return;
        }
        if let Some(slot) = self.items.iter_mut().find(|s| s.is_none()) {
            *slot = Some(Transition {
                side,
                from,
                via: None,
                to,
            });
        }
    }
}

/// What the observer knows of both endpoints.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct Endpoints {
    state: [EndpointState; 2],
    /// Sequence number of each side's SYN, once seen.
    syn: [Option<SeqNum>; 2],
    /// Sequence number of each side's FIN, once seen.
    fin: [Option<SeqNum>; 2],
    /// FINs crossed on the wire (simultaneous close).
    pub fins_crossed: bool,
    /// Both sides sent a pure SYN (simultaneous open).
    pub syns_crossed: bool,
    /// Both roles are one socket talking to itself.
    pub self_connect: bool,
}

impl Endpoints {
    /// The states before the first segment: a connection opened by a SYN starts CLOSED/LISTEN,
    /// one first seen with a SYN/ACK SYN_SENT/LISTEN, one picked up mid-stream ESTABLISHED.
    pub fn new(first: &Tcp, self_connect: bool) -> Endpoints {
        use EndpointState::*;
        let state = match (first.has(flags::SYN), first.has(flags::ACK)) {
            (true, false) => [Closed, Listen],
            (true, true) => [SynSent, Listen],
            _ => [Established, Established],
        };
        Endpoints {
            state,
            syn: [None; 2],
            fin: [None; 2],
            fins_crossed: false,
            syns_crossed: false,
            self_connect,
        }
    }

    pub fn state(&self, side: Side) -> EndpointState {
        self.state[side.index()]
    }

    /// Whether `side`'s FIN has been acknowledged by `ack` from its peer.
    fn acks_fin_of(&self, side: Side, tcp: &Tcp) -> bool {
        tcp.has(flags::ACK) && self.fin[side.index()].is_some_and(|f| SeqNum(tcp.ack) > f)
    }

    fn acks_syn_of(&self, side: Side, tcp: &Tcp) -> bool {
        tcp.has(flags::ACK) && self.syn[side.index()].is_some_and(|s| SeqNum(tcp.ack) > s)
    }

    fn set(&mut self, side: Side, to: EndpointState, out: &mut Transitions) {
        let from = self.state[side.index()];
        self.state[side.index()] = to;
        out.record(side, from, to);
    }

    /// Applies one segment sent by `sender`; returns the states that changed.
    pub fn segment(&mut self, sender: Side, tcp: &Tcp) -> Transitions {
        use EndpointState::*;
        let mut out = Transitions::default();
        let receiver = sender.peer();
        let (s, r) = (sender.index(), receiver.index());
        if tcp.has(flags::RST) {
            // RFC 9293 §3.10.7: a RST closes the connection at both ends, except a listener,
            // which ignores it (§3.10.7.2).
            self.set(sender, Closed, &mut out);
            if self.state[r] != Listen {
                self.set(receiver, Closed, &mut out);
            }
            return out;
        }
        let syn = tcp.has(flags::SYN);
        let fin = tcp.has(flags::FIN);
        if syn {
            self.syn[s].get_or_insert(SeqNum(tcp.seq));
        }
        if fin {
            // The FIN occupies the sequence number after the payload (and after a SYN).
            let at = SeqNum(tcp.seq) + tcp.len + syn as u32;
            self.fin[s].get_or_insert(at);
        }
        if self.self_connect {
            self.syn[r] = self.syn[s];
            self.fin[r] = self.fin[s];
        }

        // The sender's transition: what sending this segment implies.
        match (syn, tcp.has(flags::ACK), self.state[s]) {
            (true, false, Closed | Listen) => {
                self.set(sender, SynSent, &mut out);
                if self.syn[r].is_some() && !self.self_connect {
                    // The peer's SYN was already on its way: it arrives in SYN_SENT (§3.5).
                    self.syns_crossed = true;
                    self.set(sender, SynRcvd, &mut out);
                }
            }
            // A SYN/ACK: the listener (or, crossing, the active opener) took the peer's SYN.
            (true, true, Closed | Listen | SynSent) => self.set(sender, SynRcvd, &mut out),
            // It acknowledges a SYN/ACK we did not see: the handshake completed at its end.
            (false, true, SynSent) => self.set(sender, Established, &mut out),
            _ => {}
        }
        if fin {
            match self.state[s] {
                Established | SynRcvd => self.set(sender, FinWait1, &mut out),
                CloseWait if self.fin[r].is_some() && !self.acks_fin_of(receiver, tcp) => {
                    // It sent this FIN before the peer's FIN arrived: FIN_WAIT_1, then CLOSING.
                    self.fins_crossed = true;
                    self.set(sender, Closing, &mut out)
                }
                CloseWait => self.set(sender, LastAck, &mut out),
                _ => {}
            }
        }

        if self.self_connect {
            self.state[r] = self.state[s];
        }
        // The receiver's transition: the acknowledgment first, then SYN and FIN.
        if self.acks_syn_of(receiver, tcp) && matches!(self.state[r], SynSent | SynRcvd) {
            self.set(receiver, Established, &mut out);
        }
        if self.acks_fin_of(receiver, tcp) {
            match self.state[r] {
                FinWait1 => self.set(receiver, FinWait2, &mut out),
                Closing => self.set(receiver, TimeWait, &mut out),
                LastAck => self.set(receiver, Closed, &mut out),
                _ => {}
            }
        }
        if syn && !tcp.has(flags::ACK) && self.state[r] == SynSent {
            // SYNs crossed: the active opener receives a SYN in SYN_SENT (RFC 9293 §3.5).
            self.syns_crossed = true;
            self.set(receiver, SynRcvd, &mut out);
        }
        if fin {
            match self.state[r] {
                Established | SynRcvd => self.set(receiver, CloseWait, &mut out),
                FinWait1 => {
                    self.fins_crossed = true;
                    self.set(receiver, Closing, &mut out)
                }
                FinWait2 => self.set(receiver, TimeWait, &mut out),
                _ => {}
            }
        }
        if self.self_connect {
            self.state[s] = self.state[r];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::EndpointState::*;
    use super::*;

    /// A segment template, as smoltcp's tests build them.
    const TEMPL: Tcp = crate::decode::TCP_TEMPLATE;
    const C_ISN: u32 = 1000;
    const S_ISN: u32 = u32::MAX - 1;

    fn seg(flags: u16, seq: u32, ack: u32, len: u32) -> Tcp {
        Tcp {
            flags,
            seq,
            ack,
            len,
            ..TEMPL
        }
    }

    fn send(ep: &mut Endpoints, side: Side, t: Tcp) -> Vec<(Side, &'static str, &'static str)> {
        ep.segment(side, &t)
            .iter()
            .map(|t| (t.side, t.from.name(), t.to.name()))
            .collect()
    }

    fn states(ep: &Endpoints) -> (EndpointState, EndpointState) {
        (ep.state(Side::Client), ep.state(Side::Server))
    }

    /// The client's SYN; `Endpoints::new` takes the connection's first segment.
    fn client_syn() -> Tcp {
        seg(flags::SYN, C_ISN, 0, 0)
    }

    /// The client's FIN once established.
    fn client_fin() -> Tcp {
        seg(flags::FIN | flags::ACK, C_NEXT, S_NEXT, 0)
    }

    /// Client SYN_SENT, server LISTEN.
    fn syn_sent() -> Endpoints {
        let mut ep = Endpoints::new(&client_syn(), false);
        send(&mut ep, Side::Client, client_syn());
        ep
    }

    /// Client ESTABLISHED, server SYN_RCVD: the SYN/ACK has arrived.
    fn syn_rcvd() -> Endpoints {
        let mut ep = syn_sent();
        send(
            &mut ep,
            Side::Server,
            seg(flags::SYN | flags::ACK, S_ISN, C_NEXT, 0),
        );
        ep
    }

    /// Both ESTABLISHED, after a three-way handshake.
    fn established() -> Endpoints {
        let mut ep = syn_rcvd();
        send(&mut ep, Side::Client, seg(flags::ACK, C_NEXT, S_NEXT, 0));
        ep
    }

    /// Client FIN_WAIT_1, server CLOSE_WAIT: the client's FIN has arrived.
    fn fin_wait_1() -> Endpoints {
        let mut ep = established();
        send(&mut ep, Side::Client, client_fin());
        ep
    }

    const C_NEXT: u32 = C_ISN + 1;
    const S_NEXT: u32 = S_ISN.wrapping_add(1);

    #[test]
    fn closed_send_syn_goes_syn_sent_and_server_listens() {
        let mut ep = Endpoints::new(&client_syn(), false);
        assert_eq!(
            send(&mut ep, Side::Client, client_syn()),
            vec![(Side::Client, "CLOSED", "SYN_SENT")]
        );
        assert_eq!(states(&ep), (SynSent, Listen));
    }

    #[test]
    fn listen_send_syn_ack_goes_syn_rcvd_and_client_established() {
        let mut ep = syn_sent();
        let got = send(
            &mut ep,
            Side::Server,
            seg(flags::SYN | flags::ACK, S_ISN, C_NEXT, 0),
        );
        assert_eq!(
            got,
            vec![
                (Side::Server, "LISTEN", "SYN_RCVD"),
                (Side::Client, "SYN_SENT", "ESTABLISHED")
            ]
        );
    }

    #[test]
    fn syn_rcvd_recv_ack_goes_established_across_seq_wrap() {
        let mut ep = syn_rcvd();
        // The server's ISN is u32::MAX - 1: its ISN+1 wraps to u32::MAX, and later to 0.
        let got = send(&mut ep, Side::Client, seg(flags::ACK, C_NEXT, S_NEXT, 0));
        assert_eq!(got, vec![(Side::Server, "SYN_RCVD", "ESTABLISHED")]);
        assert_eq!(states(&established()), (Established, Established));
    }

    #[test]
    fn listen_send_rst_closes_both_refused() {
        let mut ep = syn_sent();
        let got = send(
            &mut ep,
            Side::Server,
            seg(flags::RST | flags::ACK, 0, C_NEXT, 0),
        );
        assert_eq!(
            got,
            vec![
                (Side::Server, "LISTEN", "CLOSED"),
                (Side::Client, "SYN_SENT", "CLOSED")
            ]
        );
    }

    #[test]
    fn established_send_fin_goes_fin_wait_1_and_peer_close_wait() {
        let mut ep = established();
        let got = send(&mut ep, Side::Client, client_fin());
        assert_eq!(
            got,
            vec![
                (Side::Client, "ESTABLISHED", "FIN_WAIT_1"),
                (Side::Server, "ESTABLISHED", "CLOSE_WAIT")
            ]
        );
    }

    #[test]
    fn four_way_close_ends_time_wait_and_closed() {
        let mut ep = fin_wait_1();
        let ack = send(
            &mut ep,
            Side::Server,
            seg(flags::ACK, S_NEXT, C_NEXT + 1, 0),
        );
        assert_eq!(ack, vec![(Side::Client, "FIN_WAIT_1", "FIN_WAIT_2")]);
        let fin = send(
            &mut ep,
            Side::Server,
            seg(flags::FIN | flags::ACK, S_NEXT, C_NEXT + 1, 0),
        );
        assert_eq!(
            fin,
            vec![
                (Side::Server, "CLOSE_WAIT", "LAST_ACK"),
                (Side::Client, "FIN_WAIT_2", "TIME_WAIT")
            ]
        );
        let last = send(
            &mut ep,
            Side::Client,
            seg(flags::ACK, C_NEXT + 1, S_NEXT.wrapping_add(1), 0),
        );
        assert_eq!(last, vec![(Side::Server, "LAST_ACK", "CLOSED")]);
        assert_eq!(states(&ep), (TimeWait, Closed));
    }

    #[test]
    fn fin_wait_1_recv_fin_ack_goes_time_wait() {
        let mut ep = fin_wait_1();
        // The server's FIN carries the ACK of the client's FIN: a three-segment close.
        let got = send(
            &mut ep,
            Side::Server,
            seg(flags::FIN | flags::ACK, S_NEXT, C_NEXT + 1, 0),
        );
        assert_eq!(
            got,
            vec![
                (Side::Server, "CLOSE_WAIT", "LAST_ACK"),
                (Side::Client, "FIN_WAIT_1", "TIME_WAIT")
            ]
        );
        assert!(!ep.fins_crossed);
    }

    #[test]
    fn fin_wait_1_recv_fin_without_ack_goes_closing_simultaneous_close() {
        let mut ep = fin_wait_1();
        // The server's FIN does not acknowledge the client's: they crossed.
        let got = send(
            &mut ep,
            Side::Server,
            seg(flags::FIN | flags::ACK, S_NEXT, C_NEXT, 0),
        );
        assert_eq!(
            got,
            vec![
                (Side::Server, "CLOSE_WAIT", "CLOSING"),
                (Side::Client, "FIN_WAIT_1", "CLOSING")
            ]
        );
        assert!(ep.fins_crossed);
        let a = send(
            &mut ep,
            Side::Client,
            seg(flags::ACK, C_NEXT + 1, S_NEXT.wrapping_add(1), 0),
        );
        assert_eq!(a, vec![(Side::Server, "CLOSING", "TIME_WAIT")]);
        let b = send(
            &mut ep,
            Side::Server,
            seg(flags::ACK, S_NEXT.wrapping_add(1), C_NEXT + 1, 0),
        );
        assert_eq!(b, vec![(Side::Client, "CLOSING", "TIME_WAIT")]);
    }

    #[test]
    fn listen_send_syn_after_peer_syn_passes_syn_sent() {
        let mut ep = syn_sent();
        let crossing = ep.segment(Side::Server, &seg(flags::SYN, S_ISN, 0, 0));
        let server = crossing.iter().find(|t| t.side == Side::Server).copied();
        assert_eq!(server.and_then(|t| t.via), Some(SynSent));
    }

    #[test]
    fn syn_sent_recv_syn_goes_syn_rcvd_simultaneous_open() {
        let mut ep = syn_sent();
        let got = send(&mut ep, Side::Server, seg(flags::SYN, S_ISN, 0, 0));
        assert_eq!(
            got,
            vec![
                (Side::Server, "LISTEN", "SYN_RCVD"),
                (Side::Client, "SYN_SENT", "SYN_RCVD")
            ]
        );
        let c = send(
            &mut ep,
            Side::Client,
            seg(flags::SYN | flags::ACK, C_ISN, S_NEXT, 0),
        );
        assert_eq!(c, vec![(Side::Server, "SYN_RCVD", "ESTABLISHED")]);
        let s = send(
            &mut ep,
            Side::Server,
            seg(flags::SYN | flags::ACK, S_ISN, C_NEXT, 0),
        );
        assert_eq!(s, vec![(Side::Client, "SYN_RCVD", "ESTABLISHED")]);
        assert!(ep.syns_crossed);
    }

    #[test]
    fn self_connect_goes_through_syn_rcvd_and_closing() {
        // One socket bound to port P connecting to P: every segment is sent and received by it.
        let mut ep = Endpoints::new(&client_syn(), true);
        send(&mut ep, Side::Client, client_syn());
        assert_eq!(states(&ep), (SynRcvd, SynRcvd));
        assert!(ep.syns_crossed);
        send(
            &mut ep,
            Side::Client,
            seg(flags::SYN | flags::ACK, C_ISN, C_NEXT, 0),
        );
        assert_eq!(states(&ep), (Established, Established));
        send(
            &mut ep,
            Side::Client,
            seg(flags::FIN | flags::ACK, C_NEXT, C_NEXT, 0),
        );
        assert_eq!(states(&ep), (Closing, Closing));
        send(
            &mut ep,
            Side::Client,
            seg(flags::ACK, C_NEXT + 1, C_NEXT + 1, 0),
        );
        assert_eq!(states(&ep), (TimeWait, TimeWait));
        assert!(ep.fins_crossed);
    }

    #[test]
    fn established_recv_rst_closes_both() {
        let mut ep = established();
        let got = send(
            &mut ep,
            Side::Server,
            seg(flags::RST | flags::ACK, S_NEXT, C_NEXT, 0),
        );
        assert_eq!(
            got,
            vec![
                (Side::Server, "ESTABLISHED", "CLOSED"),
                (Side::Client, "ESTABLISHED", "CLOSED")
            ]
        );
    }

    #[test]
    fn close_wait_keeps_receiving_data_half_close() {
        let mut ep = fin_wait_1();
        let data = send(
            &mut ep,
            Side::Server,
            seg(flags::PSH | flags::ACK, S_NEXT, C_NEXT + 1, 100),
        );
        assert_eq!(data, vec![(Side::Client, "FIN_WAIT_1", "FIN_WAIT_2")]);
        assert_eq!(states(&ep), (FinWait2, CloseWait));
    }

    #[test]
    fn midstream_pickup_starts_established() {
        let first = seg(flags::ACK, 5, 9, 10);
        let mut ep = Endpoints::new(&first, false);
        assert!(send(&mut ep, Side::Client, first).is_empty());
        assert_eq!(states(&ep), (Established, Established));
    }
}
