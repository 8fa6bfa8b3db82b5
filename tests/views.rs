//! Ladders, explanations, the demo (live and replayed), shell completions and the man page.

mod common;
#[path = "common/pcapgen.rs"]
mod pcapgen;

use std::io::Write as _;
use std::process::Output;

use common::{fixture, run, stdout_of};

const FULL_LIFE: [&str; 10] = [
    "CLOSED",
    "LISTEN",
    "SYN_SENT",
    "SYN_RCVD",
    "ESTABLISHED",
    "FIN_WAIT_1",
    "FIN_WAIT_2",
    "CLOSE_WAIT",
    "LAST_ACK",
    "TIME_WAIT",
];

/// The ladder of a full open and close: both lifelines, arrows both ways, every state.
fn assert_learn_tcp_ladder(ladder: &str) {
    assert!(
        ladder.contains("client 127.0.0.1:5201 ┬") && ladder.contains("┬ server 127.0.0.1:5200"),
        "{ladder}"
    );
    let rightward = ladder.lines().filter(|l| l.contains("▶│")).count();
    let leftward = ladder.lines().filter(|l| l.contains("│◀")).count();
    assert_eq!((rightward, leftward), (9, 11), "{ladder}");
    for state in FULL_LIFE {
        assert!(ladder.contains(state), "{state} missing:\n{ladder}");
    }
}

#[test]
fn ladder_shows_both_endpoints_arrows_both_ways_and_every_state() {
    let ladder = stdout_of(&["read", &fixture("learn_tcp.pcap"), "--ladder"]);
    assert_learn_tcp_ladder(&ladder);
    // States sit beside the side they belong to: the client's on the left of its lifeline.
    let fin = ladder
        .lines()
        .find(|l| l.contains("[FIN, ACK] Seq=20"))
        .expect("the client's FIN");
    assert!(
        fin.contains("FIN_WAIT_1 │") && fin.ends_with("│ CLOSE_WAIT"),
        "{fin}"
    );
    let closing = stdout_of(&["read", &fixture("simultaneous_close.pcap"), "--ladder"]);
    assert!(closing.contains("CLOSING"), "{closing}");
}

#[test]
fn ladder_fits_the_width_down_to_67_columns_and_ascii_uses_no_box_drawing() {
    for width in [67usize, 100, 140] {
        let w = width.to_string();
        let ladder = stdout_of(&[
            "read",
            &fixture("retransmissions.pcap"),
            "--ladder",
            "--no-summary",
            "--width",
            &w,
        ]);
        for line in ladder.lines() {
            assert!(line.chars().count() <= width, "{width}: {line}");
        }
    }
    let ascii = stdout_of(&[
        "read",
        &fixture("learn_tcp.pcap"),
        "--ladder",
        "--ascii",
        "--explain",
        "--no-summary",
    ]);
    assert!(ascii.is_ascii(), "{ascii}");
    assert!(ascii.contains("|--") && ascii.contains(">|") && ascii.contains("|<-"));
}

#[test]
fn stream_picks_one_connection_for_rows_ladder_and_summary() {
    let rows = stdout_of(&["read", &fixture("interleaved_40.pcap"), "--stream", "7"]);
    let tcp_rows: Vec<&str> = rows.lines().filter(|l| l.contains(" TCP ")).collect();
    assert!(!tcp_rows.is_empty());
    assert!(tcp_rows.iter().all(|l| l.contains("│ #7 ")), "{rows}");
    assert!(rows.contains("Connections: 1\n  #7 "), "{rows}");
    let ladder = stdout_of(&[
        "read",
        &fixture("interleaved_40.pcap"),
        "--ladder",
        "--stream",
        "7",
    ]);
    assert_eq!(ladder.matches("tcp.stream ").count(), 1, "{ladder}");
    assert!(ladder.starts_with("tcp.stream 7\n"), "{ladder}");
}

