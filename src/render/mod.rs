//! Outputs: each view of the capture is a [`Sink`] of one event stream — a displayed frame,
//! a connection that ended, the end of input — and [`Outputs`] drives every sink chosen for
//! a run with the same events, in order (ripgrep's Sink/printer split, ../shared/style.md).
//! Sinks write; they never decide anything about TCP: what they show is the tracker's
//! verdict as the field table and `TcpInfo` carry it.

pub mod color;
pub mod explain;
pub mod fields;
pub mod follow;
pub mod graph;
pub mod info;
pub mod json;
pub mod ladder;
pub mod plot;
pub mod progress;
pub mod push;
pub mod rows;
pub mod stats;
pub mod summary;
pub mod zeek;

use std::io::Write;
use std::sync::Arc;

use anyhow::Result;

use crate::cli::{Output, SeqMode, SummaryMode};
use crate::decode::{Decoded, Payload, Tcp, flags};
use crate::dfilter::DisplayFilter;
use crate::fields::Packet;
use crate::flow::{Summary, TcpInfo};
use crate::source::write::FileHeader;
use crate::source::{Captured, Frame, Timestamp};
use color::Rule;
use explain::Explainer;
use fields::FieldsFormat;

/// One view of the capture: rows, JSON records, ladders, the summary table, field lines, a
/// capture file. Every method has a default that ignores the event, so a sink implements
/// only what it shows.
pub trait Sink: Send {
    /// Whether it shows frames as rows (Info, time, addresses): [`Outputs`] then formats each
    /// displayed frame's row once, for every sink that asks.
    fn rows(&self) -> bool {
        false
    }

    /// Whether it writes anything per displayed frame. When no sink does, a run without a
    /// display filter does not build the frames' events at all (`--summary`).
    fn per_frame(&self) -> bool {
        true
    }

    /// A displayed frame. Text for stdout is appended to `out`.
    fn packet(&mut self, _out: &mut String, _frame: &View<'_>) -> Result<()> {
        Ok(())
    }

    /// Whether it shows connections when they end ([`Sink::connection`]).
    fn shows_connections(&self) -> bool {
        false
    }

    /// A connection that left the tracker (closed and waited out, idle, evicted, or still
    /// there at the end of input), if the run shows it. `first`: the capture's first frame.
    fn connection(
        &mut self,
        _out: &mut String,
        _s: &Summary,
        _first: Option<Timestamp>,
    ) -> Result<()> {
        Ok(())
    }

    /// A header block of the input (pcap header, pcapng section or interface), before the
    /// frames it describes: a capture file copies it.
    fn header(&mut self, _header: &FileHeader) -> Result<()> {
        Ok(())
    }

    /// Every frame of a batch has been given: a file is flushed here.
    fn batch_end(&mut self) -> Result<()> {
        Ok(())
    }

    /// Whether it can take the connections left at the end of input in [`End::left`],
    /// writing each as it comes rather than keeping it first.
    fn streams_left(&self) -> bool {
        false
    }

    /// End of input; written straight to `out`, as it may be long (the summary table).
    fn finish(&mut self, _out: &mut dyn Write, _end: &mut End<'_>) -> Result<()> {
        Ok(())
    }
}

/// A sink that takes nothing: a run whose outputs are all the configured ones.
pub struct NoSink;

impl Sink for NoSink {
    fn per_frame(&self) -> bool {
        false
    }
}

/// A sink lent to a run (the caller finishes it afterwards: a `-w` file).
impl<S: Sink> Sink for &mut S {
    fn rows(&self) -> bool {
        (**self).rows()
    }
    fn per_frame(&self) -> bool {
        (**self).per_frame()
    }
    fn packet(&mut self, out: &mut String, frame: &View<'_>) -> Result<()> {
        (**self).packet(out, frame)
    }
    fn shows_connections(&self) -> bool {
        (**self).shows_connections()
    }
    fn connection(
        &mut self,
        out: &mut String,
        s: &Summary,
        first: Option<Timestamp>,
    ) -> Result<()> {
        (**self).connection(out, s, first)
    }
    fn header(&mut self, header: &FileHeader) -> Result<()> {
        (**self).header(header)
    }
    fn batch_end(&mut self) -> Result<()> {
        (**self).batch_end()
    }
    fn streams_left(&self) -> bool {
        (**self).streams_left()
    }
    fn finish(&mut self, out: &mut dyn Write, end: &mut End<'_>) -> Result<()> {
        (**self).finish(out, end)
    }
}

/// An unnamed temporary file for what would not fit in memory (a stream's text waiting its
/// turn, the interactive view's frames): in `$TMPDIR` when set, else in /var/tmp, which the
/// FHS keeps on disk (Debian 13 mounts /tmp as tmpfs, that is, in memory).
pub fn spill_file() -> std::io::Result<std::fs::File> {
    tempfile::tempfile_in(spill_dir())
}

