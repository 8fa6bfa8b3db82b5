//! `tcplens graph`: the series each graph kind draws, checked against TShark's fields on the
//! fixtures (retransmissions, zero windows, resets, ack_rtt where TShark puts them), and the
//! pictures themselves: SVG well-formed and the same on every run (a golden), PNG of the size
//! asked, the terminal chart, and the errors.

mod common;

use std::collections::BTreeSet;

use clap::Parser;
use tcplens::cli::{Cli, Command, GraphConfig};
use tcplens::flow::endpoint::Side;
use tcplens::render::graph::{GraphKind, Mark, StreamGraph};
use tcplens::render::plot;

fn config(args: &[&str]) -> GraphConfig {
    let argv = ["tcplens", "graph"].into_iter().chain(args.iter().copied());
    let Command::Graph(g) = Cli::try_parse_from(argv).expect("arguments").command else {
        unreachable!()
    };
    g.into_config().expect("config")
}

fn series(fixture: &str) -> Vec<StreamGraph> {
    tcplens::pipeline::graph_series(&config(&[&common::fixture(fixture), "--stream", "0"]), None)
        .expect("graph series")
}

/// TShark's rows of a fixture matching `filter`, as (time since the stream's first frame in µs, the
/// given fields).
fn tshark(fixture: &str, filter: &str, fields: &[&str]) -> BTreeSet<(i64, Vec<String>)> {
    tshark_path(
        std::path::Path::new(&common::fixture(fixture)),
        filter,
        fields,
    )
}

fn micros(t: f64) -> i64 {
    (t * 1e6).round() as i64
}

#[test]
fn retransmissions_are_drawn_where_tshark_labels_them() {
    let g = &series("retransmissions.pcap")[0];
    let ours: BTreeSet<(i64, Vec<String>)> = g.dirs[Side::Client as usize]
        .segments
        .iter()
        .filter(|s| s.mark == Mark::Retransmission)
        .map(|s| (micros(s.t), vec![s.seq.to_string()]))
        .collect();
    let theirs = tshark(
        "retransmissions.pcap",
        "tcp.stream == 0 && tcp.srcport != 5300 && (tcp.analysis.retransmission || \
         tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission)",
        &["tcp.seq"],
    );
    assert!(theirs.len() >= 2, "the fixture has retransmissions");
    assert_eq!(ours, theirs);
    // The picture carries them in their own layer.
    let pic = plot::picture(g, Side::Client, GraphKind::Tcptrace);
    let red = pic.layers.iter().find(|l| l.name == "retransmissions");
    assert!(
        red.is_some(),
        "{:?}",
        pic.layers.iter().map(|l| l.name).collect::<Vec<_>>()
    );
}

#[test]
fn the_window_hitting_zero_is_marked_when_tshark_says_so() {
    let g = &series("zero_window.pcap")[0];
    let side = g.busier();
    let ours: BTreeSet<(i64, Vec<String>)> = g.dirs[side as usize]
        .zero_windows
        .iter()
        .map(|&(t, ack)| (micros(t), vec![ack.to_string()]))
        .collect();
    let theirs = tshark(
        "zero_window.pcap",
        "tcp.stream == 0 && tcp.analysis.zero_window",
        &["tcp.ack"],
    );
    assert!(!theirs.is_empty());
    assert_eq!(ours, theirs);
    let pic = plot::picture(g, side, GraphKind::Tcptrace);
    assert!(pic.layers.iter().any(|l| l.name == "zero window"));
    // The window graph shows the receive window at 0.
    let window = plot::picture(g, side, GraphKind::Window);
    let rwnd = window
        .layers
        .iter()
        .find(|l| l.name == "receive window")
        .expect("receive window layer");
    assert!(matches!(&rwnd.shape, plot::Shape::Steps(v) if v.iter().any(|&(_, w)| w == 0.0)));
}

#[test]
fn a_reset_is_marked_at_its_time() {
    let g = &series("rst_abort.pcap")[0];
    let theirs = tshark("rst_abort.pcap", "tcp.flags.reset == 1", &[]);
    assert!(!theirs.is_empty(), "the fixture ends with a reset");
    for side in [Side::Client, Side::Server] {
        let ours: BTreeSet<i64> = g.dirs[side as usize]
            .resets
            .iter()
            .map(|&(t, _)| micros(t))
            .collect();
        let want: BTreeSet<i64> = theirs.iter().map(|(t, _)| *t).collect();
        assert_eq!(ours, want, "{side:?}");
    }
}

