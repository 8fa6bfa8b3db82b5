//! Tokens, grammar and literal conversion. Precedence as TShark 4.0's grammar.lemon: `or`
//! below `and` below `not`, then relations, then arithmetic (`+ -` below `* / %` below `&`).

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::eval::{Arith, Cmp, Member, Node, Operand, Range, V};
use crate::fields::{self, FieldId, Kind};

/// A filter that cannot be compiled: what is wrong, and where (a caret under it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub message: String,
    pub expr: String,
    /// Byte span of the offending place.
    pub at: (usize, usize),
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lead = self.expr[..self.at.0.min(self.expr.len())].chars().count();
        let width = self.expr[self.at.0.min(self.expr.len())..self.at.1.min(self.expr.len())]
            .chars()
            .count()
            .max(1);
        write!(
            f,
            "display filter: {}\n    {}\n    {}^{}",
            self.message,
            self.expr,
            " ".repeat(lead),
            "~".repeat(width - 1)
        )
    }
}

impl std::error::Error for FilterError {}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// A field name, keyword or unquoted literal, as written.
    Word(String),
    Str(String),
    Punct(&'static str),
    /// The inside of `[ … ]`.
    Slice(String),
}

struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

const PUNCT: [&str; 22] = [
    "===", "!==", "==", "!=", "~=", ">=", "<=", "&&", "||", ">", "<", "!", "(", ")", "{", "}", ",",
    "&", "+", "*", "%", "-",
];

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-' | '#')
}

fn lex(expr: &str) -> Result<Vec<Token>, FilterError> {
    let err = |message: String, at| FilterError {
        message,
        expr: expr.to_string(),
        at,
    };
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = expr[i..].chars().next().unwrap_or(' ');
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        let start = i;
        if c == '"' || (c == 'r' && b.get(i + 1) == Some(&b'"')) {
            let raw = c == 'r';
            i += if raw { 2 } else { 1 };
            let mut s = Vec::new();
            loop {
                let Some(&ch) = b.get(i) else {
                    return Err(err("the string is not closed".into(), (start, b.len())));
                };
                i += 1;
                match ch {
                    b'"' => break,
                    b'\\' if !raw => {
                        let Some(&e) = b.get(i) else { continue };
                        i += 1;
                        match e {
                            b'n' => s.push(b'\n'),
                            b't' => s.push(b'\t'),
                            b'r' => s.push(b'\r'),
                            b'0' => s.push(0),
                            b'x' => {
                                let hex = expr
                                    .get(i..i + 2)
                                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                                let Some(v) = hex else {
                                    return Err(err("\\x needs two hex digits".into(), (i - 2, i)));
                                };
                                s.push(v);
                                i += 2;
                            }
                            b'1'..=b'7' => {
                                let oct = expr
                                    .get(i - 1..i + 2)
                                    .and_then(|o| u8::from_str_radix(o, 8).ok());
                                let Some(v) = oct else {
                                    return Err(err(
                                        "an octal escape needs three digits".into(),
                                        (i - 2, i),
                                    ));
                                };
                                s.push(v);
                                i += 2;
                            }
                            other => s.push(other),
                        }
                    }
                    other => s.push(other),
                }
            }
            let s = String::from_utf8(s)
                .map_err(|_| err("the string is not UTF-8".into(), (start, i)))?;
            out.push(Token {
                tok: Tok::Str(s),
                start,
                end: i,
            });
            continue;
        }
        if c == '[' {
            let Some(close) = expr[i..].find(']') else {
                return Err(err("the slice is not closed with ]".into(), (i, b.len())));
            };
            out.push(Token {
                tok: Tok::Slice(expr[i + 1..i + close].to_string()),
                start: i,
                end: i + close + 1,
            });
            i += close + 1;
            continue;
        }
        // A minus is an operator only when it stands alone (`tcp.len - 1`); inside a word it is
        // part of a literal (`-1`, `00-11-22`).
        if is_word(c)
            && (c != '-' || expr[i + 1..].starts_with(|n: char| n.is_ascii_alphanumeric()))
        {
            let end = expr[i..]
                .find(|ch: char| !is_word(ch))
                .map_or(b.len(), |n| i + n);
            out.push(Token {
                tok: Tok::Word(expr[i..end].to_string()),
                start: i,
                end,
            });
            i = end;
            continue;
        }
        match PUNCT.iter().find(|p| expr[i..].starts_with(**p)) {
            Some(p) => {
                out.push(Token {
                    tok: Tok::Punct(p),
                    start: i,
                    end: i + p.len(),
                });
                i += p.len();
            }
            None => {
                return Err(err(
                    format!("\"{c}\" was unexpected in this context."),
                    (i, i + c.len_utf8()),
                ));
            }
        }
    }
    Ok(out)
}

