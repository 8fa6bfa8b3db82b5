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

use crate::decode::{Decoded, decode};

/// Frames per channel message: amortizes channel synchronization over many packets. When the
/// consumer is the slower side the channel is full, and every batch it takes wakes the
/// source (a futex wake, a context switch): at 64 frames that was ~8,000 wake-ups for half a
/// million packets and ~10% of the consumer's time; at 512, one eighth of that.
pub const BATCH: usize = 512;
/// Captured bytes after which a file batch is sent even if it holds fewer than [`BATCH`]
/// frames: with 64 KiB loopback frames, 512 frames × 8 batches in flight would be 256 MiB.
/// With this cap the channel holds at most 2 MiB of frame data, whatever the file.
pub const BATCH_BYTES: usize = 256 << 10;
/// Batches in flight: bounds memory while letting the reader run ahead of the renderer
/// (4,096 frames at 512 a batch).
pub const CHANNEL_DEPTH: usize = 8;
/// Recycled frame buffers up to this capacity are always reused. Ethernet frames and
/// loopback frames of small writes fit, so the common case never allocates. A bigger buffer
/// is reused only for a frame at least as big (a run of 64 KiB loopback frames), and freed
/// when a smaller frame takes its slot, so the pool does not keep what one burst of big
/// frames left behind: small slots hold ≤ 4 KiB each, big ones ≤ BATCH_BYTES per batch.
const KEEP_CAPACITY: usize = 4 << 10;

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

/// One captured frame, owned, with the link type of the interface it came from, and its
/// layers decoded.
#[derive(Clone, Debug)]
pub struct Frame {
    /// 1-based position in the file, counting frames a filter rejected (as Wireshark does).
    pub number: u64,
    pub ts: Timestamp,
    /// Length on the wire; `data().len()` is the captured length.
    pub origlen: u32,
    /// LINKTYPE_* value of the frame's interface. This and the bytes are private, read through
    /// accessors, so that `decoded` always says what they hold.
    linktype: u32,
    data: Vec<u8>,
    /// `decode(linktype, &data)`, made where the frame is made: on the source's thread, so
    /// that decoding runs beside tracking and rendering rather than before them on the
    /// consumer's thread. With two cores the consumer was the bottleneck and the source
    /// thread idle most of the time (docs/performance.md).
    decoded: Decoded,
}

impl Frame {
    pub fn new(number: u64, ts: Timestamp, linktype: u32, origlen: u32, data: Vec<u8>) -> Frame {
        let decoded = decode(linktype, &data);
        Frame {
            number,
            ts,
            linktype,
            origlen,
            data,
            decoded,
        }
    }

    /// What each layer of the frame said.
    pub fn decoded(&self) -> &Decoded {
        &self.decoded
    }

    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    /// The captured bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
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
/// frames, buffers included, back to the source that sent it, so that after warm-up reading
/// a frame is one copy into a buffer that already exists: no allocation per packet.
pub struct Batch {
    frames: Vec<Frame>,
    recycle: Option<Sender<Vec<Frame>>>,
}

impl Batch {
    /// A batch that is not returned to any source when dropped.
    pub fn new(frames: Vec<Frame>) -> Batch {
        Batch {
            frames,
            recycle: None,
        }
    }
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
        if let Some(recycle) = self.recycle.take() {
            // A full pool or a source that has ended: the frames are simply freed.
            let _ = recycle.try_send(std::mem::take(&mut self.frames));
        }
    }
}

/// Builds batches on a source thread, reusing the frames of batches the consumer dropped.
pub struct Batcher {
    batch: Vec<Frame>,
    /// Slots of `batch` holding this batch's frames; the rest are recycled spares.
    filled: usize,
    bytes: usize,
    pool_tx: Sender<Vec<Frame>>,
    pool_rx: Receiver<Vec<Frame>>,
}

impl Default for Batcher {
    fn default() -> Batcher {
        // Every batch in the channel, one being rendered, one being filled, and slack.
        let (pool_tx, pool_rx) = bounded(CHANNEL_DEPTH + 4);
        Batcher {
            batch: Vec::with_capacity(BATCH),
            filled: 0,
            bytes: 0,
            pool_tx,
            pool_rx,
        }
    }
}

