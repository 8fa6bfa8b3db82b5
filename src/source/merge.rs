//! Several capture files read as one, as `mergecap` merges them (issue 17): each file parsed
//! on its own thread, their frames merged by timestamp (or, with `--concat`, file after file)
//! into the one stream the tracker reads, numbered 1.. in merged order. The merged input is
//! pcapng-shaped: one section, every file's interfaces in turn (a pcap file's header becomes
//! an interface with its link type, snap length and precision), so `-w` writes what mergecap
//! writes and each frame keeps its file's exact timestamp. Memory is bounded by the number of
//! files being read (a few batches each in flight), not their size: the first 64 are read
//! from the start, the others start when the merge reaches their first frame, so a day of
//! rotated files holds a few open at a time, however many there are. BPF words filter after
//! the merge, so frame numbers count every merged frame, as a read of mergecap's output would.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::thread::JoinHandle;

use anyhow::{Context, Result, anyhow, bail};
use crossbeam_channel::{Receiver, Sender, bounded};

use super::file::{
    Counting, Direct, Emit, Interface, MAGICS, MERGED_BUFFER, Options, Reader, open_file,
};
use super::write::{BlockOption, FileHeader, Section};
use super::{Frame, Record, SourceMsg, Timestamp};

/// Frames a file's thread hands over at once, and batches in flight per file.
const PIECE: usize = 256;
const DEPTH: usize = 4;

/// The files to read: several are merged by timestamp, or concatenated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inputs {
    pub paths: Vec<PathBuf>,
    pub concat: bool,
}

impl Inputs {
    pub fn one(path: PathBuf) -> Inputs {
        Inputs {
            paths: vec![path],
            concat: false,
        }
    }

    /// How messages name the input: the file, or "a.pcap + 3 more files".
    pub fn shown(&self) -> String {
        match self.paths.as_slice() {
            [one] => one.display().to_string(),
            [first, rest @ ..] => format!(
                "{} + {} more file{}",
                first.display(),
                rest.len(),
                if rest.len() == 1 { "" } else { "s" }
            ),
            [] => String::new(),
        }
    }

    /// Bytes to read, for the progress bar.
    pub fn size(&self) -> u64 {
        self.paths
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    /// The files themselves: each directory replaced by the captures in it (files that start
    /// with a pcap or pcapng magic number), in name order, as a rotated capture's files sort.
    /// Their names become `tcplens.file`'s values.
    pub fn expand(paths: &[PathBuf], concat: bool) -> Result<Inputs> {
        let mut files = Vec::new();
        for p in paths {
            if !p.is_dir() {
                files.push(p.clone());
                continue;
            }
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read the directory {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && is_capture(f))
                .collect();
            if found.is_empty() {
                bail!(
                    "{} holds no pcap or pcapng file: give the captures' directory or files",
                    p.display()
                );
            }
            found.sort();
            files.extend(found);
        }
        if files.len() > usize::from(u16::MAX) {
            bail!("{} files: tcplens reads at most 65535 at once", files.len());
        }
        let _ = NAMES.set(files.iter().map(|f| f.display().to_string()).collect());
        Ok(Inputs {
            paths: files,
            concat,
        })
    }
}

/// The input files' names, in the order [`Frame::file`](super::Frame::file) numbers them:
/// one list per process, as one command reads one set of inputs.
static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// The name of input file `index` (`tcplens.file`).
pub fn file_name(index: u16) -> Option<&'static str> {
    NAMES.get()?.get(usize::from(index)).map(String::as_str)
}

fn is_capture(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && MAGICS.contains(&magic)
}

/// A frame taken out of its file's read buffer: its bytes are `Frames::bytes[start..end]`.
struct Owned {
    iface: Interface,
    ts: Timestamp,
    /// Decoded on the file's own thread: with many files the decoding, most of a reader's
    /// work, runs on every core (the merging thread only picks, filters and reassembles).
    /// Taken when the frame is sent on.
    frame: Option<Frame>,
    start: usize,
    end: usize,
    record: Record,
}

impl Owned {
    fn key(&self) -> i128 {
        key(self.ts)
    }
}

/// A run of a file's frames, their bytes in one buffer (one allocation per run, not per
/// frame).
#[derive(Default)]
struct Frames {
    frames: Vec<Owned>,
    bytes: Vec<u8>,
}

enum Piece {
    Header(FileHeader),
    Frames(Frames),
    Failed(anyhow::Error),
}

/// A file's frames on their way to the merge.
struct Forward {
    tx: Sender<Piece>,
    frames: Frames,
}

impl Emit for Forward {
    fn wants_headers(&self) -> bool {
        true
    }

