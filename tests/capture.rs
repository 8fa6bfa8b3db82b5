//! `tcplens capture` for real, on `lo`: each test runs its own std::net server and client on an
//! ephemeral port and filters on that port, so tests may run in parallel. Tests that need
//! CAP_NET_RAW print "skipped: needs CAP_NET_RAW" when the test process lacks it (and fail
//! instead when CI or TCPLENS_REQUIRE_CAPTURE is set: CI runs as root and must run them). Every
//! child process has a deadline: a hang kills it and fails the test instead of stalling
//! `cargo test`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest any tcplens process may run in these tests.
const DEADLINE: Duration = Duration::from_secs(10);

/// A running `tcplens capture` whose stdout and stderr are read line by line on threads.
struct Live {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
    readers: Vec<JoinHandle<()>>,
    /// Stdout lines received so far.
    rows: Vec<String>,
    stderr: Vec<String>,
    started: Instant,
}

struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

fn lines_of<R: Read + Send + 'static>(r: R) -> (Receiver<String>, JoinHandle<()>) {
    let (tx, rx) = channel();
    let handle = std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (rx, handle)
}

impl Live {
    fn spawn(mut cmd: Command) -> Live {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tcplens");
        let (out, a) = lines_of(child.stdout.take().expect("stdout"));
        let (err, b) = lines_of(child.stderr.take().expect("stderr"));
        Live {
            child,
            out,
            err,
            readers: vec![a, b],
            rows: Vec::new(),
            stderr: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Starts `tcplens capture ARGS` and waits until it is listening.
    fn start(args: &[&str]) -> Live {
        let mut cmd = common::tcplens();
        cmd.arg("capture").args(args);
        let mut live = Live::spawn(cmd);
        if !live.wait_listening() {
            let f = live.finish();
            panic!("capture {args:?} did not start: {}", f.stderr);
        }
        live
    }

    fn left(&self) -> Duration {
        DEADLINE.saturating_sub(self.started.elapsed())
    }

    /// True once stderr says "listening on"; false if the process ended first.
    fn wait_listening(&mut self) -> bool {
        loop {
            match self.err.recv_timeout(self.left()) {
                Ok(line) => {
                    let ready = line.starts_with("listening on ");
                    self.stderr.push(line);
                    if ready {
                        return true;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return false,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("tcplens neither listened nor failed within {DEADLINE:?}");
                }
            }
        }
    }

    /// The next stdout line containing `needle`, within the deadline.
    fn row_with(&mut self, needle: &str) -> String {
        loop {
            match self.out.recv_timeout(self.left()) {
                Ok(line) => {
                    self.rows.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    panic!(
                        "no row with {needle:?} ({e:?}); rows so far:\n{}",
                        self.rows.join("\n")
                    );
                }
            }
        }
    }

    fn still_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([format!("-{sig}"), self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Sends SIGINT (as Ctrl-C does) and collects everything the capture printed.
    fn interrupt(self) -> Finished {
        self.signal("INT");
        self.finish()
    }

    /// Waits for the process to end within the deadline (killing it otherwise) and collects
    /// its remaining output.
    fn finish(mut self) -> Finished {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if self.left().is_zero() {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "tcplens still running after {DEADLINE:?}; rows so far:\n{}",
                    self.rows.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for r in std::mem::take(&mut self.readers) {
            let _ = r.join();
        }
        self.rows.extend(self.out.try_iter());
        self.stderr.extend(self.err.try_iter());
        let mut stdout = self.rows.join("\n");
        if !stdout.is_empty() {
            stdout.push('\n');
        }
        Finished {
            status,
            stdout,
            stderr: self.stderr.join("\n"),
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // A failed assertion must not leave a capture running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a tcplens command that should end by itself, within the deadline.
fn run(args: &[&str]) -> Finished {
    let mut cmd = common::tcplens();
    cmd.args(args);
    Live::spawn(cmd).finish()
}

/// Whether this process may open a capture on lo, or tcplens's reason why not.
fn capture_check() -> &'static Result<(), String> {
    static CAN: OnceLock<Result<(), String>> = OnceLock::new();
    CAN.get_or_init(|| {
        let mut cmd = common::tcplens();
        // Port 9 (discard): nothing to capture; only whether libpcap opens lo.
        cmd.args(["capture", "-i", "lo", "tcp", "port", "9"]);
        let mut live = Live::spawn(cmd);
        if live.wait_listening() {
            let _ = live.interrupt();
            Ok(())
        } else {
            Err(live.finish().stderr)
        }
    })
}

/// Whether this process may capture on lo; otherwise prints the skip line (or fails under CI).
/// The line goes straight to stderr: libtest hides `eprintln!` of passing tests.
fn privileged(test: &str) -> bool {
    match capture_check() {
        Ok(()) => true,
        Err(why) => {
            let required = std::env::var_os("CI").is_some()
                || std::env::var_os("TCPLENS_REQUIRE_CAPTURE").is_some();
            assert!(
                !required,
                "CI must run the live capture tests, but capturing fails: {why}"
            );
            // One write, so parallel tests do not interleave their lines.
            let line = format!("{test}: skipped: needs CAP_NET_RAW (run as root or with sudo)\n");
            let _ = std::io::stderr().write_all(line.as_bytes());
            false
        }
    }
}

/// A server socket on an ephemeral port of 127.0.0.1.
fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = l.local_addr().expect("local addr").port().to_string();
    (l, port)
}

/// A connected client and server, the handshake done.
fn connect(l: &TcpListener) -> (TcpStream, TcpStream) {
    let client = TcpStream::connect(l.local_addr().unwrap()).expect("connect");
    let (server, _) = l.accept().expect("accept");
    for s in [&client, &server] {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    }
    (client, server)
}

/// The server says "Hello!", the client "user1", then the client closes first and the server
/// follows: handshake, data and a four-way teardown.
fn converse(l: &TcpListener) {
    let (client, server) = connect(l);
    finish_conversation(client, server);
}

fn finish_conversation(mut client: TcpStream, mut server: TcpStream) {
    let mut buf = [0u8; 16];
    server.write_all(b"Hello!").unwrap();
    client.read_exact(&mut buf[..6]).unwrap();
    client.write_all(b"user1").unwrap();
    server.read_exact(&mut buf[..5]).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        server.read(&mut buf).unwrap(),
        0,
        "server sees the client's FIN"
    );
    drop(server);
    assert_eq!(
        client.read(&mut buf).unwrap(),
        0,
        "client sees the server's FIN"
    );
}

/// The row of the last ACK of the teardown: every packet of the conversation was captured.
const LAST_ROW: &str = "server LAST_ACK→CLOSED";

/// Packet rows only (not the blank line and the connection summary).
fn rows(stdout: &str) -> Vec<&str> {
    stdout.lines().take_while(|l| !l.is_empty()).collect()
}

/// A capture on `lo` writing `-w NAME.pcap`, once a whole conversation's rows have printed.
fn conversation_written_to(name: &str) -> (Live, String) {
    let file = common::temp_dir(name).join(format!("{name}.pcap"));
    let file_arg = file.to_string_lossy().into_owned();
    let (l, port) = listener();
    let mut live = Live::start(&[
        "-i", "lo", "-w", &file_arg, "--color", "never", "tcp", "port", &port,
    ]);
    converse(&l);
    live.row_with(LAST_ROW);
    (live, file_arg)
}

fn assert_statistics(stderr: &str, captured: usize) {
    let plural = if captured == 1 { "" } else { "s" };
    assert!(
        stderr.contains(&format!("\n{captured} packet{plural} captured\n")),
        "{stderr}"
    );
    for words in [
        "received by filter",
        "dropped by kernel",
        "dropped by interface",
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.ends_with(words) && l.split(' ').next().unwrap().parse::<u32>().is_ok()),
            "no '{words}' line: {stderr}"
        );
    }
}

#[test]
fn live_rows_show_handshake_data_and_teardown() {
    if !privileged("live_rows_show_handshake_data_and_teardown") {
        return;
    }
    let (l, port) = listener();
    let mut live = Live::start(&["-i", "lo", "--color", "never", "tcp", "port", &port]);
    converse(&l);
    live.row_with(LAST_ROW);
    let f = live.interrupt();
    assert!(f.status.success(), "{:?}: {}", f.status, f.stderr);
    let rows = rows(&f.stdout);
    for (i, row) in rows.iter().enumerate() {
        assert!(
            row.trim_start().starts_with(&format!("{} ", i + 1)),
            "frames numbered 1.. in capture order: {row}"
        );
        assert!(row.contains(&port), "only the filtered port: {row}");
    }
    let find = |needles: &[&str]| {
        rows.iter()
            .find(|r| needles.iter().all(|n| r.contains(n)))
            .unwrap_or_else(|| panic!("no row with {needles:?}:\n{}", rows.join("\n")))
    };
    assert!(
        rows[0].contains(&format!("→ {port} [SYN] Seq=0")),
        "{}",
        rows[0]
    );
    assert!(rows[0].contains("handshake 1 · client CLOSED→SYN_SENT · ISN "));
    find(&[
        "[SYN, ACK] Seq=0 Ack=1",
        "handshake 2 · server LISTEN→SYN_RCVD",
    ]);
    find(&[
        "[ACK] Seq=1 Ack=1",
        "handshake 3 · server SYN_RCVD→ESTABLISHED",
    ]);
    find(&[&format!("{port} → "), "[PSH, ACK]", "Len=6", "│ #0 data"]);
    find(&[&format!("→ {port} [PSH, ACK]"), "Len=5", "│ #0 data"]);
    find(&["[FIN, ACK]", "close 1 · client ESTABLISHED→FIN_WAIT_1"]);
    find(&["[FIN, ACK]", "server CLOSE_WAIT→LAST_ACK"]);
    find(&["[ACK]", LAST_ROW]);
    assert!(f.stdout.contains("\nConnections: 1\n"), "{}", f.stdout);
    assert!(
        f.stdout
            .contains(&format!("→ 127.0.0.1:{port} · start 0.000000")),
        "{}",
        f.stdout
    );
    assert!(f.stdout.contains("open three_way"), "{}", f.stdout);
    assert!(
        f.stderr
            .starts_with("listening on lo, link-type EN10MB (Ethernet)")
    );
    assert_statistics(&f.stderr, rows.len());
}

#[test]
fn count_stops_after_count_packets() {
    if !privileged("count_stops_after_count_packets") {
        return;
    }
    let (l, port) = listener();
    let live = Live::start(&["-i", "lo", "-c", "3", "tcp", "port", &port]);
    converse(&l);
    let f = live.finish();
    assert!(f.status.success(), "{:?}: {}", f.status, f.stderr);
    let rows = rows(&f.stdout);
    assert_eq!(rows.len(), 3, "{}", f.stdout);
    assert!(rows[0].contains("[SYN]"), "{}", rows[0]);
    assert!(rows[1].contains("[SYN, ACK]"), "{}", rows[1]);
    assert!(rows[2].contains("[ACK]"), "{}", rows[2]);
    assert!(f.stdout.contains("Connections: 1"), "{}", f.stdout);
    assert_statistics(&f.stderr, 3);
}

/// A capture writing `-w` while its rows go to a pipe (the test reads them), stopped by `sig`
/// once a whole conversation printed: exit 0, the statistics, and a file that reads back to
/// exactly the rows printed.
fn stopped_by_signal_leaves_a_complete_file(sig: &str) {
    let (live, file_arg) = conversation_written_to(&format!("sig{sig}"));
    live.signal(sig);
    let f = live.finish();
    assert!(f.status.success(), "{:?}: {}", f.status, f.stderr);
    let n = rows(&f.stdout).len();
    assert!(n >= 9, "{}", f.stdout);
    assert_statistics(&f.stderr, n);
    let read = run(&["read", &file_arg, "--color", "never"]);
    assert!(read.status.success(), "{}", read.stderr);
    assert_eq!(
        read.stdout, f.stdout,
        "the -w file reads back to the live rows"
    );
}

#[test]
fn sigint_writes_a_complete_file_that_reads_back_to_the_same_rows() {
    if !privileged("sigint_writes_a_complete_file_that_reads_back_to_the_same_rows") {
        return;
    }
    stopped_by_signal_leaves_a_complete_file("INT");
}

#[test]
fn sigterm_stops_as_cleanly_as_ctrl_c() {
    if !privileged("sigterm_stops_as_cleanly_as_ctrl_c") {
        return;
    }
    let (l, port) = listener();
    let mut live = Live::start(&["-i", "lo", "tcp", "port", &port]);
    converse(&l);
    live.row_with(LAST_ROW);
    live.signal("TERM");
    let f = live.finish();
    assert!(f.status.success(), "{:?}: {}", f.status, f.stderr);
    assert!(f.stdout.contains("Connections: 1"), "{}", f.stdout);
    assert_statistics(&f.stderr, rows(&f.stdout).len());
}

#[test]
fn a_killed_capture_leaves_a_valid_file_with_every_printed_packet() {
    if !privileged("a_killed_capture_leaves_a_valid_file_with_every_printed_packet") {
        return;
    }
    let (live, file_arg) = conversation_written_to("killed");
    live.signal("KILL");
    let f = live.finish();
    assert!(!f.status.success());
    let printed = rows(&f.stdout).join("\n");
    let read = run(&["read", &file_arg, "--color", "never"]);
    assert!(read.status.success(), "{}", read.stderr);
    assert_eq!(rows(&read.stdout).join("\n"), printed);
}

#[test]
fn rows_reach_a_pipe_before_the_capture_ends() {
    if !privileged("rows_reach_a_pipe_before_the_capture_ends") {
        return;
    }
    let (l, port) = listener();
    // stdout is a pipe; the 64 KiB output buffer would hold these rows back without the
    // per-row flush of a live capture.
    let mut live = Live::start(&["-i", "lo", "tcp", "port", &port]);
    let (client, server) = connect(&l);
    let syn = live.row_with("[SYN]");
    assert!(syn.contains(&format!("→ {port} [SYN]")), "{syn}");
    live.row_with("handshake 3");
    assert!(live.still_running(), "the rows came while capturing");
    finish_conversation(client, server);
    live.row_with(LAST_ROW);
    assert!(live.still_running());
    let f = live.interrupt();
    assert!(f.status.success(), "{}", f.stderr);
}

#[test]
fn any_interface_captures_cooked_frames() {
    if !privileged("any_interface_captures_cooked_frames") {
        return;
    }
    let (l, port) = listener();
    let mut live = Live::start(&["-i", "any", "tcp", "port", &port]);
    assert!(
        live.stderr[0].starts_with("listening on any, link-type LINUX_SLL"),
        "{:?}",
        live.stderr
    );
    converse(&l);
    live.row_with(LAST_ROW);
    let f = live.interrupt();
    assert!(f.status.success(), "{}", f.stderr);
    let rows = rows(&f.stdout);
    assert!(rows[0].contains("[SYN]"), "{}", rows[0]);
    assert!(
        rows.iter().all(|r| r.contains("127.0.0.1 → 127.0.0.1")),
        "{rows:?}"
    );
    // `any` gives each packet a ring slot of the snapshot length: the default -B must hold a
    // loopback burst (libpcap's own 2 MiB dropped some).
    assert!(
        f.stderr.contains("\n0 packets dropped by kernel\n"),
        "{}",
        f.stderr
    );
}

#[test]
fn quiet_writes_the_file_and_prints_only_the_summary() {
    if !privileged("quiet_writes_the_file_and_prints_only_the_summary") {
        return;
    }
    let dir = common::temp_dir("quiet");
    let file = dir.join("quiet.pcap");
    let file_arg = file.to_string_lossy().into_owned();
    let (l, port) = listener();
    let live = Live::start(&["-i", "lo", "-q", "-w", &file_arg, "tcp", "port", &port]);
    converse(&l);
    // No rows to wait for: loopback packets are captured within microseconds.
    std::thread::sleep(Duration::from_millis(500));
    let f = live.interrupt();
    assert!(f.status.success(), "{}", f.stderr);
    assert!(
        f.stdout.starts_with("Connections: 1\n"),
        "only the summary: {}",
        f.stdout
    );
    let read = run(&["read", &file_arg, "--no-summary"]);
    assert!(read.stdout.contains(LAST_ROW), "{}", read.stdout);
    assert_statistics(&f.stderr, read.stdout.lines().count());
}

fn assert_one_line_error(f: &Finished, needles: &[&str]) {
    assert_eq!(f.status.code(), Some(2), "{}", f.stderr);
    assert_eq!(
        f.stderr.trim_end().lines().count(),
        1,
        "one line: {}",
        f.stderr
    );
    assert!(f.stderr.starts_with("tcplens: "), "{}", f.stderr);
    assert!(!f.stderr.contains("panicked"), "{}", f.stderr);
    for n in needles {
        assert!(f.stderr.contains(n), "no {n:?} in: {}", f.stderr);
    }
    assert!(f.stdout.is_empty(), "{}", f.stdout);
}

#[test]
fn broken_filter_gives_libpcaps_message_and_the_expression() {
    if !privileged("broken_filter_gives_libpcaps_message_and_the_expression") {
        return;
    }
    let f = run(&["capture", "-i", "lo", "tcp", "portt", "80"]);
    assert_one_line_error(&f, &["invalid filter 'tcp portt 80'", "syntax error"]);
}

#[test]
fn down_interface_says_how_to_bring_it_up() {
    if !privileged("down_interface_says_how_to_bring_it_up") {
        return;
    }
    // An interface that exists and is down (IFF_UP clear), if this machine has one.
    let down = std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let flags = std::fs::read_to_string(e.path().join("flags")).ok()?;
            let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).ok()?;
            (flags & 1 == 0).then(|| e.file_name().to_string_lossy().into_owned())
        })
        .next();
    let Some(down) = down else {
        let _ = writeln!(
            std::io::stderr(),
            "down_interface_says_how_to_bring_it_up: skipped: no interface is down here"
        );
        return;
    };
    let f = run(&["capture", "-i", &down, "-c", "1"]);
    assert_one_line_error(&f, &[&format!("interface {down} is down"), "ip link set"]);
}

#[test]
fn unknown_interface_lists_the_ones_that_exist() {
    let f = run(&["capture", "-i", "nosuch0", "-c", "1"]);
    assert_one_line_error(
        &f,
        &["no interface named 'nosuch0'", "lo", "tcplens interfaces"],
    );
}

#[test]
fn unwritable_w_path_is_one_clear_error() {
    let f = run(&[
        "capture",
        "-i",
        "lo",
        "-w",
        "/nonexistent/dir/x.pcap",
        "-c",
        "1",
    ]);
    assert_one_line_error(
        &f,
        &["cannot write /nonexistent/dir/x.pcap", "does not exist"],
    );
}

#[test]
fn interfaces_lists_devices_like_tcpdump_d() {
    let f = run(&["interfaces"]);
    assert!(f.status.success(), "{}", f.stderr);
    let lo = f
        .stdout
        .lines()
        .find(|l| {
            l.split_once('.')
                .is_some_and(|(_, rest)| rest.starts_with("lo "))
        })
        .unwrap_or_else(|| panic!("no lo: {}", f.stdout));
    assert!(lo.contains("Up") && lo.contains("Loopback"), "{lo}");
    assert!(f.stdout.contains("    127.0.0.1/8\n"), "{}", f.stdout);
    assert!(
        f.stdout.starts_with("1."),
        "numbered as tcpdump -D: {}",
        f.stdout
    );
}

/// A copy of the binary that an unprivileged user can run (the build directory may not be
/// traversable by `nobody`).

#[test]
fn unprivileged_capture_names_the_capabilities_and_setcap() {
    let f = if common::euid() == 0 {
        let Some(mut cmd) = common::unprivileged() else {
            let _ = writeln!(
                std::io::stderr(),
                "skipped: setpriv (util-linux) is missing"
            );
            return;
        };
        cmd.args(["capture", "-i", "lo", "-c", "1"]);
        Live::spawn(cmd).finish()
    } else if capture_check().is_ok() {
        let _ = writeln!(
            std::io::stderr(),
            "skipped: this user may capture (capabilities granted): nothing to refuse"
        );
        return;
    } else {
        run(&["capture", "-i", "lo", "-c", "1"])
    };
    assert_one_line_error(
        &f,
        &[
            "no permission to capture on lo",
            "CAP_NET_RAW",
            "CAP_NET_ADMIN",
            "sudo",
            "setcap cap_net_raw,cap_net_admin=eip ",
        ],
    );
}

#[test]
fn without_i_the_first_interface_is_chosen_as_tcpdump_does() {
    if !privileged("without_i_the_first_interface_is_chosen_as_tcpdump_does") {
        return;
    }
    let list = run(&["interfaces"]);
    let first = list
        .stdout
        .lines()
        .next()
        .and_then(|l| l.split_once('.'))
        .and_then(|(_, rest)| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no interface: {}", list.stdout))
        .to_string();
    // Port 9 (discard): nothing arrives; only which interface opened matters.
    let live = Live::start(&["tcp", "port", "9"]);
    assert!(
        live.stderr[0].starts_with(&format!("listening on {first}, ")),
        "{:?}",
        live.stderr
    );
    let f = live.interrupt();
    assert!(f.status.success(), "{}", f.stderr);
    assert_statistics(&f.stderr, 0);
}

#[test]
fn live_ladder_draws_each_arrow_as_it_happens() {
    if !privileged("live_ladder_draws_each_arrow_as_it_happens") {
        return;
    }
    let (l, port) = listener();
    let mut live = Live::start(&[
        "-i", "lo", "--ladder", "--width", "100", "--color", "never", "tcp", "port", &port,
    ]);
    let (client, server) = connect(&l);
    let syn = live.row_with("[SYN] Seq=0");
    assert!(syn.contains("SYN_SENT │") && syn.ends_with("▶│"), "{syn}");
    live.row_with("[SYN, ACK]");
    assert!(live.still_running(), "the arrows came while capturing");
    assert!(live.rows.iter().any(|r| r.starts_with("tcp.stream ")));
    finish_conversation(client, server);
    let last = live.row_with("│ CLOSED");
    assert!(last.contains("[ACK]"), "{last}");
    let f = live.interrupt();
    assert!(f.status.success(), "{}", f.stderr);
    // The foot of the diagram (final states) comes when the capture ends.
    assert!(
        f.stdout.contains("TIME_WAIT ┴") && f.stdout.contains("┴ CLOSED"),
        "{}",
        f.stdout
    );
}

#[test]
fn sigterm_while_rows_are_piped_leaves_a_complete_file() {
    if !privileged("sigterm_while_rows_are_piped_leaves_a_complete_file") {
        return;
    }
    // As a service manager stops it.
    stopped_by_signal_leaves_a_complete_file("TERM");
}

#[test]
fn capture_piped_to_head_ends_quietly_in_text_and_json() {
    if !privileged("capture_piped_to_head_ends_quietly_in_text_and_json") {
        return;
    }
    for mode in ["--color=never", "--json"] {
        let (l, port) = listener();
        let mut child = common::tcplens()
            .args(["capture", "-i", "lo", mode, "tcp", "port", &port])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tcplens");
        let started = Instant::now();
        let (err, reader) = lines_of(child.stderr.take().expect("stderr"));
        let listening = err.recv_timeout(DEADLINE).unwrap_or_default();
        assert!(
            listening.starts_with("listening on "),
            "{mode}: {listening}"
        );
        // As `| head -1`: read one row, then close the pipe.
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        converse(&l);
        let mut first = String::new();
        stdout.read_line(&mut first).expect("first row");
        assert!(first.contains(&port), "{mode}: {first}");
        drop(stdout);
        // tcplens notices the closed pipe at its next row: keep conversations coming.
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            if started.elapsed() > DEADLINE {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{mode}: tcplens still running after its stdout closed");
            }
            converse(&l);
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = reader.join();
        let rest: Vec<String> = err.try_iter().collect();
        assert!(status.success(), "{mode}: {status:?}: {rest:?}");
        // No statistics, no error, no panic after a closed pipe.
        assert!(rest.is_empty(), "{mode}: {rest:?}");
    }
}

#[test]
fn live_follow_prints_each_stream_when_it_closes() {
    if !privileged("live_follow_prints_each_stream_when_it_closes") {
        return;
    }
    let (l, port) = listener();
    let mut live = Live::start(&["-i", "lo", "--follow", "tcp", "port", &port]);
    const SEPARATOR: &str = "=====================";
    for stream in 0..2 {
        converse(&l);
        live.row_with(&format!("Filter: tcp.stream eq {stream}"));
        live.row_with("user1");
        // The footer comes at the close, not when the capture ends.
        live.row_with(SEPARATOR);
        assert!(
            live.still_running(),
            "stream {stream} printed while capturing"
        );
    }
    let f = live.interrupt();
    assert!(f.status.success(), "{}", f.stderr);
    let block = |stream: u32, client: &str| {
        format!(
            "\n{SEPARATOR}==============================================\n\
             Follow: tcp,ascii\nFilter: tcp.stream eq {stream}\n\
             Node 0: 127.0.0.1:{client}\nNode 1: 127.0.0.1:{port}\n\
             \t6\nHello!\n5\nuser1\n\
             {SEPARATOR}==============================================\n"
        )
    };
    let clients: Vec<&str> = f
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Node 0: 127.0.0.1:"))
        .collect();
    assert_eq!(clients.len(), 2, "{}", f.stdout);
    assert_eq!(
        f.stdout,
        block(0, clients[0]) + &block(1, clients[1]),
        "two blocks, as tshark -z follow,tcp,ascii prints them"
    );
}

#[test]
fn live_follow_output_dir_writes_each_side_as_tcpflow() {
    if !privileged("live_follow_output_dir_writes_each_side_as_tcpflow") {
        return;
    }
    let dir = common::temp_dir("live_follow_output_dir");
    let dir_arg = dir.to_string_lossy().into_owned();
    let (l, port) = listener();
    let live = Live::start(&[
        "-i",
        "lo",
        "--follow=raw",
        "--output-dir",
        &dir_arg,
        "tcp",
        "port",
        &port,
    ]);
    converse(&l);
    // The files are written as the data arrives; Ctrl-C closes them.
    std::thread::sleep(Duration::from_millis(300));
    let f = live.interrupt();
    assert!(f.status.success(), "{}", f.stderr);
    assert_eq!(f.stdout, "", "files instead of stdout");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    let server = format!("127.000.000.001.{:05}", port.parse::<u16>().unwrap());
    let (to_server, to_client): (Vec<_>, Vec<_>) = files
        .iter()
        .partition(|(name, _)| name.ends_with(&format!("-{server}")));
    assert_eq!(to_server.len(), 1, "{files:?}");
    assert_eq!(to_client.len(), 1, "{files:?}");
    assert_eq!(to_server[0].1, b"user1");
    assert!(to_client[0].0.starts_with(&format!("{server}-")));
    assert_eq!(to_client[0].1, b"Hello!");
}

/// The client sends `n` bytes in 1 KiB writes, the server reads them and closes after the
/// client does: a transfer of many segments.
fn transfer(l: &TcpListener, n: usize) {
    let (mut client, mut server) = connect(l);
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut got = 0;
        while let Ok(k) = server.read(&mut buf) {
            if k == 0 {
                break;
            }
            got += k;
        }
        got
    });
    for _ in 0..n / 1024 {
        client.write_all(&[0x55; 1024]).unwrap();
    }
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(reader.join().unwrap(), n / 1024 * 1024);
}

