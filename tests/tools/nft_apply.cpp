// knlab-nft-apply: kube-proxy's nftables table of S services x 3 endpoints, rendered by
// plan/kube_proxy_nft and written by net/nftables (net/nft_batch: libnftnl), for bench/bench_rules.py
// and the end-to-end tests that compare its tables with nft -f's (test_nft_ruleset.py).
//
//   knlab-nft-apply NETNS --bench S           the whole table in one transaction, then one
//                                             service's change (a 4th endpoint) written as the
//                                             delta and as a full rewrite, each timed
//   knlab-nft-apply - --bench S --no-apply    only print the whole table's script (for nft -f)
//   knlab-nft-apply - --sample [--delta]     print a table of every rule shape kube-proxy's layout
//                                             has (affinity, NodePort Local, LoadBalancer, no
//                                             endpoints, UDP), or the delta of a change to it
//   knlab-nft-apply NETNS --file FILE         write FILE (kn-lab's nftables dialect) as kn-lab
//                                             does (net/nft_batch), for tests that compare the
//                                             table with the one `nft -f FILE` makes
//
// stderr: the timings as "key=value" words (seconds); the error and exit 1 on failure.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/netns.hpp"
#include "net/nft_batch.hpp"
#include "net/nftables.hpp"
#include "ops/nft.hpp"
#include "plan/kube_proxy_nft.hpp"

using namespace knlab;

