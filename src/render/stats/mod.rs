//! `tcplens stats`: the overview tables of `tshark -q -z` — TCP conversations (`conv,tcp`),
//! TCP endpoints (`endpoints,tcp`), expert infos (`expert`) and frames per interval
//! (`io,stat,INTERVAL`) — as one sink of the event stream (docs/stats.md).
//!
//! Each table takes the displayed frames (`-Y` selects them, as the filter argument of
//! tshark's `-z` does) and what the tracker said of them: `tcp.stream`, the analysis labels,
//! the segment's place in its connection. Nothing is decoded or analysed again here; the
//! tables count what the frames and the tracker's verdicts say, and sort as TShark 4.0 sorts.

pub mod conv;
pub mod endpoints;
pub mod expert;
pub mod io;

use std::io::Write;
use std::str::FromStr;

use anyhow::Result;

use super::{End, Sink, View};

/// Which table `tcplens stats` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableKind {
    /// `-z conv,tcp`.
    Conv,
    /// `-z endpoints,tcp`.
    Endpoints,
    /// `-z expert`.
    Expert,
    /// `-z io,stat,INTERVAL`.
    Io(io::Interval),
}

impl FromStr for TableKind {
    type Err = String;

    /// `conv`, `endpoints`, `expert`, `io` or `io,INTERVAL` (seconds; 0: the whole capture);
    /// tshark's spellings too (`conv,tcp`, `endpoints,tcp`, `io,stat,INTERVAL`), for fingers
    /// used to `-z`.
    fn from_str(s: &str) -> Result<TableKind, String> {
        match s {
            "conv" | "conv,tcp" => Ok(TableKind::Conv),
            "endpoints" | "endpoints,tcp" => Ok(TableKind::Endpoints),
            "expert" => Ok(TableKind::Expert),
            "io" | "io,stat" => Ok(TableKind::Io(io::Interval::Auto)),
            _ => match s.strip_prefix("io,stat,").or_else(|| s.strip_prefix("io,")) {
                Some(secs) => io::Interval::parse(secs).map(TableKind::Io),
                None => Err(format!(
                    "unknown table '{s}': expected conv, endpoints, expert, io or io,INTERVAL"
                )),
            },
        }
    }
}

/// How the table is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsFormat {
    /// Aligned columns for a terminal; `bars`: io's frame bars (stdout is a terminal).
    Text { bars: bool },
    /// JSON Lines: one record per row (docs/stats.md).
    Json,
}

/// The one table a run computes.
enum Tally {
    Conv(conv::Conversations),
    Endpoints(endpoints::Endpoints),
    Expert(expert::Expert),
    Io(io::IoStat),
}

/// The `tcplens stats` sink.
pub struct Stats {
    tally: Tally,
    format: StatsFormat,
    /// The display filter's text, shown in the table's heading as tshark shows `Filter:`.
    filter: Option<String>,
}

impl Stats {
    pub fn new(kind: TableKind, format: StatsFormat, filter: Option<String>) -> Stats {
        let tally = match kind {
            TableKind::Conv => Tally::Conv(conv::Conversations::default()),
            TableKind::Endpoints => Tally::Endpoints(endpoints::Endpoints::default()),
            TableKind::Expert => Tally::Expert(expert::Expert::default()),
            TableKind::Io(interval) => Tally::Io(io::IoStat::new(interval)),
        };
        Stats {
            tally,
            format,
            filter,
        }
    }

    /// The finished table as text or JSON Lines.
    pub fn render(&self, out: &mut String) {
        let filter = self.filter.as_deref();
        match (&self.tally, self.format) {
            (Tally::Conv(c), StatsFormat::Text { .. }) => c.text(out, filter),
            (Tally::Conv(c), StatsFormat::Json) => c.json(out),
            (Tally::Endpoints(e), StatsFormat::Text { .. }) => e.text(out, filter),
            (Tally::Endpoints(e), StatsFormat::Json) => e.json(out),
            (Tally::Expert(e), StatsFormat::Text { .. }) => e.text(out, filter),
            (Tally::Expert(e), StatsFormat::Json) => e.json(out),
            (Tally::Io(i), StatsFormat::Text { bars }) => i.text(out, filter, bars),
            (Tally::Io(i), StatsFormat::Json) => i.json(out),
        }
    }
}

