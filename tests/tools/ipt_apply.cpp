// knlab-ipt-apply: drives iptables_apply() from the end-to-end tests (tests/e2e/test_iptables_apply.py).
//
//   knlab-ipt-apply NETNS --demo [--small]  a representative kube-proxy nat + filter table: services
//                                           with 3 endpoints (affinity, NodePort), 1 endpoint (UDP),
//                                           none (REJECT in filter); --small: only the UDP one, and
//                                           no KUBE-POSTROUTING (stale chains and hooks to remove)
//   knlab-ipt-apply NETNS --edge            every less common form the renderer knows (nat + filter)
//   knlab-ipt-apply NETNS --empty           nat and filter with no kn-lab chain: removes them all
//   knlab-ipt-apply NETNS --bad             DNAT reached from POSTROUTING: refused before the kernel
//   knlab-ipt-apply NETNS --bad-kernel      a DNAT rule in KUBE-MARK-MASQ (refused by the kernel when
//                                           a learner's chain makes it reachable from POSTROUTING)
//   knlab-ipt-apply NETNS --bench S         S services x 3 endpoints (nat), timed
//   knlab-ipt-apply - --bench S --no-apply  only print the rendering (for iptables-legacy-restore)
//
// stdout: render_iptables_save() of every table (nat, then filter); in --bench mode only with
// --no-apply. stderr: the error (exit 1); for --bench the timings as "key=value" words.
#include <fmt/core.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.hpp"
#include "net/iptables.hpp"
#include "ops/iptables_rule.hpp"
#include "net/netns.hpp"

using namespace knlab;

