use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use tcplens::cli::{Cli, Command};

fn main() -> ExitCode {
    fixed_mmap_threshold();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Read(args) => args
            .into_config()
            .and_then(|cfg| tcplens::pipeline::read(&cfg)),
        Command::Capture(args) => args
            .into_config()
            .and_then(|cfg| tcplens::pipeline::capture(&cfg)),
        Command::Follow(args) => args
            .into_config()
            .and_then(|cfg| tcplens::pipeline::follow(&cfg)),
        Command::Tui(args) => args
            .into_config()
            .and_then(|cfg| tcplens::pipeline::tui(&cfg)),
        Command::Graph(args) => args
            .into_config()
            .and_then(|cfg| tcplens::pipeline::graph(&cfg)),
        Command::Stats(args) => args
            .into_config()
            .and_then(|cfg| tcplens::pipeline::stats(&cfg)),
        Command::Interfaces => tcplens::pipeline::interfaces(),
        Command::Fields => tcplens::cli::list_fields(),
        Command::Demo(args) => tcplens::demo::run(&args.into_config()),
        Command::Completions { shell } => tcplens::cli::completions(shell),
        Command::Man { subcommand } => tcplens::cli::man_page(subcommand.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `| head` closed our stdout: the reader got what it wanted (ripgrep does the same).
        Err(e) if tcplens::pipeline::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Not eprintln!: it panics when stderr is a closed pipe (`2>&1 | head`).
            let _ = writeln!(std::io::stderr(), "tcplens: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Big allocations (over 1 MiB: the flow table's slot arrays, the reader's buffers) always
/// mapped on their own and unmapped when freed. glibc raises its threshold to the size of each
/// mapped block freed, so the next table of the same size came from the heap, where the
/// connections allocated around it kept its pages: under a SYN flood, whose table is replaced
/// at each eviction (flow/mod.rs `sweep`), the process grew by ~10 MiB that way
/// (docs/performance.md). 1 MiB leaves the small, frequent allocations to the heap.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fixed_mmap_threshold() {
    // SAFETY: mallopt only sets an allocator parameter; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fixed_mmap_threshold() {}
