//! `pgpanel user add | set-password | list`: bootstrap and recovery without the web UI. Works on
//! the store directly; passwords come from stdin or a file, never from the command line (argv is
//! visible to every user of the machine). Every change is audited with the OS user as actor.

use app::features::audit::model::{Action, Outcome};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use app::clock::{Clock, from_millis};
use app::error::AppError;
use app::features::auth::model::Role;
use app::features::auth::password::PasswordHasher;
use app::features::users::model::{
    check_password, confusable_with, normalize_username, username_key,
};
use app::store::{AuditEvent, Store, StoreError, UserChange};

use crate::config;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from stdin (or --password-file).
    Add {
        #[arg(long)]
        username: String,
        /// admin, dba or analyst.
        #[arg(long)]
        role: String,
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        #[arg(long, env = "PGPANEL_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Set a user's password (ends their sessions). Read from stdin (or --password-file).
    SetPassword {
        #[arg(long)]
        username: String,
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        #[arg(long, env = "PGPANEL_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Clear a user's sign-in lock (too many failed attempts).
    Unlock {
        #[arg(long)]
        username: String,
        #[arg(long, env = "PGPANEL_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// List users.
    List {
        #[arg(long, env = "PGPANEL_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// A failure, with the exit status it deserves.
struct Failure(ExitCode, String);

fn usage(message: impl Into<String>) -> Failure {
    Failure(ExitCode::from(2), message.into())
}

fn store_failure(e: &StoreError) -> Failure {
    Failure(ExitCode::FAILURE, format!("store: {e}"))
}

fn invalid(e: &AppError) -> Failure {
    usage(e.to_string())
}

/// One password line: from the file, or stdin (asked twice, without echo, on a terminal).
fn read_password(file: Option<&Path>, username: &str) -> Result<String, Failure> {
    let strip = |mut s: String| {
        if s.ends_with('\n') {
            s.pop();
            if s.ends_with('\r') {
                s.pop();
            }
        }
        s
    };
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
        return Ok(strip(text));
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut text = String::new();
        stdin
            .lock()
            .read_to_string(&mut text)
            .map_err(|e| usage(format!("cannot read the password from stdin: {e}")))?;
        return Ok(strip(text));
    }
    let first = prompt_hidden(&format!("Password for {username}: "))?;
    let second = prompt_hidden("Again: ")?;
    if first != second {
        return Err(usage("the two passwords differ"));
    }
    Ok(first)
}

fn prompt_hidden(prompt: &str) -> Result<String, Failure> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let saved = tcgetattr(&stdin).ok();
    if let Some(saved) = &saved {
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &quiet);
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(saved) = &saved {
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, saved);
    }
    eprintln!();
    read.map_err(|e| usage(format!("cannot read the password: {e}")))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

fn actor() -> String {
    let name = nix::unistd::User::from_uid(nix::unistd::Uid::current())
        .ok()
        .flatten()
        .map_or_else(|| "unknown".to_owned(), |u| u.name);
    format!("cli:{name}")
}

async fn open(config: Option<&Path>) -> Result<Store, Failure> {
    let config = config::load(config, std::env::vars())
        .map_err(|e| usage(format!("invalid configuration: {e}")))?;
    Store::open(&config.store.url)
        .await
        .map_err(|e| store_failure(&e))
}

async fn must_exist(store: &Store, name: &str) -> Result<(), Failure> {
    match store.find_user(name).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(usage(format!("no user named {name}"))),
        Err(e) => Err(store_failure(&e)),
    }
}

async fn hash(password: &str) -> Result<String, Failure> {
    let hasher =
        PasswordHasher::standard().map_err(|e| Failure(ExitCode::FAILURE, e.to_string()))?;
    hasher
        .hash(password)
        .await
        .map_err(|e| Failure(ExitCode::FAILURE, e.to_string()))
}

async fn run(command: UserCommand) -> Result<String, Failure> {
    let now = Clock::system().now_ms();
    match command {
        UserCommand::Add {
            username,
            role,
            password_file,
            config,
        } => {
            let name = normalize_username(&username).map_err(|e| invalid(&e))?;
            let role = Role::parse(&role).map_err(|e| invalid(&e))?;
            let store = open(config.as_deref()).await?;
            let existing = store.list_users().await.map_err(|e| store_failure(&e))?;
            if let Some(other) =
                confusable_with(&name, existing.iter().map(|u| u.username.as_str()))
            {
                return Err(usage(format!(
                    "{name:?} can be mistaken for the existing user {other:?}; choose a name that looks different"
                )));
            }
            let password = read_password(password_file.as_deref(), &name)?;
            check_password(&password).map_err(|e| invalid(&e))?;
            let hash = hash(&password).await?;
            let ev = AuditEvent::new(now, Action::UserCreate, Outcome::Success)
                .actor(actor(), None)
                .client("local")
                .object(name.clone())
                .parameters(serde_json::json!({ "role": role }).to_string());
            match store.create_user(&name, &hash, role, now, &ev).await {
                Ok(()) => Ok(format!("created user {name} ({role})")),
                Err(StoreError::Duplicate) => Err(usage(format!("user {name} already exists"))),
                Err(e) => Err(store_failure(&e)),
            }
        }
        UserCommand::SetPassword {
            username,
            password_file,
            config,
        } => {
            let name = username_key(&username).map_err(|e| invalid(&e))?;
            let store = open(config.as_deref()).await?;
            must_exist(&store, &name).await?;
            let password = read_password(password_file.as_deref(), &name)?;
            check_password(&password).map_err(|e| invalid(&e))?;
            let change = UserChange {
                password_hash: Some(hash(&password).await?),
                ..UserChange::default()
            };
            let ev = AuditEvent::new(now, Action::UserUpdate, Outcome::Success)
                .actor(actor(), None)
                .client("local")
                .object(name.clone())
                .parameters(r#"{"password":"reset"}"#);
            match store.update_user(&name, &change, now, &ev).await {
                Ok(_) => Ok(format!("password of {name} set; their sessions ended")),
                Err(StoreError::NotFound) => Err(usage(format!("no user named {name}"))),
                Err(e) => Err(store_failure(&e)),
            }
        }
        UserCommand::Unlock { username, config } => {
            let name = username_key(&username).map_err(|e| invalid(&e))?;
            let store = open(config.as_deref()).await?;
            must_exist(&store, &name).await?;
            let ev = AuditEvent::new(now, Action::UserUnlock, Outcome::Success)
                .actor(actor(), None)
                .client("local")
                .object(name.clone());
            store
                .clear_lock(&name, "", now, &ev)
                .await
                .map_err(|e| store_failure(&e))?;
            Ok(format!("sign-in lock of {name} cleared"))
        }
        UserCommand::List { config } => {
            let store = open(config.as_deref()).await?;
            let users = store.list_users().await.map_err(|e| store_failure(&e))?;
            let mut out = format!(
                "{:<24} {:<8} {:<9} {:<24} {}\n",
                "USERNAME", "ROLE", "STATUS", "LAST SIGN-IN (UTC)", "CREATED (UTC)"
            );
            let when = |ms: i64| app::components::format::utc(from_millis(ms));
            for u in &users {
                out.push_str(&format!(
                    "{:<24} {:<8} {:<9} {:<24} {}\n",
                    u.username,
                    u.role.as_str(),
                    if u.disabled_at_ms.is_some() {
                        "disabled"
                    } else {
                        "enabled"
                    },
                    u.last_login_at_ms.map_or_else(|| "never".to_owned(), when),
                    when(u.created_at_ms),
                ));
            }
            out.push_str(&format!("{} user(s)", users.len()));
            Ok(out)
        }
    }
}

pub fn main(command: UserCommand, rt: &tokio::runtime::Runtime) -> ExitCode {
    match rt.block_on(run(command)) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(Failure(code, message)) => {
            eprintln!("pgpanel user: {message}");
            code
        }
    }
}
