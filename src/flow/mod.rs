//! The flow tracker: assigns each TCP segment to a connection and keeps per-direction state.
//! Pure logic over decoded segments; never prints, never reads the clock.

pub mod analysis;
mod cold;
pub mod community_id;
pub mod conn;
pub mod endpoint;
pub mod follow;
pub mod key;
pub mod seq;
pub mod zeek;

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use hashbrown::hash_map::EntryRef;
use hashbrown::{Equivalent, HashMap};

use crate::decode::{Payload, Tcp, flags};
use crate::source::Frame;
pub use analysis::{AckNews, Analysis, Label, PayloadNews, PeerWindow, RttStats, SeqNews};
use analysis::{ConnAnalysis, FlowAnalysis, Segment};
use conn::Life;
pub use conn::{Step, Summary, Wire};
use endpoint::Side;
use key::TableKey;
pub use key::{Endpoint, FlowKey};
use seq::Nanos;
pub use seq::SeqNum;

/// Window scaling of one direction, as Wireshark tracks it (packet-tcp.c `win_scale`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum WinScale {
    /// No SYN seen yet: the window is shown raw (Wireshark's -1).
    Unknown,
    /// A SYN was seen and scaling is off for the connection (Wireshark's -2).
    Off,
    /// Shift count from the WS option, capped at 14 (RFC 7323 §2.3).
    Shift(u8),
}

/// One direction of a connection.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
struct Half {
    /// Base for relative numbers: the ISN, or seq−1 / ack−1 when the SYN was not seen.
    base: Option<SeqNum>,
    win_scale: WinScale,
    /// This direction has sent an AccECN option: Wireshark 4.0 then prints its later
    /// segments' flags as the ACE counter (RFC 9768 §3.2), as after an AccECN handshake.
    acc_ecn_option: bool,
}

impl Default for Half {
    fn default() -> Half {
        Half {
            base: None,
            win_scale: WinScale::Unknown,
            acc_ecn_option: false,
        }
    }
}

/// A TCP connection (Wireshark's conversation + tcp_analysis).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Conn {
    stream: u32,
    /// Halves indexed by key orientation: 0 = lo→hi, 1 = hi→lo.
    halves: [Half; 2],
    /// Which orientation is client→server: the sender of the first SYN, else the first sender.
    client_is_lo: bool,
    /// AccECN negotiation seen (RFC 9768 §3.1): Wireshark then prints ACE instead of ECE/CWR/AE.
    acc_ecn_syn: bool,
    acc_ecn_synack: bool,
    /// Wireshark's sequence analysis, per orientation like `halves`.
    flows: [FlowAnalysis; 2],
    analysis: ConnAnalysis,
    /// `ack_rtt` samples of each orientation's data, like `halves`.
    rtt: [RttStats; 2],
    life: Life,
    first_seen: Nanos,
    last_seen: Nanos,
    /// An expiry check at `last_seen + 2×MSL` has been queued (see [`Due`]).
    due_closed: bool,
}

/// A table entry: a connection under analysis, or one packed because it is not expected to
/// say much more: closed, it only waits out 2×MSL (RFC 9293 §3.6.1: TIME_WAIT holds the
/// 4-tuple against late duplicates for 2×MSL); one-sided (a SYN nobody answered, a scan, a
/// flood), it waits for an answer that mostly never comes ([`Tracker::pack_one_sided`]).
/// A capture of many short connections ends with all of them in the table, and such a
/// connection's state is mostly zeros, small counters, sequence numbers and times: packed, a
/// short connection takes ~230 bytes (times, sequence and frame numbers encoded as
/// differences: [`seq::relative_to`]) instead of the Conn's 576, Zeek's 304 and the history
/// string's allocation. A closed connection's packed state is then kept compressed beside
/// others' ([`cold::Store`]): ~65 bytes of it, and it moves to the tracker's table of
/// stored connections ([`Stored`]).
enum Slot {
    Open(Box<Conn>),
    Packed(Packed),
}

/// A connection that left either table, until it is summarized.
enum Leaving {
    Slot(Slot),
    Stored(Stored),
}

impl Leaving {
    fn summary(self, key: FlowKey, store: &mut cold::Store) -> Summary {
        match self {
            Leaving::Slot(c) => c.summary(key),
            Leaving::Stored(s) => s.unpack(store).summary(key),
        }
    }
}

/// A closed connection whose packed state (as [`Packed`]'s, without the header) is in the
/// tracker's [`cold::Store`], with the time of its last segment. Every stored connection is
/// finished: only closed ones are stored. 8 bytes: the table of stored connections (a capture
/// of many short connections ends with nearly all of its connections there) has 25-byte
/// slots where the table of the others has 33.
#[derive(Clone, Copy, Debug)]
struct Stored {
    stream: u32,
    record: cold::Record,
}

impl Stored {
    /// Stores a closed connection last seen at `last_seen` (its time in ns, if it fits i64's
    /// ~292 years from 1970; a connection whose time does not stays [`Packed`]).
    fn new(c: &Conn, last_seen: i64, scratch: &mut Vec<u8>, store: &mut cold::Store) -> Stored {
        let mut bytes = std::mem::take(scratch);
        bytes.clear();
        let bytes = encode_state(c, bytes);
        let record = store.put(&bytes, last_seen);
        *scratch = bytes;
        // As for packing: every test run checks the state comes back field for field.
        #[cfg(debug_assertions)]
        assert_eq!(
            format!("{c:?}"),
            format!(
                "{:?}",
                store.peek(record, |state| decode_state(state, last_seen.into()))
            ),
            "storing a connection loses nothing"
        );
        Stored {
            stream: c.stream,
            record,
        }
    }

    fn last_seen(self, store: &cold::Store) -> i128 {
        store.last_seen(self.record).into()
    }

    fn unpack(self, store: &mut cold::Store) -> Box<Conn> {
        let last_seen = self.last_seen(store);
        store.take(self.record, |state| decode_state(state, last_seen))
    }
}

/// A connection's state as packed: times relative to the last segment's
/// ([`seq::relative_to`]). Writing plain structs into a Vec cannot fail (postcard errs only
/// on a full buffer or on types it cannot encode, such as sequences of unknown length).
fn encode_state(conn: &Conn, into: Vec<u8>) -> Vec<u8> {
    seq::relative_to(conn.last_seen.get(), || postcard::to_extend(conn, into))
        .expect("connection state encodes")
}

fn decode_state(state: &[u8], last_seen: i128) -> Box<Conn> {
    let conn = seq::relative_to(last_seen, || postcard::from_bytes(state));
    Box::new(conn.expect("packed state decodes"))
}

/// A connection's whole state, losslessly encoded with postcard (varint integers, so a zero
/// or a small counter takes one byte), behind a fixed header of what the sweeps read without
/// decoding: the stream, the time of the last segment and whether both ends are done.
/// Lossless rather than a summary plus a chosen subset: a segment may still come (a
/// retransmitted FIN, the last ACK again, a new SYN reusing the ports, the SYN/ACK after all)
/// and must find every field the analysis reads exactly as it was, so that its Wireshark
/// labels, states and the final summary stay the same.
struct Packed(Box<[u8]>);

