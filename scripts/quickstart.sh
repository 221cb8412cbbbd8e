#!/usr/bin/env bash
# The README's first command: install what is needed, build, install kn-lab (/usr/local: the
# binaries, the labs and the image catalogue, so that `sudo kn-lab ...` works as the course
# writes it), and bring up the default lab.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cmake --install build --prefix /usr/local >/dev/null
kn-lab up "${1:-02-pod-to-pod-same-node}"
