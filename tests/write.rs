//! `tcplens read IN -w OUT`: the file written holds the frames tcpdump and tshark write for the
//! same selection (timestamps to the ns, original and captured lengths, bytes, interfaces),
//! in the input's format (pcap or pcapng) and link types. Each file is compared twice: as
//! tshark reads it (`-T fields`), and record by record as parsed here with pcap-parser, which
//! also insists that the file ends exactly after its last record.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{fixture, run, temp_dir};
use pcap_parser::pcapng::Block;

/// A capture as its records say, interfaces resolved, timestamps in ns since the epoch.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Parsed {
    kind: Kind,
    interfaces: Vec<Iface>,
    frames: Vec<Rec>,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Kind {
    Pcap { nanos: bool },
    Pcapng,
}

#[derive(Debug, PartialEq, Eq, Clone)]
struct Iface {
    /// LINKTYPE_*; 12 (DLT_RAW as some systems number it) reads as 101, LINKTYPE_RAW, which
    /// is what tcpdump and tshark write for it. tcplens keeps the input's number.
    linktype: i32,
    snaplen: u32,
    /// Timestamp units per second (pcap: 10^6 or 10^9).
    resolution: u64,
    offset: i64,
    name: Option<String>,
}

#[derive(Debug, PartialEq, Eq, Clone)]
struct Rec {
    /// Interface, numbered across the file's sections (pcap: 0).
    interface: usize,
    ts_ns: i128,
    origlen: u32,
    data: Vec<u8>,
}

impl Parsed {
    /// The frames with what tcpdump's pcap output keeps of them: link type, ns timestamp,
    /// lengths and bytes (no interface numbers).
    fn plain(&self) -> Vec<(i32, i128, u32, Vec<u8>)> {
        (self.frames.iter())
            .map(|f| {
                let lt = self.interfaces[f.interface].linktype;
                (lt, f.ts_ns, f.origlen, f.data.clone())
            })
            .collect()
    }
}

/// Parses a whole pcap or pcapng file; panics unless every byte belongs to a whole record.
fn parse(path: &Path) -> Parsed {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let shown = path.display();
    if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        let (rest, capture) = pcap_parser::parse_pcapng(&bytes)
            .unwrap_or_else(|e| panic!("{shown}: not a valid pcapng file: {e:?}"));
        assert!(
            rest.is_empty(),
            "{shown}: {} bytes after the last block",
            rest.len()
        );
        let mut interfaces = Vec::new();
        let mut frames = Vec::new();
        for section in &capture.sections {
            let first = interfaces.len();
            for block in &section.blocks {
                match block {
                    Block::InterfaceDescription(idb) => interfaces.push(Iface {
                        linktype: raw_ip(idb.linktype.0),
                        snaplen: idb.snaplen,
                        resolution: idb.ts_resolution().expect("a valid if_tsresol"),
                        offset: idb.ts_offset(),
                        name: idb.if_name().and_then(|n| n.ok()).map(str::to_string),
                    }),
                    Block::EnhancedPacket(epb) => {
                        let interface = first + epb.if_id as usize;
                        let iface = &interfaces[interface];
                        let ticks = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                        let r = iface.resolution as i128;
                        let ts_ns = (ticks as i128 / r + iface.offset as i128) * 1_000_000_000
                            + (ticks as i128 % r) * 1_000_000_000 / r;
                        frames.push(Rec {
                            interface,
                            ts_ns,
                            origlen: epb.origlen,
                            data: epb.data[..epb.caplen as usize].to_vec(),
                        });
                    }
                    Block::SimplePacket(spb) => frames.push(Rec {
                        interface: first,
                        ts_ns: 0,
                        origlen: spb.origlen,
                        data: spb.data[..(spb.origlen as usize).min(spb.data.len())].to_vec(),
                    }),
                    _ => {}
                }
            }
        }
        return Parsed {
            kind: Kind::Pcapng,
            interfaces,
            frames,
        };
    }
    let (mut rest, header) = pcap_parser::parse_pcap_header(&bytes)
        .unwrap_or_else(|e| panic!("{shown}: not a valid pcap file: {e:?}"));
    let mut blocks = Vec::new();
    while !rest.is_empty() {
        let (next, block) = match header.is_bigendian() {
            true => pcap_parser::parse_pcap_frame_be(rest),
            false => pcap_parser::parse_pcap_frame(rest),
        }
        .unwrap_or_else(|e| panic!("{shown}: record {} is not whole: {e:?}", blocks.len() + 1));
        blocks.push(block);
        rest = next;
    }
    let capture = pcap_parser::PcapCapture { header, blocks };
    let nanos = capture.header.is_nanosecond_precision();
    let unit = if nanos { 1 } else { 1000 };
    Parsed {
        kind: Kind::Pcap { nanos },
        interfaces: vec![Iface {
            linktype: raw_ip(capture.header.network.0),
            snaplen: capture.header.snaplen,
            resolution: if nanos { 1_000_000_000 } else { 1_000_000 },
            offset: 0,
            name: None,
        }],
        frames: (capture.blocks.iter())
            .map(|b| Rec {
                interface: 0,
                ts_ns: b.ts_sec as i128 * 1_000_000_000 + b.ts_usec as i128 * unit,
                origlen: b.origlen,
                data: b.data[..b.caplen as usize].to_vec(),
            })
            .collect(),
    }
}

