//! Wireshark display filters (`-Y`), as TShark 4.0 reads them (`man wireshark-filter`).
//!
//! Hand-written recursive descent: no maintained crate parses Wireshark's grammar (its own is
//! a lemon grammar in epan/dfilter), and the parser must resolve names against tcplens's field
//! table and report errors with a caret under the offending place. Literals are kept as
//! written ("unparsed", as dfilter calls them) until the field on the other side of the
//! operator says what they must be: `10.0.0.0/8` against `ip.addr`, `48:65` against
//! `tcp.payload`. Compiled once, evaluated per frame without allocating in the common case.
//!
//! Semantics that follow TShark 4.0 (checked with tshark on the fixtures, docs/filters.md):
//! `==` is true when any occurrence equals; `!=` when every occurrence differs and there is
//! at least one (an absent field makes every comparison false); `~=`/`any_ne` when any
//! occurrence differs; `and` binds tighter than `or`; `matches` is a case-insensitive regex;
//! a bare field is true when present, whatever its value.

mod eval;
mod parse;

use crate::fields::{FieldId, FieldSource};

pub use parse::FilterError;

/// A compiled display filter.
pub struct DisplayFilter {
    root: eval::Node,
    fields: Vec<FieldId>,
}

impl DisplayFilter {
    pub fn compile(expr: &str) -> Result<DisplayFilter, FilterError> {
        // tshark -Y '' shows every frame.
        let root = if expr.trim().is_empty() {
            eval::Node::All
        } else {
            parse::parse(expr)?
        };
        let mut fields = Vec::new();
        root.fields(&mut fields);
        fields.sort();
        fields.dedup();
        Ok(DisplayFilter { root, fields })
    }

    pub fn matches(&self, packet: &dyn FieldSource) -> bool {
        self.root.test(packet)
    }

    /// Whether the filter reads a protocol layer's bytes (`frame[12:2]`, `len(ip)`), beyond
    /// the fields whose `Needs` say so.
    pub fn reads_layer_bytes(&self) -> bool {
        self.root.reads_layer_bytes()
    }

    /// Every field the expression names.
    pub fn fields(&self) -> impl Iterator<Item = FieldId> + '_ {
        self.fields.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::collections::HashMap;

    use super::*;
    use crate::fields::{Value, lookup};

    /// A packet made of named field values.
    struct Fake(HashMap<FieldId, Vec<Value<'static>>>);

    impl FieldSource for Fake {
        fn values<'s>(&'s self, field: FieldId, out: &mut Vec<Value<'s>>) {
            out.extend(self.0.get(&field).into_iter().flatten().cloned());
        }
    }

