#!/usr/bin/env bash
# The README's first command: install what is needed, build, and bring up the default lab.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
./build/kn-lab up "${1:-02-pod-to-pod-same-node}"
