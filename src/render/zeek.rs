//! `--zeek`: the TCP connections as Zeek's conn.log (docs/zeek.md), in Zeek's ASCII format
//! (tab-separated, with its `#` header lines, for zeek-cut) or, with `--json`, as Zeek's JSON
//! logs write it (one object per line, unset fields left out).
//!
//! The columns are Zeek 5/6's conn.log (base/protocols/conn/main.zeek `Conn::Info`), plus
//! `community_id` as policy/protocols/conn/community-id-logging.zeek appends it. Every value
//! is the tracker's (flow/zeek.rs): this module only orients it by Zeek's originator and
//! formats it.

use std::fmt::Write as _;
use std::net::IpAddr;

use anyhow::Result;
use sha1::{Digest, Sha1};

use super::{End, Sink, push};
use crate::flow::endpoint::Side;
use crate::flow::{Endpoint, Summary};
use crate::source::Timestamp;

/// Zeek's two log formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZeekFormat {
    /// The ASCII writer's TSV (`LogAscii::use_json = F`, the default).
    Tsv,
    /// The ASCII writer with `LogAscii::use_json = T`: JSON Lines, Zeek's field names.
    Json,
}

/// A conn.log column's Zeek type, as the `#types` line names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZeekType {
    Time,
    String,
    Addr,
    Port,
    Enum,
    Interval,
    Count,
    Bool,
    SetString,
}

impl ZeekType {
    pub fn name(self) -> &'static str {
        match self {
            ZeekType::Time => "time",
            ZeekType::String => "string",
            ZeekType::Addr => "addr",
            ZeekType::Port => "port",
            ZeekType::Enum => "enum",
            ZeekType::Interval => "interval",
            ZeekType::Count => "count",
            ZeekType::Bool => "bool",
            ZeekType::SetString => "set[string]",
        }
    }
}

/// conn.log's columns in Zeek's order (`Conn::Info`; `id` expands to its four fields), then
/// `community_id`. Zeek 7.1 appended `ip_proto` after `tunnel_parents`; it is not written,
/// as Zeek 5 and 6 do not write it.
pub const FIELDS: &[(&str, ZeekType)] = &[
    ("ts", ZeekType::Time),
    ("uid", ZeekType::String),
    ("id.orig_h", ZeekType::Addr),
    ("id.orig_p", ZeekType::Port),
    ("id.resp_h", ZeekType::Addr),
    ("id.resp_p", ZeekType::Port),
    ("proto", ZeekType::Enum),
    ("service", ZeekType::String),
    ("duration", ZeekType::Interval),
    ("orig_bytes", ZeekType::Count),
    ("resp_bytes", ZeekType::Count),
    ("conn_state", ZeekType::String),
    ("local_orig", ZeekType::Bool),
    ("local_resp", ZeekType::Bool),
    ("missed_bytes", ZeekType::Count),
    ("history", ZeekType::String),
    ("orig_pkts", ZeekType::Count),
    ("orig_ip_bytes", ZeekType::Count),
    ("resp_pkts", ZeekType::Count),
    ("resp_ip_bytes", ZeekType::Count),
    ("tunnel_parents", ZeekType::SetString),
    ("community_id", ZeekType::String),
];

