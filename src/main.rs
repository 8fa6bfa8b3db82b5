use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use tcplens::cli::{Cli, Command};

fn main() -> ExitCode {
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
