//! Wires a source thread to the decode → track → render consumer (design.md's pipeline).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::{Context, Result};

use crate::cli::{
    CaptureConfig, Config, FollowConfig, FollowOpts, GraphConfig, Output, Query, StatsConfig,
    SummaryMode,
};
use crate::dfilter::DisplayFilter;
use crate::fields::{FrameTimes, Packet};
use crate::flow::{self, Limits, Summary, TcpInfo, Tracker};
use crate::render::follow::{FollowStreams, Streams};
use crate::render::graph::{GraphStreams, OnClose, StreamGraph};
use crate::render::plot::{self, Target};
use crate::render::progress::Progress;
use crate::render::stats::Stats;
use crate::render::{Outputs, Sink, View};
use crate::source::merge;
use crate::source::write::{FileHeader, Writer};
use crate::source::{self, Batch, Captured, SourceMsg};
use shards::Sharded;

mod shards;

/// `tcplens read`: every frame of the file becomes one row (or one JSON record); with `-w`,
/// the frames kept are also copied into a capture file.
pub fn read(cfg: &Config) -> Result<()> {
    let (selector, verdict) = selection(&cfg.query, cfg.output);
    let mut selector = selector;
    if cfg.query.needs_connection() && verdict.is_none() {
        // `tcplens.conn.*` on rows: the connections' ends come from a first pass, as
        // `tshark -2` makes one.
        selector.verdicts = Some(Arc::new(first_pass(cfg)?));
    }
    let by_verdict = verdict.is_some();
    let (tx, rx) = source::channel();
    let read = Arc::new(AtomicU64::new(0));
    // The input first (a missing file creates no -w file), then the -w file, then the reading.
    cfg.input.check()?;
    let mut save = match &cfg.write {
        Some(path) => Some(Save {
            writer: Writer::create(path, &cfg.input.paths)?,
        }),
        None => None,
    };
    let opts = source::file::Options {
        filter: cfg.filter.clone(),
        keep_bytes: save.is_some() || cfg.query.needs_bytes() || cfg.output.quotes_data(),
    };
    let reader = merge::spawn_inputs(&cfg.input, opts.clone(), tx, read.clone())?;
    let progress = Progress::start(
        cfg.input.size(),
        read.clone(),
        cfg.output.rows || cfg.output.ladder.is_some(),
    );
    // `-w -`: the capture file is stdout, nothing else goes there.
    let out: Box<dyn Write + Send> = if cfg.writes_stdout() {
        Box::new(std::io::sink())
    } else {
        Box::new(stdout())
    };
    let mut outputs = Outputs::new(cfg.output, out, cfg.query.fields.clone())
        .progress(progress)
        .connection_filter(verdict);
    if let Some(save) = save.as_mut() {
        outputs = outputs.first_sink(Box::new(save));
    }
    let shown = cfg.input.shown();
    let result = 'read: {
        let (reader, rx, outputs) = match shard_count(cfg, &selector, by_verdict) {
            None => (reader, rx, outputs),
            Some(count) => match shards::consume(&rx, outputs, &mut selector, cfg.limits, count) {
                Sharded::Done(result) => break 'read joined(&shown, reader, rx, result),
                Sharded::Again(outputs) => {
                    // The file again, from its start, by one tracker (shards.rs says when).
                    drop(rx);
                    let _ = reader.join();
                    read.store(0, std::sync::atomic::Ordering::Relaxed);
                    let (tx, rx) = source::channel();
                    let reader = merge::spawn_inputs(&cfg.input, opts, tx, read)?;
                    (reader, rx, *outputs)
                }
            },
        };
        consume_file(&shown, reader, rx, outputs, selector, cfg.limits)
    };
    // Also after a damaged record: the file holds every frame before it, and is valid.
    let finished = save.map_or(Ok(()), |s| s.writer.finish());
    result.and(finished)
}

/// `tcplens follow`: the file read once more for each selected stream's payload (with a
/// first pass when a display filter chooses the streams), through the same loop as `read`,
/// its one sink being the follower.
pub fn follow(cfg: &FollowConfig) -> Result<()> {
    let read = &cfg.read;
    let streams = match (cfg.stream, &read.query.filter) {
        (Some(n), _) => Streams::One(n),
        (None, Some(_)) => Streams::Matched(matched_streams(read)?),
        (None, None) => Streams::All,
    };
    let mut sink = follower(&cfg.opts, streams);
    run_file(read, true, Selector::new(None), &mut sink, stdout(), true)
}

/// `tcplens graph`: each selected stream's series, then its picture. On the terminal and in a
/// directory each stream is drawn as its connection leaves the tracker (in that order), so
/// that graphing every stream of a long capture holds only the open ones; one picture file
/// takes the one stream at the end.
pub fn graph(cfg: &GraphConfig) -> Result<()> {
    let mut out = stdout();
    if let Target::File { .. } = cfg.target {
        let graphs = graph_series(cfg, None)?;
        plot::draw_all(&mut out, &graphs, cfg.kind, cfg.side, &cfg.target)?;
        out.flush()?;
        return Ok(());
    }
    let mut drawn = 0u64;
    let rest = {
        let out = &mut out;
        let drawn = &mut drawn;
        let on_close: OnClose<'_> = Box::new(move |g| {
            *drawn += 1;
            plot::draw(out, &g, cfg.kind, cfg.side, &cfg.target)
        });
        graph_series(cfg, Some(on_close))?
    };
    if drawn == 0 && rest.is_empty() {
        anyhow::bail!("{}", plot::NO_STREAM);
    }
    for g in &rest {
        plot::draw(&mut out, g, cfg.kind, cfg.side, &cfg.target)?;
    }
    out.flush()?;
    Ok(())
}

