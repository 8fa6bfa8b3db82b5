//! Values as `tshark -T fields` prints them (epan/ftypes: `fvalue_to_string_repr` with
//! FTREPR_DISPLAY): decimal integers, `0x`-prefixed hex for hex-based fields, 1/0 for flags,
//! times with nanosecond digits, colon-separated MAC addresses, bytes as contiguous hex.

use std::fmt::Write;

use super::{Kind, Value};

/// Appends `value` (an occurrence of a field of type `kind`) to `out`.
pub fn value(out: &mut String, kind: Kind, value: &Value<'_>) {
    match value {
        // FT_NONE with bytes (`tcp.options.sack_perm`) prints them; a bare label prints 1.
        Value::Present(b) if kind == Kind::None && !b.is_empty() => hex(out, b),
        Value::Present(_) => out.push('1'),
        Value::Bool(b) => out.push(if *b { '1' } else { '0' }),
        Value::UInt(v) => match kind {
            Kind::Hex { digits } => {
                let _ = write!(out, "0x{v:0width$x}", width = digits as usize);
            }
            _ => {
                let _ = write!(out, "{v}");
            }
        },
        Value::Int(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Float(v) => {
            let _ = write!(out, "{v}");
        }
        Value::RelTime(ns) | Value::AbsTime(ns) => seconds(out, *ns),
        Value::Ipv4(a) => {
            let _ = write!(out, "{a}");
        }
        Value::Ipv6(a) => {
            let _ = write!(out, "{a}");
        }
        Value::Ether(m) => {
            for (i, b) in m.iter().enumerate() {
                if i > 0 {
                    out.push(':');
                }
                let _ = write!(out, "{b:02x}");
            }
        }
        Value::Bytes(b) => hex(out, b),
        Value::Str(s) => out.push_str(s),
    }
}

/// Seconds with nine decimals, as Wireshark prints relative and epoch times.
pub fn seconds(out: &mut String, ns: i128) {
    let sign = if ns < 0 { "-" } else { "" };
    let abs = ns.unsigned_abs();
    let _ = write!(
        out,
        "{sign}{}.{:09}",
        abs / 1_000_000_000,
        abs % 1_000_000_000
    );
}

fn hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn shown(kind: Kind, v: Value<'_>) -> String {
        let mut s = String::new();
        value(&mut s, kind, &v);
        s
    }

    #[test]
    fn values_print_as_tshark_fields_print_them() {
        assert_eq!(shown(Kind::Hex { digits: 4 }, Value::UInt(0x12)), "0x0012");
        assert_eq!(shown(Kind::Hex { digits: 2 }, Value::UInt(2)), "0x02");
        assert_eq!(shown(Kind::UInt, Value::UInt(5200)), "5200");
        assert_eq!(shown(Kind::Bool, Value::Bool(false)), "0");
        assert_eq!(shown(Kind::RelTime, Value::RelTime(23_000)), "0.000023000");
        assert_eq!(
            shown(Kind::RelTime, Value::RelTime(-1_500_000_000)),
            "-1.500000000"
        );
        assert_eq!(
            shown(Kind::Ether, Value::Ether([0, 0x1b, 0, 0, 0xab, 1])),
            "00:1b:00:00:ab:01"
        );
        assert_eq!(
            shown(Kind::Bytes, Value::Bytes(Cow::Borrowed(b"Hi"))),
            "4869"
        );
        assert_eq!(shown(Kind::None, Value::Present(&[])), "1");
        assert_eq!(shown(Kind::None, Value::Present(&[4, 2])), "0402");
    }
}
