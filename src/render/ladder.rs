//! `--ladder`: a sequence diagram per connection, as the articles draw TCP (and RFC 9293 §3.5
//! its figures): the client's lifeline on the left, the server's on the right, one arrow per
//! segment in its direction, and each side's state written beside its lifeline when it
//! changes.
//!
//! ```text
//! tcp.stream 0
//!                  client 127.0.0.1:5201 ┬─ … ─┬ server 127.0.0.1:5200
//!                                 CLOSED │     │ LISTEN
//!     1   0.000000              SYN_SENT │──▶  │
//! ```
//!
//! Files interleave connections, so a diagram is kept until its connection leaves the tracker
//! and then written whole; a live capture draws each arrow the moment its segment arrives.

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::Result;

use super::color::ColorMode;
use super::info::{Numbers, write_flags, write_labels};
use super::{Row, Sink, View};
use crate::cli::{LadderOpts, SeqMode};
use crate::decode::flags;
use crate::flow::endpoint::{EndpointState, Side};
use crate::flow::{Endpoint, Summary};
use crate::source::Timestamp;

impl Sink for Ladder {
    fn rows(&self) -> bool {
        true
    }

    fn packet(&mut self, out: &mut String, frame: &View<'_>) -> Result<()> {
        if let Some(row) = frame.row {
            self.segment(out, row, frame.note);
        }
        Ok(())
    }

    fn shows_connections(&self) -> bool {
        true
    }

    fn connection(&mut self, out: &mut String, s: &Summary, _: Option<Timestamp>) -> Result<()> {
        let start = out.len();
        self.close(out, s);
        if self.after_rows && out.len() > start {
            // Rows and diagrams together (the demo): a blank line between them.
            out.insert(start, '\n');
        }
        Ok(())
    }
}

/// The characters a diagram is drawn with.
struct Glyphs {
    life: char,
    top: char,
    end: char,
    wire: char,
    right: char,
    left: char,
    /// Marks an explanation under an arrow.
    note: &'static str,
    /// Between the two addresses of a heading.
    to: &'static str,
}

const UNICODE: Glyphs = Glyphs {
    life: '│',
    top: '┬',
    end: '┴',
    wire: '─',
    right: '▶',
    left: '◀',
    note: "↳ ",
    to: "→",
};

const ASCII: Glyphs = Glyphs {
    life: '|',
    top: '+',
    end: '+',
    wire: '-',
    right: '>',
    left: '<',
    note: "-> ",
    to: "->",
};

/// Frame number and time, as the rows' first two columns: `{:>5} {:>10} `. With the states
/// and the narrowest wire, a ladder needs 67 columns; it never gets narrower.
const GUTTER: usize = 17;
/// The longest state name, ESTABLISHED.
const STATE: usize = 11;
/// Everything on a line but the wire between the lifelines.
const FRAME: usize = GUTTER + STATE + 2 + 2 + STATE;
const MIN_WIRE: usize = 24;
/// Wider arrows only add dashes.
const MAX_WIRE: usize = 96;
/// A diagram holding more than this is written out in parts, so one long connection in a
/// file cannot keep all of its arrows in memory.
const MAX_HELD: usize = 1 << 20;

struct Diagram {
    client: Endpoint,
    server: Endpoint,
    /// Columns between the lifelines: what the width leaves once the server's address fits
    /// on its right.
    wire: usize,
    /// Lines not yet written (whole-diagram mode).
    held: String,
    /// Some lines were written before the connection ended (past [`MAX_HELD`]).
    parted: bool,
}

pub struct Ladder {
    opts: LadderOpts,
    /// Rows come before each diagram (the demo): a blank line between them.
    after_rows: bool,
    glyphs: &'static Glyphs,
    color: ColorMode,
    seq: SeqMode,
    /// `--payload`: arrows quote the segment's data.
    payload: bool,
    diagrams: HashMap<u32, Diagram>,
    /// Streaming: the connection of the last line drawn, to name it again when another
    /// connection's arrow comes between.
    last: Option<u32>,
}

impl Ladder {
    pub fn new(
        opts: LadderOpts,
        ascii: bool,
        color: ColorMode,
        seq: SeqMode,
        after_rows: bool,
        payload: bool,
    ) -> Ladder {
        Ladder {
            opts,
            after_rows,
            glyphs: if ascii { &ASCII } else { &UNICODE },
            color,
            seq,
            payload,
            diagrams: HashMap::new(),
            last: None,
        }
    }

