//! tcplens's own fields (`tcplens.*`), which tshark does not have, on the kernel recordings
//! whose states docs/states.md walks through; connection verdicts on rows (two passes) and
//! on summary lines; `tcplens fields`; what a live capture refuses.

mod common;

use common::{fixture, run, stdout_of};

/// `-T fields` lines of `file`, split into columns.
fn columns(file: &str, args: &[&str]) -> Vec<Vec<String>> {
    let path = fixture(file);
    let mut all = vec!["read", path.as_str(), "-T", "fields"];
    all.extend_from_slice(args);
    stdout_of(&all)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

#[test]
fn learn_tcp_states_before_and_after_each_segment() {
    let rows = columns(
        "learn_tcp.pcap",
        &[
            "-e",
            "frame.number",
            "-e",
            "tcplens.sender",
            "-e",
            "tcplens.phase",
            "-e",
            "tcplens.step",
            "-e",
            "tcplens.state.client.before",
            "-e",
            "tcplens.state.client",
            "-e",
            "tcplens.state.server.before",
            "-e",
            "tcplens.state.server",
            "-e",
            "tcplens.transition",
        ],
    );
    assert_eq!(rows.len(), 20);
    let row = |n: usize| rows[n - 1].join(" ");
    assert_eq!(
        row(1),
        "1 client handshake 1 CLOSED SYN_SENT LISTEN LISTEN client:CLOSED>SYN_SENT"
    );
    assert_eq!(
        row(2),
        "2 server handshake 2 SYN_SENT ESTABLISHED LISTEN SYN_RCVD \
         server:LISTEN>SYN_RCVD,client:SYN_SENT>ESTABLISHED"
    );
    assert_eq!(
        row(4),
        "4 server data 1 ESTABLISHED ESTABLISHED ESTABLISHED ESTABLISHED "
    );
    assert_eq!(
        row(18),
        "18 server close 2 FIN_WAIT_1 FIN_WAIT_2 CLOSE_WAIT CLOSE_WAIT client:FIN_WAIT_1>FIN_WAIT_2"
    );
    assert_eq!(
        row(20),
        "20 client close 4 TIME_WAIT TIME_WAIT LAST_ACK CLOSED server:LAST_ACK>CLOSED"
    );
}

#[test]
fn state_filter_selects_exactly_the_segments_in_that_state() {
    let frames = |file: &str, expr: &str| -> Vec<String> {
        columns(file, &["-Y", expr, "-e", "frame.number"])
            .into_iter()
            .map(|c| c.join(""))
            .collect()
    };
    // The client is in FIN_WAIT_2 after frame 18 only (frame 19 moves it to TIME_WAIT).
    assert_eq!(
        frames("learn_tcp.pcap", "tcplens.state.client == \"FIN_WAIT_2\""),
        ["18"]
    );
    assert_eq!(
        frames(
            "learn_tcp.pcap",
            "tcplens.state.client.before == \"FIN_WAIT_2\""
        ),
        ["19"]
    );
    assert_eq!(
        frames(
            "simultaneous_close.pcap",
            "tcplens.event == \"simultaneous_close\""
        ),
        ["9"]
    );
    // Two connection attempts, each refused by its RST.
    assert_eq!(
        frames("refused.pcap", "tcplens.event == \"refused\""),
        ["2", "4"]
    );
    assert_eq!(
        frames("learn_tcp.pcap", "tcplens.phase == \"handshake\""),
        ["1", "2", "3"]
    );
    assert_eq!(
        frames(
            "learn_tcp.pcap",
            "tcplens.transition contains \"TIME_WAIT\""
        ),
        ["19"]
    );
}

#[test]
fn connection_verdict_selects_every_row_of_reset_connections() {
    let all = stdout_of(&["read", &fixture("rst_abort.pcap")]);
    let reset = stdout_of(&[
        "read",
        &fixture("rst_abort.pcap"),
        "-Y",
        "tcplens.conn.close == \"reset\"",
    ]);
    // The one connection was reset: every row, and its summary.
    assert_eq!(all, reset);
    let none = stdout_of(&[
        "read",
        &fixture("learn_tcp.pcap"),
        "-Y",
        "tcplens.conn.close == \"reset\"",
    ]);
    assert_eq!(none, "", "no row, no summary line");
    let rows = columns(
        "rst_abort.pcap",
        &[
            "-e",
            "tcplens.conn.abort.side",
            "-e",
            "tcplens.conn.abort.state",
            "-e",
            "tcplens.conn.conn_state",
        ],
    );
    assert!(
        rows.iter()
            .all(|r| r.join(" ") == "client ESTABLISHED RSTO"),
        "{rows:?}"
    );
}

#[test]
fn summary_filter_on_verdicts_selects_summary_lines() {
    let out = stdout_of(&[
        "read",
        &fixture("interleaved_40.pcap"),
        "--summary",
        "-Y",
        "tcplens.conn.conn_state == \"SF\" && tcplens.conn.history contains \"d\"",
    ]);
    assert!(out.starts_with("Connections: 40\n"), "{out}");
    let none = stdout_of(&[
        "read",
        &fixture("interleaved_40.pcap"),
        "--summary",
        "-Y",
        "tcplens.conn.close == \"reset\"",
    ]);
    assert_eq!(none, "");
}

#[test]
fn display_filter_keeps_only_connections_with_a_matching_frame() {
    let out = stdout_of(&[
        "read",
        &fixture("interleaved_40.pcap"),
        "-Y",
        "tcp.stream in {3, 7} && tcp.flags.syn == 1 && tcp.flags.ack == 0",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.iter().filter(|l| l.contains("[SYN]")).count(),
        2,
        "{out}"
    );
    assert!(out.contains("Connections: 2\n"), "{out}");
    assert!(
        lines.iter().any(|l| l.starts_with("  #3 "))
            && lines.iter().any(|l| l.starts_with("  #7 "))
    );
}

#[test]
fn fields_lists_every_field_with_type_and_meaning() {
    let out = stdout_of(&["fields"]);
    for expected in [
        "tcp.seq\tFT_UINT\t",
        "ip.addr\tFT_IPv4\t",
        "tcp.analysis.retransmission\tFT_NONE\t",
        "tcplens.state.client\tFT_STRING\t",
        "tcplens.conn.close\tFT_STRING\t",
    ] {
        assert!(out.contains(expected), "{expected}");
    }
    assert!(out.lines().all(|l| l.split('\t').count() == 3));
}

#[test]
fn field_options_shape_the_lines_as_tshark_does() {
    let out = stdout_of(&[
        "read",
        &fixture("learn_tcp.pcap"),
        "-Y",
        "frame.number <= 2",
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "tcp.port",
        "-E",
        "header=y",
        "-E",
        "separator=,",
        "-E",
        "quote=d",
        "-E",
        "aggregator=/s",
    ]);
    assert_eq!(
        out,
        "\"frame.number\",\"tcp.port\"\n\"1\",\"5201 5200\"\n\"2\",\"5200 5201\"\n"
    );
    let last = stdout_of(&[
        "read",
        &fixture("learn_tcp.pcap"),
        "-Y",
        "frame.number == 1",
        "-T",
        "fields",
        "-e",
        "tcp.port",
        "-E",
        "occurrence=l",
    ]);
    assert_eq!(last, "5200\n");
}

#[test]
fn bad_fields_options_and_live_verdicts_are_one_line_errors() {
    for args in [
        &["read", "x.pcap", "-T", "fields"][..],
        &["read", "x.pcap", "-T", "fields", "-e", "tcp.sequence"],
        &["read", "x.pcap", "-e", "tcp.seq"],
        &[
            "read", "x.pcap", "-T", "fields", "-e", "tcp.seq", "-E", "colour=y",
        ],
        &[
            "capture",
            "-i",
            "lo",
            "-Y",
            "tcplens.conn.close == \"reset\"",
        ],
        &["capture", "-i", "lo", "-Y", "tcp", "-w", "/tmp/x.pcap"],
    ] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn unknown_field_names_the_closest_fields_with_a_caret() {
    let out = run(&[
        "read",
        &fixture("learn_tcp.pcap"),
        "-Y",
        "tcp.srcprot == 80",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(err.contains("tcp.srcport"), "{err}");
    assert!(
        err.contains("\n    tcp.srcprot == 80\n    ^~~~~~~~~~~"),
        "{err}"
    );
}