/// Where [`spill_file`] puts its files.
pub fn spill_dir() -> std::path::PathBuf {
    match std::env::var_os("TMPDIR") {
        Some(d) if !d.is_empty() => std::path::PathBuf::from(d),
        _ if std::path::Path::new("/var/tmp").is_dir() => "/var/tmp".into(),
        _ => std::env::temp_dir(),
    }
}

/// One frame's row as `read` prints it (plain, into `row`) and, with an explainer, its
/// sentence (into `note`), made on demand: the interactive view builds only the rows on
/// screen, from frames it reads back. Returns the Wireshark coloring rule of the row.
pub fn describe(
    packet: &Packet<'_>,
    seq: SeqMode,
    explainer: Option<&Explainer>,
    row: &mut String,
    note: &mut String,
) -> Option<Rule> {
    let mut info = String::new();
    let made = RowParts::new(packet, &mut info, seq).with_info(&info);
    rows::plain_row(row, &made);
    if let Some(explainer) = explainer {
        explainer.sentence(note, &made);
    }
    made.rule()
}

/// One displayed frame as every sink sees it.
pub struct View<'a> {
    /// The frame with its fields and the tracker's verdict.
    pub packet: &'a Packet<'a>,
    /// Its record and bytes, when the source kept them (`-w`).
    pub captured: Option<Captured<'a>>,
    /// Its row, formatted once when a sink shows rows.
    pub row: Option<&'a Row<'a>>,
    /// `--explain`'s sentence.
    pub note: Option<&'a str>,
}

/// The end of input, as sinks see it.
pub struct End<'a> {
    /// The connections still in the tracker, by stream, when this sink streams them
    /// ([`Sink::streams_left`]), is the only one that shows connections and every one is
    /// shown: it writes them as they come instead of keeping them (the summary table of 32k
    /// connections). Otherwise they have been given to [`Sink::connection`] already.
    pub left: Option<&'a mut dyn ExactSizeIterator<Item = Summary>>,
    /// Connections evicted before they ended (`--max-flows`).
    pub evicted: u64,
    /// The capture's first frame.
    pub first: Option<Timestamp>,
    /// The latest frame time read, displayed or not, in ns since the epoch.
    pub latest: Option<i128>,
}

/// The sinks of one run, driven event by event. It owns what every sink shares: the
/// capture's start, each frame's row and explanation (made once), which connections had a
/// displayed frame, and the writer they all write to.
pub struct Outputs<'s, W: Write> {
    out: W,
    sinks: Vec<Box<dyn Sink + 's>>,
    first: Option<Timestamp>,
    /// The current batch's text: sinks append to it, and it is written once the batch is
    /// done ([`Outputs::batch_end`]). Reused: no allocation per packet once warmed up.
    text: String,
    info: String,
    note: String,
    seq: SeqMode,
    explainer: Option<Explainer>,
    /// Some sink shows rows / writes per frame.
    rows: bool,
    per_frame: bool,
    /// A display filter selects frames: connections are shown when they had a displayed
    /// frame, one bit per stream.
    filtered: bool,
    matched: Vec<u64>,
    /// `--summary` with a filter of connection fields only: it selects connections itself.
    verdict: Option<Arc<DisplayFilter>>,
    /// A progress bar on stderr, cleared before the end of input is written.
    progress: Option<progress::Progress>,
    /// The latest frame time read, displayed or not ([`End::latest`]).
    latest: Option<i128>,
}

