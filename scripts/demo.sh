#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install what is needed, build, make a
# busybox root file system bundle, and run a container from it with berth-runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
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
