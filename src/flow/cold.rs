//! Closed connections' packed states, kept compressed in chunks while they wait out 2×MSL.
//!
//! A capture of many short connections ends with all of them in the table (they leave 2×MSL
//! after closing, RFC 9293 §3.6.1), packed (~230 bytes each, flow/mod.rs `Packed`). Packed
//! one at a time they hardly compress; side by side they do: short.pcap's 30k records, LZ4 in
//! 64 KiB blocks, 6.8 MB → 1.9 MB, in 7 ms, and back in 2 ms (docs/performance.md). So a
//! connection that closes is appended to the store's open chunk, and a full chunk is
//! compressed (LZ4, lz4_flex, as the summary table's kept lines). Closed connections are
//! stored in the order they close and mostly taken out in that order (2×MSL later, or at the
//! end by stream, which for short connections is nearly the same order), so the few chunks
//! kept decompressed ([`CACHED`]) serve them; a chunk is freed when its last record has been
//! taken. A late segment for a stored connection (a retransmitted FIN, a new SYN on its
//! ports) takes its record out like any other, decompressing its chunk if need be.

use std::collections::VecDeque;

/// Records per chunk: ~58 KiB of short connections.
const PER_CHUNK: u32 = 256;
/// Decompressed chunks kept, most recent last.
const CACHED: usize = 4;

/// Where a record is: its number in the store (chunk = number / [`PER_CHUNK`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record(u32);

struct Chunk {
    /// The records' bytes, one after another: uncompressed in the open chunk, LZ4 once full,
    /// empty once every record has been taken.
    bytes: Box<[u8]>,
    /// Length of the uncompressed bytes, once compressed.
    raw_len: u32,
    /// Where each record ends in the raw bytes.
    ends: Vec<u32>,
    /// Each record's connection's last segment time, ns: what the sweeps read of a stored
    /// connection, kept here rather than in its table slot (8 bytes a record instead of 8 a
    /// slot: the table has up to twice as many slots as connections).
    last_seen: Vec<i64>,
    /// Records not yet taken.
    live: u32,
}

#[derive(Default)]
pub struct Store {
    chunks: Vec<Chunk>,
    /// The open chunk's bytes while it fills.
    open: Vec<u8>,
    /// Decompressed chunks, by chunk number, least recently used first.
    cache: VecDeque<(usize, Vec<u8>)>,
}

impl Store {
    /// Appends a record of a connection last seen at `last_seen`; the chunk it fills is
    /// compressed.
    pub fn put(&mut self, bytes: &[u8], last_seen: i64) -> Record {
        if self
            .chunks
            .last()
            .is_none_or(|c| c.ends.len() as u32 == PER_CHUNK)
        {
            self.chunks.push(Chunk {
                bytes: Box::new([]),
                raw_len: 0,
                ends: Vec::with_capacity(PER_CHUNK as usize),
                last_seen: Vec::with_capacity(PER_CHUNK as usize),
                live: 0,
            });
        }
        let n = self.chunks.len() - 1;
        let chunk = &mut self.chunks[n];
        self.open.extend_from_slice(bytes);
        chunk.ends.push(self.open.len() as u32);
        chunk.last_seen.push(last_seen);
        chunk.live += 1;
        let record = Record(n as u32 * PER_CHUNK + chunk.ends.len() as u32 - 1);
        if chunk.ends.len() as u32 == PER_CHUNK {
            chunk.raw_len = self.open.len() as u32;
            chunk.bytes = crate::lz4::compress(&self.open);
            // The open chunk's buffer is reused for the next one.
            self.open.clear();
        }
        record
    }

    /// The last segment time `put` was given with a record still in the store.
    pub fn last_seen(&self, record: Record) -> i64 {
        let chunk = &self.chunks[(record.0 / PER_CHUNK) as usize];
        chunk.last_seen[(record.0 % PER_CHUNK) as usize]
    }

    /// Whether chunk `n` is the one still filling, whose bytes are `open`'s.
    fn is_open(&self, n: usize) -> bool {
        n + 1 == self.chunks.len() && (self.chunks[n].ends.len() as u32) < PER_CHUNK
    }

