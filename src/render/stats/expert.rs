//! Expert infos, as `tshark -q -z expert` groups them (ui/cli/tap-expert.c of Wireshark 4.0):
//! one item per severity, protocol and summary text, counted, listed by severity (errors,
//! warnings, notes, chats) and within one in the order each item first appeared.
//!
//! The TCP items are the expert infos packet-tcp.c adds: the header's SYN, SYN+ACK, FIN and
//! RST, which side began the close, an ACK number or urgent pointer without its flag, one per analysis
//! label the tracker set (`tcp.analysis.*`, with the same summary text and severity). Beside
//! them, tcplens's own events (refused, abort, simultaneous open, …), which tshark has no
//! expert info for, under the protocol name `tcplens`. Each item also says the first frame
//! it was seen in.

use std::collections::HashMap;

use super::{Align, Grid, heading};
use crate::decode::flags;
use crate::fields::Packet;
use crate::flow::conn::Event;
use crate::flow::{Endpoint, Label};
use crate::render::json;

/// Wireshark's expert severities, most severe first (the order tap-expert prints them in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warn,
    Note,
    Chat,
}

impl Severity {
    /// tshark's section title.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "Error",
            Severity::Warn => "Warn",
            Severity::Note => "Note",
            Severity::Chat => "Chat",
        }
    }
}

/// Wireshark's expert groups used here (`PI_SEQUENCE`, `PI_PROTOCOL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    Sequence,
    Protocol,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Group::Sequence => "Sequence",
            Group::Protocol => "Protocol",
        }
    }
}

/// One kind of expert info: what makes two occurrences the same item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Info {
    /// `tcp.connection.syn`: a SYN without ACK, to this server port.
    Syn(u16),
    /// `tcp.connection.synack`: a SYN+ACK, from this server port.
    SynAck(u16),
    /// `tcp.connection.fin`.
    Fin,
    /// `tcp.connection.fin_active`: a FIN of the side that closed first.
    FinActive,
    /// `tcp.connection.fin_passive`: a FIN of the other side.
    FinPassive,
    /// `tcp.connection.rst`.
    Rst,
    /// `tcp.ack.nonzero`: an acknowledgment number without the ACK flag.
    AckNonzero,
    /// `tcp.urgent_pointer.non_zero`: an urgent pointer without the URG flag.
    UrgentNonzero,
    /// A `tcp.analysis.*` label (duplicate ACKs apart).
    Label(Label),
    /// `tcp.analysis.duplicate_ack`, with the running count Wireshark puts in its summary.
    DuplicateAck(u32),
    /// A tcplens event (no tshark expert info says it).
    Event(Event),
}

impl Info {
    pub fn severity(self) -> Severity {
        match self {
            Info::Syn(_) | Info::SynAck(_) | Info::Fin => Severity::Chat,
            Info::FinActive
            | Info::FinPassive
            | Info::AckNonzero
            | Info::UrgentNonzero
            | Info::DuplicateAck(_) => Severity::Note,
            Info::Rst => Severity::Warn,
            Info::Label(l) => match l {
                Label::OutOfOrder
                | Label::LostSegment
                | Label::AckLostSegment
                | Label::WindowFull
                | Label::ZeroWindow => Severity::Warn,
                Label::WindowUpdate => Severity::Chat,
                Label::Retransmission
                | Label::FastRetransmission
                | Label::SpuriousRetransmission
                | Label::KeepAlive
                | Label::KeepAliveAck
                | Label::DuplicateAck
                | Label::ZeroWindowProbe
                | Label::ZeroWindowProbeAck
                | Label::ReusedPorts => Severity::Note,
            },
            Info::Event(e) => match e {
                Event::Refused | Event::Abort(..) | Event::SynUnanswered => Severity::Warn,
                Event::Midstream
                | Event::SimultaneousOpen
                | Event::SimultaneousClose
                | Event::HalfClose => Severity::Note,
                Event::FinCarriesAck => Severity::Chat,
            },
        }
    }

    pub fn group(self) -> Group {
        match self {
            Info::AckNonzero | Info::UrgentNonzero => Group::Protocol,
            _ => Group::Sequence,
        }
    }

