//! Renderers: turn decoded frames and the tracker's view of them into text rows or JSON Lines.
//! They write; they never decide anything about TCP.

pub mod color;
pub mod explain;
pub mod fields;
pub mod info;
pub mod json;
pub mod ladder;
pub mod progress;
pub mod push;

use std::fmt::Write as _;
use std::io::{self, Write};

use std::sync::Arc;

use crate::cli::{Output, SeqMode, SummaryMode};
use crate::decode::{Decoded, Payload, Tcp, flags};
use crate::dfilter::DisplayFilter;
use crate::fields::Packet;
use crate::flow::{Summary, TcpInfo};
use crate::source::{Frame, Timestamp};
use color::{ColorMode, Rule};
use explain::Explainer;
use fields::FieldsFormat;
use ladder::Ladder;

/// Connections listed in the text table at the end; beyond, they are counted, not listed.
const MAX_LISTED: usize = 100_000;
/// The table's lines are kept in text chunks of this size rather than one String: doubling
/// one buffer of 32k lines left the smaller copies behind in the heap.
const CHUNK: usize = 256 << 10;

/// Where one connection's line of the text table is kept.
struct TableLine {
    stream: u32,
    chunk: u32,
    start: u32,
    end: u32,
}

impl TableLine {
    fn text<'a>(&self, chunks: &'a [String]) -> &'a str {
        &chunks[self.chunk as usize][self.start as usize..self.end as usize]
    }
}

pub struct Renderer<W: Write> {
    out: W,
    opts: Output,
    first: Option<Timestamp>,
    /// Text mode: the table's lines, written as each connection leaves the tracker (its summary
    /// is then still in cache; formatting them all at the end read 32k cold summaries back),
    /// printed in stream order at the end of the read.
    table: Vec<String>,
    lines: Vec<TableLine>,
    unlisted: u64,
    /// Reused per row: no allocation per packet once warmed up.
    line: String,
    info: String,
    ladder: Option<Ladder>,
    explainer: Option<Explainer>,
    /// Reused per row: the `--explain` sentence.
    note: String,
    /// A progress bar on stderr, cleared before the summary prints.
    progress: Option<progress::Progress>,
    /// Under a display filter: the streams with a displayed frame, one bit each.
    matched: Vec<u64>,
    /// `-T fields`.
    fields: Option<Arc<FieldsFormat>>,
    header_written: bool,
    /// `--summary` with a filter of connection fields only.
    verdict: Option<Arc<DisplayFilter>>,
}

impl<W: Write> Renderer<W> {
    pub fn new(opts: Output, out: W) -> Renderer<W> {
        Renderer {
            out,
            opts,
            first: None,
            table: Vec::new(),
            lines: Vec::new(),
            unlisted: 0,
            line: String::new(),
            info: String::new(),
            ladder: opts
                .ladder
                .map(|l| Ladder::new(l, opts.ascii, opts.color, opts.seq)),
            explainer: opts.explain.then(|| Explainer::new(opts.msl, opts.ascii)),
            note: String::new(),
            progress: None,
            matched: Vec::new(),
            fields: None,
            header_written: false,
            verdict: None,
        }
    }

    /// Keeps the read's progress bar, to clear it before the summary.
    pub fn progress(mut self, progress: progress::Progress) -> Renderer<W> {
        self.progress = Some(progress);
        self
    }

