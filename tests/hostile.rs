//! Hostile input and faults (issue 7), through the binary as a user meets it: damaged files,
//! malformed packets, floods, closed pipes and signals. Each case says what must hold: every
//! whole frame before damage is printed, damage is one clear line and exit 2, a malformed
//! packet is a row, memory is bounded by the flow cap, and nothing ever panics.

mod common;
#[path = "common/pcapgen.rs"]
mod pcapgen;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pcapgen::{ACK, EN10MB, FIN, PSH, RST, Rng, SYN, Seg};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tcplens-hostile-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write capture");
    p.to_string_lossy().into_owned()
}

fn read(file: &str, extra: &[&str]) -> Output {
    let mut args = vec!["read", file, "--color", "never"];
    args.extend_from_slice(extra);
    common::run(&args)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Exit 0, nothing on stderr, and one row per frame.
fn assert_rows(out: &Output, frames: usize, what: &str) {
    let err = text(&out.stderr);
    assert!(
        out.status.success() && err.is_empty(),
        "{what}: {:?}: {err}",
        out.status
    );
    assert_eq!(
        text(&out.stdout).lines().count(),
        frames,
        "{what}: one row per frame"
    );
}

/// Exit 2 with exactly one line on stderr containing every needle, no panic.
fn assert_one_line_error(out: &Output, needles: &[&str], what: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: one line: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    for n in needles {
        assert!(err.contains(n), "{what}: {n:?} missing from {err}");
    }
}

fn learn_tcp() -> Vec<u8> {
    std::fs::read(common::root().join("fixtures/learn_tcp.pcap")).expect("fixture")
}

/// The learn_tcp frames re-written as pcapng.
fn learn_tcp_pcapng() -> Vec<u8> {
    let file = learn_tcp();
    let frames: Vec<(u64, Vec<u8>)> = pcapgen::layout(&file)
        .packets
        .iter()
        .map(|r| {
            let h = r.start - 16;
            let word = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().unwrap());
            let usec = word(h) as u64 * 1_000_000 + word(h + 4) as u64;
            (usec, file[r.clone()].to_vec())
        })
        .collect();
    pcapgen::pcapng(EN10MB, &frames)
}

/// Runs `tcplens ARGS`, and where /usr/bin/time is installed measures its peak resident
/// memory in KiB (GNU time's %M). Without it the run and every assertion on its output still
/// happen; only the memory bound is skipped, with a visible message.
fn run_measured(args: &[&str], dir: &Path) -> (Output, Option<u64>) {
    if !Path::new("/usr/bin/time").exists() {
        eprintln!("skipped the memory bound: /usr/bin/time is missing (apt-get install time)");
        return (common::run(args), None);
    }
    let report = dir.join("rss");
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(env!("CARGO_BIN_EXE_tcplens"))
        .args(args)
        .output()
        .expect("run /usr/bin/time");
    let kib = std::fs::read_to_string(&report)
        .expect("GNU time's report")
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok());
    assert!(kib.is_some(), "GNU time reported no peak RSS");
    (out, kib)
}

// ---- damaged files ----------------------------------------------------------------------

#[test]
fn a_pcap_cut_anywhere_prints_every_whole_frame_then_one_error() {
    let dir = temp_dir("cut-pcap");
    let file = learn_tcp();
    let bounds = pcapgen::layout(&file).boundaries;
    let mut cuts: Vec<usize> = (1..24).step_by(5).collect();
    for w in bounds.windows(2) {
        // Inside the record header, just past it, and in the middle of the packet.
        cuts.extend([w[0] + 1, w[0] + 15, w[0] + 17, (w[0] + w[1]) / 2, w[1] - 1]);
    }
    for cut in cuts {
        let path = write(&dir, "cut.pcap", &file[..cut]);
        let out = read(&path, &["--no-summary"]);
        let whole = bounds
            .iter()
            .filter(|&&b| b <= cut)
            .count()
            .saturating_sub(1);
        let what = format!("cut at byte {cut}");
        if cut < 24 {
            assert_one_line_error(&out, &["cut short inside its file header"], &what);
        } else {
            assert_one_line_error(&out, &["cut short", "is incomplete", "byte "], &what);
        }
        assert_eq!(text(&out.stdout).lines().count(), whole, "{what}");
    }
}

