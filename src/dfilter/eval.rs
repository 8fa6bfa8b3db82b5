//! The compiled filter and its evaluation. Names are resolved and literals parsed before this
//! point: a test holds field ids and typed constants. A packet's values are read into scratch
//! vectors kept per thread, so a plain comparison allocates nothing.
//!
//! Multi-occurrence rules are tshark 4.0's (`dfvm.c`): a test first reads every field it names
//! and is false if one is absent; then `any` asks for one pair of values that compares true,
//! `all` for no pair that compares false. A comparison of values that cannot be compared
//! (an unsigned field with a negative number) is neither true nor false: `any` skips it and
//! `all` lets it pass, as tshark's FT_BADARG.

use std::borrow::Cow;
use std::cell::RefCell;
use std::cmp::Ordering;

use regex::bytes::Regex;

use super::ftype::{Const, Ft};
use super::parse::{ArithOp, RangeEnd, RangeNode};
use crate::fields::{FieldId, FieldSource, Kind, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rel {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Contains,
}

#[derive(Debug)]
pub(crate) enum Node {
    /// The empty filter.
    True,
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Exists(FieldId),
    /// A field against a constant: the common case, with no second list to fill.
    CmpConst {
        all: bool,
        rel: Rel,
        field: FieldId,
        value: Const,
    },
    Cmp {
        all: bool,
        rel: Rel,
        lhs: Operand,
        rhs: Operand,
    },
    Matches {
        all: bool,
        lhs: Operand,
        re: Regex,
    },
    In {
        all: bool,
        lhs: Operand,
        set: Vec<(Operand, Option<Operand>)>,
    },
    /// An arithmetic expression alone: some value is not zero.
    NonZero(Operand),
    /// A slice alone: some slice is not empty.
    NonEmpty(Operand),
}

#[derive(Debug)]
pub(crate) enum Func {
    /// `len()`, with the type of its field (integers have their width as length).
    Len(Ft),
    Count,
    Upper,
    Lower,
    String,
    Max,
    Min,
    Abs,
}

#[derive(Debug)]
pub(crate) enum Operand {
    Field(FieldId),
    /// A field never present here: `${field}` (no frame is selected), a layer above the first.
    Absent,
    Const(Const),
    Slice(Box<Operand>, Vec<RangeNode>),
    /// The result type decides the width of integer overflow.
    Arith(ArithOp, Box<Operand>, Box<Operand>, Ft),
    Neg(Box<Operand>),
    Func(Func, Vec<Operand>),
}

thread_local! {
    static POOL: RefCell<Vec<Vec<Value<'static>>>> = const { RefCell::new(Vec::new()) };
}

/// An empty vector with no borrowed values in it takes any lifetime. The in-place `collect`
/// keeps the allocation (same size and alignment), so the pool's vectors are reused.
fn recycle<'x, 'y>(mut v: Vec<Value<'x>>) -> Vec<Value<'y>> {
    v.clear();
    v.into_iter().map(|_| unreachable!("cleared")).collect()
}

#[cfg(test)]
pub(crate) fn recycle_for_test<'y>(v: Vec<Value<'static>>) -> Vec<Value<'y>> {
    recycle(v)
}

/// A vector of values from this thread's pool, back to the pool when dropped.
struct Scratch<'a>(Vec<Value<'a>>);

impl<'a> Scratch<'a> {
    fn new() -> Scratch<'a> {
        let v = POOL
            .try_with(|p| p.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_default();
        Scratch(recycle(v))
    }
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        let v: Vec<Value<'static>> = recycle(std::mem::take(&mut self.0));
        if v.capacity() > 0 && v.capacity() <= 4096 {
            let _ = POOL.try_with(|p| {
                let mut p = p.borrow_mut();
                if p.len() < 64 {
                    p.push(v);
                }
            });
        }
    }
}

