//! Frames and bytes per interval, as `tshark -q -z io,stat,INTERVAL` counts them
//! (ui/cli/tap-iostat.c of Wireshark 4.0): every displayed frame, TCP or not, with its
//! length on the wire.
//!
//! tshark places a frame by its time since the first frame rounded to the microsecond (a
//! frame before the first counts at 0), and a frame older than the interval of the frame
//! before it counts in that later interval (its rows only grow forward: iostat_packet adds a
//! frame to the newest row when its time does not reach a newer one). Its rows cover the
//! capture's span (the latest frame's time, displayed or not), rounded up to whole intervals:
//! a frame exactly at the end of the last interval is in no row, and a capture of one instant
//! has no rows at all. All of this is kept, so the numbers are tshark's.

use anyhow::Result;

use super::{Align, Grid, heading};
use crate::fields::Packet;

/// The interval of `io[,INTERVAL]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    /// No interval given: chosen at the end from 1, 2 or 5 × a power of ten so that the
    /// capture fits in at most [`AUTO_ROWS`] rows.
    Auto,
    /// `io,0`: one row for the whole capture (tshark's interval 0).
    Whole,
    /// An interval in microseconds (tshark's unit).
    Every(u64),
}

/// Rows an automatic interval aims at: a screenful.
pub const AUTO_ROWS: u64 = 30;

/// More rows than this is refused: a far-off timestamp with a very short interval would make
/// billions of empty rows (tshark would allocate them all). Ten million rows of text are
/// ~300 MB; a capture whose clock jumped 80 hours, at 0.1 s, is 2.9 million.
const MAX_ROWS: u64 = 10_000_000;

/// With [`Interval::Auto`], frames are counted in buckets of a power of ten microseconds;
/// past this many buckets with frames, they merge ten by ten.
const AUTO_BUCKETS: usize = 1 << 16;

impl Interval {
    /// Seconds, as tshark takes them (`0.5`, `10`); 0 is the whole capture.
    pub fn parse(s: &str) -> Result<Interval, String> {
        let secs: f64 = s
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("bad interval '{s}': expected seconds, such as 1 or 0.01"))?;
        let micros = (secs * 1e6).round();
        if secs == 0.0 {
            Ok(Interval::Whole)
        } else if micros < 1.0 {
            Err(format!(
                "bad interval '{s}': the shortest is 0.000001 (tshark counts microseconds)"
            ))
        } else {
            Ok(Interval::Every(micros as u64))
        }
    }
}

/// One row: frames and bytes in `[start, end)` microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    pub frames: u64,
    pub bytes: u64,
}

impl Bucket {
    fn add(&mut self, other: Bucket) {
        self.frames += other.frames;
        self.bytes += other.bytes;
    }
}

/// Sparse buckets `k` times wider: index `i` goes to `i / k`.
fn merge(buckets: &[(u64, Bucket)], k: u64) -> Vec<(u64, Bucket)> {
    let mut merged: Vec<(u64, Bucket)> = Vec::new();
    for &(i, b) in buckets {
        match merged.last_mut() {
            Some((at, m)) if *at == i / k => m.add(b),
            _ => merged.push((i / k, b)),
        }
    }
    merged
}

/// The io table.
pub struct IoStat {
    interval: Interval,
    /// Bucket width in microseconds (the interval, or Auto's current width).
    width: u64,
    /// The intervals that have frames, by index, in order: sparse, so a capture with a long
    /// silence (or a clock that jumped by days) costs nothing per empty interval until its
    /// rows are printed.
    buckets: Vec<(u64, Bucket)>,
    /// The capture's span: the latest frame's time since the first, in nanoseconds and in
    /// microseconds as tshark rounds it (known at the end of input).
    span_ns: i128,
    span: u64,
}

impl IoStat {
    pub fn new(interval: Interval) -> IoStat {
        let width = match interval {
            Interval::Every(us) => us,
            Interval::Whole => u64::MAX,
            Interval::Auto => 1,
        };
        IoStat {
            interval,
            width,
            buckets: Vec::new(),
            span_ns: 0,
            span: 0,
        }
    }

    /// A displayed frame.
    pub fn packet(&mut self, p: &Packet<'_>) {
        // tap-iostat.c counts a frame before the first one at 0.
        let us = round_micros(p.times.relative.max(0).into());
        let index = us / self.width;
        let add = Bucket {
            frames: 1,
            bytes: u64::from(p.frame.origlen),
        };
        match self.buckets.last_mut() {
            Some((last, b)) if *last == index => b.add(add),
            // Before the interval of the frame before it: tshark counts it there.
            Some((last, b)) if index < *last && self.interval != Interval::Auto => b.add(add),
            Some((last, _)) if index < *last => {
                match self.buckets.binary_search_by_key(&index, |(i, _)| *i) {
                    Ok(at) => self.buckets[at].1.add(add),
                    Err(at) => self.buckets.insert(at, (index, add)),
                }
            }
            _ => self.buckets.push((index, add)),
        }
        if self.interval == Interval::Auto && self.buckets.len() > AUTO_BUCKETS {
            self.coarsen();
        }
    }

