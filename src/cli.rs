//! Command line → validated [`Config`], before any thread starts (ripgrep's lowargs → hiargs).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};

use std::sync::Arc;

use crate::dfilter::DisplayFilter;
use crate::fields::{FieldId, Needs};
use crate::flow::Limits;
use crate::flow::endpoint::Side;
use crate::render::color::ColorMode;
use crate::render::fields::FieldsFormat;
use crate::render::follow::FollowFormat;
use crate::render::graph::GraphKind;
use crate::render::plot::{ImageFormat, Target};
use crate::render::stats::{StatsFormat, TableKind};
use crate::render::zeek::ZeekFormat;
use crate::source::filter::Filter;
use crate::source::live;
use crate::source::merge::Inputs;
use crate::source::rotate::{self, Rotation};

#[derive(Parser, Debug)]
#[command(
    name = "tcplens",
    version,
    about = "Make TCP connections visible: Wireshark-faithful rows from pcap/pcapng files or a live capture",
    after_help = "Examples:\n  tcplens demo\n  tcplens read capture.pcap tcp port 5200\n  tcplens read capture.pcap --ladder --stream 0\n  tcplens stats capture.pcap expert\n  sudo tcplens capture -i lo port 5200"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read a pcap or pcapng file and print one row per frame.
    Read(ReadArgs),
    /// Capture live from an interface (as tcpdump) and print one row per packet as it arrives.
    Capture(CaptureArgs),
    /// Follow TCP streams (Wireshark's Follow TCP Stream): each selected stream's payload put
    /// back in order, retransmitted bytes once, gaps marked, as `tshark -z follow,tcp,MODE,N`
    /// prints it.
    Follow(FollowArgs),
    /// Draw TCP stream graphs (Wireshark's TCP Stream Graphs, tcptrace's time-sequence graph):
    /// to an SVG or PNG file with -o, else as a braille chart on the terminal.
    Graph(GraphArgs),
    /// Statistics tables as `tshark -q -z` prints them: TCP conversations (`conv`, the
    /// default), TCP endpoints (`endpoints`), expert infos (`expert`) and frames per interval
    /// (`io[,INTERVAL]`), sorted as TShark sorts them (docs/stats.md).
    Stats(StatsArgs),
    /// An interactive view of a capture file: every connection with both endpoints' states,
    /// the selected connection's packets, the selected packet's explanation (docs/tui.md).
    Tui(TuiArgs),
    /// List the interfaces to capture on (as `tcpdump -D`), with their addresses.
    Interfaces,
    /// List every field the display filter, -T fields and JSON know (as `tshark -G fields`):
    /// name, type and meaning, one per line, tab-separated.
    Fields,
    /// The learn_tcp experiment: a server on 127.0.0.1:5200 and a client from 5201 talk while
    /// tcplens captures them on lo and shows rows, the ladder and the summary. Without capture
    /// privileges it replays the bundled recording of the same experiment.
    Demo(DemoArgs),
    /// Print a shell completion script (e.g. `tcplens completions bash > /etc/bash_completion.d/tcplens`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page in roff (e.g. `tcplens man | man -l -`); with a subcommand's name,
    /// that subcommand's page (`tcplens man read`).
    Man { subcommand: Option<String> },
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Replay the bundled recording even when a live capture is possible.
    #[arg(long)]
    pub replay: bool,
    /// Under each row and arrow, one sentence saying what the segment does.
    #[arg(long)]
    pub explain: bool,
    /// When to color rows with Wireshark's coloring rules.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Draw the ladder with ASCII characters instead of Unicode box drawing.
    #[arg(long)]
    pub ascii: bool,
    /// Width of the ladder in columns (default: the terminal's).
    #[arg(long, value_name = "COLS", value_parser = clap::value_parser!(u16).range(40..))]
    pub width: Option<u16>,
    /// Show the experiment in the interactive view (as `tcplens tui`): the connection's
    /// states change on screen as the segments pass; `q` quits.
    #[arg(long)]
    pub tui: bool,
}

/// `tcplens completions SHELL`: the script clap_complete derives from this very parser.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "tcplens", &mut out);
    write_stdout(&out)
}

/// `tcplens man [SUBCOMMAND]`: a manual page in roff, generated from this very parser
/// (clap_mangen): tcplens(1), or tcplens-SUBCOMMAND(1) with that subcommand's options.
pub fn man_page(subcommand: Option<&str>) -> Result<()> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    cmd.build();
    let page = match subcommand {
        None => cmd,
        Some(name) => {
            let sub = cmd.find_subcommand(name).cloned().ok_or_else(|| {
                let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
                anyhow::anyhow!(
                    "no subcommand named '{name}'; pages exist for: {}",
                    names.join(", ")
                )
            })?;
            let full = format!("tcplens-{name}");
            sub.name(full.clone())
                .display_name(full.clone())
                .bin_name(full)
                .version(env!("CARGO_PKG_VERSION"))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out)?;
    write_stdout(&out)
}

