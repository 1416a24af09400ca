#!/usr/bin/env bash
# Regenerates src/engine/data/seccomp_default.json from libseccomp's syscall table.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -o "$tmp/names" seccomp_names.c -lseccomp
"$tmp/names" >"$tmp/names.txt"
python3 gen-seccomp-profile.py "$tmp/names.txt" ../../src/engine/data/seccomp_default.json
