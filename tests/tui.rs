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