#[test]
fn explain_adds_a_sentence_under_every_row_with_the_raw_isn() {
    for name in ["learn_tcp.pcap", "retransmissions.pcap", "refused.pcap"] {
        let text = stdout_of(&["read", &fixture(name), "--explain", "--no-summary"]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len() % 2, 0, "{name}");
        for pair in lines.chunks(2) {
            assert!(
                pair[1].starts_with("      ↳ ") && pair[1].ends_with('.'),
                "{name}: no sentence under {}",
                pair[0]
            );
        }
    }
    let text = stdout_of(&["read", &fixture("learn_tcp.pcap"), "--explain"]);
    // Both ISNs, raw, as the annotation shows them.
    for isn in ["4292219536", "951767896"] {
        let sentence = text
            .lines()
            .find(|l| l.starts_with("      ↳ ") && l.contains(isn))
            .unwrap_or_else(|| panic!("ISN {isn} not explained:\n{text}"));
        assert!(sentence.contains("Seq=0"), "{sentence}");
    }
    assert!(text.contains("ISN + 1, Ack=1, because a SYN consumes one sequence number"));
    assert!(text.contains("Ack=7 is the previous Ack 1 plus the payload received"));
    assert!(text.contains("the server enters CLOSE_WAIT"));
    assert!(text.contains("TIME_WAIT, where it waits 2×MSL (240 s with --msl 120)"));
}

#[test]
fn explain_in_json_is_a_field_of_each_packet() {
    let json = stdout_of(&[
        "read",
        &fixture("learn_tcp.pcap"),
        "--json",
        "--explain",
        "--no-summary",
    ]);
    for line in json.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON record");
        let sentence = v["explain"].as_str().expect("an explain field");
        assert!(sentence.ends_with('.'), "{sentence}");
    }
}

/// The demo's output either way: 20 rows, the ladder, the summary.
fn assert_demo(out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n{stdout}");
    let rows = stdout
        .lines()
        .filter(|l| l.contains(" TCP ") && l.contains("5200"))
        .count();
    assert_eq!(rows, 20, "{stdout}");
    assert!(stdout.contains("tcp.stream 0\n"), "{stdout}");
    assert_learn_tcp_ladder(&stdout);
    assert!(stdout.contains("Connections: 1\n"), "{stdout}");
    assert!(stdout.contains("open three_way · close four_way by client"));
}

#[test]
fn demo_replays_the_bundled_recording_on_request() {
    let out = run(&["demo", "--replay", "--color", "never"]);
    assert_demo(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The recording itself: its ISN.
    assert!(stdout.contains("ISN 4292219536"), "{stdout}");
}

#[test]
fn demo_captures_live_when_privileged_and_replays_when_not() {
    if common::euid() != 0 {
        // Not root: this is the unprivileged case (unless capabilities were granted).
        let out = run(&["demo", "--color", "never"]);
        assert_demo(&out);
        return;
    }
    let live = run(&["demo", "--color", "never"]);
    assert_demo(&live);
    let stderr = String::from_utf8_lossy(&live.stderr);
    assert!(stderr.contains("capturing on lo"), "{stderr}");
    // Live: fresh ISNs, not the recording's.
    assert!(!String::from_utf8_lossy(&live.stdout).contains("ISN 4292219536"));
    demo_in_the_view_shows_the_states_change_live();

    let Some(mut cmd) = common::unprivileged() else {
        let _ = writeln!(
            std::io::stderr(),
            "skipped: setpriv (util-linux) is missing"
        );
        return;
    };
    let replayed = cmd
        .args(["demo", "--color", "never"])
        .output()
        .expect("run tcplens");
    assert_demo(&replayed);
    let stderr = String::from_utf8_lossy(&replayed.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("tcplens: no permission to capture on lo")
            && stderr.contains("replaying the bundled recording"),
        "{stderr}"
    );
}

/// `demo --tui` as root: the experiment runs while the view captures it; the connection is
/// ESTABLISHED on screen during the conversation (about 3 s of it), then TIME_WAIT on the
/// client's side once it closed. Run after the live demo above, never beside it: both use
/// ports 5200 and 5201.
fn demo_in_the_view_shows_the_states_change_live() {
    let command = format!(
        "{} demo --tui; echo EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_tcplens")
    );
    let Some(term) = common::tmux::Tmux::start("demo-tui", &command) else {
        return;
    };
    let during = term.pane_with("ESTABLISHED");
    assert!(during.contains("capturing"), "{during}");
    let after = term.pane_with("TIME_WAIT 1");
    assert!(after.contains("127.0.0.1:5201"), "{after}");
    assert!(after.contains("close 4"), "{after}");
    term.keys(&["q"]);
    term.pane_with("EXITED 0");
}

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout_of(&["completions", shell]);
        for word in ["tcplens", "read", "capture", "demo", "ladder", "explain"] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
    }
    // The bash script parses.
    let dir = common::temp_dir("completions");
    let path = dir.join("tcplens.bash");
    std::fs::write(&path, stdout_of(&["completions", "bash"])).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("run bash -n");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let bad = run(&["completions", "tcsh"]);
    assert!(!bad.status.success());
}

