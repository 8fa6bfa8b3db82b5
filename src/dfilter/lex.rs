//! The scanner: Wireshark 4.0's `epan/dfilter/scanner.l` rules, rewritten by hand. Like flex it
//! takes the longest match at each position (ties go to the earlier rule), and it has the same
//! three start conditions: after `#` a layer number or `[`, after `[` raw slice ranges up to `]`.
//! Tokens are made on demand, so a parse error before a bad token is reported first, as tshark
//! reports it.

use super::Fail;

/// A comparison operator as written (`==`, `eq`, `any_eq` are one operator).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    AnyEq,
    AllNe,
    AllEq,
    AnyNe,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    LParen,
    RParen,
    Comma,
    LBrace,
    RBrace,
    DotDot,
    Dollar,
    Any,
    All,
    Cmp(CmpOp),
    Contains,
    Matches,
    Not,
    And,
    Or,
    In,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    BitAnd,
    Hash,
    LBracket,
    RBracket,
    /// The text of one slice or layer range, between `[`, `,` and `]`.
    RangeNode,
    /// The decimal layer number after `#`.
    LayerInt,
    /// A double-quoted (or raw `r"..."`) string, escapes applied.
    Str(Vec<u8>),
    /// A character constant `'a'`, `'\x41'`: its value.
    Char(u64),
    /// A literal that can never be a field: byte strings and numbers with a leading colon.
    Literal,
    /// A word, address or number: a field if one has that name, else a literal.
    Unparsed,
    /// `.name`: a field, never a literal.
    Field,
    End,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte offsets in the expression.
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    Layer,
    Range,
}

pub(crate) struct Lexer<'e> {
    src: &'e str,
    pos: usize,
    mode: Mode,
}

/// The fixed tokens, in scanner.l's rule order (the order breaks ties of equal length).
const FIXED: &[(&str, Tok)] = &[
    ("(", Tok::LParen),
    (")", Tok::RParen),
    (",", Tok::Comma),
    ("{", Tok::LBrace),
    ("..", Tok::DotDot),
    ("}", Tok::RBrace),
    ("$", Tok::Dollar),
    ("any", Tok::Any),
    ("all", Tok::All),
    ("==", Tok::Cmp(CmpOp::AnyEq)),
    ("eq", Tok::Cmp(CmpOp::AnyEq)),
    ("any_eq", Tok::Cmp(CmpOp::AnyEq)),
    ("!=", Tok::Cmp(CmpOp::AllNe)),
    ("ne", Tok::Cmp(CmpOp::AllNe)),
    ("all_ne", Tok::Cmp(CmpOp::AllNe)),
    ("===", Tok::Cmp(CmpOp::AllEq)),
    ("all_eq", Tok::Cmp(CmpOp::AllEq)),
    ("!==", Tok::Cmp(CmpOp::AnyNe)),
    ("~=", Tok::Cmp(CmpOp::AnyNe)),
    ("any_ne", Tok::Cmp(CmpOp::AnyNe)),
    (">", Tok::Cmp(CmpOp::Gt)),
    ("gt", Tok::Cmp(CmpOp::Gt)),
    (">=", Tok::Cmp(CmpOp::Ge)),
    ("ge", Tok::Cmp(CmpOp::Ge)),
    ("<", Tok::Cmp(CmpOp::Lt)),
    ("lt", Tok::Cmp(CmpOp::Lt)),
    ("<=", Tok::Cmp(CmpOp::Le)),
    ("le", Tok::Cmp(CmpOp::Le)),
    ("contains", Tok::Contains),
    ("~", Tok::Matches),
    ("matches", Tok::Matches),
    ("!", Tok::Not),
    ("not", Tok::Not),
    ("&&", Tok::And),
    ("and", Tok::And),
    ("||", Tok::Or),
    ("or", Tok::Or),
    ("in", Tok::In),
    ("+", Tok::Plus),
    ("-", Tok::Minus),
    ("*", Tok::Star),
    ("/", Tok::Slash),
    ("%", Tok::Percent),
    ("&", Tok::BitAnd),
    ("bitwise_and", Tok::BitAnd),
    ("#", Tok::Hash),
    ("[", Tok::LBracket),
];

impl<'e> Lexer<'e> {
    pub fn new(src: &'e str) -> Self {
        Lexer {
            src,
            pos: 0,
            mode: Mode::Normal,
        }
    }

    pub fn next_token(&mut self) -> Result<Token, Fail> {
        match self.mode {
            Mode::Normal => self.normal(),
            Mode::Layer => self.layer(),
            Mode::Range => self.range(),
        }
    }

