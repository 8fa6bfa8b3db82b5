//! `read --summary --threads N` (issue 17): the connections tracked by several trackers at
//! once, each owning the connections whose 4-tuple hashes to it (flow-hash shards, as Zeek's
//! cluster workers or Suricata's flow-pinned threads divide traffic), the summaries merged
//! into exactly the table one tracker prints. It shares the tracking among cores beyond the
//! reader's; on two cores, where one tracker beside the reader keeps both busy already, it
//! is no faster than one (docs/performance.md), and the default there is one tracker.
//!
//! The reader decodes once, as for every other run; each batch is shared (not copied) with
//! every shard. A shard tracks its own connections and, for the others' segments, only lets
//! its clock run (`Tracker::track_shard`): a connection leaves the table at the same frame,
//! after the same sweeps, as it would leave a single tracker, so a later segment on its ports
//! continues it or starts a new connection exactly as it would there. The tracker's state is
//! per connection, so each connection's summary is the single tracker's.
//!
//! What differs is numbering: each shard numbers its connections in the order they start.
//! `tcp.stream` is the order in which connections start in the whole capture, so the merge
//! numbers every connection by its first frame among all shards' first frames.
//!
//! Two things a single tracker decides over the whole table: evicting connections when more
//! than `--max-flows` are open, and listing at most `MAX_LISTED` lines in the order
//! connections leave. Either would make the shards' table differ, so the shards give up as
//! soon as either could happen (the open connections of all shards together could exceed
//! `--max-flows`, or more connections than listed start) and the file is read again by one
//! tracker: the output never depends on the number of threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use anyhow::Result;
use crossbeam_channel::{Receiver, Sender, bounded};

use super::{Event, Frames, Selector, Tracked, render};
use crate::flow::{Limits, Shard, Summary, Tracker};
use crate::render::Outputs;
use crate::render::summary::MAX_LISTED;
use crate::source::{Batch, SourceMsg};

/// Batches handed to the shards at once: a shard waking for every batch of 512 frames
/// switched context ~2,000 times on short.pcap.
const GROUP: usize = 8;

/// How the sharded read ended.
pub enum Sharded<'s, W: std::io::Write> {
    /// The table is printed (or an error stopped it).
    Done(Result<()>),
    /// The shards gave up (the table might have overflowed, or the summary would be cut):
    /// the outputs, untouched but for the first frame's time, for a single tracker.
    Again(Box<Outputs<'s, W>>),
}

/// What a shard sends the merge once the input has ended: the first frame of each of its
/// connections, by its own numbering, then their summaries in that order, a chunk at a time.
/// Streamed rather than collected: each shard unpacks and summarizes its connections while
/// the merge formats lines (collecting them all first took 13 MiB more on short.pcap).
enum ShardMsg {
    Starts(Vec<u64>),
    Summaries(Vec<Summary>),
}

/// Summaries per [`ShardMsg::Summaries`].
const CHUNK: usize = 256;

/// What every shard reads: when to give up.
struct Bounds {
    limits: Limits,
    /// The sum over shards of each one's largest table so far: at least the number of
    /// connections open at once in the whole capture.
    peaks: AtomicUsize,
    /// Connections started in all shards.
    started: AtomicUsize,
    give_up: AtomicBool,
}

impl Bounds {
    fn new(limits: Limits) -> Bounds {
        Bounds {
            limits,
            peaks: AtomicUsize::new(0),
            started: AtomicUsize::new(0),
            give_up: AtomicBool::new(false),
        }
    }

    fn check(&self, peaks: usize, started: usize) {
        if peaks > self.limits.max_flows || started > MAX_LISTED {
            self.give_up.store(true, Relaxed);
        }
    }

    fn gave_up(&self) -> bool {
        self.give_up.load(Relaxed)
    }
}

