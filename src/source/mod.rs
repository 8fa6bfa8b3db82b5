//! Frame sources: where packets come from (a file, or libpcap's live capture).
//!
//! A source runs on its own thread and pushes batches of [`Frame`]s through a bounded
//! crossbeam channel (design.md): a full channel blocks the source, so nothing is dropped
//! silently. A source never prints; it hands each frame's bytes to `decode` on its own thread
//! and sends the result with the capture metadata. The bytes themselves are kept only when
//! the file source is asked to (`read -w`): then each batch also carries its frames' records
//! (bytes, interface, raw timestamp) for [`write`], in a byte arena of its own. Errors travel
//! down the same channel after every frame read before them, so the consumer prints all
//! decoded rows first and the error last.

pub mod file;
pub mod filter;
pub mod live;
pub mod merge;
pub mod rotate;
pub mod write;

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::decode::defrag::Reassembler;
use crate::decode::{Decoded, Payload, Tcp, decode};

/// Frames per channel message: amortizes channel synchronization over many packets. When the
/// consumer is the slower side the channel is full, and every batch it takes wakes the
/// source (a futex wake, a context switch): at 64 frames that was ~8,000 wake-ups for half a
/// million packets and ~10% of the consumer's time; at 512, one eighth of that.
pub const BATCH: usize = 512;
/// Batches in flight: bounds memory while letting the reader run ahead of the renderer
/// (4,096 frames at 512 a batch, ~1 MiB whatever the frames' sizes, since a decoded frame
/// keeps at most 40 bytes of the packet: its TCP options).
pub const CHANNEL_DEPTH: usize = 8;
/// Kept bytes after which a batch is sent before it holds [`BATCH`] frames (only when the
/// source keeps bytes): 512 full-size Ethernet frames (775 KB) still make one batch, while
/// 512 loopback frames of 64 KiB would have held 32 MiB. With the batches in flight (the
/// channel, the tracker's, the render thread's) and the recycled ones, a few tens of MiB at
/// most, whatever the file.
pub const BATCH_BYTES: usize = 1 << 20;

/// Capture time of a frame, as the file or libpcap recorded it (never the wall clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
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
    /// Bytes captured (less than `origlen` when the snap length cut the frame).
    pub caplen: u32,
    /// Which input file the frame came from, when several are read as one
    /// ([`merge::file_name`]); 0 otherwise.
    pub file: u16,
    /// `decode(linktype, bytes, origlen)`, made where the frame is made: on the source's thread, so
    /// that decoding runs beside tracking and rendering rather than before them on the
    /// consumer's thread. With two cores the consumer was the bottleneck and the source
    /// thread idle most of the time (docs/performance.md).
    decoded: Decoded,
    /// The TCP payload of a segment reassembled from IP fragments, which the frame's own
    /// bytes do not hold; kept only when the source keeps bytes (follow, `--payload`,
    /// `tcp.payload`).
    reassembled: Option<Box<[u8]>>,
    /// The frame completed an IP datagram: `decoded` is the reassembled datagram's, which its
    /// own bytes alone do not give.
    pub completes_datagram: bool,
}

impl Frame {
    /// Decodes `data`, the captured bytes of a frame of link type `linktype`, on its own (an
    /// IP fragment stays a fragment: reassembly needs the capture's earlier frames, which
    /// the [`Batcher`] has).
    pub fn new(number: u64, ts: Timestamp, linktype: u32, origlen: u32, data: &[u8]) -> Frame {
        Frame {
            number,
            ts,
            origlen,
            caplen: data.len() as u32,
            file: 0,
            decoded: decode(linktype, data, origlen),
            reassembled: None,
            completes_datagram: false,
        }
    }

    /// What each layer of the frame said.
    pub fn decoded(&self) -> &Decoded {
        &self.decoded
    }

    /// The TCP segment's data (up to the header's length, as far as captured): from the
    /// frame's bytes, or from the reassembled datagram when IP fragments carried it.
    pub fn tcp_payload<'a>(&'a self, tcp: &Tcp, bytes: Option<&'a [u8]>) -> Option<&'a [u8]> {
        match &self.reassembled {
            Some(p) => p.get(..(tcp.len as usize).min(p.len())),
            None => crate::decode::tcp_payload(&self.decoded.layers, tcp, bytes?),
        }
    }
}