/// The files in `dir`, sorted by name, each with the frames `tcplens read` finds in it.
fn frames_per_file(dir: &std::path::Path) -> Vec<(String, usize)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let out = run(&[
                "read",
                f.to_str().unwrap(),
                "--no-summary",
                "--color",
                "never",
            ]);
            assert!(out.status.success(), "{}: {}", f.display(), out.stderr);
            (
                f.file_name().unwrap().to_string_lossy().into_owned(),
                out.stdout.lines().count(),
            )
        })
        .collect()
}

#[test]
fn size_rotation_keeps_every_packet_across_the_files() {
    if !privileged("size_rotation_keeps_every_packet_across_the_files") {
        return;
    }
    let dir = common::temp_dir("rotation_size");
    let base = dir.join("cap.pcap");
    let (l, port) = listener();
    let mut live = Live::start(&[
        "-i",
        "lo",
        "-q",
        "-w",
        base.to_str().unwrap(),
        "-C",
        "16k",
        "tcp",
        "port",
        &port,
    ]);
    transfer(&l, 200 * 1024);
    std::thread::sleep(Duration::from_millis(300));
    assert!(live.still_running());
    let f = live.interrupt();
    assert!(f.status.success(), "{}", f.stderr);
    let files = frames_per_file(&dir);
    // cap.pcap, then cap.pcap1, cap.pcap2, ... as tcpdump -C names them.
    assert!(files.len() >= 3, "{files:?}");
    let mut names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_by_key(|n| n.trim_start_matches("cap.pcap").parse::<u32>().unwrap_or(0));
    for (i, n) in names.iter().enumerate() {
        let want = if i == 0 {
            "cap.pcap".to_string()
        } else {
            format!("cap.pcap{i}")
        };
        assert_eq!(*n, want, "{files:?}");
    }
    let total: usize = files.iter().map(|(_, k)| k).sum();
    assert_statistics(&f.stderr, total);
    // Each file but the last went past 16 KiB by at most one packet (a record of at most
    // lo's 65,536-byte MTU, its link header and the 16-byte record header), then rotated.
    for name in &names[..names.len() - 1] {
        let size = std::fs::metadata(dir.join(name)).unwrap().len();
        assert!(size > 16 * 1024, "{name}: {size} bytes, rotated too soon");
        assert!(size <= 16 * 1024 + 65_536 + 14 + 16, "{name}: {size} bytes");
    }
}