    pub fn protocol(self) -> &'static str {
        match self {
            Info::Event(_) => "tcplens",
            _ => "TCP",
        }
    }

    /// The summary text: packet-tcp.c's for TCP items, word for word.
    pub fn summary(self) -> String {
        let s = match self {
            Info::Syn(port) => {
                return format!("Connection establish request (SYN): server port {port}");
            }
            Info::SynAck(port) => {
                return format!("Connection establish acknowledge (SYN+ACK): server port {port}");
            }
            Info::DuplicateAck(n) => return format!("Duplicate ACK (#{n})"),
            Info::Fin => "Connection finish (FIN)",
            Info::FinActive => "This frame initiates the connection closing",
            Info::FinPassive => "This frame undergoes the connection closing",
            Info::Rst => "Connection reset (RST)",
            Info::AckNonzero => {
                "The acknowledgment number field is nonzero while the ACK flag is not set"
            }
            Info::UrgentNonzero => {
                "The urgent pointer field is nonzero while the URG flag is not set"
            }
            Info::Label(l) => match l {
                Label::Retransmission => "This frame is a (suspected) retransmission",
                Label::FastRetransmission => "This frame is a (suspected) fast retransmission",
                Label::SpuriousRetransmission => {
                    "This frame is a (suspected) spurious retransmission"
                }
                Label::OutOfOrder => "This frame is a (suspected) out-of-order segment",
                Label::LostSegment => "Previous segment(s) not captured (common at capture start)",
                Label::AckLostSegment => {
                    "ACKed segment that wasn't captured (common at capture start)"
                }
                Label::WindowUpdate => "TCP window update",
                Label::WindowFull => "TCP window specified by the receiver is now completely full",
                Label::KeepAlive => "TCP keep-alive segment",
                Label::KeepAliveAck => "ACK to a TCP keep-alive segment",
                Label::DuplicateAck => "Duplicate ACK",
                Label::ZeroWindow => "TCP Zero Window segment",
                Label::ZeroWindowProbe => "TCP Zero Window Probe",
                Label::ZeroWindowProbeAck => "ACK to a TCP Zero Window Probe",
                Label::ReusedPorts => {
                    "A new tcp session is started with the same ports as an earlier session in \
                     this trace"
                }
            },
            Info::Event(e) => match e {
                Event::Midstream => "The capture starts inside the connection (no SYN seen)",
                Event::SimultaneousOpen => "Simultaneous open: the SYNs crossed",
                Event::Refused => "Connection refused: the SYN was answered by RST",
                Event::SynUnanswered => "SYN sent again, the first one unanswered",
                Event::SimultaneousClose => "Simultaneous close: the FINs crossed",
                Event::FinCarriesAck => "Close in three segments: the FIN carries the ACK",
                Event::HalfClose => "Data toward a side that already sent its FIN (half-close)",
                Event::Abort(side, state) => {
                    return format!(
                        "Connection aborted by the {} in {}",
                        side.name(),
                        state.name()
                    );
                }
            },
        };
        s.to_string()
    }
}

/// One row: an item, how often it came, and the first frame it came in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub info: Info,
    pub count: u64,
    pub first_frame: u64,
}

/// The expert table.
#[derive(Default)]
pub struct Expert {
    index: HashMap<Info, usize>,
    /// In the order each item first appeared.
    items: Vec<Item>,
    /// Per stream, the end whose FIN came first: Wireshark's `closing_initiator`, which says
    /// whether a FIN initiates or undergoes the close (a FIN is "initiating" unless the peer
    /// already sent one; the tracker's summary keeps the first closer only for the end).
    closer: HashMap<u32, Endpoint>,
    /// Reused per frame.
    found: Vec<Info>,
}

impl Expert {
    /// A displayed frame: the expert infos of its TCP segment, in packet-tcp.c's order (the
    /// flags, then the analysis), then tcplens's event.
    pub fn packet(&mut self, p: &Packet<'_>) {
        let (Some((t, info)), Some(ip)) = (p.segment(), p.decoded().ip) else {
            return;
        };
        let mut found = std::mem::take(&mut self.found);
        found.clear();
        if t.has(flags::SYN) {
            found.push(if t.has(flags::ACK) {
                Info::SynAck(t.sport)
            } else {
                Info::Syn(t.dport)
            });
        }
        if t.has(flags::FIN) {
            found.push(Info::Fin);
            let (src, _) = Endpoint::of_segment(&ip, t);
            let closer = *self.closer.entry(info.stream).or_insert(src);
            found.push(if closer == src {
                Info::FinActive
            } else {
                Info::FinPassive
            });
        }
        if t.has(flags::RST) {
            found.push(Info::Rst);
        }
        if !t.has(flags::ACK) && t.ack != 0 {
            found.push(Info::AckNonzero);
        }
        if !t.has(flags::URG) && t.urgent != 0 {
            found.push(Info::UrgentNonzero);
        }
        let a = &info.analysis;
        for (label, ..) in Label::DISPLAY_ORDER {
            if !a.has(label) {
                continue;
            }
            match label {
                Label::DuplicateAck => {
                    if let Some((_, n)) = a.dup_ack {
                        found.push(Info::DuplicateAck(n));
                    }
                }
                // Wireshark's tree adds `retransmission` after a fast or spurious one too.
                Label::FastRetransmission | Label::SpuriousRetransmission => {
                    found.push(Info::Label(label));
                    if !a.has(Label::Retransmission) {
                        found.push(Info::Label(Label::Retransmission));
                    }
                }
                _ => found.push(Info::Label(label)),
            }
        }
        if let Some(e) = p.step().and_then(|s| s.event) {
            found.push(Info::Event(e));
        }
        for &i in &found {
            self.add(i, p.frame.number);
        }
        self.found = found;
    }

