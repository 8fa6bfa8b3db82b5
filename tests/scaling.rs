//! docs/scaling.md's worked example, run as a user would: every fixture analysed by its own
//! tcplens in parallel, the JSON records and Zeek's conn.log queried with DuckDB and joined on
//! the Community ID (scripts/scaling-example). Its answers are checked against the same
//! records counted here. DuckDB comes from
//! `scripts/setup --test` (a venv under target/); without it the test says so and passes,
//! except under CI, which must run it.

mod common;

use std::collections::BTreeMap;

#[test]
fn duckdb_counts_connections_per_state_and_finds_the_top_retransmitters() {
    let python = common::root().join("target/duckdb-venv/bin/python");
    let has_duckdb = std::process::Command::new(&python)
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_duckdb {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the DuckDB example: scripts/setup --test installs it"
        );
        eprintln!("skipped: DuckDB missing (scripts/setup --test installs it)");
        return;
    }
    let out_dir = common::temp_dir("scaling_example");
    let fixtures = common::fixtures();
    let run = std::process::Command::new(common::root().join("scripts/scaling-example"))
        .arg(&out_dir)
        .args(&fixtures)
        .env("TCPLENS", env!("CARGO_BIN_EXE_tcplens"))
        .env("PYTHON", &python)
        .output()
        .expect("run scripts/scaling-example");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&run.stderr)
    );
    // The same records, counted here.
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    let mut retransmitted = Vec::new();
    for f in &fixtures {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let json = std::fs::read_to_string(out_dir.join(format!("{name}.json"))).unwrap();
        for line in json.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["type"] != "connection" {
                continue;
            }
            *states
                .entry(v["conn_state"].as_str().unwrap().to_string())
                .or_default() += 1;
            let r = v["retransmissions"].as_u64().unwrap();
            if r > 0 {
                retransmitted.push((
                    std::cmp::Reverse(r),
                    name.clone(),
                    v["stream"].as_u64().unwrap(),
                ));
            }
        }
    }
    let mut by_count: Vec<(&String, &usize)> = states.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut want = String::from("connections per conn_state\n");
    for (state, n) in by_count {
        want += &format!("{state}\t{n}\n");
    }
    assert!(
        stdout.starts_with(&want),
        "DuckDB says:\n{stdout}\nwant:\n{want}"
    );
    retransmitted.sort();
    let top: Vec<String> = stdout
        .split("top retransmitters\n")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .take_while(|l| !l.starts_with("joined"))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            format!("{} {} {}", f[0], f[1], f[4])
        })
        .collect();
    let want_top: Vec<String> = retransmitted
        .iter()
        .take(5)
        .map(|(r, name, stream)| format!("{name}.json {stream} {}", r.0))
        .collect();
    assert!(!want_top.is_empty());
    let top = &top[..top.len().min(5)];
    assert_eq!(top, want_top);
    // Every connection record meets its Zeek line on the Community ID.
    let total: usize = states.values().sum();
    let joined = stdout
        .split("joined on community_id\n")
        .nth(1)
        .unwrap_or_default()
        .trim();
    assert_eq!(joined, format!("{total}\t{total}"), "{stdout}");
}