/// The file read once (after a first pass when a display filter chooses the streams), its
/// one sink gathering each selected stream's series: those `on_close` did not take.
pub fn graph_series(cfg: &GraphConfig, on_close: Option<OnClose<'_>>) -> Result<Vec<StreamGraph>> {
    let read = &cfg.read;
    let streams = match (cfg.stream, &read.query.filter) {
        (Some(n), _) => Some(std::iter::once(n).collect()),
        (None, Some(_)) => Some(matched_streams(read)?),
        (None, None) => None,
    };
    let mut sink = GraphStreams::new(streams, on_close);
    run_file(read, false, Selector::new(None), &mut sink, stdout(), false)?;
    Ok(sink.into_graphs())
}

fn follower(opts: &FollowOpts, streams: Streams) -> FollowStreams {
    FollowStreams::new(opts.format, opts.color, streams, opts.output_dir.clone())
}

/// `tcplens tui`: the file read through the loop into the view's model, then the screen,
/// which asks for the other views of a connection (ladder, follow, graph) and for a new
/// display filter through [`TuiSource`].
pub fn tui(cfg: &Config) -> Result<()> {
    cfg.input.check()?;
    // The file is read in the background: the first screen shows at once and fills as the
    // frames come.
    let read = Arc::new(AtomicU64::new(0));
    let (size, counted) = (cfg.input.size().max(1), read.clone());
    // The file's progress on the status line, until it is all read.
    let progress = move || {
        let done = counted.load(std::sync::atomic::Ordering::Relaxed);
        if done >= size {
            return String::new();
        }
        format!("{}% of {} MB", done * 100 / size, size / 1_000_000)
    };
    view_while(
        crate::tui::TuiModel::new(&cfg.output)?,
        cfg.input.shown(),
        "reading",
        Some(Box::new(TuiSource { cfg })),
        Some(Box::new(progress)),
        |mut sink| fill_from_file(cfg, &mut sink, read),
        || {},
    )
}

/// Runs the view of `model` while `fill` fills it on another thread (`what` says how, on the
/// status line, with `status`'s counters). Quitting makes the model's sink stop the run,
/// after `stop` (a capture's stopper); a run stopped that way is no error.
fn view_while<'a>(
    model: crate::tui::TuiModel,
    title: String,
    what: &'static str,
    source: Option<Box<dyn crate::tui::Source + 'a>>,
    status: Option<Box<dyn Fn() -> String + 'a>>,
    fill: impl FnOnce(crate::tui::Filling) -> Result<()> + Send,
    stop: impl FnOnce(),
) -> Result<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let shared: crate::tui::SharedModel = Arc::new(std::sync::Mutex::new(model));
    let done = Arc::new(AtomicBool::new(false));
    let quit = Arc::new(AtomicBool::new(false));
    std::thread::scope(|scope| {
        let filler = scope.spawn(|| {
            let r = fill(crate::tui::Filling::until(shared.clone(), quit.clone()));
            done.store(true, Ordering::Relaxed);
            r
        });
        let mut app = crate::tui::App::shared(shared.clone(), title);
        app.filling = Some((what, done.clone()));
        app.source = source;
        app.status = status;
        let shown = crate::tui::run(app);
        quit.store(true, Ordering::Relaxed);
        stop();
        let filled = filler
            .join()
            .map_err(|_| anyhow::anyhow!("the view's {what} thread panicked"))?;
        shown.and(filled.or_else(|e| if quit_stopped(&e) { Ok(()) } else { Err(e) }))
    })
}

/// The loop over a file with the view's sink, which stores every frame's bytes; the bytes
/// read so far are counted into `read`.
pub fn fill_from_file(cfg: &Config, sink: &mut impl Sink, read: Arc<AtomicU64>) -> Result<()> {
    let selector = Selector::new(cfg.query.filter.clone());
    run_file_counting(cfg, true, selector, sink, std::io::sink(), true, read)
}

/// The view's sink stopped the run because the user quit.
fn quit_stopped(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<crate::tui::Quit>())
}

/// The view of a file, ready to draw.
pub fn tui_app(cfg: &Config) -> Result<crate::tui::App<'_>> {
    let model = tui_model(cfg)?;
    let mut app = crate::tui::App::new(model, cfg.input.shown());
    app.source = Some(Box::new(TuiSource { cfg }));
    Ok(app)
}

/// The view's way back to the file: one connection through another view's sink, or the
/// whole file again under a new display filter. Each is one more read of the file.
struct TuiSource<'a> {
    cfg: &'a Config,
}

/// A display filter typed in the view (empty: none).
fn typed_filter(expr: &str) -> Result<Option<Arc<DisplayFilter>>> {
    if expr.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(Arc::new(
        DisplayFilter::compile(expr).map_err(|e| anyhow::anyhow!("{e}"))?,
    )))
}

