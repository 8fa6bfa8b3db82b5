//! Shared test helpers: the tcplens binary, the fixture and corpus lists, and a throwaway
//! tshark profile that shows only the layers tcplens decodes (design.md, "Comparing with tshark").

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub mod tmux;
pub mod zeek;

pub fn tcplens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tcplens"))
}

pub fn run(args: &[&str]) -> Output {
    tcplens().args(args).output().expect("run tcplens")
}

/// The path of `fixtures/NAME`, as an argument.
pub fn fixture(name: &str) -> String {
    root()
        .join("fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// stdout of a tcplens run that must succeed.
pub fn stdout_of(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn captures_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| {
        matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng" | "cap")
        )
    });
    files.sort();
    files
}

/// Recorded fixtures (fixtures/*.pcap, fixtures/*.pcapng).
pub fn fixtures() -> Vec<PathBuf> {
    captures_in(&root().join("fixtures"))
}

/// Captures in ../shared/corpus, or None (with a visible message) when ../shared is absent.
pub fn corpus() -> Option<Vec<PathBuf>> {
    shared("corpus")
}

/// Captures in ../shared/external (public test captures: MANIFEST.md there), or None.
pub fn external() -> Option<Vec<PathBuf>> {
    shared("external")
}

/// The traces in ../shared/zeek, or None. A `.gz` trace is unpacked with gzip(1) into a temp
/// dir (tcplens reads no gzip; flate2 is not a dependency); skipped, visibly, without gzip.
pub fn zeek_traces() -> Option<Vec<PathBuf>> {
    let mut files = shared("zeek")?;
    let dir = root().join("../shared/zeek");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".pcap.gz") || n.ends_with(".pcapng.gz"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for name in names {
        let Ok(out) = Command::new("gzip")
            .arg("-dc")
            .arg(dir.join(&name))
            .output()
        else {
            eprintln!("skipped {name}: gzip(1) is missing to unpack it");
            continue;
        };
        assert!(out.status.success(), "gzip -dc {name} failed");
        let unpacked = temp_dir("zeek-gz").join(name.trim_end_matches(".gz"));
        std::fs::write(&unpacked, out.stdout).expect("write the unpacked trace");
        files.push(unpacked);
    }
    Some(files)
}

fn shared(name: &str) -> Option<Vec<PathBuf>> {
    let dir = root().join("../shared").join(name);
    if !dir.is_dir() {
        eprintln!("skipped: ../shared/{name} is absent, its comparisons not run");
        return None;
    }
    Some(captures_in(&dir))
}

/// The protocols tcplens decodes, which every oracle profile keeps enabled.
const KEEP: &[&str] = &[
    "frame",
    "eth",
    "vlan",
    "sll",
    "null",
    "raw",
    "ip",
    "ipv6",
    // IPv6 extension headers tcplens walks through (etherparse), and the fragment header,
    // whose fragments it reassembles as tshark does (decode/defrag.rs; IPv4's reassembly is
    // a preference of "ip", on by default).
    "ipv6.fraghdr",
    "ipv6.hopopts",
    "ipv6.routing",
    "ipv6.dstopts",
    "tcp",
    "udp",
    "icmp",
    "icmpv6",
    "arp",
    "data",
    "ethertype",
    "ieee8021ad",
    "pcap_pktdata",
];

/// The link types and encapsulations tcplens decodes down to TCP (decode/link.rs,
/// decode/encap.rs), kept by the packet oracle's profile (tests/oracle.rs). The display-filter
/// oracle keeps the narrower profile: `frame.protocols` names only KEEP's layers.
const ENCAPSULATIONS: &[&str] = &[
    "ppp",
    "chdlc",
    "mpls",
    "pwethheuristic",
    "pppoes",
    "ieee8021ah",
    "vntag",
    "cfp",
    "gre",
    "erspan",
    "vxlan",
    "geneve",
    "gtp",
    "nflog",
    "wlan",
    "wlan_radio",
    "radiotap",
    "llc",
    "arcnet",
    "juniper",
    "ipoib",
];

/// XDG_CONFIG_HOME holding a Wireshark profile "tcplens-oracle" with every protocol except
/// `keep` disabled, so tshark's Info is the TCP layer's.
fn profile(name: &str, keep: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tcplens-{name}-{}", std::process::id()));
    let profile = dir.join("wireshark/profiles/tcplens-oracle");
    std::fs::create_dir_all(&profile).expect("create profile dir");
    let out = Command::new("tshark")
        .args(["-G", "protocols"])
        .output()
        .expect("tshark is required for the oracle tests: apt-get install tshark (see README)");
    let disabled: String = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split('\t').nth(2))
        .filter(|name| !keep.contains(name))
        .map(|name| format!("{name}\n"))
        .collect();
    std::fs::write(profile.join("disabled_protos"), disabled).expect("write profile");
    dir
}

/// The profile with only the layers of KEEP enabled.
pub fn tshark_config() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| profile("oracle", KEEP))
}

/// The profile with KEEP and every encapsulation tcplens decodes enabled.
pub fn tshark_encap_config() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| profile("oracle-encap", &[KEEP, ENCAPSULATIONS].concat()))
}

/// tshark with the oracle profile.
pub fn tshark() -> Command {
    let mut c = Command::new("tshark");
    c.env("XDG_CONFIG_HOME", tshark_config())
        .args(["-C", "tcplens-oracle"]);
    c
}

/// tshark with the encapsulations' profile: every layer tcplens decodes, and no other.
pub fn tshark_encap() -> Command {
    let mut c = Command::new("tshark");
    c.env("XDG_CONFIG_HOME", tshark_encap_config())
        .args(["-C", "tcplens-oracle"]);
    c
}

/// A directory of this test process's own under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tcplens-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of the binary that user nobody may run (the build tree is often root's alone).
pub fn world_executable_copy() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("nobody");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.join("tcplens");
    std::fs::copy(env!("CARGO_BIN_EXE_tcplens"), &bin).expect("copy the binary");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

pub fn euid() -> u32 {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a uid")
}

/// As root: tcplens run as user nobody without capabilities (setpriv), to see what an
/// unprivileged user sees. None when setpriv is missing.
pub fn unprivileged() -> Option<Command> {
    Command::new("setpriv").arg("--version").output().ok()?;
    let bin = world_executable_copy();
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
    ])
    .arg(&bin)
    .current_dir(bin.parent().unwrap_or(Path::new("/")));
    Some(cmd)
}
