//! Command line → validated [`Config`], before any thread starts (ripgrep's lowargs → hiargs).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};

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
}

#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub json: bool,
    pub color: ColorMode,
    pub seq: SeqMode,
}

impl ReadArgs {
    pub fn into_config(self) -> Result<Config> {
        Ok(Config {
            filter: Filter::from_words(&self.filter)?,
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
        }
    }
}
