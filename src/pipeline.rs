//! Wires a source thread to the decode → track → render consumer (design.md's pipeline).

use std::io::Write;

use anyhow::Result;

use crate::cli::Config;
use crate::decode::decode;
use crate::flow::{Limits, Tracker};
use crate::render::Renderer;
use crate::source::{self, SourceMsg};

/// `tcplens read`: every frame of the file becomes one row (or one JSON record).
pub fn read(cfg: &Config) -> Result<()> {
    let (tx, rx) = source::channel();
    let reader = source::file::spawn(cfg.file.clone(), cfg.filter.clone(), tx)?;
    let stdout = std::io::stdout().lock();
    let mut renderer = Renderer::new(
        cfg.output,
        std::io::BufWriter::with_capacity(1 << 16, stdout),
    );
    let result = consume(&rx, &mut renderer, cfg.limits);
    // Dropping the receiver unblocks a reader waiting on a full channel if we stopped early.
    drop(rx);
    let _ = reader.join();
    result
}

fn consume<W: Write>(
    rx: &crossbeam_channel::Receiver<SourceMsg>,
    renderer: &mut Renderer<W>,
    limits: Limits,
) -> Result<()> {
    let mut tracker = Tracker::new(limits);
    let mut failure = None;
    for msg in rx {
        match msg {
            SourceMsg::Frames(batch) => {
                for frame in &batch {
                    let decoded = decode(frame.linktype, &frame.data);
                    let tcp = tracker.track(frame, &decoded);
                    renderer.packet(frame, &decoded, tcp.as_ref())?;
                }
                for summary in tracker.take_finished() {
                    renderer.connection(summary)?;
                }
            }
            SourceMsg::Failed(e) => failure = Some(e),
        }
    }
    for summary in tracker.finish() {
        renderer.connection(summary)?;
    }
    renderer.finish(tracker.evicted)?;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
