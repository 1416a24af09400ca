#!/usr/bin/env bash
# Throughput container -> host over berth's default bridge vs host loopback, with busybox nc.
# A "container" here is a network namespace attached by `berth network connect --netns`
# (the engine's `run` attaches the same way). Run as root. Usage:
#   bench/net_throughput.sh [MiB per run (default 512)] [runs (default 3)]
# Env: BERTH=path to the berth binary (default build/berth), BUSYBOX (default /bin/busybox).
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=${1:-512}
RUNS=${2:-3}
BERTH=${BERTH:-build/berth}
BB=${BUSYBOX:-/bin/busybox}
PORT=${PORT:-39123}

root=$(mktemp -d /tmp/berth-bench-net-XXXXXX)
ns="berth-bench-$$"
cleanup() {
  "$BERTH" --root "$root" network disconnect bridge bench >/dev/null 2>&1 || true
  "$BERTH" --root "$root" network prune >/dev/null 2>&1 || true  # the idle bridge and rules
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT

ip netns add "$ns"
"$BERTH" --root "$root" network connect --netns "/run/netns/$ns" bridge bench >/dev/null
gw=$(ip -n "$ns" route show default | awk '{print $3}')

# Seconds to move $MIB MiB from a sender (run by "$@") to a listener on the host, at $addr.
# Fails when the listener did not get every byte.
transfer() {
  local addr=$1
  shift
  local got="$root/got"
  rm -f "$got"
  # -e: the listener's own stdin (EOF at once in the background) does not end the session.
  timeout 120 "$BB" nc -l -p "$PORT" -e sh -c "wc -c >$got" </dev/null &
  local srv=$!
  sleep 0.3
  local t0 t1
  t0=$(date +%s.%N)
  "$@" sh -c "dd if=/dev/zero bs=1M count=$MIB 2>/dev/null | $BB nc $addr $PORT"
  wait "$srv" || true
  t1=$(date +%s.%N)
  if [ "$(cat "$got")" != "$((MIB * 1048576))" ]; then
    echo "transfer to $addr failed: got $(cat "$got") bytes" >&2
    exit 1
  fi
  echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}'
}

declare -a bridge_mbs loop_mbs
for ((i = 0; i < RUNS; i++)); do
  # Alternate, so that load from other work on the machine hits both alike.
  s=$(transfer "$gw" ip netns exec "$ns")
  bridge_mbs+=("$(awk -v m="$MIB" -v s="$s" 'BEGIN{printf "%.0f", m / s}')")
  s=$(transfer 127.0.0.1 env)
  loop_mbs+=("$(awk -v m="$MIB" -v s="$s" 'BEGIN{printf "%.0f", m / s}')")
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
b=$(median "${bridge_mbs[@]}")
l=$(median "${loop_mbs[@]}")
echo "container->host over the bridge: ${bridge_mbs[*]} MiB/s (median $b)"
echo "host loopback:                   ${loop_mbs[*]} MiB/s (median $l)"
awk -v b="$b" -v l="$l" 'BEGIN{printf "bridge / loopback: %.1f%% (target: at least 90%%)\n", 100 * b / l}'