/// `tcplens fields`: the field table, one `name TAB type TAB meaning` line per field.
pub fn list_fields() -> Result<()> {
    let mut out = String::new();
    for f in crate::fields::FIELDS {
        out.push_str(f.name);
        out.push('\t');
        out.push_str(f.kind.name());
        out.push('\t');
        out.push_str(f.desc);
        if f.needs == Needs::Connection {
            out.push_str(" (known when the connection ends: `read` makes two passes)");
        }
        out.push('\n');
    }
    write_stdout(out.as_bytes())
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(())
}

/// The demo, validated.
pub struct DemoConfig {
    pub replay: bool,
    pub output: Output,
    /// `--tui`: the interactive view instead of rows and ladder.
    pub tui: bool,
}

impl DemoArgs {
    pub fn into_config(self) -> DemoConfig {
        let args = OutputArgs {
            json: false,
            color: self.color,
            seq: SeqMode::Relative,
            summary: false,
            zeek: false,
            no_summary: false,
            max_flows: DEFAULT_MAX_FLOWS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            msl: DEFAULT_MSL,
            ladder: true,
            ascii: self.ascii,
            stream: None,
            display_filter: None,
            format: None,
            fields: Vec::new(),
            field_options: Vec::new(),
            explain: self.explain,
            // The demo is the articles' conversation: its rows show what was said.
            payload: true,
            width: self.width,
        };
        let mut output = args.resolve();
        // Rows as the packets arrive, then the ladder and the summary once the client closed.
        output.rows = true;
        if self.tui {
            // The view shows rows and explanations itself.
            output = FollowOpts::output();
            output.explain = true;
            output.payload = true;
        }
        DemoConfig {
            replay: self.replay,
            output,
            tui: self.tui,
        }
    }
}

#[derive(Args, Debug)]
pub struct ReadArgs {
    /// The capture file (pcap, µs or ns, either byte order; or pcapng). More files (named
    /// *.pcap*, *.cap) and directories (with a slash: `dir/`) may follow, before the filter
    /// words: all are read as one capture, merged by timestamp as mergecap merges them (a
    /// directory: the captures in it, by name).
    pub file: PathBuf,
    /// With several files: read them one after the other instead of merging by timestamp
    /// (mergecap -a).
    #[arg(long)]
    pub concat: bool,
    /// Trackers run at once for `--summary` alone, each tracking the connections its share of
    /// the 4-tuples hashes to (docs/scaling.md); the table is the same whatever the number.
    /// 0 (the default): one per core but the reader's, at most 8; 1: a single tracker.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub threads: usize,
    /// Also write the frames that pass the filter (and --stream) to a new capture file, as
    /// `tcpdump -r IN -w OUT` does: pcap when the input is pcap (same link type, snap length
    /// and timestamp precision), pcapng when it is pcapng (its interfaces, exact timestamps).
    /// Rows still print; `-` writes the file to stdout, and nothing else goes there.
    #[arg(short = 'w', value_name = "OUT")]
    pub write: Option<PathBuf>,
    /// BPF filter words, joined as tcpdump joins them (e.g. `tcp port 5200`), after any
    /// further files. Options may come before or after them.
    pub filter: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// A capture file, a display filter and BPF words, as the subcommands that read a file for
/// one view of their own take them (`tui`, `follow`, `graph`).
#[derive(Args, Debug)]
pub struct FileInput {
    /// The capture file (pcap or pcapng), or a directory of captures (docs/scaling.md).
    pub file: PathBuf,
    /// Only the frames matching this display filter (follow and graph: every stream with a
    /// matching frame, found in a first pass).
    #[arg(
        short = 'Y',
        long = "display-filter",
        value_name = "EXPR",
        allow_hyphen_values = true
    )]
    pub display_filter: Option<String>,
    /// BPF filter words, joined as tcpdump joins them (e.g. `tcp port 5200`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub filter: Vec<String>,
}

impl FileInput {
    fn config(self) -> Result<Config> {
        file_config(self.file, &self.filter, self.display_filter.as_deref())
    }
}

#[derive(Args, Debug)]
pub struct TuiArgs {
    #[command(flatten)]
    pub input: FileInput,
}

impl TuiArgs {
    pub fn into_config(self) -> Result<Config> {
        let mut cfg = self.input.config()?;
        // The view shows each frame's explanation: the explainer runs, and quotes data.
        cfg.output.explain = true;
        Ok(cfg)
    }
}

/// A file and the streams to take from it (`follow`, `graph`): without --stream or -Y, every
/// TCP stream.
#[derive(Args, Debug)]
pub struct StreamsOfFile {
    #[command(flatten)]
    pub input: FileInput,
    /// Only TCP stream N (`tcp.stream`).
    #[arg(long, value_name = "N", conflicts_with = "display_filter")]
    pub stream: Option<u32>,
}