namespace {

constexpr std::uint32_t kMasqBit = 0x4000;
const Cidr kClusterCidr = *Cidr::parse("10.244.0.0/16");

// A kube-proxy style chain name: prefix + 16 base32 characters of a hash of the key.
std::string chain_name(std::string_view prefix, std::string_view key) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a, then a splitmix64 finaliser per half
  for (char c : key) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  auto mix = [](std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  std::uint64_t a = mix(h), b = mix(h + 0x9e3779b97f4a7c15ull);
  constexpr std::string_view kB32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out(prefix);
  for (int i = 0; i < 16; ++i) {
    std::uint64_t& src = i < 8 ? a : b;
    out += kB32[src & 31u];
    src >>= 5;
  }
  return out;
}

Ipv4 ip(std::uint32_t v) { return Ipv4{v}; }
Ipv4 ip(const char* s) { return *Ipv4::parse(s); }
Cidr host(Ipv4 a) { return Cidr{a, 32}; }

IptRule jump(std::string chain, std::string to, std::string comment = {}) { return jump_rule(std::move(chain), std::move(to), std::move(comment)); }

struct Endpoint {
  Ipv4 ip;
  std::uint16_t port;
};

struct Service {
  std::string name;  // "default/web:http"
  Ipv4 cluster_ip;
  std::uint16_t port;
  std::string proto;  // "tcp" / "udp"
  std::vector<Endpoint> endpoints;
  std::uint16_t node_port = 0;
  bool affinity = false;
};

struct Tables {
  IptTable nat{"nat", {}, {}};
  IptTable filter{"filter", {}, {}};
};

// kube-proxy's iptables mode (v1.28 shape; "-m recent" before "-m tcp" aside, see the report).
Tables kube_proxy(const std::vector<Service>& services, bool with_postrouting = true) {
  Tables t;
  IptTable& nat = t.nat;
  nat.chains = {"KUBE-SERVICES", "KUBE-MARK-MASQ", "KUBE-NODEPORTS"};
  if (with_postrouting) nat.chains.push_back("KUBE-POSTROUTING");
  auto& R = nat.rules;
  R.push_back(jump("PREROUTING", "KUBE-SERVICES", "kubernetes service portals"));
  R.push_back(jump("OUTPUT", "KUBE-SERVICES", "kubernetes service portals"));
  if (with_postrouting) {
    R.push_back(jump("POSTROUTING", "KUBE-POSTROUTING", "kubernetes postrouting rules"));
    IptRule ret = jump("KUBE-POSTROUTING", "RETURN");
    ret.mark = IptRule::Mark{kMasqBit, kMasqBit, true};
    R.push_back(ret);
    IptRule x;
    x.chain = "KUBE-POSTROUTING";
    x.target = IptRule::Target::kMarkXor;
    x.mark_bits = kMasqBit;
    R.push_back(x);
    IptRule m;
    m.chain = "KUBE-POSTROUTING";
    m.comment = "kubernetes service traffic requiring SNAT";
    m.target = IptRule::Target::kMasquerade;
    m.random_fully = true;
    R.push_back(m);
  }
  IptRule mm;
  mm.chain = "KUBE-MARK-MASQ";
  mm.target = IptRule::Target::kMarkOr;
  mm.mark_bits = kMasqBit;
  R.push_back(mm);

  IptTable& filter = t.filter;
  filter.chains = {"KUBE-FORWARD", "KUBE-SERVICES"};
  filter.rules.push_back(jump("FORWARD", "KUBE-FORWARD", "kubernetes forwarding rules"));
  filter.rules.push_back(jump("FORWARD", "KUBE-SERVICES", "kubernetes service portals"));
  filter.rules.push_back(jump("OUTPUT", "KUBE-SERVICES", "kubernetes service portals"));
  IptRule fwd = jump("KUBE-FORWARD", "ACCEPT", "kubernetes forwarding rules");
  fwd.mark = IptRule::Mark{kMasqBit, kMasqBit, false};
  filter.rules.push_back(fwd);

  std::vector<IptRule> nodeports;
  for (const auto& s : services) {
    std::string key = s.name + "/" + s.proto;
    std::string svc = chain_name("KUBE-SVC-", key);
    auto clusterip = [&](std::string chain, std::string to) {
      IptRule r = jump(std::move(chain), std::move(to), s.name + " cluster IP");
      r.dst = host(s.cluster_ip);
      r.proto = s.proto;
      r.dport = s.port;
      return r;
    };
    if (s.endpoints.empty()) {
      IptRule rej;
      rej.chain = "KUBE-SERVICES";
      rej.dst = host(s.cluster_ip);
      rej.proto = s.proto;
      rej.dport = s.port;
      rej.comment = s.name + " has no endpoints";
      rej.target = IptRule::Target::kReject;
      filter.rules.push_back(rej);
      continue;
    }
    nat.chains.push_back(svc);
    R.push_back(clusterip("KUBE-SERVICES", svc));
    IptRule masq = clusterip(svc, "KUBE-MARK-MASQ");
    masq.src = kClusterCidr;
    masq.src_negated = true;
    R.push_back(masq);
    if (s.node_port) {
      IptRule np = jump("KUBE-NODEPORTS", svc, s.name);
      np.proto = s.proto;
      np.dport = s.node_port;
      nodeports.push_back(np);
    }
    std::vector<std::string> seps;
    for (const auto& e : s.endpoints)
      seps.push_back(chain_name("KUBE-SEP-", key + "/" + e.ip.str() + ":" + std::to_string(e.port)));
    auto ep_comment = [&](const Endpoint& e) {
      return fmt::format("{} -> {}:{}", s.name, e.ip.str(), e.port);
    };
    if (s.affinity)
      for (std::size_t i = 0; i < seps.size(); ++i) {
        IptRule r = jump(svc, seps[i], ep_comment(s.endpoints[i]));
        r.recent = IptRule::Recent{seps[i], false, 10800, true};
        R.push_back(r);
      }
    for (std::size_t i = 0; i < seps.size(); ++i) {
      IptRule r = jump(svc, seps[i], ep_comment(s.endpoints[i]));
      if (i + 1 < seps.size()) r.probability = 1.0 / static_cast<double>(seps.size() - i);
      R.push_back(r);
    }
    for (std::size_t i = 0; i < seps.size(); ++i) {
      const auto& e = s.endpoints[i];
      nat.chains.push_back(seps[i]);
      IptRule hair = jump(seps[i], "KUBE-MARK-MASQ", s.name);
      hair.src = host(e.ip);
      R.push_back(hair);
      IptRule dnat;
      dnat.chain = seps[i];
      dnat.proto = s.proto;
      dnat.comment = s.name;
      if (s.affinity) dnat.recent = IptRule::Recent{seps[i], true, 0, false};
      dnat.want_proto_match = true;
      dnat.target = IptRule::Target::kDnat;
      dnat.to_ip = e.ip;
      dnat.to_port = e.port;
      R.push_back(dnat);
    }
  }
  R.insert(R.end(), nodeports.begin(), nodeports.end());
  IptRule local = jump("KUBE-SERVICES", "KUBE-NODEPORTS",
                       "kubernetes service nodeports; NOTE: this must be the last rule in this chain");
  local.dst_type_local = true;
  R.push_back(local);
  return t;
}

std::vector<Service> demo_services(bool small) {
  std::vector<Service> out;
  if (!small)
    out.push_back(Service{"default/web:http", ip("10.96.0.10"), 80, "tcp",
                          {{ip("10.244.1.2"), 8080}, {ip("10.244.2.2"), 8080}, {ip("10.244.3.2"), 8080}},
                          30080, true});
  out.push_back(Service{"kube-system/kube-dns:dns", ip("10.96.0.53"), 53, "udp",
                        {{ip("10.244.1.3"), 53}}, 0, false});
  if (!small) out.push_back(Service{"default/empty:http", ip("10.96.0.11"), 80, "tcp", {}, 0, false});
  return out;
}

std::vector<Service> bench_services(unsigned n) {
  std::vector<Service> out;
  out.reserve(n);
  const std::uint32_t svc_base = ip("10.96.0.0").value, ep_base = ip("10.244.0.0").value;
  for (unsigned i = 0; i < n; ++i) {
    Service s{fmt::format("bench/svc-{}:http", i), ip(svc_base + 1 + i), 80, "tcp", {}, 0, false};
    for (unsigned k = 0; k < 3; ++k) s.endpoints.push_back({ip(ep_base + 2 + i * 3 + k), 8080});
    out.push_back(std::move(s));
  }
  return out;
}

// The forms kube-proxy's tables do not all use: interfaces, masks, bare and escaped comments,
// extreme probabilities, DNAT without a port, fall-through, verdicts.
std::vector<IptTable> edge_tables() {
  IptTable nat{"nat", {"KUBE-EDGE"}, {}};
  auto& R = nat.rules;
  auto add = [&](IptRule r) { R.push_back(std::move(r)); };
  IptRule r = jump("KUBE-EDGE", "RETURN");
  r.in_iface = "eth+";
  r.out_iface = "veth0";
  add(r);
  r = jump("KUBE-EDGE", "RETURN");
  r.mark = IptRule::Mark{0x4000, 0xffffffff, false};
  add(r);
  r.mark = IptRule::Mark{0, 0xffffffff, false};
  add(r);
  r = jump("KUBE-EDGE", "RETURN");
  r.dst = *Cidr::parse("10.1.2.3/16", false);
  add(r);
  r = jump("KUBE-EDGE", "RETURN");
  r.src = *Cidr::parse("0.0.0.0/0");
  r.src_negated = true;
  add(r);
  r = jump("KUBE-EDGE", "ACCEPT", "abc");
  r.proto = "tcp";
  r.want_proto_match = true;
  add(r);
  add(jump("KUBE-EDGE", "DROP", "it's \"quoted\" \\ and tab\there"));
  for (double p : {1.0, 0.2, 0.0, 0.25, 0.999}) {
    r = jump("KUBE-EDGE", "RETURN");
    r.probability = p;
    add(r);
  }
  for (auto t : {IptRule::Target::kMarkOr, IptRule::Target::kMarkXor}) {
    r = IptRule{};
    r.chain = "KUBE-EDGE";
    r.target = t;
    r.mark_bits = t == IptRule::Target::kMarkOr ? 0u : 0x4000u;
    add(r);
  }
  r = jump("KUBE-EDGE", "RETURN");
  r.recent = IptRule::Recent{"FOO", false, 0, false};
  add(r);
  r.recent = IptRule::Recent{"FOO", false, 5, false};
  add(r);
  r = IptRule{};
  r.chain = "KUBE-EDGE";
  r.target = IptRule::Target::kMasquerade;
  add(r);
  r = IptRule{};
  r.chain = "KUBE-EDGE";
  r.proto = "udp";
  r.target = IptRule::Target::kDnat;
  r.to_ip = ip("10.244.1.2");
  add(r);
  r = IptRule{};
  r.chain = "KUBE-EDGE";
  r.src = *Cidr::parse("10.0.0.1/32");  // no target: falls through
  add(r);
  r = jump("KUBE-EDGE", "ACCEPT");
  r.in_iface = "eth0";
  r.proto = "udp";
  r.dport = 53;
  add(r);

  IptTable filter{"filter", {"KUBE-EDGE"}, {}};
  filter.rules.push_back(jump("FORWARD", "KUBE-EDGE"));
  IptRule rej;
  rej.chain = "KUBE-EDGE";
  rej.target = IptRule::Target::kReject;
  filter.rules.push_back(rej);
  rej.proto = "udp";
  rej.dport = 5353;
  filter.rules.push_back(rej);
  return {nat, filter};
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

int usage() {
  std::fputs("usage: knlab-ipt-apply NETNS (--demo [--small] | --edge | --empty | --bad | "
             "--bad-kernel | --bench S [--no-apply])\n",
             stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  std::string netns = argv[1];
  std::string mode = argv[2];
  bool small = false, apply = true;
  unsigned services = 0;
  for (int i = 3; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--small")
      small = true;
    else if (a == "--no-apply")
      apply = false;
    else if (mode == "--bench" && services == 0)
      services = static_cast<unsigned>(std::strtoul(argv[i], nullptr, 10));
    else
      return usage();
  }

  auto t0 = std::chrono::steady_clock::now();
  std::vector<IptTable> tables;
  if (mode == "--demo") {
    Tables t = kube_proxy(demo_services(small), !small);
    tables = {std::move(t.nat), std::move(t.filter)};
  } else if (mode == "--edge") {
    tables = edge_tables();
  } else if (mode == "--empty") {
    tables = {IptTable{"nat", {}, {}}, IptTable{"filter", {}, {}}};
  } else if (mode == "--bench" && services > 0) {
    tables.push_back(std::move(kube_proxy(bench_services(services)).nat));
  } else if (mode == "--bad") {
    // DNAT reached from POSTROUTING: every rule is well formed, the graph is not.
    IptTable nat{"nat", {"KUBE-BAD"}, {}};
    nat.rules.push_back(jump("POSTROUTING", "KUBE-BAD", "bad hook"));
    IptRule d;
    d.chain = "KUBE-BAD";
    d.proto = "tcp";
    d.want_proto_match = true;
    d.target = IptRule::Target::kDnat;
    d.to_ip = ip("10.244.1.2");
    d.to_port = 8080;
    nat.rules.push_back(d);
    tables.push_back(std::move(nat));
  } else if (mode == "--bad-kernel") {
    // The demo's nat table with a DNAT rule added to KUBE-MARK-MASQ: fine unless something outside
    // kn-lab's rules jumps to KUBE-MARK-MASQ from POSTROUTING (the test adds such a chain).
    Tables t = kube_proxy(demo_services(false));
    IptRule d;
    d.chain = "KUBE-MARK-MASQ";
    d.proto = "tcp";
    d.want_proto_match = true;
    d.target = IptRule::Target::kDnat;
    d.to_ip = ip("10.244.1.2");
    d.to_port = 8080;
    t.nat.rules.push_back(d);
    tables.push_back(std::move(t.nat));
  } else {
    return usage();
  }
  double build_ms = ms_since(t0);

  if (apply) {
    auto ns = NetnsRef::open(netns);
    if (!ns) {
      std::fprintf(stderr, "%s\n", ns.error().format().c_str());
      return 1;
    }
    for (const auto& t : tables) {
      auto t1 = std::chrono::steady_clock::now();
      auto st = iptables_apply(*ns, t);
      double apply_ms = ms_since(t1);
      if (!st) {
        std::fprintf(stderr, "%s\n", st.error().format().c_str());
        return 1;
      }
      if (mode == "--bench")
        std::fprintf(stderr, "table=%s rules=%zu chains=%zu build_ms=%.1f apply_ms=%.1f\n",
                     t.name.c_str(), t.rules.size(), t.chains.size(), build_ms, apply_ms);
    }
  }
  if (mode == "--bench" && apply) return 0;
  std::string text;
  for (const auto& t : tables) text += render_iptables_save(t);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
