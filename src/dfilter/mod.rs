//! Display filters (`-Y`) as TShark 4.0 reads them (`man wireshark-filter`, 4.0 edition):
//! `tcp.port == 80 and not tcp.analysis.retransmission`, `ip.addr == 10.0.0.0/8`,
//! `tcp.payload contains "GET"`, `tcp.flags & 0x02`, `tcp.port in {80, 443, 8000..8080}`.
//!
//! [`DisplayFilter::compile`] resolves every name against the [field table](crate::fields)
//! and parses every literal for the type of the field it meets, so evaluation compares typed
//! constants; [`DisplayFilter::matches`] reads a packet only through [`FieldSource`].
//!
//! The parser is written by hand (recursive descent over a hand-written scanner): no
//! maintained crate implements Wireshark's filter grammar, whose lexing is context-dependent
//! (`10.0.0.1` and `00:11:22:33:44:55` are single words, `tcp.srcport-1` is one name, slices
//! are raw text), and whose errors tcplens reports as tshark does, with a caret. docs/filters.md
//! lists the syntax, the multi-occurrence rules and what differs from tshark.

mod compile;
mod eval;
mod ftype;
mod lex;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;

use crate::fields::{FieldId, FieldSource};

/// A compiled display filter: fields resolved, literals parsed, ready for any number of
/// packets on any number of threads.
#[derive(Debug)]
pub struct DisplayFilter {
    root: eval::Node,
    fields: Vec<FieldId>,
}

/// Why a filter does not compile: tshark's message and where in the expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    message: String,
    expr: String,
    /// Byte offsets of the offending text; `None` for the end of the expression.
    span: Option<(usize, usize)>,
}

/// An error inside the compiler, before it knows the expression's text.
#[derive(Clone, Debug)]
pub(crate) struct Fail {
    msg: String,
    span: Option<(usize, usize)>,
}

impl Fail {
    pub(crate) fn at(msg: impl Into<String>, start: usize, end: usize) -> Fail {
        Fail {
            msg: msg.into(),
            span: Some((start, end)),
        }
    }

    pub(crate) fn end(msg: impl Into<String>) -> Fail {
        Fail {
            msg: msg.into(),
            span: None,
        }
    }
}

impl DisplayFilter {
    /// Compiles `expr`; the empty expression (or only blanks) matches every packet.
    pub fn compile(expr: &str) -> Result<DisplayFilter, FilterError> {
        let fail = |f: Fail| FilterError {
            message: f.msg,
            expr: expr.to_string(),
            span: f.span,
        };
        let root = match parse::parse(expr).map_err(fail)? {
            None => {
                return Ok(DisplayFilter {
                    root: eval::Node::True,
                    fields: Vec::new(),
                });
            }
            Some(tree) => tree,
        };
        let mut c = compile::Compiler {
            src: expr,
            fields: Vec::new(),
            quote_op: true,
        };
        let root = c.expr(&root).map_err(fail)?;
        let mut fields = c.fields;
        fields.sort();
        Ok(DisplayFilter { root, fields })
    }

    /// Whether the packet passes the filter.
    pub fn matches(&self, packet: &dyn FieldSource) -> bool {
        self.root.eval(packet)
    }

    /// Whether the filter reads a protocol layer's bytes (`frame[12:2]`, `len(ip)`), beyond
    /// the fields whose `Needs` say so.
    pub fn reads_layer_bytes(&self) -> bool {
        self.root.reads_layer_bytes()
    }

    /// Every field the filter reads, each once, in table order.
    pub fn fields(&self) -> impl Iterator<Item = FieldId> + '_ {
        self.fields.iter().copied()
    }
}

impl FilterError {
    /// The message alone, without the expression and caret.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Byte offsets in the expression of what the message is about; `None` when the
    /// expression ended too soon.
    pub fn span(&self) -> Option<(usize, usize)> {
        self.span
    }
}

impl fmt::Display for FilterError {
    /// tshark's layout: the message, then the expression and a caret line under the place,
    /// both indented by four spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message: String = self
            .message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let shown: String = self
            .expr
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        write!(f, "{message}\n    {shown}\n    ")?;
        let cols = |s: &str| s.chars().count();
        let (start, end) = self.span.unwrap_or((self.expr.len(), self.expr.len()));
        let start = start.min(self.expr.len());
        let end = end.clamp(start, self.expr.len());
        let (Some(before), Some(inside)) = (self.expr.get(..start), self.expr.get(start..end))
        else {
            return write!(f, "^");
        };
        write!(
            f,
            "{}^{}",
            " ".repeat(cols(before)),
            "~".repeat(cols(inside).saturating_sub(1))
        )
    }
}

impl std::error::Error for FilterError {}
