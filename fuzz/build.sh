#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address). Not part of the normal
# build. Usage: fuzz/build.sh [OUT_DIR]   (default fuzz/out); then e.g.
#   fuzz/out/tar_unpack_fuzz -max_total_time=60 /tmp/tar-corpus tests/data/hostile
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-fuzz/out}
mkdir -p "$OUT"
# clang 16 (Debian 12 has it: clang-16 libclang-rt-16-dev) when present, else clang.
CXX=${CXX:-$(command -v clang++-16 || echo clang++)}
# Debian 12's clang 14 says it has C++20 concepts at 201907, which hides libstdc++ 12's
# std::expected; it implements what <expected> needs, so the feature macro is raised.
FLAGS=(-std=c++2b -U__cpp_concepts -D__cpp_concepts=202002L -g -O1 -fsanitize=fuzzer,address
       -DFMT_HEADER_ONLY=1 -DBERTH_VERSION=\"fuzz\" -D_GNU_SOURCE -Isrc -Wno-unused-command-line-argument)
COMMON=(src/base/*.cc src/sys/*.cc src/oci/json_read.cc src/registry/auth.cc
        src/image/{digest,reference,manifest,image_config,stream,unpack,fs_util}.cc)
LIBS=(-larchive -lzstd -lz -lcrypto)
# Compile the shared sources once.
OBJ="$OUT/obj"
mkdir -p "$OBJ"
objs=()
for src in "${COMMON[@]}"; do
  o="$OBJ/$(echo "$src" | tr / _).o"
  [ "$o" -nt "$src" ] && [ -z "$(find src -newer "$o" -name '*.h' | head -1)" ] || "$CXX" "${FLAGS[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$o" &
  objs+=("$o")
done
wait
for t in tar_unpack_fuzz manifest_fuzz reference_fuzz; do
  "$CXX" "${FLAGS[@]}" "fuzz/$t.cc" "${objs[@]}" "${LIBS[@]}" -o "$OUT/$t"
  echo "built $OUT/$t"
done