    /// Draws one row's arrow (with its explanation, if any). Lines to write now go to `out`.
    pub fn segment(&mut self, out: &mut String, row: &Row<'_>, explain: Option<&str>) {
        let Some((tcp, info)) = row.seg else {
            return;
        };
        let Some(step) = info.step else {
            // Wireshark does not track it, so neither its connection nor its direction is known.
            return;
        };
        let mut lines = String::new();
        if !self.diagrams.contains_key(&info.stream) {
            let (Some(src), Some(dst)) = (row.src(), row.dst()) else {
                return;
            };
            let (src, dst) = (
                Endpoint {
                    addr: src,
                    port: tcp.sport,
                },
                Endpoint {
                    addr: dst,
                    port: tcp.dport,
                },
            );
            let (client, server) = match step.sender {
                Side::Client => (src, dst),
                Side::Server => (dst, src),
            };
            // The states before this first segment: where a side moved, where it came from.
            let before = |side: Side, after: EndpointState| {
                step.transitions
                    .iter()
                    .find(|t| t.side == side)
                    .map_or(after, |t| t.from)
            };
            let right = format!("server {server}").chars().count().max(STATE);
            let wire = self
                .opts
                .width
                .saturating_sub(FRAME - STATE + right)
                .clamp(MIN_WIRE, MAX_WIRE);
            let diagram = Diagram {
                client,
                server,
                wire,
                held: String::new(),
                parted: false,
            };
            self.title(&mut lines, info.stream, &diagram);
            self.line(
                &mut lines,
                "",
                before(Side::Client, step.client).name(),
                &blank(wire),
                before(Side::Server, step.server).name(),
            );
            self.diagrams.insert(info.stream, diagram);
            self.last = Some(info.stream);
        } else if self.opts.streaming && self.last != Some(info.stream) {
            if let Some(d) = self.diagrams.get(&info.stream) {
                self.title(&mut lines, info.stream, d);
            }
            self.last = Some(info.stream);
        }

        let Some(wire) = self.diagrams.get(&info.stream).map(|d| d.wire) else {
            return;
        };
        // The label: analysis tags as Info shows them, then the segment itself (flags,
        // relative numbers, length), then the named moment.
        let n = Numbers::new(tcp, info, self.seq);
        let mut tags = String::new();
        write_labels(&mut tags, &info.analysis);
        // Flags exactly as the row's Info spells them (ACE=n after AccECN, Reserved, <None>).
        let mut core = String::from("[");
        write_flags(&mut core, tcp.flags, info.ace);
        let _ = write!(core, "] Seq={}", n.seq);
        if tcp.has(flags::ACK) {
            let _ = write!(core, " Ack={}", n.ack);
        }
        let _ = write!(core, " Len={}", tcp.len);
        let mut event = step.event.map(|e| format!("({e})")).unwrap_or_default();
        // What was said rides with the event: on the arrow when it fits, else above it.
        if let Some(data) = row.payload.filter(|_| self.payload) {
            if !event.is_empty() {
                event.push(' ');
            }
            super::preview(&mut event, data);
        }

        // States beside the lifelines: a side that moved twice shows the middle state on the
        // arrow's line and the final one below it.
        let mut first = [""; 2];
        let mut second = [""; 2];
        for t in step.transitions.iter() {
            let i = t.side as usize;
            match t.via {
                Some(via) => {
                    first[i] = via.name();
                    second[i] = t.to.name();
                }
                None => first[i] = t.to.name(),
            }
        }

        let style = row.rule().and_then(|r| r.style(self.color));
        let paint = |s: String| match style {
            Some(st) => st.style(s).to_string(),
            None => s,
        };
        let rightward = step.sender == Side::Client;
        // What does not fit on the arrow goes above it, wrapped between the lifelines: first
        // the analysis tags, then the event, and only on a very narrow wire the segment too.
        let room = wire - 6;
        let width = |parts: &[&str]| parts.iter().map(|p| p.chars().count()).sum::<usize>() + 1;
        let (above, label) = if width(&[&tags, &core, &event]) <= room {
            (String::new(), join(&[tags.trim_end(), &core, &event]))
        } else if width(&[&core, &event]) <= room {
            (tags.trim_end().to_string(), join(&[&core, &event]))
        } else if core.chars().count() <= room {
            (join(&[tags.trim_end(), &event]), core)
        } else {
            (join(&[tags.trim_end(), &core, &event]), String::new())
        };
        for part in wrap(&above, wire - 2) {
            let text = format!(" {part:<width$} ", width = wire - 2);
            self.line(&mut lines, "", "", &paint(text), "");
        }
        let arrow = self.arrow(&label, rightward, wire);
        let gutter = format!("{:>5} {:>10} ", row.frame.number, row.time);
        self.line(&mut lines, &gutter, first[0], &paint(arrow), first[1]);
        if second != ["", ""] {
            self.line(&mut lines, "", second[0], &blank(wire), second[1]);
        }
        if let Some(sentence) = explain {
            let indent = self.glyphs.note.chars().count();
            for (i, part) in wrap(sentence, wire - 2 - indent).into_iter().enumerate() {
                let lead = if i == 0 { self.glyphs.note } else { "" };
                let text = format!(" {lead:<indent$}{part:<width$} ", width = wire - 2 - indent);
                self.line(&mut lines, "", "", &text, "");
            }
        }

        if self.opts.streaming {
            out.push_str(&lines);
            return;
        }
        let parted = self.diagrams.get(&info.stream).is_some_and(|d| d.parted);
        let mut heading = String::new();
        if let Some(d) = self.diagrams.get(&info.stream)
            && parted
            && d.held.is_empty()
        {
            // The next part of a diagram written in parts: name it again.
            self.title(&mut heading, info.stream, d);
        }
        if let Some(d) = self.diagrams.get_mut(&info.stream) {
            d.held.push_str(&heading);
            d.held.push_str(&lines);
            if d.held.len() > MAX_HELD {
                out.push_str(&std::mem::take(&mut d.held));
                d.parted = true;
            }
        }
    }

