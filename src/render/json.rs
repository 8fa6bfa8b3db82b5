//! JSON Lines records (docs/json.md). Written by hand into the row buffer: the schema is
//! flat and fixed, and a serializer would allocate per packet.

use std::fmt::Write;

use anyhow::Result;

use super::info::flag_names;
use super::push;
use super::{End, RelTime, Row, Sink, View};
use crate::decode::{Payload, flags};
use crate::flow::Summary;
use crate::source::Timestamp;

/// Every key of the packet record and the fields of the table it shows (docs/json.md), in
/// record order: the one list that ties JSON to the field table. The writer below pushes
/// these keys by hand (a serializer allocated per packet); `tests/fields.rs` holds every
/// record of every fixture to it, key by key and value by value against `-T fields`.
pub const PACKET_KEYS: &[(&str, &[&str])] = &[
    ("type", &[]),
    ("frame", &["frame.number"]),
    ("time", &["frame.time_relative"]),
    ("src", &["ip.src", "ipv6.src", "arp.src.proto_ipv4"]),
    ("dst", &["ip.dst", "ipv6.dst", "arp.dst.proto_ipv4"]),
    ("protocol", &[]),
    ("length", &["frame.len"]),
    ("srcport", &["tcp.srcport", "udp.srcport"]),
    ("dstport", &["tcp.dstport", "udp.dstport"]),
    ("stream", &["tcp.stream"]),
    ("flags", &["tcp.flags"]),
    ("seq", &["tcp.seq"]),
    ("seq_raw", &["tcp.seq_raw"]),
    ("ack", &["tcp.ack"]),
    ("ack_raw", &["tcp.ack_raw"]),
    ("win", &["tcp.window_size"]),
    ("len", &["tcp.len"]),
    ("analysis", &["tcp.analysis.flags"]),
    ("acks_frame", &["tcp.analysis.acks_frame"]),
    ("ack_rtt", &["tcp.analysis.ack_rtt"]),
    ("bytes_in_flight", &["tcp.analysis.bytes_in_flight"]),
    ("push_bytes_sent", &["tcp.analysis.push_bytes_sent"]),
    ("rto", &["tcp.analysis.rto"]),
    ("rto_frame", &["tcp.analysis.rto_frame"]),
    ("phase", &["tcplens.phase"]),
    ("step", &["tcplens.step"]),
    ("transitions", &["tcplens.transition"]),
    ("states", &["tcplens.state.client", "tcplens.state.server"]),
    ("event", &["tcplens.event"]),
    ("info", &[]),
    ("stopped", &[]),
    ("explain", &[]),
];

/// The JSON Lines sink: a packet record per displayed frame, a connection record as each
/// connection ends, and a stats record when connections were evicted.
pub struct JsonRecords {
    packets: bool,
    connections: bool,
}

impl JsonRecords {
    pub fn new(packets: bool, connections: bool) -> JsonRecords {
        JsonRecords {
            packets,
            connections,
        }
    }
}

impl Sink for JsonRecords {
    fn rows(&self) -> bool {
        self.packets
    }

    fn per_frame(&self) -> bool {
        self.packets
    }

    fn packet(&mut self, out: &mut String, frame: &View<'_>) -> Result<()> {
        let Some(row) = frame.row.filter(|_| self.packets) else {
            return Ok(());
        };
        packet(out, row);
        if let Some(note) = frame.note {
            // The record's closing brace makes room for the sentence.
            out.pop();
            out.push_str(",\"explain\":");
            string(out, note);
            out.push('}');
        }
        out.push('\n');
        Ok(())
    }

    fn shows_connections(&self) -> bool {
        self.connections
    }

    fn streams_left(&self) -> bool {
        true
    }