    fn token(&mut self, tok: Tok, start: usize, end: usize) -> Result<Token, Fail> {
        self.pos = end;
        Ok(Token { tok, start, end })
    }

    fn layer(&mut self) -> Result<Token, Fail> {
        let b = self.src.as_bytes();
        let start = self.pos;
        let Some(&c) = b.get(start) else {
            self.mode = Mode::Normal;
            return self.token(Tok::End, start, start);
        };
        if c.is_ascii_digit() {
            let end = start + b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
            self.mode = Mode::Normal;
            return self.token(Tok::LayerInt, start, end);
        }
        if c == b'[' {
            self.mode = Mode::Range;
            return self.token(Tok::LBracket, start, start + 1);
        }
        let end = start + char_len(self.src, start);
        Err(Fail::at(
            format!("Expected digit or \"[\", not \"{}\"", &self.src[start..end]),
            start,
            end,
        ))
    }

    fn range(&mut self) -> Result<Token, Fail> {
        let b = self.src.as_bytes();
        let start = self.pos;
        match b.get(start) {
            None => Err(Fail::at(
                "The right bracket was missing from a slice.",
                start,
                start,
            )),
            Some(b',') => self.token(Tok::Comma, start, start + 1),
            Some(b']') => {
                self.mode = Mode::Normal;
                self.token(Tok::RBracket, start, start + 1)
            }
            Some(_) => {
                let end = start
                    + b[start..]
                        .iter()
                        .take_while(|&&c| c != b',' && c != b']')
                        .count();
                self.token(Tok::RangeNode, start, end)
            }
        }
    }

    fn normal(&mut self) -> Result<Token, Fail> {
        let b = self.src.as_bytes();
        while let Some(&c) = b.get(self.pos) {
            if c == b' ' || c == b'\t' || c == b'\n' {
                self.pos += 1;
            } else {
                break;
            }
        }
        let start = self.pos;
        if start >= b.len() {
            return self.token(Tok::End, start, start);
        }
        let rest = &self.src[start..];

        // The longest match; on a tie the earlier rule. Rules in scanner.l's order: fixed
        // tokens, string and character quotes, then the words (addresses, byte strings,
        // identifiers), which all become one kind of token but for their first character.
        let mut best: Option<(usize, Tok)> = None;
        for (text, tok) in FIXED {
            if rest.starts_with(text) && best.as_ref().is_none_or(|(n, _)| text.len() > *n) {
                best = Some((text.len(), tok.clone()));
            }
        }
        // No fixed token starts with a quote, and an identifier `r` is shorter than `r"`.
        match rest.as_bytes() {
            [b'"', ..] => return self.string(start, false),
            [b'r' | b'R', b'"', ..] => return self.string(start, true),
            _ => {}
        }
        if rest.starts_with('\'') {
            return self.charconst(start);
        }
        let word = word_len(rest);
        if word > 0 && best.as_ref().is_none_or(|(n, _)| word > *n) {
            let end = start + word;
            let tok = match b[start] {
                b':' => Tok::Literal,
                b'.' => {
                    // scanner.l resolves a dotted name as it reads it.
                    let name = &self.src[start + 1..end];
                    if crate::fields::lookup(name).is_none() {
                        return Err(super::compile::unknown_field(name, (start + 1, end)));
                    }
                    Tok::Field
                }
                _ => Tok::Unparsed,
            };
            return self.token(tok, start, end);
        }
        match best {
            Some((n, tok)) => {
                if tok == Tok::Hash {
                    self.mode = Mode::Layer;
                } else if tok == Tok::LBracket {
                    self.mode = Mode::Range;
                }
                self.token(tok, start, start + n)
            }
            None => {
                let end = start + char_len(self.src, start);
                let c = &self.src[start..end];
                let msg = if c.len() == 1 && (0x20..0x7f).contains(&b[start]) {
                    format!("\"{c}\" was unexpected in this context.")
                } else {
                    "Non-printable ASCII characters may only appear inside double-quotes.".into()
                };
                Err(Fail::at(msg, start, end))
            }
        }
    }

