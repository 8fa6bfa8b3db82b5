//! `tcplens follow`: each selected stream's payload as Wireshark's Follow TCP Stream shows it
//! (the chunks come from `flow::follow`), printed as `tshark -q -z follow,tcp,MODE,N` prints it
//! (ui/cli/tap-follow.c 4.0), one block per stream in stream order, or as JSON records, or
//! written to one file per side (tcpflow's use).
//!
//! Output is streamed: the lowest-numbered selected stream still open prints as its data
//! completes, so following one stream of any size needs no more memory than its waiting
//! out-of-order data. A later stream open at the same time keeps its text until the earlier
//! ones have printed (tshark keeps every stream whole until the end): in memory up to 1 MiB,
//! then in an unnamed temporary file ([`Held`]), so any number of long concurrent streams
//! follow in bounded memory.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::net::IpAddr;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use base64::Engine;
use owo_colors::OwoColorize;

use super::{End, Sink, View};
use crate::decode::flags;
use crate::flow::follow::{Chunk, Data, Follow, Node, Segment};
use crate::flow::{Endpoint, Summary};
use crate::source::Timestamp;

/// How chunks print (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FollowFormat {
    /// tshark's `ascii`: a chunk's length, then its text, non-printables as `.`; the
    /// server's chunks indented by a tab (and, on a terminal, client red and server blue).
    Ascii,
    /// tshark's `hex`: a hexdump per chunk, offsets running per side.
    Hex,
    /// tshark's `raw`: each chunk's bytes in hex on one line.
    Raw,
    /// One JSON record per chunk.
    Json,
}

impl FollowFormat {
    fn name(self) -> &'static str {
        match self {
            FollowFormat::Ascii => "ascii",
            FollowFormat::Hex => "hex",
            FollowFormat::Raw => "raw",
            FollowFormat::Json => "json",
        }
    }
}

/// Which streams to follow.
#[derive(Clone, Debug)]
pub enum Streams {
    /// Every TCP stream.
    All,
    /// `--stream N`: printed even if it never appears, as tshark prints an empty block.
    One(u32),
    /// The streams a display filter matched in a first pass.
    Matched(HashSet<u32>),
}

impl Streams {
    fn has(&self, s: u32) -> bool {
        match self {
            Streams::All => true,
            Streams::One(n) => *n == s,
            Streams::Matched(set) => set.contains(&s),
        }
    }
}

const SEPARATOR: &str = "===================================================================\n";

/// Held text beyond this goes to disk.
const HELD_IN_MEMORY: usize = 1 << 20;
/// Held text moved from disk to stdout per batch of frames once its stream's turn came: the
/// catching up costs at most this much memory at a time.
const PUMP_PER_BATCH: usize = 1 << 20;

/// A stream's text while an earlier stream prints: a string, and what outgrew it in an
/// unnamed temporary file (deleted by the system when closed), read back oldest first.
#[derive(Default)]
struct Held {
    text: String,
    spill: Option<Spill>,
}

/// The file part of [`Held`]: it precedes `Held::text`.
struct Spill {
    file: File,
    read: u64,
    written: u64,
}

impl Held {
    fn is_empty(&self) -> bool {
        self.text.is_empty() && self.spill.is_none()
    }

    /// Moves the text to disk once it reaches `limit` bytes.
    fn settle(&mut self, limit: usize) -> Result<()> {
        if self.text.len() < limit {
            return Ok(());
        }
        let spill = match &mut self.spill {
            Some(s) => s,
            None => self.spill.insert(Spill {
                file: super::spill_file()
                    .context("cannot create a temporary file for a stream's text")?,
                read: 0,
                written: 0,
            }),
        };
        spill
            .file
            .write_all_at(self.text.as_bytes(), spill.written)
            .context("cannot write a stream's text to its temporary file")?;
        spill.written += self.text.len() as u64;
        self.text.clear();
        Ok(())
    }

