//! Input formats and the whole-pipeline driver shared by the fuzz targets.
//!
//! The formats are byte layouts rather than `arbitrary` structures so that seeds can be written
//! by `scripts/fuzz-seeds` from real captures, and so that a crash input can be read by eye:
//!
//! - decode: `[link][frame bytes…]`
//! - file: the bytes of a pcap or pcapng file (seeds: the fixtures, and pcapng copies)
//! - pipeline: `[link][limits]` then frames, each `[len lo][len hi][time step][len bytes…]`
//!   (the last frame takes whatever is left when fewer than `len` bytes remain).
//!
//! `link` picks from [`LINKTYPES`] (modulo its length + 1; the extra slot is a link type
//! tcplens does not decode, which must still give a row).

use tcplens::cli::{LadderOpts, Output, SeqMode, SummaryMode};
use tcplens::decode::decode;
use tcplens::flow::{Limits, Tracker};
use tcplens::render::Renderer;
use tcplens::render::color::ColorMode;
use tcplens::source::{Frame, Timestamp};

/// Every link type tcplens decodes, then one it does not (LINKTYPE_IEEE802_11_RADIOTAP).
pub const LINKTYPES: [u32; 10] = [1, 113, 276, 0, 108, 12, 101, 228, 229, 127];

pub fn linktype(selector: u8) -> u32 {
    LINKTYPES[selector as usize % LINKTYPES.len()]
}

const NS: i128 = 1_000_000_000;

/// A pipeline input: link type, table limits and frames.
pub struct Capture {
    pub limits: Limits,
    pub frames: Vec<Frame>,
}

/// Parses the pipeline layout above. Small tables and short timeouts (chosen by the limits
/// byte) make eviction, idle expiry and 2×MSL expiry happen within a few frames.
pub fn capture(data: &[u8]) -> Capture {
    let (lt, lim, mut rest) = match data {
        [lt, lim, rest @ ..] => (linktype(*lt), *lim, rest),
        [lt] => (linktype(*lt), 0, &[][..]),
        [] => (1, 0, &[][..]),
    };
    let mut limits = Limits::default();
    if lim & 0x08 != 0 {
        limits.max_flows = 1 + (lim & 0x07) as usize;
    }
    if lim & 0x10 != 0 {
        limits.msl = NS;
        limits.idle_timeout = 5 * NS;
    }
    // Nanosecond precision when asked, so both time formats are exercised.
    let digits = if lim & 0x20 != 0 { 9 } else { 6 };
    let mut frames = Vec::new();
    // Start near a second boundary far from zero; time steps of 50 ms, 255 steps back 1 s.
    let mut now: i128 = 1_700_000_000 * NS;
    while let [lo, hi, step, body @ ..] = rest {
        let len = (u16::from_le_bytes([*lo, *hi]) as usize).min(body.len());
        let (bytes, tail) = body.split_at(len);
        now += if *step == 255 {
            -NS
        } else {
            *step as i128 * 50_000_000
        };
        let secs = now.div_euclid(NS) as i64;
        let nanos = now.rem_euclid(NS) as u32;
        frames.push(Frame {
            number: frames.len() as u64 + 1,
            ts: Timestamp {
                secs,
                nanos: if digits == 6 {
                    nanos / 1000 * 1000
                } else {
                    nanos
                },
                digits,
            },
            linktype: lt,
            origlen: bytes.len() as u32,
            data: bytes.to_vec(),
        });
        rest = tail;
    }
    Capture { limits, frames }
}

/// Every output mode `tcplens read` has; a new renderer mode is one more entry here.
pub fn outputs() -> Vec<Output> {
    let o = Output::rows;
    let ladder = |ascii, explain| Output {
        rows: false,
        ladder: Some(LadderOpts {
            width: 100,
            streaming: false,
        }),
        ascii,
        explain,
        ..Output::rows(false, ColorMode::Ansi256, SeqMode::Relative, SummaryMode::Rows)
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
        ladder(false, false),
        ladder(true, true),
        explained(false),
        explained(true),
    ]
}

/// decode → Tracker → every renderer, as `pipeline::consume` does, then checks what came out:
/// one text row per frame, valid UTF-8 everywhere, and every JSON line a JSON object.
pub fn run(cap: &Capture) {
    let outputs = outputs();
    let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); outputs.len()];
    let mut renderers: Vec<Renderer<&mut Vec<u8>>> = outputs
        .iter()
        .zip(bufs.iter_mut())
        .map(|(o, b)| Renderer::new(*o, b))
        .collect();
    let mut tracker = Tracker::new(cap.limits);
    for frame in &cap.frames {
        let decoded = decode(frame.linktype, &frame.data);
        let tcp = tracker.track(frame, &decoded);
        for r in &mut renderers {
            r.packet(frame, &decoded, tcp.as_ref())
                .expect("a Vec never fails");
        }
        for summary in tracker.take_finished() {
            for r in &mut renderers {
                r.connection(summary.clone()).expect("a Vec never fails");
            }
        }
    }
    for summary in tracker.finish() {
        for r in &mut renderers {
            r.connection(summary.clone()).expect("a Vec never fails");
        }
    }
    for r in &mut renderers {
        r.finish(tracker.evicted).expect("a Vec never fails");
    }
    drop(renderers);
    for (o, buf) in outputs.iter().zip(bufs) {
        let text = String::from_utf8(buf).expect("output is UTF-8");
        check(o, &text, cap.frames.len());
    }
}

fn check(o: &Output, text: &str, frames: usize) {
    if o.json {
        let mut packets = 0;
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("invalid JSON line ({e}): {line}"));
            packets += (v["type"] == "packet") as usize;
        }
        assert_eq!(packets, frames, "one JSON packet record per frame");
    } else if o.summary == SummaryMode::Off {
        assert_eq!(text.lines().count(), frames, "one row per frame:\n{text}");
    }
}
