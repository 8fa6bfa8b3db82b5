//! The interactive view (`tcplens tui`): its screens drawn on ratatui's test backend from the
//! fixtures, held to goldens (fixtures/golden/tui.*.txt; `TCPLENS_BLESS=1` rewrites them), and
//! the keys moving through connections and packets.

mod common;

use clap::Parser;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tcplens::cli::{Cli, Command};
use tcplens::tui::draw::draw;
use tcplens::tui::{App, Focus};

fn config(fixture: &str) -> tcplens::cli::Config {
    let argv = ["tcplens", "tui", &common::fixture(fixture)];
    let Command::Tui(args) = Cli::try_parse_from(argv).expect("arguments").command else {
        unreachable!()
    };
    args.into_config().expect("config")
}

fn app(fixture: &str) -> App<'static> {
    let model = tcplens::pipeline::tui_model(&config(fixture)).expect("model");
    App::new(model, fixture.to_string())
}

/// The screen as text, one line per row of cells.
fn screen(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, app)).unwrap();
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn golden(name: &str, got: &str) {
    let path = common::root().join("fixtures/golden").join(name);
    if std::env::var_os("TCPLENS_BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        got,
        want,
        "{} differs (TCPLENS_BLESS=1 rewrites it)",
        path.display()
    );
}

fn press(app: &mut App, code: KeyCode) {
    app.key(KeyEvent::new(code, KeyModifiers::NONE));
}

#[test]
fn connection_table_of_forty_interleaved_connections() {
    let mut app = app("interleaved_40.pcap");
    assert_eq!(tcplens::tui::lock(&app.model).conns().len(), 40);
    let s = screen(&mut app, 140, 40);
    assert!(s.contains("Connections: 40"), "{s}");
    // Each connection ended: its open and close kinds replace the last event.
    assert!(s.contains("three_way · three_way"), "{s}");
    golden("tui.interleaved_40.txt", &s);
}

#[test]
fn keys_select_a_connection_then_a_packet_and_its_explanation() {
    let mut app = app("learn_tcp.pcap");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Packets);
    for _ in 0..3 {
        press(&mut app, KeyCode::Char('j'));
    }
    let s = screen(&mut app, 140, 40);
    // The fourth packet is the server's "Hello!", and the pane explains it.
    assert!(s.contains("Packets of tcp.stream 0"), "{s}");
    assert!(s.contains("The server sends 6 bytes"), "{s}");
    assert!(s.contains("\"Hello!\""), "{s}");
    golden("tui.learn_tcp.packet4.txt", &s);
    press(&mut app, KeyCode::Char('G'));
    let s = screen(&mut app, 140, 40);
    // The last: the client's final ACK, which leaves the server CLOSED.
    assert!(s.contains("   20   4.011195"), "{s}");
    assert!(s.contains("the server is CLOSED"), "{s}");
    press(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
}

#[test]
fn an_80_by_24_terminal_still_shows_every_pane() {
    let mut app = app("port_reuse.pcap");
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("Connections: 2"), "{s}");
    assert!(s.contains("Packets of tcp.stream 0"), "{s}");
    assert!(s.contains("What it does"), "{s}");
    assert!(s.contains("? keys"), "{s}");
}

#[test]
fn driven_in_tmux_it_answers_keys_and_gives_the_terminal_back() {
    let command = format!(
        "{} tui {}; echo EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_tcplens"),
        common::fixture("interleaved_40.pcap")
    );
    let Some(term) = common::tmux::Tmux::start("tui", &command) else {
        return;
    };
    term.pane_with("Connections: 40");
    term.pane_with("Packets of tcp.stream 0");
    term.keys(&["j", "j", "Tab", "j"]);
    term.pane_with("Packets of tcp.stream 2");
    term.keys(&["q"]);
    let after = term.pane_with("EXITED 0");
    // The alternate screen is gone: the shell's screen is back, without the view's boxes.
    assert!(!after.contains("Connections: 40"), "{after}");
}

