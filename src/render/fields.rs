//! `-T fields -e FIELD …`: one line per displayed frame with the fields' values, printed as
//! `tshark -T fields` prints them (values: fields/print.rs; the `-E` options: tshark's
//! `output_fields_set_option`).

use std::sync::Arc;

use anyhow::{Result, bail};

use super::{Sink, View};
use crate::fields::{self, FieldId, FieldSource, Packet, Value};

/// The `-T fields` sink: the header line (`-E header=y`) before the first frame, then a line
/// per displayed frame.
pub struct FieldLines {
    format: Arc<FieldsFormat>,
    started: bool,
}

impl FieldLines {
    pub fn new(format: Arc<FieldsFormat>) -> FieldLines {
        FieldLines {
            format,
            started: false,
        }
    }
}

impl Sink for FieldLines {
    fn packet(&mut self, out: &mut String, frame: &View<'_>) -> Result<()> {
        if !self.started {
            self.started = true;
            if self.format.header {
                self.format.header(out);
            }
        }
        self.format.line(out, frame.packet);
        Ok(())
    }
}

/// Which occurrences of a field a line shows (`-E occurrence=f|l|a`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occurrence {
    First,
    Last,
    All,
}

/// The `-e` fields and `-E` options, validated.
#[derive(Clone, Debug)]
pub struct FieldsFormat {
    pub fields: Vec<FieldId>,
    pub separator: String,
    pub header: bool,
    pub occurrence: Occurrence,
    pub aggregator: String,
    pub quote: Option<char>,
}

impl FieldsFormat {
    /// From `-e` names and `-E key=value` options; unknown names and options are errors.
    pub fn new(names: &[String], options: &[String]) -> Result<FieldsFormat> {
        if names.is_empty() {
            bail!("-T fields needs at least one -e FIELD (list them with `tcplens fields`)");
        }
        let mut fields = Vec::with_capacity(names.len());
        for name in names {
            match fields::lookup(name) {
                Some(id) => fields.push(id),
                None => bail!(
                    "-e {name}: tcplens has no field named '{name}'; closest: {} (all: `tcplens fields`)",
                    fields::closest(name, 3).join(", ")
                ),
            }
        }
        let mut format = FieldsFormat {
            fields,
            separator: "\t".into(),
            header: false,
            occurrence: Occurrence::All,
            aggregator: ",".into(),
            quote: None,
        };
        for option in options {
            let Some((key, value)) = option.split_once('=') else {
                bail!(
                    "-E {option}: expected KEY=VALUE (separator, header, occurrence, aggregator, quote)"
                );
            };
            // tshark's shorthands: /t a tab, /s a space.
            let text = |v: &str| match v {
                "/t" => "\t".to_string(),
                "/s" => " ".to_string(),
                v => v.to_string(),
            };
            match (key, value) {
                ("separator", v) => format.separator = text(v),
                ("aggregator", v) => format.aggregator = text(v),
                ("header", "y") => format.header = true,
                ("header", "n") => format.header = false,
                ("occurrence", "f") => format.occurrence = Occurrence::First,
                ("occurrence", "l") => format.occurrence = Occurrence::Last,
                ("occurrence", "a") => format.occurrence = Occurrence::All,
                ("quote", "d") => format.quote = Some('"'),
                ("quote", "s") => format.quote = Some('\''),
                ("quote", "n") => format.quote = None,
                _ => bail!(
                    "-E {option}: unknown; use separator=X, aggregator=X, header=y|n, occurrence=f|l|a or quote=d|s|n"
                ),
            }
        }
        Ok(format)
    }

    /// The `-E header=y` line: the field names.
    pub fn header(&self, out: &mut String) {
        for (i, f) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push_str(&self.separator);
            }
            self.quoted(out, |out| out.push_str(f.field().name));
        }
        out.push('\n');
    }

    /// One frame's line.
    pub fn line(&self, out: &mut String, packet: &Packet<'_>) {
        let mut values = Vec::new();
        for (i, &id) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push_str(&self.separator);
            }
            values.clear();
            packet.values(id, &mut values);
            let shown: &[Value<'_>] = match (self.occurrence, values.len()) {
                (_, 0) => continue,
                (Occurrence::First, _) => &values[..1],
                (Occurrence::Last, n) => &values[n - 1..],
                (Occurrence::All, _) => &values,
            };
            let kind = id.field().kind;
            self.quoted(out, |out| {
                for (j, v) in shown.iter().enumerate() {
                    if j > 0 {
                        out.push_str(&self.aggregator);
                    }
                    fields::print::value(out, kind, v);
                }
            });
        }
        out.push('\n');
    }

    fn quoted(&self, out: &mut String, f: impl FnOnce(&mut String)) {
        if let Some(q) = self.quote {
            out.push(q);
            f(out);
            out.push(q);
        } else {
            f(out);
        }
    }
}
