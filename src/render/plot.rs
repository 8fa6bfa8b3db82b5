//! Draws `tcplens graph`'s series: each graph kind becomes a [`Picture`] (backend-neutral
//! layers of bars, points and lines, decimated to what its width can show), which plotters
//! writes as SVG or PNG and textplots draws in braille on a terminal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow, bail};
use owo_colors::OwoColorize;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::graph::{GraphKind, Mark, StreamGraph};
use crate::flow::endpoint::Side;

/// Where pictures go.
#[derive(Clone, Debug)]
pub enum Target {
    /// Braille charts on stdout, `width` × `height` characters.
    Terminal {
        width: u32,
        height: u32,
        color: bool,
    },
    /// One picture, its format from the extension (`.svg`, `.png`).
    File { path: PathBuf, size: (u32, u32) },
    /// One picture per stream: `DIR/stream-N-KIND.FORMAT`.
    Dir {
        dir: PathBuf,
        format: ImageFormat,
        size: (u32, u32),
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ImageFormat {
    Svg,
    Png,
}

impl ImageFormat {
    pub fn of(path: &Path) -> Option<ImageFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "svg" => Some(ImageFormat::Svg),
            "png" => Some(ImageFormat::Png),
            _ => None,
        }
    }

    fn ext(self) -> &'static str {
        match self {
            ImageFormat::Svg => "svg",
            ImageFormat::Png => "png",
        }
    }
}

/// The most elements (bars, points, line vertices) a picture draws per layer: series longer
/// than this are decimated per pixel column for display (the data itself is not).
const MAX_PER_LAYER: usize = 16_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

// The colors of Wireshark's TCP stream graphs (tcp_stream_dialog.cpp): data blue, SACK
// purple-ish, ACK and window lines green and olive, retransmissions and resets red.
const DATA: Rgb = Rgb(0, 0, 224);
const RETRANSMISSION: Rgb = Rgb(224, 0, 0);
const CONTROL: Rgb = Rgb(0, 0, 0);
const ACK: Rgb = Rgb(0, 160, 0);
const WINDOW: Rgb = Rgb(160, 160, 0);
const SACK: Rgb = Rgb(160, 32, 240);
const ZERO_WINDOW: Rgb = Rgb(255, 128, 0);
const RESET: Rgb = Rgb(200, 0, 120);

/// How a layer's values are drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// Vertical bars (x, from, to): segments and SACK blocks.
    Bars(Vec<(f64, f64, f64)>),
    Points(Vec<(f64, f64)>),
    /// A value held until the next one (ACK and window lines).
    Steps(Vec<(f64, f64)>),
    Lines(Vec<(f64, f64)>),
    /// Events marked with a cross (zero windows, resets).
    Marks(Vec<(f64, f64)>),
}

impl Shape {
    fn len(&self) -> usize {
        match self {
            Shape::Bars(v) => v.len(),
            Shape::Points(v) | Shape::Steps(v) | Shape::Lines(v) | Shape::Marks(v) => v.len(),
        }
    }

    fn ys(&self) -> Vec<f64> {
        match self {
            Shape::Bars(v) => v.iter().flat_map(|&(_, a, b)| [a, b]).collect(),
            Shape::Points(v) | Shape::Steps(v) | Shape::Lines(v) | Shape::Marks(v) => {
                v.iter().map(|&(_, y)| y).collect()
            }
        }
    }

