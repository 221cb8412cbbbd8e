#include "plan/bird.hpp"

#include <fmt/core.h>

#include "plan/naming.hpp"

namespace knlab {

std::string bird_symbol(std::string_view name) {
  std::string s(name);
  for (char& c : s)
    if (c == '-') c = '_';
  if (!s.empty() && s.front() >= '0' && s.front() <= '9') s = "n_" + s;
  return s;
}

std::vector<BirdInstance> bird_instances(const LabPlan& plan) {
  std::vector<BirdInstance> out;
  if (plan.cluster.cni != CniMode::kBgp || !plan.has_wire()) return out;
  auto base = [&](std::string owner, std::string netns, Ipv4 id) {
    BirdInstance b;
    b.owner = std::move(owner);
    b.netns = std::move(netns);
    b.router_id = id;
    b.dir = fmt::format("{}/bird/{}", plan.state_dir, b.owner);
    b.log_path = fmt::format("{}/logs/{}_bird.log", plan.state_dir, b.owner);
    return b;
  };
  bool reflector = !plan.router_netns.empty();
  for (const NodePlan& n : plan.nodes) {
    BirdInstance b = base(n.name, n.netns, n.ip.addr);
    b.announce.push_back(n.pod_subnet);
    if (reflector) {
      b.peers.push_back({"reflector", *n.default_gateway, n.ip.addr, false, true});  // the router starts last
    } else {
      for (const NodePlan& peer : plan.nodes)
        if (&peer != &n) b.peers.push_back({bird_symbol(peer.name), peer.ip.addr, n.ip.addr, false, &peer > &n});
    }
    for (const NodePlan& peer : plan.nodes)
      if (&peer != &n) b.expect.push_back(peer.pod_subnet);
    out.push_back(std::move(b));
  }
  if (reflector) {
    BirdInstance r = base("router", plan.router_netns, plan.wires.front().router->addr);
    for (const NodePlan& n : plan.nodes) {
      r.peers.push_back({bird_symbol(n.name), n.ip.addr, *n.default_gateway, true, false});
      r.expect.push_back(n.pod_subnet);
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string bird_config(const BirdInstance& b) {
  std::string s = fmt::format(
      "# BIRD for {} (written by kn-lab): iBGP in AS {}, Calico style.\n"
      "router id {};\n"
      "log stderr all;\ndebug protocols {{ states, events }};\n\n"
      "protocol device {{ scan time 10; }}\n\n"
      "# Into the kernel: the blackholes of our own pod subnets and every route learned over BGP.\n"
      "protocol kernel {{\n"
      "  ipv4 {{ import none; export where source ~ [ RTS_STATIC, RTS_BGP ]; }};\n"
      "}}\n\n",
      b.owner, kBgpAs, b.router_id.str());
  if (!b.announce.empty()) {
    s += "# Our pod subnet: announced to the peers; the blackhole drops traffic to pod addresses\n"
         "# that do not exist instead of sending it back out (more specific routes win).\n"
         "protocol static pods {\n  ipv4;\n";
    for (auto& c : b.announce) s += fmt::format("  route {} blackhole;\n", c.str());
    s += "}\n\n";
  }
  s += fmt::format(
      "template bgp peers {{\n"
      "  local as {};\n"
      "  direct;                 # peers share a link: next hops are used as they are\n"
      "  ipv4 {{\n"
      "    import all;\n"
      "    export {};\n"
      "    next hop self;\n"
      "  }};\n"
      "  connect delay time 0;   # a lab comes up in a second, not after BIRD's default 5 s\n"
      "  connect retry time 1;\n"
      "  error wait time 1, 4;\n"
      "  hold time 9;\n"
      "  keepalive time 3;\n"
      "}}\n\n",
      kBgpAs, b.announce.empty() ? "all" : "where proto = \"pods\"");
  for (auto& p : b.peers)
    s += fmt::format("protocol bgp {} from peers {{\n  local {} as {};\n  neighbor {} as {};\n{}{}}}\n\n", p.name,
                     p.local.str(), kBgpAs, p.address.str(), kBgpAs, p.rr_client ? "  rr client;\n" : "",
                     p.passive ? "  passive on;   # the peer starts after us and connects\n" : "");
  return s;
}

}  // namespace knlab