    fn header(&mut self, make: impl FnOnce() -> FileHeader) -> Result<()> {
        self.flush()?;
        self.tx
            .send(Piece::Header(make()))
            .map_err(|_| anyhow!(super::file::Stopped))
    }

    fn frame(
        &mut self,
        _number: u64,
        iface: Interface,
        ts: Timestamp,
        origlen: u32,
        data: &[u8],
        record: Record,
    ) -> Result<()> {
        let start = self.frames.bytes.len();
        self.frames.bytes.extend_from_slice(data);
        self.frames.frames.push(Owned {
            iface,
            ts,
            frame: Some(Frame::new(0, ts, iface.linktype, origlen, data)),
            start,
            end: start + data.len(),
            record,
        });
        if self.frames.frames.len() >= PIECE {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.frames.frames.is_empty() {
            return Ok(());
        }
        let frames = std::mem::take(&mut self.frames);
        self.tx
            .send(Piece::Frames(frames))
            .map_err(|_| anyhow!(super::file::Stopped))
    }
}

/// One input in the merge: its frames waiting, and its interfaces' merged numbers.
struct Source {
    path: PathBuf,
    /// Its place among the inputs (`tcplens.file`).
    index: u16,
    rx: Receiver<Piece>,
    /// Runs received and not yet merged; the first from its frame `next` on.
    queue: VecDeque<Frames>,
    next: usize,
    ended: bool,
    /// The file's interface ids (a pcap file's one, a pcapng file's in order) → merged ids.
    interfaces: Vec<u32>,
    /// A pcap file: its records' timestamps are seconds and a fraction, not pcapng ticks.
    legacy: Option<u64>,
}

/// Starts reading `inputs`: one file as it is, several merged. Every file is opened first, so
/// that a missing one fails before anything is read.
pub fn spawn_inputs(
    inputs: &Inputs,
    opts: Options,
    tx: Sender<SourceMsg>,
    read: Arc<AtomicU64>,
) -> Result<JoinHandle<()>> {
    match inputs.paths.as_slice() {
        [one] => super::file::spawn(super::file::open(one.clone())?, opts, tx, read),
        _ => spawn(inputs, opts, tx, read),
    }
}

impl Inputs {
    /// Fails as the reading would if a file cannot be opened: before a -w file is created.
    pub fn check(&self) -> Result<()> {
        for p in &self.paths {
            open_file(p)?;
        }
        Ok(())
    }
}

/// Files read from the start at once; those after them start when the merge reaches them
/// ([`Pending`]). A day of `-G 60` files is 1,440, past the 1,024 files a process may hold
/// open by default: each open file's reader also holds its buffers and a thread.
const OPEN_AT_ONCE: usize = 64;

/// Checks every file opens (a missing one fails before anything is read), then starts the
/// merge.
fn spawn(
    inputs: &Inputs,
    opts: Options,
    tx: Sender<SourceMsg>,
    read: Arc<AtomicU64>,
) -> Result<JoinHandle<()>> {
    let mut files = Vec::new();
    for (index, path) in inputs.paths.iter().enumerate() {
        let file = open_file(path)?;
        files.push((path.clone(), (index < OPEN_AT_ONCE).then_some(file)));
    }
    let concat = inputs.concat;
    std::thread::Builder::new()
        .name("tcplens-merge".into())
        .spawn(move || {
            let mut inputs = Merging {
                sources: Vec::new(),
                readers: Vec::new(),
                read,
            };
            let mut out = Direct::new(opts, tx);
            let merged = merge(&mut inputs, files, concat, &mut out);
            // The files' threads stop once their channels are gone.
            let Merging {
                sources, readers, ..
            } = inputs;
            drop(sources);
            let mut result = merged.and_then(|()| out.flush());
            for (path, h) in readers {
                if h.join().is_err() && result.is_ok() {
                    result = Err(anyhow!(
                        "reading {} stopped at an internal error after the rows above; the \
                         file is damaged",
                        path.display()
                    ));
                }
            }
            if let Err(e) = result {
                let _ = out.flush();
                let _ = out.send_failure(e);
            }
        })
        .context("cannot start the merging thread")
}

/// The inputs being read, and what starts the next.
struct Merging {
    sources: Vec<Source>,
    readers: Vec<(PathBuf, JoinHandle<()>)>,
    read: Arc<AtomicU64>,
}

impl Merging {
    /// Starts reading the next input on a thread of its own (opened now, if it was not yet).
    fn start(&mut self, path: PathBuf, file: Option<File>) -> Result<()> {
        let file = match file {
            Some(f) => f,
            None => open_file(&path)?,
        };
        let (ptx, prx) = bounded(DEPTH);
        let counted = Counting {
            inner: file,
            read: self.read.clone(),
        };
        let reader = Reader {
            path: path.clone(),
            buffer: MERGED_BUFFER,
        };
        let spawned = std::thread::Builder::new()
            .name("tcplens-reader".into())
            .spawn(move || {
                let mut fwd = Forward {
                    tx: ptx,
                    frames: Frames::default(),
                };
                if let Err(e) = reader.run(counted, &mut fwd) {
                    let _ = fwd.flush();
                    let _ = fwd.tx.send(Piece::Failed(e));
                }
            })
            .map_err(|e| anyhow!("cannot start a reader thread for {}: {e}", path.display()))?;
        self.readers.push((path.clone(), spawned));
        self.sources.push(Source {
            index: self.sources.len() as u16,
            path,
            rx: prx,
            queue: VecDeque::new(),
            next: 0,
            ended: false,
            interfaces: Vec::new(),
            legacy: None,
        });
        Ok(())
    }
}

/// Merged interface ids, counted across the inputs.
struct Numbering {
    interfaces: u32,
    frames: u64,
}

/// The inputs not started yet, in input order, with the merge key of each one's first frame
/// (read ahead of time: open, read to the first frame, close). The merge starts the next one
/// before it sends a frame later than the earliest first frame among them, so frames come
/// out in the order they would if every file were read from the start, and files start in
/// input order, as their interfaces are numbered.
struct Pending {
    files: VecDeque<(PathBuf, Option<File>)>,
    /// For each pending file, the least (key, input index) of it and those after it.
    earliest: VecDeque<Option<(i128, usize)>>,
}

impl Pending {
    fn new(files: Vec<(PathBuf, Option<File>)>, first: usize) -> Result<Pending> {
        let mut earliest = VecDeque::with_capacity(files.len());
        let mut least: Option<(i128, usize)> = None;
        for (i, (path, _)) in files.iter().enumerate().rev() {
            if let Some(key) = first_key(path)? {
                let here = (key, first + i);
                least = Some(least.map_or(here, |l| l.min(here)));
            }
            earliest.push_front(least);
        }
        Ok(Pending {
            files: files.into(),
            earliest,
        })
    }

