#!/usr/bin/env bash
# Writes cmake/berth.order: the functions (and data) the static berth uses in its common
# commands, hottest first, as lld's --symbol-ordering-file reads them (CMakeLists.txt). They
# are found by sampling the CPU at 90 kHz across many runs of those commands (perf): a
# function that runs often is seen many times over ~300 runs. Functions that run once per
# command (start-up, ifunc resolvers) may escape the sampling, so two more passes record every
# page fault of those commands (perf -e page-faults -c 1) with berth linked in the order so
# far: a function that still faults in the text runs outside the ordered part, and is added.
# The last name is berth_hot_text_end, where the populated hot text ends
# (src/base/static/entry.c). Run it after changes to the run path; it rebuilds build/berth.
# Needs root, perf (Debian linux-perf) and a build in build/.
# Usage: scripts/gen-link-order.sh [rounds=150]
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
sed -e "s/seq $ROUNDS/seq 2/" -e 's/seq 20/seq 2/' "$WORK/cmds.sh" >"$WORK/cmds-once.sh"
perf record -q -e cpu-clock -F 90000 -o "$WORK/perf.data" -- bash "$WORK/cmds.sh" >/dev/null
perf script -i "$WORK/perf.data" -F comm,ip 2>/dev/null |
  awk '$1 == "berth" {print $2}' >"$WORK/ips"

# The function of each address in $2 (one per line, hex) in build/berth as it is now, by
# count (cpu) or in the order first seen (faults).
names_of() {
  nm -n --defined-only "$BIN" | awk '$2 ~ /^[tTwWrRdDbB]$/ {print $1, $3}' >"$WORK/syms"
  python3 - "$1" "$WORK/syms" "$2" <<'PY'
import bisect, collections, sys
syms = [(int(a, 16), n) for a, n in (l.split() for l in open(sys.argv[2]))]
addrs = [a for a, _ in syms]
found = collections.Counter()
for line in open(sys.argv[3]):
    ip = int(line, 16)
    i = bisect.bisect_right(addrs, ip) - 1
    if i >= 0 and ip < 1 << 32:  # not the kernel
        found[syms[i][1]] += 1
names = [n for n, _ in found.most_common()] if sys.argv[1] == "cpu" else list(found)
print("\n".join(n for n in names if n != "berth_hot_text_end"))
PY
}
# cmake/berth.order: the sampled functions hottest first, then those the fault passes found,
# then the marker.
names_of cpu "$WORK/ips" >"$WORK/names"
write_order() {
  { echo "# berth's link order (scripts/gen-link-order.sh): one symbol per line, hottest first"
    awk 'NF && !seen[$0]++' "$WORK/names"
    echo berth_hot_text_end; } >cmake/berth.order
}
write_order
for pass in 1 2; do
  cmake --build build --target berth-cli >/dev/null
  perf record -q -e page-faults -c 1 -o "$WORK/faults.data" -- bash "$WORK/cmds-once.sh" >/dev/null
  # A fault taken while berth runs its own text: the function at that ip runs, outside the
  # ordered part if the fault is an instruction fetch there.
  perf script -i "$WORK/faults.data" -F comm,ip 2>/dev/null |
    awk '$1 == "berth" {print $2}' >"$WORK/fault-ips"
  names_of faults "$WORK/fault-ips" >>"$WORK/names"
  write_order
  echo "fault pass $pass: $(wc -l <"$WORK/fault-ips") faults in berth"
done
cmake --build build --target berth-cli >/dev/null
echo "cmake/berth.order: $(grep -vc '^#' cmake/berth.order) symbols"