/// The header: stream (4 bytes), then last_seen (16), little-endian, then finished (1).
const PACKED_HEADER: usize = 4 + 16 + 1;

impl Packed {
    /// Encodes into `scratch` (the tracker's, reused), then copies into one allocation of
    /// the exact size: growing a fresh Vec and shrinking it cost two reallocations each.
    fn new(conn: &Conn, scratch: &mut Vec<u8>) -> Packed {
        let mut bytes = std::mem::take(scratch);
        bytes.clear();
        bytes.extend_from_slice(&conn.stream.to_le_bytes());
        bytes.extend_from_slice(&conn.last_seen.get().to_le_bytes());
        bytes.push(u8::from(conn.finished()));
        let bytes = encode_state(conn, bytes);
        let packed = Packed(Box::from(&bytes[..]));
        *scratch = bytes;
        packed
    }

    fn stream(&self) -> u32 {
        let mut b = [0; 4];
        b.copy_from_slice(&self.0[..4]);
        u32::from_le_bytes(b)
    }

    fn last_seen(&self) -> i128 {
        let mut b = [0; 16];
        b.copy_from_slice(&self.0[4..20]);
        i128::from_le_bytes(b)
    }

    fn finished(&self) -> bool {
        self.0[20] != 0
    }

    fn unpack(&self) -> Box<Conn> {
        decode_state(&self.0[PACKED_HEADER..], self.last_seen())
    }
}

impl Slot {
    fn stream(&self) -> u32 {
        match self {
            Slot::Open(c) => c.stream,
            Slot::Packed(p) => p.stream(),
        }
    }

    fn last_seen(&self) -> i128 {
        match self {
            Slot::Open(c) => c.last_seen.get(),
            Slot::Packed(p) => p.last_seen(),
        }
    }

    fn finished(&self) -> bool {
        match self {
            Slot::Open(c) => c.finished(),
            Slot::Packed(p) => p.finished(),
        }
    }

    /// The connection, unpacked first if a segment comes for it.
    fn open(&mut self) -> &mut Box<Conn> {
        if let Slot::Packed(p) = self {
            *self = Slot::Open(p.unpack());
        }
        match self {
            Slot::Open(c) => c,
            Slot::Packed(_) => unreachable!("unpacked just above"),
        }
    }

    /// Packs the connection if it is open and `when` says so.
    fn pack_if(&mut self, scratch: &mut Vec<u8>, when: impl FnOnce(&Conn) -> bool) {
        if let Slot::Open(c) = self
            && when(c)
        {
            let packed = Packed::new(c, scratch);
            // Every test run over every capture checks what makes the packing invisible in
            // the output: the state unpacked is the state packed, field for field.
            #[cfg(debug_assertions)]
            assert_eq!(
                format!("{c:?}"),
                format!("{:?}", packed.unpack()),
                "packing a connection loses nothing"
            );
            *self = Slot::Packed(packed);
        }
    }

    fn summary(self, key: FlowKey) -> Summary {
        match self {
            Slot::Open(c) => c.summary(key),
            Slot::Packed(p) => p.unpack().summary(key),
        }
    }
}

/// A time at which a closed connection should be looked at again, to see whether 2×MSL have
/// passed since its last segment. Queued when both ends first reach CLOSED/TIME_WAIT; a
/// connection's departure only moves later as segments arrive, so at its entry it leaves or
/// is queued again for its real time. Entries of connections that already left (replaced on
/// port reuse, evicted) are dropped when they come up. This replaced a scan of the whole table
/// every second of capture time, which on a capture of many short connections touched every
/// connection's state each second (O(connections × seconds)). Idle connections are still
/// found by a scan, but only every eighth of the idle timeout: one per 7.5 minutes of capture
/// time by default, and a queue entry per connection would cost 40 bytes each (64 before
/// the time was kept as two words and the key as a [`TableKey`]).
struct Due {
    at: Nanos,
    stream: u32,
    key: TableKey,
}

impl Due {
    fn order(&self) -> (i128, u32) {
        (self.at.get(), self.stream)
    }
}

// Ordered by time, then stream: connections due at the same moment leave in stream order,
// so the JSON records of one sweep come out in the same order on every run.
impl PartialEq for Due {
    fn eq(&self, other: &Due) -> bool {
        self.order() == other.order()
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Due) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Due) -> Ordering {
        self.order().cmp(&other.order())
    }
}

/// The connections known at the end of the input, as [`Tracker::finish`] yields them: how
/// many is known before the first is summarized.
pub struct Left {
    finished: std::vec::IntoIter<(FlowKey, Leaving)>,
    table: ByStream,
    store: cold::Store,
}

impl Iterator for Left {
    type Item = Summary;

    fn next(&mut self) -> Option<Summary> {
        let next = (self.finished.next()).or_else(|| self.table.next());
        next.map(|(key, c)| c.summary(key, &mut self.store))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.finished.len() + self.table.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Left {}

/// The table's connections taken out by stream, [`BY_STREAM_CHUNK`] at a time. Draining the
/// whole table into one Vec sorted by stream put a second copy of its entries (64 bytes
/// each: 6.4 MiB at the default cap) beside the table's own allocation, which lives until
/// the table is dropped: at the end of a capture filling the table (the 1M-SYN flood), that
/// much over its steady state. Only the streams are sorted (4 bytes each); each chunk is then
/// taken out of the tables by one pass under the chunk's last stream, and sorted.
struct ByStream {
    table: HashMap<TableKey, Slot, FlowHasher>,
    stored: HashMap<TableKey, Stored, FlowHasher>,
    /// Every stream in the tables, ascending; those before `next` have been taken out.
    streams: Vec<u32>,
    next: usize,
    chunk: std::vec::IntoIter<(u32, FlowKey, Leaving)>,
}

/// Connections per pass of [`ByStream`]: 1 MiB of entries, and a pass over what is left of the
/// table per this many connections (short.pcap's 32k: 2 passes).
const BY_STREAM_CHUNK: usize = 16_384;

impl ByStream {
    fn new(
        table: HashMap<TableKey, Slot, FlowHasher>,
        stored: HashMap<TableKey, Stored, FlowHasher>,
    ) -> ByStream {
        let open = table.values().map(Slot::stream);
        let mut streams: Vec<u32> = open.chain(stored.values().map(|s| s.stream)).collect();
        streams.sort_unstable();
        ByStream {
            table,
            stored,
            streams,
            next: 0,
            chunk: Vec::new().into_iter(),
        }
    }

    fn len(&self) -> usize {
        self.chunk.len() + self.streams.len() - self.next
    }

    fn next(&mut self) -> Option<(FlowKey, Leaving)> {
        if self.chunk.len() == 0 && self.next < self.streams.len() {
            let end = (self.next + BY_STREAM_CHUNK).min(self.streams.len());
            // Streams are unique in the table, so this takes exactly the chunk's connections.
            let last = self.streams[end - 1];
            let open = (self.table.extract_if(|_, c| c.stream() <= last))
                .map(|(k, c)| (c.stream(), k.flow(), Leaving::Slot(c)));
            let stored = (self.stored.extract_if(|_, s| s.stream <= last))
                .map(|(k, s)| (s.stream, k.flow(), Leaving::Stored(s)));
            let mut chunk: Vec<(u32, FlowKey, Leaving)> = open.chain(stored).collect();
            chunk.sort_unstable_by_key(|(stream, _, _)| *stream);
            self.next = end;
            self.chunk = chunk.into_iter();
        }
        self.chunk.next().map(|(_, key, c)| (key, c))
    }
}

/// What the tracker knows about one segment, for the renderers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TcpInfo {
    /// Wireshark's `tcp.stream`.
    pub stream: u32,
    /// Base of this direction's relative sequence numbers (None: shown raw).
    pub seq_base: Option<SeqNum>,
    /// Base of the reverse direction, used for Ack= and SACK edges.
    pub ack_base: Option<SeqNum>,
    /// Calculated window (`tcp.window_size`).
    pub win: u32,
    /// Whether the flags print AccECN's ACE counter instead of ECE/CWR/AE.
    pub ace: bool,
    pub analysis: Analysis,
    /// The segment's place in the connection (None when Wireshark cannot track it).
    pub step: Option<Step>,
    /// This direction's window scaling when the segment came (`tcp.window_size_scalefactor`).
    pub scale: WinScale,
    /// Nanoseconds since the connection's first segment (`tcp.time_relative`).
    pub since_first: i64,
    /// Nanoseconds since the connection's previous segment (`tcp.time_delta`).
    pub since_prev: i64,
    /// `tcp.analysis.initial_rtt`, once the handshake's ACK has been seen.
    pub initial_rtt: Option<i64>,
}

impl TcpInfo {
    /// `tcp.seq`: relative to this direction's ISN, raw when the tracker has no base.
    pub fn rel_seq(&self, tcp: &Tcp) -> u32 {
        self.seq_base
            .map_or(tcp.seq, |b| SeqNum(tcp.seq).relative_to(b))
    }