/// One value of a record, typed as Zeek logs it.
#[derive(Clone, Copy, Debug)]
enum Value<'a> {
    /// Seconds since the epoch, from nanoseconds.
    Time(i128),
    /// Seconds, from nanoseconds.
    Interval(i128),
    Str(&'a str),
    Addr(IpAddr),
    Port(u16),
    Enum(&'static str),
    Count(u64),
    Bool(bool),
    /// A field Zeek leaves unset (`&optional` and never assigned): `-` in TSV, absent in JSON.
    Unset,
}

/// One conn.log line, oriented by Zeek's originator.
struct ConnRecord {
    ts: i128,
    uid: Uid,
    orig: Endpoint,
    resp: Endpoint,
    /// main.zeek's `set_conn` assigns duration and the byte counts only when the connection
    /// lasted (`c$duration > 0secs`): a one-segment connection leaves all three unset.
    lasted: Option<Lasted>,
    conn_state: &'static str,
    missed_bytes: u64,
    orig_pkts: u64,
    orig_ip_bytes: u64,
    resp_pkts: u64,
    resp_ip_bytes: u64,
    community_id: String,
}

/// Duration and payload bytes, set together.
struct Lasted {
    duration: i128,
    orig_bytes: u64,
    resp_bytes: u64,
}

impl ConnRecord {
    fn new(s: &Summary) -> ConnRecord {
        let l = &s.life;
        // The tracker counts by client and server; Zeek by its originator (a `^` flip makes
        // tcplens's server Zeek's originator).
        let (o, r) = match l.zeek_orig {
            Side::Client => (0, 1),
            Side::Server => (1, 0),
        };
        let (orig, resp) = match l.zeek_orig {
            Side::Client => (s.client, s.server),
            Side::Server => (s.server, s.client),
        };
        let duration = l.zeek_last - s.first;
        ConnRecord {
            ts: s.first,
            uid: Uid::new(orig, resp, s.first),
            orig,
            resp,
            lasted: (duration > 0).then(|| Lasted {
                duration,
                orig_bytes: l.zeek_bytes[o],
                resp_bytes: l.zeek_bytes[r],
            }),
            conn_state: l.conn_state.name(),
            missed_bytes: l.missed_bytes,
            orig_pkts: l.zeek_packets[o],
            orig_ip_bytes: l.ip_bytes[o],
            resp_pkts: l.zeek_packets[r],
            resp_ip_bytes: l.ip_bytes[r],
            community_id: s.community_id().to_string(),
        }
    }

    /// The values in [`FIELDS`] order. `history` is taken apart: it borrows the summary.
    fn values<'a>(&'a self, history: &'a str) -> [Value<'a>; 22] {
        use Value::*;
        let lasted = |f: fn(&Lasted) -> Value<'a>| self.lasted.as_ref().map_or(Unset, f);
        [
            Time(self.ts),
            Str(self.uid.as_str()),
            Addr(self.orig.addr),
            Port(self.orig.port),
            Addr(self.resp.addr),
            Port(self.resp.port),
            Enum("tcp"),
            // Zeek's application analyzers name the service; tcplens has none.
            Unset,
            lasted(|l| Interval(l.duration)),
            lasted(|l| Count(l.orig_bytes)),
            lasted(|l| Count(l.resp_bytes)),
            Str(self.conn_state),
            Bool(is_local(self.orig.addr)),
            Bool(is_local(self.resp.addr)),
            Count(self.missed_bytes),
            // `if ( c$history != "" ) c$conn$history = c$history`.
            if history.is_empty() {
                Unset
            } else {
                Str(history)
            },
            Count(self.orig_pkts),
            Count(self.orig_ip_bytes),
            Count(self.resp_pkts),
            Count(self.resp_ip_bytes),
            // Set only for a connection inside a tunnel Zeek analyzed as a connection of its
            // own (its uid); tcplens decapsulates tunnels without tracking them.
            Unset,
            Str(&self.community_id),
        ]
    }
}

/// A Zeek-looking uid: `C` and 17 base62 digits of the first 96 bits of a SHA-1 over the
/// originator, the responder and the first segment's time (ns). Zeek draws its uids at
/// random; these are the same on every run over the same capture, and differ for two
/// connections on the same ports (port reuse starts later).
struct Uid(String);

