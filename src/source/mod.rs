//! Frame sources: where packets come from (a file, or libpcap's live capture).
//!
//! A source runs on its own thread and pushes batches of [`Frame`]s through a bounded
//! crossbeam channel (design.md): a full channel blocks the source, so nothing is dropped
//! silently. A source never prints; it hands each frame's bytes to `decode` on its own thread
//! and sends the result with the capture metadata (the bytes themselves are not kept: nothing
//! after decoding reads them). Errors travel down the same channel after every frame read
//! before them, so the consumer prints all decoded rows first and the error last.

pub mod file;
pub mod filter;
pub mod live;

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::decode::{Decoded, decode};

/// Frames per channel message: amortizes channel synchronization over many packets. When the
/// consumer is the slower side the channel is full, and every batch it takes wakes the
/// source (a futex wake, a context switch): at 64 frames that was ~8,000 wake-ups for half a
/// million packets and ~10% of the consumer's time; at 512, one eighth of that.
pub const BATCH: usize = 512;
/// Batches in flight: bounds memory while letting the reader run ahead of the renderer
/// (4,096 frames at 512 a batch, ~1 MiB whatever the frames' sizes, since a decoded frame
/// keeps at most 40 bytes of the packet: its TCP options).
pub const CHANNEL_DEPTH: usize = 8;

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

/// One captured frame: its capture metadata and what its layers said.
#[derive(Clone, Debug)]
pub struct Frame {
    /// 1-based position in the file, counting frames a filter rejected (as Wireshark does).
    pub number: u64,
    pub ts: Timestamp,
    /// Length on the wire.
    pub origlen: u32,
    /// `decode(linktype, bytes)`, made where the frame is made: on the source's thread, so
    /// that decoding runs beside tracking and rendering rather than before them on the
    /// consumer's thread. With two cores the consumer was the bottleneck and the source
    /// thread idle most of the time (docs/performance.md).
    decoded: Decoded,
}

impl Frame {
    /// Decodes `data`, the captured bytes of a frame of link type `linktype`.
    pub fn new(number: u64, ts: Timestamp, linktype: u32, origlen: u32, data: &[u8]) -> Frame {
        Frame {
            number,
            ts,
            origlen,
            decoded: decode(linktype, data),
        }
    }

    /// What each layer of the frame said.
    pub fn decoded(&self) -> &Decoded {
        &self.decoded
    }
}

/// What travels from a source thread to the tracker.
pub enum SourceMsg {
    Frames(Batch),
    /// The source stopped early; every frame before this message was delivered.
    Failed(anyhow::Error),
}

pub fn channel() -> (Sender<SourceMsg>, Receiver<SourceMsg>) {
    bounded(CHANNEL_DEPTH)
}

/// Frames sent together. Dropping a batch (once the consumer has rendered it) hands its
/// vector back to the source that sent it, so that after warm-up making a batch allocates
/// nothing.
pub struct Batch {
    frames: Vec<Frame>,
    recycle: Sender<Vec<Frame>>,
}

impl std::ops::Deref for Batch {
    type Target = [Frame];
    fn deref(&self) -> &[Frame] {
        &self.frames
    }
}

impl<'a> IntoIterator for &'a Batch {
    type Item = &'a Frame;
    type IntoIter = std::slice::Iter<'a, Frame>;
    fn into_iter(self) -> Self::IntoIter {
        self.frames.iter()
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        // A full pool or a source that has ended: the vector is simply freed.
        let _ = self.recycle.try_send(std::mem::take(&mut self.frames));
    }
}

/// Builds batches on a source thread, reusing the vectors of batches the consumer dropped.
pub struct Batcher {
    batch: Vec<Frame>,
    pool_tx: Sender<Vec<Frame>>,
    pool_rx: Receiver<Vec<Frame>>,
}

impl Default for Batcher {
    fn default() -> Batcher {
        // Every batch in the channel, one being rendered, one being filled, and slack.
        let (pool_tx, pool_rx) = bounded(CHANNEL_DEPTH + 4);
        Batcher {
            batch: Vec::with_capacity(BATCH),
            pool_tx,
            pool_rx,
        }
    }
}

impl Batcher {
    /// Decodes one frame into the batch; true when the batch has reached [`BATCH`] frames and
    /// should be sent.
    pub fn push(
        &mut self,
        number: u64,
        ts: Timestamp,
        linktype: u32,
        origlen: u32,
        data: &[u8],
    ) -> bool {
        (self.batch).push(Frame::new(number, ts, linktype, origlen, data));
        self.batch.len() >= BATCH
    }

    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    /// The frames pushed since the last call, as a batch that returns here when dropped.
    pub fn take(&mut self) -> Batch {
        let mut next = (self.pool_rx.try_recv()).unwrap_or_else(|_| Vec::with_capacity(BATCH));
        next.clear();
        Batch {
            frames: std::mem::replace(&mut self.batch, next),
            recycle: self.pool_tx.clone(),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_batches_come_back_to_be_refilled() {
        let mut batcher = Batcher::default();
        let ts = Timestamp::default();
        for n in 1..=3 {
            batcher.push(n, ts, 1, 60, &[n as u8; 60]);
        }
        let first = batcher.take();
        let vector = first.as_ptr();
        drop(first);
        // The next batch is filled into a fresh vector; the one after, into the first's.
        drop(batcher.take());
        batcher.push(4, ts, 1, 60, &[4; 60]);
        let third = batcher.take();
        assert_eq!(third.as_ptr(), vector);
        assert_eq!(third.len(), 1);
        assert_eq!(third[0].number, 4);
    }

    #[test]
    fn batch_is_sent_at_512_frames_whatever_their_size() {
        let mut batcher = Batcher::default();
        let ts = Timestamp::default();
        let big = vec![0u8; 65_536];
        assert!((1..BATCH as u64).all(|n| !batcher.push(n, ts, 1, 65_536, &big)));
        assert!(batcher.push(BATCH as u64, ts, 1, 60, &[0; 60]));
        assert_eq!(batcher.take().len(), BATCH);
    }
}