    /// Moves about `budget` bytes of the oldest text to `out` (never splitting a character);
    /// what is kept in memory goes once the file is read. Returns the bytes moved.
    fn pump(&mut self, out: &mut String, budget: usize) -> Result<usize> {
        let mut moved = 0;
        if let Some(s) = &mut self.spill {
            let n = (s.written - s.read).min(budget as u64) as usize;
            let mut buf = vec![0u8; n];
            s.file
                .read_exact_at(&mut buf, s.read)
                .context("cannot read a stream's text back from its temporary file")?;
            // The file holds whole strings, so only the end of a partial read can be cut.
            let whole = match std::str::from_utf8(&buf) {
                Ok(t) => t,
                Err(e) => std::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or_default(),
            };
            out.push_str(whole);
            moved = whole.len();
            s.read += moved as u64;
            if s.read < s.written {
                return Ok(moved);
            }
            self.spill = None;
        }
        moved += self.text.len();
        out.push_str(&std::mem::take(&mut self.text));
        Ok(moved)
    }
}

struct Stream {
    follow: Follow,
    /// Node 0: the sender of the stream's first segment.
    client: Endpoint,
    /// Text kept while an earlier stream prints (or from before its turn came).
    held: Held,
    /// Running offsets of each side, for hex dumps.
    offset: [u64; 2],
    ended: bool,
    /// Each side's file under `--output-dir`, and where the next byte goes.
    files: [Option<File>; 2],
}

/// The follow sink.
pub struct FollowStreams {
    format: FollowFormat,
    color: bool,
    streams: Streams,
    open: BTreeMap<u32, Stream>,
    /// Streams whose block has printed (a frame of one after it left the tracker's table
    /// starts nothing new).
    done: HashSet<u32>,
    dir: Option<PathBuf>,
    /// tcpflow's file names already used, for a 4-tuple that comes back (port reuse).
    names: HashMap<String, u32>,
    /// Held text kept in memory per stream before it goes to disk.
    held_limit: usize,
    /// What held text may still move to stdout in this batch.
    budget: usize,
    /// A live capture's: a stream ends when both its endpoints are done (CLOSED or TIME_WAIT),
    /// rather than when it leaves the tracker 2×MSL later.
    end_at_close: bool,
}

impl FollowStreams {
    pub fn new(
        format: FollowFormat,
        color: bool,
        streams: Streams,
        dir: Option<PathBuf>,
    ) -> FollowStreams {
        FollowStreams {
            format,
            color: color && format == FollowFormat::Ascii,
            streams,
            open: BTreeMap::new(),
            done: HashSet::new(),
            dir,
            names: HashMap::new(),
            held_limit: HELD_IN_MEMORY,
            budget: PUMP_PER_BATCH,
            end_at_close: false,
        }
    }

    /// End each stream's block when both endpoints are done, as a live capture wants: the
    /// next stream prints as soon as the earlier one closed. (A file follows as tshark does,
    /// to the connection's last frame, retransmissions after the close included.)
    pub fn end_at_close(mut self) -> FollowStreams {
        self.end_at_close = true;
        self
    }

    /// The stream's block is complete: its footer prints once its turn comes.
    fn end(&mut self, out: &mut String, stream: u32) -> Result<()> {
        if let Some(st) = self.open.get_mut(&stream) {
            st.ended = true;
            st.files = [None, None];
            self.drain(out)?;
        }
        Ok(())
    }

    /// Keeps at most `bytes` of a waiting stream's text in memory (tests spill tiny amounts).
    pub fn held_limit(mut self, bytes: usize) -> FollowStreams {
        self.held_limit = bytes;
        self
    }

    fn block_header(&self, out: &mut String, stream: u32, ends: Option<(Endpoint, Endpoint)>) {
        if self.format == FollowFormat::Json || self.dir.is_some() {
            return;
        }
        out.push('\n');
        out.push_str(SEPARATOR);
        out.push_str(&format!(
            "Follow: tcp,{}\nFilter: tcp.stream eq {stream}\n",
            self.format.name()
        ));
        // Endpoint's Display is tshark's node form (`[v6]:port`); an absent stream's is `:0`.
        let node = |e: Option<Endpoint>| e.map_or(":0".to_string(), |e| e.to_string());
        out.push_str(&format!("Node 0: {}\n", node(ends.map(|e| e.0))));
        out.push_str(&format!("Node 1: {}\n", node(ends.map(|e| e.1))));
    }

    fn footer(&self, out: &mut String) {
        if self.format != FollowFormat::Json && self.dir.is_none() {
            out.push_str(SEPARATOR);
        }
    }

