//! `tcplens follow` against `tshark -q -z follow,tcp,MODE,N`: byte for byte, every stream of
//! every fixture (raw, ascii and hex) and every capture in ../shared/corpus (raw); and on the
//! public captures of ../shared/external whose streams have bytes missing from the capture
//! (the `[N bytes missing in capture file]` chunks). JSON records and `--output-dir` files
//! are checked against the raw chunks.

mod common;

use std::path::{Path, PathBuf};

/// Public captures with gaps the peer acknowledged, so follow must mark missing bytes.
const WITH_GAPS: &[&str] = &[
    "ndpi__bitcoin.pcap",
    "ndpi__ndpi_match_string_subprotocol__error.pcapng",
    "suricata__bug-5392__TPWhite-carved-out-7787-s1.pcap",
    "suricata__smb2-frames-gap-payload-logging-02__smb2-peter-minus-p191-p192.pcap",
    "suricata__tcp-rst-unacked-stream-10__TLPW1-tcp-174.56.47.59-10.3.11.101-tcp-80-49309.pcap",
];
fn streams(file: &Path) -> Option<u32> {
    let out = common::tshark_encap()
        .arg("-r")
        .arg(file)
        .args(["-T", "fields", "-e", "tcp.stream"])
        .output()
        .expect("run tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.parse::<u32>().ok())
        .max()
}

/// tshark's blocks for streams 0..=last (it prints its -z arguments last first).
fn tshark_follow(file: &Path, mode: &str, last: u32) -> String {
    let mut cmd = common::tshark_encap();
    cmd.arg("-r").arg(file).arg("-q");
    for n in (0..=last).rev() {
        cmd.args(["-z", &format!("follow,tcp,{mode},{n}")]);
    }
    String::from_utf8_lossy(&cmd.output().expect("run tshark").stdout).into_owned()
}

fn tcplens_follow(file: &Path, args: &[&str]) -> String {
    let out = common::tcplens()
        .arg("follow")
        .arg(file)
        .args(args)
        .output()
        .expect("run tcplens");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The first line where the two differ, with its neighbours.
fn first_difference(theirs: &str, ours: &str) -> String {
    let (t, o): (Vec<&str>, Vec<&str>) = (theirs.lines().collect(), ours.lines().collect());
    let i = (0..t.len().max(o.len()))
        .find(|&i| t.get(i) != o.get(i))
        .unwrap_or(0);
    format!(
        "line {}: tshark {:?}\n         tcplens {:?}",
        i + 1,
        t.get(i),
        o.get(i)
    )
}

fn compare(files: &[PathBuf], modes: &[&str]) {
    let mut diffs = Vec::new();
    let mut compared = 0;
    for file in files {
        let Some(last) = streams(file) else { continue };
        for mode in modes {
            let theirs = tshark_follow(file, mode, last);
            let ours = tcplens_follow(file, &["--format", mode, "--color", "never"]);
            compared += 1;
            if theirs != ours {
                diffs.push(format!(
                    "{} ({mode}): {}",
                    file.display(),
                    first_difference(&theirs, &ours)
                ));
            }
        }
    }
    eprintln!("follow: {compared} comparisons with tshark");
    assert!(compared > 0, "no stream to follow");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn follow_equals_tshark_on_fixtures_in_every_mode() {
    compare(&common::fixtures(), &["raw", "ascii", "hex"]);
}

#[test]
fn follow_equals_tshark_on_the_corpus() {
    if let Some(files) = common::corpus() {
        // raw shows every byte; the fixtures check the other modes' layout.
        compare(&files, &["raw"]);
    }
}

#[test]
fn follow_marks_bytes_missing_from_the_capture_where_tshark_does() {
    let dir = common::root().join("../shared/external");
    if !dir.is_dir() {
        eprintln!("skipped: ../shared/external is absent");
        return;
    }
    let files: Vec<PathBuf> = WITH_GAPS.iter().map(|f| dir.join(f)).collect();
    let marked = files
        .iter()
        .filter(|f| {
            tcplens_follow(f, &["--format", "ascii"]).contains("bytes missing in capture file]")
        })
        .count();
    assert_eq!(marked, files.len(), "every one of these captures has a gap");
    compare(&files, &["raw", "ascii"]);
}

#[test]
fn stream_absent_from_the_capture_prints_tsharks_empty_block() {
    let file = PathBuf::from(common::fixture("learn_tcp.pcap"));
    let theirs = tshark_follow_one(&file, 99);
    let ours = tcplens_follow(&file, &["--stream", "99", "--format", "raw"]);
    assert_eq!(theirs, ours);
}

fn tshark_follow_one(file: &Path, n: u32) -> String {
    let out = common::tshark_encap()
        .arg("-r")
        .arg(file)
        .args(["-q", "-z", &format!("follow,tcp,raw,{n}")])
        .output()
        .expect("run tshark");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// JSON records carry the raw chunks' bytes: text where it is UTF-8, else base64.
#[test]
fn json_records_hold_the_same_chunks_as_raw() {
    for name in [
        "learn_tcp.pcap",
        "retransmissions.pcap",
        "interleaved_40.pcap",
    ] {
        let file = PathBuf::from(common::fixture(name));
        let raw = tcplens_follow(&file, &["--format", "raw"]);
        let chunks: Vec<String> = raw
            .lines()
            .filter(|l| {
                let l = l.trim_start_matches('\t');
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_hexdigit())
            })
            .map(|l| l.to_string())
            .collect();
        let json = tcplens_follow(&file, &["--format", "json"]);
        let records: Vec<serde_json::Value> = json
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON record"))
            .collect();
        assert_eq!(records.len(), chunks.len(), "{name}");
        for (r, raw) in records.iter().zip(&chunks) {
            let bytes = match (r["data"].as_str(), r["base64"].as_str()) {
                (Some(text), None) => text.as_bytes().to_vec(),
                (None, Some(b64)) => {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .unwrap()
                }
                other => panic!("{name}: record {r} has {other:?}"),
            };
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let tab = if r["side"] == "server" { "\t" } else { "" };
            assert_eq!(format!("{tab}{hex}"), *raw, "{name}: {r}");
            assert_eq!(r["length"].as_u64(), Some(bytes.len() as u64));
        }
    }
}

/// `--output-dir`: each side of each stream in its own file, named as tcpflow names it,
/// holding that side's chunks in order.
#[test]
fn output_dir_writes_each_side_of_the_conversation_to_its_own_file() {
    let dir = std::env::temp_dir().join(format!("tcplens-follow-{}", std::process::id()));
    let file = common::fixture("learn_tcp.pcap");
    let out = common::run(&["follow", &file, "--output-dir", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "files instead of stdout");
    let client = std::fs::read(dir.join("127.000.000.001.05201-127.000.000.001.05200")).unwrap();
    let server = std::fs::read(dir.join("127.000.000.001.05200-127.000.000.001.05201")).unwrap();
    assert_eq!(client, b"user1user2user3exit");
    assert_eq!(
        server,
        b"Hello!Hi, user1, I got you!Hi, user2, I got you!Hi, user3, I got you!".as_slice()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn display_filter_chooses_the_streams_to_follow() {
    let file = PathBuf::from(common::fixture("interleaved_40.pcap"));
    let ours = tcplens_follow(&file, &["-Y", "tcp.stream in {3, 7}", "--format", "raw"]);
    let mut cmd = common::tshark_encap();
    cmd.arg("-r").arg(&file).arg("-q");
    for n in [7, 3] {
        cmd.args(["-z", &format!("follow,tcp,raw,{n}")]);
    }
    let theirs = String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned();
    assert_eq!(ours, theirs);
}

/// Each side's followed bytes, from the JSON records.
fn conversation(file: &Path) -> [String; 2] {
    let mut sides = [String::new(), String::new()];
    for line in tcplens_follow(file, &["--format", "json"]).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON record");
        assert!(
            v.get("missing").is_none(),
            "{}: a gap left: {line}",
            file.display()
        );
        let side = usize::from(v["side"] == "server");
        sides[side].push_str(v["data"].as_str().expect("text data"));
    }
    sides
}

#[test]
fn lost_segments_are_filled_from_their_retransmissions() {
    let clean = PathBuf::from(common::fixture("request_response.pcap"));
    let lossy = PathBuf::from(common::fixture("request_response_lossy.pcap"));
    // The lossy capture never saw the lost originals: both directions have holes that later
    // retransmissions fill.
    for side in ["tcp.dstport == 5331", "tcp.srcport == 5331"] {
        let out = common::tcplens()
            .arg("read")
            .arg(&lossy)
            .args(["-Y", &format!("{side} && tcp.analysis.lost_segment")])
            .output()
            .expect("run tcplens");
        assert!(
            !String::from_utf8_lossy(&out.stdout).trim().is_empty(),
            "no gap where {side}"
        );
    }
    // The same five exchanges were said on both connections: follow gives the same bytes.
    let said = conversation(&clean);
    assert_eq!(said[0].len(), 24 + 3000 + 40 + 9000 + 30);
    assert_eq!(said[1].len(), 60 + 20000 + 45000 + 120 + 30000);
    assert!(said[1].starts_with("REP0 60\n"));
    assert_eq!(conversation(&lossy), said);
}
