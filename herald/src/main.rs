//! `herald`: runs the server (the default) or administers users.

use std::{io::BufRead, path::PathBuf, process::ExitCode, sync::Arc};

use clap::{Parser, Subcommand};
use herald::{
    config::{Config, Env},
    server, users,
};
use herald_homeserver::store::{Aor, Store};

/// mimalloc instead of the C library's allocator: a SIP request allocates and frees a few
/// hundred small blocks across threads, and glibc's malloc and free were ~13 % of the
/// server's samples under REGISTER load (with the consolidation of fragmented bins).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Herald: SIP instant messaging, presence and call routing server.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// TOML settings file (also HERALD_CONFIG); environment variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default): front end and home server in one process.
    Run,
    /// Run a front end of a pool (SIP listeners; needs HERALD_STORE=pool for membership).
    Frontend,
    /// Run a home server of a pool (needs HERALD_STORE=pool).
    Homeserver,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the admin API's tokens (stored hashed; a new token is shown once).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Show the archived messages sent or received by a user, newest first, as JSON lines.
    Archive {
        address: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it (the only time it is shown).
    Create { name: String },
    /// List tokens by name.
    List,
    /// Revoke a token: API calls with it get 401 from now on.
    Revoke { name: String },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; without --password a random one is generated and printed.
    Add {
        /// user@domain, or just the user name in the configured domain
        address: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Refuse the user's sign-ins and messages until enabled again.
    Disable {
        address: String,
    },
    Enable {
        address: String,
    },
    /// Remove a user with their registrations and stored messages (the archive stays).
    Remove {
        address: String,
    },
    /// Set a user's password.
    Passwd {
        address: String,
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Import users from CSV: header row with address,display_name,password,email.
    Import {
        file: PathBuf,
        /// Check every line and report, without importing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// EX_USAGE: bad configuration.
const EXIT_CONFIG: u8 = 64;
/// EX_DATAERR: bad input data (an unknown user, a bad CSV line).
const EXIT_DATA: u8 = 65;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let cfg = match Config::load(cli.config.as_deref(), &Env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("herald: configuration error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cfg.worker_threads {
        builder.worker_threads(n);
    }
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("herald: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command.unwrap_or(Command::Run) {
            Command::Run => run(cfg).await,
            Command::Frontend => {
                herald::pool::run_frontend(cfg, shutdown_signal(), |r| node_ready("front end", r))
                    .await
            }
            Command::Homeserver => {
                herald::pool::run_homeserver(cfg, shutdown_signal(), |r| {
                    node_ready("home server", r)
                })
                .await
            }
            Command::User(u) => user(cfg, u).await,
            Command::Token(t) => token(cfg, t).await,
            Command::Archive { address, limit } => archive(cfg, &address, limit).await,
        }
    });
    // Connections and store workers get a moment to finish, not more.
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("herald: {e:#}");
            let data = e.downcast_ref::<users::AdminError>().is_some();
            ExitCode::from(if data { EXIT_DATA } else { 1 })
        }
    }
}