#[derive(Args, Debug)]
pub struct FollowArgs {
    #[command(flatten)]
    pub input: StreamsOfFile,
    /// ascii, hex and raw print as tshark's follow modes of the same name; json writes one
    /// record per chunk (docs/follow.md).
    #[arg(long, value_enum, default_value_t = FollowFormat::Ascii)]
    pub format: FollowFormat,
    /// Write each side of each stream to its own file in DIR, named as tcpflow names them
    /// (`127.000.000.001.05201-127.000.000.001.05200`), instead of printing.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// When to color the ascii format (client red, server blue, as Wireshark).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Args, Debug)]
pub struct GraphArgs {
    #[command(flatten)]
    pub input: StreamsOfFile,
    /// Which graph: tcptrace, stevens, throughput, rtt, window (docs/graphs.md).
    #[arg(long, value_enum, default_value_t = GraphKind::Tcptrace)]
    pub kind: GraphKind,
    /// Whose data to graph (default: the side that sent more).
    #[arg(long, value_enum)]
    pub side: Option<GraphSide>,
    /// Write the picture to FILE.svg or FILE.png; with a directory (existing, or ending in
    /// `/`), one picture per stream, named stream-N-KIND.svg (or .png with --image png).
    #[arg(short = 'o', long = "output", value_name = "FILE|DIR")]
    pub output: Option<PathBuf>,
    /// Picture format in an -o directory.
    #[arg(long, value_enum, default_value_t = ImageFormat::Svg)]
    pub image: ImageFormat,
    /// Width: pixels in a file (default 1000), columns on the terminal (default its width).
    #[arg(long, value_parser = clap::value_parser!(u32).range(40..=20000))]
    pub width: Option<u32>,
    /// Height: pixels in a file (default 600), rows on the terminal (default 24).
    #[arg(long, value_parser = clap::value_parser!(u32).range(10..=20000))]
    pub height: Option<u32>,
    /// When to color the terminal chart.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphSide {
    Client,
    Server,
}

/// `tcplens graph`, validated.
pub struct GraphConfig {
    pub read: Config,
    pub stream: Option<u32>,
    pub kind: GraphKind,
    pub side: Option<Side>,
    pub target: Target,
}

impl GraphArgs {
    pub fn into_config(self) -> Result<GraphConfig> {
        let target = match &self.output {
            Some(path) => {
                let size = (self.width.unwrap_or(1000), self.height.unwrap_or(600));
                if path.is_dir() || path.to_string_lossy().ends_with('/') {
                    std::fs::create_dir_all(path)
                        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
                    Target::Dir {
                        dir: path.clone(),
                        format: self.image,
                        size,
                    }
                } else {
                    if ImageFormat::of(path).is_none() {
                        anyhow::bail!(
                            "-o {}: name a .svg or .png file, or a directory (ending in /)",
                            path.display()
                        );
                    }
                    check_writable_dir(path)?;
                    Target::File {
                        path: path.clone(),
                        size,
                    }
                }
            }
            None => {
                let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
                let color = ColorMode::choose(
                    self.color,
                    false,
                    std::io::stdout().is_terminal(),
                    env("NO_COLOR").is_some(),
                    env("CLICOLOR_FORCE").is_some_and(|v| v != "0"),
                    false,
                ) != ColorMode::Off;
                Target::Terminal {
                    width: self.width.unwrap_or_else(|| terminal_width() as u32),
                    height: self.height.unwrap_or(24),
                    color,
                }
            }
        };
        Ok(GraphConfig {
            stream: self.input.stream,
            read: self.input.input.config()?,
            kind: self.kind,
            side: self.side.map(|s| match s {
                GraphSide::Client => Side::Client,
                GraphSide::Server => Side::Server,
            }),
            target,
        })
    }
}

/// The file, BPF words and display filter of a subcommand that reads a file for one sink of
/// its own (follow, graph): no rows, no summary, the default limits.
fn file_config(file: PathBuf, words: &[String], display_filter: Option<&str>) -> Result<Config> {
    let filter = match display_filter {
        Some(e) => Some(Arc::new(
            DisplayFilter::compile(e).map_err(|err| anyhow::anyhow!("{err}"))?,
        )),
        None => None,
    };
    Ok(Config {
        input: Inputs::expand(&[file], false)?,
        filter: Filter::from_words(words)?,
        output: FollowOpts::output(),
        query: Query {
            filter,
            fields: None,
        },
        limits: Limits {
            max_flows: DEFAULT_MAX_FLOWS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT as i128 * 1_000_000_000,
            msl: DEFAULT_MSL as i128 * 1_000_000_000,
        },
        write: None,
        threads: 1,
    })
}

/// `tcplens follow`, validated.
pub struct FollowConfig {
    /// The file, BPF words and display filter, as `read` takes them.
    pub read: Config,
    pub stream: Option<u32>,
    pub opts: FollowOpts,
}

/// How streams are followed, from a file or live.
#[derive(Clone, Debug)]
pub struct FollowOpts {
    pub format: FollowFormat,
    /// Client red, server blue (ascii on a terminal).
    pub color: bool,
    /// `--output-dir`: one file per side of each stream instead of stdout.
    pub output_dir: Option<PathBuf>,
}

impl FollowOpts {
    fn new(
        format: FollowFormat,
        color: ColorChoice,
        output_dir: Option<PathBuf>,
    ) -> Result<FollowOpts> {
        if let Some(dir) = &output_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        }
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let color = ColorMode::choose(
            color,
            format == FollowFormat::Json,
            std::io::stdout().is_terminal(),
            env("NO_COLOR").is_some(),
            env("CLICOLOR_FORCE").is_some_and(|v| v != "0"),
            false,
        ) != ColorMode::Off;
        Ok(FollowOpts {
            format,
            color,
            output_dir,
        })
    }

