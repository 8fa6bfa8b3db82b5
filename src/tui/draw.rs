//! The screen: the connection table above, the selected connection's packets, the selected
//! packet's detail, a status line. Only what is on screen is built: the rows of the table
//! that fit, and the packet rows, made again from the frames read back from the store.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use super::{App, Column, ConnRow, Detail, Focus, TuiModel, lock};
use crate::flow::endpoint::EndpointState;
use crate::render::color::Rule;

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

/// A cell of the table.
fn cell(app: &App<'_>, c: &ConnRow, column: Column) -> Cell<'static> {
    let colored = |state: EndpointState| {
        let style = if app.color {
            Style::default().fg(state_color(state))
        } else {
            Style::default()
        };
        Cell::from(state.name()).style(style)
    };
    let ms = |ns: i64| format!("{:.3}", ns as f64 / 1e6);
    match column {
        Column::Stream => Cell::from(c.stream.to_string()),
        Column::Client => Cell::from(c.client.to_string()),
        Column::Server => Cell::from(c.server.to_string()),
        Column::ClientState => colored(c.client_state),
        Column::ServerState => colored(c.server_state),
        Column::Packets => Cell::from(format!("{}/{}", c.packets[0], c.packets[1])),
        Column::Bytes => Cell::from(format!("{}/{}", c.bytes[0], c.bytes[1])),
        Column::Retransmissions => Cell::from(c.retransmissions.to_string()),
        Column::Rtt => Cell::from(c.rtt.map(ms).unwrap_or_default()),
        Column::Duration => Cell::from(format!("{:.3}", c.duration as f64 / 1e9)),
        Column::Last => Cell::from(match c.ended {
            Some(e) => format!("{} · {}", e.open.name(), e.close.name()),
            None => c.last.to_string(),
        }),
    }
}

/// The columns that fit in `width` cells, most telling first (the endpoints and their
/// states, then the last moment, then the counts), shown in the table's order: an 80-column
/// terminal drops counts rather than cutting addresses.
fn fitting(width: u16) -> Vec<Column> {
    const PRIORITY: [Column; 11] = [
        Column::Stream,
        Column::Client,
        Column::Server,
        Column::ClientState,
        Column::ServerState,
        Column::Last,
        Column::Packets,
        Column::Bytes,
        Column::Retransmissions,
        Column::Rtt,
        Column::Duration,
    ];
    let mut left = i32::from(width);
    let mut chosen: Vec<Column> = Vec::new();
    for c in PRIORITY {
        let need = i32::from(cells(c)) + 1;
        if need <= left {
            left -= need;
            chosen.push(c);
        }
    }
    Column::ALL
        .into_iter()
        .filter(|c| chosen.contains(c))
        .collect()
}

fn width(column: Column) -> Constraint {
    match column {
        Column::Last => Constraint::Min(cells(column)),
        c => Constraint::Length(cells(c)),
    }
}

/// A column's width in cells (an IPv4 endpoint with its port is at most 21).
fn cells(column: Column) -> u16 {
    match column {
        Column::Stream => 5,
        Column::Client | Column::Server => 21,
        Column::ClientState | Column::ServerState => 12,
        Column::Packets => 9,
        Column::Bytes => 13,
        Column::Retransmissions => 4,
        Column::Rtt => 7,
        Column::Duration => 7,
        Column::Last => 22,
    }
}

/// Wireshark's coloring rule as a row style (its colorfilters' colors).
fn rule_style(rule: Option<Rule>) -> Style {
    match rule {
        Some(r) => {
            let ([fr, fg, fb], [br, bg, bb]) = r.rgb();
            Style::default()
                .fg(Color::Rgb(fr, fg, fb))
                .bg(Color::Rgb(br, bg, bb))
        }
        None => Style::default(),
    }
}

/// The whole screen: connections above, the packets, the selected packet's detail, a status
/// line.
pub fn draw(f: &mut Frame, app: &mut App<'_>) {
    app.size = (f.area().width, f.area().height);
    let shared = app.model.clone();
    let m = lock(&shared);
    app.order(&m);
    let [top, middle, bottom, status] = Layout::vertical([
        Constraint::Percentage(40),
        Constraint::Percentage(35),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(f.area());
    app.areas = [top, middle, bottom];
    connections(f, app, &m, top);
    let selected = packets(f, app, &m, middle);
    detail(f, app, &m, selected, bottom);
    status_line(f, app, &m, status);
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

fn border(app: &App<'_>, pane: Focus) -> Style {
    if app.focus == pane {
        Style::default().add_modifier(Modifier::BOLD)
    } else if app.color {
        Style::default().fg(Color::DarkGray)
    } else {
        Style::default()
    }
}

fn connections(f: &mut Frame, app: &mut App<'_>, m: &TuiModel, area: Rect) {
    // Connections per client state, as the table's title.
    let mut per_state: BTreeMap<&str, usize> = BTreeMap::new();
    for c in m.conns() {
        *per_state.entry(c.client_state.name()).or_default() += 1;
    }
    let counts: Vec<String> = per_state.iter().map(|(s, n)| format!("{s} {n}")).collect();
    let (sorted, descending) = app.sort;
    let columns = fitting(area.width.saturating_sub(2));
    let header = Row::new(columns.iter().map(|&c| {
        let name = match (c == sorted, descending) {
            (true, false) => format!("{}▲", c.header()),
            (true, true) => format!("{}▼", c.header()),
            _ => c.header().to_string(),
        };
        Cell::from(name).style(Style::default().add_modifier(Modifier::BOLD))
    }));
    // Only the rows that fit are built: a capture of 100k connections draws as fast as one of
    // ten. The window follows the selection; the table sees a slice and a local selection.
    let (from, sel) = window(
        app.conn.selected(),
        area.height.saturating_sub(3),
        &mut app.offsets[0],
    );
    let mut state = TableState::default();
    state.select(sel);
    let rows: Vec<Row> = app
        .order
        .iter()
        .skip(from)
        .take(usize::from(area.height))
        .map(|&i| {
            let c = &m.conns()[i as usize];
            Row::new(columns.iter().map(|&col| cell(app, c, col)))
        })
        .collect();
    let table = Table::new(rows, columns.iter().map(|&c| width(c)))
        .header(header)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(
                    " Connections: {} · {} ",
                    m.conns().len(),
                    counts.join(" · ")
                ))
                .border_style(border(app, Focus::Connections)),
        )
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    f.render_stateful_widget(table, area, &mut state);
}

/// The packet list; returns the selected packet.
fn packets(f: &mut Frame, app: &mut App<'_>, m: &TuiModel, area: Rect) -> Option<u32> {
    let stream = app.selected_conn(m).map(|c| c.stream);
    let list = app.packets(m);
    let (from, sel) = window(
        app.packet.selected(),
        area.height.saturating_sub(2),
        &mut app.offsets[1],
    );
    let mut state = TableState::default();
    state.select(sel);
    let rows: Vec<Row> = list
        .iter()
        .skip(from)
        .take(usize::from(area.height.saturating_sub(2)))
        .map(|&i| match m.describe(i) {
            Ok(shown) => {
                let style = if app.color {
                    rule_style(shown.rule)
                } else {
                    Style::default()
                };
                Row::new(vec![Cell::from(shown.row)]).style(style)
            }
            Err(e) => Row::new(vec![Cell::from(format!("{e:#}"))]),
        })
        .collect();
    let title = match (app.all_packets, stream) {
        (true, _) => format!(" All packets: {} · a: this connection's ", list.len()),
        (false, Some(s)) => format!(" Packets of tcp.stream {s} · a: all "),
        (false, None) => " Packets ".to_string(),
    };
    let table = Table::new(rows, [Constraint::Percentage(100)])
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(title)
                .border_style(border(app, Focus::Packets)),
        )
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    f.render_stateful_widget(table, area, &mut state);
    app.selected_packet(m)
}

fn detail(f: &mut Frame, app: &App<'_>, m: &TuiModel, selected: Option<u32>, area: Rect) {
    let (title, text) = match selected.map(|i| m.frame(i)) {
        None => (" What it does ", String::new()),
        Some(Err(e)) => (" What it does ", format!("{e:#}")),
        Some(Ok(stored)) => match app.detail {
            Detail::Explain => (
                " What it does · d: fields ",
                m.describe_stored(&stored).note,
            ),
            Detail::Fields => (" Fields · d: bytes ", stored.with_packet(super::field_tree)),
            Detail::Bytes => (" Bytes · d: what it does ", super::hex_dump(stored.data())),
        },
    };
    let mut paragraph = Paragraph::new(text).scroll((app.detail_top, 0)).block(
        Block::default()
            .borders(Borders::ALL)
            .title(title)
            .border_style(border(app, Focus::Detail)),
    );
    if app.detail == Detail::Explain {
        paragraph = paragraph.wrap(Wrap { trim: true });
    }
    f.render_widget(paragraph, area);
}

fn status_line(f: &mut Frame, app: &App<'_>, m: &TuiModel, area: Rect) {
    if let Some(typed) = &app.typing {
        let line = Line::from(vec![
            Span::styled(
                " display filter: ",
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::raw(typed.clone()),
            Span::raw("█   Enter apply · Esc cancel"),
        ]);
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    if let Some(message) = &app.message {
        // The filter's error in place: its first line (the expression and caret follow it in
        // the message), in red.
        let first = message.lines().next().unwrap_or_default().to_string();
        let style = if app.color {
            Style::default().fg(Color::Red)
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        };
        f.render_widget(
            Paragraph::new(Line::styled(format!(" {first}   (/ to edit)"), style)),
            area,
        );
        return;
    }
    let filter = if app.filter.is_empty() {
        String::new()
    } else {
        format!("-Y {} · ", app.filter)
    };
    let filling = match &app.filling {
        Some((what, done)) if !done.load(std::sync::atomic::Ordering::Relaxed) => {
            format!(" ({what}…)")
        }
        _ => String::new(),
    };
    let extra = match app.status.as_ref().map(|s| s()) {
        Some(s) if !s.is_empty() => format!(" · {s}"),
        _ => String::new(),
    };
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let help = Line::from(vec![
        Span::raw(format!(
            " {} · {filter}{} frames{filling}{extra} · ",
            app.title,
            m.shown().len(),
        )),
        Span::styled("?", bold),
        Span::raw(" keys  "),
        Span::styled("l f g", bold),
        Span::raw(" ladder follow graph  "),
        Span::styled("/", bold),
        Span::raw(" filter  "),
        Span::styled("s", bold),
        Span::raw(" sort  "),
        Span::styled("q", bold),
        Span::raw(" quit"),
    ]);
    f.render_widget(Paragraph::new(help), area);
}