    /// Prints what the head of the queue held (within this batch's budget), and each finished
    /// stream's footer, until a stream still open or still holding text is at the head.
    fn drain(&mut self, out: &mut String) -> Result<()> {
        while let Some(mut head) = self.open.first_entry() {
            let held = &mut head.get_mut().held;
            self.budget = self.budget.saturating_sub(held.pump(out, self.budget)?);
            if !held.is_empty() || !head.get().ended {
                break;
            }
            let (stream, _) = head.remove_entry();
            self.footer(out);
            self.done.insert(stream);
        }
        Ok(())
    }

    /// A new stream's files under `--output-dir`, named as tcpflow names them.
    fn open_files(&mut self, stream: u32, c: Endpoint, s: Endpoint) -> Result<[Option<File>; 2]> {
        let Some(dir) = &self.dir else {
            return Ok([None, None]);
        };
        let mut open = |from: Endpoint, to: Endpoint| -> Result<Option<File>> {
            let base = format!("{}-{}", flow_name(from), flow_name(to));
            let n = self.names.entry(base.clone()).or_insert(0);
            let name = if *n == 0 { base } else { format!("{base}c{n}") };
            *n += 1;
            let path = dir.join(name);
            let f = File::create(&path)
                .with_context(|| format!("cannot create {} for stream {stream}", path.display()))?;
            Ok(Some(f))
        };
        Ok([open(c, s)?, open(s, c)?])
    }
}

/// tcpflow's name for one direction: each IPv4 octet zero-padded to three digits, the port to
/// five (`127.000.000.001.05201`); IPv6 as written, colons kept.
fn flow_name(e: Endpoint) -> String {
    match e.addr {
        IpAddr::V4(a) => {
            let [a, b, c, d] = a.octets();
            format!("{a:03}.{b:03}.{c:03}.{d:03}.{:05}", e.port)
        }
        IpAddr::V6(a) => format!("{a}.{:05}", e.port),
    }
}

impl Sink for FollowStreams {
    fn packet(&mut self, out: &mut String, frame: &View<'_>) -> Result<()> {
        if self.budget > 0
            && let Some((_, head)) = self.open.first_key_value()
            && !head.held.is_empty()
        {
            self.drain(out)?;
        }
        let p = frame.packet;
        let (Some((t, info)), Some(ip)) = (p.segment(), p.decoded().ip) else {
            return Ok(());
        };
        let stream = info.stream;
        if !self.streams.has(stream) || self.done.contains(&stream) || t.short {
            return Ok(());
        }
        let (src, dst) = Endpoint::of_segment(&ip, t);
        if !self.open.contains_key(&stream) {
            let files = self.open_files(stream, src, dst)?;
            let mut held = Held::default();
            self.block_header(&mut held.text, stream, Some((src, dst)));
            self.open.insert(
                stream,
                Stream {
                    follow: Follow::default(),
                    client: src,
                    held,
                    offset: [0; 2],
                    ended: false,
                    files,
                },
            );
            self.drain(out)?;
        }
        let live = self
            .open
            .first_key_value()
            .is_some_and(|(s, head)| *s == stream && head.held.is_empty());
        let (format, color, limit) = (self.format, self.color, self.held_limit);
        let st = self.open.get_mut(&stream).expect("inserted above");
        let node = if src == st.client {
            Node::Client
        } else {
            Node::Server
        };
        // A RST's data is Wireshark's follow data too (the tap takes the whole TCP payload).
        let payload = p.tcp_payload(t).unwrap_or_default();
        let seg = Segment {
            node,
            frame: p.frame.number,
            seq: info.rel_seq(t),
            ack: info.rel_ack(t),
            syn: t.has(flags::SYN),
            len: t.len,
            payload,
        };
        let Stream {
            follow,
            held,
            offset,
            files,
            ..
        } = st;
        let text = if live { &mut *out } else { &mut held.text };
        let mut failed = None;
        follow.segment(&seg, &mut |c| {
            if let Some(f) = &mut files[c.node as usize] {
                if let Err(e) = write_file(f, &c) {
                    failed.get_or_insert(e);
                }
                return;
            }
            chunk(text, format, color, stream, offset, &c);
        });
        if let Some(e) = failed {
            return Err(e.into());
        }
        if !live {
            held.settle(limit)?;
        }
        if self.end_at_close
            && info
                .step
                .is_some_and(|s| s.client.is_done() && s.server.is_done())
        {
            self.end(out, stream)?;
        }
        Ok(())
    }

