//! `tcplens tui FILE` and `tcplens capture --tui`: an interactive view of a capture
//! (issue 16). A sink of the event stream ([`TuiModel`]) gathers every connection's row and
//! stores every frame in a temporary file; the screen ([`draw::draw`]) shows the connection
//! table (sortable by any column), the packets of the selected connection (or of all) with
//! Wireshark's colors, and for the selected packet its explanation, its field tree (the
//! display filter's names) or its bytes. `l`, `f` and `g` show the connection through the
//! other views' renderers (ladder, follow, graph); `/` applies a display filter. No TCP logic
//! lives here: states, events and sentences are the tracker's and the explainer's.

pub mod draw;
pub mod model;

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::Result;
use ratatui::crossterm::event::{
    self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent,
    MouseEventKind,
};
use ratatui::layout::Rect;
use ratatui::widgets::TableState;

use crate::fields::Packet;
use crate::render::{Sink, View};
use crate::source::Timestamp;
pub use model::{ConnRow, Ended, Moment, TuiModel};

/// Another view of the selected connection, shown over the screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    /// `l`: its ladder (`read --ladder --stream N`).
    Ladder,
    /// `f`: what was said (`follow --stream N`).
    Follow,
    /// `g`: its tcptrace chart (`graph --stream N`).
    Graph,
}

impl Pane {
    fn title(self) -> &'static str {
        match self {
            Pane::Ladder => "Ladder",
            Pane::Follow => "Follow TCP stream",
            Pane::Graph => "tcptrace graph",
        }
    }
}

/// Where the view gets what it does not hold: the other views of a connection (the
/// pipeline reads the capture file again through their sinks), and the model under a new
/// display filter.
pub trait Source {
    fn pane(&self, pane: Pane, stream: u32, width: u16, height: u16) -> Result<String>;
    /// Applies `expr` (empty: no filter) to `model`, or says why it cannot.
    fn filter(&self, expr: &str, model: &SharedModel) -> Result<()>;
}

/// A view shown over the screen, scrolled to `top`.
pub struct Overlay {
    pub title: String,
    pub text: String,
    pub top: u16,
}

/// Which pane the keys move in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Connections,
    Packets,
    Detail,
}

/// What the bottom pane shows of the selected packet (`d` turns to the next).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// The explainer's sentence.
    Explain,
    /// Every field the packet has, by protocol, under the display filter's names.
    Fields,
    /// Its bytes in hex and ASCII, as `tshark -x`.
    Bytes,
}

/// A column of the connection table, to sort by (`s` the next, `S` the other way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Stream,
    Client,
    Server,
    ClientState,
    ServerState,
    Packets,
    Bytes,
    Retransmissions,
    Rtt,
    Duration,
    Last,
}

impl Column {
    pub const ALL: [Column; 11] = [
        Column::Stream,
        Column::Client,
        Column::Server,
        Column::ClientState,
        Column::ServerState,
        Column::Packets,
        Column::Bytes,
        Column::Retransmissions,
        Column::Rtt,
        Column::Duration,
        Column::Last,
    ];

    pub fn header(self) -> &'static str {
        match self {
            Column::Stream => "#",
            Column::Client => "client",
            Column::Server => "server",
            Column::ClientState => "client state",
            Column::ServerState => "server state",
            Column::Packets => "pkts c/s",
            Column::Bytes => "bytes c/s",
            Column::Retransmissions => "retr",
            Column::Rtt => "rtt ms",
            Column::Duration => "dur s",
            Column::Last => "last",
        }
    }

    fn next(self) -> Column {
        let i = Column::ALL.iter().position(|&c| c == self).unwrap_or(0);
        Column::ALL[(i + 1) % Column::ALL.len()]
    }

    /// What a row is sorted by in this column.
    fn key(self, c: &ConnRow) -> SortKey {
        match self {
            Column::Stream => SortKey::Number(0),
            Column::Client => SortKey::Endpoint(c.client),
            Column::Server => SortKey::Endpoint(c.server),
            Column::ClientState => SortKey::Name(c.client_state.name(), 0),
            Column::ServerState => SortKey::Name(c.server_state.name(), 0),
            Column::Packets => SortKey::Number(c.packets[0] + c.packets[1]),
            Column::Bytes => SortKey::Number(c.bytes[0] + c.bytes[1]),
            Column::Retransmissions => SortKey::Number(c.retransmissions),
            Column::Rtt => SortKey::Time(c.rtt),
            Column::Duration => SortKey::Time(Some(c.duration)),
            Column::Last => {
                let (name, n) = c.last.key();
                SortKey::Name(name, n)
            }
        }
    }
}

