//! pcap and pcapng files, read with `pcap-parser` rather than libpcap: libpcap refuses pcapng
//! files whose interfaces have different link types (tcpdump fails on them), Wireshark reads
//! them, and so must tcplens. Filters still use libpcap's BPF compiler, one program per link
//! type, run over each frame with libpcap's offline filter. Asked to keep bytes (for `-w`, see
//! `write.rs`), the reader also sends the file's header blocks and each frame's record.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use anyhow::{Context, Result, anyhow, bail};
use crossbeam_channel::Sender;
use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapError, create_reader};

use super::filter::{CompiledFilter, Filter};
use super::write::{FileHeader, PcapHeader, Section};
use super::{Batcher, Frame, Record, SourceMsg, Timestamp};

/// Initial read buffer; grown for larger records up to [`MAX_RECORD`]. 256 KiB: 1 MiB read
/// no faster (short.pcap's `--summary` and rows within their σ), and was 0.7 MiB of its peak.
const BUFFER: usize = 256 << 10;
/// Initial read buffer of each of several files read as one: 20 rotated files with 1 MiB
/// each took 8,000 more page faults than one file (~25 ms of `--summary`'s CPU on short.pcap
/// cut in 20), for reads of 2 MiB a second per file at most.
pub(super) const MERGED_BUFFER: usize = 128 << 10;
/// Largest record accepted: libpcap's own limit for a packet is 256 KiB; anything claiming
/// more than this is damage, and must be an error, not an allocation.
const MAX_RECORD: usize = 16 << 20;
/// pcap and pcapng magic numbers in file order, to tell a cut header from a foreign file.
pub(super) const MAGICS: [[u8; 4]; 5] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x0a, 0x0d, 0x0d, 0x0a],
];

#[derive(Clone, Copy)]
pub(super) struct Interface {
    pub(super) linktype: u32,
    /// Timestamp units per second.
    resolution: u64,
    offset_secs: i64,
    digits: u8,
}

/// What the reader does besides decoding every frame.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Frames the filter rejects are not sent (their numbers still count).
    pub filter: Option<Filter>,
    /// Send each frame's bytes and record with it, and the file's header blocks before the
    /// frames they describe ([`SourceMsg::Header`]): what a writer (`-w`) needs. Off, a batch
    /// holds no bytes at all.
    pub keep_bytes: bool,
}

/// A capture file opened on the caller's thread, so that a missing file fails before any
/// output starts (and before a `-w` file is created).
pub struct Input {
    path: PathBuf,
    file: File,
}

/// Opens `path` for [`spawn`].
pub fn open(path: PathBuf) -> Result<Input> {
    let file = open_file(&path)?;
    Ok(Input { path, file })
}

/// Starts the reader thread over `input`; `read` counts the bytes read so far (for a
/// progress display, which is the renderer's business, not the reader's).
pub fn spawn(
    input: Input,
    opts: Options,
    tx: Sender<SourceMsg>,
    read: Arc<AtomicU64>,
) -> Result<JoinHandle<()>> {
    let counted = Counting {
        inner: input.file,
        read,
    };
    start(input.path, counted, opts, tx)
}

/// Bytes already taken from the front of `inner`, handed back on the first read together with
/// as much of `inner` as fits: pcap-parser judges the file header from its first read alone,
/// so a plain `chain` (4 bytes, then the rest) would look like a cut header.
struct Prefixed<R> {
    head: [u8; 4],
    len: usize,
    inner: R,
}

impl<R: Read> Read for Prefixed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.len == 0 {
            return self.inner.read(buf);
        }
        let n = self.len.min(buf.len());
        buf[..n].copy_from_slice(&self.head[..n]);
        self.head.copy_within(n..self.len, 0);
        self.len -= n;
        if self.len > 0 || n == buf.len() {
            return Ok(n);
        }
        // An error here resurfaces on the next call; these n bytes are not lost.
        Ok(n + self.inner.read(&mut buf[n..]).unwrap_or(0))
    }
}

