//! The command line: `serve`, `demo`, `migrate`, users, tokens, import,
//! export and backup.
//!
//! Settings are loaded once here (see [`crate::settings`] for their
//! order); a bad setting stops the program with one line and exit code 2.
//! Logs go to stderr, so stdout carries only what a command prints for
//! people or scripts (a token, an export).

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::auth::{self, Permission};
use crate::db::{self, Db};
use crate::http::{self, App};
use crate::settings::{Overrides, Settings};
use crate::store::users;
use crate::timestamp::Timestamp;
use crate::{demo, input, transfer, Error};

/// Client onboarding tracker: one binary, one SQLite file, a JSON API.
#[derive(Debug, Parser)]
#[command(name = "onboarding", version, about)]
pub struct Cli {
    /// Config file (flat TOML); default: ./onboarding.toml when present.
    #[arg(long, global = true, env = "ONBOARDING_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// SQLite database file; default: onboarding.db.
    #[arg(long, global = true, env = "ONBOARDING_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve the API until SIGINT or SIGTERM.
    Serve(ListenArgs),
    /// Create (or reuse) a demo database, print a token and curl lines, then serve.
    Demo(ListenArgs),
    /// Apply pending migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Import a JSON document (see `export`) in one transaction.
    Import {
        /// The document to read.
        file: PathBuf,
    },
    /// Write all data as one JSON document, to FILE or stdout.
    Export {
        /// Where to write; stdout when omitted.
        file: Option<PathBuf>,
    },
    /// Write a consistent copy of the live database to FILE.
    Backup {
        /// The copy to create (replaced if it exists).
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long, env = "ONBOARDING_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user.
    Add {
        /// 1 to 128 characters.
        #[arg(long, value_parser = id_arg)]
        id: String,
        /// 1 to 200 characters.
        #[arg(long, value_parser = name_arg)]
        name: String,
    },
    /// List users.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token; it is printed once, alone on the last line.
    Create {
        /// The user the token acts as.
        #[arg(long)]
        user: String,
        /// Comma-separated: clients:view, clients:update, templates:manage, or *.
        #[arg(long, value_name = "P[,P...]", value_parser = permissions_arg)]
        permissions: PermissionList,
        /// A note to tell tokens apart (up to 200 characters, one line).
        #[arg(long, value_parser = label_arg)]
        label: Option<String>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by its id.
    Revoke {
        #[arg(value_name = "TOKEN_ID")]
        token_id: String,
    },
}

/// Permissions as given to `tokens create`.
#[derive(Clone, Debug)]
pub struct PermissionList(Vec<Permission>);

/// Checks argument values in clap, so a bad one exits 2 like any usage error.
fn id_arg(value: &str) -> Result<String, String> {
    input::check_id("--id", value)
        .map(|()| value.to_owned())
        .map_err(|_| "must be 1 to 128 characters".into())
}

fn name_arg(value: &str) -> Result<String, String> {
    input::check_name("--name", value)
        .map(|()| value.to_owned())
        .map_err(|_| "must be 1 to 200 characters, not only spaces".into())
}

fn label_arg(value: &str) -> Result<String, String> {
    if value.chars().count() > 200 || value.chars().any(char::is_control) {
        return Err("must be at most 200 characters on one line".into());
    }
    Ok(value.to_owned())
}

fn permissions_arg(value: &str) -> Result<PermissionList, String> {
    auth::parse_permissions(value).map(PermissionList)
}

/// The demo's database when none is configured.
const DEMO_DATABASE: &str = "onboarding-demo.db";

/// Parses the command line. `--help` and `--version` print and exit 0; a
/// usage error prints one line and exits 2.
pub fn parse() -> Result<Cli, ExitCode> {
    Cli::try_parse().map_err(|err| {
        if !err.use_stderr() {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        eprintln!("onboarding: {}", one_line(&err.render().to_string()));
        ExitCode::from(2)
    })
}

/// The first paragraph of clap's message on one line, saying which
/// environment variable a value may have come from.
fn one_line(message: &str) -> String {
    let first = message.split("\n\n").next().unwrap_or(message);
    let mut line = first
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(rest) = line.strip_prefix("error: ") {
        line = rest.to_owned();
    }
    for (flag, variable) in [
        ("--listen", "ONBOARDING_LISTEN"),
        ("--db", "ONBOARDING_DB"),
        ("--config", "ONBOARDING_CONFIG"),
    ] {
        if line.contains(&format!("'{flag} ")) && std::env::var_os(variable).is_some() {
            line.push_str(&format!(" ({variable} is set)"));
        }
    }
    line
}

/// Runs a parsed command line and returns the process's exit code.
pub fn run(cli: Cli) -> ExitCode {
    let listen = match &cli.command {
        Command::Serve(args) | Command::Demo(args) => args.listen,
        _ => None,
    };
    let overrides = Overrides {
        config: cli.config.clone(),
        database: cli.db.clone(),
        listen,
    };
    let mut settings = match Settings::load(&overrides) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("onboarding: {err}");
            return ExitCode::from(2);
        }
    };
    if matches!(cli.command, Command::Demo(_)) && settings.database == Settings::default().database
    {
        settings.database = PathBuf::from(DEMO_DATABASE);
    }
    init_logging(&settings.log_level);

    match execute(cli.command, settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("onboarding: {}", describe(&err));
            ExitCode::FAILURE
        }
    }
}