    /// The end of input: the capture's span, from its first frame to its latest. Refused
    /// when the rows would be absurdly many.
    pub fn span(&mut self, first: Option<i128>, latest: Option<i128>) -> Result<()> {
        if let (Some(first), Some(latest)) = (first, latest) {
            self.span_ns = (latest - first).max(0);
            self.span = round_micros(self.span_ns);
        }
        if let Interval::Every(us) = self.interval {
            let rows = self.span.div_ceil(us);
            if rows > MAX_ROWS {
                anyhow::bail!(
                    "the capture spans {} s: {rows} rows of {} s; choose a longer interval",
                    super::secs(self.span_ns, 0),
                    micros(us, decimals(us))
                );
            }
        }
        Ok(())
    }

    /// Auto's buckets become ten times wider.
    fn coarsen(&mut self) {
        self.width *= 10;
        self.buckets = merge(&self.buckets, 10);
    }

    /// The rows: `(start µs, end µs, counts)`, the last one ending at the capture's span (as
    /// tshark's `<> Dur`). As many as whole intervals cover the span (iostat_draw's
    /// `duration / interval`, rounded up); the automatic interval, which is not tshark's,
    /// adds the row of a frame exactly at the end rather than leave it out.
    pub fn rows(&self) -> Vec<(u64, u64, Bucket)> {
        let (width, buckets, n) = match self.interval {
            Interval::Whole => {
                if self.span == 0 {
                    return Vec::new();
                }
                let mut all = Bucket::default();
                for (_, b) in &self.buckets {
                    all.add(*b);
                }
                return vec![(0, self.span, all)];
            }
            Interval::Every(us) => (us, self.buckets.clone(), self.span.div_ceil(us)),
            Interval::Auto => {
                let width = auto_interval(self.span, self.width);
                let buckets = merge(&self.buckets, width / self.width);
                let n = if buckets.is_empty() {
                    0
                } else {
                    self.span / width + 1
                };
                (width, buckets, n)
            }
        };
        let mut with_frames = buckets.iter().peekable();
        (0..n)
            .map(|i| {
                let start = i * width;
                let end = if i + 1 == n {
                    self.span.max(start)
                } else {
                    start + width
                };
                let b = with_frames.next_if(|(at, _)| *at == i).map(|(_, b)| *b);
                (start, end, b.unwrap_or_default())
            })
            .collect()
    }

    /// The interval in force, in microseconds (the whole duration for `io,0`).
    pub fn interval_us(&self) -> u64 {
        match self.interval {
            Interval::Whole => self.span,
            Interval::Every(us) => us,
            Interval::Auto => auto_interval(self.span, self.width),
        }
    }

    pub fn text(&self, out: &mut String, filter: Option<&str>, bars: bool) {
        let interval = self.interval_us();
        let decimals = decimals(interval);
        let over = super::secs(self.span_ns, 6);
        let title = match self.interval {
            Interval::Whole => format!("Frames and bytes over the whole capture, {over} s"),
            _ => format!(
                "Frames and bytes per {} s interval, over {over} s",
                micros(interval, decimals)
            ),
        };
        heading(out, &title, filter);
        let rows = self.rows();
        let max = rows.iter().map(|r| r.2.frames).max().unwrap_or(0);
        let mut columns = vec![
            ("Start", Align::Right),
            ("", Align::Left),
            ("End", Align::Right),
            ("Frames", Align::Right),
            ("Bytes", Align::Right),
        ];
        if bars {
            columns.push(("", Align::Left));
        }
        let mut grid = Grid::new(&columns);
        for (i, (start, end, b)) in rows.iter().enumerate() {
            // The last row ends at the capture's span (tshark's `Dur`), to the microsecond.
            let end = if i + 1 == rows.len() {
                micros(*end, 6)
            } else {
                micros(*end, decimals)
            };
            grid.text(&micros(*start, decimals));
            grid.text("<>");
            grid.text(&end);
            grid.int(b.frames);
            grid.int(b.bytes);
            if bars {
                grid.text(&bar(b.frames, max, BAR_WIDTH));
            }
        }
        grid.write(out);
    }

    /// One JSON record per interval; times in seconds.
    pub fn json(&self, out: &mut String) {
        let decimals = decimals(self.interval_us()).max(6);
        for (start, end, b) in self.rows() {
            out.push_str(&format!(
                "{{\"type\":\"interval\",\"start\":{},\"end\":{},\"frames\":{},\"bytes\":{}}}\n",
                micros(start, decimals),
                micros(end, decimals),
                b.frames,
                b.bytes
            ));
        }
    }
}