impl crate::tui::Source for TuiSource<'_> {
    fn pane(&self, pane: crate::tui::Pane, stream: u32, width: u16, height: u16) -> Result<String> {
        tui_pane(self.cfg, pane, stream, width, height)
    }

    fn filter(&self, expr: &str, model: &crate::tui::SharedModel) -> Result<()> {
        let filter = typed_filter(expr)?;
        let fresh = tui_model(&Config {
            query: Query {
                filter,
                fields: None,
            },
            ..self.cfg.clone()
        })?;
        *crate::tui::lock(model) = fresh;
        Ok(())
    }
}

/// Another view of one connection, as text: its ladder, its follow block, its tcptrace chart.
pub fn tui_pane(
    cfg: &Config,
    pane: crate::tui::Pane,
    stream: u32,
    width: u16,
    height: u16,
) -> Result<String> {
    use crate::tui::Pane;
    let mut out = Vec::new();
    let drawn = (|| -> Result<()> {
        match pane {
            Pane::Ladder => {
                let one = DisplayFilter::compile(&format!("tcp.stream == {stream}"))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let mut output = cfg.output;
                output.rows = false;
                output.explain = false;
                output.summary = SummaryMode::Off;
                output.filtered = true;
                output.ladder = Some(crate::cli::LadderOpts {
                    width: usize::from(width.max(40)),
                    streaming: false,
                });
                let c = Config {
                    output,
                    query: Query::default(),
                    ..cfg.clone()
                };
                let mut none = crate::render::NoSink;
                run_file(
                    &c,
                    false,
                    Selector::new(Some(Arc::new(one))),
                    &mut none,
                    &mut out,
                    false,
                )?;
            }
            Pane::Follow => {
                let mut sink = FollowStreams::new(
                    crate::render::follow::FollowFormat::Ascii,
                    false,
                    Streams::One(stream),
                    None,
                );
                run_file(cfg, true, Selector::new(None), &mut sink, &mut out, false)?;
            }
            Pane::Graph => {
                let mut sink = GraphStreams::new(Some(std::iter::once(stream).collect()), None);
                run_file(cfg, false, Selector::new(None), &mut sink, &mut out, false)?;
                let target = Target::Terminal {
                    width: u32::from(width),
                    height: u32::from(height),
                    color: false,
                };
                let graphs = sink.into_graphs();
                plot::draw_all(
                    &mut out,
                    &graphs,
                    crate::render::graph::GraphKind::Tcptrace,
                    None,
                    &target,
                )?;
            }
        }
        Ok(())
    })();
    let text = String::from_utf8_lossy(&out).into_owned();
    match drawn {
        Ok(()) => Ok(text),
        // What was drawn before the file ended short stays, with the reason under it: a
        // live capture's file may end inside the record being written.
        Err(e) if !text.is_empty() => Ok(format!("{text}\n{e:#}")),
        Err(e) => Err(e),
    }
}

/// The interactive view's model of a file: every connection and frame.
pub fn tui_model(cfg: &Config) -> Result<crate::tui::TuiModel> {
    let mut model = crate::tui::TuiModel::new(&cfg.output)?;
    fill_from_file(cfg, &mut model, Default::default())?;
    Ok(model)
}

/// `tcplens stats`: one table of the frames the display filter selects, through the same
/// loop as `read`, its one sink the table (render/stats). A filter on `tcplens.conn.*` reads
/// the file once more first, as `read` does.
pub fn stats(cfg: &StatsConfig) -> Result<()> {
    let read = &cfg.read;
    let mut selector = Selector::new(read.query.filter.clone());
    if read.query.needs_connection() {
        selector.verdicts = Some(Arc::new(first_pass(read)?));
    }
    let mut sink = Stats::new(cfg.table, cfg.format, cfg.filter_text.clone());
    run_file(
        read,
        read.query.needs_bytes(),
        selector,
        &mut sink,
        stdout(),
        false,
    )
}

/// Stdout behind a 64 KiB buffer: stdout rather than a lock held throughout, as a lock cannot
/// move to the render thread, and behind the buffer it is taken once per 64 KiB anyway.
fn stdout() -> std::io::BufWriter<std::io::Stdout> {
    std::io::BufWriter::with_capacity(1 << 16, std::io::stdout())
}

/// The streams with a frame the display filter selects.
fn matched_streams(cfg: &Config) -> Result<std::collections::HashSet<u32>> {
    #[derive(Default)]
    struct Matched(std::collections::HashSet<u32>);
    impl Sink for Matched {
        fn packet(&mut self, _out: &mut String, frame: &View<'_>) -> Result<()> {
            if let Some(i) = frame.packet.tcp {
                self.0.insert(i.stream);
            }
            Ok(())
        }
    }
    let mut matched = Matched::default();
    let selector = Selector::new(cfg.query.filter.clone());
    run_file(
        cfg,
        cfg.query.needs_bytes(),
        selector,
        &mut matched,
        stdout(),
        false,
    )?;
    Ok(matched.0)
}

/// One run of the loop over a file with one sink of the caller's, its text to `out`, with
/// the progress bar on a terminal's stderr (not while `streaming` text to a terminal).
fn run_file<S: Sink, W: Write + Send>(
    cfg: &Config,
    keep_bytes: bool,
    selector: Selector,
    sink: &mut S,
    out: W,
    streaming: bool,
) -> Result<()> {
    let read = Arc::new(AtomicU64::new(0));
    run_file_counting(cfg, keep_bytes, selector, sink, out, streaming, read)
}