    /// A double-quoted string from `start` (its `r` or quote); escapes as in scanner.l.
    fn string(&mut self, start: usize, raw: bool) -> Result<Token, Fail> {
        let b = self.src.as_bytes();
        let mut i = start + if raw { 2 } else { 1 };
        let mut out = Vec::new();
        loop {
            let Some(&c) = b.get(i) else {
                return Err(Fail::at(
                    "The final quote was missing from a quoted string.",
                    b.len(),
                    b.len(),
                ));
            };
            match c {
                b'"' => {
                    return self.token(Tok::Str(out), start, i + 1);
                }
                b'\\' => {
                    let esc_start = i;
                    let Some(&e) = b.get(i + 1) else {
                        // A lone backslash at the end: flex finds no rule but the unterminated
                        // string's.
                        return Err(Fail::at(
                            "The final quote was missing from a quoted string.",
                            b.len(),
                            b.len(),
                        ));
                    };
                    let (len, value): (usize, Option<Vec<u8>>) = match e {
                        b'0'..=b'7' => {
                            let n = 1 + b[i + 2..]
                                .iter()
                                .take(2)
                                .take_while(|c| (b'0'..=b'7').contains(c))
                                .count();
                            let text = &self.src[i + 1..i + 1 + n];
                            let v = u32::from_str_radix(text, 8).unwrap_or(u32::MAX);
                            if v > 0xff && !raw {
                                return Err(Fail::at(
                                    format!("{} is larger than 255.", &self.src[i..i + 1 + n]),
                                    i,
                                    i + 1 + n,
                                ));
                            }
                            (1 + n, Some(vec![v as u8]))
                        }
                        b'x' if b.get(i + 2).is_some_and(u8::is_ascii_hexdigit) => {
                            let n = b[i + 2..]
                                .iter()
                                .take(2)
                                .take_while(|c| c.is_ascii_hexdigit())
                                .count();
                            let v = u8::from_str_radix(&self.src[i + 2..i + 2 + n], 16)
                                .unwrap_or_default();
                            (2 + n, Some(vec![v]))
                        }
                        b'u' | b'U' => {
                            let max = if e == b'u' { 4 } else { 8 };
                            let n = b[i + 2..]
                                .iter()
                                .take(max)
                                .take_while(|c| c.is_ascii_hexdigit())
                                .count();
                            let text = &self.src[i..i + 2 + n];
                            if raw {
                                (2 + n, None)
                            } else {
                                match universal(text) {
                                    Some(ch) => {
                                        let mut buf = [0; 4];
                                        (2 + n, Some(ch.encode_utf8(&mut buf).as_bytes().to_vec()))
                                    }
                                    None => {
                                        return Err(Fail::at(
                                            format!(
                                                "{text} is not a valid universal character name"
                                            ),
                                            i,
                                            i + 2 + n,
                                        ));
                                    }
                                }
                            }
                        }
                        _ => {
                            let n = char_len(self.src, i + 1);
                            let v = match e {
                                b'a' => 7,
                                b'b' => 8,
                                b'f' => 12,
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                b'v' => 11,
                                b'\\' | b'\'' | b'"' => e,
                                _ if raw => 0,
                                _ => {
                                    return Err(Fail::at(
                                        format!(
                                            "\\{} is not a valid character escape sequence",
                                            &self.src[i + 1..i + 1 + n]
                                        ),
                                        i,
                                        i + 1 + n,
                                    ));
                                }
                            };
                            (1 + n, Some(vec![v]))
                        }
                    };
                    if raw {
                        out.extend_from_slice(&b[esc_start..esc_start + len]);
                    } else if let Some(v) = value {
                        out.extend_from_slice(&v);
                    }
                    i += len;
                }
                _ => {
                    out.push(c);
                    i += 1;
                }
            }
        }
    }

    /// A character constant from its opening quote.
    fn charconst(&mut self, start: usize) -> Result<Token, Fail> {
        let b = self.src.as_bytes();
        // scanner.l keeps `\.` pairs whole and stops at the first unescaped quote.
        let mut i = start + 1;
        loop {
            match b.get(i) {
                None => {
                    return Err(Fail::at(
                        "The final quote was missing from a character constant.",
                        b.len(),
                        b.len(),
                    ));
                }
                Some(b'\'') => break,
                Some(b'\\') if i + 1 < b.len() => i += 1 + char_len(self.src, i + 1),
                Some(_) => i += char_len(self.src, i),
            }
        }
        let end = i + 1;
        let text = &self.src[start..end];
        let value = charconst_value(text).map_err(|m| Fail::at(m, start, end))?;
        self.token(Tok::Char(value), start, end)
    }
}

/// The length of a UTF-8 character at `at` (1 past the end of a broken one).
fn char_len(s: &str, at: usize) -> usize {
    s[at..].chars().next().map_or(1, char::len_utf8)
}

