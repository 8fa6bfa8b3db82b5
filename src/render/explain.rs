//! `--explain`: one plain sentence per row saying what the segment does and why, with its
//! numbers — the commentary the articles write beside each Wireshark row.
//!
//! Everything said here comes from the row (flags, relative numbers, options) and from the
//! tracker's verdict on it (step, transitions, event, analysis labels, what an ACK adds and
//! whether it acknowledges the peer's FIN): the explainer keeps no memory of its own, so a
//! sentence is a function of its frame.

use std::fmt::Write as _;

use super::Row;
use super::info::{Numbers, write_label};
use crate::cli::SeqMode;
use crate::decode::{Cut, Payload, Tcp, TcpOption, flags, options};
use crate::flow::conn::{Event, Phase};
use crate::flow::endpoint::{EndpointState, Transition};
use crate::flow::{AckNews, Label, PeerWindow, SeqNews, SeqNum, Step, TcpInfo};

pub struct Explainer {
    /// The maximum segment lifetime in seconds, which TIME_WAIT waits twice.
    msl: u64,
    /// `--ascii`: sentences in plain ASCII too.
    ascii: bool,
}

impl Explainer {
    /// Sentences quote each segment's data whenever the source kept the bytes, which it does
    /// whenever explanations are asked for ([`crate::cli::Output::quotes_data`]).
    pub fn new(msl: u64, ascii: bool) -> Explainer {
        Explainer { msl, ascii }
    }

    /// Appends the sentence for one row (no newline).
    pub fn sentence(&self, out: &mut String, row: &Row<'_>) {
        let start = out.len();
        match row.seg {
            Some((tcp, info)) => match info.step {
                Some(step) => self.segment(out, tcp, info, &step, row.payload),
                None => out.push_str(
                    "the IP length leaves no room for this TCP header, so Wireshark tracks \
                     nothing for it and neither does tcplens",
                ),
            },
            None => other(out, row),
        }
        if let Some(stop) = &row.decoded.stop {
            let _ = write!(out, "; decoding stopped at {}: {}", stop.layer, stop.reason);
        }
        out.push('.');
        capitalize(out, start);
        if self.ascii && !out[start..].is_ascii() {
            let plain = out[start..].replace('×', "x").replace('§', "section ");
            out.truncate(start);
            out.push_str(&plain);
        }
    }