#[test]
fn man_pages_are_roff_for_the_tool_and_each_subcommand() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH tcplens 1"), "{page}");
    assert!(page.contains("demo") && page.contains("completions"));
    let read = stdout_of(&["man", "read"]);
    assert!(read.contains(".TH tcplens-read 1"), "{read}");
    assert!(read.contains("ladder") && read.contains("explain"));
    let bad = run(&["man", "nope"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("pages exist for: read"));
}

/// A capture of at least `size` bytes: retransmissions.pcap's records repeated after its header
/// (one long connection, as the tracker sees it).
fn large_capture(name: &str, size: usize) -> std::path::PathBuf {
    let path = common::temp_dir(name).join("large.pcap");
    let bytes = std::fs::read(fixture("retransmissions.pcap")).expect("read fixture");
    let (header, records) = bytes.split_at(24);
    let mut out = header.to_vec();
    while out.len() < size {
        out.extend_from_slice(records);
    }
    std::fs::write(&path, out).expect("write the large capture");
    path
}

#[test]
fn progress_bar_shows_on_a_terminal_only_and_is_cleared() {
    // 17 MiB: the bar starts at 16.
    let file = large_capture("progress", 17 << 20);
    let file = file.to_string_lossy();
    // stderr a pipe: nothing but what a script expects.
    let piped = run(&["read", &file, "--summary"]);
    assert!(piped.status.success());
    assert!(piped.stderr.is_empty(), "{:?}", piped.stderr);
    // stderr a terminal (script(1) gives the command a pseudo-terminal).
    let cmd = format!("{} read {file} --summary", env!("CARGO_BIN_EXE_tcplens"));
    let Ok(tty) = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
    else {
        let _ = writeln!(std::io::stderr(), "skipped: script (util-linux) is missing");
        return;
    };
    let seen = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{seen}");
    assert!(seen.contains("reading "), "no bar drawn:\n{seen}");
    assert!(seen.contains("MiB"), "{seen}");
    // Cleared at the end: the summary follows the erase sequence.
    let erased = seen.rfind("\x1b[2K").expect("the bar is erased");
    assert!(seen[erased..].contains("Connections:"), "{seen}");
}

#[test]
fn a_long_connections_ladder_is_written_in_headed_parts() {
    let file = large_capture("parts", 2 << 20);
    let ladder = stdout_of(&["read", &file.to_string_lossy(), "--ladder", "--no-summary"]);
    let headings = ladder
        .lines()
        .filter(|l| l.starts_with("tcp.stream 0"))
        .count();
    assert!(headings >= 2, "one part only");
    let arrows = ladder
        .lines()
        .filter(|l| l.contains("▶│") || l.contains("│◀"))
        .count();
    let frames = stdout_of(&["read", &file.to_string_lossy(), "--no-summary"])
        .lines()
        .count();
    assert_eq!(arrows, frames);
}