#[test]
fn a_pcapng_cut_mid_block_prints_every_whole_frame_then_one_error() {
    let dir = temp_dir("cut-pcapng");
    let file = learn_tcp_pcapng();
    let bounds = pcapgen::layout(&file).boundaries;
    // bounds: SHB, IDB, then one EPB per frame.
    let whole = read(&write(&dir, "whole.pcapng", &file), &["--no-summary"]);
    assert_rows(&whole, bounds.len() - 3, "the whole pcapng");
    for (i, w) in bounds.windows(2).enumerate().skip(2) {
        for cut in [w[0] + 4, w[0] + 30, w[1] - 2] {
            let path = write(&dir, "cut.pcapng", &file[..cut]);
            let out = read(&path, &["--no-summary"]);
            let what = format!("pcapng cut at byte {cut}");
            assert_one_line_error(&out, &["cut short", &format!("byte {}", w[0])], &what);
            assert_eq!(text(&out.stdout).lines().count(), i - 2, "{what}");
        }
    }
}

#[test]
fn a_record_claiming_4_gb_is_an_error_not_an_allocation() {
    let dir = temp_dir("huge");
    let file = learn_tcp();
    let after_two = pcapgen::layout(&file).boundaries[2];
    let mut pcap = file[..after_two].to_vec();
    // A record header claiming 0xFFFFFFFF captured bytes, followed by a little junk.
    pcap.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    pcap.extend_from_slice(&u32::MAX.to_le_bytes());
    pcap.extend_from_slice(&u32::MAX.to_le_bytes());
    pcap.extend_from_slice(&[0xab; 64]);
    let ng = learn_tcp_pcapng();
    let ng_bounds = pcapgen::layout(&ng).boundaries;
    let mut pcapng = ng[..ng_bounds[4]].to_vec();
    pcapng.extend_from_slice(&6u32.to_le_bytes());
    pcapng.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
    pcapng.extend_from_slice(&[0xab; 64]);
    for (name, bytes, claimed) in [
        ("huge.pcap", pcap, "claims 4294967311 bytes"),
        ("huge.pcapng", pcapng, "claims 4294967280 bytes"),
    ] {
        let path = write(&dir, name, &bytes);
        let (out, kib) = run_measured(&["read", &path, "--no-summary"], &dir);
        assert_one_line_error(&out, &[claimed, "damaged", "byte "], name);
        assert_eq!(text(&out.stdout).lines().count(), 2, "{name}: rows before");
        if let Some(kib) = kib {
            assert!(kib < 64 * 1024, "{name}: peak RSS {kib} KiB");
        }
    }
}

#[test]
fn a_record_larger_than_the_first_buffer_is_read() {
    // 3 MiB is within the 16 MiB a record may have: the reader must grow, not refuse.
    let dir = temp_dir("big");
    let mut frame = Seg::new(1, 2, 0, 0, ACK).ethernet();
    frame.resize(3 << 20, 0);
    let path = write(&dir, "big.pcap", &pcapgen::pcap(EN10MB, &[(0, frame)]));
    assert_rows(&read(&path, &["--no-summary"]), 1, "a 3 MiB frame");
}

#[test]
fn damaged_blocks_say_what_and_where() {
    let dir = temp_dir("blocks");
    let ng = learn_tcp_pcapng();
    let b = pcapgen::layout(&ng).boundaries;
    // Third frame's EPB names interface 7; the section describes one.
    let mut bad_if = ng.clone();
    bad_if[b[4] + 8..b[4] + 12].copy_from_slice(&7u32.to_le_bytes());
    // Third frame's EPB claims a block length of 8 (less than any block can be).
    let mut short = ng.clone();
    short[b[4] + 4..b[4] + 8].copy_from_slice(&8u32.to_le_bytes());
    // After the frames, a process information block (type 0x80000001) claiming 9 bytes:
    // pcap-parser 0.17 subtracted 12 from that length unchecked (found by the file fuzzer).
    let mut pib = ng[..b[4]].to_vec();
    pib.extend_from_slice(&0x8000_0001u32.to_le_bytes());
    pib.extend_from_slice(&9u32.to_le_bytes());
    pib.extend_from_slice(&[0; 16]);
    for (name, bytes, needles) in [
        ("bad_if.pcapng", bad_if, ["names interface 7", "damaged"]),
        ("short.pcapng", short, ["malformed block", "byte "]),
        ("pib.pcapng", pib, ["malformed block", "claims 9 bytes"]),
    ] {
        let out = read(&write(&dir, name, &bytes), &["--no-summary"]);
        assert_one_line_error(&out, &needles, name);
        assert_eq!(text(&out.stdout).lines().count(), 2, "{name}: rows before");
    }
}