    /// `said`: the segment's data, when the sentence quotes it (`--payload`).
    fn segment(
        &self,
        out: &mut String,
        tcp: &Tcp,
        info: &TcpInfo,
        step: &Step,
        said: Option<&[u8]>,
    ) {
        let who = step.sender.name();
        let peer = step.sender.peer().name();
        let n = Numbers::new(tcp, info, SeqMode::Relative);
        let mut clauses: Vec<String> = Vec::new();
        let syn = tcp.has(flags::SYN);
        let ack = tcp.has(flags::ACK);
        let fin = tcp.has(flags::FIN);

        if tcp.has(flags::RST) {
            clauses.push(match step.event {
                Some(Event::Refused) => format!(
                    "the {who} answers the SYN with RST: nothing listens on port {}, so the \
                     {peer}'s connect() fails with \"connection refused\"",
                    tcp.sport
                ),
                Some(Event::Abort(_, state)) => format!(
                    "the {who} aborts the connection from {} with RST: data still queued is \
                     discarded, and neither side waits in TIME_WAIT",
                    state.name()
                ),
                // The transitions say from which state the sender reset: after its own FIN
                // the close had begun, and the RST cuts it short.
                _ if step
                    .transitions
                    .iter()
                    .any(|tr| tr.side == step.sender && tr.from.sent_fin()) =>
                {
                    format!(
                        "the {who} sends RST after its own FIN: the close had begun, and the \
                         reset ends the connection at once instead of finishing it"
                    )
                }
                _ => format!(
                    "the {who} sends RST: the connection is reset at once, without the FIN \
                     exchange"
                ),
            });
        } else if syn {
            let mut c = if ack {
                format!(
                    "the {who} accepts: with its own ISN {} (relative Seq=0) it acknowledges \
                     the {peer}'s ISN + 1, Ack={}, because a SYN consumes one sequence number",
                    tcp.seq, n.ack
                )
            } else if info.analysis.is_retransmission() {
                format!(
                    "the {who} sends its SYN to port {} again, with the same ISN {} (relative \
                     Seq=0)",
                    tcp.dport, tcp.seq
                )
            } else {
                format!(
                    "the {who} asks to open a connection to port {}: it picks initial sequence \
                     number {}, shown as relative Seq=0 because Wireshark counts from the ISN",
                    tcp.dport, tcp.seq
                )
            };
            syn_options(&mut c, tcp);
            clauses.push(c);
        } else if tcp.len > 0 {
            let last = n.seq.wrapping_add(tcp.len - 1);
            let mut c = if tcp.len == 1 {
                format!("the {who} sends 1 byte (Seq={})", n.seq)
            } else {
                format!(
                    "the {who} sends {} bytes (Seq={} to {last})",
                    tcp.len, n.seq
                )
            };
            if let Some(data) = said {
                c.push_str(": ");
                super::preview(&mut c, data);
            }
            // Bytes sent before (or a probe's byte) do not move the sender's next Seq.
            if info.analysis.seq == SeqNews::Advances {
                let _ = write!(c, ", so its next Seq is {}", last.wrapping_add(1));
            }
            if tcp.has(flags::PSH) {
                c.push_str("; PSH asks the receiver to hand them to the application now");
            }
            clauses.push(c);
        }

        if fin {
            let fin_seq = n.seq.wrapping_add(tcp.len);
            clauses.push(if info.analysis.seq == SeqNews::Behind {
                // The direction was closed by the first copy; this one only repeats it.
                format!("the {who} sends its FIN (Seq={fin_seq}) again")
            } else if step.event == Some(Event::FinCarriesAck) {
                format!(
                    "the {who} closes its direction with FIN (Seq={fin_seq}) and in the same \
                     segment acknowledges the {peer}'s FIN, so the close takes three segments \
                     instead of four"
                )
            } else {
                format!(
                    "the {who} closes its direction with FIN (Seq={fin_seq}): it will send no \
                     more data, and the FIN consumes one sequence number, so the {peer} will acknowledge \
                     it with Ack={}",
                    fin_seq.wrapping_add(1)
                )
            });
        }

        if ack && !syn && !tcp.has(flags::RST) && step.event != Some(Event::FinCarriesAck) {
            // What the ACK adds is the tracker's verdict (AckNews, Step::acks_peer_fin).
            let news = info.analysis.ack;
            if news == AckNews::FirstUnseen && n.ack == 1 && step.phase == Phase::Handshake {
                // The ACK of a SYN/ACK the capture has not shown yet: the handshake is not
                // complete in what was captured.
                clauses.push(format!(
                    "the {who} acknowledges the {peer}'s SYN with Ack=1 before the capture has \
                     shown that SYN: the {peer}'s SYN/ACK reached the {who} first and is \
                     captured later (a capture point off the path, or reordering on the way \
                     to it)"
                ));
            } else if news == AckNews::First && n.ack == 1 && step.phase == Phase::Handshake {
                clauses.push(format!(
                    "the {who} acknowledges the {peer}'s SYN with Ack=1 (its ISN + 1): the \
                     three-way handshake is complete"
                ));
            } else if step.acks_peer_fin {
                clauses.push(format!(
                    "the {who} acknowledges the {peer}'s FIN with Ack={} (the FIN's Seq + 1)",
                    n.ack
                ));
            } else if let AckNews::Beyond { previous, by } = news {
                clauses.push(format!(
                    "the {who} acknowledges {by} more byte{} from the {peer}: Ack={} is the \
                     previous Ack {} plus the payload received, the next byte it expects",
                    if by == 1 { "" } else { "s" },
                    n.ack,
                    info.rel_peer_seq(previous),
                ));
            } else if tcp.len == 0 && !fin && info.analysis.is_empty() {
                clauses.push(match news {
                    AckNews::Behind { highest } => format!(
                        "the {who}'s Ack={} is below its earlier Ack={}: this ACK was \
                         overtaken by a later one, so it acknowledges nothing new",
                        n.ack,
                        info.rel_peer_seq(highest)
                    ),
                    AckNews::First | AckNews::FirstUnseen => format!(
                        "the {who} acknowledges up to Ack={}, the next byte it expects",
                        n.ack
                    ),
                    _ => format!(
                        "the {who} repeats Ack={}: nothing new to acknowledge",
                        n.ack
                    ),
                });
            }
        }

        // tcp.analysis.acks_frame / ack_rtt: the segment this ACK ends exactly at, and the
        // time between the two as the capture point saw them.
        if let Some(acked) = info.analysis.acks.filter(|a| a.rtt != 0) {
            clauses.push(format!(
                "it acknowledges frame {} exactly, {} after it (tcp.analysis.ack_rtt: the \
                 round trip as the capture point sees it)",
                acked.frame,
                duration(acked.rtt)
            ));
        }

        for (label, _, _) in Label::DISPLAY_ORDER {
            if info.analysis.has(label) {
                clauses.push(analysis(label, tcp, info, &n, who, peer));
            }
        }
        match step.event {
            Some(Event::Midstream) => clauses.push(
                "the capture starts inside this connection (no SYN seen): relative numbers \
                 count from this segment and both sides are taken to be ESTABLISHED"
                    .into(),
            ),
            Some(Event::SimultaneousOpen) => clauses.push(format!(
                "this SYN crossed the {peer}'s SYN on the wire: a simultaneous open, in which \
                 both sides pass through SYN_RCVD (RFC 9293 §3.5)"
            )),
            Some(Event::SynUnanswered) => clauses.push(
                "the earlier SYN got no answer, so it is sent again (the retransmission timeout \
                 doubles each time)"
                    .into(),
            ),
            Some(Event::SimultaneousClose) => clauses.push(format!(
                "this FIN does not acknowledge the {peer}'s FIN: the two FINs crossed, a \
                 simultaneous close in which both sides pass through CLOSING"
            )),
            Some(Event::HalfClose) => clauses.push(format!(
                "the {who} still sends after the {peer}'s FIN: a half-close, where a FIN ends \
                 only its sender's direction"
            )),
            _ => {}
        }
        let reset = tcp.has(flags::RST);
        for tr in step.transitions.iter() {
            clauses.push(self.transition(tr, reset));
        }
        out.push_str(&clauses.join("; "));
    }