    fn batch_end(&mut self) -> Result<()> {
        self.budget = PUMP_PER_BATCH;
        Ok(())
    }

    fn shows_connections(&self) -> bool {
        true
    }

    fn connection(
        &mut self,
        out: &mut String,
        s: &Summary,
        _first: Option<Timestamp>,
    ) -> Result<()> {
        self.end(out, s.stream)
    }

    fn finish(&mut self, out: &mut dyn Write, _end: &mut End<'_>) -> Result<()> {
        let mut text = String::new();
        for st in self.open.values_mut() {
            st.ended = true;
        }
        // A budget's worth at a time, written before the next.
        while !self.open.is_empty() {
            self.budget = PUMP_PER_BATCH;
            self.drain(&mut text)?;
            out.write_all(text.as_bytes())?;
            text.clear();
        }
        if let Streams::One(n) = self.streams
            && !self.done.contains(&n)
            && self.dir.is_none()
        {
            // tshark prints an empty block for a stream the capture does not have.
            self.block_header(&mut text, n, None);
            self.footer(&mut text);
        }
        out.write_all(text.as_bytes())?;
        Ok(())
    }
}

/// One chunk in the chosen format (tap-follow.c's `follow_draw`).
fn chunk(
    out: &mut String,
    format: FollowFormat,
    color: bool,
    stream: u32,
    offset: &mut [u64; 2],
    c: &Chunk<'_>,
) {
    let bytes = c.data.bytes();
    let server = c.node == Node::Server;
    let tab = if server { "\t" } else { "" };
    match format {
        FollowFormat::Raw => {
            out.push_str(tab);
            let mut hex = vec![0u8; bytes.len() * 2];
            for (pair, &b) in hex.chunks_exact_mut(2).zip(bytes.iter()) {
                pair.copy_from_slice(&HEX_PAIRS[usize::from(b) * 2..usize::from(b) * 2 + 2]);
            }
            // Built as bytes, one check at the end: a char per byte was 3× slower.
            out.push_str(std::str::from_utf8(&hex).unwrap_or_default());
            out.push('\n');
        }
        FollowFormat::Ascii => {
            out.push_str(&format!("{tab}{}\n", bytes.len()));
            // g_ascii_isprint, with CR and LF kept as they are: ASCII bytes, one check at the end.
            let shown: Vec<u8> = bytes
                .iter()
                .map(|&b| match b {
                    b'\r' | b'\n' | 0x20..=0x7e => b,
                    _ => b'.',
                })
                .collect();
            let text = std::str::from_utf8(&shown).unwrap_or_default();
            if color {
                // Wireshark's Follow TCP Stream: client red, server blue.
                if server {
                    out.push_str(&text.blue().to_string());
                } else {
                    out.push_str(&text.red().to_string());
                }
            } else {
                out.push_str(text);
            }
            out.push('\n');
        }
        FollowFormat::Hex => {
            let pos = &mut offset[c.node as usize];
            hexdump(out, tab, *pos, &bytes);
            *pos += bytes.len() as u64;
        }
        FollowFormat::Json => json(out, stream, c, &bytes),
    }
}