/// One shard: tracks its connections in what `rx` brings, then sends them to `out` (nothing
/// if the shards gave up, or once the merge stopped listening).
fn shard(rx: Receiver<Arc<[Arc<Batch>]>>, shard: Shard, bounds: &Bounds, out: Sender<ShardMsg>) {
    let mut tracker = Tracker::new(bounds.limits);
    let mut firsts = Vec::new();
    let mut ended = Vec::new();
    let mut peak = 0;
    for group in rx {
        for frame in group.iter().flat_map(|b| b.frames()) {
            let started = tracker.streams();
            tracker.track_shard(frame, shard);
            if tracker.has_finished() {
                ended.extend(tracker.take_finished());
            }
            if tracker.streams() != started {
                firsts.push(frame.number);
                let peaks = match tracker.len() > peak {
                    true => {
                        peak = tracker.len();
                        bounds.peaks.fetch_add(1, Relaxed) + 1
                    }
                    false => bounds.peaks.load(Relaxed),
                };
                bounds.check(peaks, bounds.started.fetch_add(1, Relaxed) + 1);
            }
        }
        if bounds.gave_up() {
            return;
        }
    }
    if out.send(ShardMsg::Starts(firsts)).is_err() {
        return;
    }
    // The connections that left during the read (few, but for idle ones), merged by stream
    // with those still in the table (already by stream).
    ended.sort_by_key(|s: &Summary| s.stream);
    let mut ended = ended.into_iter().peekable();
    let mut left = tracker.finish().peekable();
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        let next = match (ended.peek(), left.peek()) {
            (Some(e), Some(l)) if l.stream < e.stream => left.next(),
            (Some(_), _) => ended.next(),
            (None, _) => left.next(),
        };
        let Some(summary) = next else { break };
        chunk.push(summary);
        if chunk.len() == CHUNK
            && out
                .send(ShardMsg::Summaries(std::mem::replace(
                    &mut chunk,
                    Vec::with_capacity(CHUNK),
                )))
                .is_err()
        {
            return;
        }
    }
    if !chunk.is_empty() {
        let _ = out.send(ShardMsg::Summaries(chunk));
    }
}

/// Tracks what `rx` brings in `count` shards, then writes the merged table to `outputs`.
pub fn consume<'s, W: std::io::Write + Send>(
    rx: &Receiver<SourceMsg>,
    mut outputs: Outputs<'s, W>,
    selector: &mut Selector,
    limits: Limits,
    count: u32,
) -> Sharded<'s, W> {
    let bounds = Bounds::new(limits);
    let mut failure = None;
    let result = std::thread::scope(|scope| {
        let mut txs = Vec::new();
        let mut results = Vec::new();
        let mut workers = Vec::new();
        for index in 0..count {
            let (tx, rx) = bounded::<Arc<[Arc<Batch>]>>(2);
            let (out_tx, out_rx) = bounded::<ShardMsg>(4);
            let bounds = &bounds;
            workers.push(scope.spawn(move || shard(rx, Shard { index, count }, bounds, out_tx)));
            txs.push(tx);
            results.push(out_rx);
        }
        let fed = feed(rx, &txs, &bounds, &mut outputs, selector, &mut failure);
        drop(txs);
        let result = match fed {
            Ok(()) if !bounds.gave_up() => merge(&results, &mut outputs),
            other => other.map(|()| false),
        };
        // Shards still sending find no one listening and stop.
        drop(results);
        let panicked = workers.into_iter().any(|w| w.join().is_err());
        if panicked && result.is_ok() {
            anyhow::bail!("internal error: a tracking thread stopped; try --threads 1");
        }
        result
    });
    match result {
        Ok(false) => Sharded::Again(Box::new(outputs)),
        Ok(true) => Sharded::Done(failure.map_or(Ok(()), Err)),
        Err(e) => Sharded::Done(Err(e)),
    }
}

