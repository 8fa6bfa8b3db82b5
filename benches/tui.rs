//! The interactive view's latency (issue 16: any key within 50 ms with 100k connections and
//! 1M packets): the file is read into the model on a thread, as `tcplens tui` reads it, while
//! the screen is drawn on ratatui's test backend; then each key is pressed 30 times, each
//! press followed by a redraw, and the slowest and median times are printed.
//!
//! `cargo bench --bench tui -- FILE` (default target/bench/many.pcap, recorded by
//! `scripts/bench record --captures many`); `scripts/bench run --tui` runs it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tcplens::cli::{Cli, Command};
use tcplens::tui::draw::draw;
use tcplens::tui::{App, Filling, TuiModel};

fn main() {
    let file = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "target/bench/many.pcap".into());
    if !std::path::Path::new(&file).exists() {
        println!("tui bench: {file} is missing (scripts/bench record --captures many)");
        return;
    }
    let Command::Tui(args) = Cli::parse_from(["tcplens", "tui", &file]).command else {
        unreachable!()
    };
    let cfg = args.into_config().expect("config");
    let model = Arc::new(Mutex::new(TuiModel::new(&cfg.output).expect("model")));
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let mut app = App::shared(model.clone(), file.clone());
    let done = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let (mut first, mut draws, mut slowest_draw) = (None, 0u32, Duration::ZERO);
    std::thread::scope(|s| {
        let filler = s.spawn(|| {
            let mut sink = Filling::until(model.clone(), Arc::new(AtomicBool::new(false)));
            tcplens::pipeline::fill_from_file(&cfg, &mut sink, Default::default()).expect("fill");
            done.store(true, Ordering::Relaxed);
        });
        // The screen while the file is read: ten frames a second, as `run` draws them.
        while !done.load(Ordering::Relaxed) {
            let t = Instant::now();
            terminal.draw(|f| draw(f, &mut app)).unwrap();
            slowest_draw = slowest_draw.max(t.elapsed());
            draws += 1;
            if first.is_none() && !tcplens::tui::lock(&model).conns().is_empty() {
                first = Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        filler.join().unwrap();
    });
    let filled = start.elapsed();
    let (conns, frames) = {
        let m = tcplens::tui::lock(&model);
        (m.conns().len(), m.shown().len())
    };
    println!(
        "{file}: {conns} connections, {frames} frames; first connection on screen after {:.3} s, \
         model filled in {:.2} s ({draws} draws meanwhile, slowest {:.1} ms)",
        first.unwrap_or_default().as_secs_f64(),
        filled.as_secs_f64(),
        slowest_draw.as_secs_f64() * 1e3
    );
    // Keys in the order a user might press them: each is pressed 30 times and redrawn.
    let keys: &[(&str, KeyCode)] = &[
        ("j (next connection)", KeyCode::Char('j')),
        ("PageDown (connections)", KeyCode::PageDown),
        ("End (last connection)", KeyCode::End),
        ("s (sort by next column)", KeyCode::Char('s')),
        ("S (reverse the sort)", KeyCode::Char('S')),
        ("Home", KeyCode::Home),
        ("a (all packets)", KeyCode::Char('a')),
        ("Tab (to packets)", KeyCode::Tab),
        ("PageDown (all packets)", KeyCode::PageDown),
        ("End (last of them)", KeyCode::End),
        ("d (field tree / bytes)", KeyCode::Char('d')),
        ("k (previous packet)", KeyCode::Char('k')),
    ];
    let mut worst = Duration::ZERO;
    println!(
        "{:<26} {:>10} {:>10}",
        "key, then redraw", "median ms", "max ms"
    );
    for &(name, code) in keys {
        let mut times = Vec::new();
        for _ in 0..30 {
            let t = Instant::now();
            app.key(KeyEvent::new(code, KeyModifiers::NONE));
            terminal.draw(|f| draw(f, &mut app)).unwrap();
            times.push(t.elapsed());
            // `s` and `S` measured on the same column and order each time.
            if matches!(code, KeyCode::Char('s') | KeyCode::Char('S')) {
                app.key(KeyEvent::new(code, KeyModifiers::NONE));
            }
        }
        // The keys after `a` move through every packet of the file, not one connection's.
        if code == KeyCode::Char('a') && !app.all_packets {
            app.key(KeyEvent::new(code, KeyModifiers::NONE));
        }
        times.sort();
        let (median, max) = (times[times.len() / 2], times[times.len() - 1]);
        worst = worst.max(max);
        println!(
            "{name:<26} {:>10.2} {:>10.2}",
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    }
    println!(
        "slowest key: {:.1} ms (goal: 50 ms)",
        worst.as_secs_f64() * 1e3
    );
}
