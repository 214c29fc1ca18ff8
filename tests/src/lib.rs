//! The end-to-end harness: builds and starts the real `herald` binary on loopback ports
//! with a throwaway data directory, adds users through its own CLI, and runs real SIP
//! peers (sipp, baresip) against it. A missing tool fails the test with the command that
//! installs it; nothing is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod api;
pub mod device;
pub mod services;
pub mod sipp;
pub mod smtp;
pub mod udp;
pub mod ws;
pub mod xcap;

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    net::{SocketAddr, UdpSocket},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{mpsc, OnceLock},
    time::Duration,
};

/// A scratch directory for one test, removed afterwards unless `HERALD_KEEP_TEST_DIRS`
/// is set (then its path is printed, for reading sipp traces and logs after a failure).
pub struct TestDir {
    _tmp: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl TestDir {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

pub fn test_dir(name: &str) -> TestDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("herald-{name}-"))
        .tempdir()
        .unwrap();
    if std::env::var_os("HERALD_KEEP_TEST_DIRS").is_some() {
        let path = dir.keep();
        eprintln!("test directory kept: {}", path.display());
        return TestDir { _tmp: None, path };
    }
    TestDir {
        path: dir.path().to_path_buf(),
        _tmp: Some(dir),
    }
}

/// Panics naming the package to install when `tool` is not on PATH.
pub fn require(tool: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("{tool} is not installed: run ./scripts/test.sh (it installs what the tests need) or apt-get install {package}")
    })
}

/// The `herald` binary, built once per test process.
pub fn herald_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_bin("herald", "herald"))
}

/// The `heraldctl` binary, built once per test process.
pub fn heraldctl_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_bin("heraldctl", "heraldctl"))
}

/// Builds binary `bin` of workspace package `package`; its path.
fn workspace_bin(package: &str, bin: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .current_dir(&root)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building {bin} failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target.join("debug").join(bin)
}