#[test]
fn a_ring_of_w_files_reuses_the_oldest() {
    if !privileged("a_ring_of_w_files_reuses_the_oldest") {
        return;
    }
    let dir = common::temp_dir("rotation_ring");
    let base = dir.join("ring.pcap");
    let (l, port) = listener();
    let live = Live::start(&[
        "-i",
        "lo",
        "-q",
        "-w",
        base.to_str().unwrap(),
        "-C",
        "8k",
        "-W",
        "3",
        "tcp",
        "port",
        &port,
    ]);
    transfer(&l, 200 * 1024);
    std::thread::sleep(Duration::from_millis(300));
    let f = live.interrupt();
    assert!(f.status.success(), "{}", f.stderr);
    let names: Vec<String> = frames_per_file(&dir).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["ring.pcap0", "ring.pcap1", "ring.pcap2"]);
}

#[test]
fn time_rotation_names_files_by_strftime_stops_after_w_and_runs_z() {
    if !privileged("time_rotation_names_files_by_strftime_stops_after_w_and_runs_z") {
        return;
    }
    let dir = common::temp_dir("rotation_time");
    let base = dir.join("cap-%s.pcap");
    let log = common::temp_dir("rotation_time_z").join("closed.log");
    let script = common::temp_dir("rotation_time_z").join("z.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1\" >> {}\n", log.display()),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    let (l, port) = listener();
    let mut live = Live::start(&[
        "-i",
        "lo",
        "-q",
        "-w",
        base.to_str().unwrap(),
        "-G",
        "1",
        "-W",
        "2",
        "-z",
        script.to_str().unwrap(),
        "tcp",
        "port",
        &port,
    ]);
    // Traffic for about 3 s: the second rotation (after 2 files) ends the capture.
    let started = Instant::now();
    while live.still_running() && started.elapsed() < Duration::from_secs(5) {
        converse(&l);
        std::thread::sleep(Duration::from_millis(100));
    }
    let f = live.finish();
    assert!(
        f.status.success(),
        "the capture ends by itself after -W 2 files: {}",
        f.stderr
    );
    let files = frames_per_file(&dir);
    assert_eq!(files.len(), 2, "{files:?}");
    for (name, frames) in &files {
        let secs = name.trim_start_matches("cap-").trim_end_matches(".pcap");
        assert!(secs.parse::<u64>().is_ok(), "%s made the name: {name}");
        assert!(*frames > 0, "{name}");
    }
    // -z ran on the file the rotation closed (not on the last one).
    std::thread::sleep(Duration::from_millis(200));
    let closed = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(closed.lines().count(), 1, "{closed}");
    assert!(closed.contains(&files[0].0), "{closed}");
}

