//! `tcplens tui FILE`: an interactive view of a capture (issue 16, first part). A sink of the
//! event stream ([`TuiModel`]) gathers every connection's row — both endpoints' current
//! states from the tracker's steps, packets and bytes per side, retransmissions, the last
//! named event, then how it opened and closed when it ends — and every frame's row and
//! explanation; the screen ([`draw`]) shows the connection table, the packets of the selected
//! connection and the selected packet's explanation. No TCP logic lives here: states, events
//! and sentences are the tracker's and the explainer's.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use ratatui::Frame;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use crate::flow::Summary;
use crate::flow::endpoint::EndpointState;
use crate::render::{Sink, View};
use crate::source::Timestamp;

/// One connection as the table shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnRow {
    pub stream: u32,
    pub client: String,
    pub server: String,
    pub client_state: EndpointState,
    pub server_state: EndpointState,
    /// Frames and TCP payload bytes sent by the client, then the server.
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub retransmissions: u64,
    /// The last named moment (`handshake 2`, `close 1`, `refused`…).
    pub last: String,
    /// How it opened and closed, once the connection has ended.
    pub ended: Option<String>,
    /// Its frames, as indexes into [`TuiModel::frames`].
    pub frames: Vec<usize>,
}

/// One frame: its row as `tcplens read` prints it, and its explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameRow {
    pub stream: Option<u32>,
    pub text: String,
    pub note: String,
}

/// What the screen shows, gathered from the event stream.
#[derive(Default)]
pub struct TuiModel {
    pub conns: BTreeMap<u32, ConnRow>,
    pub frames: Vec<FrameRow>,
}

impl Sink for TuiModel {
    fn rows(&self) -> bool {
        true
    }

    fn packet(&mut self, _out: &mut String, view: &View<'_>) -> Result<()> {
        let mut text = String::new();
        if let Some(row) = view.row {
            crate::render::rows::plain_row(&mut text, row);
        }
        let index = self.frames.len();
        let p = view.packet;
        let stream = p.tcp.map(|t| t.stream);
        self.frames.push(FrameRow {
            stream,
            text,
            note: view.note.unwrap_or_default().to_string(),
        });
        let (Some((tcp, info)), Some(ip)) = (p.segment(), p.decoded().ip) else {
            return Ok(());
        };
        let Some(step) = info.step else {
            return Ok(());
        };
        let (src, dst) = crate::flow::Endpoint::of_segment(&ip, tcp);
        let c = self.conns.entry(info.stream).or_insert_with(|| {
            let (client, server) = match step.sender {
                crate::flow::endpoint::Side::Client => (src, dst),
                crate::flow::endpoint::Side::Server => (dst, src),
            };
            ConnRow {
                stream: info.stream,
                client: client.to_string(),
                server: server.to_string(),
                client_state: step.client,
                server_state: step.server,
                packets: [0; 2],
                bytes: [0; 2],
                retransmissions: 0,
                last: String::new(),
                ended: None,
                frames: Vec::new(),
            }
        });
        let side = step.sender as usize;
        c.packets[side] += 1;
        c.bytes[side] += u64::from(tcp.len);
        c.retransmissions += u64::from(info.analysis.is_retransmission());
        c.client_state = step.client;
        c.server_state = step.server;
        c.last = match step.event {
            Some(e) => e.name().to_string(),
            None => format!("{} {}", step.phase.name(), step.step),
        };
        c.frames.push(index);
        Ok(())
    }

    fn shows_connections(&self) -> bool {
        true
    }

    fn connection(
        &mut self,
        _out: &mut String,
        s: &Summary,
        _first: Option<Timestamp>,
    ) -> Result<()> {
        if let Some(c) = self.conns.get_mut(&s.stream) {
            c.client_state = s.life.client;
            c.server_state = s.life.server;
            c.ended = Some(format!("{} · {}", s.life.open.name(), s.life.close.name()));
        }
        Ok(())
    }
}

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