impl Uid {
    fn new(orig: Endpoint, resp: Endpoint, first: i128) -> Uid {
        let mut h = Sha1::new();
        h.update(b"tcplens uid 1");
        for e in [orig, resp] {
            match e.addr {
                IpAddr::V4(a) => h.update(a.octets()),
                IpAddr::V6(a) => h.update(a.octets()),
            }
            h.update(e.port.to_be_bytes());
        }
        h.update(first.to_be_bytes());
        let digest = h.finalize();
        let mut n = digest[..12]
            .iter()
            .fold(0u128, |n, &b| (n << 8) | u128::from(b));
        // Zeek's alphabet (util.cc `uitoa_n`): digits, then lower case, then upper case.
        const DIGITS: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut s = [b'0'; 18];
        s[0] = b'C';
        // 62^17 > 2^96: 17 digits always suffice.
        for slot in s[1..].iter_mut().rev() {
            *slot = DIGITS[(n % 62) as usize];
            n /= 62;
        }
        Uid(s.iter().map(|&b| b as char).collect())
    }

    fn as_str(&self) -> &str {
        &self.0
    }
}

/// Zeek's `Site::is_local_addr` with its defaults: `Site::local_nets` empty, and
/// `Site::private_address_space_is_local = T` copying `Site::private_address_space`
/// (base/utils/site.zeek: IANA's special-purpose registries, each IPv4 block also as its 6to4
/// form) into it. Zeek's own baselines show it: 192.168.0.4 is `T`, 212.227.15.188 `F`.
fn is_local(addr: IpAddr) -> bool {
    const V4: &[([u8; 4], u8)] = &[
        ([0, 0, 0, 0], 8),
        ([10, 0, 0, 0], 8),
        ([100, 64, 0, 0], 10),
        ([127, 0, 0, 0], 8),
        ([169, 254, 0, 0], 16),
        ([172, 16, 0, 0], 12),
        ([192, 0, 0, 0], 24),
        ([192, 0, 2, 0], 24),
        ([192, 168, 0, 0], 16),
        ([198, 18, 0, 0], 15),
        ([198, 51, 100, 0], 24),
        ([203, 0, 113, 0], 24),
        ([240, 0, 0, 0], 4),
        ([255, 255, 255, 255], 32),
    ];
    const V6: &[(u128, u8)] = &[
        (0, 128),
        (1, 128),
        (0x0064_ff9b_0001 << 80, 48),
        (0x0100 << 112, 64),
        (0x2001 << 112, 23),
        (0x2001_0002 << 96, 48),
        (0x2001_0db8 << 96, 32),
        (0xfc00 << 112, 7),
        (0xfe80 << 112, 10),
    ];
    let in_v4 = |a: u32| {
        V4.iter().any(|&(net, bits)| {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            a & mask == u32::from_be_bytes(net) & mask
        })
    };
    let in_v6 = |a: u128, net: u128, bits: u8| {
        let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
        a & mask == net & mask
    };
    match addr {
        IpAddr::V4(a) => in_v4(u32::from(a)),
        IpAddr::V6(a) => {
            let a = u128::from(a);
            // 2002::/16 (6to4) carries an IPv4 address in bits 16..48: each IPv4 block is
            // also listed as its 6to4 prefix.
            let six_to_four = (a >> 112) == 0x2002 && in_v4((a >> 80) as u32);
            six_to_four || V6.iter().any(|&(net, bits)| in_v6(a, net, bits))
        }
    }
}

/// The `--zeek` sink: conn.log lines as connections leave the tracker.
pub struct ZeekLog {
    format: ZeekFormat,
    /// The header lines have been written (TSV: before the first line).
    opened: bool,
    /// The latest last segment of the connections written, for `#close`.
    latest: Option<i128>,
    line: String,
}

impl ZeekLog {
    pub fn new(format: ZeekFormat) -> ZeekLog {
        ZeekLog {
            format,
            opened: false,
            latest: None,
            line: String::new(),
        }
    }

    /// Zeek's ASCII header (`Ascii::WriteHeader`). `#open` is the capture's first frame (Zeek
    /// writes its wall clock; a capture's own time keeps the output of a file the same on
    /// every run), in UTC.
    fn header(&mut self, out: &mut String, first: Option<Timestamp>) {
        self.opened = true;
        if self.format != ZeekFormat::Tsv {
            return;
        }
        out.push_str("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n");
        out.push_str("#unset_field\t-\n#path\tconn\n#open\t");
        push_date(out, first.map_or(0, |f| f.secs));
        out.push_str("\n#fields");
        for (name, _) in FIELDS {
            out.push('\t');
            out.push_str(name);
        }
        out.push_str("\n#types");
        for (_, ty) in FIELDS {
            out.push('\t');
            out.push_str(ty.name());
        }
        out.push('\n');
    }