/// [`run_file`], the bytes read so far counted into `read` (the view's status line).
fn run_file_counting<S: Sink, W: Write + Send>(
    cfg: &Config,
    keep_bytes: bool,
    selector: Selector,
    sink: &mut S,
    out: W,
    streaming: bool,
    read: Arc<AtomicU64>,
) -> Result<()> {
    let (tx, rx) = source::channel();
    let opts = source::file::Options {
        filter: cfg.filter.clone(),
        keep_bytes,
    };
    let reader = merge::spawn_inputs(&cfg.input, opts, tx, read.clone())?;
    let size = cfg.input.size();
    let outputs = Outputs::new(cfg.output, out, None)
        .sink(Box::new(sink))
        .progress(Progress::start(size, read, streaming));
    consume_file(
        &cfg.input.shown(),
        reader,
        rx,
        outputs,
        selector,
        cfg.limits,
    )
}

/// `read -w`: the sink that copies the displayed frames into a capture file. It takes each
/// frame before the other sinks, so the file holds the frame of every row printed after it.
pub struct Save {
    writer: Writer,
}

impl Sink for Save {
    fn packet(&mut self, _out: &mut String, frame: &View<'_>) -> Result<()> {
        match frame.captured {
            Some(captured) => self.writer.write(captured),
            None => anyhow::bail!("internal error: the reader kept no bytes for -w"),
        }
    }

    fn header(&mut self, header: &FileHeader) -> Result<()> {
        self.writer.header(header)
    }

    /// After each batch: a read stopped by damage or a signal leaves a valid file.
    fn batch_end(&mut self) -> Result<()> {
        self.writer.flush()
    }
}

/// The display filter goes to the consumer, except under `--summary` when it reads only
/// connection fields: then it selects summary lines by itself (returned second).
fn selection(query: &Query, output: Output) -> (Selector, Option<Arc<DisplayFilter>>) {
    if output.summary == SummaryMode::Only && query.filter_is_per_connection() {
        (Selector::new(None), query.filter.clone())
    } else {
        (Selector::new(query.filter.clone()), None)
    }
}

/// Tracks the whole file once, keeping every connection's end. A damaged file stops this
/// pass quietly: the second pass prints the rows before the damage and the error.
fn first_pass(cfg: &Config) -> Result<Verdicts> {
    let (tx, rx) = source::channel();
    let opts = source::file::Options {
        filter: cfg.filter.clone(),
        keep_bytes: false,
    };
    let reader = merge::spawn_inputs(&cfg.input, opts, tx, Arc::new(AtomicU64::new(0)))?;
    let mut tracker = Tracker::new(cfg.limits);
    let mut verdicts = Verdicts::new();
    for msg in &rx {
        if let SourceMsg::Frames(batch) = msg {
            for frame in &batch {
                tracker.track(frame);
                for s in tracker.take_finished() {
                    verdicts.insert(s.stream, Arc::new(s));
                }
            }
        }
    }
    drop(rx);
    let _ = reader.join();
    verdicts.extend(tracker.finish().map(|s| (s.stream, Arc::new(s))));
    Ok(verdicts)
}

/// The consumer over a file's reader thread, then the reader's fate.
fn consume_file<W: Write + Send>(
    shown: &str,
    reader: std::thread::JoinHandle<()>,
    rx: crossbeam_channel::Receiver<SourceMsg>,
    outputs: Outputs<'_, W>,
    selector: Selector,
    limits: Limits,
) -> Result<()> {
    let result = consume(&rx, outputs, selector, limits, false);
    joined(shown, reader, rx, result)
}

/// How many shards track a `read` (`--threads`, [`shards`]): only for the summary table alone,
/// where the output does not follow the frames' order, with no filter on frames (a filter on
/// connection verdicts, `by_verdict`, selects summaries), and only over files that can be read
/// again if the shards give up.
fn shard_count(cfg: &Config, selector: &Selector, by_verdict: bool) -> Option<u32> {
    let o = &cfg.output;
    let table_only = o.summary == SummaryMode::Only
        && !o.json
        && o.zeek.is_none()
        && o.ladder.is_none()
        && !o.explain
        && (!o.filtered || by_verdict)
        && cfg.query.fields.is_none()
        && cfg.write.is_none();
    let files = (cfg.input.paths.iter()).all(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()));
    (cfg.threads > 1 && table_only && files && !selector.filters())
        .then_some(cfg.threads.min(64) as u32)
}

/// The consumer's `result`, then the reader's fate.
fn joined(
    shown: &str,
    reader: std::thread::JoinHandle<()>,
    rx: crossbeam_channel::Receiver<SourceMsg>,
    result: Result<()>,
) -> Result<()> {
    // Dropping the receiver unblocks a reader waiting on a full channel if we stopped early.
    drop(rx);
    // A reader that died without reporting (a panic inside the pcap parser) must not pass for
    // the end of the file: the rows stop there, so the exit code says so.
    if reader.join().is_err() && result.is_ok() {
        anyhow::bail!(
            "reading {shown} stopped at an internal error after the rows above; the file is \
             damaged"
        );
    }
    result
}