    /// `tcp.ack`: relative to the peer's ISN when the ACK flag is set, else the raw field.
    pub fn rel_ack(&self, tcp: &Tcp) -> u32 {
        match self.ack_base {
            Some(b) if tcp.has(flags::ACK) => SeqNum(tcp.ack).relative_to(b),
            _ => tcp.ack,
        }
    }

    /// A number in the peer's sequence space (a SACK edge, an earlier Ack), relative to the
    /// same base as Ack=.
    pub fn rel_peer_seq(&self, edge: u32) -> u32 {
        edge.wrapping_sub(self.ack_base.map_or(0, |b| b.0))
    }

    /// `tcp.nxtseq`: the relative sequence number after this segment (SYN and FIN count one).
    pub fn next_seq(&self, tcp: &Tcp) -> u32 {
        let ctl = u32::from(tcp.has(flags::SYN)) + u32::from(tcp.has(flags::FIN));
        self.rel_seq(tcp).wrapping_add(tcp.len).wrapping_add(ctl)
    }
}

/// Which connections a tracker keeps when `count` trackers share one capture, each tracking
/// the connections whose 4-tuple hashes to its `index` (both directions hash alike: the key
/// is canonical). The hash is fixed, not seeded per process: a shard's work does not change
/// between runs, and its output never depends on it (see pipeline/shards.rs).
#[derive(Clone, Copy, Debug)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// One tracker for the whole capture.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    fn owns(&self, key: &FlowKey) -> bool {
        use std::hash::BuildHasher;
        if self.count <= 1 {
            return true;
        }
        let hash = foldhash::fast::FixedState::with_seed(0x0074_6370_6c65_6e73).hash_one(key);
        // The high bits: foldhash's low bits are the table's bucket index, and a shard owning
        // a fixed residue of them would leave its table with every other bucket empty.
        ((hash >> 32) % u64::from(self.count)) as u32 == self.index
    }
}

/// Bounds on the connection table, in capture time (design.md: memory grows with live
/// connections, never with file size).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections tracked at once; beyond, the least recently seen are evicted.
    pub max_flows: usize,
    /// A connection idle this long (ns) leaves the table.
    pub idle_timeout: i128,
    /// Maximum segment lifetime (ns): a closed connection leaves after 2×MSL (RFC 9293 §3.4.2).
    pub msl: i128,
}

impl Limits {
    /// How long a connection stays after its last segment: 2×MSL once both ends are done
    /// (RFC 9293 §3.6.1), or the idle timeout if shorter; else the idle timeout.
    fn wait(&self, finished: bool) -> i128 {
        if finished {
            self.idle_timeout.min(2 * self.msl)
        } else {
            self.idle_timeout
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_flows: 100_000,
            idle_timeout: 3_600 * NS,
            msl: 120 * NS,
        }
    }
}

const NS: i128 = 1_000_000_000;

/// The flow table's hasher. SipHash (std's default) was a visible share of the per-packet
/// profile; foldhash is several times faster on these small keys. The key is chosen by
/// whoever sends the packets, so a fixed-seed hash (FxHash) would let a hostile capture
/// collide every flow into one bucket chain (HashDoS); foldhash's RandomState is seeded
/// per process from runtime entropy, which keeps collisions unpredictable. The table is
/// also bounded by --max-flows, so even a successful attack costs time, not memory.
type FlowHasher = foldhash::fast::RandomState;

pub struct Tracker {
    /// The newest connection for each 4-tuple. Boxed: a Conn is ~600 bytes and hashbrown
    /// keeps up to twice as many slots as entries (a power of two at 7/8 load), so 32k
    /// connections in place took ~40 MiB of slots; boxed, the slots are 33 bytes (a
    /// [`TableKey`], a [`Slot`] and hashbrown's control byte) and only live connections cost
    /// their full size. Growing the table also moves small slots instead of whole
    /// connections (memmove was the top of the --summary profile). And under constant
    /// eviction (a SYN flood) deletions leave tombstones and hashbrown doubles the slot array
    /// rather than reuse them: with inline connections that doubling (old and new arrays
    /// alive at once) took 1M SYNs at the default cap to 290 MiB.
    by_key: HashMap<TableKey, Slot, FlowHasher>,
    /// The closed connections waiting out 2×MSL in `store`: never also in `by_key` (a segment
    /// for one moves it back there).
    stored: HashMap<TableKey, Stored, FlowHasher>,
    /// When closed connections are next due for an expiry check, earliest first.
    due: BinaryHeap<Reverse<Due>>,
    /// Capture time of the next scan for idle connections.
    next_idle_scan: i128,
    next_stream: u32,
    limits: Limits,
    /// Connections that left the table, oldest first, until taken; summarized as they are
    /// taken (an eviction of 10,000 connections made 10,000 summaries of ~340 bytes at once).
    finished: Vec<(FlowKey, Leaving)>,
    /// Connections evicted by the cap before they finished.
    pub evicted: u64,
    /// Where connections are encoded before their packed copy is made ([`Packed::new`]).
    scratch: Vec<u8>,
    /// Closed connections' packed states, compressed.
    store: cold::Store,
    /// Connections started since one-sided ones were last packed.
    started_since_pack: u32,
}