/// A row's value in the sorted column. The keys are gathered into one array before sorting:
/// comparing through the rows themselves (100k of them, scattered in memory) cost 140 ms a
/// sort in cache misses; the array sorts in a few.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Number(u64),
    Time(Option<i64>),
    Name(&'static str, u32),
    Endpoint(crate::flow::Endpoint),
}

/// The model as the view shares it with the thread filling it (a file being read, a live
/// capture): the screen locks it to draw.
pub type SharedModel = std::sync::Arc<std::sync::Mutex<TuiModel>>;

/// A sink that fills a shared model, until the user quits.
pub struct Filling {
    model: SharedModel,
    quit: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// The user quit while the model was being filled: the run stops here.
#[derive(Debug)]
pub struct Quit;

impl std::fmt::Display for Quit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the view was closed")
    }
}

impl std::error::Error for Quit {}

impl Filling {
    pub fn until(
        model: SharedModel,
        quit: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Filling {
        Filling { model, quit }
    }
}

impl Sink for Filling {
    fn packet(&mut self, out: &mut String, view: &View<'_>) -> Result<()> {
        if self.quit.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Quit.into());
        }
        lock(&self.model).packet(out, view)
    }

    fn shows_connections(&self) -> bool {
        true
    }

    fn connection(
        &mut self,
        out: &mut String,
        s: &crate::flow::Summary,
        first: Option<Timestamp>,
    ) -> Result<()> {
        lock(&self.model).connection(out, s, first)
    }
}

/// The model, whatever happened to a thread that held it before.
pub fn lock(model: &SharedModel) -> std::sync::MutexGuard<'_, TuiModel> {
    model.lock().unwrap_or_else(|e| e.into_inner())
}

/// The screen's state: the model and what is selected.
pub struct App<'a> {
    pub model: SharedModel,
    /// Set while the model is still being filled: "reading" or "capturing".
    pub filling: Option<(&'static str, std::sync::Arc<std::sync::atomic::AtomicBool>)>,
    /// More for the status line: a live capture's counters.
    pub status: Option<Box<dyn Fn() -> String + 'a>>,
    pub title: String,
    pub focus: Focus,
    /// Positions in the sorted table and in the packet list.
    pub conn: TableState,
    pub packet: TableState,
    pub quit: bool,
    pub source: Option<Box<dyn Source + 'a>>,
    pub overlay: Option<Overlay>,
    /// The display filter being typed after `/`, and the one in force.
    pub typing: Option<String>,
    pub filter: String,
    /// A message for the status line: the filter's error, with the expression.
    pub message: Option<String>,
    /// The expression that failed, which `/` offers again for editing.
    draft: Option<String>,
    /// The screen's size, for the panes' width.
    pub size: (u16, u16),
    /// The first row shown of the connection table and of the packet list.
    offsets: [usize; 2],
    /// The column the table is sorted by, descending when true.
    pub sort: (Column, bool),
    /// The table's order (indexes into the model's rows) and what it was made for.
    order: Vec<u32>,
    ordered: Option<(u64, usize, Column, bool)>,
    /// Every shown packet rather than the selected connection's (`a`).
    pub all_packets: bool,
    pub detail: Detail,
    detail_top: u16,
    /// Where the connection table, the packet list and the detail pane were drawn: a mouse
    /// click selects in them.
    areas: [Rect; 3],
    /// Colors, unless NO_COLOR is set.
    pub color: bool,
}

