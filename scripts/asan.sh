#!/usr/bin/env bash
# Builds unit test suites with AddressSanitizer and UndefinedBehaviorSanitizer into
# build-asan/ and runs them. Default: every unit suite (core, net, image, vm).
#   scripts/asan.sh [SUITE...]      e.g. scripts/asan.sh berth_net_unit_tests
set -euo pipefail
cd "$(dirname "$0")/.."
suites=("$@")
((${#suites[@]})) || suites=(berth_unit_tests berth_net_unit_tests berth_image_unit_tests berth_vm_unit_tests)
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
  -DCMAKE_C_FLAGS_DEBUG="-O0 -g1" -DBERTH_SANITIZE=ON >/dev/null
ninja -C build-asan "${suites[@]}"
for t in "${suites[@]}"; do
  echo "== $t (ASan+UBSan)"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "build-asan/tests/$t" --gtest_brief=1
done