#[test]
fn empty_junk_missing_directory_each_one_line() {
    let dir = temp_dir("bad");
    let cases = [
        (write(&dir, "empty.pcap", b""), "is empty"),
        (
            write(&dir, "junk.pcap", &[0x5a; 4096]),
            "not a pcap or pcapng",
        ),
        (
            write(&dir, "header.pcap", &learn_tcp()[..12]),
            "cut short inside its file header",
        ),
        (
            dir.join("missing.pcap").to_string_lossy().into_owned(),
            "check the path",
        ),
        (
            {
                let empty = dir.join("no-captures");
                std::fs::create_dir_all(&empty).unwrap();
                empty.to_string_lossy().into_owned()
            },
            "holds no pcap or pcapng file",
        ),
    ];
    for (path, needle) in cases {
        assert_one_line_error(&read(&path, &[]), &[needle], &path);
    }
}

#[test]
fn an_unreadable_file_is_one_clear_line() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("unreadable");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = write(&dir, "secret.pcap", &learn_tcp());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = if euid() == 0 {
        // root reads any file: run as nobody instead, from a copy nobody may execute.
        if Command::new("setpriv").arg("--version").output().is_err() {
            eprintln!("an_unreadable_file_is_one_clear_line: skipped: setpriv is missing");
            return;
        }
        let bin = dir.join("tcplens");
        std::fs::copy(env!("CARGO_BIN_EXE_tcplens"), &bin).expect("copy the binary");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .args(["read", &path])
            .current_dir(&dir)
            .output()
            .expect("run setpriv")
    } else {
        read(&path, &[])
    };
    assert_one_line_error(
        &out,
        &["cannot open", "Permission denied", "check its permissions"],
        "chmod 000",
    );
}

fn euid() -> u32 {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    text(&out.stdout).trim().parse().expect("a uid")
}

// ---- malformed packets are data --------------------------------------------------------

/// Every fixture (and every capture in ../shared/corpus when present), with bytes flipped
/// inside packets and the framing intact: exit 0, one row per frame, in text and JSON.
#[test]
fn flipped_bytes_inside_packets_still_give_one_row_per_frame() {
    let dir = temp_dir("mutants");
    let mut files = common::fixtures();
    files.extend(common::corpus().unwrap_or_default());
    let mut rng = Rng(0x7cb1_e115);
    let mut runs = 0;
    for path in files {
        let file = std::fs::read(&path).expect("read capture");
        let packets = pcapgen::layout(&file).packets;
        let whole = read(&path.to_string_lossy(), &["--no-summary"]);
        assert_rows(&whole, packets.len(), &path.to_string_lossy());
        for m in 0..4 {
            let mut bytes = file.clone();
            for _ in 0..1 + rng.below(24) {
                let r = &packets[rng.below(packets.len())];
                if r.is_empty() {
                    continue;
                }
                // Mostly the first 80 bytes, where the link, IP and TCP headers are.
                let at = r.start + rng.below(r.len().min(if m % 2 == 0 { 80 } else { 1 << 16 }));
                bytes[at] ^= 1 + rng.below(255) as u8;
            }
            let name = format!("mutant{}", path.extension().unwrap().to_string_lossy());
            let mutant = write(&dir, &format!("{name}.{m}"), &bytes);
            let what = format!("{} mutant {m}", path.display());
            let mode: &[&str] = if m == 3 {
                &["--json"]
            } else {
                &["--seq", "both"]
            };
            let out = read(&mutant, &[mode, &["--no-summary"]].concat());
            assert_rows(&out, packets.len(), &what);
            runs += 1;
        }
    }
    assert!(runs >= 60, "{runs} mutants");
}