/// Hands the reader's batches to every shard, a group at a time, until the input ends (a
/// failure is kept for after the table) or the shards give up. The capture's first frame
/// goes to the outputs, as in a single run: times count from it.
fn feed<W: std::io::Write>(
    rx: &Receiver<SourceMsg>,
    txs: &[Sender<Arc<[Arc<Batch>]>>],
    bounds: &Bounds,
    outputs: &mut Outputs<'_, W>,
    selector: &mut Selector,
    failure: &mut Option<anyhow::Error>,
) -> Result<()> {
    let mut started = false;
    let mut group = Vec::with_capacity(GROUP);
    let send = |group: &mut Vec<Arc<Batch>>| {
        let batches: Arc<[Arc<Batch>]> = std::mem::take(group).into();
        // A shard stops early only when they all give up.
        txs.iter().all(|tx| tx.send(batches.clone()).is_ok()) && !bounds.gave_up()
    };
    for msg in rx {
        match msg {
            SourceMsg::Frames(batch) => {
                if !started && !batch.frames().is_empty() {
                    started = true;
                    let first = Event::Frame(Tracked {
                        index: 0,
                        tcp: None,
                    });
                    render(outputs, selector, &batch, [first])?;
                }
                group.push(Arc::new(batch));
                if group.len() == GROUP && !send(&mut group) {
                    return Ok(());
                }
            }
            SourceMsg::Header(header) => outputs.header(&header)?,
            SourceMsg::Failed(e) => *failure = Some(e),
        }
    }
    if !group.is_empty() {
        send(&mut group);
    }
    Ok(())
}

/// The shards' summaries as one table: connections numbered as one tracker numbers them, by
/// their first frame, and written in that order. False when a shard gave up instead.
fn merge<W: std::io::Write>(
    results: &[Receiver<ShardMsg>],
    outputs: &mut Outputs<'_, W>,
) -> Result<bool> {
    let mut starts: Vec<(u64, u32)> = Vec::new();
    for (shard, rx) in results.iter().enumerate() {
        match rx.recv() {
            Ok(ShardMsg::Starts(firsts)) => {
                starts.extend(firsts.into_iter().map(|frame| (frame, shard as u32)))
            }
            _ => return Ok(false),
        }
    }
    // A segment starts at most one connection, so first frames are distinct.
    starts.sort_unstable();
    let table = Table {
        starts: starts.into_iter(),
        shards: results
            .iter()
            .map(|rx| (rx, Vec::new().into_iter()))
            .collect(),
        next: 0,
    };
    outputs.finish(table, 0)?;
    Ok(true)
}

/// The merged table, by stream: the shard whose connection starts next gives its next
/// summary (each shard sends them in the order they started).
struct Table<'a> {
    starts: std::vec::IntoIter<(u64, u32)>,
    shards: Vec<(&'a Receiver<ShardMsg>, std::vec::IntoIter<Summary>)>,
    next: u32,
}

impl Iterator for Table<'_> {
    type Item = Summary;

    fn next(&mut self) -> Option<Summary> {
        let (_, shard) = self.starts.next()?;
        let (rx, chunk) = &mut self.shards[shard as usize];
        if chunk.len() == 0 {
            match rx.recv() {
                Ok(ShardMsg::Summaries(more)) => *chunk = more.into_iter(),
                // A shard that stopped short (it panicked): reported once it is joined.
                _ => return None,
            }
        }
        let mut summary = chunk.next()?;
        summary.stream = self.next;
        self.next += 1;
        Some(summary)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.starts.len(), Some(self.starts.len()))
    }
}