    fn connection(
        &mut self,
        out: &mut String,
        s: &Summary,
        first: Option<Timestamp>,
    ) -> Result<()> {
        if self.connections {
            connection(out, s, first);
            out.push('\n');
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn std::io::Write, end: &mut End<'_>) -> Result<()> {
        if let Some(left) = end.left.take() {
            let mut line = String::new();
            for s in left {
                line.clear();
                self.connection(&mut line, &s, end.first)?;
                out.write_all(line.as_bytes())?;
            }
        }
        if end.evicted > 0 {
            writeln!(out, "{{\"type\":\"stats\",\"evicted\":{}}}", end.evicted)?;
        }
        Ok(())
    }
}

pub fn packet(out: &mut String, row: &Row<'_>) {
    // Pushes rather than write!: core::fmt dominated the profile (render/push.rs).
    out.push_str("{\"type\":\"packet\",\"frame\":");
    push::int(out, row.frame.number);
    out.push_str(",\"time\":");
    push::time(out, row.time);
    let addr = |out: &mut String, key: &str, a: Option<std::net::IpAddr>| {
        out.push_str(",\"");
        out.push_str(key);
        match a {
            Some(a) => {
                out.push_str("\":\"");
                push::ip(out, a);
                out.push('"');
            }
            None => out.push_str("\":null"),
        }
    };
    addr(out, "src", row.src());
    addr(out, "dst", row.dst());
    out.push_str(",\"protocol\":\"");
    out.push_str(row.protocol);
    out.push_str("\",\"length\":");
    push::int(out, row.frame.origlen);
    if let Some((t, i)) = row.seg {
        let n = super::info::Numbers::new(t, i, crate::cli::SeqMode::Relative);
        out.push_str(",\"srcport\":");
        push::int(out, t.sport);
        out.push_str(",\"dstport\":");
        push::int(out, t.dport);
        out.push_str(",\"stream\":");
        push::int(out, i.stream);
        out.push_str(",\"flags\":[");
        for (k, name) in flag_names(t.flags).enumerate() {
            list_item(out, k, name);
        }
        if t.flags & flags::RESERVED != 0 {
            if t.flags & 0x1ff != 0 {
                out.push(',');
            }
            out.push_str("\"Reserved\"");
        }
        out.push_str("],\"seq\":");
        push::int(out, n.seq);
        out.push_str(",\"seq_raw\":");
        push::int(out, t.seq);
        if t.has(flags::ACK) {
            out.push_str(",\"ack\":");
            push::int(out, n.ack);
            out.push_str(",\"ack_raw\":");
            push::int(out, t.ack);
        } else {
            out.push_str(",\"ack\":null,\"ack_raw\":null");
        }
        out.push_str(",\"win\":");
        push::int(out, i.win);
        if t.short {
            out.push_str(",\"len\":null");
        } else {
            out.push_str(",\"len\":");
            push::int(out, t.len);
        }
        out.push_str(",\"analysis\":[");
        for (k, name) in i.analysis.names().enumerate() {
            list_item(out, k, name);
        }
        out.push(']');
        timing(out, &i.analysis);
        if let Some(step) = &i.step {
            out.push_str(",\"phase\":\"");
            out.push_str(step.phase.name());
            out.push_str("\",\"step\":");
            push::int(out, step.step);
            out.push_str(",\"transitions\":[");
            // A side that moved twice (through `via`) gets two entries.
            let hops = step.transitions.iter().flat_map(|t| match t.via {
                Some(via) => [Some((t.side, t.from, via)), Some((t.side, via, t.to))],
                None => [Some((t.side, t.from, t.to)), None],
            });
            for (k, (side, from, to)) in hops.flatten().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                out.push_str("{\"side\":\"");
                out.push_str(side.name());
                out.push_str("\",\"from\":\"");
                out.push_str(from.name());
                out.push_str("\",\"to\":\"");
                out.push_str(to.name());
                out.push_str("\"}");
            }
            out.push_str("],\"states\":{\"client\":\"");
            out.push_str(step.client.name());
            out.push_str("\",\"server\":\"");
            out.push_str(step.server.name());
            out.push_str("\"}");
            if let Some(event) = step.event {
                let _ = write!(out, ",\"event\":\"{event}\"");
            }
        }
    } else {
        match row.decoded.payload {
            Payload::Udp { sport, dport, .. }
            | Payload::TcpPartial {
                sport: Some(sport),
                dport: Some(dport),
                ..
            } => {
                let _ = write!(out, ",\"srcport\":{sport},\"dstport\":{dport}");
            }
            _ => {}
        }
    }
    out.push_str(",\"info\":");
    string(out, row.info);
    if let Some(stop) = &row.decoded.stop {
        let _ = write!(
            out,
            ",\"stopped\":{{\"layer\":\"{}\",\"reason\":",
            stop.layer
        );
        string(out, &stop.reason.to_string());
        out.push('}');
    }
    out.push('}');
}

/// A duration as tshark prints FT_RELATIVE_TIME: nanosecond digits.
fn nanos(n: i64) -> RelTime {
    RelTime {
        nanos: n.into(),
        digits: 9,
    }
}