fn init_logging() {
    use tracing_subscriber::{fmt, EnvFilter};
    let filter = EnvFilter::try_from_env("HERALD_LOG")
        // rustls warns at every TLS client that sends an IP address as SNI: noise.
        .unwrap_or_else(|_| EnvFilter::new("info,rustls=error"));
    let json = std::env::var("HERALD_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cfg: Config) -> anyhow::Result<()> {
    let domain = cfg.domain.clone();
    let db = cfg.database();
    server::run(cfg, shutdown_signal(), |r| {
        let host = r.host;
        println!(
            "Herald {} (embedded edition), domain {domain}",
            env!("CARGO_PKG_VERSION")
        );
        for line in server::listener_lines(r.bound, host) {
            println!("{line}");
        }
        if let Some(a) = r.http {
            println!("listening http {a} (metrics, healthz, readyz)");
        }
        if let Some(a) = r.xcap {
            println!("listening xcap {a} (buddy lists and presence rules: http://{a}/xcap-root)");
        }
        if let Some(url) = &r.api {
            let addr = url.rsplit_once('/').map_or(url.as_str(), |(_, a)| a);
            println!(
                "listening api {addr} (admin API: {url}/api/v1; a token: herald token create NAME)"
            );
        }
        println!("data: {}", db.display());
        println!("add a user:  herald user add alice@{domain} --password <password>");
        println!("then point a SIP client at sip:alice@{domain} via {host}");
        println!("ready");
    })
    .await
}

/// What a pool node prints once it serves (the tests read the `listening` lines).
fn node_ready(role: &str, r: &herald::pool::NodeReady<'_>) {
    println!("Herald {} ({role} of a pool)", env!("CARGO_PKG_VERSION"));
    if let Some(bound) = r.bound {
        for line in server::listener_lines(bound, &r.host) {
            println!("{line}");
        }
    }
    println!("listening grpc {}", r.grpc);
    if let Some(a) = r.http {
        println!("listening http {a} (metrics, healthz, readyz)");
    }
    println!("ready");
}

/// SIGTERM or Ctrl-C. The handlers are installed when this is called, before the server
/// says "ready": installed on first poll (after "ready"), a SIGTERM sent at once would
/// still kill the process the default way, without a clean shutdown.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (term, int) = signals;
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(term) => {},
                () = wait(int) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

async fn archive(cfg: Config, address: &str, limit: u32) -> anyhow::Result<()> {
    let store = herald::store::open(&cfg).await?;
    let aor = users::address(address, &cfg.domain)?;
    for e in store.archived(&aor, limit).await? {
        let line = serde_json::json!({
            "at_ms": e.at_ms,
            "sender": e.sender,
            "recipients": e.recipients,
            "call_id": e.call_id,
            "content_type": e.content_type,
            "body": String::from_utf8_lossy(&e.body),
            "outcome": e.outcome.to_db(),
        });
        println!("{line}");
    }
    Ok(())
}

async fn token(cfg: Config, cmd: TokenCommand) -> anyhow::Result<()> {
    let store = herald::store::open(&cfg).await?;
    match cmd {
        TokenCommand::Create { name } => {
            anyhow::ensure!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
                "token name {name:?}: use letters, digits, '-', '_' and '.'"
            );
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let (secret, record) = herald_api::auth::new_token(&name, now);
            store.create_token(&record).await?;
            println!("{secret}");
        }
        TokenCommand::List => {
            for t in store.tokens().await? {
                println!("{}\tcreated {}", t.name, t.created_at);
            }
        }
        TokenCommand::Revoke { name } => {
            anyhow::ensure!(store.revoke_token(&name).await?, "no token named {name}");
            println!("revoked {name}");
        }
    }
    Ok(())
}

async fn set_disabled(store: &dyn Store, aor: Aor, disabled: bool) -> anyhow::Result<()> {
    store
        .set_disabled(&aor, disabled)
        .await
        .map_err(users::AdminError::from)?;
    println!("{} {aor}", if disabled { "disabled" } else { "enabled" });
    Ok(())
}

/// The password given, or read from standard input, or a generated one (`true`: print it).
fn read_password(given: Option<String>, stdin: bool) -> anyhow::Result<(String, bool)> {
    if stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let p = line.trim_end_matches(['\r', '\n']).to_owned();
        anyhow::ensure!(!p.is_empty(), "empty password on standard input");
        return Ok((p, false));
    }
    Ok(match given {
        Some(p) => (p, false),
        None => (users::random_password(), true),
    })
}

async fn user(cfg: Config, cmd: UserCommand) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = herald::store::open(&cfg).await?;
    let domain = cfg.domain.clone();
    let addr = |a: &str| users::address(a, &domain);
    match cmd {
        UserCommand::Add {
            address,
            name,
            email,
            password,
            password_stdin,
        } => {
            let aor = addr(&address)?;
            let (password, generated) = read_password(password, password_stdin)?;
            users::add(
                store.as_ref(),
                aor.clone(),
                &name,
                email,
                &password,
                &domain,
            )
            .await?;
            println!("added {aor}");
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::List => {
            let all = store.users().await?;
            println!("{:<40} {:<24} {:<8} EMAIL", "ADDRESS", "NAME", "STATE");
            for u in all {
                let state = if u.disabled { "disabled" } else { "active" };
                println!(
                    "{:<40} {:<24} {:<8} {}",
                    u.aor,
                    u.display_name,
                    state,
                    u.email.unwrap_or_default()
                );
            }
        }
        UserCommand::Disable { address } => {
            set_disabled(store.as_ref(), addr(&address)?, true).await?
        }
        UserCommand::Enable { address } => {
            set_disabled(store.as_ref(), addr(&address)?, false).await?
        }
        UserCommand::Remove { address } => {
            store
                .remove_user(&addr(&address)?)
                .await
                .map_err(users::AdminError::from)?;
            println!("removed {address}");
        }
        UserCommand::Passwd {
            address,
            password,
            password_stdin,
        } => {
            let aor = addr(&address)?;
            let (password, generated) = read_password(password, password_stdin)?;
            let creds = users::credentials(&aor, &domain, &password);
            store
                .set_credentials(&aor, &creds)
                .await
                .map_err(users::AdminError::from)?;
            println!("password set for {aor}");
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::Import { file, dry_run } => {
            let n = users::import(store.as_ref(), &file, &domain, dry_run).await?;
            if dry_run {
                println!("{}: {n} user(s) would be imported", file.display());
            } else {
                println!("{}: imported {n} user(s)", file.display());
            }
        }
    }
    Ok(())
}