fn raw_ip(linktype: i32) -> i32 {
    if linktype == 12 { 101 } else { linktype }
}

/// What tshark reads of a file, frame by frame.
fn tshark_fields(path: &Path) -> String {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len"])
        .args(["-e", "frame.cap_len", "-e", "frame.interface_id"])
        .args(["-e", "frame.encap_type"])
        .output()
        .expect("tshark is required for the -w tests: apt-get install tshark");
    assert!(
        out.status.success(),
        "tshark -r {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// tshark's `-F` for a file like `input`, so that its output keeps the input's format.
fn tshark_format(input: &Parsed) -> &'static str {
    match input.kind {
        Kind::Pcap { nanos: false } => "pcap",
        Kind::Pcap { nanos: true } => "nsecpcap",
        Kind::Pcapng => "pcapng",
    }
}

fn ok(args: &[&str], what: &str) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "{what}: tcplens {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn check(out: Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// `tcplens read F -w A [args]` against `tshark -r F [-Y display] -F (F's format) -w B`: the
/// same file record by record and, with `fields` (two more runs of tshark, half a second
/// each), as tshark reads it.
fn same_as_tshark(
    dir: &Path,
    input: &Path,
    args: &[&str],
    display: Option<&str>,
    fields: bool,
) -> usize {
    let what = format!("{} {args:?}", name(input));
    let tag = args.join("_").replace([' ', '/'], "_");
    let ours = dir.join(format!("{}{tag}.tcplens", name(input)));
    let theirs = dir.join(format!("{}{tag}.tshark", name(input)));
    let source = parse(input);
    let mut argv = vec![
        "read",
        input.to_str().unwrap(),
        "-w",
        ours.to_str().unwrap(),
    ];
    argv.extend_from_slice(args);
    ok(&argv, &what);
    let mut tshark = Command::new("tshark");
    tshark.arg("-r").arg(input);
    if let Some(filter) = display {
        tshark.args(["-Y", filter]);
    }
    tshark
        .args(["-F", tshark_format(&source), "-w"])
        .arg(&theirs);
    check(tshark.output().expect("run tshark"), &what);
    let (a, b) = (parse(&ours), parse(&theirs));
    assert_eq!(a.kind, source.kind, "{what}: the input's file type");
    assert_eq!(a.kind, b.kind, "{what}: file type");
    assert_eq!(a.interfaces, b.interfaces, "{what}: interfaces");
    assert_eq!(a.frames.len(), b.frames.len(), "{what}: frame count");
    for (n, (x, y)) in a.frames.iter().zip(&b.frames).enumerate() {
        assert_eq!(x, y, "{what}: frame {} of the written file", n + 1);
    }
    if fields {
        assert_eq!(
            tshark_fields(&ours),
            tshark_fields(&theirs),
            "{what}: tshark -T fields"
        );
    }
    a.frames.len()
}

/// `tcplens read F -w A BPF…` against `tcpdump -r F -w B BPF…` (nanosecond precision, so
/// nothing is rounded): the same frames, bytes and timestamps; A keeps F's format.
fn same_as_tcpdump(dir: &Path, input: &Path, bpf: &[&str]) -> usize {
    let what = format!("{} {bpf:?}", name(input));
    let tag = bpf
        .join("_")
        .replace([' ', '/', '[', ']', '&', '!', '='], "_");
    let ours = dir.join(format!("{}{tag}.tcplens-bpf", name(input)));
    let theirs = dir.join(format!("{}{tag}.tcpdump", name(input)));
    let mut argv = vec![
        "read",
        input.to_str().unwrap(),
        "-w",
        ours.to_str().unwrap(),
    ];
    argv.extend_from_slice(bpf);
    ok(&argv, &what);
    let tcpdump = Command::new("tcpdump")
        .args(["--time-stamp-precision=nano", "-r"])
        .arg(input)
        .arg("-w")
        .arg(&theirs)
        .args(bpf)
        .output()
        .expect("tcpdump is required for the -w tests");
    check(tcpdump, &what);
    let (source, a, b) = (parse(input), parse(&ours), parse(&theirs));
    assert_eq!(a.kind, source.kind, "{what}: the input's file type");
    let (x, y) = (a.plain(), b.plain());
    assert_eq!(x.len(), y.len(), "{what}: frame count");
    assert!(x == y, "{what}: frames differ from tcpdump's");
    if source.kind != Kind::Pcapng {
        // pcap in, pcap out: tcpdump's header, but for the precision tcpdump was asked for.
        let keep = |p: &Parsed| (p.interfaces[0].linktype, p.interfaces[0].snaplen);
        assert_eq!(keep(&a), keep(&source), "{what}: link type and snap length");
    }
    x.len()
}

fn corpus(names: &[&str]) -> Vec<PathBuf> {
    let Some(all) = common::corpus() else {
        return Vec::new();
    };
    let picked: Vec<PathBuf> = (all.into_iter())
        .filter(|p| names.iter().any(|n| name(p).starts_with(n)))
        .collect();
    assert!(
        picked.len() >= names.len(),
        "corpus files missing: {names:?}"
    );
    picked
}

/// Corpus captures with what makes writing them hard: pcapng with 11 interfaces and two link
/// types, big-endian nanosecond pcap, pcapng from dumpcap, SLL2, VLANs, raw IPv6, loopback.
const CORPUS: &[&str] = &[
    "pcapplusplus__many_interfaces-1.pcapng",
    "pcapplusplus__nanosecs_big_endian.pcap",
    "sanders__",
    "tcpdump__tcp-handshake-nano.pcap",
    "suricata__decode-sll2-01.pcap",
    "zeek__vlan-collisions.pcap",
    "pcapplusplus__linktype_ipv6.pcap",
    "gopacket__test_loopback.pcap",
];

#[test]
fn fixtures_copy_as_tshark_writes_them() {
    let dir = temp_dir("write-fixtures");
    let mut frames = 0;
    for f in common::fixtures() {
        frames += same_as_tshark(&dir, &f, &[], None, true);
    }
    assert!(frames > 100, "{frames} frames compared");
}

#[test]
fn corpus_copies_as_tshark_writes_them() {
    let dir = temp_dir("write-corpus");
    for f in corpus(CORPUS) {
        same_as_tshark(&dir, &f, &[], None, true);
        // Nothing changed at all: every frame, as the input has it.
        assert_eq!(
            parse(&f).frames,
            parse(&dir.join(format!("{}.tcplens", name(&f)))).frames
        );
    }
}

#[test]
fn bpf_filters_select_what_tcpdump_selects() {
    let dir = temp_dir("write-bpf");
    let mut files = common::fixtures();
    // libpcap compiles no filter for NFLOG ("NFLOG link-layer type filtering not
    // implemented"), for tcpdump as for tcplens: nflog.pcap has nothing to compare.
    files.retain(|p| name(p) != "nflog.pcap");
    // tcpdump (libpcap) refuses pcapng files whose interfaces have different link types.
    // test_loopback.pcap is macOS loopback (BSD NULL, AF_INET6 = 30): libpcap compiles `ip6`
    // for a NULL header as AF_INET6 of the machine it runs on unless it reads the file itself,
    // so tcplens's filter (compiled on a dead handle) selects none of its frames, tcpdump 24.
    files.extend(
        corpus(CORPUS)
            .into_iter()
            .filter(|p| !name(p).contains("many_interfaces") && !name(p).contains("loopback")),
    );
    let mut written = 0;
    for f in &files {
        written += same_as_tcpdump(&dir, f, &["tcp"]);
        // Also on link types with IPv6 only, where libpcap refuses tcp[tcpflags].
        written += same_as_tcpdump(&dir, f, &["tcp", "and", "src", "portrange", "1-1024"]);
        // Nothing selected: a valid file with the header (and interfaces) only.
        assert_eq!(same_as_tcpdump(&dir, f, &["udp", "port", "1"]), 0);
    }
    assert!(written > 100, "{written} frames compared");
}

#[test]
fn mixed_link_types_filter_as_tshark_selects() {
    let dir = temp_dir("write-mixed");
    for f in corpus(&["pcapplusplus__many_interfaces-1.pcapng"]) {
        // Ethernet frames on en0, BSD loopback on lo0 (interface 10): one program per type.
        assert!(same_as_tshark(&dir, &f, &["tcp"], Some("tcp"), true) > 0);
        // lo0's two frames are IPv4 (AF_INET is 2 everywhere): `ip` selects them on lo0,
        // and en0's IPv4 frames too.
        let ip = same_as_tshark(&dir, &f, &["ip"], Some("ip"), true);
        assert!(ip > 2);
    }
}

#[test]
fn stream_writes_that_stream_as_tshark_does() {
    let dir = temp_dir("write-stream");
    // Fixtures of several connections (a tshark run costs half a second: not all of them).
    let mut cases: Vec<(PathBuf, &[&str])> = vec![
        (
            fixture("interleaved_40.pcap").into(),
            &["0", "3", "17", "40"],
        ),
        (fixture("port_reuse.pcap").into(), &["0", "1"]),
        (
            fixture("simultaneous_open_two_sockets.pcap").into(),
            &["0", "1"],
        ),
        (fixture("midstream.pcap").into(), &["0"]),
    ];
    for f in corpus(&[
        "pcapplusplus__many_interfaces-1.pcapng",
        "sanders__http_ip4and6.pcapng",
        "zeek__vlan-collisions.pcap",
        "pcapplusplus__four_ipv6_http_streams.pcap",
    ]) {
        cases.push((f, &["0", "2"]));
    }
    let mut written = 0;
    for (f, streams) in &cases {
        for stream in *streams {
            let display = format!("tcp.stream eq {stream}");
            written += same_as_tshark(&dir, f, &["--stream", stream], Some(&display), false);
        }
    }
    assert!(written > 100, "{written} frames compared");
    // With a BPF filter too: both apply.
    let f = PathBuf::from(fixture("interleaved_40.pcap"));
    let n = same_as_tshark(
        &dir,
        &f,
        &["--stream", "3", "tcp[tcpflags] & tcp-syn != 0"],
        Some("tcp.stream eq 3 && tcp.flags.syn == 1"),
        true,
    );
    assert_eq!(n, 2, "the SYN and the SYN-ACK of stream 3");
}

#[test]
fn sections_keep_their_interfaces() {
    // Two pcapng files end to end: two sections, interface ids restarting at 0 in the second.
    // The output has one section; its interfaces are numbered across the file (Wireshark 4.0
    // shows the second section's frames with the first section's interface ids, and its -w
    // output of such a file is cut short, so the input as parsed here is the reference).
    let files = corpus(&[
        "pcapplusplus__many_interfaces-1.pcapng",
        "sanders__tcp_handshake.pcapng",
    ]);
    if files.is_empty() {
        return;
    }
    let dir = temp_dir("write-sections");
    let input = dir.join("two-sections.pcapng");
    let mut bytes = std::fs::read(&files[1]).unwrap();
    bytes.extend(std::fs::read(&files[0]).unwrap());
    std::fs::write(&input, bytes).unwrap();
    let out = dir.join("out.pcapng");
    ok(
        &["read", input.to_str().unwrap(), "-w", out.to_str().unwrap()],
        "two sections",
    );
    let (source, written) = (parse(&input), parse(&out));
    assert_eq!(
        source, written,
        "same interfaces, same frames on the same interfaces"
    );
    assert_eq!(written.interfaces.len(), 12);
    assert!(
        written.frames.iter().any(|f| f.interface == 11),
        "lo0 is 11"
    );
    assert_eq!(written.interfaces[11].name.as_deref(), Some("lo0"));
    let shb = std::fs::read(&out).unwrap();
    let sections = shb
        .windows(4)
        .filter(|w| w == &[0x0a, 0x0d, 0x0d, 0x0a])
        .count();
    assert_eq!(sections, 1, "one section header");
}

#[test]
fn dash_writes_the_file_to_stdout_and_nothing_else() {
    let dir = temp_dir("write-stdout");
    for (f, bpf) in [
        (fixture("interleaved_40.pcap"), "port 45242"),
        (fixture("ipv6.pcap"), "tcp"),
    ] {
        let file = dir.join("file.pcap");
        ok(&["read", &f, "-w", file.to_str().unwrap(), bpf], "-w FILE");
        let out = ok(&["read", &f, "--json", "-w", "-", bpf], "-w -");
        assert_eq!(
            out.stdout,
            std::fs::read(&file).unwrap(),
            "{f}: stdout is the file"
        );
    }
    // tcpdump reads it from a pipe.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} read {} -w - | tcpdump -nr - 2>/dev/null | wc -l",
            env!("CARGO_BIN_EXE_tcplens"),
            fixture("learn_tcp.pcap")
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "20");
}

