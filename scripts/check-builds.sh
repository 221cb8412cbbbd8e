#!/usr/bin/env bash
# Builds kn-lab every way the project promises packagers it builds: CMAKE_BUILD_TYPE Release and
# None, with GCC 12 and with clang 19, warnings as errors (no warning at all), then the Debian
# package (scripts/package.sh: None with dpkg-buildflags' flags). CI runs it after the tests.
#   scripts/check-builds.sh [DIR]     copies the .deb into DIR when given
set -euo pipefail
cd "$(dirname "$0")/.."
for compiler in gcc clang; do
  if [ $compiler = gcc ]; then cc=gcc cxx=g++; else cc=clang-19 cxx=clang++-19; fi
  for type in Release None; do
    [ $compiler = gcc ] && [ $type = None ] && continue  # that one is the package's build, below
    dir=build-$compiler-$type
    echo "check-builds: $type with $cxx" >&2
    CC=$cc CXX=$cxx cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=$type -DKNLAB_TESTS=OFF -DKNLAB_WERROR=ON >/dev/null
    cmake --build "$dir" -j"$(nproc)" >/dev/null
  done
done
echo "check-builds: None with g++ and dpkg-buildflags (the .deb)" >&2
deb=$(scripts/package.sh build-deb)
if [ $# -gt 0 ]; then cp "$deb" "$1/"; fi
echo "check-builds: all built; $deb"
