#!/usr/bin/env bash
# Formats berth's C and C++ sources with the repository's .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
find src cmd tests bench fuzz -name '*.cc' -o -name '*.h' -o -name '*.c' 2>/dev/null | xargs clang-format -i
