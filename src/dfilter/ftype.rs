//! Wireshark's field types as the filter compiler needs them: what each type can do (compare,
//! order, contain, slice, add) and how a literal of the filter becomes a value of the type.
//! Integer widths are Wireshark's (`ip.ttl` is FT_UINT8, so `ip.ttl == 256` is refused):
//! [`Kind`] does not say them, so the table of widths lives here.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::fields::{FieldId, Kind, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ft {
    None,
    Protocol,
    Bool,
    /// Unsigned integer of 1, 2, 3, 4 or 8 bytes.
    UInt(u8),
    /// Signed integer of 1, 2, 3, 4 or 8 bytes.
    Int(u8),
    FrameNum,
    Double,
    RelTime,
    Ipv4,
    Ipv6,
    Ether,
    Bytes,
    Str,
}

/// Wireshark's FT_UINT8 fields among tcplens's (others are FT_UINT32 unless listed below).
const UINT8: &[&str] = &[
    "icmp.code",
    "icmp.type",
    "icmpv6.code",
    "icmpv6.type",
    "ip.hdr_len",
    "ip.proto",
    "ip.ttl",
    "ipv6.hlim",
    "ipv6.nxt",
    "tcp.hdr_len",
    "tcp.options.wscale.shift",
];

/// Wireshark's FT_UINT16 fields among tcplens's decimal ones (hex ones take their width from
/// their digits).
const UINT16: &[&str] = &[
    "arp.opcode",
    "ip.frag_offset",
    "ip.len",
    "ipv6.plen",
    "sll.pkttype",
    "tcp.dstport",
    "tcp.options.mss_val",
    "tcp.options.wscale.multiplier",
    "tcp.port",
    "tcp.srcport",
    "tcp.urgent_pointer",
    "tcp.window_size_value",
    "udp.dstport",
    "udp.length",
    "udp.port",
    "udp.srcport",
    "vlan.id",
];

impl Ft {
    pub fn of(id: FieldId) -> Ft {
        let f = id.field();
        match f.kind {
            Kind::Protocol => Ft::Protocol,
            Kind::None => Ft::None,
            Kind::Bool => Ft::Bool,
            Kind::UInt => {
                if UINT8.contains(&f.name) {
                    Ft::UInt(1)
                } else if UINT16.contains(&f.name) {
                    Ft::UInt(2)
                } else {
                    Ft::UInt(4)
                }
            }
            Kind::Hex { digits } => Ft::UInt(match digits {
                0..=2 => 1,
                3..=4 => 2,
                5..=6 => 3,
                7..=8 => 4,
                _ => 8,
            }),
            Kind::Int => Ft::Int(4),
            Kind::FrameNum => Ft::FrameNum,
            Kind::Float => Ft::Double,
            // tshark 4.0 types frame.time_epoch FT_RELATIVE_TIME: seconds, compared as numbers.
            Kind::RelTime | Kind::AbsTime => Ft::RelTime,
            Kind::Ipv4 => Ft::Ipv4,
            Kind::Ipv6 => Ft::Ipv6,
            Kind::Ether => Ft::Ether,
            Kind::Bytes => Ft::Bytes,
            Kind::Str => Ft::Str,
        }
    }

    /// `ftype_name`: FT_UINT16 and so on.
    pub fn name(self) -> String {
        match self {
            Ft::None => "FT_NONE".into(),
            Ft::Protocol => "FT_PROTOCOL".into(),
            Ft::Bool => "FT_BOOLEAN".into(),
            Ft::UInt(n) => format!("FT_UINT{}", u32::from(n) * 8),
            Ft::Int(n) => format!("FT_INT{}", u32::from(n) * 8),
            Ft::FrameNum => "FT_FRAMENUM".into(),
            Ft::Double => "FT_DOUBLE".into(),
            Ft::RelTime => "FT_RELATIVE_TIME".into(),
            Ft::Ipv4 => "FT_IPv4".into(),
            Ft::Ipv6 => "FT_IPv6".into(),
            Ft::Ether => "FT_ETHER".into(),
            Ft::Bytes => "FT_BYTES".into(),
            Ft::Str => "FT_STRING".into(),
        }
    }

    /// `ftype_pretty_name`: what tshark's messages call the type.
    pub fn pretty(self) -> String {
        let bytes = |n: u8| {
            if n == 1 {
                "1 byte".to_string()
            } else {
                format!("{n} bytes")
            }
        };
        match self {
            Ft::None => "Label".into(),
            Ft::Protocol => "Protocol".into(),
            Ft::Bool => "Boolean".into(),
            Ft::UInt(n) => format!("Unsigned integer ({})", bytes(n)),
            Ft::Int(n) => format!("Signed integer ({})", bytes(n)),
            Ft::FrameNum => "Frame number".into(),
            Ft::Double => "Floating point (double-precision)".into(),
            Ft::RelTime => "Time offset".into(),
            Ft::Ipv4 => "IPv4 address".into(),
            Ft::Ipv6 => "IPv6 address".into(),
            Ft::Ether => "Ethernet or other MAC address".into(),
            Ft::Bytes => "Byte sequence".into(),
            Ft::Str => "Character string".into(),
        }
    }

