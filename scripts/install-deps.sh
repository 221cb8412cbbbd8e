#!/usr/bin/env bash
# Installs everything kn-lab needs to build, run and test, with Debian 12's apt-get.
# Idempotent and quiet when all is present. Run as root.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  libnl-3-dev libnl-route-3-dev libiptc-dev libxtables-dev libipset-dev
  libnetfilter-conntrack-dev libnftables-dev libnftnl-dev libmnl-dev libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev doctest-dev libyaml-cpp-dev nlohmann-json3-dev
  # `kn-lab graph -o svg|png`: Graphviz's library, and its plugins (dot layout, SVG, cairo PNG)
  graphviz libgraphviz-dev
  # run: what labs and learners use inside namespaces
  iproute2 iptables ipset conntrack iputils-ping curl netcat-openbsd tcpdump procps util-linux
  # the course's client commands in pods (wget -qO- podinfo:9898, wget -T 5) and nslookup/dig
  wget dnsutils
  # daemons the later labs run for real (BGP, ingress/gateway data planes, cluster DNS)
  bird2 nginx-light libnginx-mod-stream dnsmasq-base openssl
  # tests: pytest for end-to-end, nftables for the host-safety harness (`nft list ruleset`),
  # iperf3 for benchmarks, clang 19 + its runtime for libFuzzer and the clang build
  python3 python3-pytest python3-yaml nftables iperf3 time clang-19 libclang-rt-19-dev
  # packaging: dpkg-shlibdeps (dpkg-dev) and file for the .deb's Depends, man-db to read the
  # man page, bash-completion and zsh for the completion tests
  dpkg-dev file man-db bash-completion zsh
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (sudo $0)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian enables these daemons' system services on install; kn-lab runs its own instances
# inside lab namespaces, so the host copies are left as the package set them up.
