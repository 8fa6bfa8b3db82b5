//! Wireshark's per-segment timing — `tcp.analysis.acks_frame`, `ack_rtt`, `bytes_in_flight`,
//! `push_bytes_sent`, `rto`, `rto_frame` and `initial_rtt` — equal to TShark's on every packet
//! of every fixture and every capture in ../shared/corpus, compared as `-T fields` prints them
//! (so the field table's printing is held to tshark's too).

mod common;

use std::path::Path;

const FIELDS: &[&str] = &[
    "frame.number",
    "tcp.analysis.acks_frame",
    "tcp.analysis.ack_rtt",
    "tcp.analysis.bytes_in_flight",
    "tcp.analysis.push_bytes_sent",
    "tcp.analysis.rto",
    "tcp.analysis.rto_frame",
    "tcp.analysis.initial_rtt",
];

fn args() -> Vec<String> {
    let mut a: Vec<String> = ["-T", "fields", "-E", "occurrence=f"]
        .map(String::from)
        .to_vec();
    for f in FIELDS {
        a.extend(["-e".to_string(), f.to_string()]);
    }
    a
}

/// The lines where tcplens and tshark differ, as `file #frame: tshark … tcplens …`.
fn differences(file: &Path) -> (Vec<String>, usize) {
    let theirs = common::tshark_encap()
        .arg("-r")
        .arg(file)
        .args(args())
        .output()
        .expect("run tshark");
    let ours = common::tcplens()
        .arg("read")
        .arg(file)
        .args(args())
        .output()
        .expect("run tcplens");
    let theirs = String::from_utf8_lossy(&theirs.stdout).into_owned();
    let ours = String::from_utf8_lossy(&ours.stdout).into_owned();
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let mut diffs = Vec::new();
    let (t, o): (Vec<&str>, Vec<&str>) = (theirs.lines().collect(), ours.lines().collect());
    if t.len() != o.len() {
        diffs.push(format!(
            "{name}: tshark {} lines, tcplens {}",
            t.len(),
            o.len()
        ));
    }
    let mut timed = 0;
    for (t, o) in t.iter().zip(&o) {
        timed += usize::from(t.split('\t').skip(1).any(|v| !v.is_empty()));
        if t != o {
            diffs.push(format!(
                "{name}: tshark {t:?}\n{:>w$} tcplens {o:?}",
                "",
                w = name.len() + 1
            ));
        }
    }
    (diffs, timed)
}

fn compare_all(files: &[std::path::PathBuf]) {
    let mut diffs = Vec::new();
    let mut timed = 0;
    for f in files {
        let (d, n) = differences(f);
        diffs.extend(d);
        timed += n;
    }
    eprintln!(
        "timing: {timed} packets with timing fields in {} captures",
        files.len()
    );
    assert!(
        timed > 0,
        "tshark showed no timing field: is the comparison broken?"
    );
    assert!(
        diffs.is_empty(),
        "{} differences from tshark:\n{}",
        diffs.len(),
        diffs
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn timing_fields_match_tshark_on_fixtures() {
    compare_all(&common::fixtures());
}

#[test]
fn timing_fields_match_tshark_on_corpus() {
    if let Some(files) = common::corpus() {
        compare_all(&files);
    }
}