/// `\uNNNN` or `\UNNNNNNNN` as a character, under scanner.l's rules (exactly 4 or 8 digits,
/// not a control character or a basic character but `$ @ \``, not a surrogate).
fn universal(text: &str) -> Option<char> {
    let digits = &text[2..];
    let want = if text.as_bytes()[1] == b'u' { 4 } else { 8 };
    if digits.len() != want {
        return None;
    }
    let v = u32::from_str_radix(digits, 16).ok()?;
    if v < 0xa0 && v != 0x24 && v != 0x40 && v != 0x60 {
        return None;
    }
    char::from_u32(v)
}

/// The value of a character constant `'...'` (quotes included), or tshark's message.
fn charconst_value(s: &str) -> Result<u64, String> {
    let inner = &s.as_bytes()[1..s.len() - 1];
    let too_long = || format!("{s} is too long to be a valid character constant.");
    let invalid = || format!("{s} isn't a valid character constant.");
    let Some(&first) = inner.first() else {
        return Err("Empty character constant.".into());
    };
    if first != b'\\' {
        if !(0x20..0x7f).contains(&first) {
            return Err(format!(
                "Non-printable value '0x{first:02x}' in character constant."
            ));
        }
        return if inner.len() == 1 {
            Ok(first as u64)
        } else {
            Err(too_long())
        };
    }
    let esc = &inner[1..];
    let Some(&e) = esc.first() else {
        return Err(invalid());
    };
    let (value, used) = match e {
        b'a' => (7, 1),
        b'b' => (8, 1),
        b'f' => (12, 1),
        // 4.0 takes `'\n'` for two characters (scanner.l forgets to step over the n).
        b'n' => return Err(too_long()),
        b'r' => (13, 1),
        b't' => (9, 1),
        b'v' => (11, 1),
        b'\'' | b'\\' | b'"' => (e as u64, 1),
        b'x' => {
            let n = esc[1..]
                .iter()
                .take(2)
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            if n == 0 {
                return Err(invalid());
            }
            let text = std::str::from_utf8(&esc[1..1 + n]).map_err(|_| invalid())?;
            (u64::from_str_radix(text, 16).map_err(|_| invalid())?, 1 + n)
        }
        b'u' | b'U' => {
            let want = if e == b'u' { 4 } else { 8 };
            let text = std::str::from_utf8(&inner[..(2 + want).min(inner.len())])
                .map_err(|_| invalid())?;
            match universal(text) {
                Some(c) => (c as u64, 1 + want),
                None => return Err(format!("{s} is not a valid universal character name")),
            }
        }
        b'0'..=b'7' => {
            let n = esc
                .iter()
                .take(3)
                .take_while(|c| (b'0'..=b'7').contains(c))
                .count();
            if n < esc.len().min(3) {
                return Err(invalid());
            }
            let text = std::str::from_utf8(&esc[..n]).map_err(|_| invalid())?;
            let v = u64::from_str_radix(text, 8).map_err(|_| invalid())?;
            if v > 0xff {
                return Err(format!(
                    "{s} is too large to be a valid character constant."
                ));
            }
            (v, n)
        }
        _ => return Err(invalid()),
    };
    if used != esc.len() {
        return Err(too_long());
    }
    Ok(value)
}

/// The length of the longest "word" rule matching at the start of `s`: a MAC address, an IPv4
/// or IPv6 address with an optional prefix, a byte string (with an optional leading colon), a
/// colon and hex digits, or an identifier (with an optional leading dot). 0 if none.
pub(crate) fn word_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut best = 0;
    best = best.max(mac_len(b));
    best = best.max(ipv4_len(b, true));
    best = best.max(ipv6_len(s));
    best = best.max(bytes_len(b));
    if b.first() == Some(&b':') {
        best = best.max(bytes_len(&b[1..]).map_nonzero(|n| n + 1));
        let hex = b[1..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if hex > 0 {
            best = best.max(1 + hex);
        }
    }
    best = best.max(ident_len(b));
    if b.first() == Some(&b'.') {
        best = best.max(ident_len(&b[1..]).map_nonzero(|n| n + 1));
    }
    best
}

trait MapNonZero {
    fn map_nonzero(self, f: impl FnOnce(usize) -> usize) -> usize;
}

