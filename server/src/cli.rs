//! The `pgpanel` command line. Exit status: 0 success, 2 bad usage or configuration, 1 any other
//! failure.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Config};

#[derive(Debug, Parser)]
#[command(
    name = "pgpanel",
    version,
    about = "PostgreSQL administration dashboard"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the dashboard.
    Serve {
        /// Configuration file (TOML). Every key can also be set as PGPANEL__SECTION__KEY.
        #[arg(long, env = "PGPANEL_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Start a throwaway PostgreSQL with a live workload and a dashboard watching it.
    Demo {
        /// Address for the dashboard.
        #[arg(long, default_value = "127.0.0.1:3000", value_name = "ADDR")]
        listen: SocketAddr,
    },
    /// Validate the configuration and print the effective settings, secrets masked.
    CheckConfig {
        #[arg(long, env = "PGPANEL_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Manage dashboard users (bootstrap and recovery); passwords come from stdin.
    #[command(subcommand)]
    User(crate::users_cli::UserCommand),
    /// Measure the wasm size, binary size, idle memory, page latency and login cost.
    Bench(crate::bench::BenchArgs),
    /// Print the SQL a superuser runs once on a target for least privilege (psql script).
    SetupSql {
        /// The target's id in the configuration.
        #[arg(long, value_name = "ID")]
        target: String,
        #[arg(long, env = "PGPANEL_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

fn load(path: Option<&std::path::Path>) -> Result<Config, ExitCode> {
    let config = config::load(path, std::env::vars()).map_err(|e| {
        eprintln!("pgpanel: invalid configuration: {e}");
        ExitCode::from(2)
    })?;
    // Reading password files belongs to validation: fail now, not at the first connection.
    config.target_specs().map_err(|e| {
        eprintln!("pgpanel: invalid configuration: {e}");
        ExitCode::from(2)
    })?;
    Ok(config)
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("pgpanel: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        })
}

fn finish<E: std::fmt::Display>(what: &str, result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{what}: {e}");
            eprintln!("pgpanel: {what}: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn main() -> ExitCode {
    crate::allocator::return_big_blocks_to_the_system();
    let cli = Cli::parse();
    let result = (|| -> Result<ExitCode, ExitCode> {
        Ok(match cli.command {
            Command::CheckConfig { config } => {
                let config = load(config.as_deref())?;
                print!("{}", config.to_masked_toml());
                eprintln!(
                    "pgpanel: configuration is valid ({} target{})",
                    config.targets.len(),
                    if config.targets.len() == 1 { "" } else { "s" }
                );
                if config.store.url.starts_with("postgres") {
                    let rt = runtime()?;
                    eprint!(
                        "{}",
                        rt.block_on(crate::cluster_cli::instances(&config.store.url))
                    );
                }
                ExitCode::SUCCESS
            }
            Command::Serve { config } => {
                let config = load(config.as_deref())?;
                crate::telemetry::init();
                let rt = runtime()?;
                finish(
                    "serve",
                    rt.block_on(crate::serve::serve(config, crate::serve::shutdown_signal())),
                )
            }
            Command::Demo { listen } => {
                crate::telemetry::init();
                let rt = runtime()?;
                finish("demo", rt.block_on(crate::demo::run(listen)))
            }
            Command::User(command) => {
                let rt = runtime()?;
                crate::users_cli::main(command, &rt)
            }
            Command::SetupSql { target, config } => {
                let config = load(config.as_deref())?;
                let specs = config.target_specs().map_err(|e| {
                    eprintln!("pgpanel: invalid configuration: {e}");
                    ExitCode::from(2)
                })?;
                let Some(spec) = specs.into_iter().find(|s| s.id == target) else {
                    eprintln!("pgpanel: there is no target {target:?} in the configuration");
                    return Err(ExitCode::from(2));
                };
                let rt = runtime()?;
                let listed = rt.block_on(crate::setup_sql::databases(&spec));
                if let Err(why) = &listed {
                    eprintln!("pgpanel: could not list the databases of {target:?}: {why}");
                }
                print!("{}", crate::setup_sql::script(&spec, listed));
                ExitCode::SUCCESS
            }
            Command::Bench(args) => {
                let rt = runtime()?;
                finish("bench", rt.block_on(crate::bench::run(args)))
            }
        })
    })();
    result.unwrap_or_else(|code| code)
}
