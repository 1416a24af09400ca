#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: install, build, check formatting,
# run the unit tests under ASan+UBSan, then every test with CTest (its summary ends the run).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

echo "== clang-format check (src/)"
bad=$(find src cmd tests -name '*.cc' -o -name '*.h' -o -name '*.c' | xargs clang-format --dry-run 2>&1 | grep -c "warning:" || true)
if [ "$bad" != "0" ]; then
  find src cmd tests -name '*.cc' -o -name '*.h' -o -name '*.c' | xargs clang-format --dry-run 2>&1 | head -20
  echo "clang-format: $bad places differ from .clang-format (run scripts/format.sh)"
  exit 1
fi

echo "== unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBERTH_SANITIZE=ON >/dev/null
ninja -C build-asan berth_unit_tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build-asan/tests/berth_unit_tests --gtest_brief=1

echo "== build"
./scripts/build.sh
echo "== all tests"
cd build
ctest -j2 --output-on-failure --timeout 600