impl<'a> App<'a> {
    pub fn new(model: TuiModel, title: String) -> App<'a> {
        App::shared(std::sync::Arc::new(std::sync::Mutex::new(model)), title)
    }

    /// The view of a model another thread may still be filling.
    pub fn shared(model: SharedModel, title: String) -> App<'a> {
        let mut conn = TableState::default();
        conn.select(Some(0));
        let mut packet = TableState::default();
        packet.select(Some(0));
        App {
            model,
            title,
            focus: Focus::Connections,
            conn,
            packet,
            quit: false,
            filling: None,
            status: None,
            source: None,
            overlay: None,
            typing: None,
            filter: String::new(),
            message: None,
            draft: None,
            size: (80, 24),
            offsets: [0; 2],
            sort: (Column::Stream, false),
            order: Vec::new(),
            ordered: None,
            all_packets: false,
            detail: Detail::Explain,
            detail_top: 0,
            areas: [Rect::default(); 3],
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    /// The table's order for the model as it is now: sorted again only when the model or
    /// the sort column changed since.
    fn order(&mut self, m: &TuiModel) {
        let key = (m.changes, m.conns().len(), self.sort.0, self.sort.1);
        if self.ordered == Some(key) {
            return;
        }
        let rows = m.conns();
        let (column, descending) = self.sort;
        // Ties are broken by stream, so the order is total and an unstable sort enough.
        let mut keyed: Vec<(SortKey, u32, u32)> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (column.key(r), r.stream, i as u32))
            .collect();
        keyed.sort_unstable();
        if descending {
            keyed.reverse();
        }
        self.order.clear();
        self.order.extend(keyed.iter().map(|k| k.2));
        self.ordered = Some(key);
    }

    fn selected_conn<'m>(&self, m: &'m TuiModel) -> Option<&'m ConnRow> {
        let at = *self.order.get(self.conn.selected()?)?;
        m.conns().get(at as usize)
    }

    /// The frames listed: the selected connection's, or every shown frame.
    fn packets<'m>(&self, m: &'m TuiModel) -> &'m [u32] {
        if self.all_packets {
            return m.shown();
        }
        self.selected_conn(m).map_or(&[], |c| c.frames.as_slice())
    }

    /// The selected packet, as an index for the model.
    fn selected_packet(&self, m: &TuiModel) -> Option<u32> {
        self.packets(m).get(self.packet.selected()?).copied()
    }

    /// Opens another view of the selected connection.
    fn open(&mut self, pane: Pane) {
        let stream = {
            let shared = self.model.clone();
            let m = lock(&shared);
            self.order(&m);
            self.selected_conn(&m).map(|c| c.stream)
        };
        let (Some(source), Some(stream)) = (&self.source, stream) else {
            return;
        };
        let (w, h) = (self.size.0.saturating_sub(2), self.size.1.saturating_sub(3));
        self.overlay = Some(match source.pane(pane, stream, w, h) {
            Ok(text) => Overlay {
                title: format!(" {} · tcp.stream {stream} · Esc back ", pane.title()),
                text,
                top: 0,
            },
            Err(e) => Overlay {
                title: format!(" {} · Esc back ", pane.title()),
                text: format!("{e:#}"),
                top: 0,
            },
        });
    }

    /// Applies the typed display filter: the model again, or the error on the status line.
    fn apply_filter(&mut self, expr: String) {
        let Some(source) = &self.source else {
            return;
        };
        match source.filter(&expr, &self.model) {
            Ok(()) => {
                self.filter = expr;
                self.message = None;
                self.ordered = None;
                self.conn.select(Some(0));
                self.packet.select(Some(0));
            }
            Err(e) => {
                self.message = Some(format!("{e:#}"));
                self.draft = Some(expr);
            }
        }
    }

    /// The key map, as `?` shows it (docs/tui.md has the same table).
    pub const KEYS: &'static [(&'static str, &'static str)] = &[
        ("j k  ↓ ↑", "next / previous connection or packet"),
        ("PgDn PgUp", "20 at a time"),
        ("Home  End G", "first / last"),
        (
            "Tab  S-Tab",
            "next / previous pane: connections, packets, detail",
        ),
        ("Enter →", "from a connection to its packets"),
        ("h ←", "back to the connections"),
        ("s  S", "sort the table by the next column / the other way"),
        ("a", "packets of every connection / of the selected one"),
        ("d", "detail: explanation, field tree, bytes"),
        ("l", "the connection's ladder (read --ladder)"),
        ("f", "what was said (follow)"),
        ("g", "its tcptrace graph (graph)"),
        ("/", "display filter; Enter applies, Esc cancels"),
        ("mouse", "click selects, the wheel scrolls"),
        ("?", "this help"),
        ("Esc", "closes a pane"),
        ("q Esc Ctrl-C", "quit"),
    ];

    fn help(&mut self) {
        let mut text = String::new();
        for (keys, does) in App::KEYS {
            text.push_str(&format!(" {keys:<14} {does}\n"));
        }
        self.overlay = Some(Overlay {
            title: " Keys · Esc back ".into(),
            text,
            top: 0,
        });
    }

    /// vi and arrow keys, Tab between panes, q / Esc / Ctrl-C to quit.
    pub fn key(&mut self, k: KeyEvent) {
        if k.kind == KeyEventKind::Release {
            return;
        }
        if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return;
        }
        if let Some(typed) = &mut self.typing {
            match k.code {
                KeyCode::Enter => {
                    let expr = std::mem::take(typed);
                    self.typing = None;
                    self.apply_filter(expr);
                }
                KeyCode::Esc => self.typing = None,
                KeyCode::Backspace => {
                    typed.pop();
                }
                KeyCode::Char(c) => typed.push(c),
                _ => {}
            }
            return;
        }
        if let Some(o) = &mut self.overlay {
            match k.code {
                KeyCode::Esc | KeyCode::Char('q') => self.overlay = None,
                KeyCode::Char('j') | KeyCode::Down => o.top = o.top.saturating_add(1),
                KeyCode::Char('k') | KeyCode::Up => o.top = o.top.saturating_sub(1),
                KeyCode::PageDown => o.top = o.top.saturating_add(20),
                KeyCode::PageUp => o.top = o.top.saturating_sub(20),
                KeyCode::Home => o.top = 0,
                _ => {}
            }
            return;
        }
        match k.code {
            KeyCode::Char('l') if self.focus == Focus::Connections => {
                return self.open(Pane::Ladder);
            }
            KeyCode::Char('f') => return self.open(Pane::Follow),
            KeyCode::Char('g') => return self.open(Pane::Graph),
            KeyCode::Char('?') => return self.help(),
            KeyCode::Char('/') => {
                self.typing = Some(self.draft.take().unwrap_or_else(|| self.filter.clone()));
                return;
            }
            KeyCode::Char('s') => {
                self.sort = (self.sort.0.next(), self.sort.1);
                return self.conn.select(Some(0));
            }
            KeyCode::Char('S') => {
                self.sort.1 = !self.sort.1;
                return self.conn.select(Some(0));
            }
            KeyCode::Char('a') => {
                self.all_packets = !self.all_packets;
                return self.packet.select(Some(0));
            }
            KeyCode::Char('d') => {
                self.detail = match self.detail {
                    Detail::Explain => Detail::Fields,
                    Detail::Fields => Detail::Bytes,
                    Detail::Bytes => Detail::Explain,
                };
                self.detail_top = 0;
                return;
            }
            KeyCode::Char('q') | KeyCode::Esc => {
                self.quit = true;
                return;
            }
            KeyCode::Tab => {
                self.focus = match self.focus {
                    Focus::Connections => Focus::Packets,
                    Focus::Packets => Focus::Detail,
                    Focus::Detail => Focus::Connections,
                };
                return;
            }
            KeyCode::BackTab => {
                self.focus = match self.focus {
                    Focus::Connections => Focus::Detail,
                    Focus::Packets => Focus::Connections,
                    Focus::Detail => Focus::Packets,
                };
                return;
            }
            KeyCode::Enter | KeyCode::Right if self.focus == Focus::Connections => {
                self.focus = Focus::Packets;
                return;
            }
            KeyCode::Char('h') | KeyCode::Left => {
                self.focus = Focus::Connections;
                return;
            }
            _ => {}
        }
        let step: isize = match k.code {
            KeyCode::Char('j') | KeyCode::Down => 1,
            KeyCode::Char('k') | KeyCode::Up => -1,
            KeyCode::PageDown => 20,
            KeyCode::PageUp => -20,
            KeyCode::Home => isize::MIN,
            KeyCode::Char('G') | KeyCode::End => isize::MAX,
            _ => return,
        };
        self.step(self.focus, step);
    }

    /// Moves the selection of `pane` by `step` rows (isize::MIN / MAX: to the first / last).
    fn step(&mut self, pane: Focus, step: isize) {
        if pane == Focus::Detail {
            self.detail_top = match step {
                isize::MIN => 0,
                s => (i64::from(self.detail_top) + s.clamp(-1000, 1000) as i64)
                    .clamp(0, i64::from(u16::MAX)) as u16,
            };
            return;
        }
        let len = {
            let shared = self.model.clone();
            let m = lock(&shared);
            self.order(&m);
            match pane {
                Focus::Connections => m.conns().len(),
                _ => self.packets(&m).len(),
            }
        };
        let state = match pane {
            Focus::Connections => &mut self.conn,
            _ => &mut self.packet,
        };
        let at = state.selected().unwrap_or(0);
        let last = len.saturating_sub(1);
        let to = match step {
            isize::MIN => 0,
            isize::MAX => last,
            s if s < 0 => at.saturating_sub(s.unsigned_abs()),
            s => (at + s as usize).min(last),
        };
        state.select(Some(to));
        if pane == Focus::Connections && !self.all_packets {
            self.packet.select(Some(0));
        }
        if pane != Focus::Connections || !self.all_packets {
            self.detail_top = 0;
        }
    }

    /// A click selects the row under it (and focuses its pane); the wheel scrolls the pane
    /// under the pointer.
    pub fn mouse(&mut self, e: MouseEvent) {
        if self.overlay.is_some() || self.typing.is_some() {
            if let Some(o) = &mut self.overlay {
                match e.kind {
                    MouseEventKind::ScrollDown => o.top = o.top.saturating_add(3),
                    MouseEventKind::ScrollUp => o.top = o.top.saturating_sub(3),
                    _ => {}
                }
            }
            return;
        }
        let at = ratatui::layout::Position::new(e.column, e.row);
        let Some(pane) = self.areas.iter().position(|a| a.contains(at)) else {
            return;
        };
        let focus = [Focus::Connections, Focus::Packets, Focus::Detail][pane];
        match e.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = focus;
                // Rows start under the border (and the table's header).
                let first = self.areas[pane].y + if pane == 0 { 2 } else { 1 };
                if pane < 2 && e.row >= first {
                    let row = self.offsets[pane] + usize::from(e.row - first);
                    let current = if pane == 0 {
                        self.conn.selected()
                    } else {
                        self.packet.selected()
                    }
                    .unwrap_or(0);
                    self.step(focus, row as isize - current as isize);
                }
            }
            MouseEventKind::ScrollDown => self.step(focus, 3),
            MouseEventKind::ScrollUp => self.step(focus, -3),
            _ => {}
        }
    }
}