    pub fn is_integer(self) -> bool {
        matches!(self, Ft::UInt(_) | Ft::Int(_) | Ft::FrameNum)
    }

    pub fn can_eq(self) -> bool {
        self != Ft::None
    }

    pub fn can_order(self) -> bool {
        self != Ft::None
    }

    pub fn can_contains(self) -> bool {
        matches!(self, Ft::Protocol | Ft::Bytes | Ft::Ether | Ft::Str)
    }

    pub fn can_matches(self) -> bool {
        matches!(self, Ft::Protocol | Ft::Bytes | Ft::Ether | Ft::Str)
    }

    pub fn can_slice(self) -> bool {
        matches!(
            self,
            Ft::Protocol | Ft::Bytes | Ft::Ether | Ft::Str | Ft::Ipv4 | Ft::Ipv6
        )
    }

    /// Compared as bytes without a conversion (`is_bytes_type`).
    pub fn is_bytes(self) -> bool {
        matches!(self, Ft::Bytes | Ft::Ether | Ft::Ipv6)
    }

    pub fn can_neg(self) -> bool {
        matches!(self, Ft::UInt(_) | Ft::Int(_) | Ft::Double | Ft::RelTime)
    }

    pub fn can(self, op: super::parse::ArithOp) -> bool {
        use super::parse::ArithOp::*;
        match op {
            Add | Sub => matches!(self, Ft::UInt(_) | Ft::Int(_) | Ft::Double | Ft::RelTime),
            Mul | Div => matches!(self, Ft::UInt(_) | Ft::Int(_) | Ft::Double),
            Mod => matches!(self, Ft::UInt(_) | Ft::Int(_)),
            BitAnd => matches!(
                self,
                Ft::UInt(_) | Ft::Int(_) | Ft::Ipv4 | Ft::Ipv6 | Ft::Bytes | Ft::Ether
            ),
        }
    }

    /// `compatible_ftypes`: whether two fields of these types may be compared.
    pub fn compatible(self, b: Ft) -> bool {
        let small_int = |t: Ft| {
            matches!(
                t,
                Ft::UInt(1..=4) | Ft::Int(1..=4) | Ft::FrameNum | Ft::Bool
            )
        };
        let any_int = |t: Ft| matches!(t, Ft::UInt(_) | Ft::Int(_) | Ft::FrameNum | Ft::Bool);
        match self {
            Ft::UInt(1..=4) | Ft::FrameNum | Ft::Int(1..=4) => small_int(b),
            Ft::UInt(_) | Ft::Int(_) => any_int(b),
            Ft::Double => b == Ft::Double,
            Ft::Ether | Ft::Bytes => matches!(b, Ft::Ether | Ft::Bytes),
            _ => self == b,
        }
    }

    /// The largest value a literal of this unsigned type may have.
    fn umax(self) -> u64 {
        match self {
            Ft::UInt(n) if n < 8 => (1u64 << (u32::from(n) * 8)) - 1,
            Ft::FrameNum => u64::from(u32::MAX),
            _ => u64::MAX,
        }
    }

    fn imax(self) -> i64 {
        match self {
            Ft::Int(n) if n < 8 => (1i64 << (u32::from(n) * 8 - 1)) - 1,
            _ => i64::MAX,
        }
    }
}

/// A constant of a filter: a value, and for addresses the prefix of a CIDR block.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Const {
    pub value: Value<'static>,
    /// Prefix length of `10.0.0.0/8`, `fe80::/10`: compared under that mask.
    pub prefix: Option<u8>,
}

impl Const {
    pub fn new(value: Value<'static>) -> Const {
        Const {
            value,
            prefix: None,
        }
    }
}

/// Integer literal forms of 4.0: decimal, `0x` hex, `0` octal, `0b` binary.
fn parse_uint(s: &str) -> Result<u64, String> {
    let bad = || format!("\"{s}\" is not a valid number.");
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if let Some(b) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
        (b, 2)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(bad());
    }
    u64::from_str_radix(digits, radix).map_err(|_| format!("\"{s}\" causes an integer overflow."))
}

fn cannot_from_string(ft: Ft, s: &[u8]) -> String {
    format!(
        "{} cannot be converted from a string (\"{}\").",
        ft.pretty(),
        escape(s)
    )
}

