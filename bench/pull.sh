#!/usr/bin/env bash
# Pull of the same multi-layer image from a loopback docker-registry by berth, skopeo (to an
# OCI dir, then umoci unpack: a usable rootfs) and podman (overlay storage), alternating, each
# into a fresh store every round. Prints each tool's median and the ratios to berth.
#
#   bench/pull.sh [BUILD_DIR] [ROUNDS]      (defaults: build, 5)
#
# The image: 6 layers, gzip, ~150 MB compressed (random data and text, as real images mix).
set -euo pipefail
BUILD=${1:-build}
ROUNDS=${2:-5}
BERTH=$(cd "$(dirname "$0")/.." && pwd)/$BUILD/berth
[ -x "$BERTH" ] || { echo "no berth binary at $BERTH (build first)"; exit 1; }
for t in docker-registry skopeo umoci podman python3; do
  command -v $t >/dev/null || { echo "missing $t (scripts/install-deps.sh)"; exit 1; }
done

T=$(mktemp -d /tmp/berth-bench-pull-XXXXXX)
REG_PID=
cleanup() {
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null || true
  for m in $(grep -o "$T[^ ]*" /proc/self/mountinfo | sort -r); do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HOST=127.0.0.1:$PORT
cat >"$T/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $T/registry}}
http: {addr: $HOST}
YML
docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://$HOST/v2/')" 2>/dev/null && break
  sleep 0.1
done

# Build and push the image with berth (an OCI layout loaded from an oci-archive).
L=$T/layout
mkdir -p "$L/blobs/sha256"
python3 - "$L" <<'PY'
import hashlib, io, json, os, random, sys, tarfile, gzip
out = sys.argv[1]
rnd = random.Random(42)
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(data)
    return "sha256:" + d, len(data)
layers, diff_ids = [], []
words = [bytes(rnd.choice(b"abcdefghijklmnop ") for _ in range(8)) for _ in range(5000)]
for i in range(6):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for j in range(300):
            if j % 3 == 0:
                data = rnd.randbytes(60000)
            else:
                data = b" ".join(rnd.choice(words) for _ in range(8000))
            ti = tarfile.TarInfo(f"layer{i}/dir{j % 10}/file{j}")
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue()
    diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    d, n = blob(gzip.compress(raw, 6, mtime=0))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": n})
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
cd, cn = blob(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cn},
                  "layers": layers}).encode()
md, mn = blob(man)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": md, "size": mn, "annotations": {"org.opencontainers.image.ref.name": "bench"}}]},
          open(f"{out}/index.json", "w"))
open(f"{out}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
tar -C "$L" -cf "$T/image.tar" .
"$BERTH" --root "$T/seed" load -i "$T/image.tar" >/dev/null
"$BERTH" --root "$T/seed" tag bench "$HOST/bench:v1"
"$BERTH" --root "$T/seed" push -q "$HOST/bench:v1" >/dev/null
echo "image: $(du -sh "$T/registry" | cut -f1) in the registry, 6 gzip layers"

now() { date +%s.%N; }
declare -A TIMES
run_one() {  # tool round
  local tool=$1 r=$2 t0 t1
  sync
  echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  t0=$(now)
  case $tool in
    berth) "$BERTH" --root "$T/berth$r" pull -q "$HOST/bench:v1" >/dev/null ;;
    skopeo+umoci)
      skopeo copy -q --src-tls-verify=false "docker://$HOST/bench:v1" "oci:$T/oci$r:bench" >/dev/null
      umoci unpack --image "$T/oci$r:bench" "$T/bundle$r" >/dev/null ;;
    podman)
      podman --root "$T/podman$r" --runroot "$T/podrun$r" --storage-driver overlay \
        --cgroup-manager cgroupfs --events-backend none \
        pull -q --tls-verify=false "$HOST/bench:v1" >/dev/null ;;
  esac
  t1=$(now)
  TIMES[$tool]+="$(echo "$t1 - $t0" | bc) "
  # Free the space (and podman's mounts) before the next round.
  [ "$tool" = podman ] && podman --root "$T/podman$r" --runroot "$T/podrun$r" \
    --storage-driver overlay --events-backend none system reset -f >/dev/null 2>&1 || true
  rm -rf "$T/berth$r" "$T/oci$r" "$T/bundle$r" "$T/podman$r" "$T/podrun$r"
}
for r in $(seq "$ROUNDS"); do
  for tool in berth skopeo+umoci podman; do run_one "$tool" "$r"; done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
B=$(echo "${TIMES[berth]}" | median)
printf "%-14s %8s %8s   (%s rounds, median seconds)\n" tool median ratio "$ROUNDS"
for tool in berth skopeo+umoci podman; do
  M=$(echo "${TIMES[$tool]}" | median)
  printf "%-14s %8.3f %7.2fx\n" "$tool" "$M" "$(echo "$M / $B" | bc -l)"
done