namespace {

// S services of 3 endpoints each on a one-node lab: 10.96.x.y:80 -> 10.244.a.b:8080.
LabPlan lab_of(int services) {
  LabPlan plan;
  plan.cluster.proxy_mode = ProxyMode::kNftables;
  NodePlan node;
  node.name = "node1";
  node.ip = *Cidr::parse("192.168.56.11/24", false);
  plan.nodes.push_back(node);
  for (int i = 0; i < services; ++i) {
    ServicePlan s;
    s.spec.ns = "default";
    s.spec.name = fmt::format("svc{}", i);
    s.cluster_ip = Ipv4{0x0a600000u + 16u + static_cast<std::uint32_t>(i)};
    s.ports.push_back(ServicePortPlan{"http", "TCP", 80, 8080, std::nullopt});
    for (std::uint32_t e = 0; e < 3; ++e)
      s.endpoints.push_back({fmt::format("pod{}-{}", i, e), "node1", Ipv4{0x0af40000u + 256u + static_cast<std::uint32_t>(i) * 3u + e}});
    plan.services.push_back(std::move(s));
  }
  return plan;
}

// Two nodes; Services of every kind on node1's table: affinity, NodePort with
// externalTrafficPolicy Local (endpoints on node1 and only on node2), LoadBalancer, UDP, none.
LabPlan sample_lab() {
  LabPlan plan;
  plan.cluster.proxy_mode = ProxyMode::kNftables;
  for (int n = 1; n <= 2; ++n) {
    NodePlan node;
    node.name = fmt::format("node{}", n);
    node.ip = *Cidr::parse(fmt::format("192.168.56.1{}/24", n), false);
    plan.nodes.push_back(node);
  }
  auto service = [&](std::string name, std::string proto, int endpoints, std::string node) -> ServicePlan& {
    ServicePlan s;
    s.spec.ns = "default";
    s.spec.name = std::move(name);
    s.cluster_ip = Ipv4{0x0a600000u + 16u + static_cast<std::uint32_t>(plan.services.size())};
    s.ports.push_back(ServicePortPlan{"p", proto, 80, 8080, std::nullopt});
    for (int e = 0; e < endpoints; ++e)
      s.endpoints.push_back({fmt::format("{}-{}", s.spec.name, e), node, Ipv4{0x0af40100u + static_cast<std::uint32_t>(plan.services.size() * 8 + static_cast<std::size_t>(e))}});
    plan.services.push_back(std::move(s));
    return plan.services.back();
  };
  service("sticky", "TCP", 2, "node1").spec.session_affinity = true;
  for (auto [name, node] : {std::pair{"local-here", "node1"}, std::pair{"local-away", "node2"}}) {
    ServicePlan& s = service(name, "TCP", 1, node);
    s.spec.local_traffic_policy = true;
    s.ports[0].node_port = static_cast<std::uint16_t>(30080 + plan.services.size());
  }
  ServicePlan& lb = service("lb", "TCP", 3, "node2");
  lb.ports[0].node_port = 30090;
  lb.lb_ip = Ipv4{0xc0a8380au + 0x10u};
  service("dns", "UDP", 1, "node1");
  service("many", "TCP", 200, "node1");  // its numgen map's elements take two messages
  service("empty", "TCP", 0, "node1").ports[0].node_port = 30091;
  return plan;
}

// The sample changed: affinity off, one Service gone, one endpoint more, one less.
LabPlan sample_changed() {
  LabPlan plan = sample_lab();
  plan.services[0].spec.session_affinity = false;
  plan.services.erase(plan.services.begin() + 1);
  plan.services[2].endpoints.pop_back();
  plan.services[3].endpoints.push_back({"dns-new", "node2", Ipv4{0x0af402f0u}});
  return plan;
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int fail_with(const Error& e) {
  fmt::print(stderr, "{}\n", e.format());
  return 1;
}

}  // namespace

// The script of FILE compiled and sent as kn-lab does (no libnftables fallback).
int apply_file(const char* netns, const char* file) {
  std::FILE* f = std::fopen(file, "r");
  if (!f) return fmt::print(stderr, "cannot read {}\n", file), 1;
  std::string script;
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) script.append(buf, n);
  std::fclose(f);
  auto ns = NetnsRef::open(netns);
  if (!ns) return fail_with(ns.error());
  auto messages = nft_compile(script);
  if (!messages) return fail_with(messages.error());
  auto inside = ScopedNetns::enter(*ns);
  if (!inside) return fail_with(inside.error());
  if (auto st = nft_send_here({NftPart{&*messages, &script}}, netns); !st) return fail_with(st.error());
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 4 && std::string_view(argv[2]) == "--file") return apply_file(argv[1], argv[3]);
  if (argc >= 3 && std::string_view(argv[2]) == "--sample") {
    LabPlan plan = sample_lab();
    NftTable table = kube_proxy_nft(plan, plan.nodes[0]);
    if (argc == 4 && std::string_view(argv[3]) == "--delta") {
      LabPlan changed = sample_changed();
      fmt::print("{}", render_nft_delta(table, kube_proxy_nft(changed, changed.nodes[0])));
    } else {
      fmt::print("{}", render_nft_replace(table));
    }
    return 0;
  }
  if (argc < 4 || std::string_view(argv[2]) != "--bench") {
    fmt::print(stderr, "usage: knlab-nft-apply NETNS --bench S [--no-apply] | NETNS --file FILE\n");
    return 2;
  }
  int services = std::atoi(argv[3]);
  bool apply = !(argc > 4 && std::string_view(argv[4]) == "--no-apply");
  auto t0 = std::chrono::steady_clock::now();
  LabPlan plan = lab_of(services);
  NftTable table = kube_proxy_nft(plan, plan.nodes[0]);
  std::string script = render_nft_replace(table);
  double render = since(t0);
  if (!apply) {
    fmt::print("{}", script);
    fmt::print(stderr, "render={:.6f} rules={}\n", render, nft_rule_count(table));
    return 0;
  }
  auto ns = NetnsRef::open(argv[1]);
  if (!ns) return fail_with(ns.error());
  t0 = std::chrono::steady_clock::now();
  if (auto st = nft_apply(*ns, script); !st) return fail_with(st.error());
  double full = since(t0);
  // One service scaled from 3 endpoints to 4: the delta, against the whole table again.
  LabPlan changed = plan;
  changed.services[0].endpoints.push_back({"pod-new", "node1", Ipv4{0x0af4f000u}});
  t0 = std::chrono::steady_clock::now();
  NftTable after = kube_proxy_nft(changed, changed.nodes[0]);
  std::string delta = render_nft_delta(table, after);
  if (auto st = nft_apply(*ns, delta); !st) return fail_with(st.error());
  double change = since(t0);
  t0 = std::chrono::steady_clock::now();
  std::string again = render_nft_replace(kube_proxy_nft(plan, plan.nodes[0]));
  if (auto st = nft_apply(*ns, again); !st) return fail_with(st.error());
  double rewrite = since(t0);
  fmt::print(stderr, "render={:.6f} apply={:.6f} change={:.6f} rewrite={:.6f} rules={} delta_lines={}\n", render, full, change, rewrite,
             nft_rule_count(table), std::count(delta.begin(), delta.end(), '\n'));
  return 0;
}
