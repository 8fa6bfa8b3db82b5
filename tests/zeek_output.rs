//! `--zeek`: the conn.log tcplens writes, read back as zeek-cut reads it, against Zeek's own
//! conn.log baselines (../shared/zeek, field by field: every column both logs have except the
//! masked `ts`/`uid`, `service` and `tunnel_parents`) and against the lines Zeek's rules give
//! for each fixture (fixtures/zeek/*.conn). The connections tests/zeek.rs sets aside are set
//! aside here too, for the same reasons (tests/common/zeek.rs). Also: the header lines, the
//! JSON form's keys and values, the Community ID, and a golden file of one fixture.

mod common;
#[path = "common/pcapgen.rs"]
mod pcapgen;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::Value;

use common::zeek::{Compare, EXCLUSIONS, readable};

/// conn.log's columns and types as `--zeek` writes them (Zeek 6's `Conn::Info`, then
/// `community_id`).
const FIELDS: &[(&str, &str)] = &[
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("service", "string"),
    ("duration", "interval"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "string"),
    ("local_orig", "bool"),
    ("local_resp", "bool"),
    ("missed_bytes", "count"),
    ("history", "string"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
    ("community_id", "string"),
];

/// Columns not compared with Zeek's baselines: btest masks ts and uid, `service` needs Zeek's
/// application analyzers, `tunnel_parents` the uid of a tunnel connection tcplens does not
/// log.
const NOT_COMPARED: &[&str] = &["ts", "uid", "service", "tunnel_parents"];

/// A log as zeek-cut reads it: the `#fields` columns and the rows, each a column → value map.
struct Log {
    fields: Vec<String>,
    types: Option<Vec<String>>,
    /// The `#` lines by key (`#path conn` → ("path", "conn")); btest's masked `#open XXXX`
    /// keeps its value after the space.
    meta: HashMap<String, String>,
    rows: Vec<HashMap<String, String>>,
    /// The last line was `#close`.
    closed: bool,
}

impl Log {
    fn parse(text: &str) -> Log {
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("###")).collect();
        let mut meta = HashMap::new();
        let mut fields = None;
        let mut types = None;
        let mut rows = Vec::new();
        // zeek-cut's output (and some baselines): no `#` lines, the first line names the
        // columns.
        let headerless = !lines.first().is_some_and(|l| l.starts_with('#'));
        for (i, line) in lines.iter().enumerate() {
            if let Some(rest) = line.strip_prefix('#') {
                let (key, value) = rest.split_once(['\t', ' ']).expect("a # line has a value");
                meta.insert(key.to_string(), value.to_string());
                match key {
                    "fields" => fields = Some(split(value)),
                    "types" => types = Some(split(value)),
                    _ => {}
                }
                continue;
            }
            if headerless && i == 0 {
                fields = Some(split(line));
                continue;
            }
            let names = fields.as_ref().expect("#fields before the rows");
            let values = split(line);
            assert_eq!(
                values.len(),
                names.len(),
                "a row of {} columns: {line}",
                names.len()
            );
            // Zeek's field-name-map test renames the id fields; they mean the same.
            let name = |n: &str| match n {
                "src_ip" => "id.orig_h".to_string(),
                "src_port" => "id.orig_p".to_string(),
                "dst_ip" => "id.resp_h".to_string(),
                "dst_port" => "id.resp_p".to_string(),
                n => n.to_string(),
            };
            rows.push(names.iter().map(|n| name(n)).zip(values).collect());
        }
        Log {
            fields: fields.expect("a #fields line or a column line"),
            types,
            meta,
            rows,
            closed: lines.last().is_some_and(|l| l.starts_with("#close")),
        }
    }

    /// The TCP rows (a log without a proto column is taken as TCP only).
    fn tcp(&self) -> impl Iterator<Item = &HashMap<String, String>> {
        self.rows
            .iter()
            .filter(|r| r.get("proto").is_none_or(|p| p == "tcp"))
    }
}

fn split(s: &str) -> Vec<String> {
    s.split('\t').map(str::to_string).collect()
}

