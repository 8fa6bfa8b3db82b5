//! Frame sources: where packets come from (a file, or libpcap's live capture).
//!
//! A source runs on its own thread and pushes batches of [`Frame`]s through a bounded
//! crossbeam channel (design.md): a full channel blocks the source, so nothing is dropped
//! silently. A source never decodes or prints; it only copies frames and their capture
//! metadata. Errors travel down the same channel after every frame read before them, so the
//! consumer prints all decoded rows first and the error last.

pub mod file;
pub mod filter;
pub mod live;

use crossbeam_channel::{Receiver, Sender, bounded};

/// Frames per channel message: amortizes channel synchronization over many packets.
pub const BATCH: usize = 64;
/// Batches in flight: bounds memory while letting the reader run ahead of the renderer.
pub const CHANNEL_DEPTH: usize = 16;

/// Capture time of a frame, as the file or libpcap recorded it (never the wall clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
    /// Decimal digits of the capture's precision: 6 for µs, 9 for ns (Wireshark's
    /// "automatic" time precision follows the file).
    pub digits: u8,
}

impl Timestamp {
    pub fn as_nanos(&self) -> i128 {
        self.secs as i128 * 1_000_000_000 + self.nanos as i128
    }
}

/// One captured frame, owned, with the link type of the interface it came from.
#[derive(Clone, Debug)]
pub struct Frame {
    /// 1-based position in the file, counting frames a filter rejected (as Wireshark does).
    pub number: u64,
    pub ts: Timestamp,
    /// LINKTYPE_* value of the frame's interface.
    pub linktype: u32,
    /// Length on the wire; `data.len()` is the captured length.
    pub origlen: u32,
    pub data: Vec<u8>,
}

/// What travels from a source thread to the tracker.
pub enum SourceMsg {
    Frames(Vec<Frame>),
    /// The source stopped early; every frame before this message was delivered.
    Failed(anyhow::Error),
}

pub fn channel() -> (Sender<SourceMsg>, Receiver<SourceMsg>) {
    bounded(CHANNEL_DEPTH)
}

/// Link types the decoder understands, with the names libpcap gives them.
pub fn linktype_name(lt: u32) -> Option<&'static str> {
    Some(match lt {
        0 => "NULL",
        1 => "EN10MB",
        12 | 101 => "RAW",
        108 => "LOOP",
        113 => "LINUX_SLL",
        228 => "IPV4",
        229 => "IPV6",
        276 => "LINUX_SLL2",
        _ => return None,
    })
}
