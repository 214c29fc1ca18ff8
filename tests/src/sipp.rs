//! Running sipp scenarios from `tests/scenarios/` with a one-line injection file.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{free_port, require};

/// The path of a scenario file.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

/// One sipp run.
pub struct Sipp {
    pub scenario: PathBuf,
    pub remote: Option<SocketAddr>,
    /// `u1` or `t1`.
    pub transport: &'static str,
    pub port: u16,
    /// The local address sipp binds (127.0.0.1 unless a test plays another source).
    pub local_ip: String,
    pub fields: Vec<String>,
    pub extra: Vec<String>,
    pub dir: PathBuf,
    pub name: String,
}

/// What a run left.
#[derive(Debug)]
pub struct Outcome {
    pub success: bool,
    pub messages: String,
    pub errors: String,
}

impl Outcome {
    /// Panics with the traces unless the scenario passed.
    pub fn assert_ok(&self, what: &str) {
        assert!(
            self.success,
            "{what}: sipp failed\nerrors:\n{}\nmessages:\n{}",
            self.errors, self.messages
        );
    }
}

pub struct Running {
    child: Child,
    sipp: Sipp,
}

impl Sipp {
    pub fn new(dir: &Path, name: &str, scenario_file: &str) -> Sipp {
        Sipp {
            scenario: scenario(scenario_file),
            remote: None,
            transport: "u1",
            port: free_port(),
            local_ip: "127.0.0.1".into(),
            fields: Vec::new(),
            extra: Vec::new(),
            dir: dir.to_path_buf(),
            name: name.to_owned(),
        }
    }

    pub fn to(mut self, remote: SocketAddr) -> Sipp {
        self.remote = Some(remote);
        self
    }

    /// `u1` (UDP) or `t1` (TCP; TLS goes through a [`crate::TlsRelay`]).
    pub fn transport(mut self, t: &'static str) -> Sipp {
        self.transport = t;
        self
    }

    /// Sends from `ip` (any 127.x.y.z address) instead of 127.0.0.1.
    pub fn from_ip(mut self, ip: &str) -> Sipp {
        self.local_ip = ip.to_owned();
        self
    }

    pub fn fields(mut self, f: &[&str]) -> Sipp {
        self.fields = f.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    pub fn arg(mut self, a: &str) -> Sipp {
        self.extra.push(a.to_owned());
        self
    }

    fn file(&self, what: &str) -> PathBuf {
        self.dir.join(format!("{}-{what}.log", self.name))
    }

    pub fn spawn(self) -> Running {
        let sipp = require("sipp", "sip-tester");
        let mut cmd = Command::new(sipp);
        if let Some(r) = self.remote {
            cmd.arg(r.to_string());
        }
        if !self.fields.is_empty() {
            let csv = self.dir.join(format!("{}.csv", self.name));
            std::fs::write(&csv, format!("SEQUENTIAL\n{}\n", self.fields.join(";"))).unwrap();
            cmd.arg("-inf").arg(csv);
        }
        cmd.args(["-sf", self.scenario.to_str().unwrap()])
            .args([
                "-t",
                self.transport,
                "-i",
                &self.local_ip,
                "-p",
                &self.port.to_string(),
            ])
            .args(["-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error"])
            .args(["-recv_timeout", "15s", "-trace_msg", "-trace_err"])
            .arg("-message_file")
            .arg(self.file("messages"))
            .arg("-error_file")
            .arg(self.file("errors"))
            .args(&self.extra)
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("start sipp");
        Running { child, sipp: self }
    }

    /// Starts a listening device (no remote) and returns it with its loopback address.
    pub fn listen(self) -> (Running, String) {
        let contact = format!("{}:{}", self.local_ip, self.port);
        (self.spawn().settle(), contact)
    }

    pub fn run(self) -> Outcome {
        self.spawn().wait()
    }
}

impl Running {
    /// Waits up to 40 s for sipp to finish.
    pub fn wait(mut self) -> Outcome {
        let deadline = Instant::now() + Duration::from_secs(40);
        let success = loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                break st.success();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break false;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        Outcome {
            success,
            messages: read(self.sipp.file("messages")),
            errors: read(self.sipp.file("errors")),
        }
    }

    /// Gives a listening sipp a moment to bind its socket.
    pub fn settle(self) -> Running {
        std::thread::sleep(Duration::from_millis(300));
        self
    }
}