#[test]
fn rtt_samples_are_tsharks_ack_rtt() {
    let g = &series("request_response_lossy.pcap")[0];
    // The server's data is acknowledged by the client (srcport != 5331).
    let ours: BTreeSet<(i64, Vec<String>)> = g.dirs[Side::Server as usize]
        .rtt
        .iter()
        .map(|r| {
            (
                micros(r.t),
                vec![r.seq.to_string(), format!("{:.9}", r.rtt)],
            )
        })
        .collect();
    let theirs = tshark(
        "request_response_lossy.pcap",
        "tcp.srcport != 5331 && tcp.analysis.acks_frame",
        &["tcp.ack", "tcp.analysis.ack_rtt"],
    );
    assert!(theirs.len() > 5);
    assert_eq!(ours, theirs);
}

#[test]
fn throughput_counts_each_byte_once_and_goodput_leaves_retransmissions_out() {
    let g = &series("retransmissions.pcap")[0];
    let pic = plot::picture(g, Side::Client, GraphKind::Throughput);
    let line = |name: &str| match &pic.layers.iter().find(|l| l.name == name).unwrap().shape {
        plot::Shape::Lines(v) => v.clone(),
        other => panic!("{other:?}"),
    };
    let (all, good) = (line("throughput"), line("goodput"));
    assert_eq!(all.len(), good.len());
    assert!(all.iter().zip(&good).all(|(a, g)| g.1 <= a.1));
    assert!(
        all.iter().zip(&good).any(|(a, g)| g.1 < a.1),
        "a retransmission lowers goodput"
    );
}

#[test]
fn every_kind_draws_every_fixture_as_well_formed_svg_within_bounds() {
    let dir = common::temp_dir("graph_svg");
    for fixture in common::fixtures() {
        let cfg = config(&[fixture.to_str().unwrap()]);
        for g in tcplens::pipeline::graph_series(&cfg, None).expect("series") {
            for kind in [
                GraphKind::Tcptrace,
                GraphKind::Stevens,
                GraphKind::Throughput,
                GraphKind::Rtt,
                GraphKind::Window,
            ] {
                let pic = plot::picture(&g, g.busier(), kind);
                let path = dir.join(format!("{}-{}.svg", g.stream, kind.name()));
                plot::write_image(&path, plot::ImageFormat::Svg, (800, 500), &pic).unwrap();
                let text = std::fs::read_to_string(&path).unwrap();
                roxmltree::Document::parse(&text).unwrap_or_else(|e| {
                    panic!(
                        "{}: {} is not well-formed: {e}",
                        fixture.display(),
                        kind.name()
                    )
                });
                assert!(plot::decimate(&pic, 800).elements() <= 100_000);
            }
        }
    }
}

#[test]
fn svg_is_the_same_on_every_run_and_matches_its_golden() {
    let golden = common::root().join("fixtures/golden/learn_tcp.tcptrace.svg");
    let dir = common::temp_dir("graph_golden");
    let path = dir.join("g.svg");
    let path_arg = path.to_str().unwrap();
    let run = || {
        let out = common::run(&["graph", &common::fixture("learn_tcp.pcap"), "-o", path_arg]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(&path).unwrap()
    };
    let first = run();
    assert_eq!(run(), first, "two runs, two different pictures");
    if std::env::var_os("TCPLENS_BLESS").is_some() {
        std::fs::write(&golden, &first).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&golden).unwrap_or_default(),
        first,
        "{} differs (TCPLENS_BLESS=1 regenerates)",
        golden.display()
    );
}

