#!/usr/bin/env bash
# Installs the Debian package on this machine (CI: a fresh Debian 12 root with nothing of the
# build), runs lab 02 with it, checks its man page and bash completion, and purges it while a
# lab is up: afterwards no file of the package, no lab namespace, no record may be left.
#   scripts/test-package.sh /root/kn-lab_0.1.0_amd64.deb
set -euo pipefail
deb=$(realpath "${1:?usage: test-package.sh PATH.deb}")
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "$deb" >/dev/null
fail() { echo "test-package: FAILED: $*" >&2; exit 1; }
step() { echo "test-package: $*" >&2; }

step "installed: $(dpkg-query -W -f='${Package} ${Version}' kn-lab)"
[ "$(command -v kn-lab)" = /usr/bin/kn-lab ] || fail "kn-lab is not /usr/bin/kn-lab"
kn-lab labs | grep -q '^02-pod-to-pod-same-node' || fail "kn-lab labs does not list the labs"
kn-lab exercise list | grep -q 'services' || fail "kn-lab exercise list does not list the exercises"

step "lab 02 up, pod to pod, down"
kn-lab up 02-pod-to-pod-same-node
out=$(kn-lab exec api -- curl -s --max-time 5 http://10.244.0.2:8080/)
grep -q '^pod: web$' <<<"$out" || fail "api could not reach web: $out"
kn-lab get pods -o wide
kn-lab down | grep -q 'is down' || fail "down"

step "man page and completion"
zcat /usr/share/man/man1/kn-lab.1.gz | grep -q '^\.SS "kn\\-lab up' || fail "man page lacks kn-lab up"
[ -f /usr/share/bash-completion/completions/kn-lab ] || fail "no bash completion"
words=$(bash -c 'source /usr/share/bash-completion/completions/kn-lab
  COMP_WORDS=(kn-lab up 02-pod); COMP_CWORD=2; _kn_lab; echo "${COMPREPLY[@]}"')
[ "$words" = 02-pod-to-pod-same-node ] || fail "completion of 'kn-lab up 02-pod' gave: $words"

step "purge while a lab is up: the package takes it down and leaves nothing"
kn-lab up 02-pod-to-pod-same-node >/dev/null
files=$(dpkg -L kn-lab)
apt-get purge -y -qq kn-lab >/dev/null
left=()
while IFS= read -r f; do
  [ -f "$f" ] || [ -L "$f" ] && left+=("$f")
  [ -d "$f" ] && [[ $f == *kn-lab* ]] && left+=("$f/")
done <<<"$files"
for p in /var/lib/kn-lab /run/kn-lab /etc/netns/kn-p2p.web; do [ -e "$p" ] && left+=("$p"); done
ls /run/netns 2>/dev/null | grep -q '^kn-' && left+=("/run/netns/kn-*")
# Live ones only: stopped processes are zombies until PID 1 reaps them (late on some machines).
ps -e -o stat=,comm= | awk '$2 == "kn-pause" && $1 !~ /^Z/ {found=1} END {exit !found}' && left+=("kn-pause processes")
[ ${#left[@]} -eq 0 ] || fail "left after purge: ${left[*]}"
step "passed"