/// Random bytes as frames of every link type, including empty and one-byte frames.
#[test]
fn junk_frames_of_every_link_type_each_give_a_row() {
    let dir = temp_dir("junk");
    let mut rng = Rng(0x5eed);
    for linktype in [
        1u32, 113, 276, 0, 108, 12, 101, 228, 229, 9, 50, 104, 105, 127, 129, 178, 204, 239, 242,
        147,
    ] {
        let frames: Vec<(u64, Vec<u8>)> = (0..200)
            .map(|i| {
                let len = if i < 4 { i } else { rng.below(120) };
                let mut f: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                // Every other frame starts like IPv4 or IPv6 so the junk reaches deeper layers.
                if let Some(b) = f.first_mut().filter(|_| i % 2 == 0) {
                    *b = if i % 4 == 0 { 0x45 } else { 0x60 };
                }
                (i as u64 * 1000, f)
            })
            .collect();
        let path = write(
            &dir,
            &format!("junk{linktype}.pcap"),
            &pcapgen::pcap(linktype, &frames),
        );
        for mode in [
            &["--no-summary"][..],
            &["--json", "--no-summary"],
            &["--seq", "raw", "--no-summary"],
        ] {
            assert_rows(
                &read(&path, mode),
                200,
                &format!("link type {linktype} {mode:?}"),
            );
        }
    }
}

/// Segments no well-behaved stack sends, and bookkeeping edge cases: sequence numbers that
/// wrap mid-transfer, every frame duplicated, SYN+FIN+RST in one segment, port reuse with the
/// same and a new ISN, a bogus header length. Run in a debug build, so any overflow panics.
#[test]
fn odd_segments_are_tracked_without_panics() {
    let dir = temp_dir("odd");
    let (c, s) = (40000u16, 80u16);
    let isn = u32::MAX - 5;
    let mut data = Seg::new(c, s, isn.wrapping_add(1), 1001, PSH | ACK);
    data.payload = vec![0x41; 100];
    let mut data2 = Seg::new(c, s, isn.wrapping_add(101), 1001, PSH | ACK);
    data2.payload = vec![0x42; 100];
    let mut bogus = Seg::new(c, s, 7, 7, ACK).ethernet();
    bogus[14 + 20 + 12] = 0x20; // data offset 2 words: 8 bytes, less than a TCP header
    let segs = [
        Seg::new(c, s, isn, 0, SYN).ethernet(),
        Seg::reply(s, c, 1000, isn.wrapping_add(1), SYN | ACK).ethernet(),
        Seg::new(c, s, isn.wrapping_add(1), 1001, ACK).ethernet(),
        data.ethernet(),
        data2.ethernet(),
        Seg::reply(s, c, 1001, isn.wrapping_add(201), ACK).ethernet(),
        Seg::new(
            c,
            s,
            isn.wrapping_add(201),
            1001,
            SYN | FIN | RST | PSH | ACK | 0xe0,
        )
        .ethernet(),
        Seg::new(c, s, isn.wrapping_add(201), 1001, FIN | ACK).ethernet(),
        Seg::reply(s, c, 1001, isn.wrapping_add(202), RST).ethernet(),
        // Port reuse: the same ISN again (a retransmitted SYN), then a new ISN.
        Seg::new(c, s, isn, 0, SYN).ethernet(),
        Seg::new(c, s, 12345, 0, SYN).ethernet(),
        Seg::new(c, s, 12345, 0, SYN | FIN).ethernet(),
        Seg::new(c, s, 0, 0, 0).ethernet(),
        bogus,
    ];
    // Every frame twice, as a capture on a mirrored port shows them.
    let frames: Vec<(u64, Vec<u8>)> = segs
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            [
                (i as u64 * 2000, f.clone()),
                (i as u64 * 2000 + 1, f.clone()),
            ]
        })
        .collect();
    let path = write(&dir, "odd.pcap", &pcapgen::pcap(EN10MB, &frames));
    for mode in [
        &["--no-summary"][..],
        &["--seq", "both", "--no-summary"],
        &["--seq", "raw", "--no-summary"],
        &["--json", "--no-summary"],
    ] {
        assert_rows(&read(&path, mode), frames.len(), &format!("{mode:?}"));
    }
    let out = read(&path, &[]);
    let rows = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The second 100 bytes start past the wrap: relative numbers keep counting.
    assert!(rows.contains("Seq=101 Ack=1 Win=65535 Len=100"), "{rows}");
    assert!(rows.contains("[TCP Retransmission]"), "duplicates: {rows}");
    assert!(rows.contains("[TCP Port numbers reused]"), "{rows}");
    assert!(
        rows.contains("[FIN, SYN, RST, PSH, ACK, URG, ECE, CWR]"),
        "{rows}"
    );
    assert!(rows.contains("Connections: 3"), "{rows}");
}

