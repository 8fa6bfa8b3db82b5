//! The compiled expression and how a packet is tested against it.

use std::borrow::Cow;

use crate::fields::{FieldId, FieldSource, Kind, Value};

/// A test: true or false for one packet.
pub enum Node {
    /// The empty filter: every frame.
    All,
    Or(Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Not(Box<Node>),
    /// A bare operand: a field that is present, or an arithmetic result that is not zero.
    Exists(Operand),
    Cmp(Cmp, Operand, Operand),
    Contains(Operand, Operand),
    Matches(Operand, regex::bytes::Regex),
    In(Operand, Vec<Member>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `==`: any occurrence equals.
    Eq,
    /// `===`: every occurrence equals.
    AllEq,
    /// `!=`: every occurrence differs (4.0's all_ne).
    Ne,
    /// `~=`, `!==`: some occurrence differs.
    AnyNe,
    Gt,
    Ge,
    Lt,
    Le,
}

/// One element of a set: a value or an inclusive range.
pub enum Member {
    One(Operand),
    Range(Operand, Operand),
}

/// Something that yields values: a field (maybe sliced), a constant, a function, arithmetic.
pub enum Operand {
    Field(FieldId),
    Slice(Box<Operand>, Vec<Range>),
    Const(V<'static>),
    Len(Box<Operand>),
    Count(FieldId),
    Case(Box<Operand>, bool),
    Arith(Arith, Box<Operand>, Box<Operand>),
    /// No value: a deeper protocol layer, a negative number against an unsigned field.
    Nothing,
    /// `len()` of a fixed-size field: its size in bytes, once per occurrence.
    Sized(FieldId, i128),
    Abs(Box<Operand>),
    /// `string()`: the value as text, as the field's type writes it.
    Text(Box<Operand>, Kind),
    /// `min()` / `max()` (true) over every value of the arguments.
    MinMax(Vec<Operand>, bool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    BitAnd,
}

/// A slice range: `[start:len]`, `[start-end]`, `[start]`, `[:len]`, `[start:]`; negative
/// starts count from the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: i64,
    /// None: to the end.
    pub len: Option<i64>,
}

/// A value as the filter compares it.
#[derive(Clone, Debug, PartialEq)]
pub enum V<'a> {
    /// Integers, booleans (0/1), frame numbers and times in nanoseconds.
    Int(i128),
    Float(f64),
    /// An IPv4 address and the prefix that counts (32 for an address, less for CIDR).
    V4(u32, u8),
    V6(u128, u8),
    /// Bytes, strings, MAC addresses, protocols and slices.
    Bytes(Cow<'a, [u8]>),
}

impl V<'_> {
    pub fn from_value(v: Value<'_>) -> V<'_> {
        match v {
            Value::Present(b) => V::Bytes(Cow::Borrowed(b)),
            Value::Bool(b) => V::Int(b as i128),
            Value::UInt(n) => V::Int(n as i128),
            Value::Int(n) => V::Int(n as i128),
            Value::Float(f) => V::Float(f),
            Value::RelTime(ns) | Value::AbsTime(ns) => V::Int(ns),
            Value::Ipv4(a) => V::V4(a.to_bits(), 32),
            Value::Ipv6(a) => V::V6(a.to_bits(), 128),
            Value::Ether(m) => V::Bytes(Cow::Owned(m.to_vec())),
            Value::Bytes(b) => V::Bytes(b),
            Value::Str(s) => V::Bytes(match s {
                Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                Cow::Owned(s) => Cow::Owned(s.into_bytes()),
            }),
        }
    }

    /// The bytes a slice or `contains` sees.
    fn bytes(&self) -> Cow<'_, [u8]> {
        match self {
            V::Bytes(b) => Cow::Borrowed(b),
            V::V4(a, _) => Cow::Owned(a.to_be_bytes().to_vec()),
            V::V6(a, _) => Cow::Owned(a.to_be_bytes().to_vec()),
            V::Int(n) => Cow::Owned(n.to_be_bytes().to_vec()),
            V::Float(f) => Cow::Owned(f.to_be_bytes().to_vec()),
        }
    }

    fn num(&self) -> Option<f64> {
        match self {
            V::Int(n) => Some(*n as f64),
            V::Float(f) => Some(*f),
            _ => None,
        }
    }
}

fn mask4(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix.min(32))
    }
}

