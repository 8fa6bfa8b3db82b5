//! Live capture through libpcap, as tcpdump captures: `pcap_create` on the interface (libpcap's
//! first device when none is named), packets delivered at most 10 ms after they arrive, the BPF
//! filter compiled by libpcap for the interface's link type and run in the kernel. The capture thread numbers the packets 1.. in capture order, writes them to the `-w`
//! file (flushed before their rows are sent, so a killed process leaves a valid file), and sends
//! whatever has arrived through the same bounded channel as the file reader: a full channel
//! blocks the capture, and the kernel's drop counters tell the truth.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use anyhow::{Context, Result, anyhow, bail};
use crossbeam_channel::Sender;
use pcap::{Active, Capture, Device, Linktype, Precision};

use super::rotate::{Rotation, Saved, Saving};
use super::write::PcapHeader;
use super::{Batcher, Captured, SourceMsg, Timestamp, linktype_name};

/// tcpdump's default snapshot length (`-s 0` means this too).
pub const DEFAULT_SNAPLEN: u32 = 262_144;
/// Default kernel buffer (`-B`), KiB: 32 MiB rather than libpcap's 2 MiB, so that a burst
/// while the machine is busy elsewhere is absorbed: TPACKET_V3 packs small frames densely,
/// ~200k of them (see LATENCY_MS; `lo` stores each packet twice).
pub const DEFAULT_BUFFER_KIB: u32 = 32 * 1024;
/// libpcap's read timeout, which on Linux is TPACKET_V3's block timeout: the kernel hands over
/// a block of packets when it is full or this old, so a row appears at most this late.
/// libpcap's immediate mode (no wait at all) was used before, but on Linux it switches to
/// TPACKET_V2, where every packet takes a ring slot of the snapshot length (the interface's
/// MTU at most): 32 MiB held ~500 packets on `lo`, which sees each packet twice, and at 80k
/// packets/s on a busy 2-core machine the kernel dropped more than half of them. V3 packs
/// packets densely into blocks, and the same capture dropped none (docs/performance.md).
const LATENCY_MS: i32 = 10;
const LINKTYPE_LINUX_SLL2: i32 = 276;

/// What to capture and where to write it; validated by the CLI.
#[derive(Clone, Debug)]
pub struct Options {
    /// Interface name, or a number from `tcplens interfaces`; `None`: libpcap's first device.
    pub interface: Option<String>,
    /// Stop after this many packets.
    pub count: Option<u64>,
    /// Write the packets to this pcap file (`-` is stdout) as they arrive.
    pub write: Option<PathBuf>,
    /// tcpdump's -C, -G, -W, -z around the -w file.
    pub rotation: Rotation,
    pub snaplen: u32,
    /// Kernel buffer in bytes.
    pub buffer_bytes: i32,
    pub promisc: bool,
    /// Nanosecond timestamps instead of tcpdump's microseconds.
    pub nanos: bool,
    /// BPF expression, words joined as tcpdump joins them.
    pub filter: Option<String>,
    /// Send each packet's bytes with it: a display filter or `-T fields` reads some.
    pub keep_bytes: bool,
}

/// An open capture, ready to run on its own thread.
pub struct Live {
    cap: Capture<Active>,
    stopper: Stopper,
    counters: Arc<Counters>,
    save: Option<Saving>,
    opts: Options,
    /// The interface actually opened.
    pub interface: String,
    pub linktype: u32,
}

/// libpcap's counters while the capture runs, for a status line (`capture --tui`): updated
/// by the capture thread about four times a second.
#[derive(Debug, Default)]
pub struct Counters {
    pub captured: std::sync::atomic::AtomicU64,
    pub received: std::sync::atomic::AtomicU64,
    pub dropped: std::sync::atomic::AtomicU64,
}

impl Counters {
    /// tcpdump's words, on one line.
    pub fn line(&self) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        format!(
            "{} captured, {} received by filter, {} dropped by kernel",
            self.captured.load(Relaxed),
            self.received.load(Relaxed),
            self.dropped.load(Relaxed)
        )
    }
}

/// libpcap's counters at the end of a capture, with the packets tcplens received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub captured: u64,
    pub received: u32,
    pub dropped: u32,
    pub if_dropped: u32,
}