/// `Value<'static>` as a `Value<'a>` without copying its bytes.
fn borrow<'a>(v: &'a Value<'static>) -> Value<'a> {
    match v {
        Value::Bytes(b) => Value::Bytes(Cow::Borrowed(b)),
        Value::Str(s) => Value::Str(Cow::Borrowed(s)),
        other => other.clone(),
    }
}

impl Node {
    pub fn eval<'a>(&'a self, src: &'a dyn FieldSource) -> bool {
        match self {
            Node::True => true,
            Node::And(terms) => terms.iter().all(|t| t.eval(src)),
            Node::Or(terms) => terms.iter().any(|t| t.eval(src)),
            Node::Not(a) => !a.eval(src),
            Node::Exists(id) => {
                let mut s = Scratch::new();
                src.values(*id, &mut s.0);
                !s.0.is_empty()
            }
            Node::CmpConst {
                all,
                rel,
                field,
                value,
            } => {
                let mut s = Scratch::new();
                src.values(*field, &mut s.0);
                if s.0.is_empty() {
                    return false;
                }
                let c = borrow(&value.value);
                quantify(*all, s.0.iter().map(|v| compare(*rel, v, &c, value.prefix)))
            }
            Node::Cmp { all, rel, lhs, rhs } => {
                if let Operand::Const(c) = rhs {
                    let mut a = Scratch::new();
                    if !lhs.eval(src, &mut a.0) {
                        return false;
                    }
                    let k = borrow(&c.value);
                    return quantify(*all, a.0.iter().map(|v| compare(*rel, v, &k, c.prefix)));
                }
                let (mut a, mut b) = (Scratch::new(), Scratch::new());
                if !lhs.eval(src, &mut a.0) || !rhs.eval(src, &mut b.0) {
                    return false;
                }
                let prefix = rhs.prefix().or(lhs.prefix());
                quantify(
                    *all,
                    a.0.iter()
                        .flat_map(|x| b.0.iter().map(move |y| (x, y)))
                        .map(|(x, y)| compare(*rel, x, y, prefix)),
                )
            }
            Node::Matches { all, lhs, re } => {
                let mut a = Scratch::new();
                if !lhs.eval(src, &mut a.0) {
                    return false;
                }
                quantify(*all, a.0.iter().map(|v| with_bytes(v, |b| re.is_match(b))))
            }
            Node::In { all, lhs, set } => {
                let mut a = Scratch::new();
                if !lhs.eval(src, &mut a.0) {
                    return false;
                }
                set.iter()
                    .any(|(lo, hi)| in_element(*all, &a.0, lo, hi.as_ref(), src))
            }
            Node::NonZero(op) => {
                let mut a = Scratch::new();
                op.eval(src, &mut a.0) && !a.0.iter().all(is_zero)
            }
            Node::NonEmpty(op) => {
                let mut a = Scratch::new();
                op.eval(src, &mut a.0)
                    && a.0
                        .iter()
                        .any(|v| with_bytes(v, |b| !b.is_empty()) == Some(true))
            }
        }
    }
}

/// One element of a set: `v == lo`, or `lo <= v <= hi`, under `any` or `all`.
fn in_element<'a>(
    all: bool,
    values: &[Value<'a>],
    lo: &'a Operand,
    hi: Option<&'a Operand>,
    src: &'a dyn FieldSource,
) -> bool {
    // Constant elements (the usual set) compare without reading them into vectors.
    match (lo, hi) {
        (Operand::Const(c), None) => {
            let k = borrow(&c.value);
            return quantify(
                all,
                values.iter().map(|v| compare(Rel::Eq, v, &k, c.prefix)),
            );
        }
        (Operand::Const(l), Some(Operand::Const(h))) => {
            let (low, high) = (borrow(&l.value), borrow(&h.value));
            return in_range(all, values, &low, &high, l.prefix, h.prefix);
        }
        _ => {}
    }
    let mut l = Scratch::new();
    if !lo.eval(src, &mut l.0) {
        return false;
    }
    let Some(hi) = hi else {
        let prefix = lo.prefix();
        return quantify(
            all,
            values
                .iter()
                .flat_map(|x| l.0.iter().map(move |y| (x, y)))
                .map(|(x, y)| compare(Rel::Eq, x, y, prefix)),
        );
    };
    let mut h = Scratch::new();
    if !hi.eval(src, &mut h.0) {
        return false;
    }
    let (Some(low), Some(high)) = (l.0.first(), h.0.first()) else {
        return false;
    };
    in_range(all, values, low, high, lo.prefix(), hi.prefix())
}

