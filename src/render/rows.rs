//! Text rows: tshark's default columns, Wireshark's colors, and tcplens's annotation; with
//! `--explain`, each row's sentence on the line under it.

use std::fmt::Write as _;

use anyhow::Result;

use super::color::ColorMode;
use super::{Row, Sink, View, push};
use crate::cli::{Output, SeqMode};
use crate::decode::flags;

/// The text rows sink.
pub struct Rows {
    seq: SeqMode,
    /// `--payload`: the segment's data, quoted, in the annotation.
    payload: bool,
    color: ColorMode,
    ascii: bool,
    /// Reused per row when it is painted.
    plain: String,
}

impl Rows {
    pub fn new(opts: Output) -> Rows {
        Rows {
            seq: opts.seq,
            payload: opts.payload,
            color: opts.color,
            ascii: opts.ascii,
            plain: String::new(),
        }
    }
}

impl Sink for Rows {
    fn rows(&self) -> bool {
        true
    }

    fn packet(&mut self, out: &mut String, frame: &View<'_>) -> Result<()> {
        let Some(row) = frame.row else {
            return Ok(());
        };
        // The rule is only worth finding when it will be painted.
        let style = (self.color != ColorMode::Off)
            .then(|| row.rule())
            .flatten()
            .and_then(|r| r.style(self.color));
        match style {
            Some(style) => {
                self.plain.clear();
                text_row(&mut self.plain, row, self.seq, self.payload);
                let _ = write!(out, "{}", style.style(&self.plain));
            }
            None => text_row(out, row, self.seq, self.payload),
        }
        if let Some(note) = frame.note {
            out.push_str(if self.ascii {
                "\n      -> "
            } else {
                "\n      ↳ "
            });
            out.push_str(note);
        }
        out.push('\n');
        Ok(())
    }
}

/// A row as `tcplens read --color never` prints it, without its newline (the interactive
/// view's packet list).
pub fn plain_row(out: &mut String, row: &Row<'_>) {
    text_row(out, row, SeqMode::Relative, false);
}

/// tshark's default row: No. (right, 5), Time (right, 10), Source (right, 12) → Destination
/// (left, 12), Protocol, Length, Info; then tcplens's annotation after a bar.
fn text_row(out: &mut String, row: &Row<'_>, seq: SeqMode, payload: bool) {
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
    annotation(out, row, seq, payload);
}

/// tcplens's own column: stream, the raw ISN on SYNs (the articles' "Sequence Number (raw)"),
/// raw numbers under `--seq both`, and where decoding stopped.
fn annotation(out: &mut String, row: &Row<'_>, seq: SeqMode, payload: bool) {
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
    if let Some(data) = row.payload.filter(|_| payload) {
        sep(out);
        super::preview(out, data);
    }
    if let Some(stop) = &row.decoded.stop {
        sep(out);
        let _ = write!(out, "stopped at {}: {}", stop.layer, stop.reason);
    }
}