/// `capture --tui`: the view over a live capture, filled as packets arrive; quitting stops
/// the capture. The capture is also written to `file` (`-w`, or a temporary file), which
/// the ladder, follow and graph panes read back.
fn capture_tui(
    cfg: &CaptureConfig,
    rx: &crossbeam_channel::Receiver<SourceMsg>,
    stopper: &source::live::Stopper,
    title: String,
    file: &Path,
    counters: Arc<source::live::Counters>,
) -> Result<()> {
    let read = Config {
        input: source::merge::Inputs::one(file.to_path_buf()),
        filter: None,
        output: cfg.output,
        query: Query::default(),
        limits: cfg.limits,
        write: None,
        threads: 1,
    };
    view_while(
        crate::tui::TuiModel::new(&cfg.output)?,
        title,
        "capturing",
        Some(Box::new(LiveSource { read: &read })),
        Some(Box::new(move || counters.line())),
        |sink| {
            let outputs = Outputs::new(cfg.output, std::io::sink(), None).sink(Box::new(sink));
            let selector = Selector::new(cfg.query.filter.clone());
            consume(rx, outputs, selector, cfg.limits, true)
        },
        || stopper.stop(),
    )
}

/// A live view's way back: the panes read the capture file written so far; a display filter
/// is applied to the frames the view stored (and to those still to come), as the capture
/// goes on.
struct LiveSource<'a> {
    read: &'a Config,
}

impl crate::tui::Source for LiveSource<'_> {
    fn pane(&self, pane: crate::tui::Pane, stream: u32, width: u16, height: u16) -> Result<String> {
        tui_pane(self.read, pane, stream, width, height)
    }

    fn filter(&self, expr: &str, model: &crate::tui::SharedModel) -> Result<()> {
        let filter = typed_filter(expr)?;
        if filter.as_ref().is_some_and(|f| {
            Query {
                filter: Some(f.clone()),
                fields: None,
            }
            .needs_connection()
        }) {
            anyhow::bail!(
                "tcplens.conn.* fields are known when a connection ends: not on a live \
                 capture (open the -w file with `tcplens tui`)"
            );
        }
        crate::tui::lock(model).refilter(filter)
    }
}

/// `tcplens capture`: rows as packets arrive, then the summary when the capture stops (Ctrl-C,
/// SIGTERM, `-c`), then libpcap's statistics on stderr as tcpdump prints them.
pub fn capture(cfg: &CaptureConfig) -> Result<()> {
    capture_then(cfg, || {})
}

/// [`capture`], calling `ready` once the capture runs (the demo starts its experiment then,
/// so that the handshake is captured).
pub fn capture_then(cfg: &CaptureConfig, ready: impl FnOnce()) -> Result<()> {
    let mut opts = cfg.live.clone();
    // The interactive view's panes read the capture back: from -w's file, or from a
    // temporary one, removed at the end.
    let _temporary = match (cfg.tui, &opts.write) {
        (true, None) => {
            let t = tempfile::Builder::new()
                .prefix("tcplens-live-")
                .suffix(".pcap")
                .tempfile_in(crate::render::spill_dir())
                .context("cannot create a temporary capture file for the view")?;
            opts.write = Some(t.path().to_path_buf());
            Some(t)
        }
        _ => None,
    };
    let written = opts.write.clone();
    let live = source::live::open(opts)?;
    let counters = live.counters();
    let stopper = live.stopper();
    source::live::stop_on_signals(&stopper)?;
    // Not eprintln!/eprint!: they panic when stderr is a closed pipe (`2>&1 | head -1`).
    if !cfg.tui {
        let _ = writeln!(std::io::stderr(), "{}", live.listening());
    }
    let live_name = live.interface.clone();
    let (tx, rx) = source::channel();
    let capture = live.spawn(tx)?;
    ready();
    let result = if cfg.tui {
        capture_tui(
            cfg,
            &rx,
            &stopper,
            format!("live on {}", live_name),
            written.as_deref().unwrap_or(Path::new("-")),
            counters,
        )
    } else if let Some((stream, opts)) = &cfg.follow {
        let streams = stream.map_or(Streams::All, Streams::One);
        let outputs = Outputs::new(cfg.output, stdout(), None)
            .sink(Box::new(follower(opts, streams).end_at_close()));
        consume(&rx, outputs, Selector::default(), cfg.limits, true)
    } else if cfg.print {
        let (selector, verdict) = selection(&cfg.query, cfg.output);
        let outputs =
            Outputs::new(cfg.output, stdout(), cfg.query.fields.clone()).connection_filter(verdict);
        consume(&rx, outputs, selector, cfg.limits, true)
    } else {
        drain(&rx)
    };
    // The consumer may have stopped early (a closed pipe): stop the capture and unblock it.
    stopper.stop();
    drop(rx);
    let stats = capture
        .join()
        .map_err(|_| anyhow::anyhow!("the capture thread panicked"))?;
    if !result.as_ref().is_err_and(is_broken_pipe) {
        let _ = write!(std::io::stderr(), "{}", stats.lines());
    }
    result
}