/// Where the view gets what it does not hold: the other views of a connection, and the
/// model again under a new display filter (the pipeline reads the file once more).
pub trait Source {
    fn pane(&self, pane: Pane, stream: u32, width: u16, height: u16) -> Result<String>;
    fn filter(&self, expr: &str) -> Result<TuiModel>;
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
    fn rows(&self) -> bool {
        true
    }

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
        s: &Summary,
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
    pub title: String,
    pub focus: Focus,
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
            source: None,
            overlay: None,
            typing: None,
            filter: String::new(),
            message: None,
            draft: None,
            size: (80, 24),
            offsets: [0; 2],
        }
    }

    /// Opens another view of the selected connection.
    fn open(&mut self, pane: Pane) {
        let stream = self.selected_conn(&lock(&self.model)).map(|c| c.stream);
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
        match source.filter(&expr) {
            Ok(model) => {
                *lock(&self.model) = model;
                self.filter = expr;
                self.message = None;
                self.conn.select(Some(0));
                self.packet.select(Some(0));
            }
            Err(e) => {
                self.message = Some(format!("{e:#}"));
                self.draft = Some(expr);
            }
        }
    }

    fn selected_conn<'m>(&self, m: &'m TuiModel) -> Option<&'m ConnRow> {
        m.conns.values().nth(self.conn.selected()?)
    }

    /// The frames listed: the selected connection's.
    fn packets<'m>(&self, m: &'m TuiModel) -> &'m [usize] {
        self.selected_conn(m).map_or(&[], |c| c.frames.as_slice())
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
                KeyCode::Char('g') | KeyCode::Home => o.top = 0,
                _ => {}
            }
            return;
        }
        match k.code {
            KeyCode::Char('l') if self.focus == Focus::Connections => {
                return self.open(Pane::Ladder);
            }
            KeyCode::Char('f') => return self.open(Pane::Follow),
            KeyCode::Char('r') => return self.open(Pane::Graph),
            KeyCode::Char('/') => {
                self.typing = Some(self.draft.take().unwrap_or_else(|| self.filter.clone()));
                return;
            }
            _ => {}
        }
        let len = {
            let m = lock(&self.model);
            match self.focus {
                Focus::Connections => m.conns.len(),
                Focus::Packets => self.packets(&m).len(),
            }
        };
        let state = match self.focus {
            Focus::Connections => &mut self.conn,
            Focus::Packets => &mut self.packet,
        };
        let at = state.selected().unwrap_or(0);
        let last = len.saturating_sub(1);
        let to = match k.code {
            KeyCode::Char('q') | KeyCode::Esc => {
                self.quit = true;
                return;
            }
            KeyCode::Tab | KeyCode::Enter | KeyCode::Right => {
                self.focus = match self.focus {
                    Focus::Connections => Focus::Packets,
                    Focus::Packets if k.code == KeyCode::Tab => Focus::Connections,
                    Focus::Packets => Focus::Packets,
                };
                return;
            }
            KeyCode::Char('h') | KeyCode::Left | KeyCode::BackTab => {
                self.focus = Focus::Connections;
                return;
            }
            KeyCode::Char('j') | KeyCode::Down => (at + 1).min(last),
            KeyCode::Char('k') | KeyCode::Up => at.saturating_sub(1),
            KeyCode::PageDown => (at + 20).min(last),
            KeyCode::PageUp => at.saturating_sub(20),
            KeyCode::Char('g') | KeyCode::Home => 0,
            KeyCode::Char('G') | KeyCode::End => last,
            _ => return,
        };
        state.select(Some(to));
        if self.focus == Focus::Connections {
            self.packet.select(Some(0));
        }
    }
}