    /// Whether the next pending file must start before the frame `next` ((merge key, input
    /// index), None when no started input has one) goes out: a pending file holds an earlier
    /// frame, or nothing else is waiting.
    fn due_before(&self, next: Option<(i128, usize)>) -> bool {
        match (self.earliest.front(), next) {
            (None, _) => false,
            // Nothing else to send: the rest start in turn.
            (Some(_), None) => true,
            (Some(least), Some(next)) => least.is_some_and(|l| l < next),
        }
    }

    fn take(&mut self) -> Option<(PathBuf, Option<File>)> {
        self.earliest.pop_front();
        self.files.pop_front()
    }
}

/// The merge key of `path`'s first frame, None when it has none.
fn first_key(path: &Path) -> Result<Option<i128>> {
    struct First(Option<i128>);
    impl Emit for First {
        fn wants_headers(&self) -> bool {
            false
        }
        fn header(&mut self, _make: impl FnOnce() -> FileHeader) -> Result<()> {
            Ok(())
        }
        fn frame(
            &mut self,
            _number: u64,
            _iface: Interface,
            ts: Timestamp,
            _origlen: u32,
            _data: &[u8],
            _record: Record,
        ) -> Result<()> {
            self.0 = Some(key(ts));
            // Enough: stop reading here.
            Err(anyhow!(super::file::Stopped))
        }
        fn flush(&mut self) -> Result<()> {
            Ok(())
        }
    }
    let reader = Reader {
        path: path.to_path_buf(),
        // Enough for the header and a first record (a larger one grows it).
        buffer: 16 << 10,
    };
    let mut first = First(None);
    // Stopped at the first frame; a damaged file says so when its turn comes, after the
    // frames before it.
    let _ = reader.run(open_file(path)?, &mut first);
    Ok(first.0)
}

fn key(ts: Timestamp) -> i128 {
    i128::from(ts.secs) * 1_000_000_000 + i128::from(ts.nanos)
}

fn merge(
    inputs: &mut Merging,
    files: Vec<(PathBuf, Option<File>)>,
    concat: bool,
    out: &mut Direct,
) -> Result<()> {
    out.header(|| FileHeader::Section(Section::default()))?;
    let mut n = Numbering {
        interfaces: 0,
        frames: 0,
    };
    let mut files = files;
    let later = files.split_off(files.len().min(OPEN_AT_ONCE));
    for (path, file) in files {
        inputs.start(path, file)?;
    }
    if concat {
        let mut later = later.into_iter();
        let mut i = 0;
        while i < inputs.sources.len() {
            let src = &mut inputs.sources[i];
            while fill(src, out, &mut n)? {
                emit_next(src, out, &mut n)?;
            }
            if let Some((path, file)) = later.next() {
                inputs.start(path, file)?;
            }
            i += 1;
        }
        return Ok(());
    }
    let mut pending = Pending::new(later, inputs.sources.len())?;
    // The oldest waiting frame of all inputs first; on a tie, the earlier input's.
    let mut heap = BinaryHeap::new();
    for (i, src) in inputs.sources.iter_mut().enumerate() {
        if fill(src, out, &mut n)? {
            heap.push(Reverse((src.front().key(), i)));
        }
    }
    loop {
        while pending.due_before(heap.peek().map(|Reverse(next)| *next)) {
            let Some((path, file)) = pending.take() else {
                break;
            };
            let i = inputs.sources.len();
            inputs.start(path, file)?;
            let src = &mut inputs.sources[i];
            if fill(src, out, &mut n)? {
                heap.push(Reverse((src.front().key(), i)));
            }
        }
        let Some(Reverse((_, i))) = heap.pop() else {
            return Ok(());
        };
        let src = &mut inputs.sources[i];
        emit_next(src, out, &mut n)?;
        if fill(src, out, &mut n)? {
            heap.push(Reverse((src.front().key(), i)));
        }
    }
}

impl Source {
    /// The next frame; only after [`fill`] said there is one.
    fn front(&self) -> &Owned {
        &self.queue[0].frames[self.next]
    }
}

/// Receives from `src` until a frame waits (true) or the file has ended (false); its header
/// blocks go out as they come (an interface before the frames that name it).
fn fill(src: &mut Source, out: &mut Direct, n: &mut Numbering) -> Result<bool> {
    loop {
        if let Some(run) = src.queue.front() {
            if src.next < run.frames.len() {
                return Ok(true);
            }
            src.queue.pop_front();
            src.next = 0;
            continue;
        }
        if src.ended {
            return Ok(false);
        }
        match src.rx.recv() {
            Ok(Piece::Frames(frames)) => src.queue.push_back(frames),
            Ok(Piece::Header(h)) => header(src, h, out, n)?,
            Ok(Piece::Failed(e)) => return Err(e),
            Err(_) => src.ended = true,
        }
    }
}

fn header(src: &mut Source, h: FileHeader, out: &mut Direct, n: &mut Numbering) -> Result<()> {
    let iface = match h {
        // pcapng's default resolution is µs (if_tsresol 6); a ns pcap says 9.
        FileHeader::Pcap(p) => {
            src.legacy = Some(if p.nanos { 1_000_000_000 } else { 1_000_000 });
            super::write::Interface {
                linktype: p.network as u16,
                snaplen: p.snaplen,
                options: match p.nanos {
                    true => vec![BlockOption {
                        code: 9,
                        value: vec![9],
                    }],
                    false => Vec::new(),
                },
            }
        }
        // One merged section holds every interface.
        FileHeader::Section(_) => return Ok(()),
        FileHeader::Interface(i) => i,
    };
    src.interfaces.push(n.interfaces);
    n.interfaces += 1;
    out.header(|| FileHeader::Interface(iface))
}

/// Sends `src`'s next frame on, numbered in merged order with its interface renumbered.
fn emit_next(src: &mut Source, out: &mut Direct, n: &mut Numbering) -> Result<()> {
    let run = &mut src.queue[0];
    let f = &mut run.frames[src.next];
    n.frames += 1;
    let interface = *src
        .interfaces
        .get(f.record.interface as usize)
        .ok_or_else(|| {
            anyhow!(
                "{}: a frame names interface {} before its description",
                src.path.display(),
                f.record.interface
            )
        })?;
    // A pcap record's time is seconds and a fraction; an enhanced packet block's is ticks.
    let (ts_high, ts_low) = match src.legacy {
        Some(resolution) => {
            let ticks = u64::from(f.record.ts_high) * resolution + u64::from(f.record.ts_low);
            ((ticks >> 32) as u32, ticks as u32)
        }
        None => (f.record.ts_high, f.record.ts_low),
    };
    let record = Record {
        interface,
        ts_high,
        ts_low,
    };
    out.set_file(src.index);
    let data = &run.bytes[f.start..f.end];
    let frame = f
        .frame
        .take()
        .ok_or_else(|| anyhow!("a merged frame was sent twice"))?;
    out.decoded(n.frames, f.iface, frame, data, record)?;
    src.next += 1;
    Ok(())
}
