//! BPF filters compiled by libpcap, as tcpdump compiles them: the words after the file name
//! joined with spaces, one program per link type (a pcapng file may mix them).

use std::collections::HashMap;

use anyhow::{Result, anyhow};
use pcap::{BpfProgram, Capture, Linktype};

/// A filter expression that libpcap accepted for Ethernet; checked before any thread starts.
#[derive(Clone, Debug)]
pub struct Filter {
    expr: String,
}

impl Filter {
    /// Joins the filter words as tcpdump does; `None` when there are none.
    pub fn from_words(words: &[String]) -> Result<Option<Filter>> {
        let expr = words.join(" ");
        if expr.trim().is_empty() {
            return Ok(None);
        }
        let filter = Filter { expr };
        filter.compile(1)?;
        Ok(Some(filter))
    }

    fn compile(&self, linktype: u32) -> Result<BpfProgram> {
        let dead = Capture::dead(Linktype(linktype as i32))
            .map_err(|e| anyhow!("libpcap cannot open a handle for link type {linktype}: {e}"))?;
        dead.compile(&self.expr, true).map_err(|e| {
            anyhow!(
                "invalid filter '{}': {e} (see `man pcap-filter`)",
                self.expr
            )
        })
    }
}

/// Programs per link type, compiled on first use. Lives on the reader thread: a compiled
/// program holds libpcap pointers and is not `Send`.
pub struct CompiledFilter {
    filter: Filter,
    programs: HashMap<u32, BpfProgram>,
}

impl CompiledFilter {
    pub fn new(filter: Filter) -> CompiledFilter {
        CompiledFilter {
            filter,
            programs: HashMap::new(),
        }
    }

    /// Whether libpcap's offline filter accepts the frame.
    pub fn matches(&mut self, linktype: u32, frame: &[u8]) -> Result<bool> {
        if !self.programs.contains_key(&linktype) {
            let program = self.filter.compile(linktype)?;
            self.programs.insert(linktype, program);
        }
        Ok(self
            .programs
            .get(&linktype)
            .is_some_and(|p| p.filter(frame)))
    }
}
