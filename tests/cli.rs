//! The command line as a user meets it: pipes, colors, filters and clear errors.

mod common;

use common::{fixture, stdout_of};

#[test]
fn piped_output_has_no_escape_codes() {
    let rows = stdout_of(&["read", &fixture("learn_tcp.pcap")]);
    assert!(rows.lines().count() >= 20);
    assert!(!rows.contains('\x1b'), "escape codes in piped output");
}

#[test]
fn learn_tcp_rows_read_like_wireshark() {
    let rows = stdout_of(&["read", &fixture("learn_tcp.pcap")]);
    let first = rows.lines().next().unwrap_or_default();
    assert!(
        first.contains("5201 → 5200 [SYN] Seq=0 Win=65495 Len=0 MSS=65495"),
        "{first}"
    );
    assert!(
        first.contains("│ #0 handshake 1 · client CLOSED→SYN_SENT · ISN "),
        "SYN rows annotate the state change and the raw ISN: {first}"
    );
    assert!(rows.contains("5200 → 5201 [SYN, ACK] Seq=0 Ack=1"));
    assert!(rows.contains("Len=6"), "the server's Hello! is 6 bytes");
}

#[test]
fn color_always_uses_wireshark_row_colors() {
    let out = common::tcplens()
        .args(["read", &fixture("learn_tcp.pcap"), "--color", "always"])
        .env("COLORTERM", "truecolor")
        .env_remove("NO_COLOR")
        .output()
        .expect("run");
    let rows = String::from_utf8_lossy(&out.stdout);
    let syn = rows.lines().next().unwrap_or_default();
    assert!(
        syn.contains("48;2;160;160;160"),
        "SYN row has TCP SYN/FIN bg #A0A0A0: {syn:?}"
    );
    let data = rows
        .lines()
        .find(|l| l.contains("Len=6"))
        .unwrap_or_default();
    assert!(
        data.contains("48;2;231;230;255"),
        "data row has TCP bg #E7E6FF: {data:?}"
    );
}

#[test]
fn color_256_when_terminal_lacks_truecolor() {
    let out = common::tcplens()
        .args(["read", &fixture("learn_tcp.pcap"), "--color", "always"])
        .env_remove("COLORTERM")
        .output()
        .expect("run");
    let rows = String::from_utf8_lossy(&out.stdout);
    assert!(
        rows.lines().next().unwrap_or_default().contains("48;5;247"),
        "{rows}"
    );
}

#[test]
fn clicolor_force_colors_a_pipe_and_no_color_wins_over_it() {
    let run = |force: bool, no_color: bool| {
        let mut c = common::tcplens();
        c.args(["read", &fixture("learn_tcp.pcap")])
            .env_remove("NO_COLOR");
        if force {
            c.env("CLICOLOR_FORCE", "1");
        }
        if no_color {
            c.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&c.output().expect("run").stdout).contains('\x1b')
    };
    assert!(run(true, false));
    assert!(!run(true, true));
}

#[test]
fn head_closing_the_pipe_ends_quietly() {
    // A capture whose rows overflow the pipe buffer, so tcplens is still writing when head exits.
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; {} read {} | head -1",
            env!("CARGO_BIN_EXE_tcplens"),
            fixture("retransmissions.pcap")
        ))
        .output()
        .expect("run bash");
    assert!(out.status.success(), "exit {:?}", out.status.code());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn filter_words_are_joined_as_tcpdump_joins_them() {
    let all = stdout_of(&["read", &fixture("learn_tcp.pcap")]);
    let kept = stdout_of(&["read", &fixture("learn_tcp.pcap"), "tcp", "port", "5200"]);
    assert_eq!(all, kept);
    let none = stdout_of(&["read", &fixture("learn_tcp.pcap"), "tcp", "port", "9"]);
    assert!(none.is_empty());
    let server = stdout_of(&[
        "read",
        &fixture("learn_tcp.pcap"),
        "--no-summary",
        "src",
        "port",
        "5200",
    ]);
    assert!(server.lines().all(|l| l.contains("5200 → 5201")));
    // Frame numbers stay those of the file, as in Wireshark.
    assert!(
        server
            .lines()
            .next()
            .is_some_and(|l| l.trim_start().starts_with('2'))
    );
}

#[test]
fn filter_on_every_link_type_of_a_mixed_pcapng() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let Some(mixed) = corpus
        .iter()
        .find(|p| p.ends_with("pcapplusplus__many_interfaces-1.pcapng"))
    else {
        return;
    };
    let rows = stdout_of(&["read", &mixed.to_string_lossy(), "udp"]);
    assert!(rows.lines().count() > 0);
    assert!(rows.lines().all(|l| l.contains(" UDP ")), "{rows}");
}