    /// Nothing but the subcommand's own sink writes: no rows, no summary.
    fn output() -> Output {
        let mut output = Output::rows(false, ColorMode::Off, SeqMode::Relative, SummaryMode::Off);
        output.rows = false;
        output
    }
}

impl FollowArgs {
    pub fn into_config(self) -> Result<FollowConfig> {
        Ok(FollowConfig {
            stream: self.input.stream,
            read: self.input.input.config()?,
            opts: FollowOpts::new(self.format, self.color, self.output_dir)?,
        })
    }
}

#[derive(Args, Debug)]
#[command(
    after_help = "Tables:\n  conv          TCP conversations, as tshark -z conv,tcp (the default)\n  endpoints     TCP endpoints, as tshark -z endpoints,tcp\n  expert        expert infos and tcplens's events, as tshark -z expert\n  io[,SECONDS]  frames and bytes per interval, as tshark -z io,stat,SECONDS (0: the\n                whole capture; omitted: 1, 2 or 5 x 10^k s, at most 30 rows)\n\nExamples:\n  tcplens stats capture.pcap\n  tcplens stats capture.pcap expert -Y 'tcp.port == 443'\n  tcplens stats capture.pcap io,0.1 --json\n  tcplens stats capture.pcap endpoints tcp port 80"
)]
pub struct StatsArgs {
    /// The capture file (pcap or pcapng).
    pub file: PathBuf,
    /// Count only the frames this display filter matches, as tshark's `-z TABLE,FILTER`
    /// (tshark's own -Y does not restrict -z statistics).
    #[arg(short = 'Y', long = "display-filter", value_name = "EXPR")]
    pub display_filter: Option<String>,
    /// One JSON record per row (JSON Lines) instead of the aligned table.
    #[arg(long)]
    pub json: bool,
    /// The table (conv, endpoints, expert, io or io,SECONDS), then BPF filter words as
    /// tcpdump takes them (e.g. `expert tcp port 80`).
    /// Options may come after the words (`stats f.pcap expert --json`), so a BPF word may
    /// not begin with `-`.
    #[arg(value_name = "TABLE] [BPF", num_args = 0..)]
    pub words: Vec<String>,
}

/// `tcplens stats`, validated.
pub struct StatsConfig {
    /// The file, BPF words and display filter, as `read` takes them.
    pub read: Config,
    pub table: TableKind,
    pub format: StatsFormat,
    /// The display filter as typed, for the table's heading.
    pub filter_text: Option<String>,
}

impl StatsArgs {
    pub fn into_config(self) -> Result<StatsConfig> {
        // The first word names the table when it is one; BPF has no word `conv`, `io`, ….
        let mut words = self.words.as_slice();
        let table = match words.first() {
            Some(w) if is_table_word(w) => {
                words = &words[1..];
                w.parse::<TableKind>().map_err(|e| anyhow::anyhow!(e))?
            }
            _ => TableKind::Conv,
        };
        let format = if self.json {
            StatsFormat::Json
        } else {
            StatsFormat::Text {
                bars: std::io::stdout().is_terminal(),
            }
        };
        Ok(StatsConfig {
            read: file_config(self.file, words, self.display_filter.as_deref())?,
            table,
            format,
            filter_text: self.display_filter,
        })
    }
}

/// Whether a word names a table (`io,x` does, and is then refused as a bad interval).
fn is_table_word(w: &str) -> bool {
    matches!(
        w,
        "conv" | "conv,tcp" | "endpoints" | "endpoints,tcp" | "expert" | "io"
    ) || w.starts_with("io,")
}