    /// Runs `f` on a record's bytes, leaving it in the store.
    pub fn peek<T>(&mut self, record: Record, f: impl FnOnce(&[u8]) -> T) -> T {
        let (n, i) = (
            (record.0 / PER_CHUNK) as usize,
            (record.0 % PER_CHUNK) as usize,
        );
        let chunk = &self.chunks[n];
        let start = if i == 0 { 0 } else { chunk.ends[i - 1] } as usize;
        let end = chunk.ends[i] as usize;
        if self.is_open(n) {
            return f(&self.open[start..end]);
        }
        let at = match self.cache.iter().position(|(c, _)| *c == n) {
            Some(at) => at,
            None => {
                let raw = crate::lz4::decompress(&chunk.bytes, chunk.raw_len as usize);
                if self.cache.len() == CACHED {
                    self.cache.pop_front();
                }
                self.cache.push_back((n, raw));
                self.cache.len() - 1
            }
        };
        f(&self.cache[at].1[start..end])
    }

    /// Runs `f` on a record's bytes and takes it out of the store: its chunk is freed with
    /// the last of its records.
    pub fn take<T>(&mut self, record: Record, f: impl FnOnce(&[u8]) -> T) -> T {
        let out = self.peek(record, f);
        let n = (record.0 / PER_CHUNK) as usize;
        let chunk = &mut self.chunks[n];
        chunk.live -= 1;
        if chunk.live == 0 && !self.is_open(n) {
            let chunk = &mut self.chunks[n];
            chunk.bytes = Box::new([]);
            chunk.ends = Vec::new();
            chunk.last_seen = Vec::new();
            self.cache.retain(|(c, _)| *c != n);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u32) -> Vec<u8> {
        // Records of varied lengths, some alike (as packed connections are).
        let len = 50 + (i % 7) as usize * 40;
        (0..len).map(|b| (b as u32 % 13 + i % 3) as u8).collect()
    }

    #[test]
    fn records_come_back_as_put_from_open_and_compressed_chunks_in_any_order() {
        let mut store = Store::default();
        let n = 3 * PER_CHUNK + 17;
        let records: Vec<Record> = (0..n).map(|i| store.put(&record(i), i.into())).collect();
        assert!((0..n).all(|i| store.last_seen(records[i as usize]) == i64::from(i)));
        assert!(store.chunks[0].raw_len > 0, "a full chunk is compressed");
        assert!(store.chunks[0].bytes.len() < store.chunks[0].raw_len as usize / 2);
        // Taken out of order: odd numbers backwards, then even ones forwards.
        let order = (0..n)
            .rev()
            .filter(|i| i % 2 == 1)
            .chain((0..n).filter(|i| i % 2 == 0));
        for i in order {
            assert_eq!(store.peek(records[i as usize], <[u8]>::to_vec), record(i));
            assert_eq!(store.take(records[i as usize], <[u8]>::to_vec), record(i));
        }
        assert!(
            store.chunks[..3].iter().all(|c| c.bytes.is_empty()),
            "freed"
        );
        assert!(store.cache.is_empty());
    }

    #[test]
    fn a_chunk_is_freed_with_its_last_record_not_before() {
        let mut store = Store::default();
        let records: Vec<Record> = (0..PER_CHUNK + 1)
            .map(|i| store.put(&record(i), i.into()))
            .collect();
        for &r in &records[..PER_CHUNK as usize - 1] {
            store.take(r, |_| ());
        }
        assert!(!store.chunks[0].bytes.is_empty());
        let last = records[PER_CHUNK as usize - 1];
        assert_eq!(store.take(last, <[u8]>::to_vec), record(PER_CHUNK - 1));
        assert!(store.chunks[0].bytes.is_empty());
        // The open chunk's record is still there.
        assert_eq!(
            store.take(records[PER_CHUNK as usize], <[u8]>::to_vec),
            record(PER_CHUNK)
        );
    }
}