/// A free loopback port (UDP and TCP both free at the time of asking), never one this
/// test process handed out before, and below the kernel's ephemeral range (32768 and
/// up): a port from that range may be taken by any outgoing connection — to Redis, to
/// PostgreSQL, between pool nodes — before the server it was meant for binds it.
pub fn free_port() -> u16 {
    const FIRST: u32 = 10_000;
    const SPAN: u32 = 22_000;
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(u32::MAX);
    use std::sync::atomic::Ordering;
    // Test binaries of one run, and runs side by side, start at different places.
    let _ = NEXT.compare_exchange(
        u32::MAX,
        (std::process::id().wrapping_mul(7_919)) % SPAN,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..SPAN {
        let port = (FIRST + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN) as u16;
        let free = UdpSocket::bind(("127.0.0.1", port)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
        if free {
            return port;
        }
    }
    panic!("no free loopback port between {FIRST} and {}", FIRST + SPAN);
}

/// A running `herald` process with its data directory.
pub struct Server {
    child: Option<Child>,
    pub dir: PathBuf,
    pub env: HashMap<String, String>,
    /// The command (`frontend`, `homeserver`; none: the all-in-one server).
    pub args: Vec<String>,
    /// Bound address per transport name (udp, tcp, tls, ws, wss).
    pub addrs: HashMap<String, SocketAddr>,
    pub log: PathBuf,
}

pub const DOMAIN: &str = "example.com";

impl Server {
    /// Settings for a test server in `dir`: domain example.com, all listeners on fixed free
    /// loopback ports (so a restart binds the same ones), everything else default.
    pub fn settings(dir: &Path) -> HashMap<String, String> {
        let sip = free_port();
        let mut env = HashMap::new();
        let mut set = |k: &str, v: String| {
            env.insert(k.to_owned(), v);
        };
        set("HERALD_DATA_DIR", dir.display().to_string());
        set("HERALD_DOMAIN", DOMAIN.into());
        set("HERALD_UDP", format!("127.0.0.1:{sip}"));
        set("HERALD_TCP", format!("127.0.0.1:{sip}"));
        set("HERALD_TLS", format!("127.0.0.1:{}", free_port()));
        set("HERALD_WS", format!("127.0.0.1:{}", free_port()));
        set("HERALD_WSS", format!("127.0.0.1:{}", free_port()));
        set("HERALD_HTTP", format!("127.0.0.1:{}", free_port()));
        set("HERALD_XCAP", format!("127.0.0.1:{}", free_port()));
        set("HERALD_LOG", "info,herald_homeserver=debug".into());
        env
    }

    /// Starts a server with `settings(dir)` plus `extra`. Free ports are only free when
    /// asked: if another test's connection took one meanwhile, new ports are tried.
    pub fn start(dir: &Path, extra: &[(&str, &str)]) -> Server {
        let mut last = String::new();
        for _ in 0..5 {
            let mut env = Server::settings(dir);
            for (k, v) in extra {
                env.insert((*k).to_owned(), (*v).to_owned());
            }
            match Server::try_start_with(dir, env) {
                Ok(s) => return s,
                Err(log) if log.contains("Address already in use") => last = log,
                Err(log) => panic!("herald did not start; log:\n{log}"),
            }
        }
        panic!("herald did not start (ports taken five times); log:\n{last}")
    }

    /// Starts a server with exactly these settings (a restart passes the same ones).
    pub fn start_with(dir: &Path, env: HashMap<String, String>) -> Server {
        Server::try_start_with(dir, env)
            .unwrap_or_else(|log| panic!("herald did not start; log:\n{log}"))
    }

    /// Starts `herald ARGS` (a pool node) with exactly these settings.
    pub fn start_command(dir: &Path, args: &[&str], env: HashMap<String, String>) -> Server {
        Server::try_start(dir, args, env)
            .unwrap_or_else(|log| panic!("herald {args:?} did not start; log:\n{log}"))
    }

    /// Starts a server; on failure, its log.
    fn try_start_with(dir: &Path, env: HashMap<String, String>) -> Result<Server, String> {
        Server::try_start(dir, &[], env)
    }

    fn try_start(
        dir: &Path,
        args: &[&str],
        env: HashMap<String, String>,
    ) -> Result<Server, String> {
        let log = dir.join(format!("herald-{}.log", free_port()));
        let mut child = Command::new(herald_bin())
            .args(args)
            .envs(&env)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start herald");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut addrs = HashMap::new();
        loop {
            let line = match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(std::fs::read_to_string(&log).unwrap_or_default());
                }
            };
            if line == "ready" {
                break;
            }
            if let Some(rest) = line.strip_prefix("listening ") {
                let mut parts = rest.split_whitespace();
                let (name, addr) = (parts.next().unwrap(), parts.next().unwrap());
                addrs.insert(name.to_owned(), addr.parse().unwrap());
            }
        }
        Ok(Server {
            child: Some(child),
            dir: dir.to_path_buf(),
            env,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            addrs,
            log,
        })
    }

    pub fn addr(&self, transport: &str) -> SocketAddr {
        self.addrs[transport]
    }

    /// Runs `herald ARGS` against this server's data directory.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(herald_bin())
            .envs(&self.env)
            .args(args)
            .output()
            .expect("run herald CLI")
    }

    /// Adds a user with a password through the CLI.
    pub fn add_user(&self, user: &str, password: &str) {
        let out = self.cli(&["user", "add", user, "--password", password]);
        assert!(
            out.status.success(),
            "user add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The user's archive as JSON lines, once it holds at least `n` entries (archive
    /// records are written behind, within milliseconds); whatever is there after 3 s.
    pub fn archive(&self, user: &str, n: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        loop {
            let out = self.cli(&["archive", user]);
            assert!(out.status.success(), "herald archive failed");
            let lines: Vec<String> = String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect();
            if lines.len() >= n || std::time::Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Registers `user` over UDP with `register.xml` (digest included), with `contact`
    /// (`host:port`) as the device's address; panics with sipp's traces if it fails.
    pub fn register(&self, dir: &Path, name: &str, user: &str, password: &str, contact: &str) {
        let auth = auth_field(user, password);
        sipp::Sipp::new(dir, name, "register.xml")
            .to(self.addr("udp"))
            .fields(&[user, DOMAIN, &auth, contact])
            .run()
            .assert_ok(&format!("{user} registers {contact}"));
    }

    /// `from` (password `<from>-pw`) sends one MESSAGE to `to` over UDP with
    /// `message_uac.xml`, digest included; panics with sipp's traces unless it succeeds
    /// and the final answer is `status` (`"200 OK"`, `"202 Accepted"`).
    pub fn message(&self, dir: &Path, name: &str, from: &str, to: &str, status: &str) {
        let auth = auth_field(from, &format!("{from}-pw"));
        let sent = sipp::Sipp::new(dir, name, "message_uac.xml")
            .to(self.addr("udp"))
            .fields(&[from, DOMAIN, &auth, to])
            .run();
        sent.assert_ok(&format!("{from} sends to {to}"));
        assert!(
            sent.messages.contains(&format!("SIP/2.0 {status}")),
            "{from} to {to}: no {status}:\n{}",
            sent.messages
        );
    }

    /// `user` (password `<user>-pw`) registers a fresh device over UDP, which must then
    /// receive a MESSAGE from `from` (a stored one, delivered on registration); panics
    /// with sipp's traces otherwise. Returns what the device's sipp saw.
    pub fn receives_stored(&self, dir: &Path, user: &str, from: &str) -> sipp::Outcome {
        let (device, contact) =
            sipp::Sipp::new(dir, &format!("{user}-device"), "message_uas.xml").listen();
        self.register(
            dir,
            &format!("{user}-reg"),
            user,
            &format!("{user}-pw"),
            &contact,
        );
        let got = device.wait();
        got.assert_ok(&format!("{user}'s device receives the stored message"));
        assert!(
            got.messages
                .contains(&format!("From: <sip:{from}@{DOMAIN}>")),
            "{}",
            got.messages
        );
        got
    }

    /// Kills the process at once (no graceful shutdown): what is stored must survive this.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops with SIGTERM and waits; returns whether it exited cleanly.
    pub fn stop(&mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(st)) = c.try_wait() {
                return st.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        false
    }

    /// Freezes (SIGSTOP) or resumes (SIGCONT) the process: a node that stalls or is cut
    /// off for a while, then comes back with whatever it held.
    pub fn freeze(&self, frozen: bool) {
        let c = self.child.as_ref().expect("the server runs");
        let sig = if frozen { "-STOP" } else { "-CONT" };
        let st = Command::new("kill")
            .args([sig, &c.id().to_string()])
            .status()
            .expect("run kill");
        assert!(st.success(), "kill {sig} failed");
    }

    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The value of a Prometheus sample from `/metrics`, like
    /// `herald_refused_total{reason="banned_source"}`; 0 when absent.
    pub fn metric(&self, sample: &str) -> f64 {
        self.metrics_text()
            .lines()
            .filter_map(|l| l.strip_prefix(sample))
            .filter_map(|rest| rest.strip_prefix(' '))
            .filter_map(|v| v.trim().parse().ok())
            .next()
            .unwrap_or(0.0)
    }

    /// The whole `/metrics` answer (status line and headers included).
    pub fn metrics_text(&self) -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(self.addr("http")).expect("connect to /metrics");
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        assert!(
            text.starts_with("HTTP/1.0 200") || text.starts_with("HTTP/1.1 200"),
            "{text}"
        );
        text
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(80).collect();
            eprintln!("--- herald log (last {} lines) ---", tail.len());
            for l in tail.into_iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

/// The sipp-style authentication field for a user.
pub fn auth_field(user: &str, password: &str) -> String {
    format!("[authentication username={user} password={password}]")
}

/// A TLS client in front of a plain-TCP SIP peer: Debian's sipp is built without TLS, so
/// it talks TCP to this socat relay, which opens a real TLS connection to the server and
/// verifies the server's certificate against `cafile` (the development certificate the
/// server generated).
pub struct TlsRelay {
    child: Child,
    pub addr: SocketAddr,
}

impl TlsRelay {
    pub fn start(server_tls: SocketAddr, cafile: &Path) -> TlsRelay {
        let socat = require("socat", "socat");
        let port = free_port();
        let child = Command::new(socat)
            .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr"))
            .arg(format!(
                "OPENSSL:{server_tls},cafile={},verify=1",
                cafile.display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start socat");
        // Listening once our own bind of the port fails.
        for _ in 0..100 {
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsRelay {
            child,
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
        }
    }
}

impl Drop for TlsRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
