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

/// Every key of every JSON packet record is one `render::json::PACKET_KEYS` declares, and its
/// value is what the fields it names give for the same frame under `-T fields`, on every
/// fixture: the JSON and the field table cannot drift apart.
#[test]
fn json_records_show_the_values_of_their_fields() {
    use serde_json::Value as J;
    use tcplens::render::json::PACKET_KEYS;
    const FLAGS: [(&str, u64); 10] = [
        ("FIN", 0x001),
        ("SYN", 0x002),
        ("RST", 0x004),
        ("PSH", 0x008),
        ("ACK", 0x010),
        ("URG", 0x020),
        ("ECE", 0x040),
        ("CWR", 0x080),
        ("AE", 0x100),
        ("Reserved", 0xe00),
    ];
    const LABELS: [&str; 15] = [
        "retransmission",
        "fast_retransmission",
        "spurious_retransmission",
        "out_of_order",
        "lost_segment",
        "ack_lost_segment",
        "duplicate_ack",
        "zero_window",
        "zero_window_probe",
        "zero_window_probe_ack",
        "window_full",
        "window_update",
        "keep_alive",
        "keep_alive_ack",
        "reused_ports",
    ];
    let mut names: Vec<String> = PACKET_KEYS
        .iter()
        .flat_map(|(_, fields)| fields.iter().map(|f| f.to_string()))
        .collect();
    names.extend(LABELS.iter().map(|l| format!("tcp.analysis.{l}")));
    for name in &names {
        assert!(
            tcplens::fields::lookup(name).is_some(),
            "PACKET_KEYS names {name}, which the table lacks"
        );
    }
    let col = |name: &str| names.iter().position(|n| n == name).unwrap();
    let mut checked = 0;
    for path in common::fixtures() {
        let path = path.to_string_lossy().into_owned();
        let json = stdout_of(&["read", &path, "--json", "--no-summary"]);
        let mut args = vec!["read", path.as_str(), "-T", "fields", "-E", "occurrence=f"];
        for n in &names {
            args.extend(["-e", n.as_str()]);
        }
        let lines = stdout_of(&args);
        assert_eq!(json.lines().count(), lines.lines().count(), "{path}");
        for (record, line) in json.lines().zip(lines.lines()) {
            let record: serde_json::Map<String, J> = serde_json::from_str(record).unwrap();
            let values: Vec<&str> = line.split('\t').collect();
            let get = |name: &str| values[col(name)];
            let first = |fields: &[&str]| {
                (fields.iter().map(|f| get(f)))
                    .find(|v| !v.is_empty())
                    .unwrap_or("")
            };
            let keys: Vec<&str> = PACKET_KEYS.iter().map(|(k, _)| *k).collect();
            for key in record.keys() {
                assert!(
                    keys.contains(&key.as_str()),
                    "{path}: key {key} not in PACKET_KEYS"
                );
            }
            let where_ = format!("{path} frame {}", record["frame"]);
            for (key, fields) in PACKET_KEYS.iter().filter(|(_, f)| !f.is_empty()) {
                let value = record.get(*key).unwrap_or(&J::Null);
                let field = first(fields);
                match *key {
                    // Absent where tshark shows no value.
                    "ack_rtt" | "rto" if value.is_null() => assert_eq!(field, "", "{where_}"),
                    "time" | "ack_rtt" | "rto" => {
                        let (j, f) = (value.as_f64().unwrap(), field.parse::<f64>().unwrap());
                        assert!((j - f).abs() < 1e-9, "{where_}: {key} {j} vs {f}");
                    }
                    "flags" => {
                        if let J::Array(names) = value {
                            let bits = names.iter().fold(0, |acc, n| {
                                acc | FLAGS.iter().find(|(f, _)| n == f).unwrap().1
                            });
                            let raw =
                                u64::from_str_radix(field.trim_start_matches("0x"), 16).unwrap();
                            // Reserved names any of the three reserved bits.
                            assert_eq!(bits & 0x1ff, raw & 0x1ff, "{where_}: flags");
                            assert_eq!(bits & 0xe00 != 0, raw & 0xe00 != 0, "{where_}: flags");
                        } else {
                            assert_eq!(field, "", "{where_}: flags");
                        }
                    }
                    "analysis" => {
                        let listed: Vec<&str> = (value.as_array().into_iter().flatten())
                            .filter_map(J::as_str)
                            .collect();
                        for label in LABELS {
                            assert_eq!(
                                listed.contains(&label),
                                !get(&format!("tcp.analysis.{label}")).is_empty(),
                                "{where_}: tcp.analysis.{label}"
                            );
                        }
                    }
                    "transitions" => {
                        // JSON writes a move through an intermediate state as two hops of one
                        // side; the field writes it as one value, `side:from>via>to`.
                        let mut shown: Vec<(String, String)> = Vec::new();
                        for t in value.as_array().into_iter().flatten() {
                            let (side, to) =
                                (t["side"].as_str().unwrap(), t["to"].as_str().unwrap());
                            match shown.last_mut() {
                                Some((s, path)) if s == side => *path = format!("{path}>{to}"),
                                _ => shown.push((
                                    side.to_string(),
                                    format!("{}>{to}", t["from"].as_str().unwrap()),
                                )),
                            }
                        }
                        let first = shown.first().map(|(s, p)| format!("{s}:{p}"));
                        assert_eq!(first.as_deref().unwrap_or(""), field, "{where_}");
                    }
                    "states" => {
                        for side in ["client", "server"] {
                            let j = value.get(side).and_then(J::as_str).unwrap_or("");
                            assert_eq!(j, get(&format!("tcplens.state.{side}")), "{where_}");
                        }
                    }
                    // JSON leaves Ack out without the ACK flag (docs/json.md); the field, as
                    // tshark, shows the header's value. A frame without TCP (an ARP inside a
                    // tunnel) has neither.
                    "ack" | "ack_raw" if value.is_null() => {
                        let flags = get("tcp.flags");
                        let parsed = u64::from_str_radix(flags.trim_start_matches("0x"), 16);
                        assert!(
                            flags.is_empty() || parsed.is_ok_and(|f| f & 0x10 == 0),
                            "{where_}: {key} null with ACK"
                        );
                    }
                    // JSON names the moment in words, the field by its machine name.
                    "event" => assert_eq!(value.is_null(), field.is_empty(), "{where_}: event"),
                    _ => {
                        let j = match value {
                            J::Null => String::new(),
                            J::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        assert_eq!(j, field, "{where_}: {key} vs {fields:?}");
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} records");
}
