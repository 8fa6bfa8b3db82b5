//! The parser: Wireshark 4.0's `grammar.lemon` as recursive descent. Logical operators bind
//! `not` tighter than `and`, `and` tighter than `or`; below them a relation (`==`, `contains`,
//! `matches`, `in`, optionally led by `any`/`all`) or an arithmetic expression tested alone;
//! arithmetic binds `&` loosest, then `+ -`, then `* / %`, then unary minus, with `{ }` (not
//! parentheses) to group. The tree keeps byte spans for the caret of every later error.

use super::Fail;
use super::lex::{CmpOp, Lexer, Tok, Token};

pub(crate) type Span = (usize, usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quant {
    Any,
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArithOp {
    BitAnd,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl ArithOp {
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::BitAnd => "&",
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Mod => "%",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Expr {
    /// Terms of a chain of `and` (kept flat: a long chain is no deep tree).
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Cmp {
        quant: Option<Quant>,
        op: CmpOp,
        op_span: Span,
        lhs: Arith,
        rhs: Arith,
    },
    Contains {
        quant: Option<Quant>,
        op_span: Span,
        lhs: Entity,
        rhs: Entity,
    },
    Matches {
        quant: Option<Quant>,
        op_span: Span,
        lhs: Entity,
        rhs: Entity,
    },
    In {
        quant: Option<Quant>,
        lhs: Entity,
        set: Vec<SetElem>,
    },
    /// An arithmetic expression or entity on its own: a field's presence, a slice that is not
    /// empty, a value that is not zero.
    Bare(Arith),
}

#[derive(Clone, Debug)]
pub(crate) enum Arith {
    Entity(Entity),
    /// Unary minus (its span) of an entity.
    Neg(Entity, Span),
    /// A binary operator (its span) and operands.
    Bin(ArithOp, Box<Arith>, Box<Arith>, Span),
}

#[derive(Clone, Debug)]
pub(crate) struct SetElem {
    pub lo: Arith,
    pub hi: Option<Arith>,
}

#[derive(Clone, Debug)]
pub(crate) enum Entity {
    Str(Vec<u8>, Span),
    Char(u64, Span),
    /// Never a field: a byte string or number with a leading colon.
    Literal(Span),
    /// A field if one has that name, else a literal.
    Unparsed(Span),
    /// A field (a dot, a layer or `${}` made it one): its name's span, its layer ranges.
    Field(Span, Option<Vec<RangeNode>>),
    Slice(Box<Entity>, Vec<RangeNode>, Span),
    /// Name span, arguments, whole span.
    Func(Span, Vec<Arith>, Span),
    /// `${field}`: a field of the frame selected in Wireshark's GUI.
    Reference(Box<Entity>, Span),
}

impl Entity {
    pub fn span(&self) -> Span {
        match self {
            Entity::Str(_, s)
            | Entity::Char(_, s)
            | Entity::Literal(s)
            | Entity::Unparsed(s)
            | Entity::Slice(_, _, s)
            | Entity::Func(_, _, s)
            | Entity::Reference(_, s) => *s,
            Entity::Field(s, _) => *s,
        }
    }
}

impl Arith {
    /// Where tshark points at this node: an entity's own text, an operator's token.
    pub fn span(&self) -> Span {
        match self {
            Arith::Entity(e) => e.span(),
            Arith::Neg(_, s) | Arith::Bin(_, _, _, s) => *s,
        }
    }

    /// The whole text of the node.
    pub fn extent(&self) -> Span {
        match self {
            Arith::Entity(e) => e.span(),
            Arith::Neg(e, s) => (s.0, e.span().1),
            Arith::Bin(_, a, b, _) => (a.extent().0, b.extent().1),
        }
    }
}

/// One range of a slice or a layer: `i`, `i:j` (length), `i-j` (inclusive end), `:j`, `i:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RangeNode {
    pub start: i64,
    pub end: RangeEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RangeEnd {
    Length(i64),
    Offset(i64),
    ToEnd,
}

pub(crate) fn parse(src: &str) -> Result<Option<Expr>, Fail> {
    let mut p = Parser {
        lx: Lexer::new(src),
        src,
        peeked: None,
        depth: 0,
    };
    if p.peek()?.tok == Tok::End {
        return Ok(None);
    }
    let e = p.or()?;
    let t = p.bump()?;
    if t.tok != Tok::End {
        return Err(p.unexpected(&t));
    }
    Ok(Some(e))
}

struct Parser<'e> {
    lx: Lexer<'e>,
    src: &'e str,
    peeked: Option<Token>,
    depth: usize,
}

/// Deepest nesting of parentheses, `not`, arithmetic, slices and function calls.
pub(crate) const MAX_DEPTH: usize = 100;

impl Parser<'_> {
    fn peek(&mut self) -> Result<&Token, Fail> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lx.next_token()?);
        }
        Ok(self.peeked.as_ref().expect("peeked"))
    }

    fn bump(&mut self) -> Result<Token, Fail> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lx.next_token(),
        }
    }

    fn unexpected(&self, t: &Token) -> Fail {
        if t.tok == Tok::End {
            Fail::end("Unexpected end of filter expression.")
        } else {
            Fail::at(
                format!(
                    "\"{}\" was unexpected in this context.",
                    &self.src[t.start..t.end]
                ),
                t.start,
                t.end,
            )
        }
    }

    fn expect(&mut self, tok: Tok) -> Result<Token, Fail> {
        let t = self.bump()?;
        if t.tok == tok {
            Ok(t)
        } else {
            Err(self.unexpected(&t))
        }
    }

    fn or(&mut self) -> Result<Expr, Fail> {
        let mut terms = vec![self.and()?];
        while self.peek()?.tok == Tok::Or {
            self.bump()?;
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().expect("one")
        } else {
            Expr::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Expr, Fail> {
        let mut terms = vec![self.not()?];
        while self.peek()?.tok == Tok::And {
            self.bump()?;
            terms.push(self.not()?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().expect("one")
        } else {
            Expr::And(terms)
        })
    }

    /// One more level of nesting, refused past [`MAX_DEPTH`]: the tree is walked recursively
    /// (compiled, evaluated, dropped), so its depth must stay small whatever the input.
    fn enter(&mut self) -> Result<(), Fail> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let at = self.peeked.as_ref().map_or(self.src.len(), |t| t.start);
            return Err(Fail::at(
                format!("The filter is nested too deeply (more than {MAX_DEPTH} levels)."),
                at,
                at,
            ));
        }
        Ok(())
    }

    fn not(&mut self) -> Result<Expr, Fail> {
        if self.peek()?.tok == Tok::Not {
            self.bump()?;
            self.enter()?;
            let e = Expr::Not(Box::new(self.not()?));
            self.depth -= 1;
            return Ok(e);
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, Fail> {
        match self.peek()?.tok {
            Tok::LParen => {
                self.bump()?;
                self.enter()?;
                let e = self.or()?;
                self.depth -= 1;
                self.expect(Tok::RParen)?;
                Ok(e)
            }
            Tok::Any | Tok::All => {
                let quant = if self.bump()?.tok == Tok::Any {
                    Quant::Any
                } else {
                    Quant::All
                };
                let lhs = self.arith()?;
                match self.relation(Some(quant), lhs)? {
                    Ok(e) => Ok(e),
                    Err(_) => {
                        let t = self.bump()?;
                        Err(self.unexpected(&t))
                    }
                }
            }
            _ => {
                let lhs = self.arith()?;
                Ok(match self.relation(None, lhs)? {
                    Ok(e) => e,
                    Err(lhs) => Expr::Bare(lhs),
                })
            }
        }
    }

    /// The relation that follows `lhs`, or `lhs` back when no relation operator follows.
    fn relation(&mut self, quant: Option<Quant>, lhs: Arith) -> Result<Result<Expr, Arith>, Fail> {
        let t = self.peek()?.clone();
        match t.tok {
            Tok::Cmp(_) => self.chain(quant, lhs).map(Ok),
            Tok::Contains | Tok::Matches | Tok::In | Tok::Not => {
                let Arith::Entity(lhs) = lhs else {
                    return Err(self.unexpected(&t));
                };
                self.bump()?;
                let op_span = (t.start, t.end);
                Ok(Ok(match t.tok {
                    Tok::Contains => Expr::Contains {
                        quant,
                        op_span,
                        lhs,
                        rhs: self.entity()?,
                    },
                    Tok::Matches => Expr::Matches {
                        quant,
                        op_span,
                        lhs,
                        rhs: self.entity()?,
                    },
                    Tok::In => Expr::In {
                        quant,
                        lhs,
                        set: self.set()?,
                    },
                    _ => {
                        // `not in`: the negation of `in`; an `any`/`all` before it is lost, as
                        // in 4.0's grammar (it marks the `not`, which ignores it).
                        self.expect(Tok::In)?;
                        Expr::Not(Box::new(Expr::In {
                            quant: None,
                            lhs,
                            set: self.set()?,
                        }))
                    }
                }))
            }
            _ => Ok(Err(lhs)),
        }
    }

    /// `a OP b`, and `a OP b OP c ...` as `a OP b and b OP c and ...`.
    fn chain(&mut self, quant: Option<Quant>, lhs: Arith) -> Result<Expr, Fail> {
        let t = self.bump()?;
        let Tok::Cmp(op) = t.tok else {
            return Err(self.unexpected(&t));
        };
        let rhs = self.arith()?;
        let first = Expr::Cmp {
            quant,
            op,
            op_span: (t.start, t.end),
            lhs,
            rhs: rhs.clone(),
        };
        if matches!(self.peek()?.tok, Tok::Cmp(_)) {
            self.enter()?;
            let rest = self.chain(quant, rhs)?;
            self.depth -= 1;
            return Ok(match rest {
                Expr::And(mut terms) => {
                    terms.insert(0, first);
                    Expr::And(terms)
                }
                rest => Expr::And(vec![first, rest]),
            });
        }
        Ok(first)
    }

    fn set(&mut self) -> Result<Vec<SetElem>, Fail> {
        self.expect(Tok::LBrace)?;
        let mut out = Vec::new();
        loop {
            let lo = self.set_entity()?;
            let hi = if self.peek()?.tok == Tok::DotDot {
                self.bump()?;
                Some(self.set_entity()?)
            } else {
                None
            };
            out.push(SetElem { lo, hi });
            let t = self.bump()?;
            match t.tok {
                Tok::Comma => {}
                Tok::RBrace => return Ok(out),
                _ => return Err(self.unexpected(&t)),
            }
        }
    }

    fn set_entity(&mut self) -> Result<Arith, Fail> {
        match self.peek()?.tok {
            Tok::Minus => {
                let t = self.bump()?;
                Ok(Arith::Neg(self.entity()?, (t.start, t.end)))
            }
            Tok::Plus => {
                self.bump()?;
                Ok(Arith::Entity(self.entity()?))
            }
            _ => Ok(Arith::Entity(self.entity()?)),
        }
    }

    fn arith(&mut self) -> Result<Arith, Fail> {
        let outer = self.depth;
        let mut left = self.additive()?;
        while self.peek()?.tok == Tok::BitAnd {
            let t = self.bump()?;
            self.enter()?;
            let right = self.additive()?;
            left = Arith::Bin(
                ArithOp::BitAnd,
                Box::new(left),
                Box::new(right),
                (t.start, t.end),
            );
        }
        self.depth = outer;
        Ok(left)
    }

    fn additive(&mut self) -> Result<Arith, Fail> {
        let outer = self.depth;
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek()?.tok {
                Tok::Plus => ArithOp::Add,
                Tok::Minus => ArithOp::Sub,
                _ => {
                    self.depth = outer;
                    return Ok(left);
                }
            };
            let t = self.bump()?;
            self.enter()?;
            let right = self.multiplicative()?;
            left = Arith::Bin(op, Box::new(left), Box::new(right), (t.start, t.end));
        }
    }

    fn multiplicative(&mut self) -> Result<Arith, Fail> {
        let outer = self.depth;
        let mut left = self.unary()?;
        loop {
            let op = match self.peek()?.tok {
                Tok::Star => ArithOp::Mul,
                Tok::Slash => ArithOp::Div,
                Tok::Percent => ArithOp::Mod,
                _ => {
                    self.depth = outer;
                    return Ok(left);
                }
            };
            let t = self.bump()?;
            self.enter()?;
            let right = self.unary()?;
            left = Arith::Bin(op, Box::new(left), Box::new(right), (t.start, t.end));
        }
    }

    fn unary(&mut self) -> Result<Arith, Fail> {
        match self.peek()?.tok {
            Tok::Minus => {
                let t = self.bump()?;
                Ok(Arith::Neg(self.entity()?, (t.start, t.end)))
            }
            Tok::Plus => {
                self.bump()?;
                Ok(Arith::Entity(self.entity()?))
            }
            Tok::LBrace => {
                self.bump()?;
                self.enter()?;
                let a = self.arith()?;
                self.depth -= 1;
                self.expect(Tok::RBrace)?;
                Ok(a)
            }
            _ => Ok(Arith::Entity(self.entity()?)),
        }
    }

    fn entity(&mut self) -> Result<Entity, Fail> {
        let t = self.bump()?;
        let span = (t.start, t.end);
        let mut e = match t.tok {
            Tok::Str(s) => Entity::Str(s, span),
            Tok::Char(c) => Entity::Char(c, span),
            Tok::Literal => Entity::Literal(span),
            Tok::Field => {
                let name = self.known((t.start + 1, t.end))?;
                let layer = self.layer()?;
                Entity::Field(name, layer)
            }
            Tok::Unparsed => match self.peek()?.tok {
                Tok::LParen => {
                    self.bump()?;
                    self.enter()?;
                    let mut args = Vec::new();
                    if self.peek()?.tok != Tok::RParen {
                        loop {
                            args.push(self.arith()?);
                            if self.peek()?.tok == Tok::Comma {
                                self.bump()?;
                            } else {
                                break;
                            }
                        }
                    }
                    self.depth -= 1;
                    let close = self.expect(Tok::RParen)?;
                    let name = &self.src[t.start..t.end];
                    if !super::compile::FUNCTIONS.contains(&name) {
                        return Err(Fail::at(
                            format!("Function '{name}' does not exist"),
                            t.start,
                            t.end,
                        ));
                    }
                    Entity::Func(span, args, (t.start, close.end))
                }
                Tok::Hash => {
                    self.known(span)?;
                    let layer = self.layer()?;
                    Entity::Field(span, layer)
                }
                _ => Entity::Unparsed(span),
            },
            Tok::Dollar => {
                self.expect(Tok::LBrace)?;
                let f = self.bump()?;
                let field = match f.tok {
                    Tok::Field => {
                        let name = self.known((f.start + 1, f.end))?;
                        Entity::Field(name, self.layer()?)
                    }
                    Tok::Unparsed => {
                        let name = self.known((f.start, f.end))?;
                        let layer = self.layer()?;
                        Entity::Field(name, layer)
                    }
                    _ => return Err(self.unexpected(&f)),
                };
                let close = self.expect(Tok::RBrace)?;
                Entity::Reference(Box::new(field), (t.start, close.end))
            }
            _ => return Err(self.unexpected(&t)),
        };
        let outer = self.depth;
        while self.peek()?.tok == Tok::LBracket {
            self.bump()?;
            self.enter()?;
            let ranges = self.ranges()?;
            let close = self.expect(Tok::RBracket)?;
            let start = e.span().0;
            e = Entity::Slice(Box::new(e), ranges, (start, close.end));
        }
        self.depth = outer;
        Ok(e)
    }

    /// A name that must be a field (after a dot, before a layer, in `${}`): checked as the
    /// grammar checks it, before the rest is parsed.
    fn known(&self, span: Span) -> Result<Span, Fail> {
        let name = &self.src[span.0..span.1];
        match crate::fields::lookup(name) {
            Some(_) => Ok(span),
            None => Err(super::compile::unknown_field(name, span)),
        }
    }

    /// `#N` or `#[ranges]` after a field, if there.
    fn layer(&mut self) -> Result<Option<Vec<RangeNode>>, Fail> {
        if self.peek()?.tok != Tok::Hash {
            return Ok(None);
        }
        self.bump()?;
        let t = self.bump()?;
        match t.tok {
            Tok::LayerInt => {
                let text = &self.src[t.start..t.end];
                Ok(Some(vec![range_node(text, t.start)?]))
            }
            Tok::LBracket => {
                let ranges = self.ranges()?;
                self.expect(Tok::RBracket)?;
                Ok(Some(ranges))
            }
            _ => Err(self.unexpected(&t)),
        }
    }

    /// Range nodes separated by commas, up to (not including) `]`.
    fn ranges(&mut self) -> Result<Vec<RangeNode>, Fail> {
        let mut out = Vec::new();
        loop {
            let t = self.bump()?;
            if t.tok != Tok::RangeNode {
                return Err(self.unexpected(&t));
            }
            out.push(range_node(&self.src[t.start..t.end], t.start)?);
            if self.peek()?.tok == Tok::Comma {
                self.bump()?;
            } else {
                return Ok(out);
            }
        }
    }
}

