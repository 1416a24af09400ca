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
# -O1 -g1: sanitizer reports keep file:line, and the build is a third faster than -O0 -g.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DCMAKE_C_FLAGS_DEBUG="-O1 -g1" -DBERTH_SANITIZE=ON >/dev/null
unit=(berth_unit_tests berth_net_unit_tests berth_image_unit_tests berth_vm_unit_tests)
ninja -C build-asan "${unit[@]}"
for t in "${unit[@]}"; do
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "build-asan/tests/$t" --gtest_brief=1
done

echo "== build"
./scripts/build.sh
echo "== all tests"
cd build
ctest -j2 --output-on-failure --timeout 600