// ---- floods ------------------------------------------------------------------------------

/// `count` SYNs, each from its own source address and port, 1 µs apart.
fn syn_flood(count: u32) -> Vec<u8> {
    let mut out = pcapgen::pcap_header(EN10MB);
    for i in 0..count {
        let mut seg = Seg::new(
            1024 + (i % 60000) as u16,
            80,
            i.wrapping_mul(2_654_435_761),
            0,
            SYN,
        );
        seg.src = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
        pcapgen::pcap_record(&mut out, 1_700_000_000_000_000 + i as u64, &seg.ethernet());
    }
    out
}

/// The 1M-SYN run with the default cap is scripts/syn-flood (numbers in docs/reliability.md);
/// here a smaller flood against a small cap keeps `cargo test` quick while checking the same
/// thing: the table stays at the cap, the rest is evicted and counted.
#[test]
fn a_syn_flood_is_bounded_by_the_flow_cap_and_evictions_are_counted() {
    let dir = temp_dir("flood");
    let n = 100_000u32;
    let path = write(&dir, "flood.pcap", &syn_flood(n));
    let args = [
        "read",
        &path,
        "--summary",
        "--max-flows",
        "1000",
        "--color",
        "never",
    ];
    let (out, kib) = run_measured(&args, &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(
        summary.starts_with(&format!("Connections: {n}\n")),
        "{}",
        &summary[..200.min(summary.len())]
    );
    let evicted: u64 = summary
        .lines()
        .find_map(|l| {
            l.trim().strip_suffix(
                " connections evicted before they ended (table full: raise --max-flows)",
            )
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no eviction line: {}", summary.lines().last().unwrap_or("")));
    assert!(
        evicted >= (n - 1000) as u64 && evicted < n as u64,
        "evicted {evicted}"
    );
    // Every connection listed, by stream, each line its own connection's: the 100k lines
    // kept for the table (~200 B each, 20 MB) pass through compressed chunks
    // (render/summary.rs) and come back whole.
    let listed: Vec<&str> = summary.lines().filter(|l| l.starts_with("  #")).collect();
    assert_eq!(listed.len(), n as usize);
    for (i, line) in (0u32..).zip(&listed) {
        let [_, a, b, c] = [0, (i >> 16) as u8, (i >> 8) as u8, i as u8];
        let client = format!("  #{i} 10.{a}.{b}.{c}:{} → ", 1024 + i % 60000);
        assert!(
            line.starts_with(&client) && line.ends_with(" S S0"),
            "{i}: {line}"
        );
    }
    // The 1000-flow table is small.
    if let Some(kib) = kib {
        assert!(kib < 96 * 1024, "peak RSS {kib} KiB");
    }
    // JSON prints each connection as it leaves and a stats record with the count.
    let json = read(&path, &["--json", "--max-flows", "1000"]);
    let last = text(&json.stdout).lines().last().unwrap_or("").to_string();
    assert_eq!(
        last,
        format!("{{\"type\":\"stats\",\"evicted\":{evicted}}}")
    );
}

// ---- pipes and signals -----------------------------------------------------------------

#[test]
fn a_closed_stdout_ends_read_quietly_in_text_and_json() {
    let dir = temp_dir("pipe");
    let path = write(&dir, "flood.pcap", &syn_flood(20_000));
    for mode in ["", "--json", "--summary", "--seq both --color always"] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "set -o pipefail; {} read {path} {mode} | head -1",
                env!("CARGO_BIN_EXE_tcplens")
            ))
            .output()
            .expect("run bash");
        assert!(out.status.success(), "{mode}: exit {:?}", out.status.code());
        assert_eq!(text(&out.stdout).lines().count(), 1, "{mode}");
        assert!(out.stderr.is_empty(), "{mode}: {}", text(&out.stderr));
    }
}

