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
