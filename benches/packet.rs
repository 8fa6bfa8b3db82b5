//! Micro-benchmarks of one packet's trip through decode, track and render (issue 6), on the
//! real frames of fixtures/learn_tcp.pcap. `cargo bench`; results in target/criterion.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tcplens::cli::{Output, SeqMode, SummaryMode};
use tcplens::decode::decode;
use tcplens::fields::{FrameTimes, Packet};
use tcplens::flow::Tracker;
use tcplens::render::Outputs;
use tcplens::render::color::ColorMode;
use tcplens::source::{Frame, Timestamp};

/// The link type and frames of learn_tcp.pcap (a little-endian microsecond pcap, Ethernet),
/// read by hand so that the benchmark measures nothing of the file reader: each frame's bytes
/// (for decode) and the frame made of them (for track and render).
fn learn_tcp() -> (u32, Vec<(Vec<u8>, Frame)>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/learn_tcp.pcap");
    let bytes = std::fs::read(path).expect("fixtures/learn_tcp.pcap");
    let le32 = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(le32(0), 0xa1b2_c3d4, "little-endian µs pcap");
    let linktype = le32(20);
    let (mut at, mut frames) = (24, Vec::new());
    while at + 16 <= bytes.len() {
        let caplen = le32(at + 8) as usize;
        let data = bytes[at + 16..at + 16 + caplen].to_vec();
        let ts = Timestamp {
            secs: le32(at) as i64,
            nanos: le32(at + 4) * 1000,
            digits: 6,
        };
        let frame = Frame::new(frames.len() as u64 + 1, ts, linktype, le32(at + 12), &data);
        frames.push((data, frame));
        at += 16 + caplen;
    }
    (linktype, frames)
}

fn output(json: bool, summary: SummaryMode) -> Output {
    Output::rows(json, ColorMode::Off, SeqMode::Relative, summary)
}

fn benches(c: &mut Criterion) {
    let (linktype, captured) = learn_tcp();
    // Frame 1 is the SYN (four options), frame 6 a data segment with timestamps.
    let syn = &captured[0].0;
    let data_bytes = &captured[5].0;
    let frames: Vec<Frame> = captured.iter().map(|(_, f)| f.clone()).collect();
    let data = &frames[5];

    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    g.bench_function("syn", |b| {
        b.iter(|| decode(linktype, black_box(syn), syn.len() as u32).ip)
    });
    g.bench_function("data", |b| {
        b.iter(|| decode(linktype, black_box(data_bytes), data_bytes.len() as u32).ip)
    });
    g.finish();

    // Tracking needs a connection's history: each iteration tracks the whole connection (20
    // segments) from an empty table, reported per segment.
    let mut g = c.benchmark_group("track");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("learn_tcp_connection", |b| {
        b.iter(|| {
            let mut t = Tracker::default();
            for f in &frames {
                black_box(t.track(f));
            }
        })
    });
    g.finish();

    // Rendering one row: the data segment, with the tracker's view of it.
    let mut t = Tracker::default();
    let infos: Vec<_> = frames.iter().map(|f| t.track(f)).collect();
    let mut g = c.benchmark_group("render");
    g.throughput(Throughput::Elements(1));
    for (name, json) in [("text_row", false), ("json_line", true)] {
        let mut r = Outputs::new(output(json, SummaryMode::Off), std::io::sink(), None);
        g.bench_function(name, |b| {
            let packet = Packet {
                frame: data,
                tcp: infos[5].as_ref(),
                bytes: None,
                times: FrameTimes::default(),
                conn: None,
            };
            b.iter(|| {
                r.packet(&packet, None).unwrap();
                r.batch_end().unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(packet, benches);
criterion_main!(packet);