impl Stats {
    /// tcpdump's words, one line each (tcpdump prints the last only when it is not zero).
    pub fn lines(&self) -> String {
        let s = |n: u64| if n == 1 { "" } else { "s" };
        let received = self.received as u64;
        let dropped = self.dropped as u64;
        let if_dropped = self.if_dropped as u64;
        format!(
            "{} packet{} captured\n{received} packet{} received by filter\n\
             {dropped} packet{} dropped by kernel\n{if_dropped} packet{} dropped by interface\n",
            self.captured,
            s(self.captured),
            s(received),
            s(dropped),
            s(if_dropped),
        )
    }
}

/// Stops a running capture from any thread: sets the flag the capture loop checks, and wakes
/// libpcap out of its wait with `pcap_breakloop` (libpcap 1.10 on Linux can keep waiting across
/// read timeouts, so the flag alone might not be seen until the next packet).
#[derive(Clone)]
pub struct Stopper {
    flag: Arc<AtomicBool>,
    wake: Arc<pcap::BreakLoop>,
}

impl Stopper {
    pub fn stop(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.wake.breakloop();
    }

    fn stopped(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// The first SIGINT or SIGTERM stops the capture cleanly (rows, summary, statistics, a complete
/// `-w` file); a second one ends the process at once, for a stop that got stuck.
pub fn stop_on_signals(stopper: &Stopper) -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let install = || -> std::io::Result<signal_hook::iterator::Signals> {
        for sig in [SIGINT, SIGTERM] {
            // Registered first, so it sees the flag as the previous signal left it.
            signal_hook::flag::register_conditional_default(sig, Arc::clone(&stopper.flag))?;
            signal_hook::flag::register(sig, Arc::clone(&stopper.flag))?;
        }
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
    };
    let mut signals = install().context("cannot install the SIGINT/SIGTERM handlers")?;
    let stopper = stopper.clone();
    std::thread::Builder::new()
        .name("tcplens-signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                stopper.stop();
            }
        })
        .context("cannot start the signal thread")?;
    Ok(())
}

/// Every device libpcap can capture on, in its order (tcpdump -D).
pub fn devices() -> Result<Vec<Device>> {
    Device::list().map_err(|e| anyhow!("cannot list the interfaces: {}", pcap_message(&e)))
}

/// Opens the capture on the caller's thread, so every error (permissions, interface, filter,
/// `-w` path) is one line before any output starts.
pub fn open(opts: Options) -> Result<Live> {
    let known = Device::list().ok();
    let name = choose_interface(opts.interface.as_deref(), known.as_deref())?;
    let mut inactive = Capture::from_device(name.as_str())
        .map_err(|e| anyhow!("cannot capture on {name}: {}", pcap_message(&e)))?
        .timeout(LATENCY_MS)
        .snaplen(opts.snaplen as i32)
        .promisc(opts.promisc)
        .buffer_size(opts.buffer_bytes);
    if opts.nanos {
        inactive = inactive.precision(Precision::Nano);
    }
    let mut cap = inactive
        .open()
        .map_err(|e| activation_error(&name, &e, known.as_deref()))?;
    if name == "any"
        && cap
            .list_datalinks()
            .is_ok_and(|l| l.contains(&Linktype(LINKTYPE_LINUX_SLL2)))
    {
        // tcpdump 4.99 captures `-i any` as SLL2, which also names the interface.
        let _ = cap.set_datalink(Linktype(LINKTYPE_LINUX_SLL2));
    }
    let linktype = cap.get_datalink().0 as u32;
    if linktype_name(linktype).is_none() {
        bail!(
            "{name} has link type {}, which tcplens does not decode (it reads Ethernet, Linux \
             SLL/SLL2, BSD NULL/LOOP, raw IP, PPP, Cisco HDLC, NFLOG, 802.11 and radiotap); pick another interface (`tcplens interfaces`)",
            describe_linktype(linktype)
        );
    }
    if let Some(expr) = &opts.filter {
        cap.filter(expr, true).map_err(|e| {
            anyhow!(
                "invalid filter '{expr}': {} (see `man pcap-filter`)",
                pcap_message(&e)
            )
        })?;
    }
    let save = match &opts.write {
        // The header libpcap's pcap_dump_open writes: version 2.4, the capture's snapshot
        // length and link type, µs or ns magic.
        Some(path) => Some(Saving::create(
            path,
            opts.rotation.clone(),
            PcapHeader {
                nanos: opts.nanos,
                version_major: 2,
                version_minor: 4,
                thiszone: 0,
                sigfigs: 0,
                snaplen: opts.snaplen,
                network: linktype,
            },
        )?),
        None => None,
    };
    let stopper = Stopper {
        flag: Arc::new(AtomicBool::new(false)),
        wake: Arc::new(cap.breakloop_handle()),
    };
    Ok(Live {
        cap,
        stopper,
        counters: Arc::default(),
        save,
        opts,
        interface: name,
        linktype,
    })
}