impl ExactSizeIterator for Table<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Output, SeqMode, SummaryMode};
    use crate::render::color::ColorMode;
    use crate::source::merge::{Inputs, spawn_inputs};

    /// `fixture`'s batches as the reader sends them.
    fn batches(fixture: &str) -> Vec<Arc<Batch>> {
        let (tx, rx) = crate::source::channel();
        let inputs = Inputs::one(format!("fixtures/{fixture}").into());
        let reader = spawn_inputs(&inputs, Default::default(), tx, Default::default())
            .expect("fixture opens");
        let batches = (rx.iter())
            .filter_map(|m| match m {
                SourceMsg::Frames(b) => Some(Arc::new(b)),
                _ => None,
            })
            .collect();
        reader.join().expect("reader");
        batches
    }

    fn outputs(out: &mut Vec<u8>) -> Outputs<'_, &mut Vec<u8>> {
        let opts = Output::rows(false, ColorMode::Off, SeqMode::Relative, SummaryMode::Only);
        Outputs::new(opts, out, None)
    }

    /// The table `count` shards print over the whole capture (None: they gave up), and how
    /// many connections each tracked.
    fn in_shards(
        batches: &[Arc<Batch>],
        count: u32,
        limits: Limits,
    ) -> Option<(String, Vec<usize>)> {
        let bounds = Bounds::new(limits);
        let (mut results, mut owned) = (Vec::new(), Vec::new());
        for index in 0..count {
            let (tx, rx) = crossbeam_channel::unbounded();
            tx.send(batches.to_vec().into()).expect("send");
            drop(tx);
            let (out_tx, out_rx) = crossbeam_channel::unbounded();
            shard(rx, Shard { index, count }, &bounds, out_tx);
            if let Ok(ShardMsg::Starts(firsts)) = out_rx.try_recv() {
                owned.push(firsts.len());
                // Handed back, as the shard sent it, for the merge.
                let (again_tx, again_rx) = crossbeam_channel::unbounded();
                again_tx.send(ShardMsg::Starts(firsts)).expect("send");
                out_rx
                    .try_iter()
                    .for_each(|m| again_tx.send(m).expect("send"));
                results.push(again_rx);
            } else {
                results.push(out_rx);
            }
        }
        let mut out = Vec::new();
        let merged = merge(&results, &mut outputs(&mut out)).expect("written");
        merged.then(|| (String::from_utf8(out).expect("text"), owned))
    }

    /// One tracker's table.
    fn single(batches: &[Arc<Batch>]) -> String {
        let mut tracker = Tracker::new(Limits::default());
        let mut all = Vec::new();
        for frame in batches.iter().flat_map(|b| b.frames()) {
            tracker.track(frame);
            all.extend(tracker.take_finished());
        }
        all.extend(tracker.finish());
        all.sort_by_key(|s| s.stream);
        let mut out = Vec::new();
        outputs(&mut out)
            .finish(all.into_iter(), 0)
            .expect("written");
        String::from_utf8(out).expect("text")
    }

    #[test]
    fn forty_interleaved_connections_split_among_three_shards_merge_into_one_trackers_table() {
        let batches = batches("interleaved_40.pcap");
        let (table, owned) = in_shards(&batches, 3, Limits::default()).expect("no give-up");
        // Every shard has a share, and no connection is tracked twice.
        assert!(owned.iter().all(|&n| n > 0), "{owned:?}");
        assert_eq!(owned.iter().sum::<usize>(), 40);
        assert_eq!(table, single(&batches));
        assert!(table.contains("  #39 "), "{table}");
    }

    #[test]
    fn a_reused_port_is_a_new_stream_in_the_shard_that_owns_it() {
        let batches = batches("port_reuse.pcap");
        let want = single(&batches);
        assert!(
            want.contains("  #1 "),
            "the fixture reuses a 4-tuple: {want}"
        );
        for count in [2, 3, 5] {
            let (table, _) = in_shards(&batches, count, Limits::default()).expect("no give-up");
            assert_eq!(table, want, "{count} shards");
        }
    }

    #[test]
    fn shards_give_up_when_their_tables_together_could_exceed_max_flows() {
        let batches = batches("interleaved_40.pcap");
        let limits = |max_flows| Limits {
            max_flows,
            ..Limits::default()
        };
        assert!(
            in_shards(&batches, 3, limits(39)).is_none(),
            "40 open at once, 39 allowed"
        );
        assert!(
            in_shards(&batches, 3, limits(40)).is_some(),
            "40 open at once, 40 allowed"
        );
    }
}