/// A closed ssh session: the terminal hangs up under the view (here tmux is killed). The
/// view must end, not spin on the dead terminal (crossterm reads it at end of file for ever).
#[test]
fn the_view_ends_when_its_terminal_hangs_up() {
    // A name of its own, to find this very process afterwards.
    let dir = common::temp_dir("hangup");
    let file = dir.join(format!("hangup-{}.pcap", std::process::id()));
    std::fs::copy(common::fixture("learn_tcp.pcap"), &file).unwrap();
    let command = format!("{} tui {}", env!("CARGO_BIN_EXE_tcplens"), file.display());
    let Some(term) = common::tmux::Tmux::start("hangup", &command) else {
        return;
    };
    term.pane_with("TIME_WAIT 1");
    drop(term);
    let name = file.file_name().unwrap().to_str().unwrap().to_string();
    let alive = || {
        std::process::Command::new("pgrep")
            .args(["-f", &name])
            .output()
            .is_ok_and(|o| !o.stdout.is_empty())
    };
    for _ in 0..50 {
        if !alive() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("tcplens tui still runs 5 s after its terminal hung up");
}

#[test]
fn the_demo_replayed_in_the_view() {
    let command = format!(
        "{} demo --tui --replay; echo EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_tcplens")
    );
    let Some(term) = common::tmux::Tmux::start("demo-replay", &command) else {
        return;
    };
    let pane = term.pane_with("TIME_WAIT 1");
    assert!(pane.contains("127.0.0.1:5201"), "{pane}");
    term.keys(&["Tab", "End"]);
    term.pane_with("the server is CLOSED");
    term.keys(&["q"]);
    let after = term.pane_with("EXITED 0");
    assert!(!after.contains("TIME_WAIT 1"), "{after}");
}

#[test]
fn ladder_follow_and_graph_open_over_the_screen_and_esc_goes_back() {
    let cfg = config("learn_tcp.pcap");
    let mut app = tcplens::pipeline::tui_app(&cfg).expect("app");
    screen(&mut app, 110, 32);
    press(&mut app, KeyCode::Char('l'));
    let s = screen(&mut app, 110, 32);
    assert!(s.contains("Ladder · tcp.stream 0"), "{s}");
    assert!(s.contains("SYN_SENT │"), "{s}");
    press(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none());
    press(&mut app, KeyCode::Char('f'));
    let s = screen(&mut app, 110, 32);
    assert!(
        s.contains("Follow: tcp,ascii") && s.contains("Hi, user1, I got you!"),
        "{s}"
    );
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('g'));
    let s = screen(&mut app, 110, 32);
    assert!(s.contains("tcptrace · tcp.stream 0"), "{s}");
    press(&mut app, KeyCode::Esc);
    assert!(!app.quit, "Esc closes the pane, not the view");
}

#[test]
fn a_display_filter_narrows_the_view_and_its_error_shows_in_place() {
    let cfg = config("port_reuse.pcap");
    let mut app = tcplens::pipeline::tui_app(&cfg).expect("app");
    press(&mut app, KeyCode::Char('/'));
    for c in "tcp.stream ==".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    let s = screen(&mut app, 100, 24);
    assert!(s.contains("Unexpected end of filter expression"), "{s}");
    assert_eq!(
        tcplens::tui::lock(&app.model).conns().len(),
        2,
        "a bad filter leaves the view as it was"
    );
    press(&mut app, KeyCode::Char('/'));
    for c in " 1".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    let s = screen(&mut app, 100, 24);
    assert_eq!(tcplens::tui::lock(&app.model).conns().len(), 1, "{s}");
    assert!(s.contains("-Y tcp.stream == 1"), "{s}");
}

