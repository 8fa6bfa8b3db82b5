//! The connection table printed after the rows (or alone, `--summary`): one line per
//! connection, in stream order.

use std::io::Write;

use anyhow::Result;

use super::{End, RelTime, Sink, push, span};
use crate::flow::Summary;
use crate::source::Timestamp;

/// Connections listed in the text table at the end; beyond, they are counted, not listed.
pub(crate) const MAX_LISTED: usize = 100_000;
/// The table's lines are kept in text chunks of this size rather than one String: doubling
/// one buffer of 32k lines left the smaller copies behind in the heap.
const CHUNK: usize = 64 << 10;
/// Full chunks kept as text; those before them are compressed (LZ4). A run that keeps many
/// lines — connections that left during the read: a long capture, a flood's evictions — kept
/// 22 MiB of lines for the table's 100,000; compressed, ~2 MiB. The last chunks stay text, so
/// a table of a few thousand lines costs nothing more.
const TEXT_CHUNKS: usize = 16;

/// A chunk of kept lines: text, or LZ4-compressed text of `len` bytes.
enum Chunk {
    Text(String),
    Packed { lz4: Box<[u8]>, len: usize },
}

impl Chunk {
    fn pack(&mut self) {
        if let Chunk::Text(text) = self {
            let lz4 = crate::lz4::compress(text.as_bytes());
            *self = Chunk::Packed {
                lz4,
                len: text.len(),
            };
        }
    }
}

/// Where one connection's line of the text table is kept.
struct TableLine {
    stream: u32,
    chunk: u32,
    start: u32,
    end: u32,
}

/// Reads kept lines back, the compressed chunk last read kept unpacked: lines are read in
/// stream order, and connections mostly left in stream order, so a chunk is mostly unpacked
/// once.
struct Lines<'a> {
    chunks: &'a [Chunk],
    unpacked: Option<(u32, Vec<u8>)>,
}

impl Lines<'_> {
    fn text(&mut self, line: &TableLine) -> Result<&[u8]> {
        let range = line.start as usize..line.end as usize;
        match &self.chunks[line.chunk as usize] {
            Chunk::Text(text) => Ok(&text.as_bytes()[range]),
            Chunk::Packed { lz4, len } => {
                if self.unpacked.as_ref().is_none_or(|(i, _)| *i != line.chunk) {
                    let text = lz4_flex::block::decompress(lz4, *len)
                        .map_err(|e| anyhow::anyhow!("internal error: a kept line: {e}"))?;
                    self.unpacked = Some((line.chunk, text));
                }
                let (_, text) = self.unpacked.as_ref().expect("unpacked just above");
                Ok(&text[range])
            }
        }
    }
}

/// The summary table sink. Each line is written as its connection leaves the tracker (its
/// summary is then still in cache; formatting them all at the end read 32k cold summaries
/// back), kept, and printed in stream order at the end of the read.
pub struct Table {
    /// A blank line before the table (after rows).
    blank: bool,
    chunks: Vec<Chunk>,
    lines: Vec<TableLine>,
    unlisted: u64,
    line: String,
}

impl Table {
    pub fn new(blank: bool) -> Table {
        Table {
            blank,
            chunks: Vec::new(),
            lines: Vec::new(),
            unlisted: 0,
            line: String::new(),
        }
    }
}

impl Sink for Table {
    fn per_frame(&self) -> bool {
        false
    }

    fn shows_connections(&self) -> bool {
        true
    }

    fn streams_left(&self) -> bool {
        true
    }

    fn connection(
        &mut self,
        _out: &mut String,
        s: &Summary,
        first: Option<Timestamp>,
    ) -> Result<()> {
        if self.lines.len() >= MAX_LISTED {
            self.unlisted += 1;
            return Ok(());
        }
        self.line.clear();
        summary_line(&mut self.line, s, first);
        let fits = matches!(self.chunks.last(),
            Some(Chunk::Text(chunk)) if chunk.len() + self.line.len() <= chunk.capacity());
        if !fits {
            if let Some(full) = self.chunks.len().checked_sub(TEXT_CHUNKS) {
                self.chunks[full].pack();
            }
            let chunk = String::with_capacity(CHUNK.max(self.line.len()));
            self.chunks.push(Chunk::Text(chunk));
        }
        let index = self.chunks.len() - 1;
        let Some(Chunk::Text(chunk)) = self.chunks.last_mut() else {
            unreachable!("the last chunk is text: pushed above, or it fits");
        };
        let start = chunk.len();
        chunk.push_str(&self.line);
        self.lines.push(TableLine {
            stream: s.stream,
            chunk: index as u32,
            start: start as u32,
            end: chunk.len() as u32,
        });
        Ok(())
    }

    /// The table, then the eviction count. The connections left come last from the tracker,
    /// by stream: when given here, their lines are written as they are summarized, merged by
    /// stream with the lines kept, instead of being kept too (32k lines, 8 MiB, beside the
    /// connections they come from).
    fn finish(&mut self, out: &mut dyn Write, end: &mut End<'_>) -> Result<()> {
        let mut none = std::iter::empty::<Summary>();
        let left: &mut dyn ExactSizeIterator<Item = Summary> = match end.left.take() {
            Some(left) => left,
            None => &mut none,
        };
        let listed_left = left.len().min(MAX_LISTED.saturating_sub(self.lines.len()));
        self.unlisted += (left.len() - listed_left) as u64;
        // Nearly sorted already: connections left the table mostly in stream order.
        self.lines.sort_unstable_by_key(|l| l.stream);
        self.line.clear();
        if !self.lines.is_empty() || listed_left > 0 {
            if self.blank {
                self.line.push('\n');
            }
            self.line.push_str("Connections: ");
            push::int(
                &mut self.line,
                (self.lines.len() + listed_left) as u64 + self.unlisted,
            );
            self.line.push('\n');
        }
        out.write_all(self.line.as_bytes())?;
        let mut kept = self.lines.iter().peekable();
        let mut lines = Lines {
            chunks: &self.chunks,
            unpacked: None,
        };
        for summary in left.take(listed_left) {
            while let Some(l) = kept.next_if(|l| l.stream < summary.stream) {
                out.write_all(lines.text(l)?)?;
            }
            self.line.clear();
            summary_line(&mut self.line, &summary, end.first);
            out.write_all(self.line.as_bytes())?;
        }
        for l in kept {
            out.write_all(lines.text(l)?)?;
        }
        if self.unlisted > 0 {
            writeln!(out, "  … {} more not listed", self.unlisted)?;
        }
        if end.evicted > 0 {
            writeln!(
                out,
                "  {} connections evicted before they ended (table full: raise --max-flows)",
                end.evicted
            )?;
        }
        Ok(())
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
    // tcp.analysis.ack_rtt over the connection, per side whose data was acknowledged.
    for (side, rtt) in ["client", "server"].iter().zip(&s.ack_rtt) {
        if let Some(avg) = rtt.avg() {
            out.push_str(" · ack_rtt ");
            out.push_str(side);
            out.push(' ');
            for (k, v) in [rtt.min, avg, rtt.max].into_iter().enumerate() {
                if k > 0 {
                    out.push('/');
                }
                push::time(
                    out,
                    RelTime {
                        nanos: v.into(),
                        digits: start.digits,
                    },
                );
            }
            out.push_str(" s");
        }
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