impl<'s, W: Write> Outputs<'s, W> {
    /// The sinks `opts` asks for: `-T fields` lines alone, or rows or JSON records, ladders,
    /// and the summary (a table, or JSON connection records).
    pub fn new(opts: Output, out: W, fields: Option<Arc<FieldsFormat>>) -> Outputs<'s, W> {
        let mut sinks: Vec<Box<dyn Sink + 's>> = Vec::new();
        if let Some(format) = fields {
            sinks.push(Box::new(fields::FieldLines::new(format)));
        } else if let Some(format) = opts.zeek {
            sinks.push(Box::new(zeek::ZeekLog::new(format)));
        } else {
            let summary = opts.summary != SummaryMode::Off;
            if opts.json {
                sinks.push(Box::new(json::JsonRecords::new(opts.rows, summary)));
            } else if opts.rows {
                sinks.push(Box::new(rows::Rows::new(opts)));
            }
            if let Some(l) = opts.ladder {
                sinks.push(Box::new(ladder::Ladder::new(
                    l,
                    opts.ascii,
                    opts.color,
                    opts.seq,
                    opts.rows,
                    opts.payload,
                )));
            }
            if summary && !opts.json {
                // After rows, a blank line; diagrams end with one of their own.
                let blank = opts.rows && opts.ladder.is_none();
                sinks.push(Box::new(summary::Table::new(blank)));
            }
        }
        let mut outputs = Outputs {
            out,
            sinks: Vec::new(),
            first: None,
            text: String::new(),
            info: String::new(),
            note: String::new(),
            seq: opts.seq,
            explainer: opts.explain.then(|| Explainer::new(opts.msl, opts.ascii)),
            rows: false,
            per_frame: false,
            filtered: opts.filtered,
            matched: Vec::new(),
            verdict: None,
            progress: None,
            latest: None,
        };
        for sink in sinks {
            outputs = outputs.sink(sink);
        }
        outputs
    }

    /// One more sink, after those already there (a capture file goes first: `-w`).
    pub fn sink(mut self, sink: Box<dyn Sink + 's>) -> Outputs<'s, W> {
        self.rows |= sink.rows();
        self.per_frame |= sink.per_frame();
        self.sinks.push(sink);
        self
    }

    /// A sink that takes each frame before the others (`-w`: the file holds the frame of
    /// every row printed after it).
    pub fn first_sink(mut self, sink: Box<dyn Sink + 's>) -> Outputs<'s, W> {
        self = self.sink(sink);
        self.sinks.rotate_right(1);
        self
    }

    /// Keeps the read's progress bar, to clear it before the end of input.
    pub fn progress(mut self, progress: progress::Progress) -> Outputs<'s, W> {
        self.progress = Some(progress);
        self
    }

    /// With `--summary`, a filter of connection fields only selects summary lines by itself.
    pub fn connection_filter(mut self, filter: Option<Arc<DisplayFilter>>) -> Outputs<'s, W> {
        self.verdict = filter;
        self
    }

    /// Whether any sink writes per displayed frame (rows, JSON records, ladder arrows, field
    /// lines, a capture file) beyond noting the first frame and the connections displayed.
    pub fn per_frame(&self) -> bool {
        self.per_frame
    }

    /// Hands everything written so far to the output (live capture, when no packet waits).
    pub fn flush(&mut self) -> Result<()> {
        self.write_text()?;
        self.out.flush()?;
        Ok(())
    }

    /// Whether a connection is shown: all of them without a filter; with one, those with a
    /// displayed frame, or those whose verdict the filter selects.
    fn shows(&self, summary: &Summary) -> bool {
        if let Some(filter) = &self.verdict {
            return filter.matches(&Packet::of_connection(summary));
        }
        !self.filtered
            || self
                .matched
                .get(summary.stream as usize / 64)
                .is_some_and(|w| w & (1 << (summary.stream % 64)) != 0)
    }

    /// A displayed frame (the display filter, if any, selected it).
    pub fn packet(&mut self, packet: &Packet<'_>, captured: Option<Captured<'_>>) -> Result<()> {
        let (frame, tcp) = (packet.frame, packet.tcp);
        if self.first.is_none() {
            // The file's first frame, which need not be displayed: times count from it.
            let ns = frame.ts.as_nanos() - i128::from(packet.times.relative);
            self.first = Some(Timestamp {
                secs: ns.div_euclid(1_000_000_000) as i64,
                nanos: ns.rem_euclid(1_000_000_000) as u32,
                digits: frame.ts.digits,
            });
        }
        if self.filtered
            && let Some(t) = tcp
        {
            let (word, bit) = (t.stream as usize / 64, t.stream % 64);
            if self.matched.len() <= word {
                self.matched.resize(word + 1, 0);
            }
            self.matched[word] |= 1 << bit;
        }
        if !self.per_frame {
            return Ok(());
        }
        self.info.clear();
        let parts = (self.rows).then(|| RowParts::new(packet, &mut self.info, self.seq));
        let row = parts.map(|p| p.with_info(&self.info));
        let note = match (&self.explainer, &row) {
            (Some(explainer), Some(row)) => {
                self.note.clear();
                explainer.sentence(&mut self.note, row);
                Some(self.note.as_str())
            }
            _ => None,
        };
        let view = View {
            packet,
            captured,
            row: row.as_ref(),
            note,
        };
        for sink in &mut self.sinks {
            sink.packet(&mut self.text, &view)?;
        }
        Ok(())
    }

    /// A connection left the tracker.
    pub fn connection(&mut self, summary: &Summary) -> Result<()> {
        if !self.shows(summary) {
            return Ok(());
        }
        for sink in &mut self.sinks {
            sink.connection(&mut self.text, summary, self.first)?;
        }
        Ok(())
    }

    /// The latest frame time read so far, displayed or not (after each batch).
    pub fn latest(&mut self, latest: Option<i128>) {
        self.latest = latest.max(self.latest);
    }

    /// A header block of the input.
    pub fn header(&mut self, header: &FileHeader) -> Result<()> {
        for sink in &mut self.sinks {
            sink.header(header)?;
        }
        Ok(())
    }

    /// Every frame of a batch has been given: the sinks finish the batch (a `-w` file is
    /// flushed), then the batch's text goes out. A file that cannot be written stops the run
    /// before the rows of frames it does not hold are printed.
    pub fn batch_end(&mut self) -> Result<()> {
        for sink in &mut self.sinks {
            sink.batch_end()?;
        }
        self.write_text()
    }

    fn write_text(&mut self) -> Result<()> {
        self.out.write_all(self.text.as_bytes())?;
        self.text.clear();
        Ok(())
    }

    /// End of input: `left` are the connections still in the tracker, by stream. Then flush.
    pub fn finish(
        &mut self,
        left: impl ExactSizeIterator<Item = Summary>,
        evicted: u64,
    ) -> Result<()> {
        self.progress = None;
        self.write_text()?;
        let mut left = left;
        let mut showing = self.sinks.iter().filter(|s| s.shows_connections());
        // The common case: one sink shows connections and nothing filters them, so it may
        // take the connections left as they are summarized rather than keep each first.
        let stream_left = showing.next().is_some_and(|s| s.streams_left())
            && showing.next().is_none()
            && !self.filtered
            && self.verdict.is_none();
        if !stream_left {
            for summary in left.by_ref() {
                self.connection(&summary)?;
                if self.text.len() >= 1 << 16 {
                    self.write_text()?;
                }
            }
            self.write_text()?;
        }
        for sink in &mut self.sinks {
            let mut end = End {
                left: (stream_left && sink.streams_left())
                    .then_some(&mut left as &mut dyn ExactSizeIterator<Item = Summary>),
                evicted,
                first: self.first,
                latest: self.latest,
            };
            sink.finish(&mut self.out, &mut end)?;
        }
        self.out.flush()?;
        Ok(())
    }
}

