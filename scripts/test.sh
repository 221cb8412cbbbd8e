#!/usr/bin/env bash
# The README's second command (and what CI runs): install what is needed, build, run every test.
#   unit tests  : doctest, no root (ctest)
#   end-to-end  : pytest under tests/e2e, as root, on real namespaces; every test is checked by
#                 the host-safety harness (nothing left behind, the root namespace unchanged)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure)
# A short fuzz of the lab loader (scripts/fuzz.sh 600 for a long one).
scripts/fuzz.sh 20
cd tests/e2e
# In CI a missing binary or missing root must fail, not skip.
KNLAB_E2E_REQUIRE=1 /usr/bin/python3 -m pytest -q
