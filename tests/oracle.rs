//! The oracle: tcplens's JSON must equal tshark's fields for every TCP packet of every fixture
//! and every capture in ../shared/corpus, ../shared/external and ../shared/zeek (design.md).
//! Differences print as a readable table. A difference tcplens keeps on purpose, or cannot
//! remove, is an [`Exclusion`] below with its reason, and docs/wireshark.md lists the same; an
//! exclusion that no longer matches a difference fails the test, so the list cannot rot.

mod common;
#[path = "common/pcapgen.rs"]
mod pcapgen;

use std::path::Path;

use serde_json::Value;

/// tshark fields compared, in `-T fields` order.
const FIELDS: &[&str] = &[
    "frame.number",
    "_ws.col.Protocol",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.stream",
    "tcp.flags",
    "tcp.seq",
    "tcp.seq_raw",
    "tcp.ack",
    "tcp.window_size",
    "tcp.len",
    "_ws.col.Info",
    "tcp.analysis.initial_rtt",
];

/// The tcp.analysis.* flag fields (packet-tcp.c's expert items). tshark sets several on one
/// packet (a fast retransmission is also a retransmission), and Info announces only the most
/// specific, so the oracle reads the fields themselves: each prints `1` when present.
const ANALYSIS: &[&str] = &[
    "ack_lost_segment",
    "duplicate_ack",
    "fast_retransmission",
    "keep_alive",
    "keep_alive_ack",
    "lost_segment",
    "out_of_order",
    "retransmission",
    "reused_ports",
    "spurious_retransmission",
    "window_full",
    "window_update",
    "zero_window",
    "zero_window_probe",
    "zero_window_probe_ack",
];

/// Where the analysis columns start in a tshark row.
const FIRST_ANALYSIS: usize = FIELDS.len();

fn tshark_rows(file: &Path) -> Vec<Vec<String>> {
    let mut cmd = common::tshark_encap();
    cmd.arg("-r")
        .arg(file)
        .args(["-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    for name in ANALYSIS {
        cmd.args(["-e", &format!("tcp.analysis.{name}")]);
    }
    let out = cmd.output().expect("run tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

fn tcplens_records(file: &Path) -> Vec<Value> {
    let out = common::tcplens()
        .arg("read")
        .arg(file)
        .arg("--json")
        .output()
        .expect("tcplens");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l}: {e}")))
        .collect()
}

fn as_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn flags_hex(v: &Value) -> String {
    const NAMES: [&str; 9] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE"];
    let mut bits = 0u16;
    for name in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
        match NAMES.iter().position(|n| *n == name) {
            Some(i) => bits |= 1 << i,
            None if name == "Reserved" => bits |= 0xe00,
            None => {}
        }
    }
    format!("0x{bits:04x}")
}

/// One difference: the file, the frame (None for the file or a connection) and the field.
struct Diff {
    file: String,
    frame: Option<u64>,
    field: &'static str,
    text: String,
}

/// A difference the oracle accepts, with its reason (docs/wireshark.md says the same).
struct Exclusion {
    file: &'static str,
    /// The frames it covers; empty: every frame of the file (and the file-level lines).
    frames: &'static [u64],
    /// The fields it covers; empty: every field.
    fields: &'static [&'static str],
    reason: &'static str,
}

impl Exclusion {
    fn covers(&self, d: &Diff) -> bool {
        self.file == d.file
            && (self.frames.is_empty() || d.frame.is_some_and(|f| self.frames.contains(&f)))
            && (self.fields.is_empty() || self.fields.contains(&d.field))
    }
}

