#!/usr/bin/env bash
# Fuzzes the lab loader with libFuzzer (clang-19 from Debian: older clangs lack std::expected with libstdc++ 12),
# seeded with the shipped labs.
#   scripts/fuzz.sh [seconds]     default 20 s: the short run the test suite makes
# A crash leaves its input in build-fuzz/ (crash-*) and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
out=build-fuzz
mkdir -p "$out/corpus"
cp labs/*.toml "$out/corpus/"
# Only the loader and what it needs: a fuzz build takes seconds.
# toml++ 3.3 asserts (TOML_ASSERT_ASSUME) on some invalid keys, e.g. "[[;x]]", that it then
# reports as syntax errors; our g++ release builds compile those asserts out (and g++ 12 has no
# __builtin_assume), so the fuzzer does the same and tests the parser as it ships.
clang++-19 -std=c++2b -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -DTOML_EXCEPTIONS=0 -DTOML_HEADER_ONLY=1 '-DTOML_ASSERT(expr)=static_assert(true)' -Isrc \
  tests/fuzz/fuzz_lab.cpp src/lab/loader.cpp src/lab/names.cpp src/core/error.cpp src/core/ip.cpp \
  -lfmt -o "$out/fuzz_lab"
cd "$out"
./fuzz_lab -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 corpus 2>&1 | tail -n 12