/// The ladder spells a segment's flags as the row's Info does, rare ones included: the ACE
/// counter after an AccECN handshake (RFC 9768) and reserved bits.
#[test]
fn ladder_flags_match_the_rows_after_accecn_and_with_reserved_bits() {
    use pcapgen::{ACK, EN10MB, SYN, Seg};
    // No stack here negotiates AccECN on demand, and none sets reserved bits: the bits are
    // set by hand in real-shaped segments (TCP header byte 12 holds AE and the reserved bits).
    let with = |seg: Seg, byte12: u8| {
        let mut f = seg.ethernet();
        f[14 + 20 + 12] = byte12;
        f
    };
    const ECE: u8 = 0x40;
    const CWR: u8 = 0x80;
    let frames = vec![
        (0, with(Seg::new(40000, 80, 100, 0, SYN | ECE | CWR), 0x51)),
        (
            1,
            with(Seg::reply(80, 40000, 700, 101, SYN | ACK | CWR), 0x50),
        ),
        (2, with(Seg::new(40000, 80, 101, 701, ACK | ECE), 0x52)),
    ];
    let path = common::temp_dir("accecn").join("accecn.pcap");
    std::fs::write(&path, pcapgen::pcap(EN10MB, &frames)).unwrap();
    let path = path.to_str().unwrap();

    let rows = stdout_of(&["read", path, "--no-summary"]);
    let ladder = stdout_of(&["read", path, "--ladder", "--width", "140", "--no-summary"]);
    let flags: Vec<&str> = rows
        .lines()
        .map(|r| &r[r.find('[').unwrap()..=r.find(']').unwrap()])
        .collect();
    // tshark 4.0 shows the same three flag sets for this file.
    assert_eq!(flags[2], "[ACK, ACE=1, Reserved]", "{rows}");
    for f in &flags {
        assert!(ladder.contains(f), "{f} not in the ladder:\n{ladder}");
    }
}

/// `--payload`: the articles' conversation, quoted in the rows and in the explanations, and
/// escaped where the bytes are not printable text.
#[test]
fn payload_quotes_what_each_segment_said() {
    let rows = stdout_of(&[
        "read",
        &fixture("learn_tcp.pcap"),
        "--payload",
        "--explain",
        "--no-summary",
        "--color",
        "never",
    ]);
    for said in [
        "\"Hello!\"",
        "\"user1\"",
        "\"Hi, user1, I got you!\"",
        "\"exit\"",
    ] {
        assert!(
            rows.contains(&format!(" · {said}\n")),
            "row quoting {said}:\n{rows}"
        );
        assert!(
            rows.contains("bytes (Seq=") && rows.contains(&format!("): {said}")),
            "sentence quoting {said}:\n{rows}"
        );
    }
    // Without the option, nothing is quoted.
    let plain = stdout_of(&["read", &fixture("learn_tcp.pcap"), "--no-summary"]);
    assert!(!plain.contains("\"Hello!\""));
}

#[test]
fn payload_preview_escapes_and_cuts_long_data() {
    let mut out = String::new();
    tcplens::render::preview(
        &mut out,
        b"GET / HTTP/1.1\r\nHost: a\"b\\c\x01\r\n0123456789abcdef",
    );
    assert_eq!(
        out,
        "\"GET / HTTP/1.1\\r\\nHost: a\\\"b\\\\c\\x01\\r\\n0123456789\"..."
    );
}

/// `--ladder --payload`: each arrow carries what its segment said, or has it written just
/// above when the arrow is too short.
#[test]
fn ladder_with_payload_shows_the_conversation_on_its_arrows() {
    let ladder = stdout_of(&[
        "read",
        &fixture("learn_tcp.pcap"),
        "--ladder",
        "--payload",
        "--no-summary",
        "--color",
        "never",
    ]);
    assert_learn_tcp_ladder(&ladder);
    let hello = ladder
        .lines()
        .find(|l| l.contains("Len=6"))
        .expect("frame 4");
    assert!(
        hello.contains("Len=6 \"Hello!\" ─") && hello.contains("│◀"),
        "{hello}"
    );
    for said in ["\"user1\"", "\"user2\"", "\"user3\"", "\"exit\""] {
        assert!(
            ladder
                .lines()
                .any(|l| l.contains(said) && l.ends_with("▶│")),
            "{said}:\n{ladder}"
        );
    }
    // The server's 21-byte answers do not fit on their arrows: above them, between the lifelines.
    for n in 1..=3 {
        let said = format!("│ \"Hi, user{n}, I got you!\"");
        assert!(ladder.contains(&said), "{said}:\n{ladder}");
    }
}
