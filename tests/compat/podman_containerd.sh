#!/usr/bin/env bash
# berth-runtime as a drop-in for runc under real podman and real containerd (Debian's).
# Each gets private state: podman its own storage, run root and containers.conf (with
# default_ulimits below this host's hard limits, which no runtime can exceed without
# CAP_SYS_RESOURCE); containerd its own config, socket, root and state dirs.
# Usage: podman_containerd.sh /path/to/berth-runtime
set -uo pipefail
RUNTIME=$(readlink -f "${1:?path to berth-runtime}")
BUSYBOX=/bin/busybox
WORK=$(mktemp -d /tmp/berth-test-compat-XXXXXX)
failures=0
pass() { echo "ok   - $1"; }
fail() { echo "FAIL - $1"; failures=$((failures + 1)); }
# check NAME EXPECTED ACTUAL
check() { if [ "$2" == "$3" ]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi; }

cleanup() {
  [ -n "${CTD_PID:-}" ] && kill "$CTD_PID" 2>/dev/null && wait "$CTD_PID" 2>/dev/null
  pkill -f "containerd-shim-runc-v2 -namespace compattest" 2>/dev/null
  $P rm -a -f >/dev/null 2>&1
  $P unshare true >/dev/null 2>&1
  # podman and containerd leave overlay mounts in their private roots on some paths.
  grep -o " $WORK[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$WORK"
  # The parents podman (cgroupfs manager) and containerd (its namespace) asked for.
  for d in /sys/fs/cgroup/*/compattest /sys/fs/cgroup/*/libpod_parent; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
}
trap cleanup EXIT

# A busybox image both engines can use.
mkdir -p "$WORK/rootfs"/{bin,proc,sys,dev,etc,tmp}
cp "$BUSYBOX" "$WORK/rootfs/bin/busybox"
for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -s busybox "$WORK/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home:/bin/sh\n' >"$WORK/rootfs/etc/passwd"

# --- podman -----------------------------------------------------------------------------
cat >"$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "berth"
[engine.runtimes]
berth = ["$RUNTIME"]
CONF
export CONTAINERS_CONF="$WORK/containers.conf"
P="podman --root $WORK/storage --runroot $WORK/run --tmpdir $WORK/tmp"
tar -C "$WORK/rootfs" -c . | $P import - localhost/busybox >/dev/null 2>&1 || { echo "podman import failed"; exit 1; }
R="$P run --rm --network none localhost/busybox"

check "podman: echo" "hello" "$($R echo hello 2>&1)"
$R sh -c 'exit 3' >/dev/null 2>&1
check "podman: exit code" "3" "$?"
check "podman: hostname" "h1" "$($P run --rm --network none --hostname h1 localhost/busybox hostname 2>&1)"
check "podman: --user" "1000:1000" "$($P run --rm --network none --user 1000:1000 localhost/busybox sh -c 'echo $(id -u):$(id -g)' 2>&1)"
check "podman: -e" "bar" "$($P run --rm --network none -e FOO=bar localhost/busybox sh -c 'echo $FOO' 2>&1)"
check "podman: --memory --pids-limit" "67108864 30" "$($P run --rm --network none --memory 64m --pids-limit 30 localhost/busybox sh -c 'echo $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) $(cat /sys/fs/cgroup/pids/pids.max)' 2>&1)"
check "podman: --read-only" "Read-only file system" "$($P run --rm --network none --read-only localhost/busybox sh -c 'touch /x 2>&1 | grep -o "Read-only file system"' 2>&1)"
$P run -d --name bc1 --network none localhost/busybox sleep 300 >/dev/null 2>&1
check "podman: -d running" "running" "$($P inspect -f '{{.State.Status}}' bc1 2>&1)"
check "podman: exec sees the container" "1 sleep" "$($P exec bc1 sh -c 'ps -o pid,comm | grep sleep | tr -s " " | sed "s/^ //"' 2>&1)"
$P pause bc1 >/dev/null 2>&1
check "podman: pause" "paused" "$($P inspect -f '{{.State.Status}}' bc1 2>&1)"
$P unpause bc1 >/dev/null 2>&1
check "podman: unpause" "running" "$($P inspect -f '{{.State.Status}}' bc1 2>&1)"
$P stop -t 1 bc1 >/dev/null 2>&1
check "podman: stop" "exited" "$($P inspect -f '{{.State.Status}}' bc1 2>&1)"
$P rm bc1 >/dev/null 2>&1
check "podman: rm" "" "$($P ps -a -q 2>&1)"
tty_out=$(script -qec "$P run --rm -t --network none localhost/busybox tty" /dev/null 2>&1 | tr -d '\r')
check "podman: -t gives a terminal" "/dev/pts/0" "$tty_out"

# --- containerd ---------------------------------------------------------------------------
cat >"$WORK/containerd.toml" <<CONF
version = 2
root = "$WORK/ctd/root"
state = "$WORK/ctd/state"
[grpc]
  address = "$WORK/ctd/containerd.sock"
CONF
containerd --config "$WORK/containerd.toml" >"$WORK/containerd.log" 2>&1 &
CTD_PID=$!
C="ctr -a $WORK/ctd/containerd.sock -n compattest"
for _ in $(seq 50); do [ -S "$WORK/ctd/containerd.sock" ] && $C version >/dev/null 2>&1 && break; sleep 0.1; done
$P save --format oci-archive -o "$WORK/busybox.tar" localhost/busybox >/dev/null 2>&1
$C images import --base-name localhost/busybox "$WORK/busybox.tar" >/dev/null 2>&1 || fail "ctr: import"
CR="$C run --runc-binary $RUNTIME --rm localhost/busybox:latest"
check "ctr: echo" "hello" "$($CR e1 echo hello 2>&1)"
$CR e2 sh -c 'exit 4' >/dev/null 2>&1
check "ctr: exit code" "4" "$?"
$C run -d --runc-binary "$RUNTIME" --memory-limit 67108864 localhost/busybox:latest m1 sleep 300 >/dev/null 2>&1
mem=$(cat /sys/fs/cgroup/memory/compattest/m1/memory.limit_in_bytes 2>&1)
check "ctr: memory limit" "67108864" "$mem"
check "ctr: task exec" "hi" "$($C task exec --exec-id x1 m1 echo hi 2>&1)"
$C task kill -s KILL m1 >/dev/null 2>&1
for _ in $(seq 50); do $C task ls 2>/dev/null | grep -q "m1.*STOPPED" && break; sleep 0.1; done
$C task rm m1 >/dev/null 2>&1
$C container rm m1 >/dev/null 2>&1
check "ctr: cleaned up" "" "$($C task ls -q 2>&1)$(ls /sys/fs/cgroup/memory/compattest 2>/dev/null | grep -c m1 | grep -v '^0$')"

echo "$failures failures"
[ "$failures" -eq 0 ]
