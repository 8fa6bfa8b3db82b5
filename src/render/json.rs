//! JSON Lines records (docs/json.md). Written by hand into the row buffer: the schema is
//! flat and fixed, and a serializer would allocate per packet.

use std::fmt::Write;

use super::info::flag_names;
use super::{RelTime, Row};
use crate::decode::{Payload, flags};
use crate::flow::Summary;
use crate::source::Timestamp;

pub fn packet(out: &mut String, row: &Row<'_>) {
    let _ = write!(
        out,
        "{{\"type\":\"packet\",\"frame\":{},\"time\":{}",
        row.frame.number, row.time
    );
    let addr = |out: &mut String, key: &str, a: Option<std::net::IpAddr>| {
        let _ = match a {
            Some(a) => write!(out, ",\"{key}\":\"{a}\""),
            None => write!(out, ",\"{key}\":null"),
        };
    };
    addr(out, "src", row.src());
    addr(out, "dst", row.dst());
    let _ = write!(
        out,
        ",\"protocol\":\"{}\",\"length\":{}",
        row.protocol, row.frame.origlen
    );
    if let Some((t, i)) = row.seg {
        let n = super::info::Numbers::new(t, i, crate::cli::SeqMode::Relative);
        let _ = write!(
            out,
            ",\"srcport\":{},\"dstport\":{},\"stream\":{},\"flags\":[",
            t.sport, t.dport, i.stream
        );
        for (k, name) in flag_names(t.flags).enumerate() {
            let _ = write!(out, "{}\"{name}\"", if k > 0 { "," } else { "" });
        }
        if t.flags & flags::RESERVED != 0 {
            let _ = write!(
                out,
                "{}\"Reserved\"",
                if t.flags & 0x1ff != 0 { "," } else { "" }
            );
        }
        let _ = write!(out, "],\"seq\":{},\"seq_raw\":{}", n.seq, t.seq);
        if t.has(flags::ACK) {
            let _ = write!(out, ",\"ack\":{},\"ack_raw\":{}", n.ack, t.ack);
        } else {
            out.push_str(",\"ack\":null,\"ack_raw\":null");
        }
        let _ = write!(out, ",\"win\":{}", i.win);
        if t.short {
            out.push_str(",\"len\":null");
        } else {
            let _ = write!(out, ",\"len\":{}", t.len);
        }
        out.push_str(",\"analysis\":[");
        for (k, name) in i.analysis.names().enumerate() {
            let _ = write!(out, "{}\"{name}\"", if k > 0 { "," } else { "" });
        }
        out.push(']');
        if let Some(step) = &i.step {
            let _ = write!(
                out,
                ",\"phase\":\"{}\",\"step\":{},\"transitions\":[",
                step.phase.name(),
                step.step
            );
            // A side that moved twice (through `via`) gets two entries.
            let hops = step.transitions.iter().flat_map(|t| match t.via {
                Some(via) => [Some((t.side, t.from, via)), Some((t.side, via, t.to))],
                None => [Some((t.side, t.from, t.to)), None],
            });
            for (k, (side, from, to)) in hops.flatten().enumerate() {
                let _ = write!(
                    out,
                    "{}{{\"side\":\"{}\",\"from\":\"{}\",\"to\":\"{}\"}}",
                    if k > 0 { "," } else { "" },
                    side.name(),
                    from.name(),
                    to.name()
                );
            }
            let _ = write!(
                out,
                "],\"states\":{{\"client\":\"{}\",\"server\":\"{}\"}}",
                step.client.name(),
                step.server.name()
            );
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
        string(out, &stop.reason);
        out.push('}');
    }
    out.push('}');
}

/// A `{"type":"connection"}` record (design.md).
pub fn connection(out: &mut String, s: &Summary, first: Option<Timestamp>) {
    let (start, duration) = super::span(s, first);
    let l = &s.life;
    let _ = write!(
        out,
        "{{\"type\":\"connection\",\"stream\":{},\"client\":\"{}\",\"server\":\"{}\",\"start\":{},\"duration\":{},\"initial_rtt\":",
        s.stream, s.client, s.server, start, duration
    );
    match s.initial_rtt {
        Some(rtt) => {
            let _ = write!(
                out,
                "{}",
                RelTime {
                    nanos: rtt,
                    digits: 9
                }
            );
        }
        None => out.push_str("null"),
    }
    let _ = write!(
        out,
        ",\"packets\":{{\"client\":{},\"server\":{}}},\"bytes\":{{\"client\":{},\"server\":{}}},\"retransmissions\":{},\"open\":\"{}\",\"close\":\"{}\",\"closed_by\":",
        l.packets[0],
        l.packets[1],
        l.bytes[0],
        l.bytes[1],
        l.retransmissions,
        l.open.name(),
        l.close.name()
    );
    match l.closed_by {
        Some(side) => {
            let _ = write!(out, "\"{}\"", side.name());
        }
        None => out.push_str("null"),
    }
    if let Some((side, state)) = l.abort {
        let _ = write!(
            out,
            ",\"abort\":{{\"by\":\"{}\",\"state\":\"{}\"}}",
            side.name(),
            state.name()
        );
    }
    let _ = write!(
        out,
        ",\"half_closed\":{},\"states\":{{\"client\":\"{}\",\"server\":\"{}\"}},\"history\":",
        l.half_closed,
        l.client.name(),
        l.server.name()
    );
    string(out, &l.history);
    let _ = write!(out, ",\"conn_state\":\"{}\"}}", l.conn_state);
}

/// A JSON string literal (RFC 8259 §7).
pub fn string(out: &mut String, s: &str) {
    out.push('"');
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
