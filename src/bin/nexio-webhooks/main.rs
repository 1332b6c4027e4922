//! `nexio-webhooks`: sign, send, verify and receive Nexio webhook deliveries.
//!
//! Built with `--features cli`. Exit status: 0 when everything verified (or every
//! request was answered 2xx), 1 when something was rejected, 2 for usage errors
//! (bad arguments, no secret, unreadable file).

mod args;
mod delivery;
mod endpoint;
mod fail;
mod listen;
mod replay;
mod request;
mod secrets;
mod send;
mod sign;
mod verify;

use std::process::ExitCode;

use clap::Parser as _;

use crate::args::{Cli, Command};
use crate::fail::{Outcome, UsageError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sign(args) => sign::run(&args),
        Command::Send(args) => with_runtime(|rt| rt.block_on(send::run(&args))),
        Command::Verify(args) => verify::run(&args),
        Command::Listen(args) => with_runtime(|rt| rt.block_on(listen::run(&args))),
        Command::Replay(args) => with_runtime(|rt| rt.block_on(replay::run(&args))),
        Command::Endpoint(command) => with_runtime(|rt| rt.block_on(endpoint::run(&command))),
    };
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            eprintln!("error: {e}");
            UsageError::exit_code()
        }
    }
}

fn with_runtime(
    f: impl FnOnce(&tokio::runtime::Runtime) -> Result<Outcome, UsageError>,
) -> Result<Outcome, UsageError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| UsageError::new(format!("cannot start the async runtime: {e}")))?;
    f(&rt)
}
