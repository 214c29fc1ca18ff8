//! Private Redis and PostgreSQL instances for tests: started from the binaries on PATH
//! (PostgreSQL also from /usr/lib/postgresql/*/bin) on free loopback ports, with their
//! data in the test's directory, so a test can stop, kill and restart them. PostgreSQL
//! refuses to run as root; as root it runs as the `postgres` system user (setpriv).

use std::{
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::free_port;

/// A Redis server of one test.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

impl Redis {
    /// Starts `redis-server` in `dir/redis` (nothing saved to disk).
    pub fn start(dir: &Path) -> Redis {
        let dir = dir.join("redis");
        std::fs::create_dir_all(&dir).unwrap();
        let mut r = Redis {
            child: None,
            port: free_port(),
            dir,
        };
        r.restart();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts it again on the same port (after [`Redis::kill`]).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "redis is running");
        let bin = crate::require("redis-server", "redis-server");
        let child = Command::new(bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(std::fs::File::create(self.dir.join("redis.log")).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        wait_listening(self.port, "redis-server");
    }

    /// Kills it at once (its data is gone: Redis here keeps nothing on disk).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A PostgreSQL cluster of one test.
pub struct Postgres {
    child: Option<Child>,
    pub port: u16,
    data: PathBuf,
    bin: PathBuf,
}

impl Postgres {
    /// `initdb` in `dir/pg` (trust authentication, user `postgres`), then starts it.
    pub fn start(dir: &Path) -> Postgres {
        let bin = pg_bin_dir();
        let root = dir.join("pg");
        std::fs::create_dir_all(&root).unwrap();
        as_postgres_owner(&root);
        let data = root.join("data");
        let out = pg_command(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut p = Postgres {
            child: None,
            port: free_port(),
            data,
            bin,
        };
        p.restart();
        p
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server on the same port and data (after [`Postgres::kill`]).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "postgres is running");
        let log = self.data.parent().unwrap().join("postgres.log");
        let child = pg_command(&self.bin.join("postgres"))
            .arg("-D")
            .arg(&self.data)
            .args([
                "-p",
                &self.port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
            ])
            .arg("-k")
            .arg(self.data.parent().unwrap())
            .args(["-c", "fsync=off", "-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("start postgres");
        self.child = Some(child);
        wait_listening(self.port, "postgres");
        // Accepting TCP is not accepting queries: wait for the end of recovery.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "postgres did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server at once (SIGKILL); its data stays for [`Postgres::restart`].
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            // The postmaster's children notice and leave; wait until the port is free.
            let deadline = Instant::now() + Duration::from_secs(10);
            while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = std::fs::remove_file(self.data.join("postmaster.pid"));
        }
    }
}

impl Postgres {
    /// Stops the server the way an operator does (fast shutdown: SIGINT), so its
    /// processes exit and are reaped; SIGKILL after 10 s.
    pub fn stop(&mut self) {
        let Some(c) = &mut self.child else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-INT", &c.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                self.child = None;
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        self.kill();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The directory with initdb and postgres: on PATH, else the newest under
/// /usr/lib/postgresql.
fn pg_bin_dir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    found.retain(|d| d.join("initdb").exists());
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!("PostgreSQL is not installed: run ./scripts/test.sh or apt-get install postgresql")
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL program, run as the `postgres` user when we are root (setpriv execs it,
/// so the process we hold is postgres itself and a kill reaches it).
fn pg_command(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid",
            "postgres",
            "--regid",
            "postgres",
            "--init-groups",
            "--",
        ])
        .arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// As root: hands `dir` (and the way to it) to the `postgres` user.
fn as_postgres_owner(dir: &Path) {
    if !is_root() {
        return;
    }
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir)
        .status()
        .expect("chown");
    assert!(status.success(), "chown postgres {}", dir.display());
    // Parents must be traversable by postgres (temporary directories are 0700).
    let mut p = dir.parent();
    while let Some(d) = p {
        if d == Path::new("/") {
            break;
        }
        let _ = Command::new("chmod").arg("o+x").arg(d).status();
        p = d.parent();
    }
}

fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

impl Postgres {
    /// Creates database `name`; its URL.
    pub fn create_database(&self, name: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args([
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                &format!("CREATE DATABASE {name}"),
            ])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "CREATE DATABASE {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}
