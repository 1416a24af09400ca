#!/usr/bin/env bash
# Writes cmake/berth.order: the functions (and data) the static berth uses in its common
# commands, hottest first, as lld's --symbol-ordering-file reads them (CMakeLists.txt). They
# are found by sampling the CPU at 90 kHz across many runs of those commands (perf): a
# function that runs at all in a command is almost surely seen at least once over ~300 runs.
# Run it after changes to the run path, then rebuild (scripts/build.sh). Needs root, perf
# (Debian linux-perf) and a build in build/. Usage: scripts/gen-link-order.sh [rounds=150]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-150}
BIN=$(readlink -f build/berth)
[ -x "$BIN" ] || { echo "build first: scripts/build.sh"; exit 1; }
command -v perf >/dev/null || { echo "needs perf (apt-get install linux-perf)"; exit 1; }

WORK=$(mktemp -d /tmp/berth-order-XXXXXX)
B=("$BIN" --root "$WORK/root" --state "$WORK/state")
cleanup() {
  set +e
  "${B[@]}" rm -f $("${B[@]}" ps -aq 2>/dev/null) >/dev/null 2>&1
  "${B[@]}" network prune >/dev/null 2>&1
  umount -R "$WORK"/* 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/rootfs"/{bin,proc,sys,dev,etc,tmp}
cp /bin/busybox "$WORK/rootfs/bin/"
for a in sh true echo sleep; do ln -s busybox "$WORK/rootfs/bin/$a"; done
tar -C "$WORK/rootfs" -cf "$WORK/busybox.tar" .
"${B[@]}" import "$WORK/busybox.tar" busybox >/dev/null

# The commands whose code should sit together, the run path most of all.
cat >"$WORK/cmds.sh" <<SH
for i in \$(seq $ROUNDS); do
  ${B[*]} run --rm --network none busybox true
  ${B[*]} run --rm busybox true
done
for i in \$(seq 20); do
  id=\$(${B[*]} run -d --network none busybox sleep 30)
  ${B[*]} ps >/dev/null
  ${B[*]} exec \$id true
  ${B[*]} rm -f \$id >/dev/null
  ${B[*]} images >/dev/null
done
SH
perf record -q -e cpu-clock -F 90000 -o "$WORK/perf.data" -- bash "$WORK/cmds.sh" >/dev/null
perf script -i "$WORK/perf.data" -F comm,ip 2>/dev/null |
  awk '$1 == "berth" {print $2}' >"$WORK/ips"
nm -n --defined-only "$BIN" | awk '$2 ~ /^[tTwWrRdDbB]$/ {print $1, $3}' >"$WORK/syms"
python3 - "$WORK/syms" "$WORK/ips" >cmake/berth.order <<'PY'
import bisect, collections, sys
syms = []
for line in open(sys.argv[1]):
    a, n = line.split()
    syms.append((int(a, 16), n))
addrs = [a for a, _ in syms]
hits = collections.Counter()
for line in open(sys.argv[2]):
    ip = int(line, 16)
    if ip >= 1 << 32:  # the kernel
        continue
    i = bisect.bisect_right(addrs, ip) - 1
    if i >= 0:
        hits[syms[i][1]] += 1
print("# berth's link order (scripts/gen-link-order.sh): one symbol per line, hottest first")
for name, _ in hits.most_common():
    print(name)
PY
echo "cmake/berth.order: $(grep -vc '^#' cmake/berth.order) symbols"