    fn xs(&self) -> Vec<f64> {
        match self {
            Shape::Bars(v) => v.iter().map(|&(x, _, _)| x).collect(),
            Shape::Points(v) | Shape::Steps(v) | Shape::Lines(v) | Shape::Marks(v) => {
                v.iter().map(|&(x, _)| x).collect()
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub name: &'static str,
    pub color: Rgb,
    pub shape: Shape,
}

/// One graph, ready to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Picture {
    pub title: String,
    pub x_label: &'static str,
    pub y_label: String,
    pub layers: Vec<Layer>,
}

impl Picture {
    /// Elements drawn (bars, points, vertices): what the speed goal bounds.
    pub fn elements(&self) -> usize {
        self.layers.iter().map(|l| l.shape.len()).sum()
    }

    fn range(&self) -> ((f64, f64), (f64, f64)) {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for l in &self.layers {
            for x in l.shape.xs() {
                x0 = x0.min(x);
                x1 = x1.max(x);
            }
            for y in l.shape.ys() {
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
        }
        if x0 > x1 {
            return ((0.0, 1.0), (0.0, 1.0));
        }
        // A flat range still needs an extent; a little room above and to the right.
        let pad = |a: f64, b: f64| {
            if b > a {
                (a, b + (b - a) * 0.02)
            } else {
                (a - 1.0, b + 1.0)
            }
        };
        (pad(x0, x1), pad(y0.min(0.0).max(y0.min(y1)), y1))
    }
}

type Points = Vec<(f64, f64)>;

/// Moving-average window of the throughput graph: Wireshark's default ("MA Window (s)",
/// 1 s), or a twentieth of a shorter stream's data, so that a transfer of milliseconds shows
/// its rate changing rather than one average.
fn ma_window(d: &super::graph::Direction) -> f64 {
    let span = match (d.segments.first(), d.segments.last()) {
        (Some(a), Some(b)) => b.t - a.t,
        _ => 0.0,
    };
    if span >= 20.0 {
        1.0
    } else {
        (span / 20.0).max(1e-6)
    }
}

/// "1 s", "2.5 ms", "40 µs".
fn duration(secs: f64) -> String {
    if secs >= 1.0 {
        format!("{secs:.3} s").replace(".000 s", " s")
    } else if secs >= 1e-3 {
        format!("{:.3} ms", secs * 1e3)
    } else {
        format!("{:.0} µs", secs * 1e6)
    }
}

/// The picture of `kind` for `side`'s data in `g`.
pub fn picture(g: &StreamGraph, side: Side, kind: GraphKind) -> Picture {
    let d = &g.dirs[side as usize];
    let title = format!(
        "{} · tcp.stream {} · {} (the {}'s data)",
        kind.name(),
        g.stream,
        g.endpoints(side),
        side.name()
    );
    let segments = |mark: Mark| -> Vec<(f64, f64, f64)> {
        d.segments
            .iter()
            .filter(|s| s.mark == mark)
            .map(|s| (s.t, s.seq as f64, (s.seq + u64::from(s.len.max(1))) as f64))
            .collect()
    };
    let mut layers = Vec::new();
    let mut layer = |name, color, shape: Shape| {
        if shape.len() > 0 {
            layers.push(Layer { name, color, shape });
        }
    };
    let (x_label, y_label) = match kind {
        GraphKind::Tcptrace => {
            // Lines first, segments over them, events on top.
            layer(
                "receive window",
                WINDOW,
                Shape::Steps(
                    d.acks
                        .iter()
                        .map(|a| (a.t, (a.ack + u64::from(a.window)) as f64))
                        .collect(),
                ),
            );
            layer(
                "ACK",
                ACK,
                Shape::Steps(d.acks.iter().map(|a| (a.t, a.ack as f64)).collect()),
            );
            layer(
                "SACK",
                SACK,
                Shape::Bars(
                    d.sacks
                        .iter()
                        .map(|s| (s.t, s.left as f64, s.right as f64))
                        .collect(),
                ),
            );
            layer("data", DATA, Shape::Bars(segments(Mark::Data)));
            layer(
                "retransmissions",
                RETRANSMISSION,
                Shape::Bars(segments(Mark::Retransmission)),
            );
            layer("SYN/FIN", CONTROL, Shape::Bars(segments(Mark::Control)));
            layer(
                "zero window",
                ZERO_WINDOW,
                Shape::Marks(d.zero_windows.iter().map(|&(t, a)| (t, a as f64)).collect()),
            );
            layer(
                "reset",
                RESET,
                Shape::Marks(d.resets.iter().map(|&(t, s)| (t, s as f64)).collect()),
            );
            ("Time (s)", "Relative sequence number (bytes)".to_string())
        }
        GraphKind::Stevens => {
            let dots = |retrans: bool| {
                d.segments
                    .iter()
                    .filter(|s| (s.mark == Mark::Retransmission) == retrans)
                    .map(|s| (s.t, s.seq as f64))
                    .collect()
            };
            layer("segments", DATA, Shape::Points(dots(false)));
            layer("retransmissions", RETRANSMISSION, Shape::Points(dots(true)));
            ("Time (s)", "Relative sequence number (bytes)".to_string())
        }
        GraphKind::Throughput => {
            let window = ma_window(d);
            let (all, good) = throughput(d, window);
            layer("throughput", DATA, Shape::Lines(all));
            layer("goodput", ACK, Shape::Lines(good));
            (
                "Time (s)",
                format!("bits/s ({} moving average)", duration(window)),
            )
        }
        GraphKind::Rtt => {
            layer(
                "ack_rtt",
                DATA,
                Shape::Points(d.rtt.iter().map(|r| (r.seq as f64, r.rtt * 1e3)).collect()),
            );
            (
                "Relative sequence number acknowledged (bytes)",
                "RTT (ms)".to_string(),
            )
        }
        GraphKind::Window => {
            layer(
                "bytes in flight",
                DATA,
                Shape::Steps(d.flight.iter().map(|&(t, b)| (t, f64::from(b))).collect()),
            );
            layer(
                "receive window",
                ACK,
                Shape::Steps(d.acks.iter().map(|a| (a.t, f64::from(a.window))).collect()),
            );
            ("Time (s)", "Bytes".to_string())
        }
    };
    Picture {
        title,
        x_label,
        y_label,
        layers,
    }
}

/// Throughput and goodput (bits/s) at each segment: the bytes of the segments within the
/// last `window` seconds (retransmissions left out of goodput), over the time they span, as
/// Wireshark's moving average divides by the window or, at the start, the span so far.
fn throughput(d: &super::graph::Direction, window: f64) -> (Points, Points) {
    let data: Vec<_> = d.segments.iter().filter(|s| s.len > 0).collect();
    let (mut all, mut good) = (Vec::new(), Vec::new());
    let (mut start, mut sum, mut good_sum) = (0, 0u64, 0u64);
    for (i, s) in data.iter().enumerate() {
        sum += u64::from(s.len);
        if s.mark != Mark::Retransmission {
            good_sum += u64::from(s.len);
        }
        while data[start].t <= s.t - window {
            sum -= u64::from(data[start].len);
            if data[start].mark != Mark::Retransmission {
                good_sum -= u64::from(data[start].len);
            }
            start += 1;
        }
        let span = if i > start {
            (s.t - data[start].t).min(window)
        } else {
            0.0
        };
        if span > 0.0 {
            all.push((s.t, sum as f64 * 8.0 / span));
            good.push((s.t, good_sum as f64 * 8.0 / span));
        }
    }
    (all, good)
}

/// The picture with each layer reduced to what `columns` columns can show: bars and points
/// merged per column (points also per row of a 1000-row grid), lines kept at each column's
/// first, lowest, highest and last value. Shorter layers are left as they are.
pub fn decimate(pic: &Picture, columns: u32) -> Picture {
    let ((x0, x1), (y0, y1)) = pic.range();
    let cols = f64::from(columns.max(1));
    let col = |x: f64| (((x - x0) / (x1 - x0)) * cols) as i64;
    let row = |y: f64| (((y - y0) / (y1 - y0)) * 1000.0) as i64;
    let layers = pic
        .layers
        .iter()
        .map(|l| {
            if l.shape.len() <= MAX_PER_LAYER {
                return l.clone();
            }
            let shape = match &l.shape {
                Shape::Bars(v) => {
                    let mut out: Vec<(f64, f64, f64)> = Vec::new();
                    let mut last = i64::MIN;
                    for &(x, a, b) in v {
                        let c = col(x);
                        match out.last_mut() {
                            Some(o) if c == last => {
                                o.1 = o.1.min(a);
                                o.2 = o.2.max(b);
                            }
                            _ => out.push((x, a, b)),
                        }
                        last = c;
                    }
                    Shape::Bars(out)
                }
                Shape::Points(v) | Shape::Marks(v) => {
                    let mut seen = std::collections::HashSet::new();
                    let kept = v
                        .iter()
                        .copied()
                        .filter(|&(x, y)| seen.insert((col(x), row(y))))
                        .collect();
                    match l.shape {
                        Shape::Points(_) => Shape::Points(kept),
                        _ => Shape::Marks(kept),
                    }
                }
                Shape::Steps(v) | Shape::Lines(v) => {
                    let mut out = Vec::new();
                    let mut i = 0;
                    while i < v.len() {
                        let c = col(v[i].0);
                        let mut j = i;
                        while j + 1 < v.len() && col(v[j + 1].0) == c {
                            j += 1;
                        }
                        let run = &v[i..=j];
                        let lo = run
                            .iter()
                            .copied()
                            .fold(run[0], |m, p| if p.1 < m.1 { p } else { m });
                        let hi = run
                            .iter()
                            .copied()
                            .fold(run[0], |m, p| if p.1 > m.1 { p } else { m });
                        let mut pts = vec![run[0], lo, hi, run[run.len() - 1]];
                        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                        pts.dedup();
                        out.extend(pts);
                        i = j + 1;
                    }
                    match l.shape {
                        Shape::Steps(_) => Shape::Steps(out),
                        _ => Shape::Lines(out),
                    }
                }
            };
            Layer {
                name: l.name,
                color: l.color,
                shape,
            }
        })
        .collect();
    Picture {
        title: pic.title.clone(),
        x_label: pic.x_label,
        y_label: pic.y_label.clone(),
        layers,
    }
}

/// Draws every graph to the target. A single file takes a single stream.
pub fn draw_all(
    out: &mut dyn Write,
    graphs: &[StreamGraph],
    kind: GraphKind,
    side: Option<Side>,
    target: &Target,
) -> Result<()> {
    if graphs.is_empty() {
        bail!("{NO_STREAM}");
    }
    if let Target::File { path, .. } = target
        && graphs.len() > 1
    {
        bail!(
            "{} streams selected but -o {} is one picture: choose one with --stream N, or give \
             -o a directory for one picture per stream",
            graphs.len(),
            path.display()
        );
    }
    for g in graphs {
        draw(out, g, kind, side, target)?;
    }
    Ok(())
}

pub const NO_STREAM: &str = "no TCP stream to graph: check --stream, -Y and the BPF words \
                             (tcplens read FILE --summary lists the streams)";

/// Draws one stream's graph to the target: a chart on the terminal, a file, or a file in
/// the directory (its path printed).
pub fn draw(
    out: &mut dyn Write,
    g: &StreamGraph,
    kind: GraphKind,
    side: Option<Side>,
    target: &Target,
) -> Result<()> {
    let side = side.unwrap_or_else(|| g.busier());
    let pic = picture(g, side, kind);
    match target {
        Target::Terminal {
            width,
            height,
            color,
        } => terminal(out, &pic, *width, *height, *color)?,
        Target::File { path, size } => {
            let format = ImageFormat::of(path)
                .ok_or_else(|| anyhow!("-o {}: name a .svg or .png file", path.display()))?;
            write_image(path, format, *size, &pic)?;
        }
        Target::Dir { dir, format, size } => {
            let path = dir.join(format!(
                "stream-{}-{}.{}",
                g.stream,
                kind.name(),
                format.ext()
            ));
            write_image(&path, *format, *size, &pic)?;
            writeln!(out, "{}", path.display())?;
        }
    }
    Ok(())
}

/// The bundled DejaVu Sans (assets/fonts, its license beside it): PNG text is rasterized
/// with it and SVG text measured with it, the same on every machine.
fn fonts() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = DONE.get_or_init(|| {
        plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../../assets/fonts/DejaVuSans.ttf"),
        )
        .is_ok()
    });
    if *ok {
        Ok(())
    } else {
        bail!("internal error: the bundled font does not load")
    }
}

/// Writes the picture as SVG or PNG.
pub fn write_image(
    path: &Path,
    format: ImageFormat,
    size: (u32, u32),
    pic: &Picture,
) -> Result<()> {
    fonts()?;
    let pic = decimate(pic, size.0);
    let failed = |e: String| anyhow!("cannot write {}: {e}", path.display());
    match format {
        ImageFormat::Svg => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            chart(&root, &pic).map_err(|e| failed(e.to_string()))?;
            root.present().map_err(|e| failed(e.to_string()))?;
        }
        ImageFormat::Png => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            chart(&root, &pic).map_err(|e| failed(e.to_string()))?;
            root.present().map_err(|e| failed(e.to_string()))?;
        }
    }
    // plotters reports a file it could not create only as a panic-free error on present;
    // a missing file afterwards is that case.
    std::fs::metadata(path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// The chart itself, on any plotters backend.
fn chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    pic: &Picture,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let ((x0, x1), (y0, y1)) = pic.range();
    let mut chart = ChartBuilder::on(root)
        .caption(&pic.title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(84)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(pic.x_label)
        .y_desc(&pic.y_label)
        .label_style(("sans-serif", 12))
        .light_line_style(WHITE.mix(0.0))
        .x_label_formatter(&|x| short_number(*x))
        .y_label_formatter(&|y| short_number(*y))
        .draw()?;
    for l in &pic.layers {
        let color = rgb(l.color);
        let legend = move |(x, y): (i32, i32)| {
            PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(3))
        };
        match &l.shape {
            Shape::Bars(v) => {
                chart.draw_series(v.iter().map(|&(x, a, b)| {
                    PathElement::new(vec![(x, a), (x, b)], color.stroke_width(1))
                }))?
            }
            Shape::Points(v) => chart.draw_series(
                v.iter()
                    .map(|&(x, y)| Circle::new((x, y), 2, color.filled())),
            )?,
            Shape::Steps(v) => chart.draw_series(LineSeries::new(steps(v), color))?,
            Shape::Lines(v) => chart.draw_series(LineSeries::new(v.iter().copied(), color))?,
            Shape::Marks(v) => chart.draw_series(
                v.iter()
                    .map(|&(x, y)| Cross::new((x, y), 5, color.stroke_width(2))),
            )?,
        }
        .label(l.name)
        .legend(legend);
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()?;
    Ok(())
}

/// A held value: each point's value runs to the next point's time.
fn steps(v: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(v.len() * 2);
    for (i, &(x, y)) in v.iter().enumerate() {
        if i > 0 {
            out.push((x, v[i - 1].1));
        }
        out.push((x, y));
    }
    out
}

/// 1234567 → "1.23M": axis labels that fit.
fn short_number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a == a.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// A braille chart (textplots) with a title line and a legend line.
fn terminal(
    out: &mut dyn Write,
    pic: &Picture,
    width: u32,
    height: u32,
    color: bool,
) -> Result<()> {
    use textplots::{Chart, ColorPlot, Plot, Shape as T};
    // Braille cells are 2 dots wide and 4 high; leave room for the y labels.
    let dots_w = (width.saturating_sub(14) * 2).max(32);
    let dots_h = (height.saturating_sub(4) * 4).max(12);
    let pic = decimate(pic, dots_w);
    let ((x0, x1), (y0, y1)) = pic.range();
    writeln!(out, "{}", pic.title)?;
    // Each layer's color, points, and whether they join into a line.
    type Series = (Rgb, Vec<(f32, f32)>, bool);
    let series: Vec<Series> = pic
        .layers
        .iter()
        .map(|l| {
            let pts: Vec<(f32, f32)> = match &l.shape {
                // A bar in braille is its top: one dot per segment end.
                Shape::Bars(v) => v.iter().map(|&(x, _, b)| (x as f32, b as f32)).collect(),
                Shape::Points(v) | Shape::Marks(v) => {
                    v.iter().map(|&(x, y)| (x as f32, y as f32)).collect()
                }
                Shape::Steps(v) => steps(v)
                    .iter()
                    .map(|&(x, y)| (x as f32, y as f32))
                    .collect(),
                Shape::Lines(v) => v.iter().map(|&(x, y)| (x as f32, y as f32)).collect(),
            };
            let lines = matches!(l.shape, Shape::Steps(_) | Shape::Lines(_));
            (l.color, pts, lines)
        })
        .collect();
    let shapes: Vec<(Rgb, T<'_>)> = series
        .iter()
        .map(|(c, pts, lines)| {
            (
                *c,
                if *lines {
                    T::Lines(pts)
                } else {
                    T::Points(pts)
                },
            )
        })
        .collect();
    let mut chart =
        Chart::new_with_y_range(dots_w, dots_h, x0 as f32, x1 as f32, y0 as f32, y1 as f32);
    let mut chart = &mut chart;
    for (c, shape) in &shapes {
        chart = if color {
            chart.linecolorplot(shape, rgb::RGB8::new(c.0, c.1, c.2))
        } else {
            chart.lineplot(shape)
        };
    }
    chart.axis();
    chart.figures();
    write!(out, "{chart}")?;
    let legend: Vec<String> = pic
        .layers
        .iter()
        .map(|l| {
            if color {
                format!(
                    "{} {}",
                    "⣿".truecolor(l.color.0, l.color.1, l.color.2),
                    l.name
                )
            } else {
                l.name.to_string()
            }
        })
        .collect();
    writeln!(
        out,
        "x: {} · y: {} · {}\n",
        pic.x_label,
        pic.y_label,
        legend.join(" · ")
    )?;
    Ok(())
}