/// Counts the bytes that pass, once per read call (the parser reads up to its buffer, 256 KiB, at a time).
pub(super) struct Counting<R> {
    pub(super) inner: R,
    pub(super) read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Starts the reader thread over a capture held in memory (the demo's bundled recording);
/// `name` stands for the file in messages.
pub fn spawn_bytes(
    name: &str,
    bytes: &'static [u8],
    opts: Options,
    tx: Sender<SourceMsg>,
) -> Result<JoinHandle<()>> {
    start(PathBuf::from(name), std::io::Cursor::new(bytes), opts, tx)
}

fn start<R: Read + Send + 'static>(
    path: PathBuf,
    input: R,
    opts: Options,
    tx: Sender<SourceMsg>,
) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("tcplens-reader".into())
        .spawn(move || {
            let mut out = Direct::new(opts, tx);
            let reader = Reader {
                path,
                buffer: BUFFER,
            };
            if let Err(e) = reader.run(input, &mut out) {
                let _ = out.flush();
                let _ = out.send_failure(e);
            }
        })
        .context("cannot start the reader thread")
}

pub(super) fn open_file(path: &Path) -> Result<File> {
    let meta = std::fs::metadata(path)
        .map_err(|e| anyhow!("cannot read {}: {e}; check the path", path.display()))?;
    if meta.is_dir() {
        bail!(
            "{} is a directory: give a pcap or pcapng file",
            path.display()
        );
    }
    File::open(path)
        .map_err(|e| anyhow!("cannot open {}: {e}; check its permissions", path.display()))
}

/// Where a reader's header blocks and frames go: straight into batches for the consumer, or,
/// when several files are merged, to the merging thread.
pub(super) trait Emit {
    /// Whether header blocks are wanted (`make` is not called otherwise).
    fn wants_headers(&self) -> bool;
    fn header(&mut self, make: impl FnOnce() -> FileHeader) -> Result<()>;
    fn frame(
        &mut self,
        number: u64,
        iface: Interface,
        ts: Timestamp,
        origlen: u32,
        data: &[u8],
        record: Record,
    ) -> Result<()>;
    fn flush(&mut self) -> Result<()>;
}

/// Parses one capture file.
pub(super) struct Reader {
    pub(super) path: PathBuf,
    /// The initial read buffer: [`BUFFER`] for one file; less for each of several merged
    /// files ([`MERGED_BUFFER`]).
    pub(super) buffer: usize,
}