/// New connections between two passes packing the one-sided ones ([`Tracker::pack_one_sided`]):
/// at most this many unanswered SYNs are held unpacked (~1 KB each).
const PACK_ONE_SIDED_EVERY: u32 = 2048;

impl Default for Tracker {
    fn default() -> Tracker {
        Tracker::new(Limits::default())
    }
}

impl Tracker {
    pub fn new(limits: Limits) -> Tracker {
        Tracker {
            by_key: HashMap::with_hasher(FlowHasher::default()),
            stored: HashMap::with_hasher(FlowHasher::default()),
            due: BinaryHeap::new(),
            next_idle_scan: i128::MIN,
            next_stream: 0,
            limits,
            finished: Vec::new(),
            evicted: 0,
            scratch: Vec::new(),
            store: cold::Store::default(),
            started_since_pack: 0,
        }
    }

    /// Summaries of connections that have left the table since the last call, in the order
    /// they left. A connection leaves when a segment arrives past its time (or reuses its
    /// ports), so taking them after each [`Tracker::track`] puts their records just before
    /// that segment's row, whatever the batching of frames.
    /// Whether connections have left the table since the last [`Tracker::take_finished`]:
    /// rarely, so a caller can skip draining an empty list per segment.
    pub fn has_finished(&self) -> bool {
        !self.finished.is_empty()
    }