/// `tcplens demo` without capture privileges: a capture held in memory, read as a file.
pub fn replay(name: &str, bytes: &'static [u8], output: Output) -> Result<()> {
    let (tx, rx) = source::channel();
    let opts = source::file::Options {
        filter: None,
        keep_bytes: output.quotes_data(),
    };
    let reader = source::file::spawn_bytes(name, bytes, opts, tx)?;
    let outputs = Outputs::new(output, stdout(), None);
    consume_file(
        name,
        reader,
        rx,
        outputs,
        Selector::default(),
        Limits::default(),
    )
}

/// `tcplens demo`: captures (rows as packets arrive) while `work` runs on its own thread, and
/// stops once it returned and its last segments had time to arrive.
pub fn capture_while<F>(live: source::live::Live, output: Output, work: F) -> Result<()>
where
    F: FnOnce() -> Result<()> + Send + 'static,
{
    let stopper = live.stopper();
    source::live::stop_on_signals(&stopper)?;
    let (tx, rx) = source::channel();
    let capture = live.spawn(tx)?;
    let stop = stopper.clone();
    let worker = std::thread::Builder::new()
        .name("tcplens-demo".into())
        .spawn(move || {
            let result = work();
            // The last ACK is on the wire when close() returns, not yet necessarily captured.
            std::thread::sleep(std::time::Duration::from_millis(200));
            stop.stop();
            result
        })?;
    let outputs = Outputs::new(output, std::io::BufWriter::new(std::io::stdout()), None);
    let result = consume(&rx, outputs, Selector::default(), Limits::default(), true);
    stopper.stop();
    drop(rx);
    let _ = capture.join();
    let worked = worker
        .join()
        .map_err(|_| anyhow::anyhow!("the demo thread panicked"))?;
    result.and(worked)
}

/// Nothing goes to stdout (`-q --no-summary`, `-w -`): receive, so the capture never blocks.
fn drain(rx: &crossbeam_channel::Receiver<SourceMsg>) -> Result<()> {
    let mut failure = None;
    for msg in rx {
        match msg {
            SourceMsg::Failed(e) => failure = Some(e),
            SourceMsg::Frames(_) | SourceMsg::Header(_) => {}
        }
    }
    failure.map_or(Ok(()), Err)
}

pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `tcplens interfaces`: `tcpdump -D`'s list, each device followed by its addresses.
pub fn interfaces() -> Result<()> {
    let mut text = String::new();
    for (i, d) in source::live::devices()?.iter().enumerate() {
        interface_lines(&mut text, i + 1, d);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn interface_lines(out: &mut String, n: usize, d: &pcap::Device) {
    use pcap::ConnectionStatus as C;
    use std::fmt::Write as _;
    let _ = write!(out, "{n}.{}", d.name);
    if let Some(desc) = &d.desc {
        let _ = write!(out, " ({desc})");
    }
    let f = &d.flags;
    let mut words: Vec<&str> = [
        (f.is_up(), "Up"),
        (f.is_running(), "Running"),
        (f.is_loopback(), "Loopback"),
        (f.is_wireless(), "Wireless"),
    ]
    .into_iter()
    .filter_map(|(on, w)| on.then_some(w))
    .collect();
    if words.is_empty() {
        words.push("none");
    }
    let status = match (&f.connection_status, f.is_wireless()) {
        (C::Unknown, false) => Some("Connection status unknown"),
        (C::Connected, false) => Some("Connected"),
        (C::Disconnected, false) => Some("Disconnected"),
        (C::Unknown, true) => Some("Association status unknown"),
        (C::Connected, true) => Some("Associated"),
        (C::Disconnected, true) => Some("Not associated"),
        (C::NotApplicable, _) => None,
    };
    words.extend(status);
    let _ = writeln!(out, " [{}]", words.join(", "));
    for a in &d.addresses {
        let _ = write!(out, "    {}", a.addr);
        if let Some(mask) = a.netmask.filter(|m| m.is_ipv4() == a.addr.is_ipv4()) {
            let ones = match mask {
                std::net::IpAddr::V4(m) => m.to_bits().count_ones(),
                std::net::IpAddr::V6(m) => m.to_bits().count_ones(),
            };
            let _ = write!(out, "/{ones}");
        }
        out.push('\n');
    }
}

/// Frames with their records and bytes when the source kept them: a source's batch, or the
/// fuzz driver's capture.
pub trait Frames {
    fn frames(&self) -> &[source::Frame];
    fn captured(&self, i: usize) -> Option<Captured<'_>>;
}

impl Frames for Batch {
    fn frames(&self) -> &[source::Frame] {
        self
    }

    fn captured(&self, i: usize) -> Option<Captured<'_>> {
        Batch::captured(self, i)
    }
}

/// The typed event stream every output consumes, in capture order (design.md): what the
/// tracker made of the frames. The end of input follows the last event ([`Tracking::end`]).
#[derive(Clone)]
pub enum Event {
    /// A connection left the tracker. Boxed: a summary is 200 bytes, and events are mostly
    /// frames.
    Ended(Box<Summary>),
    /// A frame: its place in its batch and what the tracker said of it. The display filter
    /// decides in the loop's second half whether it is shown.
    Frame(Tracked),
}

/// A tracked frame: its index in its batch and the tracker's verdict on its segment.
#[derive(Clone)]
pub struct Tracked {
    index: u32,
    tcp: Option<TcpInfo>,
}

/// The loop's first half: the tracker turns frames into events. The second half is
/// [`render`]: the display filter, then every sink. A file or live run runs the halves on
/// two threads (rows cost twice what tracking does, and with a display filter the tracker's
/// thread is the busier one, so the filter runs on the other), `--summary` on one; the fuzz
/// driver and the property test run both halves themselves, so they drive exactly this loop.
pub struct Tracking {
    tracker: Tracker,
    /// Every frame is an event (some output writes per frame, or a filter selects frames);
    /// otherwise only the first, whose time the summary counts from.
    every_frame: bool,
    started: bool,
}

impl Tracking {
    pub fn new(limits: Limits, every_frame: bool) -> Tracking {
        Tracking {
            tracker: Tracker::new(limits),
            every_frame,
            started: false,
        }
    }

    /// Tracks `frames`: each connection that left the tracker and each frame go to `events`,
    /// in order.
    pub fn frames(&mut self, frames: &impl Frames, events: &mut Vec<Event>) {
        for (index, frame) in frames.frames().iter().enumerate() {
            let tcp = self.tracker.track(frame);
            if self.tracker.has_finished() {
                let ended = self.tracker.take_finished();
                events.extend(ended.map(|s| Event::Ended(Box::new(s))));
            }
            if self.every_frame || !self.started {
                self.started = true;
                events.push(Event::Frame(Tracked {
                    index: index as u32,
                    tcp,
                }));
            }
        }
    }

    /// End of input: the connections still in the tracker, by stream, and how many were
    /// evicted.
    pub fn end(mut self) -> (flow::Left, u64) {
        let evicted = self.tracker.evicted;
        (self.tracker.finish(), evicted)
    }
}

/// The loop's second half: the display filter selects frames, and every event of a batch
/// goes to every sink. A rejected frame is neither formatted nor written.
pub fn render<W: Write>(
    outputs: &mut Outputs<'_, W>,
    selector: &mut Selector,
    frames: &impl Frames,
    events: impl IntoIterator<Item = Event>,
) -> Result<()> {
    for event in events {
        match event {
            Event::Ended(summary) => outputs.connection(&summary)?,
            Event::Frame(Tracked { index, tcp }) => {
                let i = index as usize;
                let Some(frame) = frames.frames().get(i) else {
                    continue;
                };
                let captured = frames.captured(i);
                let bytes = captured.map(|c| c.data);
                if let Some(shown) = selector.select(frame, tcp, bytes) {
                    outputs.packet(&shown.packet(frame, bytes), captured)?;
                }
            }
        }
    }
    outputs.latest(selector.latest);
    outputs.batch_end()
}

/// A frame the display filter selected (every frame, without one).
pub struct Shown {
    tcp: Option<TcpInfo>,
    times: FrameTimes,
    /// Its connection's end, on the second pass of a filter on `tcplens.conn.*`.
    conn: Option<Arc<Summary>>,
}

impl Shown {
    /// The frame as the field table and the renderers see it; `bytes` when the source kept them.
    pub fn packet<'a>(&'a self, frame: &'a source::Frame, bytes: Option<&'a [u8]>) -> Packet<'a> {
        Packet {
            frame,
            tcp: self.tcp.as_ref(),
            bytes,
            times: self.times,
            conn: self.conn.as_deref(),
        }
    }
}

