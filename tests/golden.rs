//! Golden output: `tcplens read FIXTURE --color never` must equal fixtures/golden/NAME.txt
//! exactly, and likewise each variant below (raw numbers, explanations, ladders). Regenerate
//! after an intended change with `TCPLENS_BLESS=1 cargo test --test golden` and review the diff.

mod common;

use std::path::Path;

/// Output variants kept as golden files: (suffix, extra arguments).
/// Ladders are drawn 100 columns wide whatever the terminal running the tests.
const VARIANTS: &[(&str, &[&str])] = &[
    ("txt", &[]),
    ("both.txt", &["--seq", "both"]),
    ("explain.txt", &["--explain"]),
    ("ladder.txt", &["--ladder", "--width", "100"]),
    (
        "ladder.ascii.txt",
        &["--ladder", "--ascii", "--explain", "--width", "90"],
    ),
];

fn check(fixture: &Path, suffix: &str, extra: &[&str]) -> Option<String> {
    let stem = fixture.file_stem()?.to_string_lossy().into_owned();
    let golden = common::root()
        .join("fixtures/golden")
        .join(format!("{stem}.{suffix}"));
    let out = common::tcplens()
        .arg("read")
        .arg(fixture)
        .args(["--color", "never"])
        .args(extra)
        .output()
        .expect("run tcplens");
    assert!(
        out.status.success(),
        "{stem}: {}",
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
            VARIANTS
                .iter()
                .filter_map(move |(suffix, extra)| check(f, suffix, extra))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
