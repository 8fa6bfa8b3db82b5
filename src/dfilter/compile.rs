//! The semantic check: names resolved to fields, literals parsed for the type they are
//! compared with, types checked as tshark 4.0's `semcheck.c` checks them, with its messages.
//! The result is the tree [`eval`](super::eval) runs.

use super::Fail;
use super::eval::{Func, Node, Operand, Rel};
use super::ftype::{self, Const, Ft};
use super::lex::CmpOp;
use super::parse::{Arith, Entity, Expr, Quant, RangeEnd, RangeNode, SetElem, Span};
use crate::fields::{self, FieldId};

pub(crate) struct Compiler<'e> {
    pub src: &'e str,
    /// Every field the filter reads.
    pub fields: Vec<FieldId>,
    /// Whether messages quote the operator at hand (comparisons yes, contains and matches no).
    pub quote_op: bool,
}

/// What decides how the other side of a relation is read.
struct Lhs {
    ft: Ft,
    /// The field's name (for Boolean value names and messages), if the side is a field.
    field: Option<&'static str>,
    /// How tshark shows the side in messages.
    display: String,
    span: Span,
    kind: LhsKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LhsKind {
    Field,
    Function,
    Slice,
}

/// The message for a name that is no field tcplens knows, with the closest ones.
pub(crate) fn unknown_field(name: &str, span: Span) -> Fail {
    let close = fields::closest(name, 3);
    Fail::at(
        format!(
            "tcplens does not know the field \"{name}\" (closest: {}).",
            close.join(", ")
        ),
        span.0,
        span.1,
    )
}

/// Whether a word that is no field reads as a try at a field's name rather than as a value.
fn name_like(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
}

/// Whether a literal that failed to parse reads as a field name (`tcp.srcprot`).
fn field_path_like(s: &str) -> bool {
    name_like(s)
        && s.contains('.')
        && s.split('.')
            .all(|p| p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
}

pub(crate) const FUNCTIONS: &[&str] = &[
    "len", "count", "upper", "lower", "string", "max", "min", "abs",
];

impl Compiler<'_> {
    fn text(&self, s: Span) -> &str {
        &self.src[s.0..s.1]
    }

    fn use_field(&mut self, id: FieldId) {
        if !self.fields.contains(&id) {
            self.fields.push(id);
        }
    }

    /// The field an entity names, as an operand, if it names one. Names that must be fields
    /// (`.name`, with a layer, in `${}`) were checked by the parser.
    fn field(&mut self, e: &Entity) -> Result<Option<(FieldId, Operand)>, Fail> {
        match e {
            Entity::Field(span, layer) => {
                let name = self.text(*span);
                let id = fields::lookup(name).ok_or_else(|| unknown_field(name, *span))?;
                self.use_field(id);
                let op = match layer {
                    Some(ranges) if !covers_first_layer(ranges) => Operand::Absent,
                    _ => Operand::Field(id),
                };
                Ok(Some((id, op)))
            }
            Entity::Unparsed(span) => Ok(fields::lookup(self.text(*span)).map(|id| {
                self.use_field(id);
                (id, Operand::Field(id))
            })),
            Entity::Reference(inner, _) => {
                Ok(self.field(inner)?.map(|(id, _)| (id, Operand::Absent)))
            }
            _ => Ok(None),
        }
    }

    fn is_constant(&self, e: &Entity) -> bool {
        match e {
            Entity::Str(..) | Entity::Char(..) | Entity::Literal(_) => true,
            Entity::Unparsed(s) => fields::lookup(self.text(*s)).is_none(),
            _ => false,
        }
    }

    /// The error for an entity where a field was wanted.
    fn not_a_field(&self, e: &Entity, msg: impl FnOnce(&str) -> String) -> Fail {
        let span = e.span();
        let text = self.text(span);
        if matches!(e, Entity::Unparsed(_)) && name_like(text) {
            return unknown_field(text, span);
        }
        Fail::at(msg(text), span.0, span.1)
    }

    pub fn expr(&mut self, e: &Expr) -> Result<Node, Fail> {
        Ok(match e {
            Expr::And(terms) => Node::And(
                terms
                    .iter()
                    .map(|t| self.expr(t))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Or(terms) => Node::Or(
                terms
                    .iter()
                    .map(|t| self.expr(t))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Not(a) => Node::Not(Box::new(self.expr(a)?)),
            Expr::Bare(a) => self.bare(a)?,
            Expr::Cmp {
                quant,
                op,
                op_span,
                lhs,
                rhs,
            } => {
                let (rel, all) = match op {
                    CmpOp::AnyEq => (Rel::Eq, false),
                    CmpOp::AllEq => (Rel::Eq, true),
                    CmpOp::AllNe => (Rel::Ne, true),
                    CmpOp::AnyNe => (Rel::Ne, false),
                    CmpOp::Gt => (Rel::Gt, false),
                    CmpOp::Ge => (Rel::Ge, false),
                    CmpOp::Lt => (Rel::Lt, false),
                    CmpOp::Le => (Rel::Le, false),
                };
                let all = quant.map_or(all, |q| q == Quant::All);
                let can: fn(Ft) -> bool = if matches!(rel, Rel::Eq | Rel::Ne) {
                    Ft::can_eq
                } else {
                    Ft::can_order
                };
                let op_text = self.text(*op_span).to_string();
                self.quote_op = true;
                let (lhs, rhs) = self.relation(lhs, rhs, &op_text, can, false)?;
                cmp_node(all, rel, lhs, rhs)
            }
            Expr::Contains {
                quant,
                op_span,
                lhs,
                rhs,
            } => {
                let op_text = self.text(*op_span).to_string();
                self.quote_op = false;
                let lhs = self.entity_lhs(lhs, &op_text)?;
                let (lhs, rhs) = self.relation(
                    &Arith::Entity(lhs),
                    &Arith::Entity(rhs.clone()),
                    &op_text,
                    Ft::can_contains,
                    true,
                )?;
                cmp_node(*quant == Some(Quant::All), Rel::Contains, lhs, rhs)
            }
            Expr::Matches {
                quant,
                op_span,
                lhs,
                rhs,
            } => {
                let Entity::Str(pattern, pspan) = rhs else {
                    let s = rhs.span();
                    return Err(Fail::at(
                        "Matches requires a double quoted string on the right side.",
                        s.0,
                        s.1,
                    ));
                };
                let re = regex(pattern).map_err(|m| Fail::at(m, pspan.0, pspan.1))?;
                let op_text = self.text(*op_span).to_string();
                self.quote_op = false;
                let lhs = self.entity_lhs(lhs, &op_text)?;
                let (lhs, _) = self.lhs(&Arith::Entity(lhs.clone()), &op_text, Ft::can_matches)?;
                Node::Matches {
                    all: *quant == Some(Quant::All),
                    lhs,
                    re,
                }
            }
            Expr::In { quant, lhs, set } => self.set(*quant == Some(Quant::All), lhs, set)?,
        })
    }

    /// The left side of `contains` and `matches`: a field, function or slice.
    fn entity_lhs(&mut self, e: &Entity, op: &str) -> Result<Entity, Fail> {
        match e {
            Entity::Slice(..) | Entity::Func(..) => Ok(e.clone()),
            _ if self.field(e)?.is_some() => Ok(e.clone()),
            _ => Err(self.not_a_field(e, |t| {
                format!("Left side of {op} expression must be a field or function, not {t}.")
            })),
        }
    }

    /// An expression alone: presence of a field, a non-empty slice, a non-zero value.
    fn bare(&mut self, a: &Arith) -> Result<Node, Fail> {
        let Arith::Entity(e) = a else {
            let (op, _) = self.arith(a, None)?;
            return Ok(Node::NonZero(op));
        };
        match e {
            Entity::Func(name, ..) => Err(Fail::at(
                "You cannot test whether a function is present.",
                name.0,
                name.1,
            )),
            Entity::Slice(..) => {
                let (op, _) = self.slice(e, None)?;
                Ok(Node::NonEmpty(op))
            }
            Entity::Reference(inner, _) => {
                let span = inner.span();
                let name = self.text(span);
                let ft = fields::lookup(name).map_or(Ft::None, Ft::of);
                Err(Fail::at(
                    format!(
                        "{name} <{}> is neither a field nor a protocol name.",
                        ft.name()
                    ),
                    span.0,
                    span.1,
                ))
            }
            _ => match self.field(e)? {
                Some((id, Operand::Field(_))) => Ok(Node::Exists(id)),
                Some(_) => Ok(Node::Not(Box::new(Node::True))),
                None => Err(self.not_a_field(e, |t| {
                    format!("{t} is neither a field nor a protocol name.")
                })),
            },
        }
    }

    /// The left side of a relation: its operand and what types the right side.
    fn lhs(&mut self, a: &Arith, op: &str, can: fn(Ft) -> bool) -> Result<(Operand, Lhs), Fail> {
        let e = match a {
            Arith::Entity(e) => e,
            Arith::Neg(..) | Arith::Bin(..) => {
                let (operand, _) = self.arith(a, None)?;
                // The right side is typed by the leftmost operand (check_relation_LHS_ARITHMETIC).
                let mut leaf = a;
                loop {
                    match leaf {
                        Arith::Bin(_, x, _, _) => leaf = x,
                        Arith::Neg(e, _) => {
                            let (_, mut info) = self.lhs(&Arith::Entity(e.clone()), op, can)?;
                            info.display = self.text(a.extent()).to_string();
                            return Ok((operand, info));
                        }
                        Arith::Entity(_) => {
                            let (_, mut info) = self.lhs(leaf, op, can)?;
                            info.display = self.text(a.extent()).to_string();
                            return Ok((operand, info));
                        }
                    }
                }
            }
        };
        let span = e.span();
        match e {
            Entity::Slice(..) => {
                let (operand, _) = self.slice(e, None)?;
                Ok((
                    operand,
                    Lhs {
                        ft: Ft::Bytes,
                        field: None,
                        display: self.text(span).to_string(),
                        span,
                        kind: LhsKind::Slice,
                    },
                ))
            }
            Entity::Func(name, ..) => {
                let (operand, ft) = self.function(e, None)?;
                let fname = self.text(*name).to_string();
                if !can(ft) {
                    return Err(Fail::at(
                        format!(
                            "Function {fname} (type={}) cannot participate in {op} comparison.",
                            ft.pretty()
                        ),
                        span.0,
                        span.1,
                    ));
                }
                Ok((
                    operand,
                    Lhs {
                        ft,
                        field: None,
                        display: fname,
                        span,
                        kind: LhsKind::Function,
                    },
                ))
            }
            _ => match self.field(e)? {
                Some((id, operand)) => {
                    let ft = Ft::of(id);
                    let name = id.field().name;
                    if !can(ft) {
                        return Err(Fail::at(
                            format!(
                                "{name} (type={}) cannot participate in {op} comparison.",
                                ft.pretty()
                            ),
                            span.0,
                            span.1,
                        ));
                    }
                    Ok((
                        operand,
                        Lhs {
                            ft,
                            field: Some(name),
                            display: name.to_string(),
                            span,
                            kind: LhsKind::Field,
                        },
                    ))
                }
                None => Err(self.not_a_field(e, |t| {
                    // Comparison operators are quoted, contains and matches are not.
                    let op = if self.quote_op {
                        format!("\"{op}\"")
                    } else {
                        op.to_string()
                    };
                    format!("Left side of {op} expression must be a field or function, not {t}.")
                })),
            },
        }
    }

    /// Both sides of a relation, the right one read for the left one's type.
    fn relation(
        &mut self,
        lhs: &Arith,
        rhs: &Arith,
        op: &str,
        can: fn(Ft) -> bool,
        partial: bool,
    ) -> Result<(Operand, Operand), Fail> {
        let (mut lop, l) = self.lhs(lhs, op, can)?;
        let rop = self.rhs(&l, &mut lop, rhs, can, partial)?;
        Ok((lop, rop))
    }

    fn rhs(
        &mut self,
        l: &Lhs,
        lop: &mut Operand,
        rhs: &Arith,
        can: fn(Ft) -> bool,
        partial: bool,
    ) -> Result<Operand, Fail> {
        let span = rhs.span();
        let fail = |m: String| Fail::at(m, span.0, span.1);
        let e = match rhs {
            Arith::Entity(e) => e,
            _ => {
                let (op, ft2) = self.arith(rhs, Some(l.ft))?;
                let shown = self.text(rhs.extent()).to_string();
                if !l.ft.compatible(ft2) {
                    return Err(fail(format!(
                        "{} and {shown} are not of compatible types.",
                        l.display
                    )));
                }
                if !can(ft2) {
                    return Err(fail(format!(
                        "{shown} (type={}) cannot participate in specified comparison.",
                        ft2.pretty()
                    )));
                }
                return Ok(op);
            }
        };
        let text = self.text(span).to_string();
        if let Some((id, op)) = self.field(e)? {
            let ft2 = Ft::of(id);
            if l.kind == LhsKind::Slice {
                if !ft2.is_bytes() {
                    if !ft2.can_slice() {
                        return Err(fail(format!(
                            "\"{text}\" is a {} and cannot be converted into a sequence of bytes.",
                            ft2.pretty()
                        )));
                    }
                    return Ok(to_bytes(op));
                }
                return Ok(op);
            }
            if !l.ft.compatible(ft2) {
                return Err(fail(format!(
                    "{} and {text} are not of compatible types.",
                    l.display
                )));
            }
            if !can(ft2) {
                return Err(fail(format!(
                    "{text} (type={}) cannot participate in specified comparison.",
                    ft2.pretty()
                )));
            }
            return Ok(op);
        }
        let ft = l.ft;
        let name = if l.kind == LhsKind::Field {
            l.field
        } else {
            None
        };
        match e {
            Entity::Str(s, _) => Ok(Operand::Const(
                ftype::from_string(ft, s, name).map_err(fail)?,
            )),
            Entity::Char(c, _) => Ok(Operand::Const(
                ftype::from_char(ft, *c, &text).map_err(fail)?,
            )),
            Entity::Literal(_) | Entity::Unparsed(_) => {
                match ftype::from_literal(ft, &text, name, partial) {
                    Ok(c) => Ok(Operand::Const(c)),
                    Err(_) if matches!(e, Entity::Unparsed(_)) && field_path_like(&text) => {
                        Err(unknown_field(&text, span))
                    }
                    Err(m) => Err(fail(m)),
                }
            }
            Entity::Slice(..) => {
                let (op, _) = self.slice(e, Some(ft))?;
                if !ft.is_bytes() && l.kind != LhsKind::Slice {
                    if !ft.can_slice() {
                        return Err(Fail::at(
                            format!(
                                "\"{}\" is a {} and cannot be converted into a sequence of bytes.",
                                l.display,
                                ft.pretty()
                            ),
                            l.span.0,
                            l.span.1,
                        ));
                    }
                    let old = std::mem::replace(lop, Operand::Absent);
                    *lop = to_bytes(old);
                }
                Ok(op)
            }
            Entity::Func(name, ..) => {
                let (op, ft2) = self.function(e, Some(ft))?;
                let fname = self.text(*name).to_string();
                if l.kind == LhsKind::Slice {
                    if !ft2.is_bytes() {
                        if !ft2.can_slice() {
                            return Err(fail(format!(
                                "Return value of function \"{fname}\" is a {} and cannot be converted into a sequence of bytes.",
                                ft2.pretty()
                            )));
                        }
                        return Ok(to_bytes(op));
                    }
                    return Ok(op);
                }
                if !ft.compatible(ft2) {
                    return Err(fail(format!(
                        "{} (type={}) and return value of {fname}() (type={}) are not of compatible types.",
                        l.display,
                        ft.pretty(),
                        ft2.pretty()
                    )));
                }
                if !can(ft2) {
                    return Err(fail(format!(
                        "return value of {fname}() (type={}) cannot participate in specified comparison.",
                        ft2.pretty()
                    )));
                }
                Ok(op)
            }
            // Resolved above (or refused there as unknown).
            Entity::Field(..) | Entity::Reference(..) => Err(unknown_field(&text, span)),
        }
    }

    /// `check_arithmetic_expr`: an arithmetic expression's operand and type; `lhs` is the
    /// type its literals take (none on a relation's left side, where a literal may not lead).
    fn arith(&mut self, a: &Arith, lhs: Option<Ft>) -> Result<(Operand, Ft), Fail> {
        match a {
            Arith::Entity(e) => self.arith_entity(e, lhs),
            Arith::Neg(e, span) => {
                if lhs.is_none() && self.is_constant(e) {
                    return Err(constant_lhs(e.span()));
                }
                let (op, ft) = self.arith_entity(e, lhs)?;
                if !ft.can_neg() {
                    let at = e.span();
                    return Err(Fail::at(format!("{} cannot -.", ft.name()), at.0, at.1));
                }
                match op {
                    Operand::Const(c) => match super::eval::neg(&c.value) {
                        Some(v) => Ok((
                            Operand::Const(Const {
                                value: v,
                                prefix: c.prefix,
                            }),
                            ft,
                        )),
                        None => Err(Fail::at(
                            format!("{}: cannot be negated.", self.text(a.extent())),
                            span.0,
                            span.1,
                        )),
                    },
                    op => Ok((Operand::Neg(Box::new(op)), ft)),
                }
            }
            Arith::Bin(op, x, y, _) => {
                if let (None, Arith::Entity(e)) = (lhs, &**x)
                    && self.is_constant(e)
                {
                    return Err(constant_lhs(e.span()));
                }
                let (ox, ft1) = self.arith(x, lhs)?;
                if !ft1.can(*op) {
                    let s = x.span();
                    return Err(Fail::at(
                        format!("{} cannot {}.", ft1.name(), op.symbol()),
                        s.0,
                        s.1,
                    ));
                }
                let (oy, ft2) = self.arith(y, Some(ft1))?;
                if !ft2.can(*op) {
                    let s = y.span();
                    return Err(Fail::at(
                        format!("{} cannot {}.", ft2.name(), op.symbol()),
                        s.0,
                        s.1,
                    ));
                }
                if !ft1.compatible(ft2) {
                    let s = y.span();
                    return Err(Fail::at(
                        format!(
                            "{} and {} are not type compatible.",
                            self.text(x.extent()),
                            self.text(y.extent())
                        ),
                        s.0,
                        s.1,
                    ));
                }
                Ok((Operand::Arith(*op, Box::new(ox), Box::new(oy), ft1), ft1))
            }
        }
    }

    fn arith_entity(&mut self, e: &Entity, lhs: Option<Ft>) -> Result<(Operand, Ft), Fail> {
        let span = e.span();
        if let Some((id, op)) = self.field(e)? {
            return Ok((op, Ft::of(id)));
        }
        match e {
            Entity::Literal(_) | Entity::Unparsed(_) => {
                let Some(ft) = lhs else {
                    return Err(constant_lhs(span));
                };
                let text = self.text(span).to_string();
                match ftype::from_literal(ft, &text, None, false) {
                    Ok(c) => Ok((Operand::Const(c), ft)),
                    Err(_) if field_path_like(&text) => Err(unknown_field(&text, span)),
                    Err(m) => Err(Fail::at(m, span.0, span.1)),
                }
            }
            Entity::Func(..) => self.function(e, lhs),
            Entity::Slice(..) => self.slice(e, lhs),
            _ => Err(Fail::at(
                format!("{} is not a valid arithmetic operand.", self.text(span)),
                span.0,
                span.1,
            )),
        }
    }

    /// `check_slice_sanity`.
    fn slice(&mut self, e: &Entity, lhs: Option<Ft>) -> Result<(Operand, Ft), Fail> {
        let Entity::Slice(inner, ranges, _) = e else {
            unreachable!("a slice");
        };
        let span = inner.span();
        let op = match &**inner {
            Entity::Slice(..) => self.slice(inner, lhs)?.0,
            Entity::Func(name, ..) => {
                let (op, ft) = self.function(inner, lhs)?;
                if !ft.can_slice() {
                    return Err(Fail::at(
                        format!(
                            "Return value of function \"{}\" is a {} and cannot be converted into a sequence of bytes.",
                            self.text(*name),
                            ft.pretty()
                        ),
                        span.0,
                        span.1,
                    ));
                }
                op
            }
            other => match self.field(other)? {
                Some((id, op)) => {
                    let ft = Ft::of(id);
                    if !ft.can_slice() {
                        return Err(Fail::at(
                            format!(
                                "\"{}\" is a {} and cannot be sliced into a sequence of bytes.",
                                id.field().name,
                                ft.pretty()
                            ),
                            span.0,
                            span.1,
                        ));
                    }
                    op
                }
                None => {
                    return Err(self
                        .not_a_field(other, |t| format!("Range is not supported for entity {t}")));
                }
            },
        };
        Ok((Operand::Slice(Box::new(op), ranges.clone()), Ft::Bytes))
    }

    /// `check_function`: arity, argument kinds, the return type.
    fn function(&mut self, e: &Entity, lhs: Option<Ft>) -> Result<(Operand, Ft), Fail> {
        let Entity::Func(nspan, args, _) = e else {
            unreachable!("a function");
        };
        let name = self.text(*nspan).to_string();
        let (min, max) = match name.as_str() {
            "max" | "min" => (1, usize::MAX),
            _ => (1, 1),
        };
        if args.len() < min {
            return Err(Fail::at(
                format!("Function {name} needs at least {min} arguments."),
                nspan.0,
                nspan.1,
            ));
        }
        if args.len() > max {
            return Err(Fail::at(
                format!("Function {name} can only accept {max} arguments."),
                nspan.0,
                nspan.1,
            ));
        }
        let arg = &args[0];
        let aspan = arg.span();
        let only_fields = || {
            Fail::at(
                format!("Only fields can be used as parameter for {name}()"),
                aspan.0,
                aspan.1,
            )
        };
        match name.as_str() {
            "len" | "count" | "upper" | "lower" | "string" => {
                let Arith::Entity(ent) = arg else {
                    return Err(only_fields());
                };
                let Some((id, op)) = self.field(ent)? else {
                    if matches!(ent, Entity::Unparsed(_)) && name_like(self.text(aspan)) {
                        return Err(unknown_field(self.text(aspan), aspan));
                    }
                    return Err(match name.as_str() {
                        "upper" | "lower" => Fail::at(
                            format!(
                                "Only string type fields can be used as parameter for {name}()"
                            ),
                            aspan.0,
                            aspan.1,
                        ),
                        _ => only_fields(),
                    });
                };
                let ft = Ft::of(id);
                Ok(match name.as_str() {
                    "len" => (Operand::Func(Func::Len(ft), vec![op]), Ft::UInt(4)),
                    "count" => (Operand::Func(Func::Count, vec![op]), Ft::UInt(4)),
                    "upper" | "lower" => {
                        if ft != Ft::Str {
                            return Err(Fail::at(
                                format!(
                                    "Only string type fields can be used as parameter for {name}()"
                                ),
                                aspan.0,
                                aspan.1,
                            ));
                        }
                        let f = if name == "upper" {
                            Func::Upper
                        } else {
                            Func::Lower
                        };
                        (Operand::Func(f, vec![op]), Ft::Str)
                    }
                    _ => {
                        if !(ft.is_integer() || matches!(ft, Ft::Ipv4 | Ft::Ipv6 | Ft::Ether)) {
                            return Err(Fail::at(
                                format!(
                                    "String conversion for field \"{}\" is not supported",
                                    id.field().name
                                ),
                                aspan.0,
                                aspan.1,
                            ));
                        }
                        (Operand::Func(Func::String, vec![op]), Ft::Str)
                    }
                })
            }
            "abs" => {
                let (op, ft) = self.arith(arg, lhs)?;
                if !ft.can_neg() {
                    return Err(Fail::at(
                        format!("Function abs() cannot take a {}.", ft.pretty()),
                        aspan.0,
                        aspan.1,
                    ));
                }
                Ok((Operand::Func(Func::Abs, vec![op]), ft))
            }
            _ => {
                // max, min: arguments of one type; literals take it.
                let mut ft = None;
                let mut ops: Vec<Option<Operand>> = Vec::new();
                for a in args {
                    let constant = matches!(a, Arith::Entity(e) if self.is_constant(e));
                    if constant {
                        ops.push(None);
                        continue;
                    }
                    let (op, t) = self.arith(a, lhs)?;
                    match ft {
                        None => ft = Some(t),
                        Some(want) if want != t => {
                            let s = a.span();
                            return Err(Fail::at(
                                format!(
                                    "Arguments to '{name}' must have the same type (expected {}, got {})",
                                    want.name(),
                                    t.name()
                                ),
                                s.0,
                                s.1,
                            ));
                        }
                        _ => {}
                    }
                    ops.push(Some(op));
                }
                let Some(ft) = ft.or(lhs) else {
                    return Err(constant_lhs(aspan));
                };
                let mut out = Vec::new();
                for (a, op) in args.iter().zip(ops) {
                    out.push(match op {
                        Some(op) => op,
                        None => self.arith(a, Some(ft))?.0,
                    });
                }
                let f = if name == "max" { Func::Max } else { Func::Min };
                Ok((Operand::Func(f, out), ft))
            }
        }
    }

    /// `field in {...}` and its elements.
    fn set(&mut self, all: bool, lhs: &Entity, set: &[SetElem]) -> Result<Node, Fail> {
        let Some((id, op)) = self.field(lhs)? else {
            return Err(self.not_a_field(lhs, |_| {
                "Only a field may be tested for membership in a set.".to_string()
            }));
        };
        if matches!(lhs, Entity::Reference(..)) {
            let s = lhs.span();
            return Err(Fail::at(
                "Only a field may be tested for membership in a set.",
                s.0,
                s.1,
            ));
        }
        let ft = Ft::of(id);
        let name = id.field().name;
        let l = Lhs {
            ft,
            field: Some(name),
            display: name.to_string(),
            span: lhs.span(),
            kind: LhsKind::Field,
        };
        let mut elems = Vec::new();
        let mut lop = op;
        for el in set {
            for a in [Some(&el.lo), el.hi.as_ref()].into_iter().flatten() {
                if let Arith::Entity(Entity::Slice(_, _, s)) = a {
                    return Err(Fail::at("A slice may not appear inside a set.", s.0, s.1));
                }
            }
            let (can, shown): (fn(Ft) -> bool, &str) = if el.hi.is_some() {
                (Ft::can_order, ">=")
            } else {
                (Ft::can_eq, "==")
            };
            if !can(ft) {
                return Err(Fail::at(
                    format!(
                        "{name} (type={}) cannot participate in {shown} comparison.",
                        ft.pretty()
                    ),
                    l.span.0,
                    l.span.1,
                ));
            }
            let lo = self.rhs(&l, &mut lop, &el.lo, can, false)?;
            let hi = match &el.hi {
                Some(h) => Some(self.rhs(&l, &mut lop, h, can, false)?),
                None => None,
            };
            elems.push((lo, hi));
        }
        Ok(Node::In {
            all,
            lhs: lop,
            set: elems,
        })
    }
}

fn constant_lhs(span: Span) -> Fail {
    Fail::at(
        "Constant arithmetic expression on the LHS is invalid.",
        span.0,
        span.1,
    )
}

/// A whole value as bytes, as tshark's `convert_to_bytes` (`[0:]`).
fn to_bytes(op: Operand) -> Operand {
    Operand::Slice(
        Box::new(op),
        vec![RangeNode {
            start: 0,
            end: RangeEnd::ToEnd,
        }],
    )
}

/// A field against a constant takes the fast path.
fn cmp_node(all: bool, rel: Rel, lhs: Operand, rhs: Operand) -> Node {
    match (lhs, rhs) {
        (Operand::Field(field), Operand::Const(value)) => Node::CmpConst {
            all,
            rel,
            field,
            value,
        },
        (lhs, rhs) => Node::Cmp { all, rel, lhs, rhs },
    }
}

/// Whether layer ranges take in the first layer, the only one tcplens decodes.
fn covers_first_layer(ranges: &[RangeNode]) -> bool {
    ranges.iter().any(|r| {
        let start = if r.start < 0 { 2 + r.start } else { r.start };
        let end = match r.end {
            RangeEnd::Length(n) => start.saturating_add(n - 1),
            RangeEnd::Offset(o) if o < 0 => 2 + o,
            RangeEnd::Offset(o) => o,
            RangeEnd::ToEnd => i64::MAX,
        };
        start <= 1 && 1 <= end
    })
}

/// A `matches` pattern: PCRE2 as tshark compiles it (caseless, bytes not UTF-8), here with
/// the `regex` crate's syntax (no look-around or back-references).
fn regex(pattern: &[u8]) -> Result<regex::bytes::Regex, String> {
    // PCRE2 without UTF reads a pattern byte by byte: `·+` repeats the last byte of `·`. The
    // regex crate reads characters, so every byte past ASCII goes in as a `\xNN` escape.
    let mut text = String::with_capacity(pattern.len());
    for &b in pattern {
        if b.is_ascii() {
            text.push(b as char);
        } else {
            text.push_str(&format!("\\x{b:02x}"));
        }
    }
    regex::bytes::RegexBuilder::new(&text)
        .case_insensitive(true)
        .unicode(false)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            let first = e.to_string();
            let line = first
                .lines()
                .rev()
                .find(|l| l.starts_with("error:"))
                .map(|l| l.trim_start_matches("error:").trim().to_string())
                .unwrap_or(first.lines().next().unwrap_or_default().to_string());
            format!("Regex compilation error: {line}.")
        })
}
