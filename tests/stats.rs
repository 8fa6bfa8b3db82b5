//! `tcplens stats` equal to TShark's `-z` statistics — `conv,tcp`, `endpoints,tcp`, `expert`
//! and `io,stat` — on every fixture and every capture in ../shared/corpus: tshark's text
//! tables are parsed and their numbers compared with tcplens's JSON records, row by row and in
//! tshark's order. Layout is not compared (tests/golden.rs holds it).
//!
//! tshark runs with the encapsulations' profile (common::tshark_encap): only the layers
//! tcplens decodes, so its expert infos are TCP's and the frames it calls TCP are those
//! tcplens reaches. Expert infos tcplens does not produce are named below with their reason;
//! an exclusion that no longer matches anything fails the test.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// `-z io,stat` interval compared, in seconds.
const IO_INTERVAL: &str = "0.1";

/// TCP expert infos of tshark that tcplens does not produce, by summary prefix.
const EXPERT_EXCLUSIONS: &[(&str, &str)] = &[
    (
        "D-SACK Sequence",
        "a SACK block below the ACK (RFC 2883): tcplens decodes SACK blocks but has no \
         D-SACK label",
    ),
    (
        "TCP SYN with TFO Cookie",
        "TCP Fast Open's expert infos: tcplens names the TFO option but does not analyse it",
    ),
    (
        "TCP SYN-ACK accepting TFO data",
        "TCP Fast Open's expert infos, as above",
    ),
    (
        "4 NOP in a row",
        "a lint of the header's options (tcp.nop), not of the connection: tcplens decodes \
         options but does not lint them",
    ),
    (
        "The SYN packet does not contain a MSS option",
        "a lint of the SYN's options (tcp.options.mss.absent), as above",
    ),
    (
        "option length should be >= than 4",
        "a lint of an option's length (tcp.option_len.invalid), as above",
    ),
    (
        "Non-zero header padding",
        "a lint of the padding after the options' end (tcp.non_zero_bytes_after_eol), as above",
    ),
];

/// Tables that differ from tshark's because tcp.stream or an analysis label does: the
/// packet oracle's exclusions (tests/oracle.rs, docs/wireshark.md), seen again in the tables.
const TABLE_EXCLUSIONS: &[(&str, &str, &str)] = &[
    (
        "tcpdump__smb_data_print-segv.pcap",
        "conv",
        "frame 4 comes 21 years after frame 3: tcplens's table forgot the idle connection and \
         starts a second stream, so a second conversation",
    ),
    (
        "tcpdump__kday4.pcap",
        "conv",
        "a clock jumping 24 days: tcplens forgot an idle connection (frames 9, 13), a seventh \
         conversation",
    ),
    (
        "tcpdump__kday4.pcap",
        "expert",
        "the same: frame 13 starts a new stream, so no retransmission or duplicate ACK there",
    ),
    (
        "tcpdump__kday7.pcap",
        "conv",
        "as tcpdump__kday4.pcap (the same fuzzed capture)",
    ),
    ("tcpdump__kday7.pcap", "expert", "as tcpdump__kday4.pcap"),
    (
        "ndpi__ndpi_match_string_subprotocol__error.pcapng",
        "expert",
        "frame 13: TShark's fast retransmission, tcplens's out-of-order (oracle.rs)",
    ),
];

/// Whether a table of a capture differs for a named reason.
fn excluded(name: &str, table: &str, table_used: &mut [usize]) -> bool {
    match (TABLE_EXCLUSIONS.iter()).position(|(f, t, _)| *f == name && *t == table) {
        Some(k) => {
            table_used[k] += 1;
            true
        }
        None => false,
    }
}

/// One capture's tables as tshark printed them.
#[derive(Default, Debug)]
struct Theirs {
    conv: Vec<Vec<String>>,
    endpoints: Vec<Vec<String>>,
    /// (severity, protocol, summary, count), in print order.
    expert: Vec<(String, String, String, u64)>,
    io: Vec<(u64, u64)>,
}