/// Where a frame's record sits in its file, as the file wrote it: what a writer needs to
/// copy it without losing anything (the bytes and the original length come with it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// pcapng: the frame's interface, numbered across the file (each section's interfaces
    /// after the previous sections', as Wireshark numbers them); pcap: 0.
    pub interface: u32,
    /// pcap: seconds; pcapng: the upper 32 bits of the timestamp in the interface's units.
    pub ts_high: u32,
    /// pcap: µs or ns (the file's precision); pcapng: the lower 32 bits.
    pub ts_low: u32,
}

/// A frame's record with its captured bytes, borrowed from the batch that carries it.
#[derive(Clone, Copy, Debug)]
pub struct Captured<'a> {
    pub record: Record,
    /// Length on the wire.
    pub origlen: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// What travels from a source thread to the tracker.
pub enum SourceMsg {
    Frames(Batch),
    /// A file's header block (pcap header, pcapng section or interface), sent before the
    /// frames that follow it; only by a file source that keeps bytes, for a writer.
    Header(write::FileHeader),
    /// The source stopped early; every frame before this message was delivered.
    Failed(anyhow::Error),
}

pub fn channel() -> (Sender<SourceMsg>, Receiver<SourceMsg>) {
    bounded(CHANNEL_DEPTH)
}

/// Frames sent together. Dropping a batch (once the consumer has rendered it) hands its
/// vectors back to the source that sent it, so that after warm-up making a batch allocates
/// nothing.
pub struct Batch {
    frames: Vec<Frame>,
    kept: Kept,
    recycle: Sender<(Vec<Frame>, Kept)>,
}

/// The records and bytes of a batch's frames, when the source keeps them: one arena per
/// batch rather than a buffer per frame (no allocation per frame, and nothing at all in a
/// `Frame` when bytes are not kept). `records[i]` belongs to frame `i` with the offset in
/// `bytes` where its bytes end; they start where the previous frame's end.
#[derive(Default)]
struct Kept {
    records: Vec<(Record, u32)>,
    bytes: Vec<u8>,
}

impl Batch {
    /// Frame `i`'s record and captured bytes; None when the source keeps no bytes.
    pub fn captured(&self, i: usize) -> Option<Captured<'_>> {
        let &(record, end) = self.kept.records.get(i)?;
        let start = match i {
            0 => 0,
            _ => self.kept.records[i - 1].1,
        };
        Some(Captured {
            record,
            origlen: self.frames[i].origlen,
            data: &self.kept.bytes[start as usize..end as usize],
        })
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
        // A full pool or a source that has ended: the vectors are simply freed. An arena
        // grown for a giant record is not kept for the next batch.
        let mut kept = std::mem::take(&mut self.kept);
        if kept.bytes.capacity() > 2 * BATCH_BYTES {
            kept.bytes = Vec::new();
        }
        let _ = self
            .recycle
            .try_send((std::mem::take(&mut self.frames), kept));
    }
}

/// Builds batches on a source thread, reusing the vectors of batches the consumer dropped.
pub struct Batcher {
    batch: Vec<Frame>,
    /// The capture's IP reassembly table: frames are pushed in order, so a fragment meets
    /// the earlier fragments of its datagram here (decode::defrag).
    defrag: Reassembler,
    kept: Kept,
    keep_bytes: bool,
    /// The input file the frames pushed now come from (several files read as one).
    file: u16,
    pool_tx: Sender<(Vec<Frame>, Kept)>,
    pool_rx: Receiver<(Vec<Frame>, Kept)>,
}

impl Default for Batcher {
    fn default() -> Batcher {
        // Every batch in the channel, one being rendered, one being filled, and slack.
        let (pool_tx, pool_rx) = bounded(CHANNEL_DEPTH + 4);
        Batcher {
            batch: Vec::with_capacity(BATCH),
            defrag: Reassembler::default(),
            kept: Kept::default(),
            keep_bytes: false,
            file: 0,
            pool_tx,
            pool_rx,
        }
    }
}

impl Batcher {
    /// A batcher whose batches also carry each frame's record and bytes ([`Batch::captured`]).
    pub fn keeping_bytes() -> Batcher {
        Batcher {
            keep_bytes: true,
            ..Batcher::default()
        }
    }

    /// The input file of the frames pushed from now on.
    pub fn set_file(&mut self, file: u16) {
        self.file = file;
    }

    /// Whether the batches carry their frames' bytes.
    pub fn keeps_bytes(&self) -> bool {
        self.keep_bytes
    }

    /// [`Batcher::push`], also keeping the frame's record and bytes when this batcher keeps
    /// bytes; true when the batch has reached [`BATCH`] frames or [`BATCH_BYTES`] of bytes.
    pub fn push_record(
        &mut self,
        number: u64,
        ts: Timestamp,
        linktype: u32,
        origlen: u32,
        data: &[u8],
        record: Record,
    ) -> bool {
        let frame = Frame::new(number, ts, linktype, origlen, data);
        self.push_decoded(frame, linktype, data, record)
    }

