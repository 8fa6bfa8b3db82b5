//! The oracle: tcplens's JSON must equal tshark's fields for every TCP packet of every fixture
//! and every capture in ../shared/corpus (design.md). Differences print as a readable table.

mod common;

use std::path::Path;

use serde_json::Value;

/// tshark fields compared, in `-T fields` order.
const FIELDS: &[&str] = &[
    "frame.number",
    "_ws.col.Protocol",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.stream",
    "tcp.flags",
    "tcp.seq",
    "tcp.seq_raw",
    "tcp.ack",
    "tcp.window_size",
    "tcp.len",
    "_ws.col.Info",
    "tcp.analysis.initial_rtt",
];

/// The tcp.analysis.* flag fields (packet-tcp.c's expert items). tshark sets several on one
/// packet (a fast retransmission is also a retransmission), and Info announces only the most
/// specific, so the oracle reads the fields themselves: each prints `1` when present.
const ANALYSIS: &[&str] = &[
    "ack_lost_segment",
    "duplicate_ack",
    "fast_retransmission",
    "keep_alive",
    "keep_alive_ack",
    "lost_segment",
    "out_of_order",
    "retransmission",
    "reused_ports",
    "spurious_retransmission",
    "window_full",
    "window_update",
    "zero_window",
    "zero_window_probe",
    "zero_window_probe_ack",
];

/// Where the analysis columns start in a tshark row.
const FIRST_ANALYSIS: usize = FIELDS.len();

fn tshark_rows(file: &Path) -> Vec<Vec<String>> {
    let mut cmd = common::tshark();
    cmd.arg("-r")
        .arg(file)
        .args(["-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    for name in ANALYSIS {
        cmd.args(["-e", &format!("tcp.analysis.{name}")]);
    }
    let out = cmd.output().expect("run tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

fn tcplens_records(file: &Path) -> Vec<Value> {
    let out = common::tcplens()
        .arg("read")
        .arg(file)
        .arg("--json")
        .output()
        .expect("tcplens");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l}: {e}")))
        .collect()
}

fn as_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn flags_hex(v: &Value) -> String {
    const NAMES: [&str; 9] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE"];
    let mut bits = 0u16;
    for name in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
        match NAMES.iter().position(|n| *n == name) {
            Some(i) => bits |= 1 << i,
            None if name == "Reserved" => bits |= 0xe00,
            None => {}
        }
    }
    format!("0x{bits:04x}")
}

/// Compares one file; returns a line per difference and the number of TCP packets compared.
fn compare(file: &Path) -> (Vec<String>, usize) {
    let theirs = tshark_rows(file);
    let records = tcplens_records(file);
    let (ours, connections): (Vec<Value>, Vec<Value>) =
        records.into_iter().partition(|r| r["type"] == "packet");
    let mut diffs = Vec::new();
    let mut compared = 0;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if theirs.len() != ours.len() {
        diffs.push(format!(
            "{name}: tshark has {} frames, tcplens {}",
            theirs.len(),
            ours.len()
        ));
    }
    for (t, o) in theirs.iter().zip(&ours) {
        let get = |i: usize| t.get(i).map(String::as_str).unwrap_or("");
        let frame = get(0);
        if as_text(&o["frame"]) != frame {
            diffs.push(format!("{name} #{frame}: tcplens frame {}", o["frame"]));
            continue;
        }
        if get(1) != "TCP" {
            continue;
        }
        compared += 1;
        // tshark's tcp.ack is the raw field when the ACK flag is clear; tcplens says null.
        let ack_set =
            u16::from_str_radix(get(5).trim_start_matches("0x"), 16).is_ok_and(|f| f & 0x10 != 0);
        let mut check = |field: &str, theirs: &str, ours: String| {
            if theirs != ours {
                diffs.push(format!(
                    "{name} #{frame} {field}: tshark {theirs:?} tcplens {ours:?}"
                ));
            }
        };
        check("protocol", get(1), as_text(&o["protocol"]));
        check("srcport", get(2), as_text(&o["srcport"]));
        check("dstport", get(3), as_text(&o["dstport"]));
        check("stream", get(4), as_text(&o["stream"]));
        // JSON names the reserved bits with one word, as Wireshark's Info does.
        let their_flags = u16::from_str_radix(get(5).trim_start_matches("0x"), 16).unwrap_or(0);
        let their_flags = if their_flags & 0xe00 != 0 {
            their_flags | 0xe00
        } else {
            their_flags
        };
        check(
            "flags",
            &format!("0x{their_flags:04x}"),
            flags_hex(&o["flags"]),
        );
        check("seq", get(6), as_text(&o["seq"]));
        check("seq_raw", get(7), as_text(&o["seq_raw"]));
        if ack_set {
            check("ack", get(8), as_text(&o["ack"]));
        }
        check("win", get(9), as_text(&o["win"]));
        check("len", get(10), as_text(&o["len"]));
        check("info", get(11), as_text(&o["info"]));
        let mut ours: Vec<&str> = o["analysis"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        ours.sort_unstable();
        let theirs: Vec<&str> = ANALYSIS
            .iter()
            .enumerate()
            .filter(|(i, _)| !get(FIRST_ANALYSIS + i).is_empty())
            .map(|(_, name)| *name)
            .collect();
        check("analysis", &theirs.join(","), ours.join(","));
    }
    // tcp.analysis.initial_rtt, where tshark shows it, against the connection record.
    let mut rtt_seen = std::collections::HashSet::new();
    for t in &theirs {
        let (Some(stream), Some(rtt)) = (t.get(4), t.get(12)) else {
            continue;
        };
        if rtt.is_empty() || !rtt_seen.insert(stream.clone()) {
            continue;
        }
        let ours = connections
            .iter()
            .find(|c| as_text(&c["stream"]) == *stream);
        let ours_rtt = ours.and_then(|c| c["initial_rtt"].as_f64());
        let theirs_rtt: f64 = rtt.parse().unwrap_or(f64::NAN);
        if ours_rtt.is_none_or(|o| (o - theirs_rtt).abs() > 1e-9) {
            diffs.push(format!(
                "{name} stream {stream} initial_rtt: tshark {rtt} tcplens {ours_rtt:?}"
            ));
        }
    }
    (diffs, compared)
}

fn compare_all(files: &[std::path::PathBuf]) {
    assert!(!files.is_empty(), "no captures to compare");
    let mut diffs = Vec::new();
    let mut compared = 0;
    for file in files {
        let (d, n) = compare(file);
        diffs.extend(d);
        compared += n;
    }
    eprintln!(
        "oracle: {compared} TCP packets in {} captures compared with tshark",
        files.len()
    );
    assert!(
        compared > 0,
        "tshark reported no TCP packets: is the oracle profile broken?"
    );
    if !diffs.is_empty() {
        let shown: Vec<&str> = diffs.iter().take(60).map(String::as_str).collect();
        panic!(
            "{} differences from tshark:\n{}",
            diffs.len(),
            shown.join("\n")
        );
    }
}

#[test]
fn fixtures_match_tshark() {
    compare_all(&common::fixtures());
}

#[test]
fn corpus_matches_tshark() {
    if let Some(files) = common::corpus() {
        compare_all(&files);
    }
}
