//! Golden output: `tcplens read FIXTURE --color never` must equal fixtures/golden/NAME.txt
//! exactly, and likewise each variant below (raw numbers, explanations, ladders, JSON). Regenerate
//! after an intended change with `TCPLENS_BLESS=1 cargo test --test golden` and review the diff.

mod common;

use std::path::Path;

/// Output variants kept as golden files: (suffix, extra arguments, the fixtures it is kept
/// for: None for all). Ladders are drawn 100 columns wide whatever the terminal running the
/// tests.
type Variant = (
    &'static str,
    &'static [&'static str],
    Option<&'static [&'static str]>,
);

const VARIANTS: &[Variant] = &[
    ("txt", &[], None),
    ("both.txt", &["--seq", "both"], None),
    ("explain.txt", &["--explain"], None),
    ("ladder.txt", &["--ladder", "--width", "100"], None),
    (
        "ladder.ascii.txt",
        &["--ladder", "--ascii", "--explain", "--width", "90"],
        None,
    ),
    // JSON Lines (docs/json.md) on a few fixtures that between them carry every record type
    // and most keys: a whole connection, a refused one, a mid-stream pickup, analysis labels
    // with a zero window, a simultaneous open. Every fixture's JSON is compared with TShark's
    // fields by the oracle; this pins the schema and the connection records.
    (
        "json",
        &["--json"],
        Some(&[
            "learn_tcp",
            "refused",
            "midstream",
            "zero_window",
            "simultaneous_open",
        ]),
    ),
    // Zeek's conn.log (docs/zeek.md): the header lines, a whole connection, and a port reused
    // (two lines on one 4-tuple, two uids); the JSON form of the first.
    ("zeek.log", &["--zeek"], Some(&["learn_tcp", "port_reuse"])),
    ("zeek.json", &["--zeek", "--json"], Some(&["learn_tcp"])),
];

fn check(fixture: &Path, suffix: &str, extra: &[&str]) -> Option<String> {
    let stem = fixture.file_stem()?.to_string_lossy().into_owned();
    let mut cmd = common::tcplens();
    cmd.arg("read")
        .arg(fixture)
        .args(["--color", "never"])
        .args(extra);
    compare(&format!("{stem}.{suffix}"), cmd)
}

/// The command's stdout against fixtures/golden/NAME (written instead under TCPLENS_BLESS).
fn compare(name: &str, mut cmd: std::process::Command) -> Option<String> {
    let golden = common::root().join("fixtures/golden").join(name);
    let out = cmd.output().expect("run tcplens");
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = String::from_utf8_lossy(&out.stdout).into_owned();
    if std::env::var_os("TCPLENS_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent()?).ok()?;
        std::fs::write(&golden, &got).ok()?;
        return None;
    }
    let want = std::fs::read_to_string(&golden).unwrap_or_default();
    if got == want {
        return None;
    }
    let mut report = format!(
        "{} differs (TCPLENS_BLESS=1 regenerates):\n",
        golden.display()
    );
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        if g != w {
            report += &format!("  line {}\n    want: {w}\n    got:  {g}\n", i + 1);
        }
    }
    let (g, w) = (got.lines().count(), want.lines().count());
    if g != w {
        report += &format!("  {w} lines expected, {g} printed\n");
    }
    Some(report)
}

#[test]
fn rows_match_golden_files() {
    let fixtures = common::fixtures();
    assert!(!fixtures.is_empty(), "no fixtures found in fixtures/");
    let failures: Vec<String> = fixtures
        .iter()
        .flat_map(|f| {
            let stem = f
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            VARIANTS
                .iter()
                .filter(move |(_, _, only)| only.is_none_or(|o| o.contains(&stem.as_str())))
                .filter_map(move |(suffix, extra, _)| check(f, suffix, extra))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The demo as a user without capture privileges sees it: the bundled recording of the
/// articles' experiment, each row and arrow quoting what was said, the ladder and the summary.
#[test]
fn demo_conversation_matches_its_golden_file() {
    let mut cmd = common::tcplens();
    cmd.args(["demo", "--replay", "--color", "never", "--width", "100"]);
    if let Some(report) = compare("demo.replay.txt", cmd) {
        panic!("{report}");
    }
}