#[derive(Args, Debug)]
pub struct CaptureArgs {
    /// Interface to capture on, or its number in `tcplens interfaces`; `any` captures on all.
    /// Default: the first up, non-loopback interface, as tcpdump picks it.
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: Option<String>,
    /// Stop after COUNT packets.
    #[arg(short = 'c', value_name = "COUNT", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Write the packets to a pcap file as they arrive; rows still print unless -q. `-` writes
    /// the pcap to stdout, and nothing else goes there.
    #[arg(short = 'w', value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// With -w: start a new file once the current one is larger than SIZE, in millions of
    /// bytes or with a k, m or g suffix (as tcpdump -C): cap.pcap, cap.pcap1, cap.pcap2...
    #[arg(short = 'C', value_name = "SIZE", requires = "write", value_parser = rotate::parse_size)]
    pub file_size: Option<u64>,
    /// With -w: start a new file every SECS seconds, the -w name a strftime format (as
    /// tcpdump -G: `-w cap-%H%M%S.pcap`).
    #[arg(short = 'G', value_name = "SECS", requires = "write",
          value_parser = clap::value_parser!(i64).range(1..))]
    pub rotate_seconds: Option<i64>,
    /// With -C: keep a ring of N files (cap.pcap0 … cap.pcapN-1, the oldest overwritten);
    /// with -G: stop after N files (as tcpdump -W).
    #[arg(short = 'W', value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub file_count: Option<u32>,
    /// Run COMMAND FILE on each file a rotation closes (as tcpdump -z, e.g. gzip).
    #[arg(short = 'z', value_name = "COMMAND")]
    pub post_rotate: Option<String>,
    /// Snapshot length: bytes kept of each packet (0 means the default, 262144).
    #[arg(short = 's', long = "snapshot-length", value_name = "SNAPLEN",
          default_value_t = live::DEFAULT_SNAPLEN,
          value_parser = clap::value_parser!(u32).range(0..=live::DEFAULT_SNAPLEN as i64))]
    pub snaplen: u32,
    /// Kernel capture buffer in KiB (32 MiB: in immediate mode every packet takes a slot of the
    /// snapshot length, so libpcap's usual 2 MiB holds only 7 packets on `any`).
    #[arg(short = 'B', long = "buffer-size", value_name = "KIB",
          default_value_t = live::DEFAULT_BUFFER_KIB,
          value_parser = clap::value_parser!(u32).range(1..=(i32::MAX / 1024) as i64))]
    pub buffer: u32,
    /// Do not put the interface into promiscuous mode.
    #[arg(short = 'p', long = "no-promiscuous-mode")]
    pub no_promisc: bool,
    /// Quiet: no rows (the connection summary and the statistics still print).
    #[arg(short = 'q')]
    pub quiet: bool,
    /// Timestamp precision of rows and of the -w file: micro (as tcpdump) or nano.
    #[arg(long = "time-stamp-precision", value_enum, default_value_t = TsPrecision::Micro)]
    pub precision: TsPrecision,
    /// Follow each TCP stream instead of printing rows, as `tcplens follow` follows a file:
    /// its payload in order, in FORMAT (ascii, hex, raw, json; ascii when not given), each
    /// stream printed as its data arrives, in stream order; `--stream N` follows one.
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, require_equals = true,
          default_missing_value = "ascii",
          conflicts_with_all = ["json", "ladder", "summary", "zeek", "explain", "format", "display_filter", "payload", "quiet"])]
    pub follow: Option<FollowFormat>,
    /// With --follow: write each side of each stream to its own file in DIR, named as tcpflow
    /// names them, instead of printing.
    #[arg(long, value_name = "DIR", requires = "follow")]
    pub output_dir: Option<PathBuf>,
    /// The interactive view (as `tcplens tui`) over the live capture instead of rows: every
    /// connection's states changing as the packets arrive (docs/tui.md). `q` stops.
    #[arg(long, conflicts_with_all = ["follow", "json", "ladder", "summary", "format", "quiet"])]
    pub tui: bool,
    /// BPF filter words, joined as tcpdump joins them (e.g. `tcp port 5200`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub filter: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Fields,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TsPrecision {
    Micro,
    Nano,
}

const DEFAULT_MAX_FLOWS: usize = 100_000;
const DEFAULT_IDLE_TIMEOUT: u64 = 3600;
/// RFC 9293 §3.4.2 suggests 2 minutes.
const DEFAULT_MSL: u64 = 120;

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
    /// Write Zeek's conn.log for the TCP connections instead of rows: TSV with Zeek's header
    /// lines (for zeek-cut), or JSON lines with Zeek's field names with --json; each line
    /// ends with its Community ID (see docs/zeek.md).
    #[arg(long, conflicts_with_all = ["summary", "no_summary", "ladder", "format", "explain", "payload"])]
    pub zeek: bool,
    /// Leave the per-connection summary out.
    #[arg(long)]
    pub no_summary: bool,
    /// Connections tracked at once; beyond, the least recently seen are evicted (and counted).
    #[arg(long, default_value_t = DEFAULT_MAX_FLOWS, value_name = "N")]
    pub max_flows: usize,
    /// Seconds of capture time after which an idle connection leaves the table.
    #[arg(long, default_value_t = DEFAULT_IDLE_TIMEOUT, value_name = "SECS")]
    pub idle_timeout: u64,
    /// Maximum segment lifetime in seconds: a closed connection leaves the table after 2×MSL.
    #[arg(long, default_value_t = DEFAULT_MSL, value_name = "SECS")]
    pub msl: u64,
    /// Draw each connection as a ladder (sequence diagram) instead of rows: one arrow per
    /// segment between client and server lifelines, each side's TCP state beside it.
    #[arg(long, conflicts_with_all = ["json", "summary"])]
    pub ladder: bool,
    /// Draw ladders and explanations with ASCII characters instead of Unicode box drawing.
    #[arg(long)]
    pub ascii: bool,
    /// Show only TCP stream N: shorthand for `-Y 'tcp.stream == N'`.
    #[arg(long, value_name = "N")]
    pub stream: Option<u32>,
    /// Wireshark display filter (`man wireshark-filter`, as TShark 4.0 reads it): only
    /// matching frames make rows, JSON records, ladder arrows and explanations; summaries and
    /// ladders show only connections with a matching frame. BPF words still filter first.
    #[arg(
        short = 'Y',
        long = "display-filter",
        value_name = "EXPR",
        allow_hyphen_values = true
    )]
    pub display_filter: Option<String>,
    /// Output format: `fields` prints the -e fields of each displayed frame, as tshark -T fields.
    #[arg(short = 'T', value_enum, value_name = "FORMAT", conflicts_with_all = ["json", "ladder", "summary", "explain"])]
    pub format: Option<Format>,
    /// A field to print with -T fields (repeatable; `tcplens fields` lists them).
    #[arg(short = 'e', value_name = "FIELD")]
    pub fields: Vec<String>,
    /// A -T fields option: separator=X, aggregator=X, header=y|n, occurrence=f|l|a, quote=d|s|n.
    #[arg(short = 'E', value_name = "KEY=VALUE")]
    pub field_options: Vec<String>,
    /// Under each row (or arrow), one plain sentence saying what the segment does and why.
    #[arg(long, conflicts_with = "summary")]
    pub explain: bool,
    /// Show what was said: a short quoted, escaped preview of each segment's data in its row
    /// and on its ladder arrow (`"Hi, user1, I got you!"`); explanations quote it always.
    /// The reader keeps each frame's bytes.
    #[arg(long, conflicts_with = "summary")]
    pub payload: bool,
    /// Width of ladder diagrams in columns (default: the terminal's width, else $COLUMNS, else
    /// 100).
    #[arg(long, value_name = "COLS", value_parser = clap::value_parser!(u16).range(40..))]
    pub width: Option<u16>,
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