#[test]
fn json_lines_have_the_documented_fields() {
    let out = stdout_of(&["read", &fixture("learn_tcp.pcap"), "--json"]);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap_or("")).unwrap();
    for key in [
        "type", "frame", "time", "src", "dst", "srcport", "dstport", "stream", "flags", "seq",
        "seq_raw", "ack", "ack_raw", "win", "len", "analysis", "info",
    ] {
        assert!(first.get(key).is_some(), "missing {key}: {first}");
    }
    assert_eq!(first["type"], "packet");
    assert_eq!(first["flags"], serde_json::json!(["SYN"]));
    assert_eq!(first["seq"], 0);
}

#[test]
fn seq_raw_prints_raw_numbers_in_info() {
    let rel = stdout_of(&["read", &fixture("learn_tcp.pcap"), "--json"]);
    let first: serde_json::Value = serde_json::from_str(rel.lines().next().unwrap()).unwrap();
    let isn = first["seq_raw"].as_u64().unwrap();
    let raw = stdout_of(&["read", &fixture("learn_tcp.pcap"), "--seq", "raw"]);
    assert!(raw.lines().next().unwrap().contains(&format!("Seq={isn} ")));
    let both = stdout_of(&["read", &fixture("learn_tcp.pcap"), "--seq", "both"]);
    let third = both.lines().nth(2).unwrap();
    assert!(
        third.contains("Seq=1 Ack=1") && third.contains(&format!("seq {}", isn + 1)),
        "{third}"
    );
}

fn fails_with(args: &[&str], needle: &str) {
    let out = common::run(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn bad_input_gives_one_clear_line_and_exit_2() {
    let dir = std::env::temp_dir().join(format!("tcplens-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |n: &str| dir.join(n).to_string_lossy().into_owned();
    std::fs::write(dir.join("empty.pcap"), b"").unwrap();
    std::fs::write(dir.join("junk.pcap"), b"this is not a capture file at all").unwrap();
    fails_with(&["read", &path("missing.pcap")], "check the path");
    fails_with(&["read", &path("empty.pcap")], "is empty");
    fails_with(&["read", &path("junk.pcap")], "not a pcap or pcapng file");
    // A directory is read as the captures in it; this one holds none.
    fails_with(
        &["read", &dir.to_string_lossy()],
        "holds no pcap or pcapng file",
    );
    fails_with(
        &["read", &fixture("learn_tcp.pcap"), "tcp", "portt", "80"],
        "invalid filter",
    );
}

#[test]
fn cut_file_prints_whole_frames_then_the_error() {
    let whole = std::fs::read(fixture("learn_tcp.pcap")).unwrap();
    let dir = std::env::temp_dir().join(format!("tcplens-cut-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &whole[..whole.len() - 10]).unwrap();
    let full_rows = stdout_of(&["read", &fixture("learn_tcp.pcap")]);
    let out = common::run(&["read", &cut.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    let rows = String::from_utf8_lossy(&out.stdout);
    assert_eq!(rows.lines().count(), full_rows.lines().count() - 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut short"), "{err}");
}

/// Connections that leave the table mid-capture (2×MSL after they close) and those still in
/// it at the end make one table in stream order, the same as when none leaves early.
#[test]
fn summary_table_is_in_stream_order_whoever_left_first() {
    // interleaved_40's frames one second apart: with --msl 1 connections close and leave the
    // table along the way, while the next ones are still open.
    let mut file = std::fs::read(fixture("interleaved_40.pcap")).unwrap();
    assert_eq!(file[..4], [0xd4, 0xc3, 0xb2, 0xa1], "little-endian µs pcap");
    let (mut at, mut n) = (24, 0u32);
    while at + 16 <= file.len() {
        file[at..at + 4].copy_from_slice(&(1_700_000_000 + n).to_le_bytes());
        at += 16 + u32::from_le_bytes(file[at + 8..at + 12].try_into().unwrap()) as usize;
        n += 1;
    }
    let path = common::temp_dir("stretched").join("stretched.pcap");
    std::fs::write(&path, &file).unwrap();
    let path = path.to_str().unwrap();

    let early = stdout_of(&["read", path, "--summary", "--msl", "1"]);
    assert_eq!(early, stdout_of(&["read", path, "--summary"]));
    assert!(early.starts_with("Connections: 40\n"), "{early}");
    let streams: Vec<u32> = early
        .lines()
        .skip(1)
        .map(|l| l.trim_start().trim_start_matches('#'))
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(streams, (0..40).collect::<Vec<u32>>());

    // They did leave early: connection records come before the last packets.
    let json = stdout_of(&["read", path, "--json", "--msl", "1"]);
    let kinds: Vec<bool> = json
        .lines()
        .map(|l| l.contains(r#""type":"connection""#))
        .collect();
    let first_record = kinds.iter().position(|&c| c).unwrap();
    assert!(
        kinds[first_record..].contains(&false),
        "no record before a packet"
    );
    assert_eq!(kinds.iter().filter(|&&c| c).count(), 40);
}
