//! The whole pipeline over every output mode, and what its output must satisfy. Shared by the
//! fuzz targets (through this crate) and by `tests/proptest_pipeline.rs` (through `#[path]`),
//! so the property test and the fuzzers check exactly the same things.

use tcplens::cli::{LadderOpts, Output, SeqMode, SummaryMode};
use tcplens::dfilter::DisplayFilter;
use tcplens::fields::FIELDS;
use tcplens::flow::{Limits, Summary};
use tcplens::pipeline::{Event, Frames, Selector, Tracking, render};
use tcplens::render::Outputs;
use tcplens::render::color::ColorMode;
use tcplens::render::fields::FieldsFormat;
use tcplens::source::{Captured, Frame, Record};

/// Frames (each with its link type) and the flow table's limits.
pub struct Capture {
    pub limits: Limits,
    pub frames: Vec<Frame>,
    /// Each frame's bytes, for the fields that read them.
    pub bytes: Vec<Vec<u8>>,
}

impl Frames for Capture {
    fn frames(&self) -> &[Frame] {
        &self.frames
    }

    fn captured(&self, i: usize) -> Option<Captured<'_>> {
        Some(Captured {
            record: Record::default(),
            origlen: self.frames.get(i)?.origlen,
            data: self.bytes.get(i)?,
        })
    }
}

/// A display filter over a capture, as `tcplens read -Y EXPR -T fields -e <every field>`
/// runs it: an expression compiles or fails with a caret, never a panic; a compiled filter
/// selects frames after tracking; every field of every selected frame prints.
pub fn filter(expr: &str, cap: &Capture) {
    let filter = match DisplayFilter::compile(expr) {
        Ok(f) => std::sync::Arc::new(f),
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.contains('^'), "an error points at its place: {shown}");
            return;
        }
    };
    let names: Vec<String> = FIELDS.iter().map(|f| f.name.to_string()).collect();
    let format = FieldsFormat::new(&names, &[]).expect("every field is known");
    let mut out = Vec::new();
    let mut outputs = Outputs::new(
        Output::rows(false, ColorMode::Off, SeqMode::Relative, SummaryMode::Off),
        &mut out,
        Some(std::sync::Arc::new(format)),
    );
    let mut tracking = Tracking::new(cap.limits, true);
    let mut events = Vec::new();
    tracking.frames(cap, &mut events);
    let mut selector = Selector::new(Some(filter));
    render(&mut outputs, &mut selector, cap, events).expect("a Vec never fails");
    drop(outputs);
    let text = String::from_utf8(out).expect("field lines are UTF-8");
    assert!(text.lines().all(|l| l.split('\t').count() == FIELDS.len()));
}

/// Every output mode `tcplens read` has; a new renderer mode is one more entry here.
pub fn outputs() -> Vec<Output> {
    let o = Output::rows;
    let ladder = |ascii, explain, summary| Output {
        rows: false,
        ladder: Some(LadderOpts {
            width: 100,
            streaming: false,
        }),
        ascii,
        explain,
        ..Output::rows(false, ColorMode::Ansi256, SeqMode::Relative, summary)
    };
    let explained = |json| Output {
        explain: true,
        ..Output::rows(json, ColorMode::Off, SeqMode::Relative, SummaryMode::Off)
    };
    vec![
        // First: plain rows without summary, the one whose line count is checked.
        o(false, ColorMode::Off, SeqMode::Relative, SummaryMode::Off),
        o(false, ColorMode::Ansi256, SeqMode::Raw, SummaryMode::Rows),
        o(
            false,
            ColorMode::Truecolor,
            SeqMode::Both,
            SummaryMode::Rows,
        ),
        o(true, ColorMode::Off, SeqMode::Relative, SummaryMode::Rows),
        o(true, ColorMode::Off, SeqMode::Both, SummaryMode::Off),
        o(false, ColorMode::Off, SeqMode::Relative, SummaryMode::Only),
        ladder(false, false, SummaryMode::Rows),
        // Without the summary, whose table keeps its → and · under --ascii.
        ladder(true, true, SummaryMode::Off),
        explained(false),
        explained(true),
    ]
}

/// decode → Tracker → every output, through the pipeline's own loop (`Tracking`, `render`), then checks what came out
/// (panicking on a violation, which libFuzzer and proptest both report): one text row per
/// frame, valid UTF-8 everywhere, and every JSON line valid JSON, one packet record per frame.
pub fn run(cap: &Capture) {
    let outputs = outputs();
    let mut tracking = Tracking::new(cap.limits, true);
    let mut events = Vec::new();
    tracking.frames(cap, &mut events);
    let frames = events
        .iter()
        .filter(|e| matches!(e, Event::Frame(_)))
        .count();
    assert_eq!(frames, cap.frames.len(), "every frame is an event");
    let (left, evicted) = tracking.end();
    let left: Vec<Summary> = left.collect();
    for o in &outputs {
        let mut buf = Vec::new();
        let mut run = Outputs::new(*o, &mut buf, None);
        render(
            &mut run,
            &mut Selector::default(),
            cap,
            events.iter().cloned(),
        )
        .expect("a Vec never fails");
        run.finish(left.iter().cloned(), evicted)
            .expect("a Vec never fails");
        drop(run);
        let text = String::from_utf8(buf).expect("output is UTF-8");
        check(o, &text, cap.frames.len());
    }
}

fn check(o: &Output, text: &str, frames: usize) {
    if o.ladder.is_some() {
        // Arrows only for tracked TCP segments: nothing to count, only no panic, UTF-8, and
        // pure ASCII when asked.
        assert!(
            !o.ascii || text.is_ascii(),
            "--ascii output is ASCII: {:?}",
            text.lines().filter(|l| !l.is_ascii()).collect::<Vec<_>>()
        );
    } else if o.json {
        let mut packets = 0;
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("invalid JSON line ({e}): {line}"));
            packets += (v["type"] == "packet") as usize;
            if o.explain && v["type"] == "packet" {
                assert!(
                    v["explain"].as_str().is_some_and(|e| e.ends_with('.')),
                    "a sentence in every packet record: {line}"
                );
            }
        }
        assert_eq!(packets, frames, "one JSON packet record per frame");
    } else if o.summary == SummaryMode::Off {
        // With --explain each row has its sentence on the next line.
        let per_frame = if o.explain { 2 } else { 1 };
        assert_eq!(
            text.lines().count(),
            per_frame * frames,
            "one row (and sentence) per frame:\n{text}"
        );
    } else if o.summary == SummaryMode::Rows {
        // The rows, then the connection table after a blank line.
        let rows = text.lines().take_while(|l| !l.is_empty()).count();
        assert_eq!(
            rows, frames,
            "one row per frame before the summary:\n{text}"
        );
    }
}