impl Live {
    /// tcpdump's line on stderr once the capture runs.
    pub fn listening(&self) -> String {
        format!(
            "listening on {}, link-type {}, snapshot length {} bytes",
            self.interface,
            describe_linktype(self.linktype),
            self.opts.snaplen
        )
    }

    /// The counters the capture thread keeps current.
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// What stops this capture (signals, or the consumer going away).
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Starts the capture thread. It stops when its [`Stopper`] is used, after `-c` packets, or
    /// on an error, which it sends down the channel after every packet before it; it returns
    /// libpcap's counters.
    pub fn spawn(self, tx: Sender<SourceMsg>) -> Result<JoinHandle<Stats>> {
        std::thread::Builder::new()
            .name("tcplens-capture".into())
            .spawn(move || self.run(&tx))
            .context("cannot start the capture thread")
    }

    /// Brings [`Counters`] up to date.
    fn count(&mut self, captured: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.counters.captured.store(captured, Relaxed);
        if let Ok(s) = self.cap.stats() {
            self.counters.received.store(s.received.into(), Relaxed);
            self.counters.dropped.store(s.dropped.into(), Relaxed);
        }
    }

    fn run(mut self, tx: &Sender<SourceMsg>) -> Stats {
        let mut captured = 0u64;
        let linktype = self.linktype;
        let digits = if self.opts.nanos { 9 } else { 6 };
        let mut failure = None;
        // -G with -W made its last file: the capture ends.
        let mut done = false;
        let mut batcher = if self.opts.keep_bytes {
            Batcher::keeping_bytes()
        } else {
            Batcher::default()
        };
        let mut counted = std::time::Instant::now();
        while !self.stopper.stopped() {
            let left = self.opts.count.map(|c| c.saturating_sub(captured));
            if left == Some(0) {
                break;
            }
            let save = &mut self.save;
            let mut write_failed = None;
            // Everything the kernel has handed over (a full block, or one LATENCY_MS old);
            // after the timeout with nothing, an empty batch.
            let got = self
                .cap
                .dispatch(left.map(|l| l.min(i32::MAX as u64) as usize), |packet| {
                    if done || write_failed.is_some() {
                        return;
                    }
                    let ts = Timestamp {
                        secs: packet.header.ts.tv_sec,
                        // tv_usec holds nanoseconds when opened with nanosecond precision.
                        nanos: packet.header.ts.tv_usec as u32 * if digits == 9 { 1 } else { 1000 },
                        digits,
                    };
                    let record = super::Record {
                        interface: 0,
                        ts_high: ts.secs as u32,
                        ts_low: packet.header.ts.tv_usec as u32,
                    };
                    if let Some(save) = save.as_mut() {
                        let frame = Captured {
                            record,
                            origlen: packet.header.len,
                            data: packet.data,
                        };
                        match save.write(frame) {
                            Ok(Saved::Written) => {}
                            // Neither written nor shown, as tcpdump exits before it.
                            Ok(Saved::Done) => {
                                done = true;
                                return;
                            }
                            Err(e) => {
                                write_failed = Some(e);
                                return;
                            }
                        }
                    }
                    captured += 1;
                    // One batch per dispatch, whatever its size: the -w file is flushed
                    // before the batch is sent, once per dispatch, not once per 64 packets.
                    batcher.push_record(
                        captured,
                        ts,
                        linktype,
                        packet.header.len,
                        packet.data,
                        record,
                    );
                });
            // The file holds a packet before its row is printed. Writer's errors keep their
            // io::Error, so `-w - | head` ends as quietly as rows into `| head`.
            failure = write_failed;
            if let (Some(save), false, None) = (self.save.as_mut(), batcher.is_empty(), &failure)
                && let Err(e) = save.flush()
            {
                failure = Some(e);
            }
            // A closed channel: the consumer stopped (e.g. `| head`), a clean end.
            if !batcher.is_empty() && tx.send(SourceMsg::Frames(batcher.take())).is_err() {
                break;
            }
            match got {
                Ok(_) | Err(pcap::Error::TimeoutExpired) => {}
                // pcap_breakloop: the stopper woke libpcap up.
                Err(_) if self.stopper.stopped() => {}
                Err(e) => {
                    failure = Some(anyhow!(
                        "capture on {} failed: {}",
                        self.interface,
                        pcap_message(&e)
                    ))
                }
            }
            if failure.is_some() || done {
                break;
            }
            if counted.elapsed() >= std::time::Duration::from_millis(250) {
                counted = std::time::Instant::now();
                self.count(captured);
            }
        }
        self.count(captured);
        let stats = self.cap.stats().ok();
        // The last file is complete.
        if let Some(save) = self.save.take()
            && let Err(e) = save.finish()
        {
            failure.get_or_insert(e);
        }
        if let Some(e) = failure {
            let _ = tx.send(SourceMsg::Failed(e));
        }
        Stats {
            captured,
            received: stats.map_or(0, |s| s.received),
            dropped: stats.map_or(0, |s| s.dropped),
            if_dropped: stats.map_or(0, |s| s.if_dropped),
        }
    }
}