    fn packet(fields: &[(&str, Vec<Value<'static>>)]) -> Fake {
        Fake(
            fields
                .iter()
                .map(|(n, v)| (lookup(n).expect(n), v.clone()))
                .collect(),
        )
    }

    /// A TCP segment 10.0.0.1:5201 → 127.0.0.1:5200 with SYN and "Hello" as payload.
    fn segment() -> Fake {
        packet(&[
            ("tcp", vec![Value::Present(&[])]),
            ("tcp.port", vec![Value::UInt(5201), Value::UInt(5200)]),
            ("tcp.srcport", vec![Value::UInt(5201)]),
            ("tcp.dstport", vec![Value::UInt(5200)]),
            ("tcp.flags", vec![Value::UInt(0x002)]),
            ("tcp.flags.syn", vec![Value::Bool(true)]),
            ("tcp.flags.ack", vec![Value::Bool(false)]),
            ("tcp.payload", vec![Value::Bytes(Cow::Borrowed(b"Hello"))]),
            (
                "ip.addr",
                vec![
                    Value::Ipv4([10, 0, 0, 1].into()),
                    Value::Ipv4([127, 0, 0, 1].into()),
                ],
            ),
            (
                "tcplens.state.client",
                vec![Value::Str(Cow::Borrowed("SYN_SENT"))],
            ),
            ("frame.time_relative", vec![Value::RelTime(1_500_000_000)]),
        ])
    }

    fn matches(expr: &str, p: &Fake) -> bool {
        DisplayFilter::compile(expr)
            .unwrap_or_else(|e| panic!("{e}"))
            .matches(p)
    }

    #[test]
    fn equal_is_any_occurrence_and_not_equal_is_every_occurrence() {
        let p = segment();
        assert!(matches("tcp.port == 5200", &p));
        assert!(!matches("tcp.port != 5200", &p), "one port is 5200");
        assert!(matches("tcp.port ~= 5200", &p), "the other is not");
        assert!(matches("ip.addr != 192.168.0.1", &p));
        assert!(!matches("ip.addr === 127.0.0.1", &p));
    }

    #[test]
    fn an_absent_field_fails_every_comparison_but_not_its_negation() {
        let arp = packet(&[("arp", vec![Value::Present(&[])])]);
        assert!(!matches("tcp.port != 80", &arp));
        assert!(!matches("tcp.port == 80", &arp));
        assert!(matches("!(tcp.port == 80)", &arp));
        assert!(matches("not tcp", &arp));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let p = segment();
        assert!(matches("tcp.port == 1 and udp or tcp", &p));
        assert!(!matches("udp and (tcp.port == 1 or tcp)", &p));
    }

    #[test]
    fn sets_ranges_slices_functions_and_bitwise_and() {
        let p = segment();
        assert!(matches("tcp.port in {80, 443, 5000..5300}", &p));
        assert!(!matches("tcp.port in {80, 443}", &p));
        assert!(matches("tcp.payload[0:2] == 48:65", &p));
        assert!(matches("tcp.payload[-1] == 6f", &p));
        assert!(matches("tcp.payload[1-2] == \"el\"", &p));
        assert!(matches("len(tcp.payload) == 5", &p));
        assert!(matches("tcp.flags & 0x02", &p));
        assert!(!matches("tcp.flags & 0x10", &p));
        assert!(matches("tcp.flags & 0x12 == 0x02", &p));
        assert!(matches("tcp.srcport > tcp.dstport", &p));
        assert!(matches("tcp.srcport - 1 == tcp.dstport", &p));
        assert!(matches("{tcp.dstport + 1} * 2 == 10402", &p));
        assert!(matches("count(tcp.port) == 2", &p));
    }

    #[test]
    fn text_bytes_addresses_and_times_as_wireshark_reads_them() {
        let p = segment();
        assert!(matches("tcp.payload contains \"ell\"", &p));
        assert!(matches("tcp.payload contains 65:6c", &p));
        assert!(
            matches("tcp.payload matches \"^HEL+O$\"", &p),
            "case-insensitive"
        );
        assert!(
            !matches("tcp.payload contains \"ELL\"", &p),
            "contains is exact"
        );
        assert!(matches("ip.addr == 10.0.0.0/8", &p));
        assert!(matches(
            "ip.addr == 127.0.0.1/32 && ip.addr == 10.1.2.3/8",
            &p
        ));
        assert!(matches(
            "frame.time_relative > 1.25 && frame.time_relative < 2",
            &p
        ));
        assert!(matches("tcplens.state.client == \"SYN_SENT\"", &p));
        assert!(matches("upper(tcplens.state.client) contains \"SYN\"", &p));
        assert!(matches("tcp.flags.syn == True && tcp.flags.ack == 0", &p));
        assert!(matches("tcp.flags.ack", &p), "a bare field is presence");
    }

    #[test]
    fn bad_filters_point_at_the_offending_place() {
        let err = |e: &str| DisplayFilter::compile(e).err().expect(e);
        let e = err("tcp.prot == 80");
        assert_eq!(e.at, (0, 8));
        assert!(e.to_string().contains("tcp.port"), "{e}");
        assert!(
            e.to_string()
                .ends_with("\n    tcp.prot == 80\n    ^~~~~~~~"),
            "{e}"
        );
        assert_eq!(err("ip.addr == 300.1.1.1").at, (11, 20));
        assert_eq!(err("tcp.port == \"http\"").at, (12, 18));
        assert!(err("tcp.port == 70000").message.contains("maximum 65535"));
        assert!(err("tcp.port in {80 443}").message.contains("443"));
        assert!(err("tcp.len > 0 xor tcp.len == 0").message.contains("xor"));
        assert!(err("(tcp").message.contains(')'));
        assert!(err("tcp.flags contains 12").message.contains("contains"));
    }

    #[test]
    fn value_names_and_literal_forms() {
        let p = packet(&[
            ("eth.type", vec![Value::UInt(0x86dd)]),
            ("ip.proto", vec![Value::UInt(17)]),
            ("frame.number", vec![Value::UInt(8)]),
        ]);
        assert!(matches("eth.type == IPv6", &p));
        assert!(matches("ip.proto == UDP", &p));
        assert!(matches(
            "frame.number == 010 && frame.number == 0x8 && frame.number == 0b1000",
            &p
        ));
        assert!(
            !matches("frame.number == -1 || frame.number > -1", &p),
            "never equal"
        );
        assert!(matches("", &p), "the empty filter shows every frame");
    }
}
