#include "plan/kube_proxy_nft.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/hash.hpp"
#include "core/text.hpp"
#include "plan/kube_proxy.hpp"

namespace knlab {

namespace {

// kube-proxy's hashAndTruncate: 8 base32 characters of the name's SHA-256, a dash, the name
// (never longer than 240 here: DNS labels of 63 at most).
std::string hash_and_name(const std::string& name) {
  auto digest = sha256(name);
  return base32(digest.data(), digest.size()).substr(0, 8) + "-" + name;
}

std::string port_base(const ServicePlan& s, const ServicePortPlan& p) {
  return fmt::format("{}/{}/{}/{}", s.spec.ns, s.spec.name, lower(p.protocol), p.name);
}

std::string endpoint_base(const ServicePlan& s, const ServicePortPlan& p, const EndpointPlan& e) {
  return fmt::format("{}__{}/{}", port_base(s, p), e.ip.str(), p.target_port);
}

constexpr std::string_view kAddrProtoPort = "type ipv4_addr . inet_proto . inet_service : verdict";
constexpr std::string_view kProtoPort = "type inet_proto . inet_service : verdict";

NftSet set(std::string name, std::string_view type, std::string_view comment, bool map) {
  return NftSet{std::move(name), map, fmt::format("{} ; comment \"{}\" ;", type, comment), {}};
}

NftChain chain(std::string name, std::vector<std::string> rules, std::string spec = {}) {
  return NftChain{std::move(name), std::move(spec), std::move(rules)};
}

std::string hook(std::string_view type, std::string_view hook, int priority) {
  return fmt::format("type {} hook {} priority {} ;", type, hook, priority);
}

// The table one node is being given, with its sets by name.
struct Builder {
  NftTable t;
  std::map<std::string, std::set<std::string>, std::less<>> keys;  // per set: keys already there
  void element(std::string_view set_name, NftElement e) {
    if (!keys[std::string(set_name)].insert(e.key).second) return;  // a ClusterIP of several ports
    for (NftSet& s : t.sets)
      if (s.name == set_name) return s.elements.push_back(std::move(e));
  }
};

// The address NodePorts answer on: the node's own (its underlay address; a lab of one node has
// only cni0's).
NftElement node_address(const NodePlan& node) {
  Ipv4 ip = node.ip.addr != Ipv4{0} ? node.ip.addr : node.bridge_address.addr;
  return {ip.str(), "", ""};
}

// The sets, maps, base chains and fixed rules of kube-proxy's table.
void base(Builder& b, const LabPlan& plan, const NodePlan& node) {
  NftTable& t = b.t;
  t.name = "kube-proxy";
  t.comment = "rules for kube-proxy";
  t.sets = {set("cluster-ips", "type ipv4_addr", "Active ClusterIPs", false),
            set("nodeport-ips", "type ipv4_addr", "IPs that accept NodePort traffic", false),
            set("firewall-ips", kAddrProtoPort, "destinations that are subject to LoadBalancerSourceRanges", true),
            set("no-endpoint-nodeports", kProtoPort, "vmap to drop or reject packets to service nodeports with no endpoints", true),
            set("no-endpoint-services", kAddrProtoPort, "vmap to drop or reject packets to services with no endpoints", true),
            set("service-ips", kAddrProtoPort, "ClusterIP, ExternalIP and LoadBalancer IP traffic", true),
            set("service-nodeports", kProtoPort, "NodePort traffic", true)};
  t.chains = {
      chain("cluster-ips-check", {"ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\"",
                                  fmt::format("ip daddr {{ {} }} drop comment \"Drop traffic to unallocated ClusterIPs\"", plan.cluster.service_cidr.str())}),
      chain("filter-prerouting-pre-dnat", {"ct state new jump firewall-check"}, hook("filter", "prerouting", -110)),
      chain("filter-output-pre-dnat", {"ct state new jump firewall-check"}, hook("filter", "output", -110)),
      chain("filter-forward", {"ct state new jump service-endpoints-check", "ct state new jump cluster-ips-check"}, hook("filter", "forward", 0)),
      chain("filter-input", {"ct state new jump nodeport-endpoints-check", "ct state new jump service-endpoints-check"}, hook("filter", "input", 0)),
      chain("filter-output", {"ct state new jump service-endpoints-check", "ct state new jump cluster-ips-check"}, hook("filter", "output", 0)),
      chain("firewall-check", {"ip daddr . meta l4proto . th dport vmap @firewall-ips"}),
      chain("mark-for-masquerade", {fmt::format("mark set mark or {:#x}", kMasqMark)}),
      chain("masquerading", {fmt::format("mark and {:#x} == 0 return", kMasqMark), fmt::format("mark set mark xor {:#x}", kMasqMark),
                             "masquerade fully-random"}),
      chain("nat-output", {"jump services"}, hook("nat", "output", -100)),
      chain("nat-postrouting", {"jump masquerading"}, hook("nat", "postrouting", 100)),
      chain("nat-prerouting", {"jump services"}, hook("nat", "prerouting", -100)),
      chain("nodeport-endpoints-check", {"ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports"}),
      chain("reject-chain", {"reject"}, "comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\" ;"),
      chain("services", {"ip daddr . meta l4proto . th dport vmap @service-ips",
                         "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports"}),
      chain("service-endpoints-check", {"ip daddr . meta l4proto . th dport vmap @no-endpoint-services"}),
  };
  b.element("nodeport-ips", node_address(node));
}

// One service port being written, with its chains' names (each a SHA-256: made once).
struct Port {
  const ServicePlan& s;
  const ServicePortPlan& p;
  std::string proto, id;
  std::string hashed, svc, ext;
  std::map<const EndpointPlan*, std::string> endpoint_chains;
  Port(const ServicePlan& sv, const ServicePortPlan& pp)
      : s(sv), p(pp), proto(lower(pp.protocol)), id(sv.port_id(pp)), hashed(hash_and_name(port_base(sv, pp))),
        svc("service-" + hashed), ext("external-" + hashed) {
    for (const EndpointPlan& e : sv.endpoints) endpoint_chains[&e] = nft_endpoint_chain(sv, pp, e);
  }
  std::string key(Ipv4 ip, std::uint16_t port) const { return fmt::format("{} . {} . {}", ip.str(), proto, port); }
  const std::string& chain(const EndpointPlan* e) const { return endpoint_chains.at(e); }
  // "affinity-" and the endpoint chain's name after "endpoint-" (the same hashed name).
  std::string affinity(const EndpointPlan* e) const { return "affinity-" + chain(e).substr(std::string_view("endpoint-").size()); }
};

// Affinity first (a client seen within the timeout goes back to its endpoint), then one random
// pick among the endpoints: `numgen random mod N vmap { 0 : goto ..., 1 : goto ... }`.
std::vector<std::string> to_endpoints(const Port& sp, const std::vector<const EndpointPlan*>& eps) {
  std::vector<std::string> rules;
  if (sp.s.spec.session_affinity)
    for (const EndpointPlan* e : eps) rules.push_back(fmt::format("ip saddr @{} goto {}", sp.affinity(e), sp.chain(e)));
  std::string vmap;
  for (std::size_t i = 0; i < eps.size(); ++i) vmap += fmt::format("{}{} : goto {}", i ? " , " : "", i, sp.chain(eps[i]));
  rules.push_back(fmt::format("numgen random mod {} vmap {{ {} }}", eps.size(), vmap));
  return rules;
}

// NodePort and LoadBalancer traffic: Cluster masquerades and goes to any endpoint; Local keeps
// the client's address and goes only to this node's endpoints, except for traffic from pods and
// from the node itself, which short-circuits to the service chain.
void external(Builder& b, const Port& sp, const Cidr& pods, const std::vector<const EndpointPlan*>& local) {
  const std::string &svc = sp.svc, &ext = sp.ext;
  if (!sp.s.spec.local_traffic_policy) {
    b.t.chains.push_back(chain(ext, {"jump mark-for-masquerade", "goto " + svc}));
    return;
  }
  std::vector<std::string> rules{fmt::format("ip saddr {} goto {} comment \"short-circuit pod traffic\"", pods.str(), svc),
                                 "fib saddr type local jump mark-for-masquerade comment \"masquerade local traffic\"",
                                 fmt::format("fib saddr type local goto {} comment \"short-circuit local traffic\"", svc)};
  if (!local.empty()) {
    std::string loc = "local-" + sp.hashed;
    rules.push_back("goto " + loc);
    b.t.chains.push_back(chain(ext, std::move(rules)));
    b.t.chains.push_back(chain(loc, to_endpoints(sp, local)));
    return;
  }
  b.t.chains.push_back(chain(ext, std::move(rules)));
}

void endpoint_chains(Builder& b, const Port& sp, const std::vector<const EndpointPlan*>& eps) {
  for (const EndpointPlan* e : eps) {
    std::vector<std::string> rules{fmt::format("ip saddr {} jump mark-for-masquerade", e->ip.str())};
    if (sp.s.spec.session_affinity) {
      std::string aff = sp.affinity(e);
      b.t.sets.push_back(NftSet{aff, false, "type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ;", {}});
      rules.push_back(fmt::format("update @{} {{ ip saddr }}", aff));
    }
    rules.push_back(fmt::format("meta l4proto {} dnat to {}:{}", sp.proto, e->ip.str(), sp.p.target_port));
    b.t.chains.push_back(chain(sp.chain(e), std::move(rules)));
  }
}

// The verdict map entries that send the port's traffic to its chains, or, without endpoints,
// reject it (none at all) or drop it (Local, none on this node) before it goes further.
void map_entries(Builder& b, const Port& sp, bool has_endpoints, bool has_external) {
  const ServicePortPlan& p = sp.p;
  bool externally = p.node_port || sp.s.lb_ip;
  std::string ext_verdict = has_endpoints ? "drop" : "goto reject-chain";
  b.element("cluster-ips", {sp.s.cluster_ip.str(), "", ""});
  if (has_endpoints) b.element("service-ips", {sp.key(sp.s.cluster_ip, p.port), "goto " + sp.svc, ""});
  else b.element("no-endpoint-services", {sp.key(sp.s.cluster_ip, p.port), "goto reject-chain", sp.id});
  if (!externally) return;
  std::string to_ext = "goto " + sp.ext;
  if (sp.s.lb_ip) {
    if (has_endpoints) b.element("service-ips", {sp.key(*sp.s.lb_ip, p.port), to_ext, ""});
    if (!has_external) b.element("no-endpoint-services", {sp.key(*sp.s.lb_ip, p.port), ext_verdict, sp.id});
  }
  if (p.node_port) {
    std::string key = fmt::format("{} . {}", sp.proto, *p.node_port);
    if (has_endpoints) b.element("service-nodeports", {key, to_ext, ""});
    if (!has_external) b.element("no-endpoint-nodeports", {key, ext_verdict, sp.id});
  }
}

void service_port(Builder& b, const LabPlan& plan, const NodePlan& node, const Port& sp) {
  std::vector<const EndpointPlan*> eps, local;
  for (const EndpointPlan& e : sp.s.endpoints) {
    eps.push_back(&e);
    if (e.node == node.name) local.push_back(&e);
  }
  bool has_external = !eps.empty() && (!sp.s.spec.local_traffic_policy || !local.empty());
  map_entries(b, sp, !eps.empty(), has_external);
  if (eps.empty()) return;
  std::vector<std::string> rules{fmt::format("ip daddr {} {} dport {} ip saddr != {} jump mark-for-masquerade", sp.s.cluster_ip.str(),
                                             sp.proto, sp.p.port, plan.cluster.pod_cidr.str())};
  for (std::string& r : to_endpoints(sp, eps)) rules.push_back(std::move(r));
  b.t.chains.push_back(chain(sp.svc, std::move(rules)));
  if (sp.p.node_port || sp.s.lb_ip) external(b, sp, plan.cluster.pod_cidr, local);
  endpoint_chains(b, sp, eps);
}

}  // namespace

std::string nft_service_chain(const ServicePlan& s, const ServicePortPlan& p) { return "service-" + hash_and_name(port_base(s, p)); }
std::string nft_external_chain(const ServicePlan& s, const ServicePortPlan& p) { return "external-" + hash_and_name(port_base(s, p)); }
std::string nft_local_chain(const ServicePlan& s, const ServicePortPlan& p) { return "local-" + hash_and_name(port_base(s, p)); }
std::string nft_endpoint_chain(const ServicePlan& s, const ServicePortPlan& p, const EndpointPlan& e) {
  return "endpoint-" + hash_and_name(endpoint_base(s, p, e));
}
std::string nft_affinity_set(const ServicePlan& s, const ServicePortPlan& p, const EndpointPlan& e) {
  return "affinity-" + hash_and_name(endpoint_base(s, p, e));
}

NftTable kube_proxy_nft(const LabPlan& plan, const NodePlan& node) {
  Builder b;
  base(b, plan, node);
  for (const ServicePlan& s : plan.services)
    for (const ServicePortPlan& p : s.ports) service_port(b, plan, node, Port(s, p));
  return std::move(b.t);
}

std::vector<NftApply> kube_proxy_nft_ops(const LabPlan& plan) {
  std::vector<NftApply> out;
  if (plan.nodes.empty()) return out;
  // The first node's table without its address, shared; each node's address after it.
  NftTable shape = kube_proxy_nft(plan, plan.nodes.front());
  auto addresses = std::find_if(shape.sets.begin(), shape.sets.end(), [](const NftSet& s) { return s.name == "nodeport-ips"; });
  if (!kube_proxy_same_on_every_node(plan) || addresses == shape.sets.end()) {
    for (const NodePlan& n : plan.nodes) out.emplace_back(n.netns, render_nft_replace(kube_proxy_nft(plan, n)));
    return out;
  }
  addresses->elements.clear();
  auto common = std::make_shared<const std::string>(render_nft_replace(shape));
  for (const NodePlan& n : plan.nodes) {
    addresses->elements = {node_address(n)};
    out.emplace_back(n.netns, common, render_nft_elements(shape, *addresses));
  }
  return out;
}

bool uses_nft_proxy(const LabPlan& plan) { return plan.cluster.proxy_mode == ProxyMode::kNftables; }

}  // namespace knlab