    /// One state change in words; `reset`: the segment that caused it is a RST.
    fn transition(&self, tr: &Transition, reset: bool) -> String {
        let side = tr.side.name();
        let peer = tr.side.peer().name();
        let mut s = format!("the {side} ");
        if let Some(via) = tr.via {
            let _ = write!(s, "passes through {} and ", via.name());
        }
        let to = tr.to.name();
        let _ = match tr.to {
            EndpointState::SynSent => write!(s, "enters {to}, waiting for the {peer}'s answer"),
            EndpointState::SynRcvd => {
                write!(
                    s,
                    "enters {to}: half-open until its own SYN is acknowledged"
                )
            }
            EndpointState::Established => write!(s, "is now {to}: data may flow both ways"),
            EndpointState::FinWait1 => write!(s, "enters {to}, waiting for the ACK of its FIN"),
            EndpointState::FinWait2 => write!(
                s,
                "enters {to}: its direction is closed and it waits for the {peer}'s FIN"
            ),
            EndpointState::CloseWait => write!(
                s,
                "enters {to}: it has read end-of-file, and its application must still close"
            ),
            EndpointState::Closing => write!(
                s,
                "enters {to}: both FINs are out and it waits for the ACK of its own"
            ),
            EndpointState::LastAck => write!(s, "enters {to}, waiting for the ACK of its FIN"),
            EndpointState::TimeWait => write!(
                s,
                "enters {to}, where it waits 2×MSL ({} s with --msl {}) so that stray segments die \
                 out before this pair of ports is used again",
                2 * self.msl,
                self.msl
            ),
            // From LAST_ACK a RST ends the wait for the ACK of the FIN without that ACK.
            EndpointState::Closed if tr.from == EndpointState::LastAck && reset => write!(
                s,
                "is {to}: the reset, not an ACK of its FIN, ends the connection on its side \
                 (a RST is processed before its ACK field, RFC 9293 §3.10.7.4)"
            ),
            EndpointState::Closed if tr.from == EndpointState::LastAck => write!(
                s,
                "is {to}: its FIN is acknowledged and the connection is gone on its side"
            ),
            EndpointState::Closed => write!(s, "is {to}"),
            EndpointState::Listen => write!(s, "is back in {to}"),
        };
        s
    }
}

