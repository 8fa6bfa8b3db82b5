//! Command line → validated [`Config`], before any thread starts (ripgrep's lowargs → hiargs).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::flow::Limits;
use crate::render::color::ColorMode;
use crate::source::filter::Filter;

#[derive(Parser, Debug)]
#[command(
    name = "tcplens",
    version,
    about = "Make TCP connections visible: Wireshark-faithful rows from pcap/pcapng files",
    after_help = "Example: tcplens read capture.pcap tcp port 5200"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read a pcap or pcapng file and print one row per frame.
    Read(ReadArgs),
}

#[derive(Args, Debug)]
pub struct ReadArgs {
    /// The capture file (pcap, µs or ns, either byte order; or pcapng).
    pub file: PathBuf,
    /// BPF filter words, joined as tcpdump joins them (e.g. `tcp port 5200`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub filter: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// JSON Lines: one object per frame (see docs/json.md).
    #[arg(long)]
    pub json: bool,
    /// When to color rows with Wireshark's coloring rules.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Sequence numbers in Info: relative (as Wireshark), raw, or relative plus raw values in
    /// the annotation.
    #[arg(long, value_enum, default_value_t = SeqMode::Relative)]
    pub seq: SeqMode,
    /// Print only the per-connection summary, no rows.
    #[arg(long, conflicts_with = "no_summary")]
    pub summary: bool,
    /// Leave the per-connection summary out.
    #[arg(long)]
    pub no_summary: bool,
    /// Connections tracked at once; beyond, the least recently seen are evicted (and counted).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub max_flows: usize,
    /// Seconds of capture time after which an idle connection leaves the table.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    pub idle_timeout: u64,
    /// Maximum segment lifetime in seconds: a closed connection leaves the table after 2×MSL.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub msl: u64,
}

/// Rows and the connection summary, only the summary, or only rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SummaryMode {
    Rows,
    Only,
    Off,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SeqMode {
    Relative,
    Raw,
    Both,
}

/// Everything the pipeline needs, validated.
pub struct Config {
    pub file: PathBuf,
    pub filter: Option<Filter>,
    pub output: Output,
    pub limits: Limits,
}

#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub json: bool,
    pub color: ColorMode,
    pub seq: SeqMode,
    pub summary: SummaryMode,
}

impl ReadArgs {
    pub fn into_config(self) -> Result<Config> {
        if self.output.max_flows == 0 {
            anyhow::bail!("--max-flows must be at least 1");
        }
        const NS: i128 = 1_000_000_000;
        Ok(Config {
            filter: Filter::from_words(&self.filter)?,
            limits: Limits {
                max_flows: self.output.max_flows,
                idle_timeout: self.output.idle_timeout as i128 * NS,
                msl: self.output.msl as i128 * NS,
            },
            file: self.file,
            output: self.output.resolve(),
        })
    }
}

impl OutputArgs {
    fn resolve(&self) -> Output {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        Output {
            json: self.json,
            color: ColorMode::choose(
                self.color,
                self.json,
                std::io::stdout().is_terminal(),
                env("NO_COLOR").is_some(),
                env("CLICOLOR_FORCE").is_some_and(|v| v != "0"),
                env("COLORTERM").is_some_and(|v| v == "truecolor" || v == "24bit"),
            ),
            seq: self.seq,
            summary: if self.summary {
                SummaryMode::Only
            } else if self.no_summary {
                SummaryMode::Off
            } else {
                SummaryMode::Rows
            },
        }
    }
}