/// Bytes as tshark shows them in messages: printable ASCII kept, the rest `\xNN`.
pub(crate) fn escape(s: &[u8]) -> String {
    let mut out = String::new();
    for &c in s {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out
}

/// Hex byte strings: `48:65:6c`, `48-65`, `48.65`, `48656c`, or a single hex digit or pair.
pub(crate) fn parse_bytes(s: &str) -> Option<Vec<u8>> {
    let sep = s.bytes().find(|c| matches!(c, b':' | b'-' | b'.'));
    let hex = |p: &str| -> Option<u8> {
        if (1..=2).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_hexdigit()) {
            u8::from_str_radix(p, 16).ok()
        } else {
            None
        }
    };
    match sep {
        Some(sep) => s.split(sep as char).map(hex).collect(),
        None => {
            if s.len() == 1 {
                return hex(s).map(|b| vec![b]);
            }
            if s.is_empty() || !s.len().is_multiple_of(2) {
                return None;
            }
            (0..s.len())
                .step_by(2)
                .map(|i| s.get(i..i + 2).and_then(hex))
                .collect()
        }
    }
}

/// `sec[.frac]`, up to nine fractional digits, as nanoseconds.
fn parse_time(s: &str) -> Option<i128> {
    let (sec, frac) = s.split_once('.').unwrap_or((s, ""));
    if sec.is_empty() || !sec.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if s.contains('.') && (frac.is_empty() || frac.len() > 9) {
        return None;
    }
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let sec: i128 = sec.parse().ok()?;
    let mut ns: i128 = 0;
    for (i, c) in frac.bytes().enumerate() {
        ns += i128::from(c - b'0') * 10i128.pow(8 - i as u32);
    }
    sec.checked_mul(1_000_000_000)?.checked_add(ns)
}

/// A value from an unquoted literal, for a field of type `ft` called `name` (for messages).
/// `partial`: the operand of `contains`, where an address may be a part of one.
pub(crate) fn from_literal(
    ft: Ft,
    s: &str,
    name: Option<&str>,
    partial: bool,
) -> Result<Const, String> {
    let v = match ft {
        Ft::None => return Err(format!("\"{s}\" cannot be converted to {}.", ft.pretty())),
        Ft::Protocol | Ft::Bytes => Value::Bytes(Cow::Owned(literal_bytes(s)?)),
        Ft::Ether => {
            let b = parse_bytes(s)
                .or_else(|| quad_mac(s))
                .ok_or_else(|| format!("\"{s}\" is not a valid Ethernet address."))?;
            if partial {
                Value::Bytes(Cow::Owned(b))
            } else if b.len() < 6 {
                return Err(format!(
                    "\"{s}\" contains too few bytes to be a valid Ethernet address."
                ));
            } else if b.len() > 6 {
                return Err(format!(
                    "\"{s}\" contains too many bytes to be a valid Ethernet address."
                ));
            } else {
                Value::Ether(b.try_into().expect("six bytes"))
            }
        }
        Ft::Bool => {
            let v = match s {
                "True" | "TRUE" => true,
                "False" | "FALSE" => false,
                _ => match parse_uint(s) {
                    Ok(n) => n != 0,
                    Err(_) => return bool_name(s, name).map(Const::new),
                },
            };
            Value::Bool(v)
        }
        Ft::UInt(_) | Ft::FrameNum => {
            // Wireshark's value strings stand for their numbers (`ip.proto == UDP`).
            let named = (name.and_then(crate::fields::lookup))
                .and_then(|id| id.field().values.iter().find(|(n, _)| *n == s))
                .map(|&(_, v)| v);
            let n = match named {
                Some(v) => v,
                None => parse_uint(s)?,
            };
            if n > ft.umax() {
                return Err(format!(
                    "\"{s}\" too big for this field, maximum {}.",
                    ft.umax()
                ));
            }
            Value::UInt(n)
        }
        Ft::Int(_) => {
            let n = parse_uint(s)?;
            if n > ft.imax() as u64 {
                return Err(format!(
                    "\"{s}\" too big for this field, maximum {}.",
                    ft.imax()
                ));
            }
            Value::Int(n as i64)
        }
        Ft::Double => Value::Float(
            s.parse::<f64>()
                .map_err(|_| format!("\"{s}\" is not a valid floating point number."))?,
        ),
        Ft::RelTime => {
            Value::RelTime(parse_time(s).ok_or_else(|| format!("\"{s}\" is not a valid time."))?)
        }
        Ft::Ipv4 => {
            let bad = || format!("\"{s}\" is not a valid hostname or IPv4 address.");
            let (addr, bits) = match s.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (s, None),
            };
            let a: Ipv4Addr = addr.parse().map_err(|_| bad())?;
            let prefix = match bits {
                None => None,
                Some(b) => {
                    let n: u32 = b.parse().map_err(|_| bad())?;
                    if n > 32 {
                        return Err(format!(
                            "Netmask bits in a CIDR IPv4 address should be <= 32, not {n}"
                        ));
                    }
                    Some(n as u8)
                }
            };
            return Ok(Const {
                value: Value::Ipv4(a),
                prefix,
            });
        }
        Ft::Ipv6 => {
            let bad = || format!("\"{s}\" is not a valid hostname or IPv6 address.");
            let (addr, bits) = match s.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (s, None),
            };
            let a: Ipv6Addr = addr.parse().map_err(|_| bad())?;
            let prefix = match bits {
                None => None,
                Some(b) => {
                    let n: u32 = b.parse().map_err(|_| bad())?;
                    if n > 128 {
                        return Err(format!(
                            "Prefix in a IPv6 address should be <= 128, not {n}"
                        ));
                    }
                    Some(n as u8)
                }
            };
            return Ok(Const {
                value: Value::Ipv6(a),
                prefix,
            });
        }
        Ft::Str => Value::Str(Cow::Owned(s.to_string())),
    };
    Ok(Const::new(v))
}

