//! The deployment files check out offline: docker-compose.yml with `docker-compose
//! config` (Debian's docker-compose; no Docker engine needed) and the Kubernetes
//! manifests in deploy/k8s with kubernetes-validate (PyPI, strict schemas). Each check is
//! shown to fail on a broken file, and every setting the files use is one the server has.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::PathBuf, process::Command};

use herald_tests::{herald_bin, require, test_dir};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn kubernetes_validate() -> PathBuf {
    let local = root().join("target/tools/kubernetes-validate/bin/kubernetes-validate");
    if local.exists() {
        return local;
    }
    require(
        "kubernetes-validate",
        "kubernetes-validate (pip; ./scripts/test.sh installs it)",
    )
}

#[test]
fn docker_compose_file_is_valid_and_names_the_whole_pool() {
    let compose = require("docker-compose", "docker-compose");
    let run = |file: &PathBuf, secret: bool| {
        let mut c = Command::new(&compose);
        c.arg("-f").arg(file).arg("config").current_dir(root());
        if secret {
            c.env("HERALD_NONCE_SECRET", "ab".repeat(32));
        } else {
            c.env_remove("HERALD_NONCE_SECRET");
        }
        c.output().expect("run docker-compose")
    };
    let file = root().join("docker-compose.yml");
    let out = run(&file, true);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for service in [
        "postgres:",
        "redis:",
        "hs1:",
        "hs2:",
        "hs3:",
        "fe1:",
        "fe2:",
        "lb:",
    ] {
        assert!(
            text.contains(&format!("  {service}")),
            "{service} missing:\n{text}"
        );
    }
    assert!(text.contains("homeserver") && text.contains("frontend"));
    let without = run(&file, false);
    assert!(!without.status.success(), "the nonce secret is required");
    assert!(String::from_utf8_lossy(&without.stderr).contains("HERALD_NONCE_SECRET"));
    // A broken file fails.
    let dir = test_dir("deploy-compose");
    let broken = dir.path().join("docker-compose.yml");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("restart: unless-stopped", "restart: [");
    std::fs::write(&broken, text).unwrap();
    assert!(
        !run(&broken, true).status.success(),
        "a broken file is refused"
    );
}

#[test]
fn kubernetes_manifests_are_valid() {
    let kv = kubernetes_validate();
    let k8s = root().join("deploy/k8s");
    let files: Vec<PathBuf> = std::fs::read_dir(&k8s)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    assert!(files.len() >= 4, "{files:?}");
    let check = |files: &[PathBuf]| {
        Command::new(&kv)
            .args(["-k", "1.30.0", "--strict"])
            .args(files)
            .output()
            .expect("run kubernetes-validate")
    };
    let out = check(&files);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    for kind in [
        "deployment/herald-frontend",
        "deployment/herald-homeserver",
        "poddisruptionbudget/",
        "service/herald-sip-udp",
        "configmap/herald",
        "secret/herald-tls",
    ] {
        assert!(text.contains(kind), "{kind} not validated:\n{text}");
    }
    // Probes and drain are there.
    let fe = std::fs::read_to_string(k8s.join("frontend.yaml")).unwrap();
    for needle in [
        "readinessProbe",
        "livenessProbe",
        "/readyz",
        "/healthz",
        "preStop",
        "terminationGracePeriodSeconds",
        "protocol: UDP",
    ] {
        assert!(fe.contains(needle), "{needle} missing in frontend.yaml");
    }
    // A broken manifest fails.
    let dir = test_dir("deploy-k8s");
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, fe.replace("replicas: 2", "replicas: two")).unwrap();
    assert!(
        !check(&[broken]).status.success(),
        "a broken manifest is refused"
    );
}

#[test]
fn the_deployment_files_use_real_commands_and_settings() {
    let help = Command::new(herald_bin()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("frontend") && help.contains("homeserver"),
        "{help}"
    );
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut files = vec![
        root().join("docker-compose.yml"),
        root().join("deploy/Dockerfile"),
    ];
    files.extend(
        std::fs::read_dir(root().join("deploy/k8s"))
            .unwrap()
            .flatten()
            .map(|e| e.path()),
    );
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, _) in text.match_indices("HERALD_") {
            let name: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            if name == "HERALD_PUBLIC_HOST" {
                continue; // the compose file's own variable
            }
            assert!(
                readme.contains(&format!("`{name}`")),
                "{} uses {name}, which the README's settings do not name",
                f.display()
            );
        }
    }
}