/// `low <= v <= high` for some value (`any`) or with no value failing it (`all`).
fn in_range(
    all: bool,
    values: &[Value],
    low: &Value,
    high: &Value,
    lp: Option<u8>,
    hp: Option<u8>,
) -> bool {
    if all {
        values.iter().all(|v| {
            compare(Rel::Ge, v, low, lp) != Some(false)
                && compare(Rel::Le, v, high, hp) != Some(false)
        })
    } else {
        values.iter().any(|v| {
            compare(Rel::Ge, v, low, lp) == Some(true)
                && compare(Rel::Le, v, high, hp) == Some(true)
        })
    }
}

/// `any`: some result true. `all`: no result false. Results of `None` (values that do not
/// compare) count for neither.
fn quantify(all: bool, mut results: impl Iterator<Item = Option<bool>>) -> bool {
    if all {
        results.all(|r| r != Some(false))
    } else {
        results.any(|r| r == Some(true))
    }
}

impl Operand {
    /// The CIDR prefix of a constant address.
    fn prefix(&self) -> Option<u8> {
        match self {
            Operand::Const(c) => c.prefix,
            _ => None,
        }
    }

    /// Appends this operand's values; false when a field it reads is absent (the whole test
    /// is then false), true otherwise even if arithmetic left no value.
    fn eval<'a>(&'a self, src: &'a dyn FieldSource, out: &mut Vec<Value<'a>>) -> bool {
        match self {
            Operand::Field(id) => {
                let n = out.len();
                src.values(*id, out);
                out.len() > n
            }
            Operand::Absent => false,
            Operand::Const(c) => {
                out.push(borrow(&c.value));
                true
            }
            Operand::Slice(inner, ranges) => {
                let mut a = Scratch::new();
                if !inner.eval(src, &mut a.0) {
                    return false;
                }
                out.extend(a.0.drain(..).map(|v| slice(v, ranges)));
                true
            }
            Operand::Arith(op, x, y, ft) => {
                if let Operand::Const(c) = &**y {
                    let mut a = Scratch::new();
                    if !x.eval(src, &mut a.0) {
                        return false;
                    }
                    out.extend(a.0.iter().filter_map(|p| arith(*op, p, &c.value, *ft)));
                    return true;
                }
                let (mut a, mut b) = (Scratch::new(), Scratch::new());
                if !x.eval(src, &mut a.0) || !y.eval(src, &mut b.0) {
                    return false;
                }
                for p in &a.0 {
                    for q in &b.0 {
                        if let Some(r) = arith(*op, p, q, *ft) {
                            out.push(r);
                        }
                    }
                }
                true
            }
            Operand::Neg(x) => {
                let mut a = Scratch::new();
                if !x.eval(src, &mut a.0) {
                    return false;
                }
                out.extend(a.0.iter().filter_map(neg));
                true
            }
            Operand::Func(f, args) => call(f, args, src, out),
        }
    }
}

