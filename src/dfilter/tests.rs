//! Unit tests over a fake packet: a map from field to its occurrences. Behaviours were checked
//! against tshark 4.0.17 (tests/dfilter_oracle.rs checks them on real captures).

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::DisplayFilter;
use crate::fields::{FieldId, FieldSource, Value, lookup};

#[derive(Default)]
struct Fake(HashMap<FieldId, Vec<Value<'static>>>);

impl FieldSource for Fake {
    fn values<'s>(&'s self, field: FieldId, out: &mut Vec<Value<'s>>) {
        if let Some(v) = self.0.get(&field) {
            out.extend(v.iter().cloned());
        }
    }
}

impl Fake {
    fn with(mut self, name: &str, values: Vec<Value<'static>>) -> Fake {
        self.0.insert(lookup(name).expect(name), values);
        self
    }
}

fn u(n: u64) -> Value<'static> {
    Value::UInt(n)
}

fn bytes(b: &[u8]) -> Value<'static> {
    Value::Bytes(Cow::Owned(b.to_vec()))
}

fn s(t: &str) -> Value<'static> {
    Value::Str(Cow::Owned(t.to_string()))
}

fn ip(a: &str) -> Value<'static> {
    Value::Ipv4(a.parse::<Ipv4Addr>().unwrap())
}

fn ip6(a: &str) -> Value<'static> {
    Value::Ipv6(a.parse::<Ipv6Addr>().unwrap())
}

/// A TCP segment 10.0.0.1:5201 → 10.0.0.2:80 carrying `user1`, SYN clear, ACK set.
fn tcp() -> Fake {
    Fake::default()
        .with("frame", vec![Value::Present(&[])])
        .with("frame.number", vec![u(7)])
        .with("frame.time_relative", vec![Value::RelTime(1_500_000_000)])
        .with("eth", vec![Value::Present(&[])])
        .with(
            "eth.src",
            vec![Value::Ether([0, 0x11, 0x22, 0x33, 0x44, 0x55])],
        )
        .with("ip", vec![Value::Present(&[0x45, 0, 0, 0x3c])])
        .with("ip.addr", vec![ip("10.0.0.1"), ip("10.0.0.2")])
        .with("ip.src", vec![ip("10.0.0.1")])
        .with("ip.dst", vec![ip("10.0.0.2")])
        .with("ip.ttl", vec![u(64)])
        .with("tcp", vec![Value::Present(b"\x14\x51\x00\x50user1")])
        .with("tcp.port", vec![u(5201), u(80)])
        .with("tcp.srcport", vec![u(5201)])
        .with("tcp.dstport", vec![u(80)])
        .with("tcp.flags", vec![u(0x010)])
        .with("tcp.flags.syn", vec![Value::Bool(false)])
        .with("tcp.flags.ack", vec![Value::Bool(true)])
        .with("tcp.flags.str", vec![s("·······A····")])
        .with("tcp.window_size_scalefactor", vec![Value::Int(-1)])
        .with("tcp.payload", vec![bytes(b"user1")])
        .with("tcp.options.sack_le", vec![u(100), u(300)])
        .with("tcp.options.sack_re", vec![u(200), u(400)])
}

/// An ARP frame: no IP, no TCP.
fn arp() -> Fake {
    Fake::default()
        .with("frame", vec![Value::Present(&[])])
        .with("eth", vec![Value::Present(&[])])
        .with("arp", vec![Value::Present(&[])])
        .with("arp.opcode", vec![u(1)])
}

fn ipv6() -> Fake {
    Fake::default()
        .with("ipv6", vec![Value::Present(&[])])
        .with("ipv6.addr", vec![ip6("fe80::1"), ip6("2001:db8::2")])
        .with("ipv6.src", vec![ip6("fe80::1")])
}

