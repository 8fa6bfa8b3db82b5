use std::process::ExitCode;

use clap::Parser;
use tcplens::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Read(args) => args
            .into_config()
            .and_then(|cfg| tcplens::pipeline::read(&cfg)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `| head` closed our stdout: the reader got what it wanted (ripgrep does the same).
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tcplens: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