/// The consumer's side of the display filter: each frame's times, the filter, and on a
/// second pass the connections' ends. The filter runs right after tracking, so a rejected
/// frame costs no formatting and no hand-over to the render thread.
#[derive(Default)]
pub struct Selector {
    filter: Option<Arc<DisplayFilter>>,
    verdicts: Option<Arc<Verdicts>>,
    first: Option<i128>,
    prev: Option<i128>,
    prev_shown: Option<i128>,
    /// The latest frame time read, displayed or not: the capture's span (tshark's
    /// `elapsed_time`, which io,stat's rows cover).
    latest: Option<i128>,
}

/// Every connection's end, by stream, from a first pass over the file.
type Verdicts = std::collections::HashMap<u32, Arc<Summary>>;

impl Selector {
    pub fn new(filter: Option<Arc<DisplayFilter>>) -> Selector {
        Selector {
            filter,
            ..Selector::default()
        }
    }

    /// Whether it selects frames (else every frame is displayed).
    fn filters(&self) -> bool {
        self.filter.is_some()
    }

    /// Whether `frame` is displayed, with its times and its connection's end.
    pub fn select(
        &mut self,
        frame: &source::Frame,
        tcp: Option<TcpInfo>,
        bytes: Option<&[u8]>,
    ) -> Option<Shown> {
        let now = frame.ts.as_nanos();
        let first = *self.first.get_or_insert(now);
        let times = FrameTimes {
            relative: FrameTimes::span(now, first),
            delta: FrameTimes::span(now, self.prev.unwrap_or(now)),
            delta_displayed: FrameTimes::span(now, self.prev_shown.unwrap_or(now)),
        };
        self.prev = Some(now);
        self.latest = Some(self.latest.map_or(now, |l| l.max(now)));
        let conn = match (&self.verdicts, &tcp) {
            (Some(v), Some(t)) => v.get(&t.stream).cloned(),
            _ => None,
        };
        let shown = Shown { tcp, times, conn };
        if let Some(filter) = &self.filter
            && !filter.matches(&shown.packet(frame, bytes))
        {
            return None;
        }
        self.prev_shown = Some(now);
        Some(shown)
    }
}