#[test]
fn png_has_the_size_asked_for() {
    let dir = common::temp_dir("graph_png");
    let path = dir.join("g.png");
    let out = common::run(&[
        "graph",
        &common::fixture("retransmissions.pcap"),
        "--kind",
        "stevens",
        "-o",
        path.to_str().unwrap(),
        "--width",
        "640",
        "--height",
        "400",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
    let reader = decoder.read_info().expect("a PNG");
    let info = reader.info();
    assert_eq!((info.width, info.height), (640, 400));
}

#[test]
fn a_directory_gets_one_picture_per_stream() {
    let dir = common::temp_dir("graph_dir").join("out/");
    let out = common::run(&[
        "graph",
        &common::fixture("port_reuse.pcap"),
        "-o",
        dir.to_str().unwrap(),
        "--image",
        "png",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.lines().count() >= 2, "{listed}");
    for line in listed.lines() {
        assert!(
            line.ends_with("-tcptrace.png") && std::path::Path::new(line).is_file(),
            "{line}"
        );
    }
}

#[test]
fn on_a_pipe_the_chart_is_braille_with_a_title_and_a_legend() {
    let out = common::run(&[
        "graph",
        &common::fixture("learn_tcp.pcap"),
        "--width",
        "80",
        "--height",
        "20",
        "--color",
        "never",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(
            "tcptrace · tcp.stream 0 · 127.0.0.1:5200 → 127.0.0.1:5201 (the server's data)\n"
        ),
        "{text}"
    );
    assert!(text.contains('⣀') || text.contains('⠉'), "{text}");
    assert!(
        text.contains("x: Time (s) · y: Relative sequence number (bytes) · "),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no color asked: {text:?}");
    assert!(text.lines().all(|l| l.chars().count() <= 80 + 12), "{text}");
}

#[test]
fn one_picture_file_for_many_streams_is_one_clear_error() {
    let out = common::run(&[
        "graph",
        &common::fixture("interleaved_40.pcap"),
        "-o",
        "/tmp/tcplens-many.svg",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("40 streams selected") && err.contains("--stream N"),
        "{err}"
    );
    let bad = common::run(&["graph", &common::fixture("learn_tcp.pcap"), "-o", "x.jpg"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains(".svg or .png"));
}

/// Every stream of every capture in ../shared/corpus: the retransmission bars and zero-window
/// marks are TShark's labelled frames, and the rtt dots its ack_rtt values, stream by stream.
#[test]
fn graph_series_equal_tsharks_fields_on_the_corpus() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut diffs = Vec::new();
    let mut compared = 0;
    for file in &corpus {
        let path = file.to_str().unwrap();
        let graphs = tcplens::pipeline::graph_series(&config(&[path]), None).expect("series");
        let (mut retrans, mut zero, mut rtt) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for g in &graphs {
            for d in &g.dirs {
                for s in d.segments.iter().filter(|s| s.mark == Mark::Retransmission) {
                    retrans.insert((
                        micros(s.t),
                        vec![g.stream.to_string(), (s.seq as u32).to_string()],
                    ));
                }
                for &(t, ack) in &d.zero_windows {
                    zero.insert((
                        micros(t),
                        vec![g.stream.to_string(), (ack as u32).to_string()],
                    ));
                }
                for r in &d.rtt {
                    rtt.insert((
                        micros(r.t),
                        vec![g.stream.to_string(), format!("{:.9}", r.rtt)],
                    ));
                }
            }
        }
        let fields = |filter: &str, extra: &[&str]| {
            let mut f = vec!["tcp.stream"];
            f.extend_from_slice(extra);
            tshark_path(file, filter, &f)
        };
        let checks = [
            (
                "retransmissions",
                retrans,
                fields(
                    "tcp.analysis.retransmission || tcp.analysis.fast_retransmission || \
                     tcp.analysis.spurious_retransmission",
                    &["tcp.seq"],
                ),
            ),
            (
                "zero windows",
                zero,
                fields("tcp.analysis.zero_window", &["tcp.ack"]),
            ),
            (
                "ack_rtt",
                rtt,
                fields("tcp.analysis.ack_rtt", &["tcp.analysis.ack_rtt"]),
            ),
        ];
        for (what, ours, theirs) in checks {
            compared += theirs.len();
            if ours != theirs {
                let only_ours: Vec<_> = ours.difference(&theirs).take(3).collect();
                let only_theirs: Vec<_> = theirs.difference(&ours).take(3).collect();
                diffs.push(format!(
                    "{}: {what}: only tcplens {only_ours:?}, only tshark {only_theirs:?}",
                    file.display()
                ));
            }
        }
    }
    assert!(compared > 0, "the corpus has labelled frames to compare");
    assert!(
        diffs.is_empty(),
        "{} captures differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// tshark's rows of any capture matching `filter`: (time since the stream's first frame in
/// µs, the fields).
fn tshark_path(
    file: &std::path::Path,
    filter: &str,
    fields: &[&str],
) -> BTreeSet<(i64, Vec<String>)> {
    let mut cmd = common::tshark();
    cmd.arg("-r")
        .arg(file)
        .args(["-Y", filter, "-T", "fields", "-e", "tcp.time_relative"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut it = l.split('\t');
            let t: f64 = it.next().unwrap().parse().unwrap();
            ((t * 1e6).round() as i64, it.map(str::to_string).collect())
        })
        .collect()
}
