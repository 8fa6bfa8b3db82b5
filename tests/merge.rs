//! Several files read as one (`tcplens read A B DIR/`), as mergecap merges them: the halves of
//! a fixture give the rows of the whole, a directory gives its captures in name order,
//! `--concat` reads file after file, `-w` writes the merged capture, and a bad file is one
//! clear error after the rows before it.

mod common;

use std::path::{Path, PathBuf};

fn tcplens(args: &[&str]) -> std::process::Output {
    common::run(args)
}

fn text(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `fixture`'s frames selected by `filter`, written to DIR/NAME with `read -w`.
fn part(fixture: &str, filter: &str, dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let out = tcplens(&[
        "read",
        &common::fixture(fixture),
        "-Y",
        filter,
        "-w",
        path.to_str().unwrap(),
        "--color",
        "never",
    ]);
    text(&out);
    path.to_string_lossy().into_owned()
}

#[test]
fn two_halves_merged_give_the_rows_of_the_whole() {
    let dir = common::temp_dir("merge_halves");
    // Streams interleaved in time, split by stream: each half alone has gaps in time that
    // only the other fills.
    let even = part(
        "interleaved_40.pcap",
        "tcp.stream % 2 == 0",
        &dir,
        "even.pcap",
    );
    let odd = part(
        "interleaved_40.pcap",
        "tcp.stream % 2 == 1",
        &dir,
        "odd.pcap",
    );
    let whole = common::fixture("interleaved_40.pcap");
    for extra in [&["--color", "never"][..], &["--json"], &["--summary"]] {
        let want = text(&tcplens(&[&["read", whole.as_str()][..], extra].concat()));
        // Given in either order, and with the options after the files.
        let merged = text(&tcplens(
            &[&["read", odd.as_str(), even.as_str()][..], extra].concat(),
        ));
        assert_eq!(merged, want, "{extra:?}");
    }
}

#[test]
fn a_directory_reads_its_captures_in_name_order_and_nothing_else() {
    let dir = common::temp_dir("merge_dir");
    let a = part("learn_tcp.pcap", "frame.number <= 10", &dir, "cap.pcap0");
    let _b = part("learn_tcp.pcap", "frame.number > 10", &dir, "cap.pcap1");
    std::fs::write(dir.join("notes.txt"), "not a capture").unwrap();
    let want = text(&tcplens(&[
        "read",
        &common::fixture("learn_tcp.pcap"),
        "--color",
        "never",
    ]));
    let got = text(&tcplens(&[
        "read",
        dir.to_str().unwrap(),
        "--color",
        "never",
    ]));
    assert_eq!(got, want);
    // A directory and a file together; BPF words after them.
    let got = text(&tcplens(&[
        "read",
        &a,
        dir.to_str().unwrap(),
        "tcp",
        "port",
        "5200",
        "--summary",
    ]));
    assert!(got.contains("Connections: 1\n"), "{got}");
}

#[test]
fn concat_reads_file_after_file() {
    let dir = common::temp_dir("merge_concat");
    let first = part("learn_tcp.pcap", "frame.number <= 10", &dir, "first.pcap");
    let second = part("learn_tcp.pcap", "frame.number > 10", &dir, "second.pcap");
    let whole = text(&tcplens(&[
        "read",
        &common::fixture("learn_tcp.pcap"),
        "--color",
        "never",
        "--no-summary",
    ]));
    let ordered = text(&tcplens(&[
        "read",
        &first,
        &second,
        "--concat",
        "--color",
        "never",
        "--no-summary",
    ]));
    assert_eq!(ordered, whole);
    // Reversed: the later frames first, numbered 1.. as they come.
    let reversed = text(&tcplens(&[
        "read",
        &second,
        &first,
        "--concat",
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "tcp.seq",
    ]));
    let rows: Vec<&str> = reversed.lines().collect();
    assert_eq!(rows.len(), 20);
    assert!(rows[0].starts_with("1\t"), "{reversed}");
    // Merged by time instead, the same two files give the whole capture back.
    let merged = text(&tcplens(&[
        "read",
        &second,
        &first,
        "--color",
        "never",
        "--no-summary",
    ]));
    assert_eq!(merged, whole);
}

#[test]
fn the_merged_capture_written_with_w_is_what_tshark_reads_as_the_whole() {
    let dir = common::temp_dir("merge_write");
    let even = part(
        "interleaved_40.pcap",
        "tcp.stream % 2 == 0",
        &dir,
        "even.pcap",
    );
    let odd = part(
        "interleaved_40.pcap",
        "tcp.stream % 2 == 1",
        &dir,
        "odd.pcap",
    );
    let out = dir.join("merged.pcapng");
    text(&tcplens(&[
        "read",
        &odd,
        &even,
        "-w",
        out.to_str().unwrap(),
        "--summary",
    ]));
    let fields = |f: &Path| {
        let o = common::tshark()
            .arg("-r")
            .arg(f)
            .args([
                "-T",
                "fields",
                "-e",
                "frame.time_epoch",
                "-e",
                "frame.len",
                "-e",
                "tcp.seq_raw",
            ])
            .output()
            .expect("run tshark");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let whole = PathBuf::from(common::fixture("interleaved_40.pcap"));
    assert_eq!(fields(&out), fields(&whole));
}

#[test]
fn pcap_and_pcapng_of_different_precisions_merge() {
    // A pcap of µs and a pcapng from ../shared/corpus: two formats, their own interfaces.
    let Some(ns) = common::corpus()
        .into_iter()
        .flatten()
        .find(|p| p.extension().is_some_and(|e| e == "pcapng"))
    else {
        return;
    };
    let us = common::fixture("learn_tcp.pcap");
    let count = |args: &[&str]| {
        text(&tcplens(
            &[&["read"][..], args, &["-T", "fields", "-e", "frame.number"]].concat(),
        ))
        .lines()
        .count()
    };
    let (a, b) = (count(&[&us]), count(&[ns.to_str().unwrap()]));
    assert_eq!(count(&[&us, ns.to_str().unwrap()]), a + b);
}

#[test]
fn a_bad_file_among_them_is_one_clear_error() {
    let dir = common::temp_dir("merge_bad");
    let good = common::fixture("learn_tcp.pcap");
    let missing = dir.join("missing.pcap");
    let out = tcplens(&[
        "read",
        &good,
        missing.to_str().unwrap(),
        "-w",
        dir.join("out.pcap").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing.pcap") && err.contains("check the path"),
        "{err}"
    );
    assert!(
        !dir.join("out.pcap").exists(),
        "no -w file for a read that never started"
    );
    let cut = dir.join("cut.pcap");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let out = tcplens(&[
        "read",
        &good,
        cut.to_str().unwrap(),
        "--color",
        "never",
        "--no-summary",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut.pcap is cut short"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // Rows of the frames before the damage were printed.
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() >= 20);
}

#[test]
fn tcplens_file_names_each_frames_file() {
    let dir = common::temp_dir("merge_file_field");
    let even = part(
        "interleaved_40.pcap",
        "tcp.stream % 2 == 0",
        &dir,
        "even.pcap",
    );
    let odd = part(
        "interleaved_40.pcap",
        "tcp.stream % 2 == 1",
        &dir,
        "odd.pcap",
    );
    let out = text(&tcplens(&[
        "read",
        &even,
        &odd,
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "tcplens.file",
    ]));
    // Every frame names one of the two files, and each file's own frames are its share.
    let mut per_file = std::collections::HashMap::new();
    for line in out.lines() {
        let (_, file) = line.split_once('\t').unwrap();
        assert!(file == even || file == odd, "{line}");
        *per_file.entry(file.to_string()).or_insert(0) += 1;
    }
    for f in [&even, &odd] {
        let alone = text(&tcplens(&["read", f, "-T", "fields", "-e", "frame.number"]));
        assert_eq!(per_file[f.as_str()], alone.lines().count(), "{f}");
    }
    // As a filter: the frames of one file.
    let from_odd = text(&tcplens(&[
        "read",
        &even,
        &odd,
        "-Y",
        &format!("tcplens.file == \"{odd}\""),
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]));
    let alone = text(&tcplens(&[
        "read",
        &odd,
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]));
    assert_eq!(from_odd.lines().count(), alone.lines().count());
}

/// `fixture` (a little-endian µs pcap) cut into one file per frame in a new directory, each
/// named by `name(frame index)`.
fn one_file_per_frame(fixture: &str, dir: &Path, name: impl Fn(usize) -> String) -> usize {
    let bytes = std::fs::read(common::fixture(fixture)).expect("fixture");
    let (header, mut rest) = bytes.split_at(24);
    let mut count = 0;
    while rest.len() >= 16 {
        let caplen = u32::from_le_bytes(rest[8..12].try_into().unwrap()) as usize;
        let (record, tail) = rest.split_at(16 + caplen);
        std::fs::write(dir.join(name(count)), [header, record].concat()).expect("write");
        rest = tail;
        count += 1;
    }
    count
}

/// Rows of `args` run by `sh` under a limit on open files.
fn rows_with_open_files_limit(limit: u32, args: &[&str]) -> String {
    let exe = env!("CARGO_BIN_EXE_tcplens");
    let script = format!("ulimit -n {limit} && exec \"$0\" \"$@\"");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(exe)
        .args(args)
        .output()
        .expect("sh");
    text(&out)
}

#[test]
fn hundreds_of_rotated_files_merge_within_a_small_open_file_limit() {
    // 400 files, one frame each, named in time order as a rotated capture's files are: more
    // than the 64 read from the start and than the 100 files this run may hold open; the rest
    // start as the merge reaches them.
    let dir = common::temp_dir("merge_many");
    let n = one_file_per_frame("interleaved_40.pcap", &dir, |i| format!("cap{i:04}.pcap"));
    assert_eq!(n, 400);
    let whole = common::fixture("interleaved_40.pcap");
    let want = text(&tcplens(&["read", &whole, "--color", "never"]));
    let dir_arg = format!("{}/", dir.display());
    for extra in [&[][..], &["--concat"]] {
        let args = [&["read", dir_arg.as_str(), "--color", "never"][..], extra].concat();
        assert_eq!(rows_with_open_files_limit(100, &args), want, "{extra:?}");
    }
}

#[test]
fn files_named_against_time_order_still_merge_by_time() {
    // The latest frames' files come first by name: the earliest frames are in files that
    // start late, and must still come out first.
    let dir = common::temp_dir("merge_reversed");
    let n = one_file_per_frame("interleaved_40.pcap", &dir, |i| {
        format!("cap{:04}.pcap", 999 - i)
    });
    let whole = common::fixture("interleaved_40.pcap");
    let dir_arg = format!("{}/", dir.display());
    let fields = [
        "-T",
        "fields",
        "-e",
        "frame.time_epoch",
        "-e",
        "tcp.stream",
        "-e",
        "tcp.seq",
    ];
    let got = text(&tcplens(
        &[&["read", dir_arg.as_str()][..], &fields].concat(),
    ));
    let want = text(&tcplens(&[&["read", whole.as_str()][..], &fields].concat()));
    assert_eq!(got.lines().count(), n);
    // By time; frames of equal time come in input order (mergecap's tie rule), which the
    // reversed names turn around, so the frames compare as a set.
    let times: Vec<&str> = got.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{got}");
    let sorted = |t: &str| {
        let mut v: Vec<String> = t.lines().map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&got), sorted(&want));
}