/// Every field `packet` has, by protocol (Wireshark's layer order), each line `name: value`
/// under the display filter's names: the one field table the filter, `-T fields` and JSON
/// read.
pub fn field_tree(packet: &Packet<'_>) -> String {
    use crate::fields::{FIELDS, FieldSource, Kind};
    const LAYERS: [&str; 14] = [
        "frame", "eth", "sll", "vlan", "arp", "ip", "ipv6", "icmp", "icmpv6", "udp", "tcp",
        "tcplens", "", "",
    ];
    let mut groups: Vec<(usize, &str, String)> = Vec::new();
    let mut values = Vec::new();
    let mut text = String::new();
    for (i, f) in FIELDS.iter().enumerate() {
        if f.needs == crate::fields::Needs::Connection {
            continue;
        }
        values.clear();
        packet.values(crate::fields::FieldId(i as u16), &mut values);
        if values.is_empty() {
            continue;
        }
        let proto = f.name.split('.').next().unwrap_or(f.name);
        if groups.last().is_none_or(|g| g.1 != proto) {
            let rank = LAYERS
                .iter()
                .position(|&l| l == proto)
                .unwrap_or(LAYERS.len());
            groups.push((rank, proto, String::new()));
        }
        let lines = &mut groups.last_mut().expect("pushed above").2;
        if f.kind == Kind::Protocol {
            lines.insert_str(0, &format!("▾ {} — {}\n", f.name, f.desc));
            continue;
        }
        text.clear();
        for (n, v) in values.iter().enumerate() {
            if n > 0 {
                text.push(',');
            }
            crate::fields::print::value(&mut text, f.kind, v);
        }
        lines.push_str(&format!("    {}: {}\n", f.name, text));
    }
    groups.sort_by_key(|g| g.0);
    groups.into_iter().map(|g| g.2).collect()
}