/// One range node's text as `drange_node_from_str` reads it.
pub(crate) fn range_node(text: &str, at: usize) -> Result<RangeNode, Fail> {
    let whole = (at, at + text.len());
    let fail = |m: String| Fail::at(m, whole.0, whole.1);
    let num = |s: &str| -> Result<i64, Fail> {
        parse_c_long(s.trim())
            .ok_or_else(|| fail(format!("\"{}\" is not a valid number.", s.trim())))
    };
    let t = text.trim();
    if let Some(len) = t.strip_prefix(':') {
        let len = num(len)?;
        if len <= 0 {
            return Err(fail(format!(
                "Range {t} isn't valid because length {len} isn't positive"
            )));
        }
        return Ok(RangeNode {
            start: 0,
            end: RangeEnd::Length(len),
        });
    }
    // The start: an optional sign and the characters up to the separator.
    let body_from = usize::from(t.starts_with('-') || t.starts_with('+'));
    let sep = t[body_from..].find([':', '-']).map(|i| i + body_from);
    let Some(sep) = sep else {
        return Ok(RangeNode {
            start: num(t)?,
            end: RangeEnd::Length(1),
        });
    };
    let start = num(&t[..sep])?;
    let rest = &t[sep + 1..];
    if t.as_bytes()[sep] == b':' {
        if rest.trim().is_empty() {
            return Ok(RangeNode {
                start,
                end: RangeEnd::ToEnd,
            });
        }
        let len = num(rest)?;
        if len <= 0 {
            return Err(fail(format!(
                "Range {t} isn't valid because length {len} isn't positive"
            )));
        }
        return Ok(RangeNode {
            start,
            end: RangeEnd::Length(len),
        });
    }
    let end = num(rest)?;
    if (start >= 0) != (end >= 0) {
        return Err(fail(format!(
            "Range {t} isn't valid because {start} and {end} have different signs"
        )));
    }
    if start >= end {
        return Err(fail(format!(
            "Range {t} isn't valid because {start} is greater or equal than {end}"
        )));
    }
    Ok(RangeNode {
        start,
        end: RangeEnd::Offset(end),
    })
}

/// `strtol(s, &end, 0)` accepting the whole string: decimal, `0x` hex, `0` octal, a sign.
pub(crate) fn parse_c_long(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        if h.is_empty() || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        i64::from_str_radix(h, 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        if !body.bytes().all(|c| (b'0'..=b'7').contains(&c)) {
            return None;
        }
        i64::from_str_radix(&body[1..], 8).ok()?
    } else {
        if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        body.parse().ok()?
    };
    Some(if neg { -v } else { v })
}