const EXCLUSIONS: &[Exclusion] = &[
    Exclusion {
        file: "tcpdump__tfo-5c1fa7f9ae91.pcap",
        frames: &[],
        fields: &["initial_rtt"],
        reason: "stream 2 (a SYN with data, then a FIN/ACK 10 s later): the FIN/ACK is the \
                 first ACK after the SYN, so Wireshark computes an initial RTT, but shows it \
                 only in a SEQ/ACK analysis tree that no later packet of the stream has; \
                 tcplens's connection record gives the RTT it computed",
    },
    Exclusion {
        file: "contentline__rsh-long-client-user-no-nul.pcapng",
        frames: &[13987],
        fields: &["info", "analysis"],
        reason: "TShark marks the FIN/ACK that acknowledges exactly the peer's FIN (after 16 MiB \
                 of data) as ACKed unseen segment; the acknowledged byte was seen",
    },
    Exclusion {
        file: "tcpdump__smb_data_print-segv.pcap",
        frames: &[4],
        fields: &[],
        reason: "frame 4 comes 21 years after frame 3: tcplens's connection table forgets a \
                 connection idle past its timeout (bounded memory) and starts a new stream; \
                 Wireshark keeps every conversation of the file",
    },
    Exclusion {
        file: "tcpdump__kday4.pcap",
        frames: &[9, 13],
        fields: &[],
        reason: "frame 6's timestamp jumps 24 days ahead (a fuzzed capture): tcplens's \
                 connection table forgets idle connections (bounded memory), Wireshark never",
    },
    Exclusion {
        file: "tcpdump__kday7.pcap",
        frames: &[9, 13],
        fields: &[],
        reason: "frame 6's timestamp jumps 24 days ahead (a fuzzed capture): tcplens's \
                 connection table forgets idle connections (bounded memory), Wireshark never",
    },
    Exclusion {
        file: "ndpi__ndpi_match_string_subprotocol__error.pcapng",
        frames: &[13],
        fields: &["info", "analysis"],
        reason: "not understood yet: after the ports are reused (frame 8), TShark labels this \
                 FIN below the next sequence number a fast retransmission; the peer sent no two \
                 duplicate ACKs of it since the reuse, so tcplens says out-of-order",
    },
];

/// Compares one file; returns the differences and the number of TCP packets compared.
fn compare(file: &Path) -> (Vec<Diff>, usize) {
    let theirs = tshark_rows(file);
    let records = tcplens_records(file);
    let (ours, connections): (Vec<Value>, Vec<Value>) =
        records.into_iter().partition(|r| r["type"] == "packet");
    let mut diffs = Vec::new();
    let mut compared = 0;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if theirs.len() != ours.len() {
        diffs.push(Diff {
            file: name.clone(),
            frame: None,
            field: "frames",
            text: format!("tshark has {} frames, tcplens {}", theirs.len(), ours.len()),
        });
    }
    for (t, o) in theirs.iter().zip(&ours) {
        let get = |i: usize| t.get(i).map(String::as_str).unwrap_or("");
        let frame = get(0);
        let number = frame.parse().ok();
        if as_text(&o["frame"]) != frame {
            diffs.push(Diff {
                file: name.clone(),
                frame: number,
                field: "frame",
                text: format!("tcplens frame {}", o["frame"]),
            });
            continue;
        }
        if get(1) != "TCP" {
            continue;
        }
        compared += 1;
        // tshark's tcp.ack is the raw field when the ACK flag is clear; tcplens says null.
        let ack_set =
            u16::from_str_radix(get(5).trim_start_matches("0x"), 16).is_ok_and(|f| f & 0x10 != 0);
        let mut check = |field: &'static str, theirs: &str, ours: String| {
            if theirs != ours {
                diffs.push(Diff {
                    file: name.clone(),
                    frame: number,
                    field,
                    text: format!("tshark {theirs:?} tcplens {ours:?}"),
                });
            }
        };
        check("protocol", get(1), as_text(&o["protocol"]));
        check("srcport", get(2), as_text(&o["srcport"]));
        check("dstport", get(3), as_text(&o["dstport"]));
        check("stream", get(4), as_text(&o["stream"]));
        // JSON names the reserved bits with one word, as Wireshark's Info does.
        let their_flags = u16::from_str_radix(get(5).trim_start_matches("0x"), 16).unwrap_or(0);
        let their_flags = if their_flags & 0xe00 != 0 {
            their_flags | 0xe00
        } else {
            their_flags
        };
        check(
            "flags",
            &format!("0x{their_flags:04x}"),
            flags_hex(&o["flags"]),
        );
        check("seq", get(6), as_text(&o["seq"]));
        check("seq_raw", get(7), as_text(&o["seq_raw"]));
        if ack_set {
            check("ack", get(8), as_text(&o["ack"]));
        }
        check("win", get(9), as_text(&o["win"]));
        check("len", get(10), as_text(&o["len"]));
        check("info", get(11), as_text(&o["info"]));
        let mut ours: Vec<&str> = o["analysis"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        ours.sort_unstable();
        let theirs: Vec<&str> = ANALYSIS
            .iter()
            .enumerate()
            .filter(|(i, _)| !get(FIRST_ANALYSIS + i).is_empty())
            .map(|(_, name)| *name)
            .collect();
        check("analysis", &theirs.join(","), ours.join(","));
    }
    // tcp.analysis.initial_rtt against the connection records, both ways: a stream where
    // tshark shows it must have the same in tcplens's record, and a record with one must be a
    // stream where tshark shows it.
    let mut theirs_rtt = std::collections::BTreeMap::new();
    for t in &theirs {
        if let (Some(stream), Some(rtt)) = (t.get(4), t.get(12))
            && !rtt.is_empty()
        {
            theirs_rtt
                .entry(stream.clone())
                .or_insert_with(|| rtt.parse::<f64>().unwrap_or(f64::NAN));
        }
    }
    let mut streams: std::collections::BTreeSet<String> = theirs_rtt.keys().cloned().collect();
    let ours_rtt: std::collections::BTreeMap<String, f64> = connections
        .iter()
        .filter_map(|c| Some((as_text(&c["stream"]), c["initial_rtt"].as_f64()?)))
        .collect();
    streams.extend(ours_rtt.keys().cloned());
    for stream in streams {
        let (t, o) = (theirs_rtt.get(&stream), ours_rtt.get(&stream));
        let equal = match (t, o) {
            (Some(t), Some(o)) => (t - o).abs() <= 1e-9,
            _ => false,
        };
        if !equal {
            diffs.push(Diff {
                file: name.clone(),
                frame: None,
                field: "initial_rtt",
                text: format!("stream {stream}: tshark {t:?} tcplens {o:?}"),
            });
        }
    }
    (diffs, compared)
}