struct Parser<'e> {
    expr: &'e str,
    toks: Vec<Token>,
    pos: usize,
}

/// An operand before literals are typed: a literal waits for the field it meets.
enum Raw {
    Op(Operand, Kind, (usize, usize)),
    Lit(Tok, (usize, usize)),
}

pub fn parse(expr: &str) -> Result<Node, FilterError> {
    let toks = lex(expr)?;
    let mut p = Parser { expr, toks, pos: 0 };
    if p.toks.is_empty() {
        return Err(p.error("the filter is empty".into(), (0, expr.len())));
    }
    let node = p.or()?;
    if let Some(t) = p.toks.get(p.pos) {
        let (s, e) = (t.start, t.end);
        return Err(p.error(
            format!("\"{}\" was unexpected in this context.", &expr[s..e]),
            (s, e),
        ));
    }
    Ok(node)
}

impl Parser<'_> {
    fn error(&self, message: String, at: (usize, usize)) -> FilterError {
        FilterError {
            message,
            expr: self.expr.to_string(),
            at,
        }
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn here(&self) -> (usize, usize) {
        self.toks
            .get(self.pos)
            .map_or((self.expr.len(), self.expr.len()), |t| (t.start, t.end))
    }

    fn eat_word(&mut self, words: &[&str]) -> bool {
        if let Some(Tok::Word(w)) = self.peek()
            && words.contains(&w.as_str())
        {
            self.pos += 1;
            return true;
        }
        false
    }

    fn eat_punct(&mut self, puncts: &[&str]) -> Option<&'static str> {
        if let Some(Tok::Punct(p)) = self.peek()
            && puncts.contains(p)
        {
            let p = *p;
            self.pos += 1;
            return Some(p);
        }
        None
    }

    fn or(&mut self) -> Result<Node, FilterError> {
        let mut left = self.and()?;
        while self.eat_word(&["or"]) || self.eat_punct(&["||"]).is_some() {
            left = Node::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node, FilterError> {
        let mut left = self.not()?;
        while self.eat_word(&["and"]) || self.eat_punct(&["&&"]).is_some() {
            left = Node::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Node, FilterError> {
        if self.eat_word(&["not"]) || self.eat_punct(&["!"]).is_some() {
            return Ok(Node::Not(Box::new(self.not()?)));
        }
        if self.eat_punct(&["("]).is_some() {
            let inner = self.or()?;
            if self.eat_punct(&[")"]).is_none() {
                let at = self.here();
                return Err(self.error("a \")\" is missing here".into(), at));
            }
            return Ok(inner);
        }
        self.relation()
    }

    fn relation(&mut self) -> Result<Node, FilterError> {
        let left = self.sum()?;
        let cmp = match self.peek() {
            Some(Tok::Punct(p)) => match *p {
                "==" => Some(Cmp::Eq),
                "===" => Some(Cmp::AllEq),
                "!=" => Some(Cmp::Ne),
                "~=" | "!==" => Some(Cmp::AnyNe),
                ">" => Some(Cmp::Gt),
                ">=" => Some(Cmp::Ge),
                "<" => Some(Cmp::Lt),
                "<=" => Some(Cmp::Le),
                _ => None,
            },
            Some(Tok::Word(w)) => match w.as_str() {
                "eq" | "any_eq" => Some(Cmp::Eq),
                "all_eq" => Some(Cmp::AllEq),
                "ne" | "all_ne" => Some(Cmp::Ne),
                "any_ne" => Some(Cmp::AnyNe),
                "gt" => Some(Cmp::Gt),
                "ge" => Some(Cmp::Ge),
                "lt" => Some(Cmp::Lt),
                "le" => Some(Cmp::Le),
                _ => None,
            },
            _ => None,
        };
        if let Some(cmp) = cmp {
            self.pos += 1;
            let right = self.sum()?;
            let (a, b) = self.typed_pair(left, right)?;
            return Ok(Node::Cmp(cmp, a, b));
        }
        if self.eat_word(&["contains"]) {
            let right = self.sum()?;
            self.searchable(&left, "contains")?;
            // An Ethernet address contains bytes, not only whole addresses.
            let left = match left {
                Raw::Op(op, Kind::Ether, span) => Raw::Op(op, Kind::Bytes, span),
                other => other,
            };
            let (a, b) = self.typed_pair(left, right)?;
            return Ok(Node::Contains(a, b));
        }
        if self.eat_word(&["matches"]) || self.eat_punct(&["~"]).is_some() {
            let at = self.here();
            let Some(Tok::Str(pattern)) = self.peek().cloned() else {
                return Err(self.error("matches needs a quoted regular expression".into(), at));
            };
            self.pos += 1;
            self.searchable(&left, "matches")?;
            let (a, _) = self.field_side(left)?;
            // Wireshark 4.0 compiles `matches` patterns caseless (PCRE2_CASELESS).
            let re = regex::bytes::RegexBuilder::new(&pattern)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| self.error(format!("invalid regular expression: {e}"), at))?;
            return Ok(Node::Matches(a, re));
        }
        let negated = if let Some(Tok::Word(w)) = self.peek()
            && w == "not"
            && matches!(self.toks.get(self.pos + 1).map(|t| &t.tok), Some(Tok::Word(w)) if w == "in")
        {
            self.pos += 1;
            true
        } else {
            false
        };
        if self.eat_word(&["in"]) {
            let node = self.set(left)?;
            return Ok(if negated {
                Node::Not(Box::new(node))
            } else {
                node
            });
        }
        let (a, _) = self.field_side(left)?;
        Ok(Node::Exists(a))
    }

    fn set(&mut self, left: Raw) -> Result<Node, FilterError> {
        let (a, kind) = self.field_side(left)?;
        if self.eat_punct(&["{"]).is_none() {
            let at = self.here();
            return Err(self.error("a set starts with {".into(), at));
        }
        let mut members = Vec::new();
        loop {
            let at = self.here();
            let member = match self.peek().cloned() {
                Some(Tok::Word(w)) if w.contains("..") => {
                    let (lo, hi) = w.split_once("..").unwrap_or_default();
                    let lo_at = (at.0, at.0 + lo.len());
                    let hi_at = (at.1 - hi.len(), at.1);
                    self.pos += 1;
                    Member::Range(
                        Operand::Const(self.literal(&Tok::Word(lo.into()), kind, lo_at)?),
                        Operand::Const(self.literal(&Tok::Word(hi.into()), kind, hi_at)?),
                    )
                }
                Some(Tok::Word(_) | Tok::Str(_)) => {
                    let raw = self.sum()?;
                    Member::One(self.typed(raw, kind, field_of(&a))?)
                }
                _ => return Err(self.error("a set holds values separated by commas".into(), at)),
            };
            members.push(member);
            if self.eat_punct(&["}"]).is_some() {
                break;
            }
            if self.eat_punct(&[","]).is_none() {
                let (s, e) = self.here();
                let text = self.expr.get(s..e).unwrap_or("");
                return Err(self.error(
                    format!("\"{text}\" was unexpected in this context."),
                    (s, e),
                ));
            }
        }
        Ok(Node::In(a, members))
    }

    /// `+ -`.
    fn sum(&mut self) -> Result<Raw, FilterError> {
        let mut left = self.product()?;
        while let Some(p) = self.eat_punct(&["+", "-"]) {
            let right = self.product()?;
            left = self.arith(if p == "+" { Arith::Add } else { Arith::Sub }, left, right)?;
        }
        Ok(left)
    }

    /// `* / %` (a `/` stands alone between spaces; inside a word it is a CIDR prefix).
    fn product(&mut self) -> Result<Raw, FilterError> {
        let mut left = self.bitand()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Punct("*")) => Arith::Mul,
                Some(Tok::Punct("%")) => Arith::Rem,
                Some(Tok::Word(w)) if w == "/" => Arith::Div,
                _ => break,
            };
            self.pos += 1;
            let right = self.bitand()?;
            left = self.arith(op, left, right)?;
        }
        Ok(left)
    }

    fn bitand(&mut self) -> Result<Raw, FilterError> {
        let mut left = self.primary()?;
        while self.eat_punct(&["&"]).is_some() || self.eat_word(&["bitwise_and"]) {
            let right = self.primary()?;
            left = self.arith(Arith::BitAnd, left, right)?;
        }
        Ok(left)
    }

    fn arith(&self, op: Arith, a: Raw, b: Raw) -> Result<Raw, FilterError> {
        let span = (span(&a).0, span(&b).1);
        // Arithmetic reads bytes (a slice, a protocol) as a big-endian number, so a literal
        // beside them is a number: `ip[0] & 0xf0 == 0x40`.
        let numeric = |r: Raw| match r {
            Raw::Op(o, Kind::Bytes | Kind::Protocol | Kind::Ether, s) => Raw::Op(o, Kind::Int, s),
            other => other,
        };
        let (a, b) = self.typed_pair(numeric(a), numeric(b))?;
        Ok(Raw::Op(
            Operand::Arith(op, Box::new(a), Box::new(b)),
            Kind::Int,
            span,
        ))
    }

    fn primary(&mut self) -> Result<Raw, FilterError> {
        let at = self.here();
        let Some(tok) = self.peek().cloned() else {
            return Err(self.error("the filter ends too early".into(), at));
        };
        self.pos += 1;
        let raw = match tok {
            // 4.0 groups arithmetic in braces: `{tcp.len + 1} * 2`.
            Tok::Punct("{") => {
                let inner = self.sum()?;
                if self.eat_punct(&["}"]).is_none() {
                    let here = self.here();
                    return Err(self.error("a \"}\" is missing here".into(), here));
                }
                inner
            }
            Tok::Word(w) if self.eat_punct(&["("]).is_some() => self.function(&w, at)?,
            Tok::Word(w) => self.word(w, at)?,
            Tok::Str(_) => Raw::Lit(tok, at),
            Tok::Punct(p) => {
                return Err(self.error(format!("\"{p}\" was unexpected in this context."), at));
            }
            Tok::Slice(_) => return Err(self.error("a slice follows a field".into(), at)),
        };
        if let Some(Tok::Slice(s)) = self.peek().cloned() {
            let slice_at = self.here();
            self.pos += 1;
            let (op, kind, span) = match raw {
                Raw::Op(op, kind, span) => (op, kind, span),
                Raw::Lit(_, span) => {
                    return Err(self.error("only a field can be sliced".into(), span));
                }
            };
            if matches!(
                kind,
                Kind::UInt
                    | Kind::Hex { .. }
                    | Kind::Int
                    | Kind::Bool
                    | Kind::FrameNum
                    | Kind::RelTime
                    | Kind::AbsTime
                    | Kind::Float
                    | Kind::None
            ) {
                return Err(self.error(format!("{} cannot be sliced", self.text(span)), span));
            }
            let ranges = ranges(&s)
                .ok_or_else(|| self.error(format!("\"{s}\" is not a valid slice"), slice_at))?;
            return Ok(Raw::Op(
                Operand::Slice(Box::new(op), ranges),
                Kind::Bytes,
                (span.0, slice_at.1),
            ));
        }
        Ok(raw)
    }

    /// A word: a field (maybe `field#layer`, maybe negated `-field`), or a literal.
    fn word(&mut self, w: String, at: (usize, usize)) -> Result<Raw, FilterError> {
        if let Some(name) = w.strip_prefix('-')
            && let Some(id) = fields::lookup(name)
        {
            let zero = Operand::Const(V::Int(0));
            let neg = Operand::Arith(Arith::Sub, Box::new(zero), Box::new(Operand::Field(id)));
            return Ok(Raw::Op(neg, Kind::Int, at));
        }
        if let Some((name, layer)) = w.split_once('#')
            && let Some(id) = fields::lookup(name)
        {
            // tcplens decodes one layer of each protocol: `#1` is it, a deeper layer is absent.
            let layer: u32 = layer
                .parse()
                .ok()
                .filter(|l| *l >= 1)
                .ok_or_else(|| self.error(format!("\"{layer}\" is not a layer number"), at))?;
            let op = if layer == 1 {
                Operand::Field(id)
            } else {
                Operand::Nothing
            };
            return Ok(Raw::Op(op, id.field().kind, at));
        }
        Ok(match fields::lookup(&w) {
            Some(id) => Raw::Op(Operand::Field(id), id.field().kind, at),
            None => Raw::Lit(Tok::Word(w), at),
        })
    }

    fn function(&mut self, name: &str, at: (usize, usize)) -> Result<Raw, FilterError> {
        let mut args = vec![self.sum()?];
        while self.eat_punct(&[","]).is_some() {
            args.push(self.sum()?);
        }
        if self.eat_punct(&[")"]).is_none() {
            let here = self.here();
            return Err(self.error("a \")\" is missing here".into(), here));
        }
        let end = self.toks[self.pos - 1].end;
        let whole = (at.0, end);
        if matches!(name, "min" | "max") {
            let mut ops = Vec::new();
            let mut first_kind = None;
            for arg in args {
                let (op, kind, span) = match arg {
                    Raw::Op(op, kind, span) => (op, kind, span),
                    Raw::Lit(_, span) => {
                        return Err(self.error(format!("{name}() takes fields"), span));
                    }
                };
                if first_kind.is_some_and(|k| !compatible(k, kind)) {
                    return Err(self.error(format!("{name}() takes fields of one type"), span));
                }
                first_kind = Some(kind);
                ops.push(op);
            }
            let kind = first_kind.unwrap_or(Kind::UInt);
            return Ok(Raw::Op(Operand::MinMax(ops, name == "max"), kind, whole));
        }
        if args.len() != 1 {
            return Err(self.error(format!("{name}() takes one argument"), whole));
        }
        let arg = args.pop().expect("one argument");
        let (op, kind, span) = match arg {
            Raw::Op(op, kind, span) => (op, kind, span),
            Raw::Lit(_, span) => return Err(self.error(format!("{name}() takes a field"), span)),
        };
        Ok(match name {
            "len" => {
                // 4.0: len() of a field (not of a slice); of an integer field, its size.
                let Operand::Field(id) = op else {
                    return Err(self.error("len() takes a field".into(), span));
                };
                let size = match kind {
                    Kind::UInt | Kind::Hex { .. } | Kind::Int | Kind::FrameNum | Kind::Bool => {
                        Some(id.field().bits.div_ceil(8) as i128)
                    }
                    Kind::Ipv4 => Some(4),
                    Kind::Ipv6 => Some(16),
                    Kind::Ether => Some(6),
                    _ => None,
                };
                let len = match size {
                    Some(n) => Operand::Sized(id, n),
                    None => Operand::Len(Box::new(op)),
                };
                Raw::Op(len, Kind::UInt, whole)
            }
            "abs" => Raw::Op(Operand::Abs(Box::new(op)), kind, whole),
            "string" if kind != Kind::Bool => {
                Raw::Op(Operand::Text(Box::new(op), kind), Kind::Str, whole)
            }
            "count" => match op {
                Operand::Field(id) => Raw::Op(Operand::Count(id), Kind::UInt, whole),
                _ => return Err(self.error("count() takes a field".into(), span)),
            },
            "upper" | "lower" => {
                if kind != Kind::Str {
                    return Err(self.error(
                        format!("Only string type fields can be used as parameter for {name}()"),
                        span,
                    ));
                }
                Raw::Op(
                    Operand::Case(Box::new(op), name == "upper"),
                    Kind::Str,
                    whole,
                )
            }
            _ => return Err(self.error(format!("the function '{name}' does not exist"), at)),
        })
    }

    /// `contains` and `matches` search text and bytes only.
    fn searchable(&self, raw: &Raw, op: &str) -> Result<(), FilterError> {
        if let Raw::Op(_, kind, span) = raw {
            let ok = match op {
                "contains" => {
                    matches!(kind, Kind::Str | Kind::Bytes | Kind::Protocol | Kind::Ether)
                }
                _ => matches!(kind, Kind::Str | Kind::Bytes | Kind::Protocol),
            };
            if !ok {
                return Err(self.error(
                    format!(
                        "{} is not of a type that supports \"{op}\"",
                        self.text(*span)
                    ),
                    *span,
                ));
            }
        }
        Ok(())
    }

    fn text(&self, span: (usize, usize)) -> &str {
        self.expr.get(span.0..span.1).unwrap_or("")
    }

    /// The side of a test that must be a field (or built from one).
    fn field_side(&self, raw: Raw) -> Result<(Operand, Kind), FilterError> {
        match raw {
            Raw::Op(op, kind, _) => Ok((op, kind)),
            Raw::Lit(tok, span) => Err(self.unknown(&tok, span)),
        }
    }

    fn unknown(&self, tok: &Tok, span: (usize, usize)) -> FilterError {
        match tok {
            Tok::Word(w)
                if w.contains('.') || w.chars().all(|c| c.is_ascii_alphabetic() || c == '_') =>
            {
                self.error(
                    format!(
                        "\"{w}\" is not a field tcplens knows; closest: {} (all: `tcplens fields`)",
                        fields::closest(w, 3).join(", ")
                    ),
                    span,
                )
            }
            _ => self.error(format!("{} is a value, not a field", self.text(span)), span),
        }
    }

    fn typed_pair(&self, a: Raw, b: Raw) -> Result<(Operand, Operand), FilterError> {
        match (a, b) {
            (Raw::Op(a, ka, sa), Raw::Op(b, kb, sb)) => {
                if !compatible(ka, kb) {
                    return Err(self.error(
                        format!(
                            "{} and {} are not of compatible types.",
                            self.text(sa),
                            self.text(sb)
                        ),
                        (sa.0, sb.1),
                    ));
                }
                Ok((a, b))
            }
            (Raw::Op(a, kind, _), Raw::Lit(tok, span)) => {
                let lit = self.constant(&tok, kind, field_of(&a), span)?;
                Ok((a, lit))
            }
            (Raw::Lit(tok, span), Raw::Op(b, kind, _)) => {
                let lit = self.constant(&tok, kind, field_of(&b), span)?;
                Ok((lit, b))
            }
            (Raw::Lit(tok, span), Raw::Lit(..)) => Err(self.unknown(&tok, span)),
        }
    }

    fn typed(&self, raw: Raw, kind: Kind, field: Option<FieldId>) -> Result<Operand, FilterError> {
        match raw {
            Raw::Op(op, _, _) => Ok(op),
            Raw::Lit(tok, span) => self.constant(&tok, kind, field, span),
        }
    }

    /// A literal against a field: a value name, a number within the field's width, or any
    /// literal of its type. A negative number against an unsigned field is accepted and never
    /// equal to anything, as in 4.0.
    fn constant(
        &self,
        tok: &Tok,
        kind: Kind,
        field: Option<FieldId>,
        span: (usize, usize),
    ) -> Result<Operand, FilterError> {
        let unsigned = matches!(kind, Kind::UInt | Kind::Hex { .. } | Kind::FrameNum);
        if let (Tok::Word(w), Some(id)) = (tok, field) {
            if let Some((_, v)) = id.field().values.iter().find(|(n, _)| n == w) {
                return Ok(Operand::Const(V::Int(*v as i128)));
            }
            if unsigned && let Some(n) = integer(w) {
                if n < 0 {
                    return Ok(Operand::Nothing);
                }
                let bits = id.field().bits;
                let max = if bits >= 64 {
                    u64::MAX as i128
                } else {
                    (1i128 << bits) - 1
                };
                if n > max {
                    return Err(self.error(
                        format!("\"{w}\" too big for this field, maximum {max}."),
                        span,
                    ));
                }
            }
        }
        Ok(Operand::Const(self.literal(tok, kind, span)?))
    }

    /// A literal as a value of the field type it is compared with.
    fn literal(
        &self,
        tok: &Tok,
        kind: Kind,
        span: (usize, usize),
    ) -> Result<V<'static>, FilterError> {
        let text = match tok {
            Tok::Word(w) | Tok::Str(w) => w.as_str(),
            _ => "",
        };
        let quoted = matches!(tok, Tok::Str(_));
        let bad = |what: &str| self.error(format!("\"{text}\" is not a valid {what}"), span);
        if quoted && !matches!(kind, Kind::Str | Kind::Bytes | Kind::Protocol) {
            return Err(self.error(
                format!(
                    "\"{text}\" is a string; {} takes an unquoted value",
                    kind_words(kind)
                ),
                span,
            ));
        }
        Ok(match kind {
            Kind::UInt | Kind::Hex { .. } | Kind::Int | Kind::FrameNum | Kind::Bool => {
                if quoted {
                    return Err(self.error(
                        format!(
                            "{} cannot be converted from a string (\"{text}\")",
                            kind_words(kind)
                        ),
                        span,
                    ));
                }
                if kind == Kind::Bool {
                    return match text {
                        "True" | "TRUE" => Ok(V::Int(1)),
                        "False" | "FALSE" => Ok(V::Int(0)),
                        _ => match integer(text) {
                            Some(n) if n >= 0 => Ok(V::Int((n != 0) as i128)),
                            _ => Err(bad("boolean (1, 0, True, False)")),
                        },
                    };
                }
                V::Int(integer(text).ok_or_else(|| bad("integer"))?)
            }
            Kind::Float | Kind::RelTime | Kind::AbsTime => {
                // 4.0 takes digits with an optional fraction: no `1e0`, no `.5`.
                let (int, frac) = text.split_once('.').unwrap_or((text, "0"));
                let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
                if !digits(int.strip_prefix('-').unwrap_or(int)) || !digits(frac) {
                    return Err(bad("number of seconds"));
                }
                let secs: f64 = text.parse().map_err(|_| bad("number of seconds"))?;
                if kind == Kind::Float {
                    V::Float(secs)
                } else {
                    if !secs.is_finite() {
                        return Err(bad("number of seconds"));
                    }
                    V::Int((secs * 1e9).round() as i128)
                }
            }
            Kind::Ipv4 => {
                let (addr, prefix) = text.split_once('/').unwrap_or((text, "32"));
                let a: Ipv4Addr = addr.parse().map_err(|_| bad("IPv4 address"))?;
                let p: u8 = prefix
                    .parse()
                    .ok()
                    .filter(|p| *p <= 32)
                    .ok_or_else(|| bad("IPv4 prefix"))?;
                V::V4(a.to_bits(), p)
            }
            Kind::Ipv6 => {
                let (addr, prefix) = text.split_once('/').unwrap_or((text, "128"));
                let a: Ipv6Addr = addr.parse().map_err(|_| bad("IPv6 address"))?;
                let p: u8 = prefix
                    .parse()
                    .ok()
                    .filter(|p| *p <= 128)
                    .ok_or_else(|| bad("IPv6 prefix"))?;
                V::V6(a.to_bits(), p)
            }
            Kind::Ether => {
                let b = byte_string(text)
                    .or_else(|| cisco_mac(text))
                    .filter(|b| b.len() == 6)
                    .ok_or_else(|| bad("Ethernet address"))?;
                V::Bytes(Cow::Owned(b))
            }
            Kind::Str => V::Bytes(Cow::Owned(text.as_bytes().to_vec())),
            Kind::Bytes | Kind::Protocol => {
                let b = if quoted {
                    Some(text.as_bytes().to_vec())
                } else {
                    byte_string(text)
                };
                V::Bytes(Cow::Owned(b.ok_or_else(|| bad("byte string"))?))
            }
            Kind::None => {
                return Err(self.error(
                    "this field has no value to compare: test it alone for presence".into(),
                    span,
                ));
            }
        })
    }
}