#[test]
fn scrolling_keeps_the_selection_on_screen() {
    let mut app = app("interleaved_40.pcap");
    screen(&mut app, 140, 40);
    press(&mut app, KeyCode::Char('G'));
    let s = screen(&mut app, 140, 40);
    assert!(
        s.contains("│39    127.0.0.1:"),
        "the last connection is shown: {s}"
    );
    assert!(!s.contains("│0     127.0.0.1:"), "{s}");
    assert!(s.contains("Packets of tcp.stream 39"), "{s}");
    // Back up one: the window does not move, the selection does.
    press(&mut app, KeyCode::Char('k'));
    let up = screen(&mut app, 140, 40);
    assert!(up.contains("│39    127.0.0.1:"), "{up}");
    assert!(up.contains("Packets of tcp.stream 38"), "{up}");
    press(&mut app, KeyCode::Home);
    let top = screen(&mut app, 140, 40);
    assert!(top.contains("│0     127.0.0.1:"), "{top}");
}

/// The view keeps no row: each is made again from the frame read back from its temporary
/// file. Made again, every row of every fixture (fragments reassembled, tunnels, SLL) is
/// `tcplens read`'s row, and the sentence under it `read --explain`'s.
#[test]
fn rows_read_back_from_the_store_are_reads_rows_on_every_fixture() {
    for path in common::fixtures() {
        let file = path.to_str().unwrap();
        let out = common::run(&[
            "read",
            file,
            "--color",
            "never",
            "--no-summary",
            "--explain",
        ]);
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let argv = ["tcplens", "tui", file];
        let Command::Tui(args) = Cli::try_parse_from(argv).unwrap().command else {
            unreachable!()
        };
        let model = tcplens::pipeline::tui_model(&args.into_config().unwrap()).unwrap();
        assert_eq!(model.shown().len() * 2, lines.len(), "{file}");
        for (n, &i) in model.shown().iter().enumerate() {
            let shown = model.describe(i).unwrap();
            assert_eq!(shown.row, lines[2 * n], "{file}, frame {}", n + 1);
            let note = lines[2 * n + 1].trim_start();
            assert!(
                note.ends_with(&shown.note),
                "{file}, frame {}: {note}",
                n + 1
            );
        }
    }
}

/// The packet pane colors rows by Wireshark's coloring rules; NO_COLOR leaves them plain.
#[test]
fn packet_rows_carry_wiresharks_colors_unless_no_color() {
    let mut app = app("learn_tcp.pcap");
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal.draw(|f| draw(f, &mut app)).unwrap();
    let buf = terminal.backend().buffer().clone();
    // Row 1 of the packet pane is the SYN: "TCP SYN/FIN" is gray (a0a0a0) in colorfilters;
    // row 3, a plain ACK, is "TCP" (e7e6ff).
    let packets_top = (0..buf.area.height)
        .find(|&y| buf[(1, y)].symbol() == " " && buf[(0, y)].symbol() == "┌" && y > 0)
        .unwrap();
    let bg = |row: u16| buf[(6, packets_top + row)].bg;
    assert_eq!(bg(2), ratatui::style::Color::Rgb(0xa0, 0xa0, 0xa0));
    assert_eq!(bg(3), ratatui::style::Color::Rgb(0xe7, 0xe6, 0xff));
    app.color = false;
    terminal.draw(|f| draw(f, &mut app)).unwrap();
    let plain = terminal.backend().buffer();
    assert_eq!(plain[(6, packets_top + 2)].bg, ratatui::style::Color::Reset);
}

/// `d` turns the bottom pane to the field tree (the display filter's names, by layer) and to
/// the bytes in hex.
#[test]
fn the_detail_pane_shows_the_field_tree_and_the_bytes() {
    let mut app = app("learn_tcp.pcap");
    press(&mut app, KeyCode::Tab);
    for _ in 0..3 {
        press(&mut app, KeyCode::Char('j'));
    }
    press(&mut app, KeyCode::Char('d'));
    let s = screen(&mut app, 120, 60);
    assert!(s.contains("Fields · d: bytes"), "{s}");
    assert!(s.contains("▾ frame — "), "{s}");
    assert!(s.contains("    frame.number: 4"), "{s}");
    press(&mut app, KeyCode::Char('d'));
    let s = screen(&mut app, 120, 60);
    assert!(s.contains("Bytes · d: what it does"), "{s}");
    assert!(s.contains("0040  f7 43 48 65 6c 6c 6f 21"), "{s}");
    assert!(s.contains(".CHello!"), "{s}");
    // Tab reaches the pane, j scrolls it.
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Detail);
    press(&mut app, KeyCode::Char('j'));
    let s = screen(&mut app, 120, 60);
    assert!(!s.contains("│0000  "), "{s}");
}