    /// Hands everything written so far to the output (live capture, when no packet waits).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn write_line(&mut self) -> io::Result<()> {
        self.out.write_all(self.line.as_bytes())
    }

    /// Whether [`Renderer::packet`] writes anything (rows, JSON records, ladder arrows, field
    /// lines) beyond noting the first frame's time and the connections displayed.
    pub fn renders_packets(&self) -> bool {
        self.opts.rows || self.ladder.is_some() || self.fields.is_some()
    }

    /// `-T fields`: field lines instead of rows, and nothing else.
    pub fn fields(mut self, format: Option<Arc<FieldsFormat>>) -> Renderer<W> {
        if format.is_some() {
            self.opts.summary = SummaryMode::Off;
        }
        self.fields = format;
        self
    }

    /// With `--summary`, a filter of connection fields only selects summary lines by itself.
    pub fn connection_filter(mut self, filter: Option<Arc<DisplayFilter>>) -> Renderer<W> {
        self.verdict = filter;
        self
    }

    /// Whether a connection's summary and diagram are shown: all of them without a filter;
    /// with one, those with a displayed frame, or those whose verdict the filter selects.
    fn shows(&self, summary: &Summary) -> bool {
        if let Some(filter) = &self.verdict {
            return filter.matches(&Packet::of_connection(summary));
        }
        !self.opts.filtered
            || self
                .matched
                .get(summary.stream as usize / 64)
                .is_some_and(|w| w & (1 << (summary.stream % 64)) != 0)
    }

    /// One displayed frame (the display filter, if any, selected it).
    pub fn packet(&mut self, packet: &Packet<'_>) -> io::Result<()> {
        let (frame, tcp) = (packet.frame, packet.tcp);
        if self.first.is_none() {
            // The file's first frame, which need not be displayed: times count from it.
            let ns = frame.ts.as_nanos() - packet.times.relative;
            self.first = Some(Timestamp {
                secs: ns.div_euclid(1_000_000_000) as i64,
                nanos: ns.rem_euclid(1_000_000_000) as u32,
                digits: frame.ts.digits,
            });
        }
        if self.opts.filtered
            && let Some(t) = tcp
        {
            let (word, bit) = (t.stream as usize / 64, t.stream % 64);
            if self.matched.len() <= word {
                self.matched.resize(word + 1, 0);
            }
            self.matched[word] |= 1 << bit;
        }
        if let Some(format) = &self.fields {
            self.line.clear();
            if !self.header_written {
                self.header_written = true;
                if format.header {
                    format.header(&mut self.line);
                }
            }
            format.line(&mut self.line, packet);
            return self.write_line();
        }
        if !self.renders_packets() {
            return Ok(());
        }
        let decoded = frame.decoded();
        self.info.clear();
        let seg = match (&decoded.payload, tcp) {
            (Payload::Tcp(t), Some(i)) => Some((t, i)),
            _ => None,
        };
        let protocol = match seg {
            Some((t, i)) => {
                info::tcp_info(&mut self.info, t, i, self.opts.seq);
                "TCP"
            }
            None => info::other_info(&mut self.info, decoded),
        };
        let row = Row {
            frame,
            decoded,
            seg,
            protocol,
            info: &self.info,
            time: RelTime {
                nanos: packet.times.relative,
                digits: frame.ts.digits,
            },
        };
        self.line.clear();
        self.note.clear();
        if let Some(explainer) = &mut self.explainer {
            explainer.sentence(&mut self.note, &row);
        }
        let note = self.explainer.as_ref().map(|_| self.note.as_str());
        if self.opts.rows {
            if self.opts.json {
                json::packet(&mut self.line, &row);
                if let Some(note) = note {
                    // The record's closing brace makes room for the sentence.
                    self.line.pop();
                    self.line.push_str(",\"explain\":");
                    json::string(&mut self.line, note);
                    self.line.push('}');
                }
            } else {
                text_row(&mut self.line, &row, self.opts.seq);
                // The rule is only worth finding when it will be painted.
                let color = self.opts.color != ColorMode::Off;
                if let Some(style) =
                    (row.rule().filter(|_| color)).and_then(|r| r.style(self.opts.color))
                {
                    let plain = std::mem::take(&mut self.line);
                    let _ = write!(self.line, "{}", style.style(&plain));
                }
                if let Some(note) = note {
                    self.line.push_str(if self.opts.ascii {
                        "\n      -> "
                    } else {
                        "\n      ↳ "
                    });
                    self.line.push_str(note);
                }
            }
            self.line.push('\n');
        }
        if let Some(ladder) = &mut self.ladder {
            ladder.segment(&mut self.line, &row, note);
        }
        self.write_line()
    }

    /// A connection left the tracker: JSON prints its record now, text keeps it for the end.
    pub fn connection(&mut self, summary: Summary) -> io::Result<()> {
        if let Some(explainer) = &mut self.explainer {
            explainer.forget(summary.stream);
        }
        if !self.shows(&summary) {
            return Ok(());
        }
        if let Some(ladder) = &mut self.ladder {
            self.line.clear();
            ladder.finish(&mut self.line, &summary);
            if self.opts.rows && !self.line.is_empty() {
                // Rows and diagrams together (the demo): a blank line between them.
                self.line.insert(0, '\n');
            }
            self.write_line()?;
        }
        if self.opts.summary == SummaryMode::Off {
            return Ok(());
        }
        if self.opts.json {
            self.line.clear();
            json::connection(&mut self.line, &summary, self.first);
            self.line.push('\n');
            return self.write_line();
        }
        if self.lines.len() < MAX_LISTED {
            self.line.clear();
            summary_line(&mut self.line, &summary, self.first);
            let fits = (self.table.last())
                .is_some_and(|chunk| chunk.len() + self.line.len() <= chunk.capacity());
            if !fits {
                (self.table).push(String::with_capacity(CHUNK.max(self.line.len())));
            }
            let index = self.table.len() - 1;
            let chunk = &mut self.table[index];
            let start = chunk.len();
            chunk.push_str(&self.line);
            self.lines.push(TableLine {
                stream: summary.stream,
                chunk: index as u32,
                start: start as u32,
                end: chunk.len() as u32,
            });
        } else {
            self.unlisted += 1;
        }
        Ok(())
    }

    /// End of input: `left` are the connections still in the tracker, by stream. JSON prints
    /// their records; text prints the table, then the eviction count; then flush.
    pub fn finish(
        &mut self,
        left: impl ExactSizeIterator<Item = Summary>,
        evicted: u64,
    ) -> io::Result<()> {
        self.progress = None;
        let table = self.opts.summary != SummaryMode::Off && !self.opts.json;
        let mut left = left;
        let mut listed_left = 0;
        if table && self.ladder.is_none() && !self.opts.filtered {
            // The common case: no diagram or filter needs each summary first, so the lines of
            // the connections left are written as they are summarized, merged by stream with
            // the lines kept, instead of being kept too (32k lines, 8 MiB, beside the
            // connections they come from).
            listed_left = left.len().min(MAX_LISTED.saturating_sub(self.lines.len()));
            self.unlisted += (left.len() - listed_left) as u64;
        } else {
            for summary in left.by_ref() {
                self.connection(summary)?;
            }
        }
        if table {
            // Nearly sorted already: connections left the table mostly in stream order.
            self.lines.sort_unstable_by_key(|l| l.stream);
            self.line.clear();
            if !self.lines.is_empty() || listed_left > 0 {
                // Diagrams end with a blank line of their own.
                if self.opts.rows && self.ladder.is_none() {
                    self.line.push('\n');
                }
                let _ = writeln!(
                    self.line,
                    "Connections: {}",
                    (self.lines.len() + listed_left) as u64 + self.unlisted
                );
            }
            self.out.write_all(self.line.as_bytes())?;
            let mut kept = self.lines.iter().peekable();
            for summary in left.take(listed_left) {
                while let Some(l) = kept.next_if(|l| l.stream < summary.stream) {
                    self.out.write_all(l.text(&self.table).as_bytes())?;
                }
                self.line.clear();
                summary_line(&mut self.line, &summary, self.first);
                self.out.write_all(self.line.as_bytes())?;
            }
            for l in kept {
                self.out.write_all(l.text(&self.table).as_bytes())?;
            }
            self.line.clear();
            if self.unlisted > 0 {
                let _ = writeln!(self.line, "  … {} more not listed", self.unlisted);
            }
            if evicted > 0 {
                let _ = writeln!(
                    self.line,
                    "  {evicted} connections evicted before they ended (table full: raise --max-flows)"
                );
            }
            self.out.write_all(self.line.as_bytes())?;
        } else if self.opts.json && evicted > 0 {
            let _ = writeln!(self.out, "{{\"type\":\"stats\",\"evicted\":{evicted}}}");
        }
        self.out.flush()
    }
}