/// The first row shown and the selection within the shown rows, for `selected` in a pane
/// `height` rows high that showed rows from `offset` on: the window moves only as far as it
/// must to keep the selection on screen.
fn window(selected: Option<usize>, height: u16, offset: &mut usize) -> (usize, Option<usize>) {
    let height = usize::from(height.max(1));
    let Some(s) = selected else {
        return (*offset, None);
    };
    if s < *offset {
        *offset = s;
    } else if s >= *offset + height {
        *offset = s + 1 - height;
    }
    (*offset, Some(s - *offset))
}

fn state_color(s: EndpointState) -> Color {
    match s {
        EndpointState::Established => Color::Green,
        EndpointState::Closed => Color::DarkGray,
        EndpointState::TimeWait => Color::Blue,
        EndpointState::SynSent | EndpointState::SynRcvd | EndpointState::Listen => Color::Yellow,
        _ => Color::Magenta,
    }
}

/// The whole screen: connections above, the selected connection's packets, the selected
/// packet's explanation, a status line.
pub fn draw(f: &mut Frame, app: &mut App<'_>) {
    app.size = (f.area().width, f.area().height);
    let shared = app.model.clone();
    let m = lock(&shared);
    let [top, middle, bottom, status] = Layout::vertical([
        Constraint::Percentage(40),
        Constraint::Percentage(35),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let focused = |p: Focus| {
        if app.focus == p {
            Style::default().add_modifier(Modifier::BOLD)
        } else {
            Style::default().fg(Color::DarkGray)
        }
    };
    // Connections per state, as the table's title.
    let mut per_state: BTreeMap<&str, usize> = BTreeMap::new();
    for c in m.conns.values() {
        *per_state.entry(c.client_state.name()).or_default() += 1;
    }
    let counts: Vec<String> = per_state.iter().map(|(s, n)| format!("{s} {n}")).collect();
    let header = Row::new(
        [
            "#",
            "client",
            "server",
            "client state",
            "server state",
            "pkts c/s",
            "bytes c/s",
            "retr",
            "last",
        ]
        .map(|h| Cell::from(h).style(Style::default().add_modifier(Modifier::BOLD))),
    );
    // Only the rows that fit are built: a capture of 100k connections draws as fast as one of
    // ten. The window follows the selection; the table sees a slice and a local selection.
    let (conn_from, conn_sel) = window(
        app.conn.selected(),
        top.height.saturating_sub(3),
        &mut app.offsets[0],
    );
    let mut conn_state = TableState::default();
    conn_state.select(conn_sel);
    let rows = m
        .conns
        .values()
        .skip(conn_from)
        .take(usize::from(top.height))
        .map(|c| {
            Row::new(vec![
                Cell::from(c.stream.to_string()),
                Cell::from(c.client.clone()),
                Cell::from(c.server.clone()),
                Cell::from(c.client_state.name())
                    .style(Style::default().fg(state_color(c.client_state))),
                Cell::from(c.server_state.name())
                    .style(Style::default().fg(state_color(c.server_state))),
                Cell::from(format!("{}/{}", c.packets[0], c.packets[1])),
                Cell::from(format!("{}/{}", c.bytes[0], c.bytes[1])),
                Cell::from(c.retransmissions.to_string()),
                Cell::from(c.ended.clone().unwrap_or_else(|| c.last.clone())),
            ])
        });
    let table = Table::new(
        rows,
        [
            Constraint::Length(5),
            Constraint::Length(22),
            Constraint::Length(22),
            Constraint::Length(12),
            Constraint::Length(12),
            Constraint::Length(9),
            Constraint::Length(13),
            Constraint::Length(5),
            Constraint::Min(10),
        ],
    )
    .header(header)
    .block(
        Block::default()
            .borders(Borders::ALL)
            .title(format!(
                " Connections: {} · {} ",
                m.conns.len(),
                counts.join(" · ")
            ))
            .border_style(focused(Focus::Connections)),
    )
    .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    f.render_stateful_widget(table, top, &mut conn_state);

    let stream = app.selected_conn(&m).map(|c| c.stream);
    let (packet_from, packet_sel) = window(
        app.packet.selected(),
        middle.height.saturating_sub(2),
        &mut app.offsets[1],
    );
    let mut packet_state = TableState::default();
    packet_state.select(packet_sel);
    let packets: Vec<Row> = app
        .packets(&m)
        .iter()
        .skip(packet_from)
        .take(usize::from(middle.height))
        .map(|&i| Row::new(vec![Cell::from(m.frames[i].text.clone())]))
        .collect();
    let list = Table::new(packets, [Constraint::Percentage(100)])
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(match stream {
                    Some(s) => format!(" Packets of tcp.stream {s} "),
                    None => " Packets ".to_string(),
                })
                .border_style(focused(Focus::Packets)),
        )
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    f.render_stateful_widget(list, middle, &mut packet_state);

    let note = app
        .packet
        .selected()
        .and_then(|i| app.packets(&m).get(i))
        .map(|&i| m.frames[i].note.clone())
        .unwrap_or_default();
    let detail = Paragraph::new(note).wrap(Wrap { trim: true }).block(
        Block::default()
            .borders(Borders::ALL)
            .title(" What it does "),
    );
    f.render_widget(detail, bottom);

    if let Some(typed) = &app.typing {
        let line = Line::from(vec![
            Span::styled(
                " display filter: ",
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::raw(typed.clone()),
            Span::raw("█   Enter apply · Esc cancel"),
        ]);
        f.render_widget(Paragraph::new(line), status);
    } else if let Some(message) = &app.message {
        // The filter's error in place: its first line (the expression and caret follow it in
        // the message), in red.
        let first = message.lines().next().unwrap_or_default().to_string();
        f.render_widget(
            Paragraph::new(Line::styled(
                format!(" {first}   (/ to edit)"),
                Style::default().fg(Color::Red),
            )),
            status,
        );
    } else {
        draw_help(f, app, m.frames.len(), status);
    }
    if let Some(o) = &app.overlay {
        let area = f.area();
        f.render_widget(ratatui::widgets::Clear, area);
        f.render_widget(
            Paragraph::new(o.text.clone()).scroll((o.top, 0)).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(o.title.clone()),
            ),
            area,
        );
    }
}

fn draw_help(f: &mut Frame, app: &App<'_>, frames: usize, status: ratatui::layout::Rect) {
    let filter = if app.filter.is_empty() {
        String::new()
    } else {
        format!("-Y {} · ", app.filter)
    };
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let help = Line::from(vec![
        Span::raw(format!(
            " {} · {filter}{} frames{} · ",
            app.title,
            frames,
            match &app.filling {
                Some((what, done)) if !done.load(std::sync::atomic::Ordering::Relaxed) => {
                    format!(" ({what}…)")
                }
                _ => String::new(),
            }
        )),
        Span::styled("j/k", bold),
        Span::raw(" move  "),
        Span::styled("Tab", bold),
        Span::raw(" pane  "),
        Span::styled("l f r", bold),
        Span::raw(" ladder follow graph  "),
        Span::styled("/", bold),
        Span::raw(" filter  "),
        Span::styled("q", bold),
        Span::raw(" quit"),
    ]);
    f.render_widget(Paragraph::new(help), status);
}

/// Runs the screen until the user quits (q, Esc, Ctrl-C) or SIGTERM/SIGHUP arrives; the
/// terminal is restored on every way out, a panic included (ratatui's init hooks it).
pub fn run(mut app: App<'_>) -> Result<()> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    let mut terminal = ratatui::init();
    let result = (|| -> Result<()> {
        while !app.quit && !stop.load(std::sync::atomic::Ordering::Relaxed) {
            terminal.draw(|f| draw(f, &mut app))?;
            if event::poll(Duration::from_millis(100))?
                && let Event::Key(k) = event::read()?
            {
                app.key(k);
            }
        }
        Ok(())
    })();
    ratatui::restore();
    let _ = std::io::stdout().flush();
    result
}