impl Batcher {
    /// Adds a copy of one frame; true when the batch has reached [`BATCH`] frames or holds
    /// [`BATCH_BYTES`] of buffers and should be sent. Counting the buffers' capacity rather
    /// than the frames' lengths bounds what the batches in flight and in the pool hold even
    /// when recycled slots kept bigger buffers (1514-byte Ethernet frames, then small ACKs).
    pub fn push(
        &mut self,
        number: u64,
        ts: Timestamp,
        linktype: u32,
        origlen: u32,
        data: &[u8],
    ) -> bool {
        let held = match self.batch.get_mut(self.filled) {
            Some(slot) => {
                slot.number = number;
                slot.ts = ts;
                slot.linktype = linktype;
                slot.origlen = origlen;
                if slot.data.capacity() > KEEP_CAPACITY.max(data.len()) {
                    // Keep the pool small: a big buffer goes when a smaller frame comes.
                    slot.data = Vec::new();
                }
                slot.data.clear();
                slot.data.extend_from_slice(data);
                slot.decoded = decode(linktype, data);
                slot.data.capacity()
            }
            None => {
                let frame = Frame::new(number, ts, linktype, origlen, data.to_vec());
                let held = frame.data.capacity();
                self.batch.push(frame);
                held
            }
        };
        self.filled += 1;
        self.bytes += held;
        self.filled >= BATCH || self.bytes >= BATCH_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// The frames pushed since the last call, as a batch that returns here when dropped.
    pub fn take(&mut self) -> Batch {
        let next = self
            .pool_rx
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let mut frames = std::mem::replace(&mut self.batch, next);
        frames.truncate(self.filled);
        self.filled = 0;
        self.bytes = 0;
        Batch {
            frames,
            recycle: Some(self.pool_tx.clone()),
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

    fn frame_ptrs(b: &Batch) -> Vec<*const u8> {
        b.iter().map(|f| f.data.as_ptr()).collect()
    }

    #[test]
    fn dropped_batches_come_back_with_their_buffers() {
        let mut batcher = Batcher::default();
        let ts = Timestamp::default();
        for n in 1..=3 {
            batcher.push(n, ts, 1, 60, &[n as u8; 60]);
        }
        let first = batcher.take();
        let ptrs = frame_ptrs(&first);
        drop(first);
        // Filling the next batch after the first was dropped leaves its buffers spare...
        let second = batcher.take();
        assert!(second.is_empty());
        drop(second);
        // ...and the one after reuses them, with the new contents.
        for n in 4..=6 {
            batcher.push(n, ts, 1, 60, &[n as u8; 60]);
        }
        let third = batcher.take();
        assert_eq!(frame_ptrs(&third), ptrs);
        assert_eq!(third[2].number, 6);
        assert_eq!(third[2].data, vec![6u8; 60]);
    }

    #[test]
    fn batch_is_sent_at_512_frames_or_256_kib() {
        let mut batcher = Batcher::default();
        let ts = Timestamp::default();
        assert!((1..BATCH as u64).all(|n| !batcher.push(n, ts, 1, 60, &[0; 60])));
        assert!(batcher.push(BATCH as u64, ts, 1, 60, &[0; 60]));
        assert_eq!(batcher.take().len(), BATCH);
        let big = vec![0u8; 65_536];
        assert!(!(1..4).any(|n| batcher.push(n, ts, 1, 65_536, &big)));
        assert!(batcher.push(4, ts, 1, 65_536, &big));
    }

    #[test]
    fn big_buffers_are_not_kept_for_small_frames() {
        let mut batcher = Batcher::default();
        let ts = Timestamp::default();
        batcher.push(1, ts, 1, 65_536, &vec![0u8; 65_536]);
        drop(batcher.take());
        drop(batcher.take());
        batcher.push(2, ts, 1, 60, &[1; 60]);
        let b = batcher.take();
        assert!(b[0].data.capacity() <= KEEP_CAPACITY);
        assert_eq!(b[0].data, vec![1u8; 60]);
    }
}
