#!/usr/bin/env bash
# `berth run --rm busybox true` vs `podman run --rm busybox true`, the same busybox image
# imported into both (no registry), alternating engine each round. Three shapes:
#   1. --network=none, sequential rounds: median and ratio (target: berth <= 1/15 of podman)
#   2. the default bridge network of each engine (berth's bridge vs podman's netavark)
#   3. N sequential runs back to back, and P parallel runs at once: wall time of each batch
# Usage: bench/engine-run.sh [rounds=30] [sequential=100] [parallel=20]. Run as root.
# Both engines use stores of their own in a temp dir: nothing of the user's is touched.
# podman runs crun, which needs hugetlb on v1 on this hybrid host (bench/lib/hugetlb_v1.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-30}
SEQ=${2:-100}
PAR=${3:-20}
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

# Timestamps from bash's own clock ($EPOCHREALTIME, microseconds): a `date` fork per stamp
# would add ~3 ms of the bench's own to every berth figure.
# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

one_round() { # label berth-args podman-args
  local t0 t1
  t0=$EPOCHREALTIME; "${B[@]}" run --rm $2 busybox true; t1=$EPOCHREALTIME
  echo "$t1 - $t0" | bc -l >>"$WORK/$1.berth"
  t0=$EPOCHREALTIME; "${P[@]}" run --rm $3 localhost/busybox true; t1=$EPOCHREALTIME
  echo "$t1 - $t0" | bc -l >>"$WORK/$1.podman"
}

report() { # shape (none|bridge)
  local mb mp
  mb=$(median <"$WORK/$1.berth")
  mp=$(median <"$WORK/$1.podman")
  printf 'run --rm, network %-10s berth %8.1f ms   podman %8.1f ms   berth/podman %.3f (1/%.1f)\n' "$1" \
    "$(echo "$mb * 1000" | bc -l)" "$(echo "$mp * 1000" | bc -l)" \
    "$(echo "$mb / $mp" | bc -l)" "$(echo "$mp / $mb" | bc -l)"
}

echo "warming up"
one_round warm "--network none" "--network none" >/dev/null
one_round warm "" "" >/dev/null
rm -f "$WORK"/warm.*
echo "run --rm true: $ROUNDS alternating rounds per shape"
for i in $(seq "$ROUNDS"); do one_round none "--network none" "--network none"; done
report none
for i in $(seq "$ROUNDS"); do one_round bridge "" ""; done
report bridge

batch() { # engine-name then command...
  local t0 t1
  t0=$EPOCHREALTIME
  "$@"
  t1=$EPOCHREALTIME
  echo "$t1 - $t0" | bc -l
}
seq_berth() { for i in $(seq "$SEQ"); do "${B[@]}" run --rm --network none busybox true; done; }
seq_podman() { for i in $(seq "$SEQ"); do "${P[@]}" run --rm --network none localhost/busybox true; done; }
par_berth() {
  for i in $(seq "$PAR"); do "${B[@]}" run --rm --network none busybox true & done
  wait
}
par_podman() {
  for i in $(seq "$PAR"); do "${P[@]}" run --rm --network none localhost/busybox true & done
  wait
}
sb=$(batch seq_berth); sp=$(batch seq_podman)
printf '%-28s berth %8.2f s    podman %8.2f s    berth/podman %.3f (1/%.1f)\n' "$SEQ sequential" \
  "$sb" "$sp" "$(echo "$sb / $sp" | bc -l)" "$(echo "$sp / $sb" | bc -l)"
pb=$(batch par_berth); pp=$(batch par_podman)
printf '%-28s berth %8.2f s    podman %8.2f s    berth/podman %.3f (1/%.1f)\n' "$PAR parallel" \
  "$pb" "$pp" "$(echo "$pb / $pp" | bc -l)" "$(echo "$pp / $pb" | bc -l)"
left=$("${B[@]}" ps -aq | wc -l)
[ "$left" = 0 ] || echo "warning: $left berth containers left"
