#!/usr/bin/env bash
# Installs every Debian 12 package that berth's build, tests and benchmarks need.
# Idempotent: packages already present are not fetched again. Run as root.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config git clang-format
  lld  # links the static berth with its hot functions together (cmake/berth.order)
  libseccomp-dev libcap-dev libfmt-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # tests: a static busybox for test root file systems; peers to compare with
  busybox-static util-linux iproute2 procps crun runc
)

# Each area lists its extra packages in scripts/deps/<area>.txt (one per line, # comments).
for f in "$(dirname "$0")"/deps/*.txt; do
  [ -e "$f" ] || continue
  while read -r p; do
    p=${p%%#*}
    p=$(echo "$p" | xargs)
    [ -n "$p" ] && PACKAGES+=("$p")
  done <"$f"
done

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
