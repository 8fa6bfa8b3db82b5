//! `read --summary` on every core (issue 17): the connections tracked by several trackers at
//! once, each owning the connections whose 4-tuple hashes to it (flow-hash shards, as Zeek's
//! cluster workers or Suricata's flow-pinned threads divide traffic), the summaries merged
//! into exactly the table one tracker prints.
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
use crossbeam_channel::{Receiver, bounded};

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

/// What one shard made of the capture.
#[derive(Default)]
struct ShardOut {
    /// Every connection it tracked, numbered in its own order.
    summaries: Vec<Summary>,
    /// The frame number of each of its connections' first segment, by its own number.
    first_frames: Vec<u64>,
}

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
    fn check(&self, peaks: usize, started: usize) {
        if peaks > self.limits.max_flows || started > MAX_LISTED {
            self.give_up.store(true, Relaxed);
        }
    }
}

fn shard(rx: Receiver<Arc<[Arc<Batch>]>>, shard: Shard, bounds: &Bounds) -> ShardOut {
    let mut tracker = Tracker::new(bounds.limits);
    let mut out = ShardOut::default();
    let mut peak = 0;
    for group in rx {
        for frame in group.iter().flat_map(|b| b.frames()) {
            let started = tracker.streams();
            tracker.track_shard(frame, shard);
            if tracker.has_finished() {
                out.summaries.extend(tracker.take_finished());
            }
            if tracker.streams() != started {
                out.first_frames.push(frame.number);
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
        if bounds.give_up.load(Relaxed) {
            return out;
        }
    }
    out.summaries.extend(tracker.finish());
    out
}

/// Tracks what `rx` brings in `count` shards, then writes the merged table to `outputs`.
pub fn consume<'s, W: std::io::Write + Send>(
    rx: &Receiver<SourceMsg>,
    mut outputs: Outputs<'s, W>,
    selector: &mut Selector,
    limits: Limits,
    count: u32,
) -> Sharded<'s, W> {
    let bounds = Bounds {
        limits,
        peaks: AtomicUsize::new(0),
        started: AtomicUsize::new(0),
        give_up: AtomicBool::new(false),
    };
    let mut failure = None;
    let mut started = false;
    let (outs, stopped) = std::thread::scope(|scope| {
        let (txs, workers): (Vec<_>, Vec<_>) = (0..count)
            .map(|index| {
                let (tx, rx) = bounded::<Arc<[Arc<Batch>]>>(2);
                let bounds = &bounds;
                let worker = scope.spawn(move || shard(rx, Shard { index, count }, bounds));
                (tx, worker)
            })
            .unzip();
        let mut stopped = Ok(());
        let mut group = Vec::with_capacity(GROUP);
        for msg in rx {
            match msg {
                SourceMsg::Frames(batch) => {
                    if !started && !batch.frames().is_empty() {
                        // Times count from the capture's first frame, as in a single run.
                        started = true;
                        let first = Event::Frame(Tracked {
                            index: 0,
                            tcp: None,
                        });
                        if let Err(e) = render(&mut outputs, selector, &batch, [first]) {
                            stopped = Err(e);
                            break;
                        }
                    }
                    group.push(Arc::new(batch));
                    if group.len() < GROUP {
                        continue;
                    }
                    let batches: Arc<[Arc<Batch>]> = std::mem::take(&mut group).into();
                    // A shard stops early only when they all give up.
                    if txs.iter().any(|tx| tx.send(batches.clone()).is_err())
                        || bounds.give_up.load(Relaxed)
                    {
                        break;
                    }
                }
                SourceMsg::Header(header) => {
                    if let Err(e) = outputs.header(&header) {
                        stopped = Err(e);
                        break;
                    }
                }
                SourceMsg::Failed(e) => failure = Some(e),
            }
        }
        if !group.is_empty() {
            let batches: Arc<[Arc<Batch>]> = group.into();
            for tx in &txs {
                let _ = tx.send(batches.clone());
            }
        }
        drop(txs);
        let outs: Vec<ShardOut> = (workers.into_iter())
            .map(|w| w.join().expect("a shard panicked"))
            .collect();
        (outs, stopped)
    });
    if let Err(e) = stopped {
        return Sharded::Done(Err(e));
    }
    if bounds.give_up.load(Relaxed) {
        return Sharded::Again(Box::new(outputs));
    }
    let table = merge(outs);
    let result = outputs.finish(table, 0);
    Sharded::Done(result.and(failure.map_or(Ok(()), Err)))
}