/// One summary line: who talked to whom, how it opened and closed, and the final states.
/// Pushed field by field (render/push.rs): a capture of 32k short connections spent 18% of
/// --summary's time formatting these lines through core::fmt.
fn summary_line(out: &mut String, s: &Summary, first: Option<Timestamp>) {
    let (start, duration) = span(s, first);
    let l = &s.life;
    out.push_str("  #");
    push::int(out, s.stream);
    out.push(' ');
    push::endpoint(out, s.client);
    out.push_str(" → ");
    push::endpoint(out, s.server);
    out.push_str(" · start ");
    push::time(out, start);
    out.push_str(" · duration ");
    push::time(out, duration);
    if let Some(rtt) = s.initial_rtt {
        out.push_str(" · rtt ");
        push::time(
            out,
            RelTime {
                nanos: rtt,
                digits: start.digits,
            },
        );
    }
    for (label, n) in [
        (" · client ", l.packets[0]),
        (" pkts ", l.bytes[0]),
        (" B · server ", l.packets[1]),
        (" pkts ", l.bytes[1]),
        (" B · retrans ", l.retransmissions),
    ] {
        out.push_str(label);
        push::int(out, n);
    }
    out.push_str(" · open ");
    out.push_str(l.open.name());
    out.push_str(" · close ");
    out.push_str(l.close.name());
    if let Some(side) = l.closed_by {
        out.push_str(" by ");
        out.push_str(side.name());
    }
    if let Some((_, state)) = l.abort {
        out.push_str(" in ");
        out.push_str(state.name());
    }
    if l.half_closed {
        out.push_str(" (half-closed)");
    }
    out.push_str(" · client ");
    out.push_str(l.client.name());
    out.push_str(" · server ");
    out.push_str(l.server.name());
    out.push_str(" · ");
    out.push_str(&l.history);
    out.push(' ');
    out.push_str(l.conn_state.name());
    out.push('\n');
}