/// The field tree holds the frame's fields under the names the display filter uses, in
/// Wireshark's layer order, with the values `-T fields` prints.
#[test]
fn the_field_tree_names_the_fields_as_the_filter_does() {
    let model = tcplens::pipeline::tui_model(&config("learn_tcp.pcap")).unwrap();
    let tree = model
        .frame(3)
        .unwrap()
        .with_packet(tcplens::tui::field_tree);
    for line in [
        "    frame.number: 4",
        "    tcp.len: 6",
        "    tcp.seq: 1",
        "    tcp.srcport: 5200",
        "    ip.src: 127.0.0.1",
        "    tcplens.state.server: ESTABLISHED",
    ] {
        assert!(tree.lines().any(|l| l == line), "{line}: {tree}");
    }
    let at = |name: &str| tree.find(name).unwrap_or_else(|| panic!("{name}: {tree}"));
    assert!(at("▾ frame") < at("▾ eth"));
    assert!(at("▾ eth") < at("▾ ip "));
    assert!(at("▾ ip ") < at("▾ tcp "));
    assert!(at("▾ tcp ") < at("▾ tcplens"));
}

/// The bytes pane is `tshark -x`, frame by frame.
#[test]
fn the_bytes_pane_is_tsharks_hex_dump() {
    for name in ["learn_tcp.pcap", "ipv6.pcap", "sll2_any.pcap"] {
        let file = common::fixture(name);
        let out = std::process::Command::new("tshark")
            .args(["-r", &file, "-x"])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let blocks: Vec<&str> = text
            .split("\n\n")
            .filter(|b| !b.trim().is_empty())
            .collect();
        let model = tcplens::pipeline::tui_model(&config(name)).unwrap();
        assert_eq!(blocks.len(), model.shown().len(), "{name}");
        for (n, &i) in model.shown().iter().enumerate() {
            let ours = tcplens::tui::hex_dump(model.frame(i).unwrap().data());
            assert_eq!(
                ours.trim_end(),
                blocks[n].trim_end(),
                "{name} frame {}",
                n + 1
            );
        }
    }
}

/// `s` sorts the table by the next column, `S` the other way; the header marks it.
#[test]
fn the_table_sorts_by_any_column() {
    let mut app = app("port_reuse.pcap");
    let first_stream = |app: &mut App| {
        let s = screen(app, 140, 30);
        let row = s.lines().nth(2).unwrap().to_string();
        row.trim_start_matches('│')
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(first_stream(&mut app), "0");
    press(&mut app, KeyCode::Char('S'));
    assert_eq!(first_stream(&mut app), "1");
    assert!(screen(&mut app, 140, 30).contains("#▼"));
    press(&mut app, KeyCode::Char('s'));
    assert!(screen(&mut app, 140, 30).contains("client▼"));
}

/// `a` lists every packet, of every connection; a mouse click selects the row under it.
#[test]
fn all_packets_and_a_click_select() {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = app("interleaved_40.pcap");
    screen(&mut app, 140, 40);
    press(&mut app, KeyCode::Char('a'));
    let s = screen(&mut app, 140, 40);
    assert!(s.contains("All packets: 400"), "{s}");
    // Click the third connection row (border, header, then rows 0, 1, 2).
    app.mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 10,
        row: 4,
        modifiers: KeyModifiers::NONE,
    });
    press(&mut app, KeyCode::Char('a'));
    let s = screen(&mut app, 140, 40);
    assert!(s.contains("Packets of tcp.stream 2"), "{s}");
    assert_eq!(app.focus, Focus::Connections);
}

