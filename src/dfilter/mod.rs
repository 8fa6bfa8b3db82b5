//! Placeholder while the display filter lands from its branch (replaced by the merge).
use crate::fields::{FieldId, FieldSource};

pub struct DisplayFilter {
    field: FieldId,
}

#[derive(Debug)]
pub struct FilterError(String);

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FilterError {}

impl DisplayFilter {
    pub fn compile(expr: &str) -> Result<DisplayFilter, FilterError> {
        crate::fields::lookup(expr.trim())
            .map(|field| DisplayFilter { field })
            .ok_or_else(|| FilterError(format!("unknown field {expr}")))
    }

    pub fn matches(&self, packet: &dyn FieldSource) -> bool {
        let mut v = Vec::new();
        packet.values(self.field, &mut v);
        !v.is_empty()
    }

    pub fn fields(&self) -> impl Iterator<Item = FieldId> + '_ {
        std::iter::once(self.field)
    }
}
