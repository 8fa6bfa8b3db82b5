//! `read --summary --threads N` (issue 17): connections tracked in flow-hash shards print
//! exactly the table one tracker prints, on every capture we have, on a directory of rotated
//! files, with a filter on connection verdicts, and when the shards give up because the table
//! could overflow (the file is then read again by one tracker, which evicts as before).
//! Three shards even on a two-core machine: the default there is one tracker, so only these
//! tests run the shards.

mod common;

use std::path::PathBuf;

fn summary(path: &str, threads: &str, extra: &[&str]) -> (String, String, Option<i32>) {
    let args = [
        &["read", path, "--summary", "--threads", threads][..],
        extra,
    ]
    .concat();
    let out = common::run(&args);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

fn same_in_shards(path: &str, extra: &[&str]) -> String {
    let one = summary(path, "1", extra);
    for threads in ["2", "3"] {
        assert_eq!(
            summary(path, threads, extra),
            one,
            "{path} {extra:?}: --threads {threads} against one tracker"
        );
    }
    one.0
}

#[test]
fn every_capture_summarized_in_shards_equals_one_tracker() {
    let mut captures: Vec<PathBuf> = common::fixtures();
    for more in [common::corpus(), common::external(), common::zeek_traces()] {
        captures.extend(more.unwrap_or_default());
    }
    let mut connections = 0;
    for path in &captures {
        let table = same_in_shards(path.to_str().unwrap(), &[]);
        connections += table.lines().filter(|l| l.starts_with("  #")).count();
    }
    assert!(connections > 100, "{connections} connections compared");
}

#[test]
fn a_directory_of_rotated_files_in_shards_equals_one_tracker() {
    let dir = common::temp_dir("shards_rotated");
    let whole = common::fixture("interleaved_40.pcap");
    // Cut by frame number, as a rotation cuts: connections span the files.
    for (name, filter) in [
        ("a.pcap", "frame.number <= 100"),
        ("b.pcap", "frame.number > 100 && frame.number <= 250"),
        ("c.pcap", "frame.number > 250"),
    ] {
        let out = common::run(&[
            "read",
            &whole,
            "-Y",
            filter,
            "-w",
            dir.join(name).to_str().unwrap(),
        ]);
        assert!(out.status.success());
    }
    let dir_arg = format!("{}/", dir.display());
    let table = same_in_shards(&dir_arg, &[]);
    assert_eq!(table, summary(&whole, "1", &[]).0);
    assert!(table.contains("Connections: 40"), "{table}");
}

#[test]
fn a_filter_on_connection_verdicts_selects_the_same_lines_in_shards() {
    // Every fixture read as one capture: connections of every kind, the few not closed
    // normally scattered among the streams.
    let all = format!("{}/", common::root().join("fixtures").display());
    let table = same_in_shards(&all, &["-Y", "tcplens.conn.conn_state != \"SF\""]);
    let listed = table.lines().filter(|l| l.starts_with("  #")).count();
    assert!((3..20).contains(&listed), "{table}");
}

#[test]
fn shards_that_could_overflow_the_table_give_way_to_one_tracker_that_evicts() {
    // 40 connections open at once, 10 allowed: one tracker evicts, and so must the run.
    let path = common::fixture("interleaved_40.pcap");
    let table = same_in_shards(&path, &["--max-flows", "10"]);
    assert!(table.contains("evicted before they ended"), "{table}");
}