fn call<'a>(
    f: &Func,
    args: &'a [Operand],
    src: &'a dyn FieldSource,
    out: &mut Vec<Value<'a>>,
) -> bool {
    let mut a = Scratch::new();
    match f {
        Func::Max | Func::Min => {
            for arg in args {
                arg.eval(src, &mut a.0);
            }
            let mut best: Option<&Value<'a>> = None;
            for v in &a.0 {
                best = match best {
                    None => Some(v),
                    Some(b) => match cmp_values(v, b, None) {
                        Some(Ordering::Greater) if matches!(f, Func::Max) => Some(v),
                        Some(Ordering::Less) if matches!(f, Func::Min) => Some(v),
                        _ => Some(b),
                    },
                };
            }
            match best {
                Some(v) => {
                    out.push(v.clone());
                    true
                }
                None => false,
            }
        }
        _ => {
            let Some(arg) = args.first() else {
                return false;
            };
            if !arg.eval(src, &mut a.0) {
                return false;
            }
            match f {
                Func::Count => out.push(Value::UInt(a.0.len() as u64)),
                Func::Len(ft) => out.extend(a.0.iter().map(|v| Value::UInt(length(v, *ft)))),
                Func::Upper | Func::Lower => out.extend(a.0.iter().map(|v| {
                    let upper = matches!(f, Func::Upper);
                    match v {
                        Value::Str(s) => Value::Str(Cow::Owned(if upper {
                            s.to_ascii_uppercase()
                        } else {
                            s.to_ascii_lowercase()
                        })),
                        other => other.clone(),
                    }
                })),
                Func::String => {
                    out.extend(a.0.iter().map(|v| Value::Str(Cow::Owned(to_string(v)))))
                }
                Func::Abs => out.extend(a.0.iter().filter_map(abs)),
                Func::Max | Func::Min => unreachable!("handled above"),
            }
            true
        }
    }
}

/// `len()`: bytes of a byte-like value, the width of an integer.
fn length(v: &Value, ft: Ft) -> u64 {
    match v {
        Value::Present(b) => b.len() as u64,
        Value::Bytes(b) => b.len() as u64,
        Value::Str(s) => s.len() as u64,
        Value::Ether(_) => 6,
        Value::Ipv4(_) => 4,
        Value::Ipv6(_) => 16,
        _ => match ft {
            Ft::UInt(n) | Ft::Int(n) => u64::from(n),
            Ft::Bool | Ft::FrameNum => 4,
            _ => 8,
        },
    }
}

fn to_string(v: &Value) -> String {
    match v {
        Value::UInt(n) => n.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::Float(f) => f.to_string(),
        Value::Ipv4(a) => a.to_string(),
        Value::Ipv6(a) => a.to_string(),
        Value::Ether(e) => e
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
        Value::Str(s) => s.to_string(),
        _ => String::new(),
    }
}

/// The bytes of a byte-like value (addresses in network order), to `f`.
fn with_bytes<R>(v: &Value, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    match v {
        Value::Present(b) => Some(f(b)),
        Value::Bytes(b) => Some(f(b)),
        Value::Str(s) => Some(f(s.as_bytes())),
        Value::Ether(e) => Some(f(e)),
        Value::Ipv4(a) => Some(f(&a.octets())),
        Value::Ipv6(a) => Some(f(&a.octets())),
        _ => None,
    }
}

/// The bytes of two byte-like values, to `f`.
fn both_bytes<R>(a: &Value, b: &Value, f: impl FnOnce(&[u8], &[u8]) -> R) -> Option<R> {
    with_bytes(a, |x| with_bytes(b, |y| f(x, y))).flatten()
}