    fn record(&mut self, out: &mut String, s: &Summary) {
        let rec = ConnRecord::new(s);
        let values = rec.values(&s.life.history);
        self.latest = Some(self.latest.map_or(s.last, |t| t.max(s.last)));
        match self.format {
            ZeekFormat::Tsv => tsv(out, &values),
            ZeekFormat::Json => json(out, &values),
        }
    }
}

impl Sink for ZeekLog {
    fn per_frame(&self) -> bool {
        false
    }

    fn shows_connections(&self) -> bool {
        true
    }

    fn streams_left(&self) -> bool {
        true
    }

    fn connection(
        &mut self,
        out: &mut String,
        s: &Summary,
        first: Option<Timestamp>,
    ) -> Result<()> {
        if !self.opened {
            self.header(out, first);
        }
        self.record(out, s);
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn std::io::Write, end: &mut End<'_>) -> Result<()> {
        let mut text = std::mem::take(&mut self.line);
        text.clear();
        if !self.opened {
            self.header(&mut text, end.first);
        }
        if let Some(left) = end.left.take() {
            for s in left {
                self.record(&mut text, &s);
                if text.len() >= 1 << 16 {
                    out.write_all(text.as_bytes())?;
                    text.clear();
                }
            }
        }
        if self.format == ZeekFormat::Tsv {
            // `#close`: the last segment of any connection written (else the first frame).
            text.push_str("#close\t");
            let close = self.latest.map_or(end.first.map_or(0, |f| f.secs), |ns| {
                ns.div_euclid(1_000_000_000) as i64
            });
            push_date(&mut text, close);
            text.push('\n');
        }
        out.write_all(text.as_bytes())?;
        self.line = text;
        Ok(())
    }
}

/// One TSV line (`Ascii::DoWrite`): values separated by tabs, unset as `-`.
fn tsv(out: &mut String, values: &[Value<'_>]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match *v {
            Value::Time(ns) | Value::Interval(ns) => push_seconds(out, ns),
            Value::Str(s) => tsv_string(out, s),
            Value::Addr(a) => {
                let _ = write!(out, "{a}");
            }
            Value::Port(p) => push::int(out, p),
            Value::Enum(e) => out.push_str(e),
            Value::Count(n) => push::int(out, n),
            Value::Bool(b) => out.push(if b { 'T' } else { 'F' }),
            Value::Unset => out.push('-'),
        }
    }
    out.push('\n');
}

/// A string as the ASCII writer escapes it: the separator and non-printable bytes as `\xNN`;
/// an empty string is `(empty)`, and one that reads as the unset field is escaped too.
fn tsv_string(out: &mut String, s: &str) {
    if s.is_empty() {
        out.push_str("(empty)");
        return;
    }
    if s == "-" {
        out.push_str("\\x2d");
        return;
    }
    for b in s.bytes() {
        if b == b'\t' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            let _ = write!(out, "\\x{b:02x}");
        } else {
            out.push(b as char);
        }
    }
}