/// Everything a renderer needs about one frame.
pub struct Row<'a> {
    pub frame: &'a Frame,
    pub decoded: &'a Decoded,
    pub seg: Option<(&'a Tcp, &'a TcpInfo)>,
    pub protocol: &'static str,
    pub info: &'a str,
    /// Seconds since the first frame, at the file's precision.
    pub time: RelTime,
}

impl Row<'_> {
    /// The first of Wireshark's default coloring rules that matches (see color.rs).
    pub fn rule(&self) -> Option<Rule> {
        if let Some((t, i)) = self.seg {
            return Some(if i.analysis.is_bad() {
                Rule::BadTcp
            } else if t.has(flags::RST) {
                Rule::TcpRst
            } else if t.has(flags::SYN) || t.has(flags::FIN) {
                Rule::TcpSynFin
            } else {
                Rule::Tcp
            });
        }
        match self.decoded.payload {
            Payload::TcpPartial { .. } => Some(Rule::Tcp),
            Payload::Arp { .. } => Some(Rule::Arp),
            Payload::Icmp { .. } => Some(Rule::Icmp),
            Payload::Udp { .. } => Some(Rule::Udp),
            _ => None,
        }
    }

    pub fn src(&self) -> Option<std::net::IpAddr> {
        self.decoded
            .ip
            .map(|ip| ip.src)
            .or(match self.decoded.payload {
                Payload::Arp { sender, .. } => Some(sender.into()),
                _ => None,
            })
    }

    pub fn dst(&self) -> Option<std::net::IpAddr> {
        self.decoded
            .ip
            .map(|ip| ip.dst)
            .or(match self.decoded.payload {
                Payload::Arp { target, .. } => Some(target.into()),
                _ => None,
            })
    }
}

