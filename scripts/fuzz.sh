#!/usr/bin/env bash
# Fuzzes the lab loader (TOML) and the manifest loader (Kubernetes YAML) with libFuzzer (clang-19
# from Debian: older clangs lack std::expected with libstdc++ 12), seeded with the shipped labs
# and manifests.
#   scripts/fuzz.sh [seconds] [lab|manifest|all]   default 20 s per target, both targets: the
#                                                   short run the test suite makes
# A crash leaves its input in build-fuzz/ (crash-*) and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
which=${2:-all}
out=build-fuzz
flags=(-std=c++2b -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc)
mkdir -p "$out"

if [ "$which" = all ] || [ "$which" = lab ]; then
  mkdir -p "$out/corpus"
  cp labs/*.toml "$out/corpus/"
  # Every file of lab and core (a list by hand went stale when the loader gained the checks'
  # reader). toml++ 3.3 asserts (TOML_ASSERT_ASSUME) on table names that cannot start a key, e.g.
  # "[[;x]]"; lab/toml_reader refuses those before toml++ reads the text, and the asserts are
  # compiled out here as in our release builds, so the fuzzer tests the parser as it ships.
  clang++-19 "${flags[@]}" -DTOML_EXCEPTIONS=0 -DTOML_HEADER_ONLY=1 '-DTOML_ASSERT(expr)=static_assert(true)' \
    tests/fuzz/fuzz_lab.cpp src/lab/*.cpp src/core/*.cpp \
    -lfmt -lyaml-cpp -o "$out/fuzz_lab"
  (cd "$out" && ./fuzz_lab -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 corpus 2>&1 | tail -n 12)
fi

if [ "$which" = all ] || [ "$which" = manifest ]; then
  mkdir -p "$out/corpus-manifest"
  # The tests' manifests (with the course's two) and the shipped ones, named by their directory
  # since names repeat (course/ingress.yaml, examples/ingress-tls.yaml).
  cp tests/data/manifests/*.yaml "$out/corpus-manifest/"
  for f in manifests/*/*.yaml; do cp "$f" "$out/corpus-manifest/shipped-$(basename "$(dirname "$f")")-$(basename "$f")"; done
  # yaml-cpp is Debian's (not instrumented): the target checks our side of it, and that nothing
  # yaml-cpp throws escapes parse_manifests.
  # Every file of lab and core: the manifest reader reaches the kinds' registry, which reaches
  # the TOML writer (a list by hand went stale each time a reader gained a dependency).
  clang++-19 "${flags[@]}" -DTOML_EXCEPTIONS=0 -DTOML_HEADER_ONLY=1 '-DTOML_ASSERT(expr)=static_assert(true)' \
    tests/fuzz/fuzz_manifest.cpp src/lab/*.cpp src/core/*.cpp \
    -lfmt -lyaml-cpp -o "$out/fuzz_manifest"
  (cd "$out" && ./fuzz_manifest -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1 corpus-manifest 2>&1 | tail -n 12)
fi
