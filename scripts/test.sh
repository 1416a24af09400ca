#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: install, build, check formatting,
# run the unit tests under ASan+UBSan, then every test with CTest (its summary ends the run).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/vm-kernel.sh   # the guest kernel for --isolation=vm (Debian's cloud kernel, in berth's dir)

echo "== clang-format check (src/)"
bad=$(find src cmd tests -name '*.cc' -o -name '*.h' -o -name '*.c' | xargs clang-format --dry-run 2>&1 | grep -c "warning:" || true)
if [ "$bad" != "0" ]; then
  find src cmd tests -name '*.cc' -o -name '*.h' -o -name '*.c' | xargs clang-format --dry-run 2>&1 | head -20
  echo "clang-format: $bad places differ from .clang-format (run scripts/format.sh)"
  exit 1
fi

echo "== unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
# The core's unit tests (base, sys, oci, cgroup, runtime). -g1 keeps file:line in reports
# and builds faster than -g. The other areas' unit suites run under the sanitizers with
# scripts/asan.sh (the whole CI must stay under 20 minutes on 2 cores).
./scripts/asan.sh berth_unit_tests

echo "== build"
./scripts/build.sh
echo "== all tests"
cd build
ctest -j2 --output-on-failure --timeout 600