/// tshark's `slice_func`: ranges in turn, stopping (keeping what was taken) at the first one
/// that does not fit in the value.
fn slice<'a>(v: Value<'a>, ranges: &[RangeNode]) -> Value<'a> {
    fn bounds(len: usize, r: &RangeNode) -> Option<(usize, usize)> {
        let len = len as i64;
        let mut start = r.start;
        if start < 0 {
            start += len;
            if start < 0 {
                return None;
            }
        }
        let n = match r.end {
            RangeEnd::ToEnd => {
                let n = len - start;
                if n <= 0 {
                    return None;
                }
                n
            }
            RangeEnd::Length(n) => {
                if start.checked_add(n)? > len {
                    return None;
                }
                n
            }
            RangeEnd::Offset(mut end) => {
                if end < 0 {
                    end += len;
                    if end < start {
                        return None;
                    }
                } else if end >= len {
                    return None;
                }
                end - start + 1
            }
        };
        (n > 0 && start >= 0).then_some((start as usize, (start + n) as usize))
    }
    if let [r] = ranges {
        match v {
            Value::Bytes(Cow::Borrowed(b)) | Value::Present(b) => {
                return Value::Bytes(Cow::Borrowed(
                    bounds(b.len(), r).map_or(&[][..], |(s, e)| &b[s..e]),
                ));
            }
            Value::Str(Cow::Borrowed(s)) => {
                let b = s.as_bytes();
                return Value::Bytes(Cow::Borrowed(
                    bounds(b.len(), r).map_or(&[][..], |(s, e)| &b[s..e]),
                ));
            }
            _ => {}
        }
    }
    let out = with_bytes(&v, |b| {
        let mut out = Vec::new();
        for r in ranges {
            match bounds(b.len(), r) {
                Some((s, e)) => out.extend_from_slice(&b[s..e]),
                None => break,
            }
        }
        out
    })
    .unwrap_or_default();
    Value::Bytes(Cow::Owned(out))
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::UInt(n) => *n == 0,
        Value::Int(n) => *n == 0,
        Value::Bool(b) => !b,
        Value::Float(f) => *f == 0.0,
        Value::RelTime(t) | Value::AbsTime(t) => *t == 0,
        Value::Ipv4(a) => a.is_unspecified(),
        Value::Ipv6(a) => a.is_unspecified(),
        Value::Ether(e) => e.iter().all(|b| *b == 0),
        Value::Bytes(b) => b.iter().all(|b| *b == 0),
        Value::Present(b) => b.iter().all(|b| *b == 0),
        Value::Str(s) => s.is_empty(),
    }
}

fn time(v: &Value) -> Option<i128> {
    match v {
        Value::RelTime(t) | Value::AbsTime(t) => Some(*t),
        _ => None,
    }
}

/// Integer value as i128, for mixed-sign arithmetic.
fn int(v: &Value) -> Option<i128> {
    match v {
        Value::UInt(n) => Some(i128::from(*n)),
        Value::Int(n) => Some(i128::from(*n)),
        _ => None,
    }
}

/// `a OP b` as tshark's fvalue arithmetic: integers checked in the width of the result's type
/// (32 bits unless it is a 64-bit field), an overflow or a division by zero gives no value.
fn arith<'a>(op: ArithOp, a: &Value, b: &Value, ft: Ft) -> Option<Value<'a>> {
    use ArithOp::*;
    match (a, b) {
        (Value::Ipv4(x), Value::Ipv4(y)) if op == BitAnd => {
            Some(Value::Ipv4((u32::from(*x) & u32::from(*y)).into()))
        }
        (Value::Ipv6(x), Value::Ipv6(y)) if op == BitAnd => {
            Some(Value::Ipv6((u128::from(*x) & u128::from(*y)).into()))
        }
        (Value::Float(x), Value::Float(y)) => Some(Value::Float(match op {
            Add => x + y,
            Sub => x - y,
            Mul => x * y,
            Div => {
                if *y == 0.0 {
                    return None;
                }
                x / y
            }
            _ => return None,
        })),
        _ if time(a).is_some() && time(b).is_some() => {
            let (x, y) = (time(a)?, time(b)?);
            let r = match op {
                Add => x.checked_add(y)?,
                Sub => x.checked_sub(y)?,
                _ => return None,
            };
            Some(match a {
                Value::AbsTime(_) => Value::AbsTime(r),
                _ => Value::RelTime(r),
            })
        }
        _ if int(a).is_some() && int(b).is_some() => {
            let (x, y) = (int(a)?, int(b)?);
            let r = match op {
                Add => x + y,
                Sub => x - y,
                Mul => x.checked_mul(y)?,
                Div => {
                    if y == 0 {
                        return None;
                    }
                    x / y
                }
                Mod => {
                    if y == 0 {
                        return None;
                    }
                    x % y
                }
                BitAnd => x & y,
            };
            let wide = matches!(ft, Ft::UInt(8) | Ft::Int(8));
            let signed = matches!(a, Value::Int(_)) || matches!(b, Value::Int(_));
            if signed {
                let (lo, hi) = if wide {
                    (i128::from(i64::MIN), i128::from(i64::MAX))
                } else {
                    (i128::from(i32::MIN), i128::from(i32::MAX))
                };
                (lo..=hi).contains(&r).then_some(Value::Int(r as i64))
            } else {
                let hi = if wide {
                    i128::from(u64::MAX)
                } else {
                    i128::from(u32::MAX)
                };
                (0..=hi).contains(&r).then_some(Value::UInt(r as u64))
            }
        }
        _ if op == BitAnd => both_bytes(a, b, |x, y| {
            Value::Bytes(Cow::Owned(x.iter().zip(y).map(|(p, q)| p & q).collect()))
        }),
        _ => None,
    }
}