/// Wireshark's per-segment timing, each key only where tshark shows its field.
fn timing(out: &mut String, a: &crate::flow::Analysis) {
    if let Some(acks) = a.acks {
        out.push_str(",\"acks_frame\":");
        push::int(out, acks.frame);
        if acks.rtt != 0 {
            out.push_str(",\"ack_rtt\":");
            push::time(out, nanos(acks.rtt));
        }
    }
    if let Some(f) = a.flight.filter(|f| f.bytes != 0) {
        out.push_str(",\"bytes_in_flight\":");
        push::int(out, f.bytes);
        out.push_str(",\"push_bytes_sent\":");
        push::int(out, f.push);
    }
    if let Some(rto) = a.rto.filter(|r| r.after != 0) {
        out.push_str(",\"rto\":");
        push::time(out, nanos(rto.after));
        out.push_str(",\"rto_frame\":");
        push::int(out, rto.frame);
    }
}

/// A `{"type":"connection"}` record (design.md), pushed field by field like packets.
pub fn connection(out: &mut String, s: &Summary, first: Option<Timestamp>) {
    let (start, duration) = super::span(s, first);
    let l = &s.life;
    out.push_str("{\"type\":\"connection\",\"stream\":");
    push::int(out, s.stream);
    out.push_str(",\"client\":\"");
    push::endpoint(out, s.client);
    out.push_str("\",\"server\":\"");
    push::endpoint(out, s.server);
    out.push_str("\",\"start\":");
    push::time(out, start);
    out.push_str(",\"duration\":");
    push::time(out, duration);
    out.push_str(",\"initial_rtt\":");
    match s.initial_rtt {
        Some(rtt) => push::time(
            out,
            RelTime {
                nanos: rtt,
                digits: 9,
            },
        ),
        None => out.push_str("null"),
    }
    // tcp.analysis.ack_rtt over the connection, per side whose data it measures.
    out.push_str(",\"ack_rtt\":{");
    for (k, (side, rtt)) in ["client", "server"].iter().zip(&s.ack_rtt).enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(side);
        out.push_str("\":");
        match rtt.avg() {
            Some(avg) => {
                out.push_str("{\"samples\":");
                push::int(out, rtt.samples);
                for (key, v) in [("min", rtt.min), ("avg", avg), ("max", rtt.max)] {
                    out.push_str(",\"");
                    out.push_str(key);
                    out.push_str("\":");
                    push::time(out, nanos(v));
                }
                out.push('}');
            }
            None => out.push_str("null"),
        }
    }
    out.push('}');
    for (label, n) in [
        (",\"packets\":{\"client\":", l.packets[0]),
        (",\"server\":", l.packets[1]),
        ("},\"bytes\":{\"client\":", l.bytes[0]),
        (",\"server\":", l.bytes[1]),
        ("},\"retransmissions\":", l.retransmissions),
    ] {
        out.push_str(label);
        push::int(out, n);
    }
    out.push_str(",\"open\":\"");
    out.push_str(l.open.name());
    out.push_str("\",\"close\":\"");
    out.push_str(l.close.name());
    out.push_str("\",\"closed_by\":");
    match l.closed_by {
        Some(side) => {
            out.push('"');
            out.push_str(side.name());
            out.push('"');
        }
        None => out.push_str("null"),
    }
    if let Some((side, state)) = l.abort {
        out.push_str(",\"abort\":{\"by\":\"");
        out.push_str(side.name());
        out.push_str("\",\"state\":\"");
        out.push_str(state.name());
        out.push_str("\"}");
    }
    out.push_str(",\"half_closed\":");
    out.push_str(if l.half_closed { "true" } else { "false" });
    out.push_str(",\"states\":{\"client\":\"");
    out.push_str(l.client.name());
    out.push_str("\",\"server\":\"");
    out.push_str(l.server.name());
    out.push_str("\"},\"history\":");
    string(out, &l.history);
    out.push_str(",\"conn_state\":\"");
    out.push_str(l.conn_state.name());
    out.push_str("\",\"zeek_bytes\":{\"client\":");
    push::int(out, l.zeek_bytes[0]);
    out.push_str(",\"server\":");
    push::int(out, l.zeek_bytes[1]);
    // Community ID v1 (flow/community_id.rs), to join Zeek's, Suricata's, Arkime's records.
    out.push_str("},\"community_id\":\"");
    out.push_str(s.community_id().as_str());
    out.push_str("\"}");
}

/// `"name"` as the `k`-th item of a list of plain names (no escaping needed).
fn list_item(out: &mut String, k: usize, name: &str) {
    if k > 0 {
        out.push(',');
    }
    out.push('"');
    out.push_str(name);
    out.push('"');
}

/// A JSON string literal (RFC 8259 §7).
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    // Info texts almost never need escaping: copy them whole when so.
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_escape_quotes_and_controls() {
        let mut s = String::new();
        super::string(&mut s, "a\"b\\c\n\u{1}");
        assert_eq!(s, r#""a\"b\\c\n\u0001""#);
    }
}