    pub fn take_finished(&mut self) -> impl ExactSizeIterator<Item = Summary> + '_ {
        let store = &mut self.store;
        self.finished
            .drain(..)
            .map(|(key, c)| c.summary(key, store))
    }

    /// Ends tracking: the summaries not yet taken, then those of every connection still in
    /// the table, by stream. One at a time, each connection freed as its summary goes: a
    /// capture of many short connections ends with all of them in the table (they leave
    /// 2×MSL after closing), and collecting their summaries first cost ~7 MiB per 32k.
    pub fn finish(&mut self) -> Left {
        self.due = BinaryHeap::new();
        Left {
            finished: std::mem::take(&mut self.finished).into_iter(),
            table: ByStream::new(
                std::mem::take(&mut self.by_key),
                std::mem::take(&mut self.stored),
            ),
            store: std::mem::take(&mut self.store),
        }
    }

    /// Sweeps when a connection is due, idle connections are to be looked for, or the table is
    /// over its cap: three comparisons per segment otherwise.
    fn expire(&mut self, now: i128) {
        if self.due.peek().is_some_and(|d| d.0.at.get() < now)
            || now >= self.next_idle_scan
            || self.len() > self.limits.max_flows
        {
            self.sweep(now);
        }
    }

    /// Drops the connections that are due: finished ones 2×MSL after their last segment, idle
    /// ones after the timeout; when the table is over its cap, evicts the least recently seen
    /// tenth.
    fn sweep(&mut self, now: i128) {
        let limits = self.limits;
        while self.due.peek().is_some_and(|d| d.0.at.get() < now) {
            let Some(Reverse(due)) = self.due.pop() else {
                break;
            };
            let Some((_, at)) = self.lookup(&due.key).filter(|(s, _)| *s == due.stream) else {
                continue; // the connection already left the table
            };
            if now > at {
                if let Some(c) = self.take(&due.key) {
                    self.finished.push((due.key.flow(), c));
                }
            } else {
                let at = Nanos::from(at);
                self.due.push(Reverse(Due { at, ..due }));
            }
        }
        let store = &self.store;
        let due_at = |c: &Slot| c.last_seen() + limits.wait(c.finished());
        let stored_due_at = |s: &Stored| s.last_seen(store) + limits.wait(true);
        if now >= self.next_idle_scan {
            let open = (self.by_key.iter())
                .filter(|(_, c)| now > due_at(c))
                .map(|(k, c)| (c.stream(), k.clone()));
            let stored = (self.stored.iter())
                .filter(|(_, s)| now > stored_due_at(s))
                .map(|(k, s)| (s.stream, k.clone()));
            let mut idle: Vec<(u32, TableKey)> = open.chain(stored).collect();
            idle.sort_unstable_by_key(|(stream, _)| *stream);
            for (_, key) in idle {
                if let Some(c) = self.take(&key) {
                    self.finished.push((key.flow(), c));
                }
            }
            // At most an eighth of the timeout late, and at least a second of capture time
            // apart (as the old sweep), whatever --idle-timeout says.
            self.next_idle_scan = now.saturating_add((limits.idle_timeout / 8).max(NS));
        }
        if self.len() > limits.max_flows {
            let excess = self.len() - limits.max_flows * 9 / 10;
            // Each connection's age, then the excess-th oldest as the cut: 16 bytes per
            // connection (keys and times beside them took 64, 6.4 MiB at the default cap).
            // Times are ranked as i64 ns, which holds every pcap time (to 2262).
            let store = &self.store;
            let age_at = |last_seen: i128, stream: u32| {
                let t = last_seen.clamp(i64::MIN.into(), i64::MAX.into()) as i64;
                (t, stream)
            };
            let age = |c: &Slot| age_at(c.last_seen(), c.stream());
            let stored_age = |s: &Stored| age_at(s.last_seen(store), s.stream);
            let ages = (self.by_key.values().map(age)).chain(self.stored.values().map(stored_age));
            let mut ages: Vec<(i64, u32)> = ages.collect();
            let (_, &mut cut, _) = ages.select_nth_unstable(excess.saturating_sub(1));
            drop(ages);
            // Oldest first, as the table's order is the hasher's (seeded per process): the
            // summaries leave in the same order on every run, and so the summary table, which
            // lists the first 100,000 to leave, lists the same connections.
            let open = (self.by_key.extract_if(|_, c| age(c) <= cut))
                .map(|(k, c)| (age(&c), k.flow(), Leaving::Slot(c)));
            let stored = (self.stored.extract_if(|_, s| stored_age(s) <= cut))
                .map(|(k, s)| (stored_age(&s), k.flow(), Leaving::Stored(s)));
            let mut oldest: Vec<((i64, u32), FlowKey, Leaving)> = open.chain(stored).collect();
            let headroom = limits.max_flows.saturating_sub(self.len()) + 1;
            keep_room(&mut self.by_key, headroom);
            keep_room(&mut self.stored, headroom);
            oldest.sort_unstable_by_key(|(age, _, _)| *age);
            for (_, key, c) in oldest {
                self.evicted += 1;
                self.finished.push((key, c));
            }
        }
        // Entries of connections that left are dropped only when they come up: under
        // eviction they would pile up, so past twice the table's size the queue keeps only
        // live connections' entries.
        if self.due.len() > 2 * self.len() + 1024 {
            let mut due = std::mem::take(&mut self.due);
            due.retain(|Reverse(d)| self.lookup(&d.key).is_some_and(|(s, _)| s == d.stream));
            self.due = due;
        }
    }

    /// Tracks one frame; returns the segment's connection info when it is TCP.
    pub fn track(&mut self, frame: &Frame) -> Option<TcpInfo> {
        self.track_shard(frame, Shard::WHOLE)
    }

    /// Tracks one frame as one of several trackers sharing a capture by flow hash: a segment
    /// of another shard's connection only moves this tracker's clock (its sweeps), so that
    /// connections leave every shard at the frame they would leave a single tracker.
    pub fn track_shard(&mut self, frame: &Frame, shard: Shard) -> Option<TcpInfo> {
        let decoded = frame.decoded();
        let (Some(ip), Payload::Tcp(tcp)) = (&decoded.ip, &decoded.payload) else {
            return None;
        };
        let (src, dst) = Endpoint::of_segment(ip, tcp);
        let now = frame.ts.as_nanos();
        self.expire(now);
        let (key, lo_to_hi) = FlowKey::new(src, dst);
        if !shard.owns(&key) {
            return None;
        }
        // Zeek's reassembler only takes payload the capture holds whole (`DataSent` needs
        // `remaining >= len`): a snap length that cut the frame leaves content gaps in Zeek.
        let wire = Wire {
            whole: frame.caplen >= frame.origlen,
            ip_len: ip.len,
            ts: now,
        };
        Some(self.segment(key, lo_to_hi, tcp, frame.number, now, wire))
    }

    /// Connections started so far (the next stream number).
    pub fn streams(&self) -> u32 {
        self.next_stream
    }

    /// Connections in the table now.
    pub fn len(&self) -> usize {
        self.by_key.len() + self.stored.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty() && self.stored.is_empty()
    }

    /// The stream of the connection either table holds under `key`, and the time it is due
    /// to leave ([`Limits::wait`] after its last segment).
    fn lookup(&self, key: &TableKey) -> Option<(u32, i128)> {
        let wait = |finished| self.limits.wait(finished);
        match self.stored.get(key) {
            Some(s) => Some((s.stream, s.last_seen(&self.store) + wait(true))),
            None => {
                (self.by_key.get(key)).map(|c| (c.stream(), c.last_seen() + wait(c.finished())))
            }
        }
    }

    /// Takes a connection out of whichever table holds it.
    fn take(&mut self, key: &TableKey) -> Option<Leaving> {
        (self.stored.remove(key).map(Leaving::Stored))
            .or_else(|| self.by_key.remove(key).map(Leaving::Slot))
    }

    fn segment(
        &mut self,
        key: FlowKey,
        lo_to_hi: bool,
        tcp: &Tcp,
        frame: u64,
        now: i128,
        wire: Wire,
    ) -> TcpInfo {
        let fwd = if lo_to_hi { 0 } else { 1 };
        let seq = SeqNum(tcp.seq);
        let pure_syn = tcp.flags & (flags::SYN | flags::ACK) == flags::SYN;
        let mut analysis = Analysis::default();

        // Port reuse (packet-tcp.c, 4.0): a pure SYN whose ISN differs from the base of its
        // direction starts a new conversation, and so a new stream. One lookup per segment:
        // the entry is either the connection, replaced in place on reuse, or a new one.
        let next_stream = &mut self.next_stream;
        let started_since_pack = &mut self.started_since_pack;
        let mut new_conn = || {
            let stream = *next_stream;
            *next_stream += 1;
            *started_since_pack += 1;
            Box::new(Conn::new(key, lo_to_hi, tcp, stream, now))
        };
        let (slot, known) = match self.by_key.entry_ref(&key) {
            EntryRef::Occupied(e) => (e.into_mut(), true),
            // A closed connection waiting out 2×MSL comes back to the table, unpacked.
            EntryRef::Vacant(e) => match self.stored.remove(&key) {
                Some(s) => {
                    let conn = Slot::Open(s.unpack(&mut self.store));
                    (e.insert_with_key(TableKey::from(&key), conn), true)
                }
                None => {
                    let conn = Slot::Open(new_conn());
                    (e.insert_with_key(TableKey::from(&key), conn), false)
                }
            },
        };
        if known {
            let conn = slot.open();
            if pure_syn && conn.halves[fwd].base.is_some_and(|b| b != seq) {
                analysis.set(Label::ReusedPorts);
                let old = std::mem::replace(conn, new_conn());
                self.finished.push((key, Leaving::Slot(Slot::Open(old))));
            }
        }
        // A closed connection's next segment unpacks it; it is packed again after.
        let info = 'seg: {
            let rev = 1 - fwd;
            let conn = slot.open();

            let syn = tcp.has(flags::SYN);
            if syn && tcp.has(flags::ACK) {
                // A SYN/ACK with a new ISN re-bases its direction in place (same stream).
                if conn.halves[fwd].base.is_some_and(|b| b != seq) {
                    conn.halves[fwd].base = Some(seq);
                    analysis.set(Label::ReusedPorts);
                }
            } else if pure_syn && conn.halves[fwd].base == Some(seq) {
                analysis::syn_again(&mut conn.flows[fwd]);
            }
            let since_prev = now - conn.last_seen.get();
            conn.last_seen = now.into();
            let times = Times {
                since_first: (now - conn.first_seen.get()) as i64,
                since_prev: since_prev as i64,
            };
            if tcp.short {
                // The IP length leaves no room for the header: Wireshark skips all tracking.
                break 'seg conn.info(lo_to_hi, tcp, analysis, None, times);
            }
            let half = &mut conn.halves[fwd];
            if half.base.is_none() {
                // RFC 9293 §3.4: the SYN carries the ISN; mid-stream, Wireshark shows the first
                // segment as Seq=1 (base = seq − 1).
                half.base = Some(if syn { seq } else { seq - 1 });
            }
            if tcp.has(flags::ACK) && conn.halves[rev].base.is_none() {
                conn.halves[rev].base = Some(SeqNum(tcp.ack) - 1);
            }

            // Window scaling (RFC 7323 §2.2): the WS option on any segment sets the shift; at a
            // SYN without one, scaling is off for both directions.
            if let Some(shift) = tcp.window_scale {
                conn.halves[fwd].win_scale = WinScale::Shift(shift.min(14));
            }
            if syn {
                match conn.halves[fwd].win_scale {
                    WinScale::Unknown => {
                        conn.halves[fwd].win_scale = WinScale::Off;
                        conn.halves[rev].win_scale = WinScale::Off;
                    }
                    WinScale::Shift(_)
                        if tcp.has(flags::ACK) && conn.halves[rev].win_scale == WinScale::Off =>
                    {
                        conn.halves[fwd].win_scale = WinScale::Off;
                    }
                    _ => {}
                }
                const ECN: u16 = flags::NS | flags::CWR | flags::ECE;
                if tcp.has(flags::ACK) {
                    let f = tcp.flags & ECN;
                    conn.acc_ecn_synack = f & (flags::NS | flags::CWR) == flags::CWR
                        || f & (flags::NS | flags::ECE) == flags::NS;
                } else {
                    conn.acc_ecn_syn = tcp.flags & ECN == ECN;
                }
            }
            let [a, b] = &mut conn.flows;
            let (fwd_flow, rev_flow) = if fwd == 0 { (a, b) } else { (b, a) };
            let seg = Segment {
                tcp,
                frame,
                now,
                rev_scale: conn.halves[rev].win_scale,
                base: conn.halves[fwd].base.map_or(0, |b| b.0),
                whole: wire.whole,
            };
            let analysis =
                analysis::analyze(&seg, fwd_flow, rev_flow, &mut conn.analysis, analysis);
            if let Some(acked) = analysis.acks.filter(|a| a.rtt != 0) {
                // The acknowledged segment went the other way: its sender's round trip.
                conn.rtt[rev].add(acked.rtt);
            }
            let sender = if lo_to_hi == conn.client_is_lo {
                Side::Client
            } else {
                Side::Server
            };
            let step = conn.life.segment(sender, tcp, &analysis, wire);
            if !conn.due_closed && conn.finished() {
                conn.due_closed = true;
                conn.flows.iter_mut().for_each(FlowAnalysis::settle);
                self.due.push(Reverse(Due {
                    at: Nanos::from(now + 2 * self.limits.msl),
                    stream: conn.stream,
                    key: TableKey::from(&key),
                }));
            }
            let info = conn.info(lo_to_hi, tcp, analysis, Some(step), times);
            // packet-tcp.c dissects the options after the flags: the segment that carries the
            // first AccECN option still prints ECE/CWR/AE itself.
            conn.halves[fwd].acc_ecn_option |= tcp.acc_ecn;
            info
        };
        // Once both ends are CLOSED/TIME_WAIT, the connection only waits out 2×MSL, stored;
        // its next segment (if any) unpacks it again.
        if let Slot::Open(c) = slot
            && c.finished()
        {
            match i64::try_from(c.last_seen.get()) {
                Ok(last_seen) => {
                    let stored = Stored::new(c, last_seen, &mut self.scratch, &mut self.store);
                    self.by_key.remove(&key);
                    self.stored.insert(TableKey::from(&key), stored);
                }
                Err(_) => slot.pack_if(&mut self.scratch, |_| true),
            }
        }
        if self.started_since_pack >= PACK_ONE_SIDED_EVERY {
            self.pack_one_sided(key);
        }
        info
    }

    /// Packs every one-sided connection but `current`'s. Run once per
    /// [`PACK_ONE_SIDED_EVERY`] new connections: a table filling up with connections that
    /// only one side speaks in (a SYN flood, a scan, SYNs to a closed firewall) holds them
    /// packed, while a connection mid-handshake, packed by chance, costs one unpack when its
    /// SYN/ACK comes. The pass visits the whole table, so it costs a few slot visits per new
    /// connection.
    fn pack_one_sided(&mut self, current: FlowKey) {
        self.started_since_pack = 0;
        let scratch = &mut self.scratch;
        for (key, slot) in self.by_key.iter_mut() {
            if !current.equivalent(key) {
                slot.pack_if(scratch, |c| c.life.one_sided());
            }
        }
    }
}