impl Reader {
    pub(super) fn run(&self, input: impl Read + Send, out: &mut impl Emit) -> Result<()> {
        let shown = self.path.display().to_string();
        // Peek at the magic number (then hand it back in front of the rest): a file shorter
        // than a magic number counts as cut when it is the start of one.
        let mut magic = [0u8; 4];
        let mut input = input;
        let mut got = 0;
        while got < magic.len() {
            match input.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(anyhow!("cannot read {shown}: {e}")),
            }
        }
        let known_magic = got > 0 && MAGICS.iter().any(|m| m.starts_with(&magic[..got]));
        let input = Prefixed {
            head: magic,
            len: got,
            inner: input,
        };
        let pcapng = got == 4 && magic == [0x0a, 0x0d, 0x0d, 0x0a];
        let mut reader = create_reader(self.buffer, input).map_err(|e| match e {
            PcapError::Eof => anyhow!("{shown} is empty: it holds no capture header"),
            PcapError::Incomplete(_) | PcapError::UnexpectedEof if known_magic => {
                anyhow!("{shown} is cut short inside its file header: it holds no frame")
            }
            PcapError::HeaderNotRecognized | PcapError::Incomplete(_) => anyhow!(
                "{shown} is not a pcap or pcapng file (unknown magic number): \
                 give a capture written by tcpdump, Wireshark or tcplens -w"
            ),
            other => anyhow!("cannot read {shown}: {other:?}"),
        })?;
        let mut interfaces: Vec<Interface> = Vec::new();
        // Interfaces of the sections before this one: records number interfaces across the
        // file, as Wireshark does.
        let mut earlier_interfaces = 0u32;
        let mut legacy = None;
        // Byte order of the file (pcap) or of the current section (pcapng), to read the length
        // a record claims when it does not fit the buffer.
        let mut big_endian = false;
        let mut capacity = self.buffer;
        let mut number = 0u64;
        let mut offset = 0usize;
        loop {
            // pcap-parser 0.17 subtracts 12 from a block's length before checking it for some
            // block types (a process information block claiming 9 bytes panics in a debug
            // build, and asks for 4 GB in release): no pcapng block is shorter than 12 bytes
            // (type, two lengths), so say so before handing it over. Found by the file fuzzer.
            if pcapng
                && let Some(n) = claimed_len(reader.data(), false, big_endian)
                && n < 12
                && reader.data().get(..4) != Some(&[0x0a, 0x0d, 0x0d, 0x0a])
            {
                bail!(
                    "{shown}: unreadable record at byte {offset} (after frame {number}): \
                     malformed block (it claims {n} bytes, less than any block has)"
                );
            }
            match reader.next() {
                Ok((len, block)) => {
                    let frame = match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            let nanos = h.is_nanosecond_precision();
                            big_endian = h.is_bigendian();
                            out.header(|| {
                                FileHeader::Pcap(PcapHeader {
                                    nanos,
                                    version_major: h.version_major,
                                    version_minor: h.version_minor,
                                    thiszone: h.thiszone,
                                    sigfigs: h.sigfigs,
                                    snaplen: h.snaplen,
                                    network: h.network.0 as u32,
                                })
                            })?;
                            legacy = Some(Interface {
                                linktype: h.network.0 as u32 & 0xffff,
                                resolution: if nanos { 1_000_000_000 } else { 1_000_000 },
                                offset_secs: 0,
                                digits: if nanos { 9 } else { 6 },
                            });
                            None
                        }
                        PcapBlockOwned::Legacy(b) => {
                            let iface = legacy.ok_or_else(|| anyhow!("record before header"))?;
                            number += 1;
                            let ts = Timestamp {
                                secs: b.ts_sec as i64,
                                nanos: scale_fraction(b.ts_usec as u64, iface.resolution),
                                digits: iface.digits,
                            };
                            let record = Record {
                                interface: 0,
                                ts_high: b.ts_sec,
                                ts_low: b.ts_usec,
                            };
                            Some((iface, ts, b.origlen, b.data, record))
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                            // Interface ids are per section (pcapng §4.1).
                            earlier_interfaces =
                                earlier_interfaces.saturating_add(interfaces.len() as u32);
                            interfaces.clear();
                            big_endian = shb.big_endian();
                            out.header(|| {
                                FileHeader::Section(Section::from_options(&shb.options))
                            })?;
                            None
                        }
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            out.header(|| {
                                FileHeader::Interface(super::write::Interface::from_block(
                                    idb.linktype.0 as u16,
                                    idb.snaplen,
                                    &idb.options,
                                    big_endian,
                                ))
                            })?;
                            let resolution = idb.ts_resolution().unwrap_or(1_000_000).max(1);
                            interfaces.push(Interface {
                                linktype: idb.linktype.0 as u32 & 0xffff,
                                resolution,
                                offset_secs: idb.ts_offset(),
                                digits: digits_for(resolution),
                            });
                            None
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            number += 1;
                            let iface = *interfaces.get(epb.if_id as usize).ok_or_else(|| {
                                anyhow!(
                                    "{shown}: frame {number} (the block at byte {offset}) names \
                                     interface {} but the section describes only {}: the file \
                                     is damaged; every whole frame before it was read",
                                    epb.if_id,
                                    interfaces.len()
                                )
                            })?;
                            let ticks = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                            let ts = Timestamp {
                                // Wrapping: a damaged if_tsoffset is shown, not a panic.
                                secs: ((ticks / iface.resolution) as i64)
                                    .wrapping_add(iface.offset_secs),
                                nanos: scale_fraction(ticks % iface.resolution, iface.resolution),
                                digits: iface.digits,
                            };
                            let caplen = (epb.caplen as usize).min(epb.data.len());
                            let record = Record {
                                interface: earlier_interfaces.saturating_add(epb.if_id),
                                ts_high: epb.ts_high,
                                ts_low: epb.ts_low,
                            };
                            Some((iface, ts, epb.origlen, &epb.data[..caplen], record))
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            number += 1;
                            let iface = *interfaces.first().ok_or_else(|| {
                                anyhow!(
                                    "{shown}: the simple packet block at byte {offset} comes \
                                     before any interface description: the file is damaged"
                                )
                            })?;
                            // A simple packet block has no timestamp (pcapng §4.4).
                            let ts = Timestamp {
                                digits: iface.digits,
                                ..Timestamp::default()
                            };
                            let caplen = (spb.origlen as usize).min(spb.data.len());
                            // Written back as an enhanced packet block with timestamp 0.
                            let record = Record {
                                interface: earlier_interfaces,
                                ..Record::default()
                            };
                            Some((iface, ts, spb.origlen, &spb.data[..caplen], record))
                        }
                        PcapBlockOwned::NG(_) => None,
                    };
                    if let Some((iface, ts, origlen, data, record)) = frame {
                        out.frame(number, iface, ts, origlen, data, record)?;
                    }
                    offset += len;
                    reader.consume(len);
                }
                Err(PcapError::Eof) => break,
                Err(PcapError::Incomplete(_)) => {
                    reader
                        .refill()
                        .map_err(|_| anyhow!("read error in {shown}"))?;
                }
                Err(PcapError::BufferTooSmall) => {
                    // Grow to what the record claims (at least double, so this ends), never
                    // past MAX_RECORD: a damaged length is an error, not an allocation.
                    let claimed = claimed_len(reader.data(), !pcapng, big_endian)
                        .unwrap_or(2 * capacity as u64);
                    if claimed > MAX_RECORD as u64 || capacity >= MAX_RECORD {
                        bail!(
                            "{shown}: the record at byte {offset} (after frame {number}) claims \
                             {claimed} bytes, beyond the {} MiB a record may have: the file is \
                             damaged; every whole frame before it was read",
                            MAX_RECORD >> 20
                        );
                    }
                    capacity = (claimed as usize)
                        .next_power_of_two()
                        .max(2 * capacity)
                        .min(MAX_RECORD);
                    reader.grow(capacity);
                    reader
                        .refill()
                        .map_err(|_| anyhow!("read error in {shown}"))?;
                }
                Err(PcapError::UnexpectedEof) => bail!(
                    "{shown} is cut short: the record at byte {offset} (after frame {number}) \
                     is incomplete; every whole frame before it was read"
                ),
                Err(e) => bail!(
                    "{shown}: unreadable record at byte {offset} (after frame {number}): {}",
                    describe(&e)
                ),
            }
        }
        out.flush()
    }
}