/// Every shard's summaries, numbered as one tracker numbers them (by first frame), in stream
/// order.
fn merge(outs: Vec<ShardOut>) -> Table {
    let mut starts: Vec<(u64, u32, u32)> = Vec::new();
    for (shard, out) in outs.iter().enumerate() {
        let firsts = out.first_frames.iter().enumerate();
        starts.extend(firsts.map(|(local, &frame)| (frame, shard as u32, local as u32)));
    }
    starts.sort_unstable();
    let mut global: Vec<Vec<u32>> = (outs.iter())
        .map(|o| vec![0; o.first_frames.len()])
        .collect();
    for (stream, &(_, shard, local)) in starts.iter().enumerate() {
        global[shard as usize][local as usize] = stream as u32;
    }
    // Each summary put in its place: sorting 200-byte summaries moved them about.
    let mut table: Vec<Option<Summary>> = Vec::new();
    table.resize_with(starts.len(), || None);
    for (shard, out) in outs.into_iter().enumerate() {
        for mut s in out.summaries {
            s.stream = global[shard][s.stream as usize];
            let place = s.stream as usize;
            table[place] = Some(s);
        }
    }
    Table(table.into_iter())
}

/// The merged table, by stream: every connection started ends exactly once (it leaves the
/// table, is replaced by port reuse, or is there at the end), so every place is filled.
struct Table(std::vec::IntoIter<Option<Summary>>);

impl Iterator for Table {
    type Item = Summary;

    fn next(&mut self) -> Option<Summary> {
        self.0.by_ref().flatten().next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0.len(), Some(self.0.len()))
    }
}

impl ExactSizeIterator for Table {}

#[cfg(test)]
mod tests {
    use super::*;
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

    /// Each shard run over the whole capture, one after the other.
    fn shards(batches: &[Arc<Batch>], count: u32, limits: Limits) -> (Vec<ShardOut>, bool) {
        let bounds = Bounds {
            limits,
            peaks: AtomicUsize::new(0),
            started: AtomicUsize::new(0),
            give_up: AtomicBool::new(false),
        };
        let outs = (0..count)
            .map(|index| {
                let (tx, rx) = crossbeam_channel::unbounded();
                tx.send(batches.to_vec().into()).expect("send");
                drop(tx);
                shard(rx, Shard { index, count }, &bounds)
            })
            .collect();
        (outs, bounds.give_up.load(Relaxed))
    }

    /// One tracker's summaries, by stream.
    fn single(batches: &[Arc<Batch>]) -> Vec<Summary> {
        let mut tracker = Tracker::new(Limits::default());
        let mut all = Vec::new();
        for frame in batches.iter().flat_map(|b| b.frames()) {
            tracker.track(frame);
            all.extend(tracker.take_finished());
        }
        all.extend(tracker.finish());
        all.sort_by_key(|s| s.stream);
        all
    }

    fn line(s: &Summary) -> String {
        let mut out = String::new();
        crate::render::summary::summary_line(&mut out, s, None);
        out
    }

    #[test]
    fn forty_interleaved_connections_split_among_three_shards_merge_into_one_trackers_table() {
        let batches = batches("interleaved_40.pcap");
        let (outs, gave_up) = shards(&batches, 3, Limits::default());
        assert!(!gave_up);
        let owned: Vec<usize> = outs.iter().map(|o| o.first_frames.len()).collect();
        // Every shard has a share, and no connection is tracked twice.
        assert!(owned.iter().all(|&n| n > 0), "{owned:?}");
        assert_eq!(owned.iter().sum::<usize>(), 40);
        let merged: Vec<String> = merge(outs).map(|s| line(&s)).collect();
        let want: Vec<String> = single(&batches).iter().map(line).collect();
        assert_eq!(merged, want);
    }

    #[test]
    fn a_reused_port_is_a_new_stream_in_the_shard_that_owns_it() {
        let batches = batches("port_reuse.pcap");
        let want: Vec<String> = single(&batches).iter().map(line).collect();
        assert!(want.len() >= 2, "the fixture reuses a 4-tuple");
        for count in [2, 3, 5] {
            let (outs, _) = shards(&batches, count, Limits::default());
            let merged: Vec<String> = merge(outs).map(|s| line(&s)).collect();
            assert_eq!(merged, want, "{count} shards");
        }
    }

    #[test]
    fn shards_give_up_when_their_tables_together_could_exceed_max_flows() {
        let batches = batches("interleaved_40.pcap");
        let limits = Limits {
            max_flows: 39,
            ..Limits::default()
        };
        assert!(shards(&batches, 3, limits).1, "40 open at once, 39 allowed");
        let limits = Limits {
            max_flows: 40,
            ..Limits::default()
        };
        assert!(
            !shards(&batches, 3, limits).1,
            "40 open at once, 40 allowed"
        );
    }
}