#[test]
fn live_view_shows_the_connection_and_gives_the_terminal_back() {
    if !privileged("live_view_shows_the_connection_and_gives_the_terminal_back") {
        return;
    }
    let (l, port) = listener();
    let command = format!(
        "{} capture -i lo --tui tcp port {port}; echo EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_tcplens")
    );
    let Some(term) = common::tmux::Tmux::start("live-tui", &command) else {
        return;
    };
    term.pane_with("capturing");
    converse(&l);
    // The states change on screen as the segments arrive: the closed connection's.
    let pane = term.pane_with("Connections: 1");
    assert!(pane.contains(&format!("127.0.0.1:{port}")), "{pane}");
    let pane = term.pane_with("TIME_WAIT");
    // libpcap's counters on the status line.
    assert!(pane.contains("received by filter"), "{pane}");
    // The ladder, read back from the capture's temporary file.
    term.keys(&["l"]);
    term.pane_with("Ladder · tcp.stream 0");
    term.keys(&["Escape"]);
    // Back on the table before typing on: an Esc followed at once by a key reads as Alt+key.
    term.pane_with("Packets of tcp.stream 0");
    // A display filter over the frames stored so far: only the segments with data.
    term.keys(&["/", "tcp.len > 0", "Enter"]);
    let filtered = term.pane_with("-Y tcp.len > 0");
    assert!(!filtered.contains("[SYN]"), "{filtered}");
    term.keys(&["q"]);
    let after = term.pane_with("EXITED 0");
    assert!(!after.contains("Connections: 1"), "{after}");
}
