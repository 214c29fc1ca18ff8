#!/usr/bin/env bash
# Runs the parser comparison and prints one table: median ns per operation for each crate,
# and each competitor's time as a multiple of herald-sip's. Then allocation counts.
# Usage: bench/parsers/run.sh [measurement-seconds]
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-3}"
cargo test --release -q >/dev/null
cargo bench --bench parsers -- --warm-up-time 1 --measurement-time "$secs" >/tmp/herald-bench-parsers.log 2>&1 \
  || { cat /tmp/herald-bench-parsers.log; exit 1; }
python3 - <<'PY'
import json, pathlib
root = pathlib.Path("target/criterion")
crates = ["herald-sip", "sipx-sip", "rsip"]
def median(group, crate):
    p = root / group / crate / "new" / "estimates.json"
    return json.loads(p.read_text())["median"]["point_estimate"]
print(f"{'operation':<26}" + "".join(f"{c:>14}" for c in crates) + f"{'sipx/herald':>13}{'rsip/herald':>13}")
for op in ["parse_typed", "serialize"]:
    for msg in ["register", "invite_sdp", "notify_pidf"]:
        g = f"{op}/{msg}"
        t = [median(g.replace("/", "_"), c) if (root / g.replace("/", "_")).exists() else median(g, c) for c in crates]
        print(f"{g:<26}" + "".join(f"{x:>11.0f} ns" for x in t) + f"{t[1]/t[0]:>12.2f}x{t[2]/t[0]:>12.2f}x")
PY
echo
cargo run --release -q --bin allocs | column -t