/// Removals (evictions) leave tombstones, and once they and the connections fill a table,
/// hashbrown doubles it (both arrays alive during the move) rather than reuse them: a flood
/// at the default cap held 262,144 slots (15 MiB) after a 22.5 MiB moment. When the inserts
/// until the next eviction (`headroom`) could fill it, the table's connections move to a new
/// one with that room (the cap's size for a full table: 131,072 slots at the default,
/// without tombstones; two such arrays alive during the move). Not at every eviction: each
/// new array's pages are faulted in again (~0.3 s of system time over the flood's 90
/// evictions). Nor for a table holding fewer connections than the headroom: one that small
/// grows cheaply, and would otherwise be given the cap's room for nothing.
fn keep_room<V>(table: &mut HashMap<TableKey, V, FlowHasher>, headroom: usize) {
    if table.len() > headroom && table.capacity() < table.len() + headroom {
        let mut moved =
            HashMap::with_capacity_and_hasher(table.len() + headroom, table.hasher().clone());
        moved.extend(table.drain());
        *table = moved;
    }
}

impl Conn {
    fn new(key: FlowKey, lo_to_hi: bool, first: &Tcp, stream: u32, now: i128) -> Conn {
        // A SYN/ACK's sender is the server; any other first segment's sender is the client.
        let sender_is_client = !(first.has(flags::SYN) && first.has(flags::ACK));
        let first_sender = if sender_is_client {
            Side::Client
        } else {
            Side::Server
        };
        Conn {
            life: Life::new(first, first_sender, key.lo == key.hi),
            first_seen: now.into(),
            last_seen: now.into(),
            due_closed: false,
            stream,
            halves: [Half::default(); 2],
            client_is_lo: lo_to_hi == sender_is_client,
            acc_ecn_syn: false,
            acc_ecn_synack: false,
            flows: Default::default(),
            analysis: ConnAnalysis::default(),
            rtt: [RttStats::default(); 2],
        }
    }

    /// Both ends are done: nothing more is expected on this 4-tuple but retransmissions.
    fn finished(&self) -> bool {
        use endpoint::EndpointState::{Closed, TimeWait};
        let ep = &self.life.endpoints;
        matches!(ep.state(Side::Client), Closed | TimeWait)
            && matches!(ep.state(Side::Server), Closed | TimeWait)
    }

    /// The connection's summary, made as it leaves the table (its history moves into the
    /// summary); `key` is its key in the table (not kept in the Conn too).
    fn summary(self: Box<Conn>, key: FlowKey) -> Summary {
        let (client, server) = if self.client_is_lo {
            (key.lo, key.hi)
        } else {
            (key.hi, key.lo)
        };
        Summary {
            stream: self.stream,
            client,
            server,
            first: self.first_seen.get(),
            last: self.last_seen.get(),
            initial_rtt: self.analysis.initial_rtt(),
            ack_rtt: if self.client_is_lo {
                self.rtt
            } else {
                [self.rtt[1], self.rtt[0]]
            },
            life: self.life.into_summary(),
        }
    }

    fn info(
        &self,
        lo_to_hi: bool,
        tcp: &Tcp,
        analysis: Analysis,
        step: Option<Step>,
        times: Times,
    ) -> TcpInfo {
        let fwd = if lo_to_hi { 0 } else { 1 };
        // Untracked segments (no step) keep raw numbers, as Wireshark shows them.
        let (seq_base, ack_base) = match step {
            Some(_) => (self.halves[fwd].base, self.halves[1 - fwd].base),
            None => (None, None),
        };
        let win = match self.halves[fwd].win_scale {
            // SYNs are never scaled (RFC 7323 §2.2), nor are segments Wireshark cannot track.
            WinScale::Shift(s) if !tcp.has(flags::SYN) && !tcp.short => (tcp.window as u32) << s,
            _ => tcp.window as u32,
        };
        TcpInfo {
            stream: self.stream,
            seq_base,
            ack_base,
            win,
            ace: !tcp.has(flags::SYN)
                && ((self.acc_ecn_syn && self.acc_ecn_synack) || self.halves[fwd].acc_ecn_option),
            analysis,
            step,
            scale: self.halves[fwd].win_scale,
            since_first: times.since_first,
            since_prev: times.since_prev,
            initial_rtt: self.analysis.initial_rtt().map(|r| r as i64),
        }
    }
}