/// Frames filtered and batched for the consumer.
pub(super) struct Direct {
    filter: Option<CompiledFilter>,
    tx: Sender<SourceMsg>,
    batcher: Batcher,
}

impl Direct {
    pub(super) fn new(opts: Options, tx: Sender<SourceMsg>) -> Direct {
        Direct {
            filter: opts.filter.map(CompiledFilter::new),
            tx,
            batcher: match opts.keep_bytes {
                true => Batcher::keeping_bytes(),
                false => Batcher::default(),
            },
        }
    }

    /// The input file of the frames that follow (several files read as one).
    pub(super) fn set_file(&mut self, file: u16) {
        self.batcher.set_file(file);
    }

    /// The reading ended at `e`: after the frames before it.
    pub(super) fn send_failure(&mut self, e: anyhow::Error) -> Result<()> {
        self.tx
            .send(SourceMsg::Failed(e))
            .map_err(|_| anyhow!(Stopped))
    }
}

impl Direct {
    /// [`Emit::frame`] of a frame its file's reader thread decoded already (merged inputs:
    /// decoding, the most work per frame, runs on every file's thread at once), numbered
    /// `number` in merged order.
    pub(super) fn decoded(
        &mut self,
        number: u64,
        iface: Interface,
        mut frame: Frame,
        data: &[u8],
        record: Record,
    ) -> Result<()> {
        if self.drops(iface, data)? {
            return Ok(());
        }
        frame.number = number;
        let full = (self.batcher).push_decoded(frame, iface.linktype, data, record);
        self.flush_if(full)
    }