/// Everything a live capture needs, validated.
pub struct CaptureConfig {
    pub live: live::Options,
    pub output: Output,
    pub query: Query,
    pub limits: Limits,
    /// False when nothing goes to stdout (`-q --no-summary`, or `-w -`).
    pub print: bool,
    /// `--follow`: the streams to follow (one, or every stream) and how.
    pub follow: Option<(Option<u32>, FollowOpts)>,
    /// `--tui`: the interactive view instead of rows.
    pub tui: bool,
}

/// Everything the pipeline needs, validated.
#[derive(Clone)]
pub struct Config {
    /// The capture files: one, or several read as one.
    pub input: Inputs,
    pub filter: Option<Filter>,
    pub output: Output,
    pub query: Query,
    pub limits: Limits,
    /// `-w`: the capture file to copy the frames kept into (`-` is stdout).
    pub write: Option<PathBuf>,
    /// `read --threads`: trackers run at once when only the summary table is written.
    pub threads: usize,
}

impl Config {
    /// `-w -`: the capture file goes to stdout, so nothing else does.
    pub fn writes_stdout(&self) -> bool {
        self.write.as_deref() == Some(Path::new("-"))
    }
}

/// What the user asked of the frames: a display filter and `-T fields`.
#[derive(Clone, Default)]
pub struct Query {
    pub filter: Option<Arc<DisplayFilter>>,
    pub fields: Option<Arc<FieldsFormat>>,
}

impl Query {
    fn used(&self) -> impl Iterator<Item = FieldId> + '_ {
        let filter = self.filter.iter().flat_map(|f| f.fields());
        let fields = self.fields.iter().flat_map(|f| f.fields.iter().copied());
        filter.chain(fields)
    }

    /// Some field reads the frame's bytes: the source must keep them.
    pub fn needs_bytes(&self) -> bool {
        self.used().any(|f| f.field().needs == Needs::Bytes)
            || self.filter.as_ref().is_some_and(|f| f.reads_layer_bytes())
    }

    /// Some field is a connection's verdict, known only when the connection ended.
    pub fn needs_connection(&self) -> bool {
        self.used().any(|f| f.field().needs == Needs::Connection)
    }

    /// The filter reads only connection fields: a summary line can be selected by itself.
    pub fn filter_is_per_connection(&self) -> bool {
        self.filter
            .as_ref()
            .is_some_and(|f| f.fields().all(|id| id.field().needs == Needs::Connection))
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub json: bool,
    /// `--zeek`: conn.log lines instead of rows and the summary.
    pub zeek: Option<ZeekFormat>,
    pub color: ColorMode,
    pub seq: SeqMode,
    pub summary: SummaryMode,
    /// Print a row per frame (off under `--ladder`, which draws instead, and `--summary`).
    pub rows: bool,
    pub ladder: Option<LadderOpts>,
    pub explain: bool,
    /// `--explain` and `--ladder` characters: ASCII instead of Unicode.
    pub ascii: bool,
    /// A display filter selects frames: summaries and ladders show only the connections with
    /// a selected frame.
    pub filtered: bool,
    /// 2×MSL in seconds, as explanations of TIME_WAIT quote it.
    pub msl: u64,
    /// `--payload`: each segment's data, quoted, in its row and on its ladder arrow.
    pub payload: bool,
}

