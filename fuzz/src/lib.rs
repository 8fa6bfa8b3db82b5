//! Input formats and the whole-pipeline driver shared by the fuzz targets.
//!
//! The formats are byte layouts rather than `arbitrary` structures so that seeds can be written
//! by `scripts/fuzz-seeds` from real captures, and so that a crash input can be read by eye:
//!
//! - decode: `[link][frame bytes…]`
//! - file: the bytes of a pcap or pcapng file (seeds: the fixtures, and pcapng copies)
//! - pipeline: `[link][limits]` then frames, each `[len lo][len hi][time step][len bytes…]`
//!   (the last frame takes whatever is left when fewer than `len` bytes remain).
//! - dfilter: a display filter expression, a zero byte, then the pipeline layout.
//!
//! `link` picks from [`LINKTYPES`] (modulo its length; the last is a link type tcplens does
//! not decode, which must still give a row).

mod driver;

pub use driver::{Capture, filter, outputs, run};
use tcplens::flow::Limits;
use tcplens::source::{Frame, Timestamp};

/// Every link type tcplens decodes, then one it does not (LINKTYPE_MTP2, 140).
pub const LINKTYPES: [u32; 20] = [
    1, 113, 276, 0, 108, 12, 101, 228, 229, 127, 9, 50, 104, 105, 129, 178, 204, 239, 242, 140,
];

pub fn linktype(selector: u8) -> u32 {
    LINKTYPES[selector as usize % LINKTYPES.len()]
}

const NS: i128 = 1_000_000_000;

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
    let mut kept = Vec::new();
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
        frames.push(Frame::new(
            frames.len() as u64 + 1,
            Timestamp {
                secs,
                nanos: if digits == 6 {
                    nanos / 1000 * 1000
                } else {
                    nanos
                },
                digits,
            },
            lt,
            bytes.len() as u32,
            bytes,
        ));
        kept.push(bytes.to_vec());
        rest = tail;
    }
    Capture {
        limits,
        frames,
        bytes: kept,
    }
}
