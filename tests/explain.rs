//! Explanations that are true: every `--explain` sentence that names an analysis label names
//! exactly the labels the tracker set on that frame, checked against the `analysis` list of
//! the same frame's JSON record (`read --json --explain`), on every fixture and on
//! ../shared/corpus. The goldens only pin the wording; this test is what says the sentences
//! and the verdicts agree.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Each `tcp.analysis.*` field and how Wireshark's Info names it (packet-tcp.c 4.0,
/// `col_prepend_fstr` in tcp_print_sequence_number_analysis): written out here rather than
/// taken from src/, so a label the explainer names wrongly cannot agree with itself.
const INFO_NAMES: &[(&str, &str)] = &[
    ("retransmission", "[TCP Retransmission]"),
    ("fast_retransmission", "[TCP Fast Retransmission]"),
    ("spurious_retransmission", "[TCP Spurious Retransmission]"),
    ("out_of_order", "[TCP Out-Of-Order]"),
    ("lost_segment", "[TCP Previous segment not captured]"),
    ("ack_lost_segment", "[TCP ACKed unseen segment]"),
    ("window_update", "[TCP Window Update]"),
    ("window_full", "[TCP Window Full]"),
    ("keep_alive", "[TCP Keep-Alive]"),
    ("keep_alive_ack", "[TCP Keep-Alive ACK]"),
    ("duplicate_ack", "[TCP Dup ACK"),
    ("zero_window", "[TCP ZeroWindow]"),
    ("zero_window_probe", "[TCP ZeroWindowProbe]"),
    ("zero_window_probe_ack", "[TCP ZeroWindowProbeAck]"),
    ("reused_ports", "[TCP Port numbers reused]"),
];

/// The `[TCP …]` names in a text, in order (a Dup ACK with its `N#M`).
fn bracketed(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("[TCP ") {
        let Some(len) = rest[at..].find(']') else {
            break;
        };
        names.push(&rest[at..at + len + 1]);
        rest = &rest[at + len + 1..];
    }
    names
}

/// The field name a bracketed Info name stands for.
fn field_of(name: &str) -> Option<&'static str> {
    INFO_NAMES.iter().find_map(|(field, info)| {
        let exact = *info == name;
        let dup_ack = info.ends_with("Dup ACK") && name.starts_with(&format!("{info} "));
        (exact || dup_ack).then_some(*field)
    })
}

/// The labels Info names for a JSON `analysis` list: tshark sets `retransmission` beside a
/// fast or spurious retransmission, but Info (and so a sentence) names only the specific one.
fn named_labels(analysis: &[&str]) -> BTreeSet<String> {
    let specific = analysis
        .iter()
        .any(|l| matches!(*l, "fast_retransmission" | "spurious_retransmission"));
    analysis
        .iter()
        .filter(|l| !(specific && **l == "retransmission"))
        .map(|l| l.to_string())
        .collect()
}

fn records(file: &Path) -> Vec<Value> {
    let path = file.to_string_lossy();
    common::stdout_of(&["read", &path, "--json", "--explain", "--no-summary"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}: {e}: {l}")))
        .filter(|r: &Value| r["type"] == "packet")
        .collect()
}

/// Every difference between what a frame's sentence names and what the tracker set, for one
/// capture; also how many labelled frames were checked.
fn check(file: &Path) -> (Vec<String>, usize) {
    let stem = file.file_name().unwrap_or_default().to_string_lossy();
    let mut wrong = Vec::new();
    let mut labelled = 0;
    // Per stream and sender (srcport, dstport): the window the peer last advertised.
    let mut last_win: HashMap<(u64, u64, u64), u64> = HashMap::new();
    for r in records(file) {
        let frame = r["frame"].as_u64().unwrap_or(0);
        let Some(explain) = r["explain"].as_str() else {
            wrong.push(format!("{stem} frame {frame}: no explanation"));
            continue;
        };
        let Some(list) = r["analysis"].as_array() else {
            continue;
        };
        let analysis: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
        let info = r["info"].as_str().unwrap_or("");
        let said = bracketed(explain);
        let mut named = BTreeSet::new();
        for name in &said {
            match field_of(name) {
                Some(field) => {
                    named.insert(field.to_string());
                }
                None => wrong.push(format!("{stem} frame {frame}: {name} is no label")),
            }
            // The very name Info shows, Dup ACK numbers included.
            if !bracketed(info).contains(name) {
                wrong.push(format!(
                    "{stem} frame {frame}: {name} said, Info is {info:?}"
                ));
            }
        }
        if said.len() != named.len() {
            wrong.push(format!(
                "{stem} frame {frame}: a label named twice: {explain}"
            ));
        }
        let set = named_labels(&analysis);
        if named != set {
            wrong.push(format!(
                "{stem} frame {frame}: the sentence names {named:?}, the tracker set {set:?}: \
                 {explain}"
            ));
        }
        labelled += usize::from(!set.is_empty());

        // A keep-alive into a closed window is a zero-window probe, and only then.
        let (stream, src, dst) = (
            r["stream"].as_u64().unwrap_or(u64::MAX),
            r["srcport"].as_u64().unwrap_or(0),
            r["dstport"].as_u64().unwrap_or(0),
        );
        if analysis.contains(&"keep_alive") {
            let closed = last_win.get(&(stream, dst, src)) == Some(&0);
            let probe = explain.contains("zero-window probe");
            if closed != probe {
                wrong.push(format!(
                    "{stem} frame {frame}: keep-alive, peer's window closed: {closed}, the \
                     sentence calls it a zero-window probe: {probe}: {explain}"
                ));
            }
        }
        if let Some(win) = r["win"].as_u64() {
            last_win.insert((stream, src, dst), win);
        }
    }
    (wrong, labelled)
}

fn check_all(files: &[PathBuf]) -> usize {
    let mut wrong = Vec::new();
    let mut labelled = 0;
    for f in files {
        let (w, n) = check(f);
        wrong.extend(w);
        labelled += n;
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    labelled
}

#[test]
fn explanations_name_exactly_the_labels_the_tracker_set_on_every_fixture() {
    let labelled = check_all(&common::fixtures());
    // retransmissions.pcap and zero_window.pcap alone have more than a hundred.
    assert!(labelled > 100, "only {labelled} labelled frames checked");
}

#[test]
fn explanations_name_exactly_the_labels_the_tracker_set_on_the_corpus() {
    let Some(files) = common::corpus() else {
        return;
    };
    let labelled = check_all(&files);
    assert!(labelled > 100, "only {labelled} labelled frames checked");
}

#[test]
fn the_zero_window_keep_alives_are_explained_as_zero_window_probes() {
    let file = common::root().join("fixtures/zero_window.pcap");
    let probes: Vec<Value> = records(&file)
        .into_iter()
        .filter(|r| r["analysis"] == serde_json::json!(["keep_alive"]))
        .collect();
    assert!(!probes.is_empty(), "zero_window.pcap has keep-alives");
    for r in probes {
        let explain = r["explain"].as_str().unwrap_or("");
        assert!(
            explain.contains("zero-window probe") && !explain.contains("if it is still there"),
            "frame {}: {explain}",
            r["frame"]
        );
    }
}