/// One JSON object (Zeek's JSON formatter): Zeek's field names, unset fields left out, times
/// and intervals as numbers of seconds, booleans as true/false, ports as numbers.
fn json(out: &mut String, values: &[Value<'_>]) {
    out.push('{');
    let mut first = true;
    for ((name, _), v) in FIELDS.iter().zip(values) {
        if matches!(v, Value::Unset) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
        match *v {
            Value::Time(ns) | Value::Interval(ns) => json_seconds(out, ns),
            Value::Str(s) => super::json::string(out, s),
            Value::Addr(a) => {
                let _ = write!(out, "\"{a}\"");
            }
            Value::Port(p) => push::int(out, p),
            Value::Enum(e) => super::json::string(out, e),
            Value::Count(n) => push::int(out, n),
            Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
            Value::Unset => {}
        }
    }
    out.push_str("}\n");
}

/// Seconds with 6 decimals, rounded to the microsecond: the ASCII writer's `%.6f` of Zeek's
/// double times and intervals.
fn push_seconds(out: &mut String, ns: i128) {
    let us = (ns + if ns < 0 { -500 } else { 500 }) / 1000;
    let sign = if us < 0 { "-" } else { "" };
    let us = us.unsigned_abs();
    let _ = write!(out, "{sign}{}.{:06}", us / 1_000_000, us % 1_000_000);
}

/// Seconds as Zeek's JSON writes a double (rapidjson's `Writer::Double`: the shortest form
/// that reads back as the same double, with `.0` on a whole number).
fn json_seconds(out: &mut String, ns: i128) {
    let secs = ns as f64 / 1e9;
    // Zeek's times are doubles of the capture's microseconds: round as Zeek reads them.
    let secs = (secs * 1e6).round() / 1e6;
    let start = out.len();
    let _ = write!(out, "{secs}");
    if !out[start..].contains(['.', 'e', 'E']) {
        out.push_str(".0");
    }
}

/// `%Y-%m-%d-%H-%M-%S` in UTC (the ASCII writer's `#open`/`#close` format).
fn push_date(out: &mut String, secs: i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}-{:02}-{:02}-{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_in_zeeks_format() {
        let mut s = String::new();
        push_date(&mut s, 0);
        assert_eq!(s, "1970-01-01-00-00-00");
        s.clear();
        // 2011-03-18 19:06:07 UTC (http/get.trace's first packet, 1300475167).
        push_date(&mut s, 1_300_475_167);
        assert_eq!(s, "2011-03-18-19-06-07");
        s.clear();
        push_date(&mut s, 951_782_400); // a leap day
        assert_eq!(s, "2000-02-29-00-00-00");
    }

    #[test]
    fn seconds_have_six_decimals_and_round_to_the_microsecond() {
        let mut s = String::new();
        push_seconds(&mut s, 60_991_770_000);
        assert_eq!(s, "60.991770");
        s.clear();
        push_seconds(&mut s, 1_300_475_167_096_535_499);
        assert_eq!(s, "1300475167.096535");
        s.clear();
        json_seconds(&mut s, 1_300_475_167_096_535_000);
        assert_eq!(s, "1300475167.096535");
        s.clear();
        json_seconds(&mut s, 2_000_000_000);
        assert_eq!(s, "2.0");
    }

    #[test]
    fn uids_look_like_zeeks_and_differ_by_start() {
        let e = |port| Endpoint {
            addr: "10.0.0.1".parse().unwrap(),
            port,
        };
        let a = Uid::new(e(1), e(2), 5);
        assert_eq!(a.as_str().len(), 18);
        assert!(a.as_str().starts_with('C'));
        assert!(a.as_str()[1..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(a.as_str(), Uid::new(e(1), e(2), 5).as_str());
        assert_ne!(a.as_str(), Uid::new(e(1), e(2), 6).as_str());
    }

    #[test]
    fn local_is_zeeks_private_address_space() {
        for (a, local) in [
            ("192.168.0.4", true),
            ("212.227.15.188", false),
            ("10.0.88.85", true),
            ("141.142.228.5", false),
            ("127.0.0.1", true),
            ("255.255.255.255", true),
            ("::1", true),
            ("fe80::1", true),
            ("2001:db8::1", true),
            ("2607:f8b0:400c:c03::1a", false),
            ("2002:c0a8:0104::1", true),
            ("2002:d4e3:0fbc::1", false),
        ] {
            assert_eq!(is_local(a.parse().unwrap()), local, "{a}");
        }
    }

    #[test]
    fn strings_escape_as_the_ascii_writer() {
        let mut s = String::new();
        tsv_string(&mut s, "");
        tsv_string(&mut s, "a\tb");
        assert_eq!(s, "(empty)a\\x09b");
    }
}
