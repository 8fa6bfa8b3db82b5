//! Zeek's traces and their conn.log baselines (../shared/zeek): the connections tcplens
//! cannot agree on, with their reasons, shared by tests/zeek.rs (the connection records) and
//! tests/zeek_output.rs (`--zeek`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// How an excluded conn.log line is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Not at all: the line and the tcplens connection(s) on its 4-tuple are set aside.
    Nothing,
    /// History and conn_state, not the packet counts.
    LettersOnly,
    /// Everything, with Zeek's `x`/`X` (analysis partial) taken out of its history first.
    WithoutX,
}

pub struct Exclusion {
    pub stem: &'static str,
    /// Zeek's (orig port, resp port); None: every TCP line of the file.
    pub ports: Option<(u16, u16)>,
    pub compare: Compare,
    pub reason: &'static str,
}

pub const EXCLUSIONS: &[Exclusion] = &[
    Exclusion {
        stem: "auth_change_session_keys",
        ports: Some((49159, 20000)),
        compare: Compare::Nothing,
        reason: "every responder segment has a bad TCP checksum (offloading); Zeek, run without \
                 -C, drops them (resp_pkts 0, no SYN/ACK: SAD S0); tcplens does not check checksums",
    },
    Exclusion {
        stem: "chksums__localhost-bad-chksum",
        ports: None,
        compare: Compare::Nothing,
        reason: "bad TCP checksums: Zeek drops those segments and records c/C; tcplens does not \
                 check checksums",
    },
    Exclusion {
        stem: "cisco-fabric-path",
        ports: None,
        compare: Compare::LettersOnly,
        reason: "each SYN is in the trace twice, once inside Cisco FabricPath (Ethertype 0x8903); \
                 Wireshark's FabricPath dissector takes the frame's last 4 bytes as an FCS, which \
                 cuts that copy's TCP header (malformed, not tracked), and tcplens follows \
                 Wireshark; Zeek counts both copies (orig_pkts 2)",
    },
    Exclusion {
        stem: "pop3__pop3",
        ports: Some((26242, 110)),
        compare: Compare::Nothing,
        reason: "a SYN after the RST: Zeek starts a new connection for each of the 3 attempts \
                 (three Sr REJ lines); Wireshark's tcp.stream, and tcplens, keep one stream",
    },
    Exclusion {
        stem: "pop3__pop3",
        ports: Some((26245, 110)),
        compare: Compare::Nothing,
        reason: "a SYN after the RST: Zeek starts a new connection for each of the 3 attempts \
                 (three Sr REJ lines); Wireshark's tcp.stream, and tcplens, keep one stream",
    },
    Exclusion {
        stem: "contentline__nvt-line-limit-crlf-heap-buffer-overflow",
        ports: None,
        compare: Compare::WithoutX,
        reason: "X: Zeek's login analyzer hit its line-length limit (analysis partial)",
    },
    Exclusion {
        stem: "contentline__rsh-long-client-user-no-nul",
        ports: None,
        compare: Compare::WithoutX,
        reason: "X: Zeek's rsh analyzer hit its line-length limit (analysis partial)",
    },
];

/// The trace as a file tcplens reads: a .gz is unpacked with gzip(1) into a temp dir (flate2
/// is not a dependency). None when gzip is missing.
pub fn readable(dir: &Path, name: &str) -> Option<PathBuf> {
    let path = dir.join(name);
    let Some(stem) = name.strip_suffix(".gz") else {
        return Some(path);
    };
    let out = Command::new("gzip").arg("-dc").arg(&path).output().ok()?;
    assert!(out.status.success(), "gzip -dc {name} failed");
    let unpacked = super::temp_dir("zeek").join(stem);
    std::fs::write(&unpacked, out.stdout).expect("write the unpacked trace");
    Some(unpacked)
}