/// The interface to open: the one named (or numbered, as in `tcpdump -D`), else libpcap's first
/// device, which is tcpdump's choice: up and running non-loopback interfaces come first.
fn choose_interface(wanted: Option<&str>, known: Option<&[Device]>) -> Result<String> {
    let Some(wanted) = wanted else {
        return match Device::lookup() {
            Ok(Some(d)) => Ok(d.name),
            Ok(None) => bail!("no interface to capture on: libpcap found none; give one with -i"),
            Err(e) => bail!("cannot find an interface: {}", pcap_message(&e)),
        };
    };
    let Some(known) = known else {
        return Ok(wanted.to_string());
    };
    if known.iter().any(|d| d.name == wanted) {
        return Ok(wanted.to_string());
    }
    if let Ok(n) = wanted.parse::<usize>()
        && n >= 1
        && n <= known.len()
    {
        return Ok(known[n - 1].name.clone());
    }
    Err(no_such_interface(wanted, known))
}

fn no_such_interface(wanted: &str, known: &[Device]) -> anyhow::Error {
    let names: Vec<&str> = known.iter().map(|d| d.name.as_str()).collect();
    anyhow!(
        "no interface named '{wanted}'; the interfaces are: {} (see `tcplens interfaces`)",
        names.join(", ")
    )
}

/// Turns a failed `pcap_activate` into one line that says what to do.
fn activation_error(name: &str, e: &pcap::Error, known: Option<&[Device]>) -> anyhow::Error {
    let msg = pcap_message(e);
    let lower = msg.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("operation not permitted") {
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "$(command -v tcplens)".into());
        return anyhow!(
            "no permission to capture on {name} ({msg}): capturing needs CAP_NET_RAW and \
             CAP_NET_ADMIN; run as root, with sudo, or grant them to the binary once with \
             `sudo setcap cap_net_raw,cap_net_admin=eip {exe}`"
        );
    }
    if lower.contains("no such device") {
        if let Some(known) = known {
            return no_such_interface(name, known);
        }
        return anyhow!("no interface named '{name}' (see `tcplens interfaces`)");
    }
    let down = known
        .and_then(|k| k.iter().find(|d| d.name == name))
        .is_some_and(|d| !d.flags.is_up());
    if lower.contains("not up") || (down && msg.is_empty()) {
        return anyhow!(
            "interface {name} is down: bring it up with `sudo ip link set {name} up`, or pick \
             another (`tcplens interfaces`)"
        );
    }
    anyhow!("cannot capture on {name}: {msg}")
}

/// libpcap's own words, without the crate's "libpcap error: " prefix.
fn pcap_message(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(m) => m.clone(),
        other => other.to_string(),
    }
}

/// `EN10MB (Ethernet)`, as tcpdump names a link type.
fn describe_linktype(lt: u32) -> String {
    let l = Linktype(lt as i32);
    match (l.get_name(), l.get_description()) {
        (Ok(n), Ok(d)) => format!("{n} ({d})"),
        (Ok(n), Err(_)) => n,
        _ => lt.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_read_like_tcpdump() {
        let s = Stats {
            captured: 1,
            received: 3,
            dropped: 0,
            if_dropped: 0,
        };
        assert_eq!(
            s.lines(),
            "1 packet captured\n3 packets received by filter\n0 packets dropped by kernel\n\
             0 packets dropped by interface\n"
        );
    }

    #[test]
    fn numbered_interfaces_follow_the_list() {
        let known = vec![Device::from("eth0"), Device::from("lo")];
        assert_eq!(choose_interface(Some("2"), Some(&known)).unwrap(), "lo");
        assert_eq!(choose_interface(Some("lo"), Some(&known)).unwrap(), "lo");
        let err = choose_interface(Some("nosuch0"), Some(&known))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'nosuch0'") && err.contains("eth0, lo"),
            "{err}"
        );
    }
}
