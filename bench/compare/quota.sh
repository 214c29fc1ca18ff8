# Sourced by run.sh for --quota PCT: the server under test runs in a CPU cgroup of its own
# held to PCT % of one core (CFS bandwidth: PCT ms of every 100 ms, over all its threads
# and processes together). On two cores sipp itself needs most of a core near 25,000
# REGISTER calls/s, so a pinned run there can stop where the generator does; with the
# server held to part of a core, each server stops where its own CPU does, and the ratio
# is the two servers' throughput on the same CPU budget.
#
# Sets QUOTA_SERVER (a command prefix that puts what it runs into the cgroup) and CGROUP
# (removed by quota_cleanup). cgroup v2 (cpu.max) where the cpu controller is there,
# else v1 (cpu.cfs_quota_us). Needs root.

quota_setup() { # quota_setup PCT
  local pct=$1 v2=/sys/fs/cgroup v1=/sys/fs/cgroup/cpu
  [[ $pct =~ ^[0-9]+$ ]] && ((pct >= 5 && pct <= 200)) ||
    { echo "--quota $pct: give a percentage of one core, 5 to 200" >&2; exit 64; }
  if [ "$(id -u)" != 0 ]; then echo "--quota needs root (it makes a cgroup)" >&2; exit 77; fi
  if grep -qw cpu "$v2/cgroup.controllers" 2>/dev/null; then
    grep -qw cpu "$v2/cgroup.subtree_control" || echo +cpu > "$v2/cgroup.subtree_control"
    CGROUP=$v2/herald-bench-$$
    mkdir "$CGROUP"
    echo "$((pct * 1000)) 100000" > "$CGROUP/cpu.max"
  elif [ -f "$v1/cpu.cfs_quota_us" ]; then
    CGROUP=$v1/herald-bench-$$
    mkdir "$CGROUP"
    echo 100000 > "$CGROUP/cpu.cfs_period_us"
    echo "$((pct * 1000))" > "$CGROUP/cpu.cfs_quota_us"
  else
    echo "--quota: no cgroup CPU controller found under /sys/fs/cgroup (v2 cpu or v1 cpu)" >&2
    exit 69
  fi
  # The shell moves itself into the cgroup, then becomes the server: its threads and the
  # processes it forks (Kamailio's workers) stay there.
  QUOTA_SERVER=(sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CGROUP")
}

quota_cleanup() {
  [ -n "${CGROUP:-}" ] && [ -d "$CGROUP" ] || return 0
  # Processes still inside (none after a clean stop) keep it from going.
  rmdir "$CGROUP" 2>/dev/null || echo "could not remove $CGROUP (processes left in it?)" >&2
}
