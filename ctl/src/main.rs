//! `heraldctl`: Herald's administration from a shell, through the REST API — users,
//! buddy lists, presence, archive, notifications, backup — with tables for people and
//! `--json` for scripts. Exit codes: 0 done, 65 refused or bad input (the message names
//! it), 69 server unreachable, 77 bad token, 78 bad configuration.

mod client;
mod commands;
mod show;

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;

use crate::{client::Client, commands::Command};

/// Administer a Herald deployment through its admin API.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The API's base URL.
    #[arg(long, global = true, env = "HERALDCTL_SERVER")]
    server: Option<String>,
    /// An API token (`herald token create NAME` on the server).
    #[arg(long, global = true, env = "HERALDCTL_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A CA certificate (PEM) to trust for an https server.
    #[arg(long, global = true, env = "HERALDCTL_CA")]
    ca: Option<PathBuf>,
    /// Settings file (server, token, ca); default ~/.config/heraldctl.toml.
    #[arg(long, global = true, env = "HERALDCTL_CONFIG")]
    config: Option<PathBuf>,
    /// Print the server's JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = Client::new(cli.server, cli.token, cli.ca, cli.config)
        .and_then(|c| commands::run(&c, cli.command, cli.json));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("heraldctl: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
