#!/usr/bin/env bash
# Builds kn-lab into build/ (Release with debug info), warnings as errors: the developers' and
# CI's build. Usage: scripts/build.sh [extra cmake args]
# (A packager's build keeps warnings as warnings: -DKNLAB_WERROR is OFF by default.)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKNLAB_WERROR=ON "$@" >/dev/null
cmake --build build -j"$(nproc)"
