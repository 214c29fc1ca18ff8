//! The SIP core stays free of I/O: no async runtime or networking crate in its dependency
//! tree, and no clock reads in its library code (time comes in as arguments).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{fs, path::Path, process::Command};

const FORBIDDEN_CRATES: [&str; 9] = [
    "tokio",
    "mio",
    "socket2",
    "async-std",
    "smol",
    "hyper",
    "reqwest",
    "tonic",
    "futures-io",
];

#[test]
fn dependency_tree_has_no_runtime_or_networking() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "herald-sip",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).expect("utf8");
    let names: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        names.contains(&"herald-sip"),
        "unexpected cargo tree output:\n{tree}"
    );
    for bad in FORBIDDEN_CRATES {
        assert!(
            !names.contains(&bad),
            "herald-sip depends on {bad}:\n{tree}"
        );
    }
}

#[test]
fn library_code_reads_no_clock() {
    let mut offenders = Vec::new();
    visit(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut offenders,
    );
    assert!(
        offenders.is_empty(),
        "clock reads in sip/src: {offenders:#?}"
    );
}

fn visit(dir: &Path, offenders: &mut Vec<String>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            visit(&path, offenders);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path).expect("read file");
            for (i, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if [
                    "Instant::now",
                    "SystemTime::now",
                    "UNIX_EPOCH.elapsed",
                    "UdpSocket",
                    "TcpStream",
                    "TcpListener",
                    "std::fs::",
                ]
                .iter()
                .any(|p| code.contains(p))
                {
                    offenders.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                }
            }
        }
    }
}