fn span(r: &Raw) -> (usize, usize) {
    match r {
        Raw::Op(_, _, s) | Raw::Lit(_, s) => *s,
    }
}

fn kind_words(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "A boolean",
        _ => "An integer",
    }
}

fn compatible(a: Kind, b: Kind) -> bool {
    let class = |k: Kind| match k {
        Kind::UInt | Kind::Hex { .. } | Kind::Int | Kind::FrameNum | Kind::Bool => 0,
        Kind::Float => 0,
        Kind::RelTime => 1,
        Kind::AbsTime => 2,
        Kind::Ipv4 => 3,
        Kind::Ipv6 => 4,
        Kind::Ether | Kind::Bytes | Kind::Protocol => 5,
        Kind::Str => 6,
        Kind::None => 7,
    };
    class(a) == class(b) || (class(a) == 5 && class(b) == 6) || (class(a) == 6 && class(b) == 5)
}

/// Decimal, `0x` hex, `0` octal, with a leading minus; a one-byte `'c'` is not supported.
fn integer(text: &str) -> Option<i128> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let v = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i128::from_str_radix(h, 16).ok()?
    } else if let Some(b) = digits.strip_prefix("0b") {
        i128::from_str_radix(b, 2).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i128::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// `48:65:6c`, `48-65`, `48.65`, or a single byte `48`.
fn byte_string(text: &str) -> Option<Vec<u8>> {
    let sep = text.chars().find(|c| matches!(c, ':' | '-' | '.'));
    let parts: Vec<&str> = match sep {
        Some(s) => text.split(s).collect(),
        // A bare byte: one or two hex digits (`frame[0] & 1`, `ip.src[0] == 0a`).
        None if text.len() <= 2 => return u8::from_str_radix(text, 16).ok().map(|b| vec![b]),
        None => return None,
    };
    parts
        .iter()
        .map(|p| {
            (p.len() == 2)
                .then(|| u8::from_str_radix(p, 16).ok())
                .flatten()
        })
        .collect()
}

/// A MAC address as Cisco writes it: `0010.db88.d2ef`.
fn cisco_mac(text: &str) -> Option<Vec<u8>> {
    let groups: Vec<&str> = text.split('.').collect();
    if groups.len() != 3 || groups.iter().any(|g| g.len() != 4) {
        return None;
    }
    let hex: String = groups.concat();
    (0..12)
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

fn field_of(op: &Operand) -> Option<FieldId> {
    match op {
        Operand::Field(id) => Some(*id),
        _ => None,
    }
}

/// `0:2`, `1-3`, `-1`, `:3`, `2:`, `0`, comma-separated.
fn ranges(text: &str) -> Option<Vec<Range>> {
    text.split(',')
        .map(|r| {
            let r = r.trim();
            if let Some((a, b)) = r.split_once(':') {
                let start = if a.is_empty() { 0 } else { a.parse().ok()? };
                let len = if b.is_empty() {
                    None
                } else {
                    Some(b.parse::<i64>().ok().filter(|l| *l >= 0)?)
                };
                Some(Range { start, len })
            } else if let Some((a, b)) = r
                .get(1..)
                .and_then(|rest| rest.split_once('-'))
                .map(|(x, y)| (&r[..x.len() + 1], y))
            {
                let start: i64 = a.parse().ok()?;
                let end: i64 = b.parse().ok()?;
                (end >= start).then_some(Range {
                    start,
                    len: Some(end - start + 1),
                })
            } else {
                Some(Range {
                    start: r.parse().ok()?,
                    len: Some(1),
                })
            }
        })
        .collect()
}
