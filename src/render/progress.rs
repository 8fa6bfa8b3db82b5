//! The progress bar of a long `tcplens read` (indicatif), on stderr.
//!
//! Shown only when stderr is a terminal and the rows do not go to that same terminal (a bar
//! redrawn between rows would garble both): `tcplens read big.pcap > rows.txt`, `| grep …`,
//! or `--summary`. Never when stderr is a file or a pipe, so scripts see nothing of it. It is
//! cleared when the read ends.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Files smaller than this read in well under a second: no bar.
const MIN_SIZE: u64 = 16 << 20;
const TICK: Duration = Duration::from_millis(100);

/// A running bar; dropping it stops and clears it.
pub struct Progress {
    done: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts the bar over a file of `size` bytes whose reader counts into `read`, if it
    /// should be shown at all (see the module comment); `rows` says whether stdout gets rows.
    pub fn start(size: u64, read: Arc<AtomicU64>, rows: bool) -> Progress {
        let stderr_tty = std::io::stderr().is_terminal();
        let show = stderr_tty && size >= MIN_SIZE && !(rows && std::io::stdout().is_terminal());
        let done = Arc::new(AtomicBool::new(false));
        if !show {
            return Progress { done, ticker: None };
        }
        let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "reading {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style);
        }
        let stop = done.clone();
        let ticker = std::thread::Builder::new()
            .name("tcplens-progress".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    bar.set_position(read.load(Ordering::Relaxed));
                    std::thread::sleep(TICK);
                }
                bar.finish_and_clear();
            })
            .ok();
        Progress { done, ticker }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}