#[track_caller]
fn yes(expr: &str, p: &Fake) {
    let f = DisplayFilter::compile(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    assert!(f.matches(p), "{expr} should match");
}

#[track_caller]
fn no(expr: &str, p: &Fake) {
    let f = DisplayFilter::compile(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    assert!(!f.matches(p), "{expr} should not match");
}

/// The error's Display: message, expression, caret line.
#[track_caller]
fn err(expr: &str) -> String {
    match DisplayFilter::compile(expr) {
        Ok(_) => panic!("{expr} should not compile"),
        Err(e) => e.to_string(),
    }
}

#[track_caller]
fn err_at(expr: &str, message: &str, caret: &str) {
    let shown = err(expr);
    let want = format!("{message}\n    {expr}\n    {caret}");
    assert_eq!(shown, want, "for {expr}");
}

#[test]
fn equality_operators_in_every_spelling() {
    let p = tcp();
    for e in [
        "tcp.srcport == 5201",
        "tcp.srcport eq 5201",
        "tcp.srcport any_eq 5201",
    ] {
        yes(e, &p);
    }
    for e in [
        "tcp.srcport != 5200",
        "tcp.srcport ne 5200",
        "tcp.srcport all_ne 5200",
    ] {
        yes(e, &p);
    }
    for e in ["tcp.srcport === 5201", "tcp.srcport all_eq 5201"] {
        yes(e, &p);
    }
    for e in [
        "tcp.srcport !== 5200",
        "tcp.srcport ~= 5200",
        "tcp.srcport any_ne 5200",
    ] {
        yes(e, &p);
    }
}

#[test]
fn ordering_operators_in_every_spelling() {
    let p = tcp();
    for e in [
        "tcp.srcport > 5200",
        "tcp.srcport gt 5200",
        "tcp.srcport >= 5201",
        "tcp.srcport ge 5201",
        "tcp.srcport < 5202",
        "tcp.srcport lt 5202",
        "tcp.srcport <= 5201",
        "tcp.srcport le 5201",
    ] {
        yes(e, &p);
    }
    no("tcp.srcport > 5201", &p);
    no("tcp.srcport < 5201", &p);
}

#[test]
fn double_equals_is_any_occurrence_and_not_equals_is_all_occurrences() {
    let p = tcp(); // tcp.port 5201 and 80
    yes("tcp.port == 80", &p);
    yes("tcp.port == 5201", &p);
    // != is "no occurrence equal": the negation of ==.
    no("tcp.port != 80", &p);
    yes("tcp.port != 443", &p);
    // === all equal, !== any not equal.
    no("tcp.port === 80", &p);
    yes("tcp.port !== 80", &p);
    yes("tcp.port ~= 80", &p);
}

#[test]
fn any_and_all_prefixes_override_the_operator() {
    let p = tcp();
    yes("all tcp.port > 79", &p);
    no("all tcp.port > 80", &p);
    yes("any tcp.port > 80", &p);
    no("all tcp.port == 80", &p);
    yes("any tcp.port === 80", &p);
    yes("any tcp.port != 80", &p);
    yes("all tcp.payload contains \"user\"", &p);
}

#[test]
fn absent_field_makes_every_comparison_false_even_not_equals() {
    let p = arp();
    no("tcp.port == 80", &p);
    no("tcp.port != 80", &p);
    no("tcp.port !== 80", &p);
    no("tcp.port === 80", &p);
    no("tcp.port > 0", &p);
    no("tcp.payload contains 00", &p);
    no("tcp.port in {80}", &p);
    // `not` negates the test with its presence check.
    yes("not tcp.port == 80", &p);
    yes("!tcp", &p);
}

#[test]
fn bare_field_is_presence_even_when_its_value_is_zero() {
    let p = tcp();
    yes("tcp", &p);
    yes("tcp.flags.syn", &p); // present, value 0
    yes("tcp.flags.syn == 0", &p);
    no("udp", &p);
    no("tcp.analysis.flags", &p);
    yes("not tcp.analysis.flags", &p);
}

#[test]
fn and_binds_tighter_than_or_and_not_tighter_than_and() {
    let p = tcp();
    // A or (B and C): true by A.
    yes(
        "tcp.srcport == 5201 or tcp.flags.syn == 1 and tcp.flags.ack == 0",
        &p,
    );
    // (A or B) and C: false by C.
    no(
        "(tcp.srcport == 5201 or tcp.flags.syn == 1) and tcp.flags.ack == 0",
        &p,
    );
    // (not A) and B.
    no("not tcp.srcport == 5201 and tcp.flags.ack == 1", &p);
    yes("not (tcp.srcport == 5200 and tcp.flags.ack == 1)", &p);
    yes("tcp.flags.ack == 1 && tcp.srcport == 5201 || udp", &p);
    yes("! udp && ! arp", &p);
    yes("not not tcp", &p);
}

#[test]
fn chained_comparisons_are_a_conjunction() {
    let p = tcp();
    yes("tcp.dstport < tcp.srcport < 6000", &p);
    no("tcp.dstport < tcp.srcport < 5000", &p);
}

#[test]
fn field_against_field() {
    let p = tcp();
    yes("tcp.srcport > tcp.dstport", &p);
    no("tcp.srcport == tcp.dstport", &p);
    yes("ip.src != ip.dst", &p);
    yes("tcp.port == tcp.srcport", &p);
}

#[test]
fn integer_literals_decimal_hex_octal_binary_and_characters() {
    let p = tcp();
    yes("tcp.dstport == 80", &p);
    yes("tcp.dstport == 0x50", &p);
    yes("tcp.dstport == 0X50", &p);
    yes("tcp.dstport == 0120", &p);
    yes("tcp.dstport == 0b1010000", &p);
    yes("tcp.dstport == 'P'", &p);
    yes("tcp.dstport == '\\x50'", &p);
    yes("tcp.dstport == '\\120'", &p);
    yes("tcp.dstport == +80", &p);
}

#[test]
fn integer_literal_out_of_the_fields_width_is_refused() {
    err_at(
        "tcp.port == 70000",
        "\"70000\" too big for this field, maximum 65535.",
        "            ^~~~~",
    );
    err_at(
        "ip.ttl == 256",
        "\"256\" too big for this field, maximum 255.",
        "          ^~~",
    );
    err_at(
        "tcp.port == 5200.0",
        "\"5200.0\" is not a valid number.",
        "            ^~~~~~",
    );
    err_at(
        "tcp.port == 09",
        "\"09\" is not a valid number.",
        "            ^~",
    );
}

#[test]
fn negative_numbers_never_compare_with_unsigned_fields() {
    let p = tcp();
    no("tcp.dstport > -1", &p);
    no("tcp.dstport < -1", &p);
    no("tcp.dstport == -1", &p);
    // all_ne: nothing compared false.
    yes("tcp.dstport != -1", &p);
    yes("tcp.window_size_scalefactor == -1", &p);
    yes("tcp.window_size_scalefactor < 0", &p);
    yes("-tcp.srcport == -5201", &p);
}

#[test]
fn booleans_take_numbers_true_false_and_set() {
    let p = tcp();
    yes("tcp.flags.ack == 1", &p);
    yes("tcp.flags.ack == 2", &p); // any non-zero number is true
    yes("tcp.flags.ack == True", &p);
    yes("tcp.flags.ack == TRUE", &p);
    yes("tcp.flags.syn == False", &p);
    yes("tcp.flags.ack == Set", &p);
    yes("tcp.flags.ack == \"Set\"", &p);
    yes("tcp.flags.ack > 0", &p);
    err_at(
        "tcp.flags.ack == true",
        "\"true\" cannot be found among the possible values for tcp.flags.ack.",
        "                 ^~~~",
    );
}

#[test]
fn relative_times_are_seconds_with_up_to_nine_decimals() {
    let p = tcp();
    yes("frame.time_relative > 1.5 - 0.5", &p);
    yes("frame.time_relative == 1.5", &p);
    yes("frame.time_relative == 1.500000000", &p);
    yes("frame.time_relative > 1", &p);
    yes("frame.time_relative in {1 .. 2.5}", &p);
    err_at(
        "frame.time_relative < 1.0000000001",
        "\"1.0000000001\" is not a valid time.",
        "                      ^~~~~~~~~~~~",
    );
}

#[test]
fn ipv4_addresses_and_cidr_blocks() {
    let p = tcp();
    yes("ip.addr == 10.0.0.1", &p);
    yes("ip.addr == 10.0.0.0/8", &p);
    yes("ip.addr == 10.9.9.9/8", &p); // both sides masked
    yes("ip.src == 10.0.0.1/32", &p);
    yes("ip.addr != 192.168.0.0/16", &p);
    no("ip.addr != 10.0.0.0/8", &p);
    yes("ip.dst > 10.0.0.1", &p);
    yes("ip.addr in {10.0.0.0 .. 10.0.0.1}", &p);
    yes("ip.addr & 255.0.0.0 == 10.0.0.0", &p);
    yes("ip.src[3] == 01", &p);
    err_at(
        "ip.addr == 300.1.1.1",
        "\"300.1.1.1\" is not a valid hostname or IPv4 address.",
        "           ^~~~~~~~~",
    );
    err_at(
        "ip.addr == 10.0.0.0/33",
        "Netmask bits in a CIDR IPv4 address should be <= 32, not 33",
        "           ^~~~~~~~~~~",
    );
    err_at(
        "ip.addr == \"10.0.0.1\"",
        "IPv4 address cannot be converted from a string (\"10.0.0.1\").",
        "           ^~~~~~~~~~",
    );
}

#[test]
fn ipv6_addresses_and_prefixes() {
    let p = ipv6();
    yes("ipv6.addr == fe80::1", &p);
    yes("ipv6.addr == fe80::/10", &p);
    yes("ipv6.addr == 2001:db8::/32", &p);
    no("ipv6.addr == ::1", &p);
    yes("ipv6.addr == 2001:0db8:0:0:0:0:0:2", &p);
    yes("ipv6.src[0] == fe", &p);
    yes("ipv6.addr > ::", &p);
    err_at(
        "ipv6.addr == ::1/129",
        "Prefix in a IPv6 address should be <= 128, not 129",
        "             ^~~~~~~",
    );
}

#[test]
fn mac_addresses_with_colons_hyphens_dots_or_nothing() {
    let p = tcp();
    for e in [
        "eth.src == 00:11:22:33:44:55",
        "eth.src == 00-11-22-33-44-55",
        "eth.src == 00.11.22.33.44.55",
        "eth.src == 0011.2233.4455",
        "eth.src == 001122334455",
        "eth.src[0:3] == 00:11:22",
        "eth.src contains 33:44",
    ] {
        yes(e, &p);
    }
    err_at(
        "eth.src == 00:11:22:33:44",
        "\"00:11:22:33:44\" contains too few bytes to be a valid Ethernet address.",
        "           ^~~~~~~~~~~~~~",
    );
}

#[test]
fn byte_strings_with_any_separator_or_one_byte() {
    let p = tcp();
    for e in [
        "tcp.payload == 75:73:65:72:31",
        "tcp.payload == 75-73-65-72-31",
        "tcp.payload == 75.73.65.72.31",
        "tcp.payload contains 75:73",
        "tcp.payload contains 73",
        "tcp.payload contains 0x73",
        "tcp.payload contains 'u'",
    ] {
        yes(e, &p);
    }
}

#[test]
fn quoted_strings_with_escapes_and_raw_strings() {
    let p = tcp();
    yes("tcp.payload == \"user1\"", &p);
    yes("tcp.payload == \"\\x75ser\\061\"", &p); // hex and octal
    // \u may not spell a basic character (scanner.l's rule).
    assert!(err("tcp.payload == \"\\u0075ser1\"").starts_with("\\u0075 is not a valid"));
    no("tcp.payload == \"user1\\n\"", &p);
    yes("tcp.payload matches r\"^\\x75\"", &p); // raw: the regex sees \x75
    yes("tcp.flags.str contains \"A\"", &p);
    yes(
        "tcp.flags.str == \"\\u00b7\\u00b7\\u00b7\\u00b7\\u00b7\\u00b7\\u00b7A\\u00b7\\u00b7\\u00b7\\u00b7\"",
        &p,
    );
    // Unquoted words are strings for string fields.
    yes("tcp.flags.str contains A", &p);
    err_at(
        "tcp.payload == \"\\q\"",
        "\\q is not a valid character escape sequence",
        "                ^~",
    );
    err_at(
        "tcp.payload == \"abc",
        "The final quote was missing from a quoted string.",
        "                   ^",
    );
    err_at(
        "tcp.payload == \"\\777\"",
        "\\777 is larger than 255.",
        "                ^~~~",
    );
}

#[test]
fn contains_and_matches() {
    let p = tcp();
    yes("tcp.payload contains \"ser\"", &p);
    no("tcp.payload contains \"SER\"", &p); // contains is exact
    yes("tcp.payload matches \"SER\"", &p); // matches is caseless
    no("tcp.payload matches \"(?-i)SER\"", &p);
    yes("tcp.payload ~ \"^user[0-9]$\"", &p);
    yes("tcp contains \"user\"", &p);
    yes("tcp.payload contains \"\"", &p);
    err_at(
        "tcp.payload matches user",
        "Matches requires a double quoted string on the right side.",
        "                    ^~~~",
    );
    err_at(
        "tcp.port contains 80",
        "tcp.port (type=Unsigned integer (2 bytes)) cannot participate in contains comparison.",
        "^~~~~~~~",
    );
    assert!(err("tcp.payload matches \"(\"").starts_with("Regex compilation error: "));
}

#[test]
fn sets_with_commas_ranges_and_not_in() {
    let p = tcp();
    yes("tcp.port in {80, 443}", &p);
    yes("tcp.port in {443, 8000..8080, 79..81}", &p);
    no("tcp.port in {443, 8000..8080}", &p);
    yes("tcp.srcport not in {80, 443}", &p);
    no("tcp.port not in {80}", &p); // not (any port in the set)
    // all: one element must hold every occurrence.
    no("all tcp.port in {80, 5201}", &p);
    yes("all tcp.port in {80..5201}", &p);
    err_at(
        "tcp.port in {80 443}",
        "\"443\" was unexpected in this context.",
        "                ^~~",
    );
    err_at(
        "tcp.port in {80,}",
        "\"}\" was unexpected in this context.",
        "                ^",
    );
}

#[test]
fn bitwise_and_alone_and_compared() {
    let p = tcp(); // flags 0x010
    yes("tcp.flags & 0x10", &p);
    no("tcp.flags & 0x02", &p);
    yes("tcp.flags & 0x12 == 0x10", &p);
    yes("tcp.flags bitwise_and 0x10", &p);
    yes("tcp.payload[0:2] & ff:00 == 75:00", &p);
    no("tcp.payload[0:2] & 00:00", &p); // all zero
    err_at("tcp.flags.syn & 1", "FT_BOOLEAN cannot &.", "^~~~~~~~~~~~~");
}

#[test]
fn slices_in_every_form() {
    let p = tcp(); // payload "user1"
    for e in [
        "tcp.payload[0] == 75",
        "tcp.payload[0:2] == \"us\"",
        "tcp.payload[1-3] == \"ser\"",
        "tcp.payload[-1] == 31",
        "tcp.payload[-2:] == \"r1\"",
        "tcp.payload[:2] == \"us\"",
        "tcp.payload[2:] == \"er1\"",
        "tcp.payload[0,2] == \"ue\"",
        "tcp.payload[0:1,2-3,4:] == \"uer1\"",
        "tcp.payload[0:4][1:2] == \"se\"",
        "tcp[4:4] == \"user\"",
        "tcp.payload[0]",
        "tcp.payload[100:2] != 00:00", // out of range: empty bytes
        "tcp.payload[0,100] == 75",    // keeps what fit before the bad range
    ] {
        yes(e, &p);
    }
    no("tcp.payload[5:]", &p);
    no("tcp.payload[1:10] == \"ser1\"", &p);
    err_at(
        "tcp.payload[4-2]",
        "Range 4-2 isn't valid because 4 is greater or equal than 2",
        "            ^~~",
    );
    err_at(
        "tcp.payload[1:0]",
        "Range 1:0 isn't valid because length 0 isn't positive",
        "            ^~~",
    );
    err_at(
        "tcp.port[0]",
        "\"tcp.port\" is a Unsigned integer (2 bytes) and cannot be sliced into a sequence of bytes.",
        "^~~~~~~~",
    );
}

#[test]
fn functions_len_count_upper_lower_string_max_min_abs() {
    let p = tcp();
    yes("len(tcp.payload) == 5", &p);
    yes("len(tcp.dstport) == 2", &p);
    yes("len(eth.src) == 6", &p);
    yes("count(tcp.port) == 2", &p);
    yes("count(tcp.options.sack_le) == 2", &p);
    no("count(udp.port) == 0", &p); // absent: no value at all
    yes("upper(tcp.flags.str) contains \"A\"", &p);
    yes("lower(tcp.flags.str) contains \"a\"", &p);
    yes("string(tcp.dstport) == \"80\"", &p);
    yes("string(ip.src) == \"10.0.0.1\"", &p);
    yes("string(frame.number) matches \"[13579]$\"", &p);
    yes("max(tcp.srcport, tcp.dstport) == 5201", &p);
    yes("min(tcp.port) == 80", &p);
    yes("max(tcp.dstport, 100) == 100", &p);
    yes("abs(tcp.window_size_scalefactor) == 1", &p);
    err_at(
        "len(tcp.payload)",
        "You cannot test whether a function is present.",
        "^~~",
    );
    err_at("foo(tcp.port) == 1", "Function 'foo' does not exist", "^~~");
    err_at(
        "upper(tcp.payload) contains \"A\"",
        "Only string type fields can be used as parameter for upper()",
        "      ^~~~~~~~~~~",
    );
    err_at(
        "max(tcp.srcport, frame.number) == 1",
        "Arguments to 'max' must have the same type (expected FT_UINT16, got FT_UINT32)",
        "                 ^~~~~~~~~~~~",
    );
}

#[test]
fn arithmetic_with_braces_and_unary_minus() {
    let p = tcp();
    yes("tcp.srcport + 1 == 5202", &p);
    yes("tcp.srcport - 1 == 5200", &p);
    yes("tcp.srcport -1 == 5200", &p);
    yes("tcp.srcport * 2 == 10402", &p);
    yes("tcp.srcport / 2 == 2600", &p);
    yes("tcp.srcport % 2 == 1", &p);
    yes("tcp.dstport * {tcp.srcport + 1} > 5201", &p);
    yes("tcp.port + tcp.port == 5281", &p); // every pair of occurrences
    yes("tcp.srcport == tcp.dstport + 5121", &p);
    no("tcp.srcport / 0 == 0", &p);
    yes("tcp.srcport / 0 != 0", &p); // nothing left, nothing compared false
    yes("-tcp.dstport", &p);
    // tcp.srcport-1 is one word, a name tcplens does not know.
    assert!(err("tcp.srcport-1 == 5200").starts_with("tcplens does not know the field"));
    err_at(
        "1 + 1 == 2",
        "Constant arithmetic expression on the LHS is invalid.",
        "^",
    );
    err_at(
        "frame.time_relative * 2 > 1",
        "FT_RELATIVE_TIME cannot *.",
        "^~~~~~~~~~~~~~~~~~~",
    );
}

#[test]
fn protocols_and_labels() {
    let p = tcp();
    yes("ip[0] == 45", &p);
    yes("len(ip) == 4", &p);
    yes("tcp[0:2] == 14:51", &p);
    no("arp", &p);
    err_at(
        "tcp.analysis.flags == 1",
        "tcp.analysis.flags (type=Label) cannot participate in == comparison.",
        "^~~~~~~~~~~~~~~~~~",
    );
}

#[test]
fn layers_and_references() {
    let p = tcp();
    yes("tcp.port#1 == 80", &p);
    no("tcp.port#2 == 80", &p);
    yes("ip.addr#[1-2] == 10.0.0.1", &p);
    no("${tcp.port} == 80", &p); // no frame is selected
}

#[test]
fn empty_filter_matches_everything() {
    yes("", &arp());
    yes("  \t", &arp());
}

#[test]
fn unknown_fields_name_the_closest_known_ones() {
    err_at(
        "tcp.srcprot == 1",
        "tcplens does not know the field \"tcp.srcprot\" (closest: tcp.srcport, udp.srcport, tcp.dstport).",
        "^~~~~~~~~~~",
    );
    assert!(err("http.request").starts_with("tcplens does not know the field \"http.request\""));
    assert!(err("tcp.port == tcp.srcprot").contains("\"tcp.srcprot\""));
    err_at("1", "1 is neither a field nor a protocol name.", "^");
}

#[test]
fn syntax_errors_point_at_the_unexpected_token() {
    err_at(
        "tcp.port == 80 xor tcp",
        "\"xor\" was unexpected in this context.",
        "               ^~~",
    );
    err_at(
        "tcp.port = 80",
        "\"=\" was unexpected in this context.",
        "         ^",
    );
    err_at(
        "tcp.port == == 80",
        "\"==\" was unexpected in this context.",
        "            ^~",
    );
    err_at(
        "(tcp.port) == 80",
        "\"==\" was unexpected in this context.",
        "           ^~",
    );
    // The end of the expression: the caret after its last character.
    err_at(
        "tcp.port ==",
        "Unexpected end of filter expression.",
        "           ^",
    );
    err_at("(tcp", "Unexpected end of filter expression.", "    ^");
    // Control characters show as blanks, to keep the caret under its place.
    assert_eq!(
        err("tcp.port\u{1}"),
        "Non-printable ASCII characters may only appear inside double-quotes.\n    tcp.port \n            ^"
    );
}

#[test]
fn error_display_is_one_message_line_then_expression_then_caret() {
    let e = DisplayFilter::compile("tcp.port == \"http\"").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Unsigned integer (2 bytes) cannot be converted from a string (\"http\").\n    tcp.port == \"http\"\n                ^~~~~~"
    );
    assert_eq!(e.span(), Some((12, 18)));
    let _: &dyn std::error::Error = &e;
}

#[test]
fn fields_lists_every_field_read_once() {
    let f = DisplayFilter::compile("tcp.port == 80 or tcp.port == 443 and len(tcp.payload) > 1")
        .unwrap();
    let names: Vec<&str> = f.fields().map(|id| id.field().name).collect();
    assert_eq!(names, ["tcp.payload", "tcp.port"]);
    assert_eq!(DisplayFilter::compile("").unwrap().fields().count(), 0);
}

#[test]
fn compiled_filter_is_send_and_sync() {
    fn both<T: Send + Sync>() {}
    both::<DisplayFilter>();
}

#[test]
fn scratch_vectors_are_reused_not_reallocated() {
    let v: Vec<Value<'static>> = Vec::with_capacity(16);
    let ptr = v.as_ptr() as usize;
    let w: Vec<Value<'_>> = super::eval::recycle_for_test(v);
    assert_eq!(w.as_ptr() as usize, ptr);
    assert_eq!(w.capacity(), 16);
}

#[test]
fn arbitrary_input_never_panics() {
    use proptest::prelude::*;
    let tokens = prop::sample::select(vec![
        "tcp",
        "tcp.port",
        "ip.addr",
        "tcp.payload",
        "eth.src",
        "frame.time_relative",
        "==",
        "!=",
        "===",
        "!==",
        "~=",
        ">",
        "<=",
        "and",
        "or",
        "not",
        "!",
        "&&",
        "||",
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        ":",
        "-",
        "+",
        "*",
        "/",
        "%",
        "&",
        "#",
        "$",
        ",",
        "..",
        "in",
        "contains",
        "matches",
        "any",
        "all",
        "len",
        "count",
        "max",
        "abs",
        "upper",
        "string",
        "80",
        "-1",
        "0x10",
        "10.0.0.0/8",
        "::1",
        "fe80::/10",
        "00:11:22:33:44:55",
        "\"ab\\x41\"",
        "r\"\\d\"",
        "'a'",
        "'\\n'",
        "1.5",
        "0:2",
        "1-3",
        "-1",
        "True",
        " ",
        "\"",
        "'",
        "\\",
        "é",
        "\u{0}",
    ]);
    let exprs = prop::collection::vec(tokens, 0..12).prop_map(|v| v.concat());
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 3000,
        ..Default::default()
    });
    let packets = [tcp(), arp(), ipv6()];
    runner
        .run(&exprs, |e| {
            if let Ok(f) = DisplayFilter::compile(&e) {
                for p in &packets {
                    f.matches(p);
                }
            }
            Ok(())
        })
        .unwrap();
    runner
        .run(&".{0,40}", |e| {
            if let Ok(f) = DisplayFilter::compile(&e) {
                for p in &packets {
                    f.matches(p);
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn deep_nesting_is_refused_and_long_chains_are_not() {
    let deep = format!("{}tcp{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(err(&deep).starts_with("The filter is nested too deeply"));
    assert!(err(&format!("{}tcp", "not ".repeat(100_000))).starts_with("The filter is nested"));
    assert!(
        err(&format!(
            "tcp.port == {}1{}",
            "{".repeat(10_000),
            "}".repeat(10_000)
        ))
        .starts_with("The filter is nested")
    );
    assert!(
        err(&format!("tcp.port == 1{}", " + 1".repeat(10_000))).starts_with("The filter is nested")
    );
    assert!(
        err(&format!("tcp.payload{}", "[0]".repeat(10_000))).starts_with("The filter is nested")
    );
    // 10,000 alternatives are one flat list, not a deep tree.
    let long = format!("{}tcp.dstport == 80", "tcp.dstport == 1 or ".repeat(10_000));
    yes(&long, &tcp());
    let long = format!("{}tcp", "tcp and ".repeat(10_000));
    yes(&long, &tcp());
    // Within the limit, nesting works.
    yes(&format!("{}tcp{}", "(".repeat(50), ")".repeat(50)), &tcp());
}

#[test]
fn tcplens_string_fields_take_quoted_and_bare_words() {
    let p = tcp()
        .with("tcplens.phase", vec![s("data")])
        .with("tcplens.state.client", vec![s("ESTABLISHED")])
        .with(
            "tcplens.transition",
            vec![
                s("client:SYN_SENT>ESTABLISHED"),
                s("server:SYN_RCVD>ESTABLISHED"),
            ],
        )
        .with("tcplens.conn.half_closed", vec![Value::Bool(false)]);
    yes("tcplens.phase == \"data\"", &p);
    yes("tcplens.phase == data", &p);
    yes("tcplens.phase in {\"handshake\", \"data\"}", &p);
    yes("tcplens.state.client matches \"^est\"", &p);
    no("tcplens.state.client contains \"est\"", &p);
    yes("tcplens.transition contains \"server:\"", &p);
    no("all tcplens.transition contains \"server:\"", &p);
    yes("tcplens.conn.half_closed == 0", &p);
    yes("tcplens.phase > \"close\"", &p); // string order
    yes("len(tcplens.phase) == 4", &p);
    yes("upper(tcplens.phase) == \"DATA\"", &p);
    // The same fields in a packet without a connection verdict: absent.
    no("tcplens.conn.close == none", &tcp());
    yes("not tcplens.conn.close", &tcp());
}
