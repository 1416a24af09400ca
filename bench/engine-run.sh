#!/usr/bin/env bash
# `berth run --rm busybox true` vs `podman run --rm busybox true`, the same busybox image
# imported into both (no registry), both engines each round in random order. Three shapes:
#   1. --network=none, sequential rounds: median and ratio (target: berth <= 1/15 of podman)
#   2. the default bridge network of each engine (berth's bridge vs podman's netavark)
#   3. N sequential runs back to back, and P parallel runs at once: wall time of each batch
#      (each batch 3 times by default, the engines in random order each time; the medians)
# Usage: bench/engine-run.sh [rounds=30] [sequential=100] [parallel=20] [batches=3]. Run as root.
# Both engines use stores of their own in a temp dir: nothing of the user's is touched.
# podman runs crun, which needs hugetlb on v1 on this hybrid host (bench/lib/hugetlb_v1.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-30}
SEQ=${2:-100}
PAR=${3:-20}
BATCHES=${4:-3}
BERTH_BIN=$(readlink -f build/berth)
[ -x "$BERTH_BIN" ] || { echo "build first: scripts/build.sh"; exit 1; }
for t in podman busybox python3; do command -v $t >/dev/null || { echo "missing $t (scripts/install-deps.sh)"; exit 1; }; done

WORK=$(mktemp -d /tmp/berth-bench-engine-XXXXXX)
. bench/lib/hugetlb_v1.sh
# Runtime state on a tmpfs for both engines, as their defaults (/run/berth, podman's
# /run/containers/storage) are on a systemd host; stores on the disk, as /var/lib would be.
# (This machine's /run is on its ext4 root: without this, per-run state files would go
# through ext4's no-journal inode and discard paths that a standard host never takes.)
mkdir -p "$WORK/run"
mount -t tmpfs -o mode=0700 berth-bench-run "$WORK/run"
B=("$BERTH_BIN" --root "$WORK/berth-root" --state "$WORK/run/berth")
# podman: its own storage, run dir and a containers.conf with rlimits this host can grant.
cat >"$WORK/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF="$WORK/containers.conf"
P=(podman --root "$WORK/podman-root" --runroot "$WORK/run/podman" --tmpdir "$WORK/run/podman-tmp" --storage-driver overlay)
cleanup() {
  set +e
  "${B[@]}" rm -f $("${B[@]}" ps -aq 2>/dev/null) >/dev/null 2>&1
  "${B[@]}" network prune >/dev/null 2>&1
  "${P[@]}" rm -af >/dev/null 2>&1
  "${P[@]}" system reset -f >/dev/null 2>&1
  umount -R "$WORK"/* 2>/dev/null
  umount "$WORK/run" 2>/dev/null
  rm -rf "$WORK"
  hugetlb_back
}
trap cleanup EXIT
hugetlb_to_v1

mkdir -p "$WORK/rootfs"/{bin,proc,sys,dev,etc,tmp}
cp /bin/busybox "$WORK/rootfs/bin/"
for a in sh true echo sleep; do ln -s busybox "$WORK/rootfs/bin/$a"; done
tar -C "$WORK/rootfs" -cf "$WORK/busybox.tar" .
"${B[@]}" import "$WORK/busybox.tar" busybox >/dev/null
"${P[@]}" import -q "$WORK/busybox.tar" localhost/busybox >/dev/null

# Timing: bench/lib/spawn_timer.py starts each command with posix_spawn, no shell. Timing
# `$cmd` from bash with $EPOCHREALTIME paid for bash's own fork + exec every time (~3 ms per
# command here, in both engines' figures); each round runs the two engines in random order.
TIMER=(python3 bench/lib/spawn_timer.py)
BQ=$(printf '%q ' "${B[@]}")
PQ=$(printf '%q ' "${P[@]}")

shape() { # label berth-args podman-args rounds -> report line
  local out mb mp
  out=$("${TIMER[@]}" alternate "$4" "berth=$BQ run --rm $2 busybox true" \
    "podman=$PQ run --rm $3 localhost/busybox true")
  mb=$(awk '$1 == "berth" {print $2}' <<<"$out")
  mp=$(awk '$1 == "podman" {print $2}' <<<"$out")
  [ "$1" = warm ] && return
  printf 'run --rm, network %-10s berth %8.1f ms   podman %8.1f ms   berth/podman %.3f (1/%.1f)\n' "$1" \
    "$(echo "$mb * 1000" | bc -l)" "$(echo "$mp * 1000" | bc -l)" \
    "$(echo "$mb / $mp" | bc -l)" "$(echo "$mp / $mb" | bc -l)"
}

echo "warming up"
shape warm "--network none" "--network none" 1
shape warm "" "" 1
echo "run --rm true: $ROUNDS rounds per shape, the two engines in random order each round"
shape none "--network none" "--network none" "$ROUNDS"
shape bridge "" "" "$ROUNDS"

batch() { # label count berth-seconds podman-seconds
  printf '%-28s berth %8.2f s    podman %8.2f s    berth/podman %.3f (1/%.1f)\n' "$1" \
    "$2" "$3" "$(echo "$2 / $3" | bc -l)" "$(echo "$3 / $2" | bc -l)"
}
# Each batch BATCHES times, the engines in random order each time: the median batch of each.
batches() { # label mode count
  local out
  out=$("${TIMER[@]}" batches "$BATCHES" "$2" "$3" \
    "berth=$BQ run --rm --network none busybox true" \
    "podman=$PQ run --rm --network none localhost/busybox true")
  batch "$1" "$(awk '$1 == "berth" {print $2}' <<<"$out")" \
    "$(awk '$1 == "podman" {print $2}' <<<"$out")"
}
echo "batches: $BATCHES of each, the two engines in random order each time, medians"
batches "$SEQ sequential" sequential "$SEQ"
batches "$PAR parallel" parallel "$PAR"
left=$("${B[@]}" ps -aq | wc -l)
[ "$left" = 0 ] || echo "warning: $left berth containers left"