fn zeek_tsv(trace: &Path, filter: Option<&str>) -> String {
    let mut args = vec![
        "read".to_string(),
        trace.to_string_lossy().into_owned(),
        "--zeek".into(),
    ];
    args.extend(
        filter
            .into_iter()
            .flat_map(|f| f.split(' ').map(str::to_string)),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    common::stdout_of(&args)
}

type Row = HashMap<String, String>;

fn tuple(r: &Row) -> Option<[&str; 4]> {
    Some([
        r.get("id.orig_h")?,
        r.get("id.orig_p")?,
        r.get("id.resp_h")?,
        r.get("id.resp_p")?,
    ])
    .map(|v| v.map(String::as_str))
}

/// Same connection, either orientation (None: the baseline does not name it).
fn same_pair(a: &Row, b: &Row) -> bool {
    match (tuple(a), tuple(b)) {
        (Some([h1, p1, h2, p2]), Some(t)) => t == [h1, p1, h2, p2] || t == [h2, p2, h1, p1],
        _ => true,
    }
}

/// Our row for a baseline row: the same 4-tuple, then (repeated 4-tuples, or baselines
/// without one) the same packet counts, then the same duration.
fn find(ours: &[Row], used: &HashSet<usize>, z: &Row) -> Result<usize, String> {
    let mut c: Vec<usize> = (0..ours.len())
        .filter(|i| !used.contains(i) && same_pair(&ours[*i], z))
        .collect();
    for key in [["orig_pkts", "resp_pkts"], ["duration", "duration"]] {
        if c.len() > 1 && key.iter().all(|k| z.contains_key(*k)) {
            let narrowed: Vec<usize> = (c.iter().copied())
                .filter(|&i| key.iter().all(|k| ours[i].get(*k) == z.get(*k)))
                .collect();
            if !narrowed.is_empty() {
                c = narrowed;
            }
        }
    }
    match c.as_slice() {
        [i] => Ok(*i),
        [] => Err("no --zeek line".into()),
        _ => Err(format!("{} --zeek lines could be it", c.len())),
    }
}

/// The baseline columns compared for one line, with the value expected in each.
fn expected(z: &Row, compare: Option<Compare>) -> Vec<(String, String)> {
    let letters_only = compare == Some(Compare::LettersOnly);
    z.iter()
        .filter(|(k, _)| FIELDS.iter().any(|(f, _)| f == k) && !NOT_COMPARED.contains(&k.as_str()))
        .filter(|(k, _)| !letters_only || *k == "history" || *k == "conn_state")
        .map(|(k, v)| {
            let v = match (k.as_str(), compare) {
                ("history", Some(Compare::WithoutX)) => v.replace(['x', 'X'], ""),
                _ => v.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

#[test]
fn zeek_output_equals_zeeks_conn_log_field_by_field() {
    let dir = common::root().join("../shared/zeek");
    if !dir.is_dir() {
        eprintln!("skipped: ../shared/zeek is absent");
        return;
    }
    let pairs: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("pairs.json")).unwrap()).unwrap();
    let mut failures = Vec::new();
    let (mut lines, mut values) = (0, 0);
    let mut columns: HashSet<String> = HashSet::new();
    for pair in pairs["pairs"].as_array().unwrap() {
        let stem = pair["stem"].as_str().unwrap();
        let Some(trace) = readable(&dir, pair["pcap"].as_str().unwrap()) else {
            eprintln!("skipped {stem}: gzip(1) is missing to unpack the trace");
            continue;
        };
        let ours = Log::parse(&zeek_tsv(&trace, pair["filter"].as_str()));
        let ours: Vec<Row> = ours.rows;
        let base = Log::parse(
            &std::fs::read_to_string(dir.join(pair["baseline"].as_str().unwrap())).unwrap(),
        );
        let mut used = HashSet::new();
        for z in base.tcp() {
            let ports = tuple(z).map(|[_, op, _, rp]| (op.parse().unwrap(), rp.parse().unwrap()));
            let ex = EXCLUSIONS
                .iter()
                .find(|e| e.stem == stem && (e.ports.is_none() || e.ports == ports));
            if let Some(e) = ex.filter(|e| e.compare == Compare::Nothing) {
                let _ = e.reason;
                for i in (0..ours.len()).filter(|&i| same_pair(&ours[i], z)) {
                    used.insert(i);
                }
                continue;
            }
            lines += 1;
            let i = match find(&ours, &used, z) {
                Ok(i) => i,
                Err(why) => {
                    failures.push(format!("{stem}: {:?}: {why}", tuple(z)));
                    continue;
                }
            };
            used.insert(i);
            let diffs: Vec<String> = expected(z, ex.map(|e| e.compare))
                .into_iter()
                .filter_map(|(k, want)| {
                    values += 1;
                    columns.insert(k.clone());
                    let got = &ours[i][&k];
                    (*got != want).then(|| format!("{k} {got} ≠ Zeek's {want}"))
                })
                .collect();
            if !diffs.is_empty() {
                failures.push(format!(
                    "{stem} {:?}: {}",
                    tuple(&ours[i]),
                    diffs.join("; ")
                ));
            }
        }
        for (i, r) in ours.iter().enumerate().filter(|(i, _)| !used.contains(i)) {
            let _ = i;
            failures.push(format!(
                "{stem}: --zeek line {:?} is not in Zeek's log",
                tuple(r)
            ));
        }
    }
    let mut columns: Vec<String> = columns.into_iter().collect();
    columns.sort();
    eprintln!("{lines} conn.log lines, {values} values compared; columns: {columns:?}");
    for must in [
        "duration",
        "orig_ip_bytes",
        "resp_ip_bytes",
        "missed_bytes",
        "local_orig",
    ] {
        assert!(columns.iter().any(|c| c == must), "{must} never compared");
    }
    assert!(
        failures.is_empty(),
        "{} difference(s) from Zeek's conn.log:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every fixture's `--zeek` lines against the lines Zeek's rules give for it, packets
/// included: unlike tcplens's own records (tests/zeek.rs `FIXTURE_PACKETS_DIFFER`), conn.log
/// counts a self-connect's segments for Zeek's originator alone, as Zeek does.
#[test]
fn zeek_output_of_every_fixture_gives_its_expected_lines() {
    let dir = common::root().join("fixtures/zeek");
    let mut failures = Vec::new();
    let mut lines = 0;
    for fixture in common::fixtures() {
        let stem = fixture.file_stem().unwrap().to_string_lossy().into_owned();
        let wanted =
            Log::parse(&std::fs::read_to_string(dir.join(format!("{stem}.conn"))).unwrap());
        let ours = Log::parse(&zeek_tsv(&fixture, None)).rows;
        let mut used = HashSet::new();
        for z in wanted.tcp() {
            lines += 1;
            // In tcp.stream order, as the expected lines are: a 4-tuple used twice
            // (port_reuse) takes its lines in turn.
            let Some(i) = (0..ours.len()).find(|i| !used.contains(i) && same_pair(&ours[*i], z))
            else {
                failures.push(format!("{stem}: {:?}: no --zeek line", tuple(z)));
                continue;
            };
            used.insert(i);
            for (k, want) in expected(z, None) {
                let got = &ours[i][&k];
                if *got != want {
                    failures.push(format!("{stem} {:?}: {k} {got} ≠ {want}", tuple(z)));
                }
            }
        }
        if used.len() != ours.len() {
            failures.push(format!(
                "{stem}: {} --zeek lines, {} expected",
                ours.len(),
                used.len()
            ));
        }
    }
    assert!(lines >= common::fixtures().len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// zeek-cut's reading: `#separator` names the tab, `#fields` and `#types` agree in length and
/// name Zeek's types, every row has a value per column, `#close` ends the log.
#[test]
fn the_header_is_zeeks_and_zeek_cut_can_read_it() {
    for fixture in common::fixtures() {
        let text = zeek_tsv(&fixture, None);
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("#separator \\x09"),
            "{}",
            fixture.display()
        );
        for (i, want) in [
            "#set_separator\t,",
            "#empty_field\t(empty)",
            "#unset_field\t-",
            "#path\tconn",
        ]
        .iter()
        .enumerate()
        {
            assert_eq!(lines.next(), Some(*want), "header line {}", i + 2);
        }
        let log = Log::parse(&text);
        let names: Vec<&str> = FIELDS.iter().map(|(n, _)| *n).collect();
        let types: Vec<&str> = FIELDS.iter().map(|(_, t)| *t).collect();
        assert_eq!(log.fields, names);
        assert_eq!(
            log.types
                .as_deref()
                .map(|t| t.iter().map(String::as_str).collect::<Vec<_>>()),
            Some(types)
        );
        for key in ["open", "close"] {
            let date = &log.meta[key];
            // %Y-%m-%d-%H-%M-%S
            assert_eq!(date.len(), 19, "#{key} {date}");
            assert!(
                date.split('-').all(|p| p.parse::<u32>().is_ok()),
                "#{key} {date}"
            );
        }
        assert!(log.closed, "#close ends the log");
        for row in &log.rows {
            assert_eq!(row["proto"], "tcp");
            assert_eq!(row["service"], "-", "no application analyzer: unset");
            assert_eq!(row["tunnel_parents"], "-");
            assert!(
                row["uid"].starts_with('C') && row["uid"].len() == 18,
                "{}",
                row["uid"]
            );
            let (secs, frac) = row["ts"].split_once('.').expect("ts has decimals");
            assert!(
                secs.parse::<u64>().is_ok() && frac.len() == 6,
                "{}",
                row["ts"]
            );
            assert!(row["community_id"].starts_with("1:"));
            assert!(["T", "F"].contains(&row["local_orig"].as_str()));
        }
    }
}

/// `--zeek --json`: one object per line, Zeek's field names in Zeek's order, unset fields
/// left out, and the same values as the TSV.
#[test]
fn json_lines_carry_zeeks_keys_and_the_tsv_values() {
    for fixture in common::fixtures() {
        let path = fixture.to_string_lossy().into_owned();
        let tsv = Log::parse(&zeek_tsv(&fixture, None)).rows;
        let json = common::stdout_of(&["read", &path, "--zeek", "--json"]);
        let objects: Vec<serde_json::Map<String, Value>> = json
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
            .map(|v| v.as_object().expect("an object").clone())
            .collect();
        assert_eq!(objects.len(), tsv.len(), "{path}");
        for (o, row) in objects.iter().zip(&tsv) {
            let keys: Vec<&str> = o.keys().map(String::as_str).collect();
            let order: Vec<&str> = FIELDS
                .iter()
                .map(|(n, _)| *n)
                .filter(|n| keys.contains(n))
                .collect();
            // serde_json sorts its keys; the order on the line is checked below.
            assert_eq!(keys.len(), order.len(), "{path}: unknown keys in {keys:?}");
            for (name, ty) in FIELDS {
                let v = &row[*name];
                match o.get(*name) {
                    None => assert_eq!(v, "-", "{path}: {name} absent but {v} in the TSV"),
                    Some(j) => match *ty {
                        "time" | "interval" => {
                            let f = j.as_f64().expect("a number");
                            assert!((f - v.parse::<f64>().unwrap()).abs() < 1e-6, "{name}")
                        }
                        "port" | "count" => assert_eq!(j.as_u64().unwrap().to_string(), *v),
                        "bool" => assert_eq!(j.as_bool().unwrap(), v == "T"),
                        _ => assert_eq!(j.as_str().unwrap(), v, "{name}"),
                    },
                }
            }
        }
        // The keys on each line in Zeek's order.
        for line in json.lines() {
            let mut at = 0;
            for (name, _) in FIELDS {
                if let Some(p) = line.find(&format!("\"{name}\":")) {
                    assert!(p >= at, "{name} out of order in {line}");
                    at = p;
                }
            }
        }
    }
}

/// The Community ID of the spec's TCP vector (baseline_deflt.json: 128.232.110.120:34855 →
/// 66.35.250.204:80), end to end, in the Zeek output and in tcplens's own connection record;
/// and both outputs agree on every fixture.
#[test]
fn community_id_is_the_specs_and_the_same_in_both_outputs() {
    use pcapgen::{ACK, EN10MB, Seg, pcap};
    let (client, server) = ([128, 232, 110, 120], [66, 35, 250, 204]);
    let seg = |from_client: bool, seq, ack, flags| {
        let mut s = Seg::new(34855, 80, seq, ack, flags);
        if from_client {
            (s.src, s.dst) = (client, server);
        } else {
            (s.src, s.dst) = (server, client);
            (s.sport, s.dport) = (80, 34855);
        }
        s.ethernet()
    };
    const SYN: u8 = 0x02;
    let frames = vec![
        (1_000_000, seg(true, 100, 0, SYN)),
        (1_000_100, seg(false, 500, 101, SYN | ACK)),
        (1_000_200, seg(true, 101, 501, ACK)),
    ];
    let dir = common::temp_dir("zeek_output");
    let file = dir.join("spec_vector.pcap");
    std::fs::write(&file, pcap(EN10MB, &frames)).unwrap();
    let want = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=";
    let zeek = Log::parse(&zeek_tsv(&file, None)).rows;
    assert_eq!(zeek.len(), 1);
    assert_eq!(zeek[0]["community_id"], want);
    assert_eq!(zeek[0]["history"], "ShA");
    assert_eq!(zeek[0]["conn_state"], "S1");
    // Three 40-byte datagrams: the IP bytes are the IP lengths, headers included.
    assert_eq!(
        (
            zeek[0]["orig_ip_bytes"].as_str(),
            zeek[0]["resp_ip_bytes"].as_str()
        ),
        ("80", "40")
    );
    let path = file.to_string_lossy().into_owned();
    let own = common::stdout_of(&["read", &path, "--summary", "--json"]);
    assert!(
        own.contains(&format!("\"community_id\":\"{want}\"")),
        "{own}"
    );

    for fixture in common::fixtures() {
        let path = fixture.to_string_lossy().into_owned();
        let zeek = Log::parse(&zeek_tsv(&fixture, None)).rows;
        let own: Vec<String> = common::stdout_of(&["read", &path, "--summary", "--json"])
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["type"] == "connection")
            .map(|v| v["community_id"].as_str().unwrap().to_string())
            .collect();
        let mut a: Vec<&str> = zeek.iter().map(|r| r["community_id"].as_str()).collect();
        let mut b: Vec<&str> = own.iter().map(String::as_str).collect();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "{path}");
    }
}

/// `--zeek` replaces rows and the summary; `-w -` gives stdout to the capture file alone.
#[test]
fn zeek_takes_stdout_unless_the_capture_file_does() {
    let path = common::fixture("learn_tcp.pcap");
    let out = common::run(&["read", &path, "--zeek", "--summary"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--zeek conflicts with --summary"
    );
    let out = common::run(&["read", &path, "--zeek", "-w", "-"]);
    assert!(out.status.success());
    assert_eq!(
        &out.stdout[..4],
        &0xa1b2_c3d4u32.to_le_bytes(),
        "a pcap, nothing else"
    );
    assert!(
        !out.stdout.windows(5).any(|w| w == b"#path"),
        "no conn.log in the capture file"
    );
    // A filter of connection fields selects whole lines, as it does summary lines.
    let rej = common::stdout_of(&[
        "read",
        &common::fixture("refused.pcap"),
        "--zeek",
        "-Y",
        "tcplens.conn.conn_state == \"REJ\"",
    ]);
    assert_eq!(rej.lines().filter(|l| !l.starts_with('#')).count(), 2);
    let none = common::stdout_of(&[
        "read",
        &path,
        "--zeek",
        "-Y",
        "tcplens.conn.conn_state == \"REJ\"",
    ]);
    assert_eq!(none.lines().filter(|l| !l.starts_with('#')).count(), 0);
    assert!(none.ends_with("\n") && none.lines().last().unwrap().starts_with("#close"));
}