fn mask6(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix.min(128))
    }
}

fn order(a: &V<'_>, b: &V<'_>) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering::Equal;
    match (a, b) {
        (V::Int(x), V::Int(y)) => Some(x.cmp(y)),
        (V::V4(x, p), V::V4(y, q)) => {
            let m = mask4(*p.min(q));
            let (x, y) = (x & m, y & m);
            Some(x.cmp(&y))
        }
        (V::V6(x, p), V::V6(y, q)) => {
            let m = mask6(*p.min(q));
            Some((x & m).cmp(&(y & m)))
        }
        (V::Bytes(x), V::Bytes(y)) => Some(x.cmp(y)),
        _ => match (a.num(), b.num()) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => (a.bytes() == b.bytes()).then_some(Equal),
        },
    }
}

impl Cmp {
    fn holds(self, a: &V<'_>, b: &V<'_>) -> bool {
        use std::cmp::Ordering::*;
        let o = order(a, b);
        match self {
            Cmp::Eq | Cmp::AllEq => o == Some(Equal),
            Cmp::Ne | Cmp::AnyNe => o != Some(Equal),
            Cmp::Gt => o == Some(Greater),
            Cmp::Ge => matches!(o, Some(Greater | Equal)),
            Cmp::Lt => o == Some(Less),
            Cmp::Le => matches!(o, Some(Less | Equal)),
        }
    }
}

impl Node {
    pub fn test(&self, p: &dyn FieldSource) -> bool {
        match self {
            Node::All => true,
            Node::Or(a, b) => a.test(p) || b.test(p),
            Node::And(a, b) => a.test(p) && b.test(p),
            Node::Not(a) => !a.test(p),
            Node::Exists(Operand::Field(id)) => with_values(p, *id, |v| !v.is_empty()),
            Node::Exists(o) => {
                let v = o.eval(p);
                match o {
                    // A bare `a & b` is true when not zero.
                    Operand::Arith(..) => v.iter().any(|v| *v != V::Int(0)),
                    _ => !v.is_empty(),
                }
            }
            // The common cases, a field's presence or a field against a constant: its values
            // go to a buffer kept between packets, not to new lists.
            Node::Cmp(op, Operand::Field(id), Operand::Const(c)) => with_values(p, *id, |v| {
                let holds = |x: &Value<'_>| op.holds(&V::from_value(x.clone()), c);
                match op {
                    Cmp::AllEq | Cmp::Ne => !v.is_empty() && v.iter().all(holds),
                    _ => v.iter().any(holds),
                }
            }),
            Node::Cmp(op, a, Operand::Const(c)) => {
                let a = a.eval(p);
                match op {
                    Cmp::AllEq | Cmp::Ne => !a.is_empty() && a.iter().all(|x| op.holds(x, c)),
                    _ => a.iter().any(|x| op.holds(x, c)),
                }
            }
            Node::Cmp(op, a, b) => {
                let (a, b) = (a.eval(p), b.eval(p));
                match op {
                    // 4.0: all_eq and all_ne are false for an absent field.
                    Cmp::AllEq | Cmp::Ne => {
                        !a.is_empty()
                            && !b.is_empty()
                            && a.iter().all(|x| b.iter().all(|y| op.holds(x, y)))
                    }
                    _ => a.iter().any(|x| b.iter().any(|y| op.holds(x, y))),
                }
            }
            Node::Contains(a, b) => {
                let (a, b) = (a.eval(p), b.eval(p));
                a.iter().any(|x| {
                    b.iter().any(|y| {
                        let (x, y) = (x.bytes(), y.bytes());
                        y.is_empty() || x.windows(y.len()).any(|w| w == &*y)
                    })
                })
            }
            Node::Matches(a, re) => a.eval(p).iter().any(|x| re.is_match(&x.bytes())),
            Node::In(a, set) => {
                let a = a.eval(p);
                a.iter().any(|x| {
                    set.iter().any(|m| match m {
                        Member::One(o) => o.eval(p).iter().any(|y| Cmp::Eq.holds(x, y)),
                        Member::Range(lo, hi) => {
                            lo.eval(p).iter().any(|l| Cmp::Ge.holds(x, l))
                                && hi.eval(p).iter().any(|h| Cmp::Le.holds(x, h))
                        }
                    })
                })
            }
        }
    }

