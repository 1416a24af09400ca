#!/usr/bin/env bash
# berth-runtime vs crun vs runc: `run` of /bin/true from one ready busybox bundle, alternating
# runtimes each round; then the same with a memory and pids limit; then peak RSS of `create`.
# Prints medians and ratios. Usage: bench/runtime-run.sh [rounds] (default 40). Run as root.
# crun needs hugetlb on v1 on this hybrid host: see bench/lib/hugetlb_v1.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-40}
BERTH=$(readlink -f build/berth-runtime)
[ -x "$BERTH" ] || { echo "build first: scripts/build.sh"; exit 1; }
for t in crun runc busybox; do command -v $t >/dev/null || { echo "missing $t (scripts/install-deps.sh)"; exit 1; }; done

WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
. bench/lib/hugetlb_v1.sh
cleanup() {
  hugetlb_back
  rm -rf "$WORK"
}
trap cleanup EXIT

# The bundle.
mkdir -p "$WORK/bundle/rootfs"/{bin,proc,sys,dev,etc,tmp}
cp /bin/busybox "$WORK/bundle/rootfs/bin/"
ln -s busybox "$WORK/bundle/rootfs/bin/true"
(cd "$WORK/bundle" && "$BERTH" spec)
# ociVersion 1.0.2: crun 1.8 and runc 1.1 refuse a newer one; the config uses nothing newer.
sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"\/bin\/true"/; s/"ociVersion": "1.2.0"/"ociVersion": "1.0.2"/' \
  "$WORK/bundle/config.json"
cp "$WORK/bundle/config.json" "$WORK/plain.json"
# The same with limits (and without the read-only root, for a second shape).
python3 - "$WORK/bundle/config.json" "$WORK/limits.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["linux"]["resources"]["memory"] = {"limit": 67108864}
c["linux"]["resources"]["pids"] = {"limit": 100}
json.dump(c, open(sys.argv[2], "w"))
PY

hugetlb_to_v1

run_one() {  # runtime id -> prints milliseconds
  local rt=$1 id=$2 t0 t1
  case $rt in
    berth) t0=$EPOCHREALTIME; "$BERTH" --root "$WORK/state-berth" run --bundle "$WORK/bundle" "$id" >/dev/null; t1=$EPOCHREALTIME ;;
    crun) t0=$EPOCHREALTIME; crun --root "$WORK/state-crun" run --bundle "$WORK/bundle" "$id" >/dev/null; t1=$EPOCHREALTIME ;;
    runc) t0=$EPOCHREALTIME; runc --root "$WORK/state-runc" run --bundle "$WORK/bundle" "$id" >/dev/null; t1=$EPOCHREALTIME ;;
  esac
  echo "$t0 $t1" | awk '{printf "%.3f\n", ($2-$1)*1000}'
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

bench() {  # label config
  cp "$2" "$WORK/bundle/config.json"
  for r in berth crun runc; do : >"$WORK/times-$r"; run_one $r warm-$r >/dev/null; done
  for i in $(seq "$ROUNDS"); do
    for r in berth crun runc; do run_one $r "b$i-$r" >>"$WORK/times-$r"; done
  done
  local b c u
  b=$(median <"$WORK/times-berth"); c=$(median <"$WORK/times-crun"); u=$(median <"$WORK/times-runc")
  printf '%-22s berth-runtime %7.2f ms   crun %7.2f ms   runc %7.2f ms   berth/crun %.2f   berth/runc %.2f\n' \
    "$1" "$b" "$c" "$u" "$(echo "$b $c" | awk '{print $1/$2}')" "$(echo "$b $u" | awk '{print $1/$2}')"
}

echo "rounds: $ROUNDS, alternating berth-runtime, crun, runc; median wall time of 'run' of /bin/true"
bench "run /bin/true" "$WORK/plain.json"
bench "run with mem+pids limit" "$WORK/limits.json"

# Peak RSS of the runtime process during create (the container process is excluded).
cp "$WORK/limits.json" "$WORK/bundle/config.json"
rss() {  # runtime -> KB
  local rt=$1 bin
  case $rt in berth) bin=$BERTH ;; *) bin=$rt ;; esac
  # -o: the created container keeps the runtime's stdio open, so no pipe may be read to EOF.
  /usr/bin/time -o "$WORK/rss-$rt" -f %M "$bin" --root "$WORK/state-$rt" create \
    --bundle "$WORK/bundle" rss-$rt >/dev/null 2>&1 </dev/null
  tail -1 "$WORK/rss-$rt"
  "$bin" --root "$WORK/state-$rt" delete --force rss-$rt >/dev/null 2>&1 || true
}
b=$(rss berth); c=$(rss crun); u=$(rss runc)
printf '%-22s berth-runtime %7s KB   crun %7s KB   runc %7s KB   berth/crun %.2f\n' "peak RSS of create" "$b" "$c" "$u" "$(echo "$b $c" | awk '{print $1/$2}')"
