#!/usr/bin/env bash
# The whole test suite. Installs what the tests need when it is missing, then runs
# formatting and lint checks and every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
if ! need cargo; then
  echo "cargo is not installed: install Rust (rustup) first" >&2
  exit 1
fi

# Real SIP peers for the end-to-end tests (tests/): sipp (Debian sip-tester), baresip,
# socat (the TLS client in front of sipp, which Debian builds without TLS), and the
# scanner attackers use (sipvicious's svwar).
missing=()
need sipp || missing+=(sip-tester)
need baresip || missing+=(baresip)
need socat || missing+=(socat)
need svwar || missing+=(sipvicious)
# A real SMTP server for the notification tests.
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || missing+=(python3-aiosmtpd)
# Offline checks of the deployment files (no Docker engine needed).
need docker-compose || missing+=(docker-compose)
# The benchmark's peer (bench/compare), run here as a smoke test.
need kamailio || missing+=(kamailio)
kam_module() { compgen -G "/usr/lib/*/kamailio/modules/$1" >/dev/null; }
kam_module presence.so || missing+=(kamailio-presence-modules)
kam_module tls.so || missing+=(kamailio-tls-modules)
need openssl || missing+=(openssl)
if ((${#missing[@]})); then
  echo "installing ${missing[*]} for the end-to-end tests" >&2
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# schemathesis (PyPI) fuzzes the admin API from its OpenAPI document; kept in a venv
# under target/ so nothing is installed system-wide.
st_venv=target/tools/schemathesis
if [ ! -x "$st_venv/bin/st" ]; then
  echo "installing schemathesis into $st_venv for the API fuzz test" >&2
  python3 -m venv "$st_venv"
  "$st_venv/bin/pip" install -q 'schemathesis==4.32.5'
fi

kv_venv=target/tools/kubernetes-validate
if [ ! -x "$kv_venv/bin/kubernetes-validate" ]; then
  echo "installing kubernetes-validate into $kv_venv for the manifest checks" >&2
  python3 -m venv "$kv_venv"
  "$kv_venv/bin/pip" install -q 'kubernetes-validate==1.37.0'
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked

# The benchmarks still run end to end (seconds, tiny rates; never timed here): Herald
# beside Kamailio under sipp, and the presence load generator.
BENCH_PROFILE=debug bench/compare/run.sh --smoke
BENCH_PROFILE=debug bench/presence/run.sh --smoke
