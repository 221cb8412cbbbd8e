#!/usr/bin/env bash
# Soak: up / scale / down cycles of a lab, checking that nothing grows: open files of this
# shell's process tree, network namespaces, processes, mounts, files under /run/kn-lab,
# /var/lib/kn-lab and /etc/netns. Prints the counts every 20 cycles and fails if any ends above
# where it started.
#   sudo scripts/soak.sh [cycles] [services|ingress]      default 200 services
# services: lab 06, scale 3 -> 5 -> 1. ingress: lab 09, scale 2 -> 4 -> 1 (nginx reloads each
# time), delete -f and apply -f the course's Ingress.
#   sudo scripts/soak.sh [steps] random [seed]         random live changes, kills and repairs
#                                                      (tests/e2e/test_random_changes.py)
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-200}
mode=${2:-services}
if [ "$mode" = random ]; then
  cd tests/e2e
  exec env KNLAB_RANDOM_STEPS="$cycles" ${3:+KNLAB_RANDOM_SEED=$3} KNLAB_E2E_REQUIRE=1 \
    /usr/bin/python3 -m pytest -q -s test_random_changes.py
fi
kn=./build/kn-lab
counts() {
  printf '%s %s %s %s %s\n' \
    "$(ls /run/netns 2>/dev/null | wc -l)" \
    "$(ps -e --no-headers -o stat | grep -vc '^Z')" \
    "$(wc -l < /proc/self/mountinfo)" \
    "$( (find /run/kn-lab /var/lib/kn-lab /etc/netns 2>/dev/null || true) | wc -l)" \
    "$(ls /proc/$$/fd | wc -l)"
}
echo "cycle netns processes mounts files fds"
start=$(counts)
echo "0 $start"
t0=$(date +%s.%N)
for ((i = 1; i <= cycles; i++)); do
  if [ "$mode" = ingress ]; then
    $kn up labs/09-ingress.toml >/dev/null
    $kn scale deploy/api --replicas=4 --lab ingress >/dev/null
    $kn scale deploy/api --replicas=1 --lab ingress >/dev/null
    $kn delete -f manifests/course/ingress.yaml --lab ingress >/dev/null
    $kn apply -f manifests/course/ingress.yaml --lab ingress >/dev/null
    $kn down ingress >/dev/null
  else
    $kn up 06-service-clusterip >/dev/null
    $kn scale deploy/ghost --replicas=5 --lab svc >/dev/null
    $kn scale deploy/ghost --replicas=1 --lab svc >/dev/null
    $kn down svc >/dev/null
  fi
  if (( i % 20 == 0 )); then echo "$i $(counts)"; fi
done
t1=$(date +%s.%N)
sleep 2  # the kernel destroys namespaces asynchronously; PID 1 reaps lazily
end=$(counts)
echo "end $end"
echo "seconds per cycle: $(echo "($t1 - $t0) / $cycles" | bc -l | cut -c1-6)"
read -r n0 p0 m0 f0 d0 <<< "$start"
read -r n1 p1 m1 f1 d1 <<< "$end"
if (( n1 > n0 || m1 > m0 || f1 > f0 || d1 > d0 || p1 > p0 + 5 )); then
  echo "soak: something grew (start: $start, end: $end)" >&2
  exit 1
fi
echo "soak: nothing grew over $cycles cycles"