/// tshark's tables; `io`: with io,stat (not when tcplens refused it: tshark would try to
/// print millions of rows).
fn tshark_tables(file: &Path, filter: Option<&str>, io: bool) -> Theirs {
    let with = |table: &str| match filter {
        Some(f) => format!("{table},{f}"),
        None => table.to_string(),
    };
    let mut cmd = common::tshark_encap();
    cmd.arg("-r")
        .arg(file)
        .args(["-q", "-z", &with("conv,tcp"), "-z", &with("endpoints,tcp")])
        .args(["-z", &with("expert,comment")]);
    if io {
        cmd.args(["-z", &with(&format!("io,stat,{IO_INTERVAL}"))]);
    }
    let out = cmd
        .output()
        .expect("tshark is required for the stats oracle: apt-get install tshark");
    assert!(
        out.status.success() || !out.stdout.is_empty(),
        "tshark on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_tshark(&String::from_utf8_lossy(&out.stdout))
}

fn parse_tshark(text: &str) -> Theirs {
    let mut t = Theirs::default();
    #[derive(PartialEq)]
    enum In {
        Nothing,
        Conv,
        Endpoints,
        Expert(String),
        Io,
    }
    let mut section = In::Nothing;
    for line in text.lines() {
        if line.starts_with("TCP Conversations") {
            section = In::Conv;
            continue;
        }
        if line.starts_with("TCP Endpoints") {
            section = In::Endpoints;
            continue;
        }
        if line.starts_with("| IO Statistics") {
            section = In::Io;
            continue;
        }
        if let Some((title, _)) = line.split_once(" (")
            && ["Errors", "Warns", "Notes", "Chats", "Comments"].contains(&title)
        {
            section = In::Expert(title.to_string());
            continue;
        }
        // The 80-character rules close a conv or endpoints table; the expert's 13-character
        // ones underline a severity's title.
        if line.starts_with("=====") {
            if section != In::Io && line.len() >= 40 {
                section = In::Nothing;
            }
            continue;
        }
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        match &section {
            In::Conv if words.get(1).is_some_and(|w| w == "<->") => t.conv.push(words),
            In::Endpoints if words.len() == 8 && !line.starts_with(' ') => t.endpoints.push(words),
            In::Expert(severity) if words.first().is_some_and(|w| w.parse::<u64>().is_ok()) => {
                let rest = line.trim_start();
                let (count, rest) = rest.split_once(' ').unwrap();
                let (_group, rest) = rest.trim_start().split_once(' ').unwrap();
                let (protocol, summary) = rest.trim_start().split_once("  ").unwrap();
                t.expert.push((
                    severity.trim_end_matches('s').to_string(),
                    protocol.to_string(),
                    summary.to_string(),
                    count.parse().unwrap(),
                ));
            }
            In::Io if line.contains("<>") => {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                t.io.push((cells[2].parse().unwrap(), cells[3].parse().unwrap()));
            }
            _ => {}
        }
    }
    t
}

fn ours(file: &Path, table: &str, filter: Option<&str>) -> Vec<Value> {
    ours_or_refusal(file, table, filter).unwrap_or_else(|e| panic!("{e}"))
}

/// The records, or the one line tcplens refused with.
fn ours_or_refusal(file: &Path, table: &str, filter: Option<&str>) -> Result<Vec<Value>, String> {
    let mut cmd = common::tcplens();
    cmd.arg("stats").arg(file).arg(table).arg("--json");
    if let Some(f) = filter {
        cmd.args(["-Y", f]);
    }
    let out = cmd.output().expect("run tcplens");
    // A file cut short: the tables of every whole frame before the damage, then one line
    // and exit 2, as tshark does.
    let cut_short = String::from_utf8_lossy(&out.stderr).contains("is cut short");
    if !out.status.success() && !cut_short {
        return Err(format!(
            "tcplens stats {} {table}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect())
}

/// tshark's conversation byte cells (`357 bytes`, `1217 kB`): whether `bytes` prints so.
fn size_matches(n: &str, unit: &str, bytes: u64) -> bool {
    let n: u64 = n.parse().unwrap();
    let scale = match unit {
        "bytes" => 1,
        "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return false,
    };
    bytes / scale == n
}

/// `[v6]:port` → tshark's `v6:port`.
fn tshark_end(s: &str) -> String {
    s.replace(['[', ']'], "")
}

fn u(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"))
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"))
}

/// tshark's printed seconds against ours: within `rounding` (a column printed with fewer
/// decimals), and within what a double holds of a time 10⁹ s from the capture's start
/// (tshark adds seconds and nanoseconds as doubles: 1655734574.414344072 for .414344).
fn close(theirs: &str, ours: f64, rounding: f64) -> bool {
    let theirs: f64 = theirs.parse().unwrap();
    (theirs - ours).abs() <= rounding + 1e-9 + theirs.abs() * 5e-16
}

/// Everything that differs on one capture, and how many rows and items were compared.
fn compare(file: &Path, filter: Option<&str>, used: &mut [usize]) -> (Vec<String>, usize) {
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    // tcplens refuses an io table of more than ten million rows (a capture whose clock jumps
    // by days or decades: tshark tries, and is killed for memory on ndpi__tunnelbear.pcap's
    // 52 years). Then io is not compared, and said so.
    let io = match ours_or_refusal(file, &format!("io,{IO_INTERVAL}"), filter) {
        Ok(io) => Some(io),
        Err(e) if e.contains("choose a longer interval") => {
            eprintln!("io not compared: {e}");
            None
        }
        Err(e) => panic!("{e}"),
    };
    let theirs = tshark_tables(file, filter, io.is_some());
    let mut diffs = Vec::new();
    let mut compared = 0;

    let conv = ours(file, "conv", filter);
    let mut conv_diffs = Vec::new();
    if conv.len() != theirs.conv.len() {
        conv_diffs.push(format!(
            "{name}: conv: tshark {} rows, tcplens {}",
            theirs.conv.len(),
            conv.len()
        ));
    }
    for (t, o) in theirs.conv.iter().zip(&conv) {
        compared += 1;
        let same = t[0] == tshark_end(o["a"].as_str().unwrap())
            && t[2] == tshark_end(o["b"].as_str().unwrap())
            && t[3] == u(o, "frames_b_to_a").to_string()
            && size_matches(&t[4], &t[5], u(o, "bytes_b_to_a"))
            && t[6] == u(o, "frames_a_to_b").to_string()
            && size_matches(&t[7], &t[8], u(o, "bytes_a_to_b"))
            && t[9] == u(o, "frames").to_string()
            && size_matches(&t[10], &t[11], u(o, "bytes"))
            && close(&t[12], f(o, "rel_start"), 0.0)
            && close(&t[13], f(o, "duration"), 0.00005);
        if !same {
            conv_diffs.push(format!(
                "{name}: conv: tshark {}\n  tcplens {o}",
                t.join(" ")
            ));
        }
    }
    if !conv_diffs.is_empty() && !excluded(&name, "conv", &mut used[EXPERT_EXCLUSIONS.len()..]) {
        diffs.extend(conv_diffs);
    }

    let ends = ours(file, "endpoints", filter);
    if ends.len() != theirs.endpoints.len() {
        diffs.push(format!(
            "{name}: endpoints: tshark {} rows, tcplens {}",
            theirs.endpoints.len(),
            ends.len()
        ));
    }
    for (t, o) in theirs.endpoints.iter().zip(&ends) {
        compared += 1;
        let mine = [
            o["address"].as_str().unwrap().to_string(),
            u(o, "port").to_string(),
            u(o, "frames").to_string(),
            u(o, "bytes").to_string(),
            u(o, "tx_frames").to_string(),
            u(o, "tx_bytes").to_string(),
            u(o, "rx_frames").to_string(),
            u(o, "rx_bytes").to_string(),
        ];
        if t[..] != mine[..] {
            diffs.push(format!(
                "{name}: endpoints: tshark {}\n  tcplens {}",
                t.join(" "),
                mine.join(" ")
            ));
        }
    }

    // Expert: TCP's items, per severity in tshark's order, less the exclusions.
    let mut theirs_expert: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    for (severity, protocol, summary, count) in &theirs.expert {
        if protocol != "TCP" {
            continue;
        }
        if let Some(k) = (EXPERT_EXCLUSIONS.iter()).position(|(p, _)| summary.starts_with(p)) {
            used[k] += 1;
            continue;
        }
        (theirs_expert.entry(severity.clone()).or_default()).push((summary.clone(), *count));
    }
    let mut ours_expert: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    for o in ours(file, "expert", filter) {
        if o["protocol"] != "TCP" {
            continue;
        }
        let severity = o["severity"].as_str().unwrap();
        let severity = severity[..1].to_uppercase() + &severity[1..];
        (ours_expert.entry(severity).or_default())
            .push((o["summary"].as_str().unwrap().to_string(), u(&o, "count")));
    }
    compared += theirs_expert.values().map(Vec::len).sum::<usize>();
    if theirs_expert != ours_expert
        && !excluded(&name, "expert", &mut used[EXPERT_EXCLUSIONS.len()..])
    {
        diffs.push(format!(
            "{name}: expert: tshark {theirs_expert:?}\n  tcplens {ours_expert:?}"
        ));
    }

    let Some(io) = io else {
        return (diffs, compared);
    };
    let io: Vec<(u64, u64)> = io
        .iter()
        .filter(|o| o["type"] == "interval")
        .map(|o| (u(o, "frames"), u(o, "bytes")))
        .collect();
    compared += theirs.io.len();
    if io != theirs.io {
        let first = (theirs.io.iter().zip(&io)).position(|(t, o)| t != o);
        diffs.push(format!(
            "{name}: io: tshark {} rows, tcplens {}; first difference at row {first:?}",
            theirs.io.len(),
            io.len()
        ));
    }
    (diffs, compared)
}

/// Compares every file; returns how often each exclusion was used (the expert exclusions,
/// then the tables').
fn compare_all(files: &[PathBuf], filter: Option<&str>) -> Vec<usize> {
    let mut used = vec![0; EXPERT_EXCLUSIONS.len() + TABLE_EXCLUSIONS.len()];
    let mut diffs = Vec::new();
    let mut compared = 0;
    for file in files {
        let (d, n) = compare(file, filter, &mut used);
        diffs.extend(d);
        compared += n;
    }
    eprintln!(
        "stats: {compared} rows and items in {} captures compared with tshark; {} expert \
         items and {} tables excluded by name",
        files.len(),
        used[..EXPERT_EXCLUSIONS.len()].iter().sum::<usize>(),
        used[EXPERT_EXCLUSIONS.len()..].iter().sum::<usize>()
    );
    assert!(compared > 0, "nothing compared: is the parsing broken?");
    assert!(
        diffs.is_empty(),
        "{} differences from tshark:\n{}",
        diffs.len(),
        diffs
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    used
}

/// Every fixture, every corpus capture and every public capture of ../shared/external
/// (MANIFEST.md there: other stacks, other links), in one run so that an exclusion used by
/// none of them is found stale.
#[test]
fn stats_match_tshark_on_every_capture() {
    let mut files = common::fixtures();
    let corpus = common::corpus();
    let external = common::external();
    files.extend(corpus.iter().flatten().cloned());
    files.extend(external.iter().flatten().cloned());
    let used = compare_all(&files, None);
    if corpus.is_some() && external.is_some() {
        let names = (EXPERT_EXCLUSIONS.iter().map(|(p, _)| p.to_string()))
            .chain(TABLE_EXCLUSIONS.iter().map(|(f, t, _)| format!("{f} {t}")));
        let stale: Vec<String> = (names.zip(&used))
            .filter(|(_, n)| **n == 0)
            .map(|(name, _)| name)
            .collect();
        assert!(
            stale.is_empty(),
            "exclusions that match nothing any more (remove them): {stale:?}"
        );
    }
}

/// `-Y` counts what tshark's `-z TABLE,FILTER` counts (tshark's own -Y leaves -z alone).
#[test]
fn display_filter_restricts_as_tsharks_tap_filter() {
    let files: Vec<PathBuf> = [
        "retransmissions.pcap",
        "port_reuse.pcap",
        "zero_window.pcap",
        "interleaved_40.pcap",
    ]
    .iter()
    .map(|n| PathBuf::from(common::fixture(n)))
    .collect();
    compare_all(&files, Some("tcp.len > 0 || tcp.flags.syn == 1"));
}

/// The text layout, pinned: fixtures/golden/NAME.stats-TABLE.txt holds `tcplens stats NAME
/// TABLE` (stdout not a terminal: no bars). `TCPLENS_BLESS=1 cargo test --test stats`
/// regenerates them; review the diff.
#[test]
fn text_tables_equal_their_golden_files() {
    let cases: &[(&str, &str)] = &[
        ("retransmissions", "conv"),
        ("interleaved_40", "conv"),
        ("port_reuse", "endpoints"),
        ("ipv6", "endpoints"),
        ("zero_window", "expert"),
        ("refused", "expert"),
        ("retransmissions", "io,0.001"),
        ("learn_tcp", "io"),
    ];
    let mut failures = Vec::new();
    for (name, table) in cases {
        let file = common::fixture(&format!("{name}.pcap"));
        let got = common::stdout_of(&["stats", &file, table]);
        let golden = common::root()
            .join("fixtures/golden")
            .join(format!("{name}.stats-{}.txt", table.replace(',', "-")));
        if std::env::var_os("TCPLENS_BLESS").is_some() {
            std::fs::write(&golden, &got).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if got != want {
            failures.push(format!(
                "{} differs (TCPLENS_BLESS=1 regenerates):\n--- want\n{want}--- got\n{got}",
                golden.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// tcplens's own events are expert items too, with the frame they first came in.
#[test]
fn expert_lists_tcplens_events_with_their_first_frame() {
    let out = common::stdout_of(&["stats", &common::fixture("refused.pcap"), "expert"]);
    let line = (out.lines())
        .find(|l| l.contains("Connection refused"))
        .unwrap_or_else(|| panic!("no refused item:\n{out}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        &words[..5],
        ["Warn", "2", "Sequence", "tcplens", "2"],
        "{line}"
    );
}

/// Bad input is one line and exit 2.
#[test]
fn a_bad_table_or_interval_is_one_line_and_exit_2() {
    for args in [["io,abc"], ["io,-1"]] {
        let out =
            common::run(&[&["stats", &common::fixture("refused.pcap")][..], &args[..]].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("bad interval"), "{err}");
    }
}

/// A filter on a connection's verdict (`tcplens.conn.*`) reads the file once more first, as
/// `read` does: it selects whole connections.
#[test]
fn a_connection_verdict_filter_selects_whole_conversations() {
    let file = common::fixture("port_reuse.pcap");
    let rows = |filter: &str| {
        common::stdout_of(&["stats", &file, "conv", "--json", "-Y", filter])
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("JSON"))
            .collect::<Vec<_>>()
    };
    let three_way = rows(r#"tcplens.conn.close == "three_way""#);
    assert_eq!(three_way.len(), 2);
    assert!(three_way.iter().all(|c| c["frames"] == 10), "{three_way:?}");
    assert!(rows(r#"tcplens.conn.close == "reset""#).is_empty());
}