/// The frame's bytes as `tshark -x` shows them: offset, up to 16 bytes in hex, the same as
/// ASCII (a dot for what is not printable).
pub fn hex_dump(data: &[u8]) -> String {
    let mut out = String::new();
    for (n, chunk) in data.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!(
            "{:04x}  {:<47}   {ascii}\n",
            n * 16,
            hex.join(" ")
        ));
    }
    out
}

/// Runs the screen until the user quits (q, Esc, Ctrl-C) or SIGTERM/SIGHUP arrives; the
/// terminal is restored on every way out, a panic included (ratatui's init hooks it; the
/// mouse is given back first).
pub fn run(mut app: App<'_>) -> Result<()> {
    use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
    use ratatui::crossterm::execute;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    // SIGHUP (a closed ssh session, a killed tmux): the terminal is gone, and crossterm may
    // already be reading it at end of file in a loop that neither returns nor sees `stop`
    // (it retries EOF and even EBADF). When the view has not ended 300 ms after the hang-up,
    // a watchdog ends the process as an unhandled SIGHUP would (status 129). A capture file
    // holds whole records up to its last flush (once per libpcap dispatch).
    let hup = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hup.clone())?;
    let ended = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let (hup, ended) = (hup.clone(), ended.clone());
        std::thread::Builder::new()
            .name("tcplens-hangup".into())
            .spawn(move || {
                use std::sync::atomic::Ordering::Relaxed;
                while !ended.load(Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    if hup.load(Relaxed) {
                        std::thread::sleep(Duration::from_millis(300));
                        if !ended.load(Relaxed) {
                            std::process::exit(129);
                        }
                        return;
                    }
                }
            })?;
    }
    let mut terminal = ratatui::init();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        hook(info);
    }));
    let _ = execute!(std::io::stdout(), EnableMouseCapture);
    let result = (|| -> Result<()> {
        // At most ten frames a second while the model fills; a key redraws at once.
        while !app.quit && !stop.load(std::sync::atomic::Ordering::Relaxed) {
            terminal.draw(|f| draw::draw(f, &mut app))?;
            if event::poll(Duration::from_millis(100))? {
                // A hung-up terminal (a closed ssh session, a killed tmux) stays readable at
                // end of file, and crossterm's read would spin on it for ever: SIGHUP has set
                // `stop` by then, and a terminal that is no longer one ends the view too.
                if stop.load(std::sync::atomic::Ordering::Relaxed)
                    || !std::io::stdin().is_terminal()
                {
                    break;
                }
                match event::read()? {
                    Event::Key(k) => app.key(k),
                    Event::Mouse(m) => app.mouse(m),
                    _ => {}
                }
            }
        }
        Ok(())
    })();
    ended.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
    let _ = std::io::stdout().flush();
    // After a hang-up nobody reads what went wrong on the terminal.
    if hup.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    result
}