    fn add(&mut self, info: Info, frame: u64) {
        let items = &mut self.items;
        let i = *self.index.entry(info).or_insert_with(|| {
            items.push(Item {
                info,
                count: 0,
                first_frame: frame,
            });
            items.len() - 1
        });
        self.items[i].count += 1;
    }

    /// By severity, most severe first, then in the order first seen (tap-expert's arrays).
    pub fn sorted(&self) -> Vec<&Item> {
        let mut items: Vec<&Item> = self.items.iter().collect();
        items.sort_by_key(|i| i.info.severity());
        items
    }

    pub fn text(&self, out: &mut String, filter: Option<&str>) {
        let total: u64 = self.items.iter().map(|i| i.count).sum();
        let mut per = String::new();
        for s in [
            Severity::Error,
            Severity::Warn,
            Severity::Note,
            Severity::Chat,
        ] {
            let n: u64 = (self.items.iter())
                .filter(|i| i.info.severity() == s)
                .map(|i| i.count)
                .sum();
            if n > 0 {
                per.push_str(&format!(", {} {n}", s.name().to_lowercase()));
            }
        }
        heading(
            out,
            &format!("Expert infos: {total} in {} items{per}", self.items.len()),
            filter,
        );
        let mut grid = Grid::new(&[
            ("Severity", Align::Left),
            ("Count", Align::Right),
            ("Group", Align::Left),
            ("Protocol", Align::Left),
            ("First", Align::Right),
            ("Summary", Align::Left),
        ]);
        for i in self.sorted() {
            grid.text(i.info.severity().name());
            grid.int(i.count);
            grid.text(i.info.group().name());
            grid.text(i.info.protocol());
            grid.int(i.first_frame);
            grid.text(&i.info.summary());
        }
        grid.write(out);
    }

    /// One JSON record per item, in the table's order.
    pub fn json(&self, out: &mut String) {
        for i in self.sorted() {
            out.push_str("{\"type\":\"expert\",\"severity\":");
            json::string(out, &i.info.severity().name().to_lowercase());
            out.push_str(",\"group\":");
            json::string(out, i.info.group().name());
            out.push_str(",\"protocol\":");
            json::string(out, i.info.protocol());
            out.push_str(",\"summary\":");
            json::string(out, &i.info.summary());
            out.push_str(&format!(
                ",\"count\":{},\"first_frame\":{}}}\n",
                i.count, i.first_frame
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_list_by_severity_then_first_appearance() {
        let mut e = Expert::default();
        e.add(Info::Syn(80), 1);
        e.add(Info::Label(Label::Retransmission), 3);
        e.add(Info::Rst, 4);
        e.add(Info::Label(Label::Retransmission), 5);
        e.add(Info::DuplicateAck(1), 6);
        let order: Vec<(Info, u64, u64)> = (e.sorted().iter())
            .map(|i| (i.info, i.count, i.first_frame))
            .collect();
        assert_eq!(
            order,
            [
                (Info::Rst, 1, 4),
                (Info::Label(Label::Retransmission), 2, 3),
                (Info::DuplicateAck(1), 1, 6),
                (Info::Syn(80), 1, 1),
            ]
        );
    }

    #[test]
    fn summaries_are_wiresharks_words() {
        assert_eq!(
            Info::Syn(5211).summary(),
            "Connection establish request (SYN): server port 5211"
        );
        assert_eq!(Info::DuplicateAck(12).summary(), "Duplicate ACK (#12)");
        assert_eq!(
            Info::Event(Event::Abort(
                crate::flow::endpoint::Side::Server,
                crate::flow::endpoint::EndpointState::Established
            ))
            .summary(),
            "Connection aborted by the server in ESTABLISHED"
        );
        assert_eq!(
            Info::Label(Label::ReusedPorts).summary(),
            "A new tcp session is started with the same ports as an earlier session in this trace"
        );
    }
}