impl Sink for Stats {
    fn packet(&mut self, _out: &mut String, frame: &View<'_>) -> Result<()> {
        let p = frame.packet;
        match &mut self.tally {
            Tally::Conv(c) => c.packet(p),
            Tally::Endpoints(e) => e.packet(p),
            Tally::Expert(e) => e.packet(p),
            Tally::Io(i) => i.packet(p),
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, end: &mut End<'_>) -> Result<()> {
        if let Tally::Io(io) = &mut self.tally {
            io.span(end.first.map(|f| f.as_nanos()), end.latest)?;
        }
        let mut text = String::new();
        self.render(&mut text);
        out.write_all(text.as_bytes())?;
        Ok(())
    }
}

/// How a column's cells line up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table of text cells laid out in aligned columns, two spaces apart: each column as wide
/// as its widest cell or heading (tshark pads to fixed widths, which long IPv6 endpoints
/// overflow; here every row lines up whatever the addresses). Cells are kept in one text
/// arena, not a String each: 32k conversations are 350k cells.
pub struct Grid {
    columns: Vec<(&'static str, Align)>,
    widths: Vec<usize>,
    text: String,
    /// Where each cell ends in `text`, row after row.
    ends: Vec<u32>,
}

impl Grid {
    pub fn new(columns: &[(&'static str, Align)]) -> Grid {
        Grid {
            columns: columns.to_vec(),
            widths: columns.iter().map(|(h, _)| h.chars().count()).collect(),
            text: String::new(),
            ends: Vec::new(),
        }
    }

    /// The next cell, written by `write` into the arena (rows fill left to right).
    pub fn cell(&mut self, write: impl FnOnce(&mut String)) {
        let start = self.text.len();
        write(&mut self.text);
        let column = self.ends.len() % self.columns.len();
        let added = &self.text[start..];
        let width = if added.is_ascii() {
            added.len()
        } else {
            added.chars().count()
        };
        self.widths[column] = self.widths[column].max(width);
        self.ends.push(self.text.len() as u32);
    }

    /// A cell of text.
    pub fn text(&mut self, s: &str) {
        self.cell(|out| out.push_str(s));
    }

    /// A cell of an integer.
    pub fn int<I: itoa::Integer>(&mut self, n: I) {
        self.cell(|out| super::push::int(out, n));
    }

    pub fn write(&self, out: &mut String) {
        let n = self.columns.len();
        let mut line = |cells: &mut dyn Iterator<Item = &str>| {
            let start = out.len();
            for (i, cell) in cells.enumerate() {
                if i > 0 {
                    out.push_str("  ");
                }
                match self.columns[i].1 {
                    Align::Left => super::push::left(out, cell, self.widths[i]),
                    Align::Right => super::push::right(out, cell, self.widths[i]),
                }
            }
            let end = out.trim_end_matches(' ').len().max(start);
            out.truncate(end);
            out.push('\n');
        };
        line(&mut self.columns.iter().map(|(h, _)| *h));
        let mut start = 0;
        for row in self.ends.chunks(n) {
            let mut cells = row.iter().map(|&end| {
                let cell = &self.text[start..end as usize];
                start = end as usize;
                cell
            });
            line(&mut cells);
        }
    }
}

/// The heading line of a text table: its title, and the display filter when one is given.
fn heading(out: &mut String, title: &str, filter: Option<&str>) {
    out.push_str(title);
    if let Some(f) = filter {
        out.push_str(" (filter: ");
        out.push_str(f);
        out.push(')');
    }
    out.push('\n');
}

/// Seconds with a fixed number of decimals (at most 9), from nanoseconds, rounded half away
/// from zero as tshark's printf `%.Nf` rounds them (from a double: an exact tie of
/// nanoseconds may round the other way there, the tests allow for it).
pub fn secs(nanos: i128, decimals: usize) -> String {
    let mut out = String::new();
    push_secs(&mut out, nanos, decimals);
    out
}

/// [`secs`], appended.
pub fn push_secs(out: &mut String, nanos: i128, decimals: usize) {
    let decimals = decimals.min(9);
    let unit = 10u128.pow(9 - decimals as u32);
    let abs = nanos.unsigned_abs();
    let rounded = (abs + unit / 2) / unit;
    let scale = 10u128.pow(decimals as u32);
    if nanos < 0 && rounded > 0 {
        out.push('-');
    }
    super::push::int(out, rounded / scale);
    if decimals > 0 {
        out.push('.');
        let frac = itoa::Buffer::new().format(rounded % scale).to_string();
        out.extend(std::iter::repeat_n('0', decimals - frac.len()));
        out.push_str(&frac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_aligns_columns_to_their_widest_cell() {
        let mut g = Grid::new(&[("A", Align::Left), ("Frames", Align::Right)]);
        g.text("10.0.0.1:80");
        g.int(7);
        g.text("[::1]:443");
        g.int(1234567);
        let mut out = String::new();
        g.write(&mut out);
        assert_eq!(
            out,
            "A             Frames\n10.0.0.1:80        7\n[::1]:443    1234567\n"
        );
    }

    #[test]
    fn table_names_parse_and_bad_ones_say_what_is_expected() {
        assert_eq!("conv".parse::<TableKind>(), Ok(TableKind::Conv));
        assert_eq!("endpoints".parse::<TableKind>(), Ok(TableKind::Endpoints));
        assert_eq!("expert".parse::<TableKind>(), Ok(TableKind::Expert));
        assert_eq!(
            "io".parse::<TableKind>(),
            Ok(TableKind::Io(io::Interval::Auto))
        );
        assert_eq!(
            "io,0".parse::<TableKind>(),
            Ok(TableKind::Io(io::Interval::Whole))
        );
        assert_eq!(
            "io,0.5".parse::<TableKind>(),
            Ok(TableKind::Io(io::Interval::Every(500_000)))
        );
        assert_eq!("conv,tcp".parse::<TableKind>(), Ok(TableKind::Conv));
        assert_eq!(
            "io,stat,1".parse::<TableKind>(),
            Ok(TableKind::Io(io::Interval::Every(1_000_000)))
        );
        assert!("io,x".parse::<TableKind>().is_err());
        assert!("io,-1".parse::<TableKind>().is_err());
        assert!("hosts".parse::<TableKind>().unwrap_err().contains("conv"));
    }

    #[test]
    fn seconds_round_as_printf() {
        assert_eq!(secs(300_049_999, 4), "0.3000");
        assert_eq!(secs(300_050_001, 4), "0.3001");
        assert_eq!(secs(200_713_000, 9), "0.200713000");
        assert_eq!(secs(1_501_899_336_000, 9), "1501.899336000");
        assert_eq!(secs(-39_000, 6), "-0.000039");
        assert_eq!(secs(82_326_100_000, 4), "82.3261");
        assert_eq!(secs(4_000, 4), "0.0000");
    }
}
