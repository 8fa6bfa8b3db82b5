//! Several capture files read as one, as `mergecap` merges them (issue 17): each file parsed
//! on its own thread, their frames merged by timestamp (or, with `--concat`, file after file)
//! into the one stream the tracker reads, numbered 1.. in merged order. The merged input is
//! pcapng-shaped: one section, every file's interfaces in turn (a pcap file's header becomes
//! an interface with its link type, snap length and precision), so `-w` writes what mergecap
//! writes and each frame keeps its file's exact timestamp. Memory is bounded by the number of
//! files (a few batches each in flight), not their size; BPF words filter after the merge,
//! so frame numbers count every merged frame, as a read of mergecap's output would.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
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
        i128::from(self.ts.secs) * 1_000_000_000 + i128::from(self.ts.nanos)
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

/// Opens every file and starts the merge.
fn spawn(
    inputs: &Inputs,
    opts: Options,
    tx: Sender<SourceMsg>,
    read: Arc<AtomicU64>,
) -> Result<JoinHandle<()>> {
    let mut files = Vec::new();
    for path in &inputs.paths {
        files.push((path.clone(), open_file(path)?));
    }
    let concat = inputs.concat;
    std::thread::Builder::new()
        .name("tcplens-merge".into())
        .spawn(move || {
            let mut sources = Vec::new();
            let mut readers = Vec::new();
            for (path, file) in files {
                let (ptx, prx) = bounded(DEPTH);
                let counted = Counting {
                    inner: file,
                    read: read.clone(),
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
                    });
                match spawned {
                    Ok(h) => readers.push((path.clone(), h)),
                    Err(e) => {
                        let _ = tx.send(SourceMsg::Failed(anyhow!(
                            "cannot start a reader thread for {}: {e}",
                            path.display()
                        )));
                        return;
                    }
                }
                sources.push(Source {
                    index: sources.len() as u16,
                    path,
                    rx: prx,
                    queue: VecDeque::new(),
                    next: 0,
                    ended: false,
                    interfaces: Vec::new(),
                    legacy: None,
                });
            }
            let mut out = Direct::new(opts, tx);
            let merged = merge(&mut sources, concat, &mut out);
            // The files' threads stop once their channels are gone.
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

/// Merged interface ids, counted across the inputs.
struct Numbering {
    interfaces: u32,
    frames: u64,
}

fn merge(sources: &mut [Source], concat: bool, out: &mut Direct) -> Result<()> {
    out.header(|| FileHeader::Section(Section::default()))?;
    let mut n = Numbering {
        interfaces: 0,
        frames: 0,
    };
    if concat {
        for src in sources.iter_mut() {
            while fill(src, out, &mut n)? {
                emit_next(src, out, &mut n)?;
            }
        }
        return Ok(());
    }
    // The oldest waiting frame of all inputs first; on a tie, the earlier input's.
    let mut heap = BinaryHeap::new();
    for (i, src) in sources.iter_mut().enumerate() {
        if fill(src, out, &mut n)? {
            heap.push(Reverse((src.front().key(), i)));
        }
    }
    while let Some(Reverse((_, i))) = heap.pop() {
        let src = &mut sources[i];
        emit_next(src, out, &mut n)?;
        if fill(src, out, &mut n)? {
            heap.push(Reverse((src.front().key(), i)));
        }
    }
    Ok(())
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