    /// [`Batcher::push_record`] of a frame already decoded (by a merged file's own reader
    /// thread): only what needs the frames in order is done here, IP reassembly.
    pub fn push_decoded(
        &mut self,
        frame: Frame,
        linktype: u32,
        data: &[u8],
        record: Record,
    ) -> bool {
        let full = self.push_frame(frame, linktype, data);
        if !self.keep_bytes {
            return full;
        }
        self.kept.bytes.extend_from_slice(data);
        // At most BATCH_BYTES plus one record of at most 16 MiB (file.rs's MAX_RECORD).
        let end = self.kept.bytes.len() as u32;
        self.kept.records.push((record, end));
        full || self.kept.bytes.len() >= BATCH_BYTES
    }

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
        self.push_frame(
            Frame::new(number, ts, linktype, origlen, data),
            linktype,
            data,
        )
    }

    /// A decoded frame into the batch, through the reassembly table (in capture order).
    fn push_frame(&mut self, mut frame: Frame, linktype: u32, data: &[u8]) -> bool {
        frame.file = self.file;
        let ts = frame.ts;
        if let Payload::Fragment { .. } = frame.decoded.payload
            && let Some(whole) = (self.defrag).add(&frame.decoded, data, linktype, ts.as_nanos())
        {
            frame.decoded = whole.decoded;
            frame.completes_datagram = true;
            if self.keep_bytes {
                frame.reassembled = whole
                    .payload_at
                    .and_then(|at| whole.datagram.get(at..))
                    .map(Box::from);
            }
        }
        self.batch.push(frame);
        self.batch.len() >= BATCH
    }

    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    /// The frames pushed since the last call, as a batch that returns here when dropped.
    pub fn take(&mut self) -> Batch {
        let (mut next, mut kept) = (self.pool_rx.try_recv())
            .unwrap_or_else(|_| (Vec::with_capacity(BATCH), Kept::default()));
        next.clear();
        kept.records.clear();
        kept.bytes.clear();
        Batch {
            frames: std::mem::replace(&mut self.batch, next),
            kept: std::mem::replace(&mut self.kept, kept),
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
        9 => "PPP",
        50 => "PPP_HDLC",
        104 => "C_HDLC",
        105 => "IEEE802_11",
        127 => "IEEE802_11_RADIO",
        129 => "ARCNET_LINUX",
        178 => "JUNIPER_ETHER",
        204 => "PPP_WITH_DIR",
        239 => "NFLOG",
        242 => "IPOIB",
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
        let batch = batcher.take();
        assert_eq!(batch.len(), BATCH);
        assert!(batch.captured(0).is_none(), "no bytes unless asked");
    }

    #[test]
    fn kept_bytes_come_with_their_records_and_cap_the_batch() {
        let mut batcher = Batcher::keeping_bytes();
        let ts = Timestamp::default();
        let record = |n: u32| Record {
            interface: n % 3,
            ts_high: n,
            ts_low: 1000 + n,
        };
        assert!(!batcher.push_record(1, ts, 1, 80, &[1; 60], record(1)));
        assert!(!batcher.push_record(2, ts, 1, 54, &[2; 54], record(2)));
        let batch = batcher.take();
        let second = batch.captured(1).expect("kept");
        assert_eq!((second.record, second.origlen), (record(2), 54));
        assert_eq!(second.data, &[2; 54][..]);
        let first = batch.captured(0).expect("kept");
        assert_eq!(
            (first.record, first.origlen, first.data),
            (record(1), 80, &[1; 60][..])
        );
        assert!(batch.captured(2).is_none());
        drop(batch);
        // 64 KiB frames: the batch is sent once it holds 1 MiB, not 32 MiB.
        let big = vec![0u8; 65_536];
        let sent = (1..=BATCH as u32)
            .position(|n| batcher.push_record(n as u64, ts, 1, 65_536, &big, record(n)))
            .expect("sent before 512 frames");
        assert_eq!(sent + 1, BATCH_BYTES / big.len());
        let batch = batcher.take();
        assert_eq!(batch.len(), 16);
        // A batch refilled from a recycled one holds only its own frames.
        drop(batch);
        drop(batcher.take());
        batcher.push_record(9, ts, 1, 3, &[9; 3], record(9));
        let batch = batcher.take();
        assert_eq!(batch.captured(0).map(|c| c.data), Some(&[9; 3][..]));
    }
}