enum ToRender {
    Batch(Batch, Vec<Event>),
    /// A header block of the input, for a capture file.
    Header(FileHeader),
    /// End of input: the connections still in the table, and how many were evicted.
    End(flow::Left, u64),
}

/// `flush_idle` (live capture): stdout is flushed whenever no packet is waiting, so every
/// row reaches a pipe before tcplens waits for the next packet, as a flush per row would do,
/// but with one write per burst instead of one per row: at 80k packets/s a write per row
/// kept the consumer busy enough for the kernel's ring to overflow.
///
/// When an output writes per frame (rows, JSON records, ladders, field lines, `-w`), the
/// loop's second half runs on a thread of its own behind the tracker: formatting a row costs
/// twice what tracking its segment does, and the reader thread, which decodes, is idle half
/// the time, so on two cores the three stages share the work (docs/performance.md). With
/// only the summary to write, both halves run on this thread.
fn consume<W: Write + Send>(
    rx: &crossbeam_channel::Receiver<SourceMsg>,
    mut outputs: Outputs<'_, W>,
    selector: Selector,
    limits: Limits,
    flush_idle: bool,
) -> Result<()> {
    let mut selector = selector;
    let mut tracking = Tracking::new(limits, outputs.per_frame() || selector.filters());
    if !outputs.per_frame() {
        return consume_here(rx, &mut outputs, &mut selector, tracking, flush_idle);
    }
    let mut failure = None;
    let (to_render, rendering) = crossbeam_channel::bounded::<ToRender>(4);
    let rendered = std::thread::scope(|scope| {
        let render_thread = std::thread::Builder::new()
            .name("tcplens-render".into())
            .spawn_scoped(scope, move || -> Result<()> {
                for msg in &rendering {
                    match msg {
                        ToRender::Batch(batch, events) => {
                            render(&mut outputs, &mut selector, &batch, events)?;
                            if flush_idle && rendering.is_empty() {
                                outputs.flush()?;
                            }
                        }
                        ToRender::Header(header) => outputs.header(&header)?,
                        ToRender::End(left, evicted) => outputs.finish(left, evicted)?,
                    }
                }
                Ok(())
            })?;
        let mut stopped = false;
        for msg in rx {
            // A closed channel: the render thread stopped on an error, returned below.
            stopped = match msg {
                SourceMsg::Frames(batch) => {
                    let mut events = Vec::with_capacity(batch.len());
                    tracking.frames(&batch, &mut events);
                    to_render.send(ToRender::Batch(batch, events)).is_err()
                }
                SourceMsg::Header(header) => to_render.send(ToRender::Header(header)).is_err(),
                SourceMsg::Failed(e) => {
                    failure = Some(e);
                    false
                }
            };
            if stopped {
                break;
            }
        }
        if !stopped {
            let (left, evicted) = tracking.end();
            let _ = to_render.send(ToRender::End(left, evicted));
        }
        drop(to_render);
        render_thread
            .join()
            .map_err(|_| anyhow::anyhow!("the render thread panicked"))
    });
    rendered??;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Both halves of the loop on this thread (`--summary`: no rows to hand over; JSON still
/// writes each connection's record as it leaves).
fn consume_here<W: Write>(
    rx: &crossbeam_channel::Receiver<SourceMsg>,
    outputs: &mut Outputs<'_, W>,
    selector: &mut Selector,
    mut tracking: Tracking,
    flush_idle: bool,
) -> Result<()> {
    let mut failure = None;
    let mut events = Vec::new();
    for msg in rx {
        match msg {
            SourceMsg::Frames(batch) => {
                tracking.frames(&batch, &mut events);
                render(outputs, selector, &batch, events.drain(..))?;
                if flush_idle && rx.is_empty() {
                    outputs.flush()?;
                }
            }
            SourceMsg::Header(header) => outputs.header(&header)?,
            SourceMsg::Failed(e) => failure = Some(e),
        }
    }
    let (left, evicted) = tracking.end();
    outputs.finish(left, evicted)?;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// `tcplens follow ARGS` run in process, its output returned.
    fn follow_text(args: &[&str], held_limit: usize) -> String {
        let cli = crate::cli::Cli::try_parse_from(["tcplens", "follow"].iter().chain(args))
            .expect("arguments");
        let crate::cli::Command::Follow(args) = cli.command else {
            unreachable!()
        };
        let cfg = args.into_config().expect("config");
        let mut sink = follower(&cfg.opts, Streams::All).held_limit(held_limit);
        let mut out = Vec::new();
        run_file(
            &cfg.read,
            true,
            Selector::new(None),
            &mut sink,
            &mut out,
            false,
        )
        .expect("run");
        String::from_utf8(out).expect("text")
    }

    #[test]
    fn streams_waiting_their_turn_on_disk_print_as_from_memory() {
        // 40 connections open at once: 39 wait while stream 0 prints.
        for format in ["ascii", "hex", "json"] {
            let args = ["fixtures/interleaved_40.pcap", "--format", format];
            let in_memory = follow_text(&args, usize::MAX);
            assert_eq!(
                in_memory.matches("Filter: tcp.stream eq").count(),
                40 * (format != "json") as usize
            );
            assert_eq!(follow_text(&args, 64), in_memory, "{format}");
        }
    }
}
