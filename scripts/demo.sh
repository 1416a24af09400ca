#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install what is needed, build, make a
# busybox image locally (no registry), run a container from it with `berth run`, then the
# same image under VM isolation (its own kernel under QEMU). Also shows berth-runtime alone
# running an OCI bundle, as podman or containerd would drive it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/vm-kernel.sh
./scripts/build.sh

bundle=build/demo-bundle
rm -rf "$bundle"
mkdir -p "$bundle/rootfs"/{bin,proc,sys,dev,etc,tmp}
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for a in $("$bundle/rootfs/bin/busybox" --list); do
  [ "$a" = busybox ] || ln -sf busybox "$bundle/rootfs/bin/$a"
done
(cd "$bundle" && ../berth-runtime spec)
# Not a terminal, and a command that shows it is inside a container.
sed -i 's/"terminal": true/"terminal": false/' "$bundle/config.json"
python3 - "$bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["args"] = ["sh", "-c", "echo hello from a berth container: pid $$, host $(hostname), $(id)"]
json.dump(c, open(p, "w"), indent=2)
PY
echo "== berth-runtime run (container)"
build/berth-runtime run --bundle "$bundle" "demo-$$"

echo "== berth import: a busybox image from a root file system tarball"
tar -C "$bundle/rootfs" -cf build/demo-busybox.tar .
build/berth import build/demo-busybox.tar busybox
echo "== berth run --rm (container)"
build/berth run --rm --network none busybox \
  sh -c 'echo "hello from berth run: pid $$, kernel $(uname -r), host $(hostname)"'
echo "== berth run --rm --isolation=vm (the same image in a VM with its own kernel; TCG here: a few seconds)"
build/berth run --rm --network none --isolation=vm busybox \
  sh -c 'echo "hello from a berth VM: pid $$, kernel $(uname -r), $(nproc) cpu(s)"'
