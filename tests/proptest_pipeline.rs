//! Property: any frames of any supported link type go through decode → Tracking → Outputs
//! without a panic and come out as one row per frame, in every output mode. Frames are random
//! bytes, or real fixture packets (IPv4 and IPv6) framed for each link type, then cut short
//! and byte-flipped. The pipeline and its checks are the fuzz targets' own (fuzz/src/driver.rs),
//! so this test and the fuzzers hold tcplens to the same things; the case count is modest so
//! `cargo test` stays quick, the fuzzers (docs/reliability.md) run for minutes.

mod common;
#[path = "../fuzz/src/driver.rs"]
mod driver;
#[path = "common/pcapgen.rs"]
mod pcapgen;

use std::sync::OnceLock;

use proptest::prelude::*;
use tcplens::flow::Limits;
use tcplens::source::{Frame, Timestamp};

/// EN10MB, LINUX_SLL, LINUX_SLL2, NULL, LOOP, RAW (both numbers), IPV4, IPV6.
const LINKTYPES: [u32; 9] = [1, 113, 276, 0, 108, 12, 101, 228, 229];

/// IP packets of the IPv4 and IPv6 fixtures, their Ethernet headers removed.
fn ip_packets() -> &'static [Vec<u8>] {
    static PACKETS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    PACKETS.get_or_init(|| {
        let mut all = Vec::new();
        for name in ["learn_tcp.pcap", "ipv6.pcap", "zero_window.pcap"] {
            let file = std::fs::read(common::root().join("fixtures").join(name)).expect("fixture");
            for r in pcapgen::layout(&file).packets {
                all.extend(file.get(r.start + 14..r.end).map(<[u8]>::to_vec));
            }
        }
        all
    })
}

/// An IP packet under link type `lt`'s header.
fn framed(lt: u32, ip: &[u8]) -> Vec<u8> {
    let v6 = ip.first().is_some_and(|b| b >> 4 == 6);
    let ether: [u8; 2] = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
    let mut f = match lt {
        1 => [&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1][..], &ether].concat(),
        113 => [&[0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0][..], &ether].concat(),
        276 => [
            &ether[..],
            &[0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 6, 2, 0, 0, 0, 0, 1, 0],
        ]
        .concat(),
        0 => (if v6 { 24u32 } else { 2 }).to_le_bytes().to_vec(),
        108 => (if v6 { 30u32 } else { 2 }).to_be_bytes().to_vec(),
        _ => Vec::new(),
    };
    f.extend_from_slice(ip);
    f
}

/// One frame's bytes: random, or a real packet framed for `lt`, cut and flipped.
fn frame_bytes(lt: u32) -> impl Strategy<Value = Vec<u8>> {
    let n = ip_packets().len();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..160),
        (
            0..n,
            any::<prop::sample::Index>(),
            prop::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 0..6),
        )
            .prop_map(move |(i, cut, flips)| {
                let mut f = framed(lt, &ip_packets()[i]);
                // Cut anywhere, whole frame included.
                f.truncate(cut.index(f.len() + 1));
                for (at, x) in flips {
                    if !f.is_empty() {
                        let at = at.index(f.len());
                        f[at] ^= x;
                    }
                }
                f
            }),
    ]
}

/// A capture: one link type, 1..24 frames with time steps (some backwards), and a table that
/// is either the default or tiny with short timeouts, so eviction and expiry happen.
fn capture() -> impl Strategy<Value = (Vec<Frame>, Limits, Vec<Vec<u8>>)> {
    (0..LINKTYPES.len(), any::<bool>()).prop_flat_map(|(i, tiny)| {
        let lt = LINKTYPES[i];
        let frames = prop::collection::vec((frame_bytes(lt), -2i64..2_000_000), 1..24);
        frames.prop_map(move |fs| {
            let mut usec: i64 = 1_700_000_000_000_000;
            let bytes: Vec<Vec<u8>> = fs.iter().map(|(d, _)| d.clone()).collect();
            let frames = fs
                .into_iter()
                .enumerate()
                .map(|(n, (data, step))| {
                    usec += step;
                    Frame::new(
                        n as u64 + 1,
                        Timestamp {
                            secs: usec.div_euclid(1_000_000),
                            nanos: usec.rem_euclid(1_000_000) as u32 * 1000,
                            digits: 6,
                        },
                        lt,
                        data.len() as u32,
                        &data,
                    )
                })
                .collect();
            let limits = if tiny {
                Limits {
                    max_flows: 2,
                    idle_timeout: 1_000_000_000,
                    msl: 100_000_000,
                }
            } else {
                Limits::default()
            };
            (frames, limits, bytes)
        })
    })
}

/// Filter text: pieces of the grammar and of real field names, shuffled, plus raw strings.
fn filter_text() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "tcp",
        "ip.addr",
        "tcp.port",
        "tcp.payload",
        "tcp.flags",
        "tcp.flags.syn",
        "frame.len",
        "eth.src",
        "ipv6.addr",
        "tcplens.state.client",
        "tcplens.conn.close",
        "tcp.analysis.flags",
        "frame.time_relative",
        "==",
        "!=",
        "~=",
        ">",
        "<=",
        "&&",
        "||",
        "!",
        "not",
        "and",
        "or",
        "contains",
        "matches",
        "in",
        "{",
        "}",
        ",",
        "..",
        "(",
        ")",
        "[",
        "]",
        "0:2",
        "-1",
        "&",
        "+",
        "*",
        "/",
        "%",
        "len(",
        "upper(",
        "count(",
        "0x12",
        "80",
        "10.0.0.0/8",
        "::1",
        "48:65",
        "\"user\"",
        "\"[a-\"",
        "1.5",
        "True",
        "\"FIN_WAIT_2\"",
        "\"\\x4",
        " ",
    ];
    prop_oneof![
        prop::collection::vec(prop::sample::select(PIECES), 0..12).prop_map(|p| p.join(" ")),
        prop::collection::vec(prop::sample::select(PIECES), 0..12).prop_map(|p| p.concat()),
        ".{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_frame_is_one_row_in_every_mode((frames, limits, bytes) in capture()) {
        // Panics on a violation; proptest reports and shrinks it like a failed assertion.
        driver::run(&driver::Capture { limits, frames, bytes });
    }

    #[test]
    fn any_filter_compiles_or_points_at_its_error_and_runs_on_any_capture(
        expr in filter_text(),
        (frames, limits, bytes) in capture(),
    ) {
        driver::filter(&expr, &driver::Capture { limits, frames, bytes });
    }
}