    /// Every field named under this node.
    pub fn fields(&self, out: &mut Vec<FieldId>) {
        match self {
            Node::All => {}
            Node::Or(a, b) | Node::And(a, b) => {
                a.fields(out);
                b.fields(out);
            }
            Node::Not(a) => a.fields(out),
            Node::Exists(o) | Node::Matches(o, _) => o.fields(out),
            Node::Cmp(_, a, b) | Node::Contains(a, b) => {
                a.fields(out);
                b.fields(out);
            }
            Node::In(a, set) => {
                a.fields(out);
                for m in set {
                    match m {
                        Member::One(o) => o.fields(out),
                        Member::Range(l, h) => {
                            l.fields(out);
                            h.fields(out);
                        }
                    }
                }
            }
        }
    }
}

impl Operand {
    pub fn eval<'s>(&self, p: &'s dyn FieldSource) -> Vec<V<'s>> {
        match self {
            Operand::Field(id) => {
                let mut raw = Vec::new();
                p.values(*id, &mut raw);
                raw.into_iter().map(V::from_value).collect()
            }
            Operand::Const(v) => vec![v.clone()],
            Operand::Nothing => Vec::new(),
            Operand::Sized(id, n) => {
                let mut raw = Vec::new();
                p.values(*id, &mut raw);
                raw.iter().map(|_| V::Int(*n)).collect()
            }
            Operand::Abs(o) => o
                .eval(p)
                .into_iter()
                .map(|v| match v {
                    V::Int(n) => V::Int(n.abs()),
                    V::Float(f) => V::Float(f.abs()),
                    other => other,
                })
                .collect(),
            Operand::Text(o, kind) => o
                .eval(p)
                .iter()
                .map(|v| V::Bytes(Cow::Owned(text(v, *kind).into_bytes())))
                .collect(),
            Operand::MinMax(ops, max) => {
                let all: Vec<V<'s>> = ops.iter().flat_map(|o| o.eval(p)).collect();
                let pick = all.into_iter().reduce(|a, b| {
                    let greater = order(&b, &a) == Some(std::cmp::Ordering::Greater);
                    if greater == *max { b } else { a }
                });
                pick.into_iter().collect()
            }
            Operand::Slice(o, ranges) => o
                .eval(p)
                .iter()
                .filter_map(|v| slice(&v.bytes(), ranges).map(|b| V::Bytes(Cow::Owned(b))))
                .collect(),
            Operand::Len(o) => o
                .eval(p)
                .iter()
                .map(|v| V::Int(v.bytes().len() as i128))
                .collect(),
            Operand::Count(id) => {
                let mut raw = Vec::new();
                p.values(*id, &mut raw);
                vec![V::Int(raw.len() as i128)]
            }
            Operand::Case(o, upper) => o
                .eval(p)
                .iter()
                .map(|v| {
                    let b = v.bytes();
                    V::Bytes(Cow::Owned(if *upper {
                        b.to_ascii_uppercase()
                    } else {
                        b.to_ascii_lowercase()
                    }))
                })
                .collect(),
            Operand::Arith(op, a, b) => {
                let (a, b) = (a.eval(p), b.eval(p));
                let mut out = Vec::new();
                for x in &a {
                    for y in &b {
                        if let (Some(x), Some(y)) = (number(x), number(y)) {
                            let (x, y) = (&x, &y);
                            let r = match op {
                                Arith::Add => x.checked_add(*y),
                                Arith::Sub => x.checked_sub(*y),
                                Arith::Mul => x.checked_mul(*y),
                                Arith::Div => x.checked_div(*y),
                                Arith::Rem => x.checked_rem(*y),
                                Arith::BitAnd => Some(x & y),
                            };
                            out.extend(r.map(V::Int));
                        }
                    }
                }
                out
            }
        }
    }

    pub fn fields(&self, out: &mut Vec<FieldId>) {
        match self {
            Operand::Field(id) | Operand::Count(id) => out.push(*id),
            Operand::Const(_) | Operand::Nothing => {}
            Operand::Sized(id, _) => out.push(*id),
            Operand::Abs(o) | Operand::Text(o, _) => o.fields(out),
            Operand::MinMax(ops, _) => ops.iter().for_each(|o| o.fields(out)),
            Operand::Slice(o, _) | Operand::Len(o) | Operand::Case(o, _) => o.fields(out),
            Operand::Arith(_, a, b) => {
                a.fields(out);
                b.fields(out);
            }
        }
    }
}