impl MapNonZero for usize {
    fn map_nonzero(self, f: impl FnOnce(usize) -> usize) -> usize {
        if self == 0 { 0 } else { f(self) }
    }
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// `[[:alnum:]_][[:alnum:]_-]*(\.[[:alnum:]_-]+)*`
fn ident_len(b: &[u8]) -> usize {
    match b.first() {
        Some(&c) if c.is_ascii_alphanumeric() || c == b'_' => {}
        _ => return 0,
    }
    let mut i = 1 + b[1..].iter().take_while(|&&c| is_ident(c)).count();
    while b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(|&c| is_ident(c)) {
        i += 1 + b[i + 1..].iter().take_while(|&&c| is_ident(c)).count();
    }
    i
}

fn hexes(b: &[u8], at: usize, n: usize) -> bool {
    b.len() >= at + n && b[at..at + n].iter().all(u8::is_ascii_hexdigit)
}

/// Six hex pairs joined by one of `:` `-` `.`, or three hex quads joined by `.`.
fn mac_len(b: &[u8]) -> usize {
    let mut best = 0;
    for sep in [b':', b'-', b'.'] {
        if (0..6).all(|k| hexes(b, k * 3, 2) && (k == 5 || b.get(k * 3 + 2) == Some(&sep))) {
            best = 17;
        }
    }
    if (0..3).all(|k| hexes(b, k * 5, 4) && (k == 2 || b.get(k * 5 + 4) == Some(&b'.'))) {
        best = best.max(14);
    }
    best
}

/// `hex2(:hex2)+`, `hex2(\.hex2)+` or `hex2(-hex2)+`.
fn bytes_len(b: &[u8]) -> usize {
    let mut best = 0;
    for sep in [b':', b'.', b'-'] {
        if !hexes(b, 0, 2) {
            return 0;
        }
        let mut i = 2;
        while b.get(i) == Some(&sep) && hexes(b, i + 1, 2) {
            i += 3;
        }
        if i > 2 {
            best = best.max(i);
        }
    }
    best
}

/// The length of a dec-octet (0-255, no leading zero) at the start of `b`, the longest one.
fn dec_octet(b: &[u8]) -> Vec<usize> {
    let digits = b.iter().take(3).take_while(|c| c.is_ascii_digit()).count();
    let mut out = Vec::new();
    for n in 1..=digits {
        let d = &b[..n];
        if n > 1 && d[0] == b'0' {
            break;
        }
        let v: u32 = d.iter().fold(0, |v, c| v * 10 + u32::from(c - b'0'));
        if v <= 255 {
            out.push(n);
        }
    }
    out
}

/// An IPv4 address, with an optional `/N` (one or two digits) when `prefix`.
pub(crate) fn ipv4_len(b: &[u8], prefix: bool) -> usize {
    fn go(b: &[u8], at: usize, k: usize, prefix: bool) -> usize {
        let mut best = 0;
        for n in dec_octet(&b[at..]) {
            let end = at + n;
            if k == 3 {
                let mut len = end;
                if prefix && b.get(end) == Some(&b'/') {
                    let d = b[end + 1..]
                        .iter()
                        .take(2)
                        .take_while(|c| c.is_ascii_digit())
                        .count();
                    if d > 0 {
                        len = end + 1 + d;
                    }
                }
                best = best.max(len);
            } else if b.get(end) == Some(&b'.') {
                best = best.max(go(b, end + 1, k + 1, prefix));
            }
        }
        best
    }
    go(b, 0, 0, prefix)
}

/// An IPv6 address (RFC 4291 text forms), with an optional `/N` (one to three digits).
fn ipv6_len(s: &str) -> usize {
    let b = s.as_bytes();
    let run = b
        .iter()
        .take(64)
        .take_while(|&&c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        .count();
    if !b[..run].contains(&b':') {
        return 0;
    }
    for end in (2..=run).rev() {
        if ipv6_text(&s[..end]) {
            let mut len = end;
            if b.get(end) == Some(&b'/') {
                let d = b[end + 1..]
                    .iter()
                    .take(3)
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                if d > 0 {
                    len = end + 1 + d;
                }
            }
            return len;
        }
    }
    0
}

/// Whether `s` is an IPv6 address in scanner.l's grammar: groups of 1-4 hex digits, at most
/// one `::`, an optional dotted IPv4 tail.
pub(crate) fn ipv6_text(s: &str) -> bool {
    // The standard parser takes the same forms, but also no-leading-zero rules for the IPv4
    // tail that scanner.l shares: dec-octet has no leading zeros.
    if s.parse::<std::net::Ipv6Addr>().is_err() {
        return false;
    }
    // The IPv4 tail, if any, must be a dec-octet quad (the standard parser agrees), and hex
    // groups have at most 4 digits (also agreed). Nothing else to check.
    true
}