pub(crate) fn neg<'a>(v: &Value) -> Option<Value<'a>> {
    match v {
        Value::UInt(n) => Some(Value::Int(i64::try_from(*n).ok()?.checked_neg()?)),
        Value::Int(n) => Some(Value::Int(n.checked_neg()?)),
        Value::Float(f) => Some(Value::Float(-f)),
        Value::RelTime(t) => Some(Value::RelTime(t.checked_neg()?)),
        Value::AbsTime(t) => Some(Value::AbsTime(t.checked_neg()?)),
        _ => None,
    }
}

fn abs<'a>(v: &Value) -> Option<Value<'a>> {
    match v {
        Value::UInt(n) => Some(Value::UInt(*n)),
        Value::Int(n) => Some(Value::Int(n.checked_abs()?)),
        Value::Float(f) => Some(Value::Float(f.abs())),
        // tshark 4.0 negates a time only when its seconds are negative: a time between -1 and
        // 0 seconds (0 seconds and negative nanoseconds) comes out unchanged.
        Value::RelTime(t) => Some(Value::RelTime(if *t <= -NS { -t } else { *t })),
        Value::AbsTime(t) => Some(Value::AbsTime(if *t <= -NS { -t } else { *t })),
        _ => None,
    }
}

const NS: i128 = 1_000_000_000;

/// One comparison; `None` when the two values do not compare (tshark's FT_BADARG).
pub(crate) fn compare(rel: Rel, a: &Value, b: &Value, prefix: Option<u8>) -> Option<bool> {
    if rel == Rel::Contains {
        return both_bytes(a, b, |h, n| memchr::memmem::find(h, n).is_some());
    }
    // The common cases first, without the general ordering.
    if let (Value::UInt(x), Value::UInt(y)) = (a, b) {
        return Some(test(rel, x.cmp(y)));
    }
    let o = cmp_values(a, b, prefix)?;
    Some(test(rel, o))
}

fn test(rel: Rel, o: Ordering) -> bool {
    match rel {
        Rel::Eq => o == Ordering::Equal,
        Rel::Ne => o != Ordering::Equal,
        Rel::Gt => o == Ordering::Greater,
        Rel::Ge => o != Ordering::Less,
        Rel::Lt => o == Ordering::Less,
        Rel::Le => o != Ordering::Greater,
        Rel::Contains => false,
    }
}

fn is_bytes_like(v: &Value) -> bool {
    matches!(v, Value::Present(_) | Value::Bytes(_) | Value::Ether(_))
}