/// The options a SYN offers, in words (RFC 9293 §3.7.1 MSS, RFC 7323 window scale and
/// timestamps, RFC 2018 SACK, RFC 7413 Fast Open).
fn syn_options(out: &mut String, tcp: &Tcp) {
    let mut offers: Vec<String> = Vec::new();
    for o in options(tcp) {
        let TcpOption::Opt { kind, data } = o else {
            continue;
        };
        match (kind, data) {
            (2, [a, b]) => offers.push(format!("MSS {}", u16::from_be_bytes([*a, *b]))),
            (3, [shift]) => offers.push(format!("window scale ×{}", 1u32 << (*shift).min(14))),
            (4, _) => offers.push("SACK".into()),
            (8, _) => offers.push("timestamps".into()),
            (34, _) => offers.push("TCP Fast Open".into()),
            _ => {}
        }
    }
    if let Some((last, rest)) = offers.split_last() {
        out.push_str(", and offers ");
        if !rest.is_empty() {
            out.push_str(&rest.join(", "));
            out.push_str(" and ");
        }
        out.push_str(last);
    }
}

fn analysis(label: Label, tcp: &Tcp, info: &TcpInfo, n: &Numbers, who: &str, peer: &str) -> String {
    let mut shown = String::new();
    write_label(&mut shown, label, &info.analysis);
    let name = shown.trim_end();
    match label {
        // Wireshark's verdict is only that the sequence numbers were sent before and this
        // copy is neither quick enough to be reordered nor asked for by duplicate ACKs; why
        // the sender sent it again (a timer, a lost ACK) is not in the capture.
        Label::Retransmission if tcp.has(flags::SYN) => format!(
            "{name}: the {who} already sent a SYN with this ISN, so Wireshark counts this one \
             as sent again"
        ),
        Label::Retransmission if tcp.len == 0 && tcp.has(flags::FIN) => format!(
            "{name}: the {who} already sent its FIN at Seq={}, so this FIN is the same one \
             sent again",
            n.seq
        ),
        Label::Retransmission => format!(
            "{name}: the {who} already sent Seq={}, and this copy does not follow its newest \
             segment within the connection's initial round-trip time (3 ms when unknown), as \
             a reordered one would, so Wireshark takes it for the same bytes sent again",
            n.seq
        ),
        Label::FastRetransmission => format!(
            "{name}: the {who} resends Seq={} after duplicate ACKs asked for it, without \
             waiting for the retransmission timer",
            n.seq
        ),
        Label::SpuriousRetransmission => format!(
            "{name}: the {peer} had already acknowledged these bytes, so resending them was \
             unnecessary"
        ),
        Label::OutOfOrder => format!(
            "{name}: Seq={} is below the {who}'s next sequence number, but the segment comes \
             within the connection's initial round-trip time (3 ms when unknown) of the \
             {who}'s newest one, sooner than a retransmission timer fires, so Wireshark takes \
             it for a segment reordered on the way (a copy resent at once looks the same)",
            n.seq
        ),
        Label::LostSegment => format!(
            "{name}: Seq={} is beyond the next expected number, so a segment before it is \
             missing from the capture",
            n.seq
        ),
        Label::AckLostSegment => format!(
            "{name}: Ack={} acknowledges bytes this capture never saw",
            n.ack
        ),
        Label::WindowUpdate => format!(
            "{name}: it carries no data and acknowledges nothing new, it only announces the \
             {who}'s new receive window, Win={}",
            info.win
        ),
        Label::WindowFull => format!(
            "{name}: this segment fills the {peer}'s advertised window, so the {who} must \
             wait for an ACK before sending more"
        ),
        Label::KeepAlive if info.analysis.peer_window == PeerWindow::Closed => format!(
            "{name}: Seq is one below the next sequence number, which Wireshark names a \
             keep-alive; but the {peer}'s window is closed (its last Win=0), so this is the \
             {who}'s zero-window probe: the {peer} must answer with an ACK that says whether \
             its window has opened (RFC 9293 §3.8.6.1; Linux probes with a segment one below \
             the unacknowledged data rather than with a byte of new data)"
        ),
        Label::KeepAlive => format!(
            "{name}: Seq is one below the next sequence number, a probe asking the {peer} to \
             answer with an ACK if it is still there"
        ),
        Label::KeepAliveAck => {
            format!("{name}: the {who} answers a keep-alive, so it is still there")
        }
        Label::DuplicateAck if reports_duplicate(tcp) => {
            let (frame, _) = info.analysis.dup_ack.unwrap_or((0, 0));
            format!(
                "{name}: the same Ack={} as frame {frame} again, but its first SACK block lies \
                 below the Ack: a D-SACK (RFC 2883) telling the {peer} that a segment arrived \
                 twice, not that one is missing",
                n.ack
            )
        }
        Label::DuplicateAck => {
            let (frame, _) = info.analysis.dup_ack.unwrap_or((0, 0));
            format!(
                "{name}: the same Ack={} as frame {frame} again, so the {who} \
                 still waits for that byte, a sign a segment was lost (three duplicates \
                 trigger a fast retransmission)",
                n.ack
            )
        }
        Label::ZeroWindow => format!(
            "{name}: Win=0, the {who}'s receive buffer is full and the {peer} must stop \
             sending"
        ),
        Label::ZeroWindowProbe => format!(
            "{name}: the {who} sends {} byte{} into the {peer}'s zero window to learn when it \
             opens again",
            tcp.len,
            if tcp.len == 1 { "" } else { "s" }
        ),
        Label::ZeroWindowProbeAck => {
            format!("{name}: the {who} answers a zero-window probe, its window is still closed")
        }
        Label::ReusedPorts => format!(
            "{name}: this SYN reuses the ports of an earlier connection, so a new connection \
             (a new stream) starts"
        ),
    }
}