    /// The connection left the tracker: its diagram (whole-diagram mode) and its final states.
    pub fn close(&mut self, out: &mut String, s: &Summary) {
        let Some(d) = self.diagrams.remove(&s.stream) else {
            return;
        };
        out.push_str(&d.held);
        if self.opts.streaming && self.last != Some(s.stream) {
            self.title(out, s.stream, &d);
        }
        let end = self.glyphs.end;
        let mut wire = blank(d.wire);
        wire.insert(0, end);
        wire.push(end);
        let _ = writeln!(
            out,
            "{:GUTTER$}{:>STATE$} {wire} {}",
            "",
            s.life.client.name(),
            s.life.server.name()
        );
        out.push('\n');
        self.last = None;
    }

    /// The diagram's heading: the stream, then each lifeline's role and address (on the first
    /// line instead when the addresses would not fit beside the lifelines).
    fn title(&self, out: &mut String, stream: u32, d: &Diagram) {
        let top = self.glyphs.top;
        let (client, server) = (
            format!("client {}", d.client),
            format!("server {}", d.server),
        );
        let left = GUTTER + STATE;
        let fits = client.chars().count() <= left
            && left + 3 + d.wire + server.chars().count() <= self.opts.width;
        let (client, server) = if fits {
            let _ = writeln!(out, "tcp.stream {stream}");
            (client, server)
        } else {
            let _ = writeln!(
                out,
                "tcp.stream {stream}: {client} {} {server}",
                self.glyphs.to
            );
            ("client".into(), "server".into())
        };
        let _ = writeln!(
            out,
            "{client:>left$} {top}{:wire$}{top} {server}",
            "",
            wire = d.wire
        );
    }

    /// One line of the diagram: gutter, the client's state, lifeline, wire, lifeline, the
    /// server's state. `wire` must already be the diagram's wire wide.
    fn line(&self, out: &mut String, gutter: &str, client: &str, wire: &str, server: &str) {
        let life = self.glyphs.life;
        let _ = write!(out, "{gutter:GUTTER$}{client:>STATE$} {life}{wire}{life}");
        if !server.is_empty() {
            let _ = write!(out, " {server}");
        }
        out.push('\n');
    }

    /// `────── label ─────▶` (or from the right, `◀─ …`), `wire` columns wide.
    fn arrow(&self, label: &str, rightward: bool, wire: usize) -> String {
        let g = self.glyphs;
        let len = label.chars().count();
        let body = wire - 1;
        let mut s = String::with_capacity(wire * 3);
        if !rightward {
            s.push(g.left);
        }
        if len == 0 {
            s.extend(std::iter::repeat_n(g.wire, body));
        } else {
            let dashes = body - len - 2;
            let before = dashes / 2;
            s.extend(std::iter::repeat_n(g.wire, before));
            s.push(' ');
            s.push_str(label);
            s.push(' ');
            s.extend(std::iter::repeat_n(g.wire, dashes - before));
        }
        if rightward {
            s.push(g.right);
        }
        s
    }
}

/// The non-empty parts, separated by spaces.
fn join(parts: &[&str]) -> String {
    let kept: Vec<&str> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
    kept.join(" ")
}

fn blank(width: usize) -> String {
    " ".repeat(width)
}

/// Greedy word wrap; a word longer than the width is cut.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut count = 0;
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        if count > 0 && count + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
            count = 0;
        }
        while word.len() > width {
            let rest = word.split_off(width);
            lines.push(word.into_iter().collect());
            word = rest;
        }
        if count > 0 {
            line.push(' ');
            count += 1;
        }
        count += word.len();
        line.extend(word);
    }
    if count > 0 {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("ab cd ef", 5), ["ab cd", "ef"]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("", 3), Vec::<String>::new());
    }
}