/// The order of two values of compatible types. Byte sequences compare their lengths first
/// (tshark's `bytes` order), strings compare as C strings do.
pub(crate) fn cmp_values(a: &Value, b: &Value, prefix: Option<u8>) -> Option<Ordering> {
    let mask4 = |p: Option<u8>| match p {
        Some(0) => 0,
        Some(n) if n < 32 => u32::MAX << (32 - n),
        _ => u32::MAX,
    };
    let mask6 = |p: Option<u8>| match p {
        Some(0) => 0,
        Some(n) if n < 128 => u128::MAX << (128 - n),
        _ => u128::MAX,
    };
    Some(match (a, b) {
        (Value::UInt(x), Value::UInt(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::UInt(x), Value::Int(y)) => {
            if *y < 0 {
                return None;
            }
            i128::from(*x).cmp(&i128::from(*y))
        }
        (Value::Int(x), Value::UInt(y)) => {
            if *x < 0 {
                return None;
            }
            i128::from(*x).cmp(&i128::from(*y))
        }
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Bool(x), Value::UInt(y)) => u64::from(*x).cmp(y),
        (Value::UInt(x), Value::Bool(y)) => x.cmp(&u64::from(*y)),
        (Value::Bool(x), Value::Int(y)) => i64::from(*x).cmp(y),
        (Value::Int(x), Value::Bool(y)) => x.cmp(&i64::from(*y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y)?,
        (Value::RelTime(x) | Value::AbsTime(x), Value::RelTime(y) | Value::AbsTime(y)) => x.cmp(y),
        (Value::Ipv4(x), Value::Ipv4(y)) => {
            let m = mask4(prefix);
            (u32::from(*x) & m).cmp(&(u32::from(*y) & m))
        }
        (Value::Ipv6(x), Value::Ipv6(y)) => {
            let m = mask6(prefix);
            (u128::from(*x) & m).cmp(&(u128::from(*y) & m))
        }
        (Value::Str(x), Value::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Str(_), Value::Bytes(_)) | (Value::Bytes(_), Value::Str(_)) => {
            both_bytes(a, b, |x, y| x.cmp(y))?
        }
        _ if is_bytes_like(a) && is_bytes_like(b) => {
            both_bytes(a, b, |x, y| x.len().cmp(&y.len()).then_with(|| x.cmp(y)))?
        }
        _ => return None,
    })
}

/// Whether evaluating reads a protocol layer's bytes (`frame[12:2]`, `len(ip)`, `tcp contains
/// …`): the source must keep them, though a protocol's presence alone does not need them.
impl Operand {
    pub(crate) fn reads_layer_bytes(&self) -> bool {
        match self {
            Operand::Field(id) => id.field().kind == Kind::Protocol,
            Operand::Absent | Operand::Const(_) => false,
            Operand::Slice(o, _) | Operand::Neg(o) => o.reads_layer_bytes(),
            Operand::Arith(_, a, b, _) => a.reads_layer_bytes() || b.reads_layer_bytes(),
            Operand::Func(_, args) => args.iter().any(Operand::reads_layer_bytes),
        }
    }
}

impl Node {
    pub(crate) fn reads_layer_bytes(&self) -> bool {
        match self {
            Node::True | Node::Exists(_) => false,
            Node::And(nodes) | Node::Or(nodes) => nodes.iter().any(Node::reads_layer_bytes),
            Node::Not(n) => n.reads_layer_bytes(),
            Node::CmpConst { field, .. } => field.field().kind == Kind::Protocol,
            Node::Cmp { lhs, rhs, .. } => lhs.reads_layer_bytes() || rhs.reads_layer_bytes(),
            Node::Matches { lhs, .. } => lhs.reads_layer_bytes(),
            Node::In { lhs, set, .. } => {
                lhs.reads_layer_bytes()
                    || set.iter().any(|(lo, hi)| {
                        lo.reads_layer_bytes()
                            || hi.as_ref().is_some_and(Operand::reads_layer_bytes)
                    })
            }
            Node::NonZero(o) | Node::NonEmpty(o) => o.reads_layer_bytes(),
        }
    }
}