/// A byte string literal, or a hex integer of one byte (`0x48`).
fn literal_bytes(s: &str) -> Result<Vec<u8>, String> {
    let body = s.strip_prefix(':').unwrap_or(s);
    if let Some(b) = parse_bytes(body) {
        return Ok(b);
    }
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))
        && (1..=2).contains(&h.len())
        && h.bytes().all(|c| c.is_ascii_hexdigit())
        && let Ok(v) = u8::from_str_radix(h, 16)
    {
        return Ok(vec![v]);
    }
    Err(format!("\"{s}\" is not a valid byte string."))
}

/// `0011.2233.4455`.
fn quad_mac(s: &str) -> Option<Vec<u8>> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.len() != 4) {
        return None;
    }
    parse_bytes(&parts.concat())
}

/// A Boolean field's value names: Wireshark's flag fields say "Set" and "Not set".
fn bool_name(s: &str, name: Option<&str>) -> Result<Value<'static>, String> {
    if s.eq_ignore_ascii_case("set") {
        Ok(Value::Bool(true))
    } else if s.eq_ignore_ascii_case("not set") {
        Ok(Value::Bool(false))
    } else {
        Err(format!(
            "\"{s}\" cannot be found among the possible values for {}.",
            name.unwrap_or("this field")
        ))
    }
}

/// A value from a double-quoted string.
pub(crate) fn from_string(ft: Ft, s: &[u8], name: Option<&str>) -> Result<Const, String> {
    let v = match ft {
        Ft::Protocol | Ft::Bytes => Value::Bytes(Cow::Owned(s.to_vec())),
        Ft::Str => match std::str::from_utf8(s) {
            Ok(t) => Value::Str(Cow::Owned(t.to_string())),
            // Compared as bytes all the same (string order, see eval).
            Err(_) => Value::Bytes(Cow::Owned(s.to_vec())),
        },
        Ft::Bool => {
            let t = std::str::from_utf8(s).map_err(|_| cannot_from_string(ft, s))?;
            bool_name(t, name)?
        }
        _ => return Err(cannot_from_string(ft, s)),
    };
    Ok(Const::new(v))
}

/// A value from a character constant.
pub(crate) fn from_char(ft: Ft, c: u64, text: &str) -> Result<Const, String> {
    let v = match ft {
        Ft::UInt(_) | Ft::FrameNum => {
            if c > ft.umax() {
                return Err(format!(
                    "Character constant {text} (0x{c:02x}) is too big for this field."
                ));
            }
            Value::UInt(c)
        }
        Ft::Int(_) => Value::Int(c as i64),
        Ft::Bool => Value::Bool(c != 0),
        Ft::Protocol | Ft::Bytes if c <= 0xff => Value::Bytes(Cow::Owned(vec![c as u8])),
        Ft::Str => match char::from_u32(c as u32) {
            Some(ch) if c > 0x7f && c <= 0xff => {
                // A byte, as in C: not the character U+00NN.
                let _ = ch;
                Value::Bytes(Cow::Owned(vec![c as u8]))
            }
            Some(ch) => Value::Str(Cow::Owned(ch.to_string())),
            None => Value::Bytes(Cow::Owned(vec![c as u8])),
        },
        _ => {
            return Err(format!(
                "Character constant {text} (0x{c:02x}) cannot be converted to {}.",
                ft.pretty()
            ));
        }
    };
    Ok(Const::new(v))
}