/// `?` shows the key map over the screen.
#[test]
fn question_mark_shows_the_keys() {
    let mut app = app("learn_tcp.pcap");
    press(&mut app, KeyCode::Char('?'));
    let s = screen(&mut app, 100, 30);
    assert!(s.contains("Keys · Esc back"), "{s}");
    assert!(s.contains("sort the table by the next column"), "{s}");
    press(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none());
}

/// On a live capture `/` filters the frames the view stored, without reading a file: the
/// model is rebuilt from its store, and frames still to come are filtered as they arrive.
#[test]
fn a_filter_on_the_stored_frames_rebuilds_the_table() {
    let mut model = tcplens::pipeline::tui_model(&config("port_reuse.pcap")).unwrap();
    let all = model.shown().len();
    let f = tcplens::dfilter::DisplayFilter::compile("tcp.stream == 1").unwrap();
    model.refilter(Some(std::sync::Arc::new(f))).unwrap();
    assert_eq!(model.conns().len(), 1);
    assert_eq!(model.conns()[0].stream, 1);
    assert!(model.shown().len() < all);
    assert_eq!(model.shown().len(), model.conns()[0].frames.len());
    model.refilter(None).unwrap();
    assert_eq!(model.shown().len(), all);
    assert_eq!(model.conns().len(), 2);
}

/// The connection table is `read --summary`'s, connection by connection, on every fixture:
/// endpoints, packets and bytes each way, retransmissions, the handshake's RTT, the duration,
/// both final states, how it opened and closed.
#[test]
fn the_connection_table_matches_the_summary_on_every_fixture() {
    for path in common::fixtures() {
        let file = path.to_str().unwrap();
        let out = common::run(&["read", file, "--summary", "--json"]);
        let records: Vec<serde_json::Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|v: &serde_json::Value| v["type"] == "connection")
            .collect();
        let argv = ["tcplens", "tui", file];
        let Command::Tui(args) = Cli::try_parse_from(argv).unwrap().command else {
            unreachable!()
        };
        let model = tcplens::pipeline::tui_model(&args.into_config().unwrap()).unwrap();
        let mut rows: Vec<&tcplens::tui::ConnRow> = model.conns().iter().collect();
        rows.sort_by_key(|c| c.stream);
        assert_eq!(rows.len(), records.len(), "{file}");
        for (c, r) in rows.iter().zip(&records) {
            let at = format!("{file} stream {}", c.stream);
            assert_eq!(u64::from(c.stream), r["stream"].as_u64().unwrap(), "{at}");
            assert_eq!(c.client.to_string(), r["client"], "{at}");
            assert_eq!(c.server.to_string(), r["server"], "{at}");
            assert_eq!(c.packets[0], r["packets"]["client"], "{at}");
            assert_eq!(c.packets[1], r["packets"]["server"], "{at}");
            assert_eq!(c.bytes[0], r["bytes"]["client"], "{at}");
            assert_eq!(c.bytes[1], r["bytes"]["server"], "{at}");
            assert_eq!(c.retransmissions, r["retransmissions"], "{at}");
            assert_eq!(c.client_state.name(), r["states"]["client"], "{at}");
            assert_eq!(c.server_state.name(), r["states"]["server"], "{at}");
            let ended = c.ended.expect("every connection ends with the file");
            assert_eq!(ended.open.name(), r["open"], "{at}");
            assert_eq!(ended.close.name(), r["close"], "{at}");
            let secs = |ns: i64| ns as f64 / 1e9;
            match r["initial_rtt"].as_f64() {
                Some(rtt) => assert!((secs(c.rtt.unwrap()) - rtt).abs() < 1e-9, "{at}"),
                None => assert_eq!(c.rtt, None, "{at}"),
            }
            let duration = r["duration"].as_f64().unwrap();
            assert!((secs(c.duration) - duration).abs() < 1e-6, "{at}");
        }
    }
}