impl Output {
    /// Some view quotes what the segments said: `--payload`, and explanations, which always
    /// do (the source must keep the frames' bytes).
    pub fn quotes_data(&self) -> bool {
        self.payload || self.explain
    }

    /// Rows (or JSON records) and the summary as given: no ladder, no explanations, every
    /// stream.
    pub fn rows(json: bool, color: ColorMode, seq: SeqMode, summary: SummaryMode) -> Output {
        Output {
            json,
            zeek: None,
            color,
            seq,
            summary,
            rows: summary != SummaryMode::Only,
            ladder: None,
            explain: false,
            ascii: false,
            filtered: false,
            msl: DEFAULT_MSL,
            payload: false,
        }
    }
}

/// How ladders are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LadderOpts {
    /// Total width in columns.
    pub width: usize,
    /// Draw each arrow as its segment arrives (live capture) instead of one whole diagram per
    /// connection when it ends (files, where connections interleave).
    pub streaming: bool,
}

impl ReadArgs {
    pub fn into_config(self) -> Result<Config> {
        let query = self.output.query()?;
        let to_stdout = self.write.as_deref() == Some(Path::new("-"));
        if let Some(path) = self.write.as_deref().filter(|_| !to_stdout) {
            check_writable_dir(path)?;
        }
        let mut output = self.output.resolve();
        if to_stdout {
            output.rows = false;
            output.ladder = None;
            output.explain = false;
            output.summary = SummaryMode::Off;
            // The capture file has stdout to itself.
            output.zeek = None;
        }
        // Further files and directories come first among the positional words: words named
        // like a capture (cap.pcap, cap.pcapng, cap.pcap3, x.cap) and existing paths with a
        // slash (captures/, ./dir). BPF words have neither, not even a net (10.0.0.0/8 names
        // nothing on disk) or a word that happens to name a directory here (src, host).
        let is_input = |w: &String| {
            let capture_name = Path::new(w).extension().is_some_and(|e| {
                let e = e.to_string_lossy();
                e.starts_with("pcap") || e == "cap"
            });
            capture_name || (w.contains('/') && Path::new(w).exists())
        };
        let more = self.filter.iter().take_while(|w| is_input(w)).count();
        let mut paths = vec![self.file];
        paths.extend(self.filter[..more].iter().map(PathBuf::from));
        Ok(Config {
            filter: Filter::from_words(&self.filter[more..])?,
            limits: self.output.limits()?,
            input: Inputs::expand(&paths, self.concat)?,
            output,
            query,
            write: self.write,
            threads: match self.threads {
                // The reader decodes on a core of its own; on two cores the shards cost as
                // much as they share (docs/performance.md), and one tracker runs beside it.
                // At most 8: every shard sees every segment's time.
                0 => std::thread::available_parallelism()
                    .map_or(1, |n| n.get().saturating_sub(1).clamp(1, 8)),
                n => n,
            },
        })
    }
}

impl CaptureArgs {
    pub fn into_config(self) -> Result<CaptureConfig> {
        let limits = self.output.limits()?;
        let follow = match self.follow {
            Some(format) => Some((
                self.output.stream,
                FollowOpts::new(format, self.output.color, self.output_dir.clone())?,
            )),
            None => None,
        };
        // Following picks streams by itself (`--stream` is not a row filter then).
        let query = match follow {
            Some(_) => Query::default(),
            None => self.output.query()?,
        };
        if query.needs_connection() && !(self.output.summary && query.filter_is_per_connection()) {
            anyhow::bail!(
                "tcplens.conn.* fields are known only when a connection ends: a live capture cannot \
                 select its rows by them; use them with `tcplens read` (two passes) or, alone in -Y, \
                 with --summary"
            );
        }
        let to_stdout = self.write.as_deref() == Some(Path::new("-"));
        if self.write.is_some() && query.filter.is_some() {
            // tshark refuses this too: the -w file is written as packets arrive, before the
            // display filter; it would hold frames the rows do not show.
            anyhow::bail!(
                "capture -w writes every packet the BPF words pass, so it cannot take -Y: filter \
                 with BPF words, or capture first and then `tcplens read FILE -Y EXPR -w OUT`"
            );
        }
        if let Some(path) = self.write.as_deref().filter(|_| !to_stdout) {
            check_writable_dir(path)?;
        }
        let rotation = Rotation {
            size: self.file_size,
            every: self.rotate_seconds,
            files: self.file_count,
            post: self.post_rotate.clone(),
        };
        if !rotation.is_on() && (rotation.files.is_some() || rotation.post.is_some()) {
            anyhow::bail!("-W and -z go with -C or -G (as in tcpdump)");
        }
        if rotation.is_on() && to_stdout {
            anyhow::bail!("-C and -G rotate files: give -w a file name, not -");
        }
        if let Some(path) = &self.write {
            rotation.check_name(path)?;
        }
        let mut output = match follow {
            Some(_) => FollowOpts::output(),
            None => self.output.resolve(),
        };
        if self.tui && (rotation.is_on() || to_stdout) {
            anyhow::bail!(
                "--tui reads the capture back from one file: give -w a file name, without -C or -G"
            );
        }
        if self.tui {
            // The view shows rows and explanations itself; nothing else writes.
            output = FollowOpts::output();
            output.explain = true;
        }
        if let Some(ladder) = &mut output.ladder {
            ladder.streaming = true;
        }
        if to_stdout {
            // The capture file has stdout to itself.
            output.zeek = None;
        }
        if self.quiet || to_stdout {
            output.rows = false;
            output.ladder = None;
            output.summary = match output.summary {
                SummaryMode::Off => SummaryMode::Off,
                _ => SummaryMode::Only,
            };
        }
        let expr = self.filter.join(" ");
        Ok(CaptureConfig {
            print: !(to_stdout || self.quiet && output.summary == SummaryMode::Off),
            live: live::Options {
                interface: self.interface,
                count: self.count,
                write: self.write,
                rotation,
                snaplen: if self.snaplen == 0 {
                    live::DEFAULT_SNAPLEN
                } else {
                    self.snaplen
                },
                buffer_bytes: (self.buffer * 1024) as i32,
                promisc: !self.no_promisc,
                nanos: self.precision == TsPrecision::Nano,
                filter: (!expr.trim().is_empty()).then_some(expr),
                keep_bytes: query.needs_bytes()
                    || output.quotes_data()
                    || follow.is_some()
                    || self.tui,
            },
            output,
            query,
            limits,
            follow,
            tui: self.tui,
        })
    }
}

