#include "plan/kube_proxy.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>

#include "core/hash.hpp"
#include "core/text.hpp"

namespace knlab {

namespace {

std::string endpoint_str(const ServicePortPlan& p, const EndpointPlan& e) { return fmt::format("{}:{}", e.ip.str(), p.target_port); }

IptRule rule(std::string chain) {
  IptRule r;
  r.chain = std::move(chain);
  return r;
}

IptRule jump(std::string chain, std::string to, std::string comment = {}) { return jump_rule(std::move(chain), std::move(to), std::move(comment)); }

// Above this many endpoints (all Services' together) kube-proxy is in "large cluster mode": the
// rules of the KUBE-SVC-/KUBE-SVL- and KUBE-SEP- chains go without their comment match, which
// makes up about half of each rule's bytes (kube-proxy's largeClusterEndpointsThreshold).
constexpr std::size_t kLargeClusterEndpoints = 1000;

bool large_cluster_mode(const LabPlan& plan) {
  std::size_t endpoints = 0;
  for (const ServicePlan& s : plan.services) endpoints += s.endpoints.size() * s.ports.size();
  return endpoints > kLargeClusterEndpoints;
}

// Jumps to endpoint chains, each taken with probability 1/(n-i) so that every endpoint gets
// 1/n of new connections; with ClientIP affinity, a recent-match rule per endpoint first.
void balance(std::vector<IptRule>& rules, const std::string& chain, const ServicePlan& s, const ServicePortPlan& p,
             const std::vector<const EndpointPlan*>& eps, bool large) {
  auto comment = [&](const EndpointPlan& e) { return large ? std::string() : fmt::format("{} -> {}", s.port_id(p), endpoint_str(p, e)); };
  if (s.spec.session_affinity)
    for (const EndpointPlan* e : eps) {
      IptRule r = jump(chain, sep_chain(s, p, *e), comment(*e));
      r.recent = IptRule::Recent{sep_chain(s, p, *e), false, 10800, true};
      rules.push_back(std::move(r));
    }
  for (std::size_t i = 0; i < eps.size(); ++i) {
    IptRule r = jump(chain, sep_chain(s, p, *eps[i]), comment(*eps[i]));
    if (i + 1 < eps.size()) r.probability = 1.0 / static_cast<double>(eps.size() - i);
    rules.push_back(std::move(r));
  }
}

}  // namespace

std::string svc_chain(const ServicePlan& s, const ServicePortPlan& p) { return "KUBE-SVC-" + hash16(s.port_id(p) + lower(p.protocol)); }
std::string ext_chain(const ServicePlan& s, const ServicePortPlan& p) { return "KUBE-EXT-" + hash16(s.port_id(p) + lower(p.protocol)); }
std::string svl_chain(const ServicePlan& s, const ServicePortPlan& p) { return "KUBE-SVL-" + hash16(s.port_id(p) + lower(p.protocol)); }
std::string sep_chain(const ServicePlan& s, const ServicePortPlan& p, const EndpointPlan& e) {
  return "KUBE-SEP-" + hash16(s.port_id(p) + lower(p.protocol) + endpoint_str(p, e));
}

namespace {

// The tables being built for one node, with the per-service chains and the NodePort rules kept
// apart until the end (kube-proxy writes them after KUBE-SERVICES' last rule).
struct ProxyTables {
  IptTable nat{"nat", {"KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"}, {}};
  IptTable filter{"filter", {"KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES"}, {}};
  std::vector<IptRule> per_service;  // KUBE-SVC/EXT/SVL/SEP chains, after KUBE-SERVICES
  std::vector<IptRule> nodeports;
};

// Hooks from the built-in chains, then the masquerade machinery: packets marked 0x4000 on the
// way in leave with the node's address.
void base_rules(ProxyTables& t) {
  auto& n = t.nat.rules;
  n.push_back(jump("PREROUTING", "KUBE-SERVICES", "kubernetes service portals"));
  n.push_back(jump("OUTPUT", "KUBE-SERVICES", "kubernetes service portals"));
  n.push_back(jump("POSTROUTING", "KUBE-POSTROUTING", "kubernetes postrouting rules"));
  IptRule r = rule("KUBE-MARK-MASQ");
  r.target = IptRule::Target::kMarkOr;
  r.mark_bits = kMasqMark;
  n.push_back(r);
  IptRule ret = jump("KUBE-POSTROUTING", "RETURN");
  ret.mark = IptRule::Mark{kMasqMark, kMasqMark, true};
  n.push_back(ret);
  IptRule x = rule("KUBE-POSTROUTING");
  x.target = IptRule::Target::kMarkXor;
  x.mark_bits = kMasqMark;
  n.push_back(x);
  IptRule m = rule("KUBE-POSTROUTING");
  m.comment = "kubernetes service traffic requiring SNAT";
  m.target = IptRule::Target::kMasquerade;
  m.random_fully = true;
  n.push_back(m);
  auto& f = t.filter.rules;
  f.push_back(jump("INPUT", "KUBE-EXTERNAL-SERVICES", "kubernetes externally-visible service portals"));
  f.push_back(jump("FORWARD", "KUBE-SERVICES", "kubernetes service portals"));
  f.push_back(jump("FORWARD", "KUBE-EXTERNAL-SERVICES", "kubernetes externally-visible service portals"));
  f.push_back(jump("OUTPUT", "KUBE-SERVICES", "kubernetes service portals"));
}

// One service port being written: what its rules match on.
struct PortRules {
  const ServicePlan& s;
  const ServicePortPlan& p;
  std::string proto, id;
  bool large = false;  // kube-proxy's large cluster mode: no comment on endpoint rules
  IptRule match_vip(IptRule r) const {
    r.dst = Cidr{s.cluster_ip, 32};
    r.proto = proto;
    r.dport = p.port;
    return r;
  }
  IptRule on_node_port(IptRule r) const {
    r.proto = proto;
    r.dport = *p.node_port;
    return r;
  }
};

// No endpoint: refuse at once (ICMP port unreachable) instead of letting the client time out.
void reject_without_endpoints(ProxyTables& t, const PortRules& pr) {
  IptRule r = pr.match_vip(rule("KUBE-SERVICES"));
  r.comment = fmt::format("{} has no endpoints", pr.id);
  r.target = IptRule::Target::kReject;
  t.filter.rules.push_back(r);
  if (!pr.p.node_port) return;
  IptRule np = pr.on_node_port(rule("KUBE-EXTERNAL-SERVICES"));
  np.comment = fmt::format("{} has no endpoints", pr.id);
  np.dst_type_local = true;
  np.target = IptRule::Target::kReject;
  t.filter.rules.push_back(np);
}

void external_rules(ProxyTables& t, const PortRules& pr, const Cidr& pods, const std::vector<const EndpointPlan*>& local) {
  std::string svc = svc_chain(pr.s, pr.p), ext = ext_chain(pr.s, pr.p), svl = svl_chain(pr.s, pr.p);
  t.nat.chains.push_back(ext);
  t.nodeports.push_back(pr.on_node_port(jump("KUBE-NODEPORTS", ext, pr.id)));
  if (!pr.s.spec.local_traffic_policy) {
    // externalTrafficPolicy: Cluster: any node forwards to any endpoint, SNAT on the way so that
    // the reply comes back through this node (the client IP is lost).
    t.per_service.push_back(jump(ext, "KUBE-MARK-MASQ", fmt::format("masquerade traffic for {} external destinations", pr.id)));
    t.per_service.push_back(jump(ext, svc));
    return;
  }
  // Local: only this node's endpoints, no SNAT (the client IP is kept); pods may still use
  // every endpoint.
  IptRule from_pods = jump(ext, svc, fmt::format("pod traffic for {} external destinations", pr.id));
  from_pods.src = pods;
  t.per_service.push_back(from_pods);
  if (local.empty()) {
    IptRule drop = pr.on_node_port(rule("KUBE-EXTERNAL-SERVICES"));
    drop.comment = fmt::format("{} has no local endpoints", pr.id);
    drop.dst_type_local = true;
    drop.jump = "DROP";
    t.filter.rules.push_back(drop);
    return;
  }
  t.nat.chains.push_back(svl);
  t.per_service.push_back(jump(ext, svl));
  balance(t.per_service, svl, pr.s, pr.p, local, pr.large);
}

void endpoint_rules(ProxyTables& t, const PortRules& pr, const std::vector<const EndpointPlan*>& eps) {
  for (const EndpointPlan* e : eps) {
    std::string sep = sep_chain(pr.s, pr.p, *e);
    t.nat.chains.push_back(sep);
    // Hairpin: a pod reaching itself through the Service is masqueraded, or its own reply would
    // short-cut the NAT.
    IptRule hairpin = jump(sep, "KUBE-MARK-MASQ", pr.large ? std::string() : pr.id);
    hairpin.src = Cidr{e->ip, 32};
    t.per_service.push_back(hairpin);
    IptRule dnat = rule(sep);
    dnat.proto = pr.proto;
    dnat.want_proto_match = true;
    if (!pr.large) dnat.comment = pr.id;
    if (pr.s.spec.session_affinity) dnat.recent = IptRule::Recent{sep, true, 0, false};
    dnat.target = IptRule::Target::kDnat;
    dnat.to_ip = e->ip;
    dnat.to_port = pr.p.target_port;
    t.per_service.push_back(dnat);
  }
}

void service_port_rules(ProxyTables& t, const LabPlan& plan, const NodePlan& node, const PortRules& pr) {
  std::vector<const EndpointPlan*> eps, local;
  for (const EndpointPlan& e : pr.s.endpoints) {
    eps.push_back(&e);
    if (e.node == node.name) local.push_back(&e);
  }
  if (eps.empty()) return reject_without_endpoints(t, pr);
  std::string svc = svc_chain(pr.s, pr.p);
  t.nat.chains.push_back(svc);
  t.nat.rules.push_back(pr.match_vip(jump("KUBE-SERVICES", svc, fmt::format("{} cluster IP", pr.id))));
  if (pr.s.lb_ip) {
    // In-cluster traffic to the EXTERNAL-IP short-cuts the cloud, as kube-proxy does.
    IptRule lb = jump("KUBE-SERVICES", ext_chain(pr.s, pr.p), fmt::format("{} loadbalancer IP", pr.id));
    lb.dst = Cidr{*pr.s.lb_ip, 32};
    lb.proto = pr.proto;
    lb.dport = pr.p.port;
    t.nat.rules.push_back(lb);
  }
  // Traffic to the cluster IP from outside the pod network (a node itself) is masqueraded.
  IptRule r = pr.match_vip(jump(svc, "KUBE-MARK-MASQ", fmt::format("{} cluster IP", pr.id)));
  r.src = plan.cluster.pod_cidr;
  r.src_negated = true;
  t.per_service.push_back(r);
  balance(t.per_service, svc, pr.s, pr.p, eps, pr.large);
  if (pr.p.node_port) external_rules(t, pr, plan.cluster.pod_cidr, local);
  endpoint_rules(t, pr, eps);
}

}  // namespace

bool kube_proxy_same_on_every_node(const LabPlan& plan) {
  return std::none_of(plan.services.begin(), plan.services.end(), [](const ServicePlan& s) {
    return s.spec.local_traffic_policy &&
           (s.lb_ip || std::any_of(s.ports.begin(), s.ports.end(), [](const ServicePortPlan& p) { return p.node_port.has_value(); }));
  });
}

std::vector<IptTable> kube_proxy_tables(const LabPlan& plan, const NodePlan& node) {
  ProxyTables t;
  base_rules(t);
  bool large = large_cluster_mode(plan);
  for (const ServicePlan& s : plan.services)
    for (const ServicePortPlan& p : s.ports)
      service_port_rules(t, plan, node, PortRules{s, p, lower(p.protocol), s.port_id(p), large});
  IptRule last = jump("KUBE-SERVICES", "KUBE-NODEPORTS",
                      "kubernetes service nodeports; NOTE: this must be the last rule in this chain");
  last.dst_type_local = true;
  t.nat.rules.push_back(last);
  t.nat.rules.insert(t.nat.rules.end(), t.nodeports.begin(), t.nodeports.end());
  t.nat.rules.insert(t.nat.rules.end(), t.per_service.begin(), t.per_service.end());
  return {t.nat, t.filter};
}

IptTable cloud_lb_table(const LabPlan& plan) {
  IptTable t{"nat", {"CLOUD-LB-SERVICES"}, {}};
  t.rules.push_back(jump("PREROUTING", "CLOUD-LB-SERVICES", "cloud load balancer"));
  for (const ServicePlan& s : plan.services)
  for (const ServicePortPlan& p : s.ports) {
    if (!s.lb_ip || !p.node_port) continue;
    std::vector<const NodePlan*> backends;
    for (const NodePlan& n : plan.nodes) {
      bool local = std::any_of(s.endpoints.begin(), s.endpoints.end(), [&](const EndpointPlan& e) { return e.node == n.name; });
      if (!s.spec.local_traffic_policy || local) backends.push_back(&n);
    }
    std::string chain = "CLOUD-LB-" + hash16(s.port_id(p) + lower(p.protocol));
    t.chains.push_back(chain);
    IptRule entry = jump("CLOUD-LB-SERVICES", chain, fmt::format("{} loadbalancer", s.port_id(p)));
    entry.dst = Cidr{*s.lb_ip, 32};
    entry.proto = lower(p.protocol);
    entry.dport = p.port;
    t.rules.push_back(entry);
    for (std::size_t i = 0; i < backends.size(); ++i) {
      IptRule r = rule(chain);
      r.proto = lower(p.protocol);
      r.want_proto_match = true;
      r.comment = fmt::format("{} -> {} {}:{}", s.port_id(p), backends[i]->name, backends[i]->ip.addr.str(), *p.node_port);
      if (i + 1 < backends.size()) r.probability = 1.0 / static_cast<double>(backends.size() - i);
      r.target = IptRule::Target::kDnat;
      r.to_ip = backends[i]->ip.addr;
      r.to_port = *p.node_port;
      t.rules.push_back(r);
    }
  }
  IptRule masq = rule("POSTROUTING");
  masq.out_iface = "eth0";
  masq.comment = "cloud load balancer: replies come back through it";
  masq.target = IptRule::Target::kMasquerade;
  t.rules.push_back(masq);
  return t;
}

}  // namespace knlab