/// Waits until a thread of process `pid` sleeps in a pipe write (its wchan, where the kernel
/// shows it), so that a signal finds it between batches, every flushed record whole. Where
/// wchan is hidden (every thread reads 0, even sleeping ones), half a second, which is far
/// longer than filling the pipe takes.
fn blocked_on_a_pipe(pid: u32) {
    let start = std::time::Instant::now();
    let mut symbols_shown = false;
    while start.elapsed() < std::time::Duration::from_secs(10) {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc/PID/task");
        for task in tasks.flatten() {
            let wchan = std::fs::read_to_string(task.path().join("wchan")).unwrap_or_default();
            if wchan.contains("pipe_write") {
                return;
            }
            symbols_shown |= !wchan.is_empty() && wchan != "0";
        }
        if !symbols_shown && start.elapsed() > std::time::Duration::from_millis(500) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("tcplens never blocked writing to its stdout pipe");
}

/// `read` installs no handler: a signal ends it as it ends any filter (tcpdump -r, grep), so a
/// shell sees 128 + n, never success. Stopped mid-file (stdout blocked on a pipe nobody reads),
/// every row that reached the pipe is whole and in order, and the `-w` file, flushed after each
/// batch and before that batch's rows (pipeline::Save), reads back without error and holds at
/// least the frames printed.
#[test]
fn sigterm_or_sigint_mid_read_kills_it_with_whole_rows_and_a_valid_w_file() {
    use std::io::{BufRead, BufReader, Read};
    use std::os::unix::process::ExitStatusExt;
    let dir = temp_dir("signal");
    let frames = 50_000;
    let path = write(&dir, "flood.pcap", &syn_flood(frames));
    for (sig, number) in [("TERM", 15), ("INT", 2)] {
        let saved = dir
            .join(format!("{sig}.pcap"))
            .to_string_lossy()
            .into_owned();
        let mut child = common::tcplens()
            .args([
                "read",
                &path,
                "-w",
                &saved,
                "--color",
                "never",
                "--no-summary",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tcplens");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        // The first row proves the read is under way; then nobody reads, so tcplens blocks on
        // the full pipe long before its 50 000 rows (4 MB) are out.
        let mut rows = String::new();
        stdout.read_line(&mut rows).expect("first row");
        blocked_on_a_pipe(child.id());
        let sent = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(sent.success(), "{sig}: kill failed");
        stdout
            .read_to_string(&mut rows)
            .expect("the rest of stdout");
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("stderr");
        let status = child.wait().expect("wait");
        assert_eq!(status.signal(), Some(number), "{sig}: {status:?}");
        assert!(stderr.is_empty(), "{sig}: {stderr}");

        // The pipe may end inside a row (the buffer was being written): every row before is whole.
        let whole: Vec<&str> = match rows.rfind('\n') {
            Some(end) => rows[..end].split('\n').collect(),
            None => Vec::new(),
        };
        assert!(
            !whole.is_empty() && whole.len() < frames as usize,
            "{sig}: {} whole rows",
            whole.len()
        );
        for (i, row) in whole.iter().enumerate() {
            let number: Option<usize> = row.split_whitespace().next().and_then(|n| n.parse().ok());
            assert!(
                number == Some(i + 1) && row.contains(" → 80 [SYN] Seq=0 "),
                "{sig}: row {} is {row:?}",
                i + 1
            );
        }

        let back = read(&saved, &["--no-summary"]);
        assert!(
            back.status.success() && back.stderr.is_empty(),
            "{sig}: the -w file: {:?} {}",
            back.status,
            text(&back.stderr)
        );
        let kept = text(&back.stdout).lines().count();
        assert!(
            kept >= whole.len() && kept < frames as usize,
            "{sig}: {kept} frames in the -w file, {} rows printed",
            whole.len()
        );
    }
}

#[test]
fn a_closed_stderr_is_no_panic() {
    // The error line goes to a pipe whose reader is already gone: exit 2 all the same (the
    // line is lost), never Rust's "failed printing to stderr" panic (exit 101).
    let dir = temp_dir("stderr");
    for args in [
        vec![
            "read".to_string(),
            dir.join("missing.pcap").to_string_lossy().into_owned(),
        ],
        vec!["read".to_string(), write(&dir, "junk.pcap", &[0x5a; 64])],
    ] {
        let mut child = common::tcplens()
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tcplens");
        drop(child.stderr.take());
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(2), "{args:?}");
    }
    // `demo` without the right to capture says on stderr that it replays the recording, then
    // replays it: exit 0 with that line lost.
    let demo = if common::euid() == 0 {
        common::unprivileged()
    } else {
        Some(common::tcplens())
    };
    if let Some(mut demo) = demo {
        let mut child = demo
            .args(["demo", "--color", "never"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tcplens demo");
        drop(child.stderr.take());
        assert_eq!(child.wait().expect("wait").code(), Some(0), "demo");
    }
}