/// A `-w` file whose directory is missing fails before the capture opens (and before any
/// privileges are needed); libpcap reports every other reason when it creates the file.
fn check_writable_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "cannot write {}: directory {} does not exist; create it or choose another -w path",
            path.display(),
            dir.display()
        );
    }
    if path.is_dir() {
        anyhow::bail!(
            "cannot write {}: it is a directory; give a file name to -w",
            path.display()
        );
    }
    Ok(())
}

impl OutputArgs {
    /// The display filter (with `--stream N` as `tcp.stream == N`) and `-T fields`, compiled
    /// before any thread starts: a bad expression is one error, before reading.
    fn query(&self) -> Result<Query> {
        let expr = match (&self.display_filter, self.stream) {
            (Some(y), Some(n)) => Some(format!("tcp.stream == {n} && ({y})")),
            (Some(y), None) => Some(y.clone()),
            (None, Some(n)) => Some(format!("tcp.stream == {n}")),
            (None, None) => None,
        };
        let filter = match expr {
            Some(e) => Some(Arc::new(
                DisplayFilter::compile(&e).map_err(|err| anyhow::anyhow!("{err}"))?,
            )),
            None => None,
        };
        let fields = match self.format {
            Some(Format::Fields) => Some(Arc::new(FieldsFormat::new(
                &self.fields,
                &self.field_options,
            )?)),
            None if !self.fields.is_empty() || !self.field_options.is_empty() => {
                anyhow::bail!("-e and -E go with -T fields (as in tshark)")
            }
            None => None,
        };
        Ok(Query { filter, fields })
    }

    fn limits(&self) -> Result<Limits> {
        if self.max_flows == 0 {
            anyhow::bail!("--max-flows must be at least 1");
        }
        const NS: i128 = 1_000_000_000;
        Ok(Limits {
            max_flows: self.max_flows,
            idle_timeout: self.idle_timeout as i128 * NS,
            msl: self.msl as i128 * NS,
        })
    }

    fn resolve(&self) -> Output {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let zeek = self.zeek.then_some(if self.json {
            ZeekFormat::Json
        } else {
            ZeekFormat::Tsv
        });
        Output {
            json: self.json,
            zeek,
            color: ColorMode::choose(
                self.color,
                self.json,
                std::io::stdout().is_terminal(),
                env("NO_COLOR").is_some(),
                env("CLICOLOR_FORCE").is_some_and(|v| v != "0"),
                env("COLORTERM").is_some_and(|v| v == "truecolor" || v == "24bit"),
            ),
            seq: self.seq,
            // conn.log is written as connections end, with nothing per frame: as --summary.
            summary: if self.summary || self.zeek {
                SummaryMode::Only
            } else if self.no_summary {
                SummaryMode::Off
            } else {
                SummaryMode::Rows
            },
            rows: !self.summary && !self.zeek && !self.ladder && self.format.is_none(),
            ladder: self.ladder.then(|| LadderOpts {
                width: self.width.map_or_else(terminal_width, usize::from),
                streaming: false,
            }),
            explain: self.explain,
            ascii: self.ascii,
            filtered: self.stream.is_some() || self.display_filter.is_some(),
            msl: self.msl,
            payload: self.payload,
        }
    }
}

/// The width ladders fit: stdout's terminal, else $COLUMNS (set by shells for scripts run
/// from a terminal), else 100 columns.
fn terminal_width() -> usize {
    terminal_size::terminal_size_of(std::io::stdout())
        .map(|(w, _)| usize::from(w.0))
        .or_else(|| std::env::var("COLUMNS").ok()?.trim().parse().ok())
        .filter(|&w| w >= 40)
        .unwrap_or(100)
}