/// The segment's first SACK block ends at or below its Ack: a D-SACK, which reports data
/// received twice (RFC 2883 §4), read from the row's own options.
fn reports_duplicate(tcp: &Tcp) -> bool {
    options(tcp).any(|o| match o {
        TcpOption::Opt { kind: 5, data } if data.len() >= 8 => {
            let right = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
            SeqNum(right) <= SeqNum(tcp.ack)
        }
        _ => false,
    })
}

/// Frames that are not a tracked TCP segment.
fn other(out: &mut String, row: &Row<'_>) {
    let _ = match &row.decoded.payload {
        Payload::TcpPartial { cut, .. } => write!(
            out,
            "a TCP header cut short by {}: too little of it to track the segment",
            match cut {
                Cut::Snaplen => "the capture's snapshot length",
                Cut::Malformed => "the IP length",
            }
        ),
        Payload::Udp { .. } => write!(
            out,
            "a UDP datagram ({}): no connection, no sequence numbers; tcplens tracks TCP only",
            row.info
        ),
        Payload::Icmp { .. } => write!(
            out,
            "an ICMP message ({}), outside any TCP connection",
            row.info
        ),
        Payload::Arp { .. } => write!(
            out,
            "an ARP packet ({}): link-layer address resolution, not TCP",
            row.info
        ),
        Payload::Fragment { .. } => write!(
            out,
            "an IP fragment: its datagram is reassembled on the frame that completes it, \
             which shows the TCP header (or it never completed: fragments wait at most 60 s)"
        ),
        _ => write!(out, "not TCP ({}): tcplens tracks TCP only", row.protocol),
    };
}

fn capitalize(out: &mut String, start: usize) {
    if let Some(c) = out[start..].chars().next().filter(char::is_ascii_lowercase) {
        out.replace_range(start..start + 1, &c.to_ascii_uppercase().to_string());
    }
}

/// A short duration for a sentence, in ASCII (ladders may be drawn with `--ascii`):
/// milliseconds below a second, else seconds, to the microsecond.
fn duration(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let abs = ns.unsigned_abs() as f64;
    if abs < 1e9 {
        format!("{sign}{:.3} ms", abs / 1e6)
    } else {
        format!("{sign}{:.6} s", abs / 1e9)
    }
}
