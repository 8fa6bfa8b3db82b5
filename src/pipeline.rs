//! Wires a source thread to the decode → track → render consumer (design.md's pipeline).

use std::io::Write;

use anyhow::Result;

use crate::cli::{CaptureConfig, Config};
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
    // A reader that died without reporting (a panic inside the pcap parser) must not pass for
    // the end of the file: the rows stop there, so the exit code says so.
    if reader.join().is_err() && result.is_ok() {
        anyhow::bail!(
            "reading {} stopped at an internal error after the rows above; the file is damaged",
            cfg.file.display()
        );
    }
    result
}

/// `tcplens capture`: rows as packets arrive, then the summary when the capture stops (Ctrl-C,
/// SIGTERM, `-c`), then libpcap's statistics on stderr as tcpdump prints them.
pub fn capture(cfg: &CaptureConfig) -> Result<()> {
    let live = source::live::open(cfg.live.clone())?;
    let stopper = live.stopper();
    source::live::stop_on_signals(&stopper)?;
    // Not eprintln!/eprint!: they panic when stderr is a closed pipe (`2>&1 | head -1`).
    let _ = writeln!(std::io::stderr(), "{}", live.listening());
    let (tx, rx) = source::channel();
    let capture = live.spawn(tx)?;
    let result = if cfg.print {
        let stdout = std::io::stdout().lock();
        let mut renderer = Renderer::new(
            cfg.output,
            std::io::BufWriter::with_capacity(1 << 16, stdout),
        )
        .flush_each_row(true);
        consume(&rx, &mut renderer, cfg.limits)
    } else {
        drain(&rx)
    };
    // The consumer may have stopped early (a closed pipe): stop the capture and unblock it.
    stopper.stop();
    drop(rx);
    let stats = capture
        .join()
        .map_err(|_| anyhow::anyhow!("the capture thread panicked"))?;
    if !result.as_ref().is_err_and(is_broken_pipe) {
        let _ = write!(std::io::stderr(), "{}", stats.lines());
    }
    result
}

/// Nothing goes to stdout (`-q --no-summary`, `-w -`): receive, so the capture never blocks.
fn drain(rx: &crossbeam_channel::Receiver<SourceMsg>) -> Result<()> {
    let mut failure = None;
    for msg in rx {
        if let SourceMsg::Failed(e) = msg {
            failure = Some(e);
        }
    }
    failure.map_or(Ok(()), Err)
}

pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `tcplens interfaces`: `tcpdump -D`'s list, each device followed by its addresses.
pub fn interfaces() -> Result<()> {
    let mut text = String::new();
    for (i, d) in source::live::devices()?.iter().enumerate() {
        interface_lines(&mut text, i + 1, d);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn interface_lines(out: &mut String, n: usize, d: &pcap::Device) {
    use pcap::ConnectionStatus as C;
    use std::fmt::Write as _;
    let _ = write!(out, "{n}.{}", d.name);
    if let Some(desc) = &d.desc {
        let _ = write!(out, " ({desc})");
    }
    let f = &d.flags;
    let mut words: Vec<&str> = [
        (f.is_up(), "Up"),
        (f.is_running(), "Running"),
        (f.is_loopback(), "Loopback"),
        (f.is_wireless(), "Wireless"),
    ]
    .into_iter()
    .filter_map(|(on, w)| on.then_some(w))
    .collect();
    if words.is_empty() {
        words.push("none");
    }
    let status = match (&f.connection_status, f.is_wireless()) {
        (C::Unknown, false) => Some("Connection status unknown"),
        (C::Connected, false) => Some("Connected"),
        (C::Disconnected, false) => Some("Disconnected"),
        (C::Unknown, true) => Some("Association status unknown"),
        (C::Connected, true) => Some("Associated"),
        (C::Disconnected, true) => Some("Not associated"),
        (C::NotApplicable, _) => None,
    };
    words.extend(status);
    let _ = writeln!(out, " [{}]", words.join(", "));
    for a in &d.addresses {
        let _ = write!(out, "    {}", a.addr);
        if let Some(mask) = a.netmask.filter(|m| m.is_ipv4() == a.addr.is_ipv4()) {
            let ones = match mask {
                std::net::IpAddr::V4(m) => m.to_bits().count_ones(),
                std::net::IpAddr::V6(m) => m.to_bits().count_ones(),
            };
            let _ = write!(out, "/{ones}");
        }
        out.push('\n');
    }
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