/// Compares every file; differences covered by an exclusion are counted, not failures. Set
/// `TCPLENS_ORACLE_ALL=1` to see every difference rather than the first 60.
fn compare_all(files: &[std::path::PathBuf]) {
    assert!(!files.is_empty(), "no captures to compare");
    let names: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let mut diffs = Vec::new();
    let mut compared = 0;
    for file in files {
        let (d, n) = compare(file);
        diffs.extend(d);
        compared += n;
    }
    let mut used = vec![0usize; EXCLUSIONS.len()];
    diffs.retain(|d| match EXCLUSIONS.iter().position(|e| e.covers(d)) {
        Some(i) => {
            used[i] += 1;
            false
        }
        None => true,
    });
    let excluded: usize = used.iter().sum();
    eprintln!(
        "oracle: {compared} TCP packets in {} captures compared with tshark; {excluded} \
         differences excluded by {} named exclusions",
        files.len(),
        used.iter().filter(|n| **n > 0).count()
    );
    assert!(
        compared > 0,
        "tshark reported no TCP packets: is the oracle profile broken?"
    );
    let stale: Vec<String> = EXCLUSIONS
        .iter()
        .zip(&used)
        .filter(|(e, n)| **n == 0 && names.iter().any(|f| f == e.file))
        .map(|(e, _)| format!("{} {:?} {:?}: {}", e.file, e.frames, e.fields, e.reason))
        .collect();
    let all = std::env::var_os("TCPLENS_ORACLE_ALL").is_some();
    let lines: Vec<String> = diffs
        .iter()
        .take(if all { usize::MAX } else { 60 })
        .map(|d| match d.frame {
            Some(f) => format!("{} #{f} {}: {}", d.file, d.field, d.text),
            None => format!("{} {}: {}", d.file, d.field, d.text),
        })
        .collect();
    assert!(
        diffs.is_empty(),
        "{} differences from tshark:\n{}",
        diffs.len(),
        lines.join("\n")
    );
    assert!(
        stale.is_empty(),
        "exclusions that match no difference any more (remove them here and in \
         docs/wireshark.md):\n{}",
        stale.join("\n")
    );
}

#[test]
fn fixtures_match_tshark() {
    compare_all(&common::fixtures());
}

#[test]
fn corpus_matches_tshark() {
    if let Some(files) = common::corpus() {
        compare_all(&files);
    }
}

#[test]
fn external_public_captures_match_tshark() {
    if let Some(files) = common::external() {
        compare_all(&files);
    }
}

#[test]
fn zeek_traces_match_tshark() {
    if let Some(files) = common::zeek_traces() {
        compare_all(&files);
    }
}

/// A TCP header from `sport` to `dport` with `flags` and `options` (padded with NOPs).
fn tcp_header(sport: u16, dport: u16, flags: u8, options: &[u8]) -> Vec<u8> {
    let mut opts = options.to_vec();
    while !opts.len().is_multiple_of(4) {
        opts.push(1);
    }
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&1000u32.to_be_bytes());
    t.extend_from_slice(&2000u32.to_be_bytes());
    t.extend_from_slice(&[
        ((20 + opts.len()) / 4 * 16) as u8,
        flags,
        0xff,
        0xff,
        0,
        0,
        0,
        0,
    ]);
    t.extend_from_slice(&opts);
    t
}

/// An IPv4 datagram of protocol `proto` from 10.0.0.1 to 10.0.0.2 (checksums zero: neither
/// tshark nor tcplens checks them).
fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    h.extend_from_slice(payload);
    h
}

fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn udp(dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = vec![0xc0, 0x01];
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

/// Frames built byte by byte for what no kernel fixture or public capture shows: AccECN
/// options in every length Wireshark 4.0 reads (kinds 172/174 and ExIDs 0xACC0/0xACC1, the
/// ACE counter on the sender's later segments), and TCP inside each tag and tunnel this
/// kernel cannot make (PPPoE, 802.1ah, VN-Tag, Geneve, GRE with a key, 4in4) and behind PPP,
/// 802.11 and radiotap. tshark is the oracle for all of them.
#[test]
fn built_frames_with_accecn_options_and_encapsulations_match_tshark() {
    const ACK: u8 = 0x10;
    const SYN: u8 = 0x02;
    let dir = common::temp_dir("oracle-built");
    let counters = [0u8, 0, 1, 0, 0, 2, 0, 0, 3];
    let mut eth: Vec<Vec<u8>> = Vec::new();
    let mut port = 2000;
    for kind in [172u8, 174] {
        for n in [0, 3, 6, 9, 4] {
            let mut o = vec![kind, 2 + n as u8];
            o.extend_from_slice(&counters[..n]);
            eth.push(ethernet(0x0800, &ipv4(6, &tcp_header(port, 80, ACK, &o))));
            // The sender's next segment prints ACE; the peer's does not.
            eth.push(ethernet(0x0800, &ipv4(6, &tcp_header(port, 80, ACK, &[]))));
            port += 1;
        }
    }
    for exid in [[0xac, 0xc0], [0xac, 0xc1]] {
        for n in [0, 3, 9, 4] {
            let mut o = vec![254, 4 + n as u8, exid[0], exid[1]];
            o.extend_from_slice(&counters[..n]);
            eth.push(ethernet(0x0800, &ipv4(6, &tcp_header(port, 80, ACK, &o))));
            eth.push(ethernet(0x0800, &ipv4(6, &tcp_header(port, 80, ACK, &[]))));
            port += 1;
        }
    }
    let mut syn = || {
        port += 1;
        ipv4(6, &tcp_header(port, 80, SYN, &[2, 4, 5, 0xb4]))
    };
    let inner_eth = |ip: Vec<u8>| ethernet(0x0800, &ip);
    eth.push(ethernet(
        0x8864,
        &[&[0x11, 0, 0, 1, 0, 46, 0x00, 0x21][..], &syn()].concat(),
    ));
    eth.push(ethernet(
        0x88e7,
        &[&[0, 0, 0, 1][..], &inner_eth(syn())].concat(),
    ));
    eth.push(ethernet(
        0x8926,
        &[&[0, 0, 0, 0, 0x08, 0x00][..], &syn()].concat(),
    ));
    eth.push(ethernet(0x0800, &ipv4(4, &syn())));
    eth.push(ethernet(
        0x0800,
        &ipv4(
            47,
            &[&[0x20, 0, 0x08, 0x00, 0, 0, 0, 7][..], &syn()].concat(),
        ),
    ));
    eth.push(ethernet(
        0x0800,
        &ipv4(
            17,
            &udp(
                6081,
                &[
                    &[0x01, 0, 0x65, 0x58, 0, 0, 1, 0, 1, 2, 3, 4][..],
                    &inner_eth(syn()),
                ]
                .concat(),
            ),
        ),
    ));
    eth.push(ethernet(
        0x0800,
        &ipv4(
            17,
            &udp(
                4789,
                &[&[0x08, 0, 0, 0, 0, 0, 1, 0][..], &inner_eth(syn())].concat(),
            ),
        ),
    ));
    let wlan = |ip: Vec<u8>| {
        let mut f = vec![0x88, 0x01];
        f.extend_from_slice(&[0; 24]);
        f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        f.extend_from_slice(&ip);
        f
    };
    let files = [
        (1, eth),
        (9, vec![[&[0xff, 0x03, 0x00, 0x21][..], &syn()].concat()]),
        (105, vec![wlan(syn())]),
        (
            127,
            vec![[&[0, 0, 8, 0, 0, 0, 0, 0][..], &wlan(syn())].concat()],
        ),
    ];
    let paths: Vec<std::path::PathBuf> = files
        .into_iter()
        .map(|(linktype, frames)| {
            let frames: Vec<(u64, Vec<u8>)> = frames
                .into_iter()
                .enumerate()
                .map(|(i, f)| (i as u64 * 1000, f))
                .collect();
            let path = dir.join(format!("built-{linktype}.pcap"));
            std::fs::write(&path, pcapgen::pcap(linktype, &frames)).unwrap();
            path
        })
        .collect();
    compare_all(&paths);
}