/// A segment's time within its connection.
#[derive(Clone, Copy)]
struct Times {
    since_first: i64,
    since_prev: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPL: Tcp = Tcp {
        sport: 40000,
        dport: 80,
        window: 1000,
        ..crate::decode::TCP_TEMPLATE
    };

    /// A tracker whose table holds at most `max_flows` connections.
    fn capped(max_flows: usize) -> Tracker {
        Tracker::new(Limits {
            max_flows,
            ..Limits::default()
        })
    }

    /// The client's end on `port`, the server's on 10.0.0.2:80.
    fn ends_on(port: u16, reverse: bool) -> (Endpoint, Endpoint) {
        let c = Endpoint {
            addr: "10.0.0.1".parse().unwrap(),
            port,
        };
        let s = Endpoint {
            addr: "10.0.0.2".parse().unwrap(),
            port: 80,
        };
        if reverse { (s, c) } else { (c, s) }
    }

    fn send(
        t: &mut Tracker,
        from_server: bool,
        flags: u16,
        seq: u32,
        ack: u32,
        at: i128,
    ) -> TcpInfo {
        send_on(t, 40000, from_server, flags, seq, ack, at)
    }

    /// A segment of the connection whose client is on `port`, at `at`, as `track` handles it:
    /// whatever is due leaves the table first.
    fn send_on(
        t: &mut Tracker,
        port: u16,
        from_server: bool,
        flags: u16,
        seq: u32,
        ack: u32,
        at: i128,
    ) -> TcpInfo {
        t.expire(at);
        let (src, dst) = ends_on(port, from_server);
        let tcp = Tcp {
            flags,
            seq,
            ack,
            sport: src.port,
            dport: dst.port,
            ..TEMPL
        };
        let wire = Wire {
            whole: true,
            ip_len: 40,
            ts: at,
        };
        let (key, lo_to_hi) = FlowKey::new(src, dst);
        t.segment(key, lo_to_hi, &tcp, 1, at, wire)
    }

    /// A complete connection: handshake, then a close whose second FIN carries the ACK.
    fn connection(t: &mut Tracker, isn: u32, at: i128) {
        connection_on(t, 40000, isn, at);
    }

    fn connection_on(t: &mut Tracker, port: u16, isn: u32, at: i128) {
        let mut send = |from_server, flags, seq, ack| {
            send_on(t, port, from_server, flags, seq, ack, at);
        };
        send(false, flags::SYN, isn, 0);
        send(true, flags::SYN | flags::ACK, 7, isn.wrapping_add(1));
        send(false, flags::ACK, isn.wrapping_add(1), 8);
        send(false, flags::FIN | flags::ACK, isn.wrapping_add(1), 8);
        send(true, flags::FIN | flags::ACK, 8, isn.wrapping_add(2));
        send(false, flags::ACK, isn.wrapping_add(2), 9);
    }

    /// Memory grows with connections (issue 6): a connection's state stays within 9 cache
    /// lines. Not a timing: a guard against a field quietly doubling it (an i128, a copy).
    /// It was 8 until issue 14: Wireshark's unacknowledged-segment lists (2 × 32 bytes) filled
    /// the eighth, and the summary's ack_rtt min/avg/max per side (2 × 32 bytes) took a ninth.
    #[test]
    fn connection_state_fits_nine_cache_lines() {
        assert!(
            std::mem::size_of::<Conn>() <= 576,
            "{}",
            std::mem::size_of::<Conn>()
        );
    }

    /// Unpacks every closed connection: the tracker as it was before closed connections were
    /// packed (issue 17), for comparison.
    fn unpack_all(t: &mut Tracker) {
        let store = &mut t.store;
        for (key, stored) in t.stored.drain() {
            t.by_key.insert(key, Slot::Open(stored.unpack(store)));
        }
        t.by_key.values_mut().for_each(|s| {
            s.open();
        });
    }

    /// Issue 17: a connection that has closed and only waits out 2×MSL keeps a packed record,
    /// and what comes later finds it as it was: the server's FIN again (a retransmission), the
    /// client's last ACK again (a duplicate ACK in Wireshark's terms, as its window and
    /// numbers repeat), then a SYN with a new ISN on the same ports (port reuse, RFC 9293
    /// §3.6.1: a new connection may take the 4-tuple from TIME_WAIT). Each gets the same
    /// verdicts, and each connection the same summary, as from state never packed.
    #[test]
    fn closed_connection_waiting_out_2msl_is_packed_and_late_segments_get_the_same_verdicts() {
        let mut packed = Tracker::default();
        let mut reference = Tracker::default();
        connection(&mut packed, 100, 0);
        connection(&mut reference, 100, 0);
        assert!(packed.by_key.is_empty());
        let Some(&stored) = packed.stored.values().next() else {
            panic!("the closed connection is stored packed");
        };
        let len = packed.store.peek(stored.record, <[u8]>::len);
        let full = std::mem::size_of::<Conn>() + std::mem::size_of::<zeek::ZeekConn>();
        assert!(len * 3 < full, "{len} bytes packed, {full} open");
        let late = [
            (true, flags::FIN | flags::ACK, 8, 102, NS),
            (false, flags::ACK, 102, 9, 2 * NS),
            (false, flags::ACK, 102, 9, 3 * NS),
            (false, flags::SYN, 5000, 0, 4 * NS),
            (true, flags::SYN | flags::ACK, 70, 5001, 4 * NS),
        ];
        let mut infos = Vec::new();
        for (from_server, f, seq, ack, at) in late {
            unpack_all(&mut reference);
            let info = send(&mut packed, from_server, f, seq, ack, at);
            assert_eq!(info, send(&mut reference, from_server, f, seq, ack, at));
            infos.push(info);
        }
        assert!(infos[0].analysis.has(Label::Retransmission));
        assert!(infos[2].analysis.has(Label::DuplicateAck));
        assert_eq!(infos[3].stream, 1);
        assert!(infos[3].analysis.has(Label::ReusedPorts));
        let a: Vec<Summary> = packed.finish().collect();
        let b: Vec<Summary> = reference.finish().collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
    }

    /// The stored connections of a full chunk are compressed; a late segment for one of
    /// them (and a new SYN on another's ports) finds it as it was, as the summaries at the
    /// end find the others, from several chunks in stream order.
    #[test]
    fn late_segments_find_their_closed_connections_in_compressed_chunks() {
        let mut stored = Tracker::default();
        let mut reference = Tracker::default();
        let n = 600u16; // more than two chunks of 256
        for port in 1..=n {
            connection_on(&mut stored, port, 100, i128::from(port));
            connection_on(&mut reference, port, 100, i128::from(port));
        }
        let late = [
            (3, true, flags::FIN | flags::ACK, 8, 102),
            (3, false, flags::ACK, 102, 9),
            (300, false, flags::SYN, 5000, 0),
            (599, true, flags::FIN | flags::ACK, 8, 102),
        ];
        for (port, from_server, f, seq, ack) in late {
            unpack_all(&mut reference);
            let at = NS;
            let info = send_on(&mut stored, port, from_server, f, seq, ack, at);
            assert_eq!(
                info,
                send_on(&mut reference, port, from_server, f, seq, ack, at)
            );
        }
        let a: Vec<Summary> = stored.finish().collect();
        let b: Vec<Summary> = reference.finish().collect();
        assert_eq!(
            a.len(),
            usize::from(n) + 1,
            "port 300's connection was reused"
        );
        assert_eq!(a, b);
    }

