//! The admin API from the outside: tokens made with `herald token create`, and the real
//! `heraldctl` binary run against a test server.

use std::{path::Path, process::Command};

use serde_json::Value;

use crate::{heraldctl_bin, Server};

impl Server {
    /// A new admin API token (through the server's own CLI).
    pub fn token(&self) -> String {
        let out = self.cli(&["token", "create", &format!("t{}", crate::free_port())]);
        assert!(
            out.status.success(),
            "token create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// The admin API's base URL.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr("api"))
    }
}

/// `heraldctl` pointed at one server with one token.
pub struct Ctl {
    pub url: String,
    pub token: String,
}

/// What a `heraldctl` run printed and how it ended.
pub struct CtlRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CtlRun {
    /// Panics (with the output) unless the command succeeded.
    pub fn ok(self, what: &str) -> CtlRun {
        assert_eq!(
            self.code,
            Some(0),
            "{what}: heraldctl failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

impl Ctl {
    pub fn new(s: &Server) -> Ctl {
        Ctl {
            url: s.api_url(),
            token: s.token(),
        }
    }

    /// Runs `heraldctl ARGS` (server and token from the environment, as scripts do).
    pub fn run(&self, args: &[&str]) -> CtlRun {
        let out = Command::new(heraldctl_bin())
            .env("HERALDCTL_SERVER", &self.url)
            .env("HERALDCTL_TOKEN", &self.token)
            .env("HERALDCTL_CONFIG", "/dev/null")
            .args(args)
            .output()
            .expect("run heraldctl");
        CtlRun {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Writes `text` to `dir/name`; the path as a string (for arguments).
    pub fn file(dir: &Path, name: &str, text: &str) -> String {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }
}