thread_local! {
    /// Values of one field of one packet, emptied after each use; kept so that testing a
    /// packet allocates nothing in the common cases.
    static SCRATCH: std::cell::RefCell<Vec<Value<'static>>> = const {
        std::cell::RefCell::new(Vec::new())
    };
}

/// `f` over every value of `field` in `p`, in the thread's scratch buffer.
fn with_values(p: &dyn FieldSource, field: FieldId, f: impl FnOnce(&[Value<'_>]) -> bool) -> bool {
    SCRATCH.with(|cell| {
        let mut values = recycle(cell.take());
        p.values(field, &mut values);
        let result = f(&values);
        cell.replace(recycle(values));
        result
    })
}

/// An empty vector of values of another lifetime, with the same allocation (the in-place
/// `collect` of an emptied vector keeps its buffer).
fn recycle<'b>(mut v: Vec<Value<'_>>) -> Vec<Value<'b>> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

/// A value as arithmetic reads it: integers, and bytes as a big-endian number.
fn number(v: &V<'_>) -> Option<i128> {
    match v {
        V::Int(n) => Some(*n),
        V::Bytes(b) if b.len() <= 15 => Some(b.iter().fold(0i128, |n, x| n << 8 | *x as i128)),
        _ => None,
    }
}

/// `string()`: integers in decimal (also hex-based fields), addresses as written, times in
/// seconds, text as it is.
fn text(v: &V<'_>, kind: Kind) -> String {
    match (v, kind) {
        (V::Int(n), Kind::RelTime | Kind::AbsTime) => {
            let mut s = String::new();
            crate::fields::print::seconds(&mut s, *n);
            s
        }
        (V::Int(n), _) => n.to_string(),
        (V::Float(f), _) => f.to_string(),
        (V::V4(a, _), _) => std::net::Ipv4Addr::from_bits(*a).to_string(),
        (V::V6(a, _), _) => std::net::Ipv6Addr::from_bits(*a).to_string(),
        (V::Bytes(b), Kind::Str) => String::from_utf8_lossy(b).into_owned(),
        (V::Bytes(b), _) => b
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

/// Whether evaluating reads a protocol's bytes (slicing `frame`, `len(ip)`): the source must
/// keep them even though the protocol's presence alone does not need them.
impl Operand {
    pub fn reads_layer_bytes(&self) -> bool {
        match self {
            Operand::Slice(o, _) | Operand::Len(o) => {
                matches!(**o, Operand::Field(id) if id.field().kind == Kind::Protocol)
                    || o.reads_layer_bytes()
            }
            Operand::Case(o, _) | Operand::Abs(o) | Operand::Text(o, _) => o.reads_layer_bytes(),
            Operand::Arith(_, a, b) => a.reads_layer_bytes() || b.reads_layer_bytes(),
            Operand::MinMax(ops, _) => ops.iter().any(Operand::reads_layer_bytes),
            _ => false,
        }
    }
}

impl Node {
    pub fn reads_layer_bytes(&self) -> bool {
        let protocol = |o: &Operand| {
            matches!(o, Operand::Field(id) if id.field().kind == Kind::Protocol)
                || o.reads_layer_bytes()
        };
        match self {
            Node::All => false,
            Node::Or(a, b) | Node::And(a, b) => a.reads_layer_bytes() || b.reads_layer_bytes(),
            Node::Not(a) => a.reads_layer_bytes(),
            Node::Exists(o) => o.reads_layer_bytes(),
            // Comparing or searching a protocol compares its bytes.
            Node::Cmp(_, a, b) | Node::Contains(a, b) => protocol(a) || protocol(b),
            Node::Matches(a, _) => protocol(a),
            Node::In(a, _) => protocol(a),
        }
    }
}

/// The bytes the ranges select, concatenated; None when a range falls outside (Wireshark
/// then has no value for the slice).
fn slice(b: &[u8], ranges: &[Range]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for r in ranges {
        let n = b.len() as i64;
        let start = if r.start < 0 { n + r.start } else { r.start };
        let end = match r.len {
            Some(len) => start.checked_add(len)?,
            None => n,
        };
        if start < 0 || end > n || start > end {
            return None;
        }
        out.extend_from_slice(&b[start as usize..end as usize]);
    }
    Some(out)
}