#[test]
fn rows_still_print_with_their_frame_numbers() {
    let dir = temp_dir("write-rows");
    let f = fixture("interleaved_40.pcap");
    let file = dir.join("rows.pcap");
    let with = ok(
        &["read", &f, "-w", file.to_str().unwrap(), "port", "45242"],
        "rows",
    );
    let without = ok(&["read", &f, "port", "45242"], "rows");
    assert_eq!(
        with.stdout, without.stdout,
        "the same rows, numbered as in the input"
    );
    assert!(
        String::from_utf8_lossy(&with.stdout)
            .lines()
            .next()
            .is_some()
    );
    // The written file numbers its own frames 1..
    let numbers = Command::new("tshark")
        .arg("-r")
        .arg(&file)
        .args(["-T", "fields", "-e", "frame.number"])
        .output()
        .unwrap();
    let numbers = String::from_utf8_lossy(&numbers.stdout).into_owned();
    assert!(numbers.starts_with("1\n2\n"), "{numbers}");
}

/// The frames tshark reads of `path` before it stops.
fn tshark_count(path: &Path) -> usize {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-T", "fields", "-e", "frame.number"])
        .output()
        .expect("run tshark");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn damaged_input_leaves_a_valid_file_of_every_frame_before_the_damage() {
    let dir = temp_dir("write-damaged");
    let mut inputs = vec![PathBuf::from(fixture("learn_tcp.pcap"))];
    inputs.extend(corpus(&["sanders__tcp_retransmissions.pcapng"]));
    for input in inputs {
        // Cut in the middle: the record there is incomplete.
        let bytes = std::fs::read(&input).unwrap();
        let cut = dir.join(format!("cut-{}", name(&input)));
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let whole = parse(&input);
        let before = tshark_count(&cut);
        assert!(
            before > 0 && before < whole.frames.len(),
            "the cut is mid-file"
        );
        let out = dir.join(format!("{}.out", name(&input)));
        let run = run(&["read", cut.to_str().unwrap(), "-w", out.to_str().unwrap()]);
        assert_eq!(run.status.code(), Some(2), "{}", name(&input));
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains("cut short"), "{stderr}");
        let written = parse(&out);
        assert_eq!(written.kind, whole.kind);
        assert_eq!(written.interfaces, whole.interfaces);
        assert_eq!(written.frames, whole.frames[..before], "{}", name(&input));
        // Every row printed has its frame in the file.
        let rows = String::from_utf8_lossy(&run.stdout)
            .lines()
            .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
            .count();
        assert_eq!(rows, before, "{}", name(&input));
        // tshark reads it to the end without complaint.
        let tshark = Command::new("tshark").arg("-r").arg(&out).output().unwrap();
        let complaint = String::from_utf8_lossy(&tshark.stderr);
        assert!(tshark.status.success(), "{complaint}");
        assert!(!complaint.contains("cut short"), "{complaint}");
    }
}