/// Everything a row-shaped output needs about one frame.
pub struct Row<'a> {
    pub frame: &'a Frame,
    pub decoded: &'a Decoded,
    pub seg: Option<(&'a Tcp, &'a TcpInfo)>,
    /// The segment's captured payload, when the source kept the frame's bytes (`--payload`).
    pub payload: Option<&'a [u8]>,
    pub protocol: &'static str,
    pub info: &'a str,
    /// Seconds since the first frame, at the file's precision.
    pub time: RelTime,
}

/// A row without its Info text, which is being written into the shared buffer.
struct RowParts<'a> {
    frame: &'a Frame,
    decoded: &'a Decoded,
    seg: Option<(&'a Tcp, &'a TcpInfo)>,
    payload: Option<&'a [u8]>,
    protocol: &'static str,
    time: RelTime,
}

impl<'a> RowParts<'a> {
    /// Formats the frame's Info into `info`.
    fn new(packet: &Packet<'a>, info: &mut String, seq: SeqMode) -> RowParts<'a> {
        let decoded = packet.frame.decoded();
        let seg = match (&decoded.payload, packet.tcp) {
            (Payload::Tcp(t), Some(i)) => Some((t, i)),
            _ => None,
        };
        let protocol = match seg {
            Some((t, i)) => {
                info::tcp_info(info, t, i, seq);
                "TCP"
            }
            None => info::other_info(info, decoded),
        };
        // A RST's data is its diagnostic text, not stream data (RFC 9293 §3.5.3).
        let payload = seg
            .filter(|(t, _)| !t.has(crate::decode::flags::RST))
            .and_then(|(t, _)| packet.tcp_payload(t))
            .filter(|p| !p.is_empty());
        RowParts {
            frame: packet.frame,
            decoded,
            seg,
            payload,
            protocol,
            time: RelTime {
                nanos: packet.times.relative.into(),
                digits: packet.frame.ts.digits,
            },
        }
    }

    fn with_info<'b>(self, info: &'b str) -> Row<'b>
    where
        'a: 'b,
    {
        Row {
            frame: self.frame,
            decoded: self.decoded,
            seg: self.seg,
            payload: self.payload,
            protocol: self.protocol,
            info,
            time: self.time,
        }
    }
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

/// What a segment said, for `--payload`: at most [`PREVIEW`] bytes in double quotes, escaped
/// as a C string would be (`\r`, `\n`, `\t`, `\\`, `\"`, other non-printables `\xNN`), `...`
/// after the quote when there was more.
pub fn preview(out: &mut String, data: &[u8]) {
    out.push('"');
    for &b in data.iter().take(PREVIEW) {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(b as char),
            _ => {
                use std::fmt::Write;
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    if data.len() > PREVIEW {
        out.push_str("...");
    }
}

/// Bytes of a segment's data a preview shows.
pub const PREVIEW: usize = 40;