/// Nanoseconds to microseconds as tap-iostat.c rounds them: `secs * 1000000 + (nsecs +
/// 500) / 1000`.
fn round_micros(ns: i128) -> u64 {
    let ns = ns.max(0) as u128;
    ((ns / 1_000_000_000) * 1_000_000 + (ns % 1_000_000_000 + 500) / 1000) as u64
}

/// The smallest of 1, 2, 5 × 10^k µs (a multiple of `base`, a power of ten) that shows
/// `last` µs in at most [`AUTO_ROWS`] rows.
fn auto_interval(last: u64, base: u64) -> u64 {
    let mut power = base;
    loop {
        for m in [1, 2, 5] {
            let width = power.saturating_mul(m);
            if last / width < AUTO_ROWS || width == u64::MAX {
                return width;
            }
        }
        power = power.saturating_mul(10);
    }
}

/// Decimals that show an interval of `us` microseconds exactly (1 s: 0, 0.25 s: 2).
fn decimals(us: u64) -> usize {
    let mut d = 0;
    let mut unit = 1_000_000u64;
    while d < 6 && !us.is_multiple_of(unit) {
        d += 1;
        unit /= 10;
    }
    d
}

/// Microseconds as seconds with `decimals` decimals (truncated: the values are multiples).
fn micros(us: u64, decimals: usize) -> String {
    let secs = us / 1_000_000;
    if decimals == 0 {
        return secs.to_string();
    }
    let frac = (us % 1_000_000) / 10u64.pow(6 - decimals as u32);
    format!("{secs}.{frac:0decimals$}")
}

/// Columns of the frames bar at its longest.
const BAR_WIDTH: usize = 24;

/// A bar of `width` columns at most, in eighths of a block, for `n` of `max`.
fn bar(n: u64, max: u64, width: usize) -> String {
    const EIGHTHS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
    if n == 0 || max == 0 {
        return String::new();
    }
    let eighths = ((n as u128 * (width as u128 * 8)).div_ceil(max as u128)) as usize;
    let mut s = "█".repeat(eighths / 8);
    if let Some(part) = (eighths % 8).checked_sub(1) {
        s.push(EIGHTHS[part]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_in_microseconds() {
        assert_eq!(Interval::parse("1"), Ok(Interval::Every(1_000_000)));
        assert_eq!(Interval::parse("0.001"), Ok(Interval::Every(1_000)));
        assert_eq!(Interval::parse("0"), Ok(Interval::Whole));
        assert!(Interval::parse("0.0000001").is_err());
        assert!(Interval::parse("nan").is_err());
        assert!(Interval::parse("-2").is_err());
    }

    #[test]
    fn the_automatic_interval_fits_a_screen_in_one_two_five_steps() {
        // 30.87 s: 2 s would make 16 rows, 1 s 31.
        assert_eq!(auto_interval(30_872_023, 1), 2_000_000);
        assert_eq!(auto_interval(7_000, 1), 500);
        assert_eq!(auto_interval(0, 1), 1);
        assert_eq!(auto_interval(29, 10), 10);
    }

    #[test]
    fn rows_end_at_the_last_frame_and_decimals_follow_the_interval() {
        let mut io = IoStat::new(Interval::Every(1_000_000));
        io.buckets = vec![
            (
                0,
                Bucket {
                    frames: 2,
                    bytes: 100,
                },
            ),
            (
                2,
                Bucket {
                    frames: 1,
                    bytes: 60,
                },
            ),
        ];
        io.span = 2_500_000;
        let rows = io.rows();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].2, Bucket::default());
        assert_eq!(rows[2].2.frames, 1);
        assert_eq!((rows[2].0, rows[2].1), (2_000_000, 2_500_000));
        assert_eq!(decimals(1_000_000), 0);
        assert_eq!(decimals(250_000), 2);
        assert_eq!(micros(2_500_000, 1), "2.5");
        assert_eq!(micros(2_000_000, 0), "2");
    }

    #[test]
    fn sparse_buckets_merge_by_index() {
        let b = |frames| Bucket { frames, bytes: 0 };
        let merged = merge(&[(3, b(1)), (9, b(2)), (10, b(4)), (57, b(8))], 10);
        assert_eq!(merged, [(0, b(3)), (1, b(4)), (5, b(8))]);
    }

    #[test]
    fn bars_scale_to_the_busiest_interval_in_eighths() {
        assert_eq!(bar(8, 8, 3), "███");
        assert_eq!(bar(1, 8, 1), "▏");
        assert_eq!(bar(0, 8, 3), "");
        assert_eq!(bar(4, 8, 3), "█▌");
    }
}
