#!/usr/bin/env bash
# Runs a command on a clean clone of this repository inside a fresh Debian 12 (bookworm) root,
# as a new user's machine would be: Debian's minimal base and nothing else, an empty /run and
# /tmp, a private mount namespace (nothing mounted inside is seen outside). It catches what a
# green run on a well-used machine hides: a missing install step, a test that assumes /run/netns
# exists, a tool only the developer's machine has. CI (.ci/run) runs every submission this way.
#
#   sudo scripts/fresh-root.sh                                  # runs: bash scripts/test.sh
#   sudo scripts/fresh-root.sh -- bash scripts/quickstart.sh
#   sudo scripts/fresh-root.sh --out /tmp/out -- bash scripts/check-builds.sh /root/out
#                               # --out DIR: DIR is /root/out inside (to bring files back)
#   sudo scripts/fresh-root.sh --copy build-deb/kn-lab_0.1.0_amd64.deb -- bash scripts/test-package.sh
#                               # --copy FILE: FILE is put in /root of the fresh root
#   sudo scripts/fresh-root.sh --keep -- bash                   # keep the root (path printed)
#
# The base is made once with debootstrap (minbase, about 25 s) and kept as a tarball in
# $FRESH_CACHE (default /var/tmp/fresh-debian); each run unpacks it anew (a few seconds).
# Network namespaces made inside are the kernel's, as on a real machine: the end-to-end tests'
# host-safety harness compares the root network namespace before and after, here too.
# Run it while nothing else on the machine builds labs. Exit status: the command's.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
keep=0 out=
copies=()
while (($#)); do
  case $1 in
    --keep) keep=1; shift ;;
    --out) out=$(mkdir -p "$2" && realpath "$2"); shift 2 ;;
    --copy) copies+=("$(realpath "$2")"); shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "fresh-root: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
(($#)) || set -- bash scripts/test.sh
[[ $(id -u) == 0 ]] || { echo "fresh-root: run as root" >&2; exit 2; }

# What this script itself needs on a new machine (CI may get one): git for the clean clone,
# debootstrap for the base; everything inside the root is installed by the command it runs.
need=()
command -v git >/dev/null || need+=(git)
command -v debootstrap >/dev/null || need+=(debootstrap)
if ((${#need[@]})); then
  echo "fresh-root: installing ${need[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
cache=${FRESH_CACHE:-/var/tmp/fresh-debian}
base=$cache/bookworm-minbase.tar
mkdir -p "$cache"
if [[ ! -s $base ]]; then
  tmp=$(mktemp -d "$cache/base.XXXX")
  echo "fresh-root: making a Debian 12 minimal root (debootstrap)" >&2
  # The mirror this machine's apt already uses (debootstrap's default where none is configured).
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n $mirror ]] || mirror=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  debootstrap --variant=minbase bookworm "$tmp" ${mirror:+"$mirror"} >"$cache/debootstrap.log" 2>&1 ||
    { echo "fresh-root: debootstrap failed, see $cache/debootstrap.log" >&2; rm -rf "$tmp"; exit 2; }
  tar -C "$tmp" -cf "$base.part" . && mv "$base.part" "$base"
  rm -rf "$tmp"
fi

root=$(mktemp -d /var/tmp/fresh-root.XXXX)
cleanup() { if ((keep)); then echo "fresh-root: kept $root" >&2; else rm -rf --one-file-system "$root"; fi; }
trap cleanup EXIT
tar -C "$root" -xf "$base"
# It is /: a real machine's is 0755. mktemp made the base's and this one 0700 (and tar restores
# "."), which locks every user but root out of every path: _apt, nobody, setpriv tests.
chmod 755 "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# A clean clone of what is committed, as CI has it; shared/ beside it, as CI lays it out.
name=$(basename "$repo")
git clone -q "$repo" "$root/root/$name"
[[ -d $repo/../shared ]] && cp -a "$repo/../shared" "$root/root/shared"
for f in "${copies[@]}"; do cp -a "$f" "$root/root/"; done
[[ -n $out ]] && mkdir -p "$root/root/out"
echo "fresh-root: $root/root/$name at $(git -C "$repo" rev-parse --short HEAD): $*" >&2

set +e
unshare -m --propagation private bash -s "$root" "$name" "$out" "$@" <<'INNER'
set -e
root=$1; name=$2; out=$3; shift 3
# The root must be a mount point, as / is on a real machine (programs remount / as a slave).
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mkdir -p "$root/run/lock"
[[ -n $out ]] && mount --bind "$out" "$root/root/out"
cmd=$(printf '%q ' "$@")
exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb CI=true LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  bash -c "cd /root/$name && $cmd"
INNER
rc=$?
set -e
echo "fresh-root: exit $rc" >&2
exit $rc