/// tshark's follow hexdump: the side's running offset in 8 uppercase hex digits, 16 bytes in
/// two groups of 8, then the printable characters (also split after 8). Lines are built as
/// bytes in a reused buffer: a `format!` per line made this mode 8× slower than raw.
fn hexdump(out: &mut String, prefix: &str, start: u64, bytes: &[u8]) {
    const UPPER: &[u8; 16] = b"0123456789ABCDEF";
    let mut line = Vec::with_capacity(80);
    for (row, chunk) in bytes.chunks(16).enumerate() {
        line.clear();
        line.extend_from_slice(prefix.as_bytes());
        let offset = start + row as u64 * 16;
        // At least 8 digits, more when the offset needs them ("%0*X").
        let digits = (16 - offset.leading_zeros() as usize / 4).max(8);
        for k in (0..digits).rev() {
            line.push(UPPER[((offset >> (4 * k)) & 15) as usize]);
        }
        line.extend_from_slice(b"  ");
        let hex_at = line.len();
        for (i, &b) in chunk.iter().enumerate() {
            if i == 8 {
                line.push(b' ');
            }
            line.extend_from_slice(&HEX_PAIRS[usize::from(b) * 2..usize::from(b) * 2 + 2]);
            line.push(b' ');
        }
        // The characters start 50 columns after the hex does, however short the line.
        line.resize(hex_at + 50, b' ');
        for (i, &b) in chunk.iter().enumerate() {
            line.push(if (0x20..0x7f).contains(&b) { b } else { b'.' });
            if i == 7 {
                line.push(b' ');
            }
        }
        // tap-follow.c drops one trailing space: the group space, or the data's own.
        if line.last() == Some(&b' ') {
            line.pop();
        }
        line.push(b'\n');
        out.push_str(std::str::from_utf8(&line).unwrap_or_default());
    }
}

/// Two lowercase hex digits for each byte value, back to back.
const HEX_PAIRS: [u8; 512] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut t = [0u8; 512];
    let mut i = 0;
    while i < 256 {
        t[i * 2] = DIGITS[i >> 4];
        t[i * 2 + 1] = DIGITS[i & 15];
        i += 1;
    }
    t
};

/// `{"stream":0,"side":"client","frame":4,"seq":1,"length":5,"data":"user1"}`; data not
/// valid UTF-8 as `"base64"`, a gap as `"missing":N`.
fn json(out: &mut String, stream: u32, c: &Chunk<'_>, bytes: &[u8]) {
    out.push_str(&format!(
        "{{\"stream\":{stream},\"side\":\"{}\",\"frame\":{},\"seq\":{}",
        c.node.name(),
        c.frame,
        c.seq
    ));
    match &c.data {
        Data::Missing(n) => out.push_str(&format!(",\"missing\":{n}}}\n")),
        Data::Bytes(b) => {
            out.push_str(&format!(",\"length\":{}", b.len()));
            match std::str::from_utf8(bytes) {
                Ok(text) => {
                    out.push_str(",\"data\":");
                    super::json::string(out, text);
                }
                Err(_) => {
                    out.push_str(",\"base64\":\"");
                    out.push_str(&base64::engine::general_purpose::STANDARD.encode(bytes));
                    out.push('"');
                }
            }
            out.push_str("}\n");
        }
    }
}

/// Appends a chunk to its side's file; a missing stretch becomes a hole of that size, so each
/// byte sits at its stream offset (as tcpflow writes a gap).
fn write_file(f: &mut File, c: &Chunk<'_>) -> std::io::Result<()> {
    match &c.data {
        Data::Bytes(b) => f.write_all(b),
        Data::Missing(n) => f.seek(SeekFrom::Current((*n).max(0) as i64)).map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hexdump_lays_out_a_line_as_tshark_does() {
        let mut out = String::new();
        hexdump(&mut out, "\t", 6, b"Hi, user1, I got you!");
        assert_eq!(
            out,
            "\t00000006  48 69 2c 20 75 73 65 72  31 2c 20 49 20 67 6f 74  Hi, user 1, I got\n\
             \t00000016  20 79 6f 75 21                                     you!\n"
        );
    }

    #[test]
    fn held_text_comes_back_in_order_from_disk_without_cutting_a_character() {
        let mut held = Held::default();
        let mut expected = String::new();
        for i in 0..50 {
            // Two-byte characters, so some reads end inside one.
            let piece = format!("{i}: é\tç\n");
            held.text.push_str(&piece);
            expected.push_str(&piece);
            held.settle(16).unwrap();
        }
        assert!(held.spill.is_some(), "the text should have gone to disk");
        let mut out = String::new();
        while !held.is_empty() {
            let moved = held.pump(&mut out, 7).unwrap();
            assert!(moved > 0 && moved <= 7 || held.spill.is_none());
        }
        assert_eq!(out, expected);
    }

    #[test]
    fn tcpflow_names_pad_octets_and_ports() {
        let e = Endpoint {
            addr: "127.0.0.1".parse().unwrap(),
            port: 5201,
        };
        assert_eq!(flow_name(e), "127.000.000.001.05201");
    }
}