/// A connection's start (since the capture's first frame) and duration, at its precision.
pub fn span(s: &Summary, first: Option<Timestamp>) -> (RelTime, RelTime) {
    let digits = first.map_or(6, |f| f.digits);
    let origin = first.map_or(s.first, |f| f.as_nanos());
    (
        RelTime {
            nanos: s.first - origin,
            digits,
        },
        RelTime {
            nanos: s.last - s.first,
            digits,
        },
    )
}

/// A signed duration shown with a fixed number of decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelTime {
    pub nanos: i128,
    pub digits: u8,
}

impl std::fmt::Display for RelTime {
    /// Truncates to the capture's precision, as Wireshark's time column does.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.nanos < 0 { "-" } else { "" };
        let abs = self.nanos.unsigned_abs();
        let secs = abs / 1_000_000_000;
        let digits = self.digits.min(9) as u32;
        let s = if digits == 0 {
            format!("{sign}{secs}")
        } else {
            let frac = (abs % 1_000_000_000) / 10u128.pow(9 - digits);
            format!("{sign}{secs}.{frac:0width$}", width = digits as usize)
        };
        f.pad(&s)
    }
}

/// tshark's default row: No. (right, 5), Time (right, 10), Source (right, 12) → Destination
/// (left, 12), Protocol, Length, Info; then tcplens's annotation after a bar.
fn text_row(out: &mut String, row: &Row<'_>, seq: SeqMode) {
    // Field by field rather than one `write!`: core::fmt was the top of the profile (push.rs).
    push::int_right(out, row.frame.number, 5);
    out.push(' ');
    push::time_right(out, row.time, 10);
    out.push(' ');
    push::ip_right(out, row.src(), 12);
    out.push_str(" → ");
    push::ip_left(out, row.dst(), 12);
    out.push(' ');
    out.push_str(row.protocol);
    out.push(' ');
    push::int(out, row.frame.origlen);
    out.push(' ');
    out.push_str(row.info);
    annotation(out, row, seq);
}

/// tcplens's own column: stream, the raw ISN on SYNs (the articles' "Sequence Number (raw)"),
/// raw numbers under `--seq both`, and where decoding stopped.
fn annotation(out: &mut String, row: &Row<'_>, seq: SeqMode) {
    let start = out.len();
    let sep = |out: &mut String| out.push_str(if out.len() == start { " │ " } else { " · " });
    if let Some((t, i)) = row.seg {
        sep(out);
        out.push('#');
        push::int(out, i.stream);
        if let Some(step) = &i.step {
            out.push(' ');
            out.push_str(step.phase.name());
            out.push(' ');
            push::int(out, step.step);
            for tr in step.transitions.iter() {
                out.push_str(" · ");
                out.push_str(tr.side.name());
                out.push(' ');
                out.push_str(tr.from.name());
                out.push('→');
                if let Some(via) = tr.via {
                    out.push_str(via.name());
                    out.push('→');
                }
                out.push_str(tr.to.name());
            }
            if let Some(event) = step.event {
                let _ = write!(out, " · {event}");
            }
        }
        if t.has(flags::SYN) {
            out.push_str(" · ISN ");
            push::int(out, t.seq);
        }
        if seq == SeqMode::Both {
            out.push_str(" · seq ");
            push::int(out, t.seq);
            if t.has(flags::ACK) {
                out.push_str(" ack ");
                push::int(out, t.ack);
            }
        }
    }
    if let Some(stop) = &row.decoded.stop {
        sep(out);
        let _ = write!(out, "stopped at {}: {}", stop.layer, stop.reason);
    }
}
