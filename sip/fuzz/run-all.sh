#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) one after another, with the committed
# seeds as a second corpus directory. Needs cargo-fuzz; see README.md.
set -uo pipefail
cd "$(dirname "$0")"
secs="${1:-600}"
for t in parse_roundtrip framer uri digest_header; do
  mkdir -p "corpus/$t"
  echo "== $t for ${secs}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len=8192 -print_final_stats=1 \
    || echo "!! $t stopped with a finding: see artifacts/$t"
done