    #[test]
    fn time_wait_recv_new_syn_starts_new_stream_port_reuse() {
        let mut t = Tracker::default();
        connection(&mut t, u32::MAX, 0);
        let syn = send(&mut t, false, flags::SYN, 5000, 0, NS);
        assert_eq!(syn.stream, 1);
        assert!(syn.analysis.has(Label::ReusedPorts));
        let done: Vec<Summary> = t.take_finished().collect();
        assert_eq!(done.len(), 1, "the old connection's summary is out");
        assert_eq!(done[0].life.close, conn::Close::ThreeWay);
        assert_eq!(done[0].life.client.name(), "TIME_WAIT");
    }

    #[test]
    fn relative_numbers_wrap_with_isn_near_u32_max() {
        let mut t = Tracker::default();
        send(&mut t, false, flags::SYN, u32::MAX - 1, 0, 0);
        let synack = send(&mut t, true, flags::SYN | flags::ACK, 7, u32::MAX, 0);
        assert_eq!(synack.ack_base, Some(SeqNum(u32::MAX - 1)));
        let ack = send(&mut t, false, flags::ACK, 0, 8, 0);
        assert_eq!(SeqNum(0).relative_to(ack.seq_base.unwrap()), 2);
        assert_eq!(ack.step.unwrap().phase, conn::Phase::Handshake);
    }

    #[test]
    fn closed_connection_leaves_table_after_two_msl() {
        let mut t = Tracker::new(Limits {
            msl: NS,
            ..Limits::default()
        });
        connection(&mut t, 100, 0);
        // Any segment 2×MSL (2 s) after the last one finds it gone, and its record comes first.
        send_on(&mut t, 1, false, flags::SYN, 5, 0, 2 * NS);
        assert_eq!(t.take_finished().len(), 0, "exactly 2×MSL is not past it");
        send_on(&mut t, 1, false, flags::SYN, 5, 0, 2 * NS + 1);
        let gone: Vec<Summary> = t.take_finished().collect();
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].stream, 0);
        assert_eq!(t.evicted, 0, "expiry is not eviction");
    }

    #[test]
    fn retransmissions_after_close_keep_a_connection_until_2msl_after_them() {
        let mut t = Tracker::new(Limits {
            msl: NS,
            ..Limits::default()
        });
        connection(&mut t, 100, 0);
        // The last ACK again, 1.5 s later (the server's FIN retransmitted, say): the 2×MSL
        // wait restarts from it, as the TIME_WAIT timer does (RFC 9293 §3.6.1).
        send(&mut t, false, flags::ACK, 102, 9, 3 * NS / 2);
        send_on(&mut t, 1, false, flags::SYN, 5, 0, 3 * NS);
        assert_eq!(
            t.take_finished().len(),
            0,
            "queued for 2 s, seen again at 1.5 s"
        );
        send_on(&mut t, 1, false, flags::SYN, 5, 0, 7 * NS / 2 + 1);
        assert_eq!(t.take_finished().len(), 1);
    }

    #[test]
    fn idle_connection_leaves_after_the_timeout() {
        let mut t = Tracker::new(Limits {
            idle_timeout: 10 * NS,
            ..Limits::default()
        });
        send(&mut t, false, flags::SYN, 100, 0, 0);
        send(&mut t, true, flags::SYN | flags::ACK, 7, 101, 0);
        send(&mut t, false, flags::ACK, 101, 8, 5 * NS);
        send_on(&mut t, 1, false, flags::SYN, 5, 0, 11 * NS);
        assert_eq!(t.take_finished().len(), 0, "idle for 6 s only");
        send_on(&mut t, 1, false, flags::SYN, 5, 0, 15 * NS + 1);
        let gone: Vec<Summary> = t.take_finished().collect();
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].life.client.name(), "ESTABLISHED");
    }

    #[test]
    fn connections_due_together_leave_in_stream_order() {
        let mut t = Tracker::new(Limits {
            msl: NS,
            ..Limits::default()
        });
        // Streams 0..50, all closed at the same instant, all due at 2 s.
        for port in 0..50 {
            connection_on(&mut t, 1000 + port, 100, 0);
        }
        send_on(&mut t, 1, false, flags::SYN, 5, 0, 3 * NS);
        let streams: Vec<u32> = t.take_finished().map(|s| s.stream).collect();
        assert_eq!(streams, (0..50).collect::<Vec<u32>>());
    }

    #[test]
    fn expiry_queue_stays_proportional_to_the_table() {
        let mut t = capped(100);
        // 5,000 closed connections against a table of 100: each queued its 2×MSL check, and
        // eviction leaves those entries behind; the queue must not keep them all.
        for i in 0..5_000u16 {
            connection_on(&mut t, i + 1, 100, i as i128);
            assert!(t.due.len() <= 2 * t.len() + 1024 + 1, "{}", t.due.len());
        }
        assert!(t.evicted > 4_800);
    }

    #[test]
    fn table_over_cap_evicts_least_recently_seen_and_counts_them() {
        let mut t = capped(10);
        for i in 0..25u16 {
            send_on(&mut t, 1000 + i, false, flags::SYN, 0, 0, i as i128);
        }
        // The cap, plus the connection whose segment came after the last sweep.
        assert!(t.len() <= 11);
        assert!(t.evicted >= 14);
        let left: Vec<Summary> = t.finish().collect();
        assert_eq!(left.len(), 25, "every connection gets a summary");
    }

    #[test]
    fn table_under_constant_eviction_keeps_the_size_of_its_cap() {
        let mut t = capped(1000);
        let cap_size = HashMap::<FlowKey, Slot>::with_capacity(1000).capacity();
        // 20 evictions of a tenth: their tombstones alone would have doubled the table.
        for i in 0..20_000u16 {
            send_on(&mut t, i + 1, false, flags::SYN, 0, 0, i as i128);
            assert!(t.by_key.capacity() <= cap_size, "{}", t.by_key.capacity());
        }
        assert!(t.evicted > 18_000);
        // Evicted oldest first, then the table by stream: every connection once, in order.
        let streams: Vec<u32> = t.finish().map(|s| s.stream).collect();
        assert_eq!(streams, (0..20_000).collect::<Vec<u32>>());
    }

    #[test]
    fn connections_left_at_the_end_come_by_stream_in_chunks() {
        let mut t = Tracker::default();
        // More than two chunks' worth, started in an order unrelated to the table's.
        let n = 2 * BY_STREAM_CHUNK as u32 + 5;
        for i in 0..n {
            let port = (i.wrapping_mul(7919) % n) as u16 + 1;
            send_on(&mut t, port, false, flags::SYN, 0, 0, i as i128);
        }
        let left = t.finish();
        assert_eq!(left.len(), n as usize);
        let streams: Vec<u32> = left.map(|s| s.stream).collect();
        assert_eq!(streams, (0..n).collect::<Vec<u32>>());
    }
}