/// An error as a person at a terminal should read it.
fn describe(err: &Error) -> String {
    match err {
        Error::Internal(detail) | Error::Unavailable(detail) => detail.clone(),
        other => other.to_string(),
    }
}

fn init_logging(level: &str) {
    // warp's own per-request lines would repeat the one `http` writes, and
    // its connection errors are peers that do not speak HTTP; refinery
    // narrates each migration, which `migrate` sums up in one line.
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    for directive in [
        "warp::filters::trace=off",
        "warp::server=off",
        "refinery_core=warn",
    ] {
        filter = filter.add_directive(directive.parse().expect("a valid directive"));
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn execute(command: Command, settings: Settings) -> crate::Result<()> {
    match command {
        Command::Serve(_) => {
            let db = open(&settings)?;
            serve(db, settings, |_| {})
        }
        Command::Demo(_) => {
            let db = open(&settings)?;
            let secret = db.write_now(|tx| demo::prepare(tx, Timestamp::now()))?;
            eprintln!("demo database: {}", settings.database.display());
            serve(db, settings, move |addr| demo::print_welcome(addr, &secret))
        }
        Command::Migrate => {
            db::migrate(&settings.database)?;
            println!("{} is up to date", settings.database.display());
            Ok(())
        }
        Command::Users(command) => {
            let db = open(&settings)?;
            users_command(&db, command)
        }
        Command::Tokens(command) => {
            let db = open(&settings)?;
            tokens_command(&db, command)
        }
        Command::Import { file } => {
            let db = open(&settings)?;
            let text = std::fs::read_to_string(&file).map_err(|err| {
                Error::BadRequest(format!("cannot read {}: {err}", file.display()))
            })?;
            let summary = transfer::import(&db, &text)?;
            println!("imported {summary}");
            Ok(())
        }
        Command::Export { file } => {
            let db = open(&settings)?;
            let document = transfer::export(&db)?;
            match file {
                Some(path) => write_file(&path, &document),
                None => {
                    println!("{document}");
                    Ok(())
                }
            }
        }
        Command::Backup { file } => {
            let db = open(&settings)?;
            transfer::backup(&db, &file)?;
            println!("backup written to {}", file.display());
            Ok(())
        }
    }
}

fn open(settings: &Settings) -> crate::Result<Db> {
    db::open_migrated(
        &settings.database,
        settings.pool_size,
        Duration::from_millis(settings.db_wait_ms),
    )
}

fn write_file(path: &Path, text: &str) -> crate::Result<()> {
    std::fs::write(path, format!("{text}\n"))
        .map_err(|err| Error::BadRequest(format!("cannot write {}: {err}", path.display())))
}

/// Serves until SIGINT or SIGTERM; `ready` runs once the address is bound.
fn serve(db: Db, settings: Settings, ready: impl FnOnce(SocketAddr)) -> crate::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| Error::Internal(format!("cannot start the runtime: {err}")))?;

    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|err| {
                Error::BadRequest(format!("cannot listen on {}: {err}", settings.listen))
            })?;
        let addr = listener
            .local_addr()
            .map_err(|err| Error::Internal(format!("no local address: {err}")))?;
        tracing::info!(%addr, database = %settings.database.display(), "serving");
        println!("listening on http://{addr}");
        ready(addr);

        let app = App {
            db,
            settings: Arc::new(settings),
        };
        http::serve(app, listener, shutdown_signal()).await;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Resolves on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("a SIGTERM handler can be installed");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down; finishing requests in flight");
}

fn users_command(db: &Db, command: UsersCommand) -> crate::Result<()> {
    match command {
        UsersCommand::Add { id, name } => {
            let user = db.write_now(|tx| users::add_user(tx, &id, &name, Timestamp::now()))?;
            println!("added user {} ({})", user.id, user.name);
        }
        UsersCommand::List => {
            let all = db.read_now(users::list_users)?;
            println!("{:<24} {:<32} CREATED", "ID", "NAME");
            for user in all {
                println!("{:<24} {:<32} {}", user.id, user.name, user.created_at);
            }
        }
    }
    Ok(())
}

fn tokens_command(db: &Db, command: TokensCommand) -> crate::Result<()> {
    match command {
        TokensCommand::Create {
            user,
            permissions,
            label,
        } => {
            let (info, secret) = db.write_now(|tx| {
                users::create_token(
                    tx,
                    &user,
                    &permissions.0,
                    label.as_deref(),
                    Timestamp::now(),
                )
            })?;
            println!(
                "created token {} for {} with {}; it is shown only once:",
                info.id, info.user_id, info.permissions
            );
            println!("{}", secret.expose());
        }
        TokensCommand::List => {
            let all = db.read_now(users::list_tokens)?;
            println!(
                "{:<22} {:<16} {:<44} {:<16} {:<22} REVOKED",
                "ID", "USER", "PERMISSIONS", "LABEL", "CREATED"
            );
            for token in all {
                println!(
                    "{:<22} {:<16} {:<44} {:<16} {:<22} {}",
                    token.id,
                    token.user_id,
                    token.permissions,
                    token.label.unwrap_or_default(),
                    token.created_at.to_string(),
                    token
                        .revoked_at
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "-".into())
                );
            }
        }
        TokensCommand::Revoke { token_id } => {
            db.write_now(|tx| users::revoke_token(tx, &token_id, Timestamp::now()))?;
            println!("revoked token {token_id}");
        }
    }
    Ok(())
}
