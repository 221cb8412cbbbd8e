#!/usr/bin/env bash
# Builds the Debian package as Debian builds software: CMAKE_BUILD_TYPE=None with
# dpkg-buildflags' flags, installed under /usr, then `cpack -G DEB`.
#   scripts/package.sh [build-dir]     default build-deb/; prints the path of the .deb
# Warnings are errors here too (this is our CI's packager build); a packager may drop
# -DKNLAB_WERROR=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-deb}
export CFLAGS="$(dpkg-buildflags --get CFLAGS)" CXXFLAGS="$(dpkg-buildflags --get CXXFLAGS)"
export LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)"
CXXFLAGS="$CXXFLAGS $CPPFLAGS"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX=/usr -DKNLAB_TESTS=OFF \
  -DKNLAB_WERROR=ON >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null
(cd "$dir" && cpack -G DEB >/dev/null)
deb=$(ls "$dir"/kn-lab_*_*.deb)
dpkg-deb -I "$deb" | sed -n '/Package:/,$p' >&2
echo "$deb"