#[test]
fn not_a_capture_leaves_no_file() {
    let dir = temp_dir("write-notcap");
    let input = dir.join("notes.txt");
    std::fs::write(&input, "not a capture\n").unwrap();
    let out = dir.join("out.pcap");
    let run = run(&["read", input.to_str().unwrap(), "-w", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert!(!out.exists(), "no empty file left behind");
    // A missing input: no file created either.
    let run = run_missing(&dir);
    assert_eq!(run.status.code(), Some(2));
    assert!(!dir.join("never.pcap").exists());
}

fn run_missing(dir: &Path) -> Output {
    let missing = dir.join("missing.pcap");
    let out = dir.join("never.pcap");
    run(&[
        "read",
        missing.to_str().unwrap(),
        "-w",
        out.to_str().unwrap(),
    ])
}

/// One line on stderr naming the -w path, exit 2, and not a row on stdout.
fn refused(args: &[&str], says: &str) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr}");
    assert!(stderr.contains(says), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}: no rows before the error");
}

#[test]
fn unwritable_paths_fail_before_reading() {
    let f = fixture("learn_tcp.pcap");
    let dir = temp_dir("write-unwritable");
    let missing = dir.join("no/such/dir/out.pcap");
    refused(
        &["read", &f, "-w", missing.to_str().unwrap()],
        "cannot write",
    );
    refused(&["read", &f, "-w", dir.to_str().unwrap()], "is a directory");
    refused(&["read", &f, "-w", &f], "it is the file being read");
    assert!(
        parse(Path::new(&f)).frames.len() == 20,
        "the input is untouched"
    );
    // A device that refuses every write: the error comes before any row.
    refused(&["read", &f, "-w", "/dev/full"], "cannot write /dev/full");
}

#[test]
fn permission_denied_is_one_line() {
    // As root every file is writable: run as user nobody, into a directory only root may use.
    let dir = temp_dir("write-denied");
    let f = dir.join("in.pcap");
    std::fs::copy(fixture("learn_tcp.pcap"), &f).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out_path = dir.join("out.pcap");
    let mut cmd = if common::euid() == 0 {
        match common::unprivileged() {
            Some(cmd) => cmd,
            None => return eprintln!("skipped: setpriv is missing"),
        }
    } else {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        common::tcplens()
    };
    let out = cmd
        .args([
            "read",
            f.to_str().unwrap(),
            "-w",
            out_path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("Permission denied"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}