    /// Whether the BPF filter, if any, rejects the frame.
    fn drops(&mut self, iface: Interface, data: &[u8]) -> Result<bool> {
        match &mut self.filter {
            Some(filter) => Ok(!filter.matches(iface.linktype, data)?),
            None => Ok(false),
        }
    }

    /// Sends the batch on once a frame pushed filled it.
    fn flush_if(&mut self, full: bool) -> Result<()> {
        if full {
            self.flush()?;
        }
        Ok(())
    }
}

impl Emit for Direct {
    fn wants_headers(&self) -> bool {
        self.batcher.keeps_bytes()
    }

    fn frame(
        &mut self,
        number: u64,
        iface: Interface,
        ts: Timestamp,
        origlen: u32,
        data: &[u8],
        record: Record,
    ) -> Result<()> {
        // A link type decode has no decoder for is still read: each frame is a row that
        // says where decoding stopped (decode::Reason::LinkType).
        if self.drops(iface, data)? {
            return Ok(());
        }
        let full = (self.batcher).push_record(number, ts, iface.linktype, origlen, data, record);
        self.flush_if(full)
    }

    /// Sends a header block of the file, after the frames before it, when bytes are kept
    /// (`make` is not called otherwise: nothing to build when there is no writer).
    fn header(&mut self, make: impl FnOnce() -> FileHeader) -> Result<()> {
        if !self.wants_headers() {
            return Ok(());
        }
        self.flush()?;
        self.tx
            .send(SourceMsg::Header(make()))
            .map_err(|_| anyhow!(Stopped))
    }

    fn flush(&mut self) -> Result<()> {
        if self.batcher.is_empty() {
            return Ok(());
        }
        let batch = self.batcher.take();
        // A closed channel means the consumer stopped (e.g. `| head`): a clean shutdown.
        self.tx
            .send(SourceMsg::Frames(batch))
            .map_err(|_| anyhow!(Stopped))
    }
}

/// The consumer went away; not an error worth reporting.
#[derive(Debug)]
pub struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("consumer stopped")
    }
}

impl std::error::Error for Stopped {}

fn describe(e: &PcapError<&[u8]>) -> String {
    use pcap_parser::nom::error::ErrorKind;
    match e {
        PcapError::NomError(_, ErrorKind::Verify)
        | PcapError::OwnedNomError(_, ErrorKind::Verify) => {
            "malformed block (a length field disagrees with the block)".to_string()
        }
        PcapError::NomError(_, kind) => format!("malformed block ({kind:?})"),
        PcapError::OwnedNomError(_, kind) => format!("malformed block ({kind:?})"),
        other => format!("{other:?}"),
    }
}

/// The total length a record claims, read from its unparsed bytes: a pcap record header's
/// captured length (at offset 8) plus the header, or a pcapng block's total length (offset 4).
fn claimed_len(data: &[u8], legacy: bool, big_endian: bool) -> Option<u64> {
    let at = if legacy { 8 } else { 4 };
    let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
    let n = if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    } as u64;
    Some(if legacy { n + 16 } else { n })
}

/// Fractional ticks at `resolution` per second → nanoseconds.
fn scale_fraction(ticks: u64, resolution: u64) -> u32 {
    ((ticks as u128 * 1_000_000_000) / resolution as u128).min(999_999_999) as u32
}

/// Decimal digits needed to show one tick of `resolution` per second, at most 9.
fn digits_for(resolution: u64) -> u8 {
    let mut digits = 0u8;
    let mut unit = 1u64;
    while unit < resolution && digits < 9 {
        unit = unit.saturating_mul(10);
        digits += 1;
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsecond_and_nanosecond_resolutions_give_6_and_9_digits() {
        assert_eq!(digits_for(1_000_000), 6);
        assert_eq!(digits_for(1_000_000_000), 9);
        assert_eq!(digits_for(1 << 20), 7);
        assert_eq!(digits_for(1), 0);
    }

    #[test]
    fn fractions_scale_to_nanoseconds() {
        assert_eq!(scale_fraction(123_456, 1_000_000), 123_456_000);
        assert_eq!(scale_fraction(1, 1_000_000_000), 1);
    }
}
