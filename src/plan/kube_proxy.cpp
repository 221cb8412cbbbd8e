#include "plan/kube_proxy.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>

#include "core/hash.hpp"

namespace knlab {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string hash16(const std::string& input) {
  auto digest = sha256(input);
  return base32(digest.data(), digest.size()).substr(0, 16);
}

std::string endpoint_str(const ServicePortPlan& p, const EndpointPlan& e) { return fmt::format("{}:{}", e.ip.str(), p.target_port); }

IptRule rule(std::string chain) {
  IptRule r;
  r.chain = std::move(chain);
  return r;
}

IptRule jump(std::string chain, std::string to, std::string comment = {}) {
  IptRule r = rule(std::move(chain));
  r.jump = std::move(to);
  r.comment = std::move(comment);
  return r;
}

// Jumps to endpoint chains, each taken with probability 1/(n-i) so that every endpoint gets
// 1/n of new connections; with ClientIP affinity, a recent-match rule per endpoint first.
void balance(std::vector<IptRule>& rules, const std::string& chain, const ServicePlan& s, const ServicePortPlan& p,
             const std::vector<const EndpointPlan*>& eps) {
  if (s.spec.session_affinity)
    for (const EndpointPlan* e : eps) {
      IptRule r = jump(chain, sep_chain(s, p, *e), fmt::format("{} -> {}", s.port_id(p), endpoint_str(p, *e)));
      r.recent = IptRule::Recent{sep_chain(s, p, *e), false, 10800, true};
      rules.push_back(std::move(r));
    }
  for (std::size_t i = 0; i < eps.size(); ++i) {
    IptRule r = jump(chain, sep_chain(s, p, *eps[i]), fmt::format("{} -> {}", s.port_id(p), endpoint_str(p, *eps[i])));
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

std::vector<IptTable> kube_proxy_tables(const LabPlan& plan, const NodePlan& node) {
  IptTable nat{"nat", {"KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"}, {}};
  IptTable filter{"filter", {"KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES"}, {}};
  auto& n = nat.rules;
  auto& f = filter.rules;
  const Cidr& pods = plan.cluster.pod_cidr;

  // Hooks from the built-in chains, then the masquerade machinery: packets marked 0x4000 on the
  // way in leave with the node's address.
  n.push_back(jump("PREROUTING", "KUBE-SERVICES", "kubernetes service portals"));
  n.push_back(jump("OUTPUT", "KUBE-SERVICES", "kubernetes service portals"));
  n.push_back(jump("POSTROUTING", "KUBE-POSTROUTING", "kubernetes postrouting rules"));
  {
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
  }
  f.push_back(jump("INPUT", "KUBE-EXTERNAL-SERVICES", "kubernetes externally-visible service portals"));
  f.push_back(jump("FORWARD", "KUBE-SERVICES", "kubernetes service portals"));
  f.push_back(jump("FORWARD", "KUBE-EXTERNAL-SERVICES", "kubernetes externally-visible service portals"));
  f.push_back(jump("OUTPUT", "KUBE-SERVICES", "kubernetes service portals"));

  std::vector<IptRule> per_service;  // KUBE-SVC/EXT/SVL/SEP chains, after KUBE-SERVICES
  std::vector<IptRule> nodeports;
  for (const ServicePlan& s : plan.services)
  for (const ServicePortPlan& p : s.ports) {
    std::string proto = lower(p.protocol);
    const std::string id = s.port_id(p);
    auto match_vip = [&](IptRule r) {
      r.dst = Cidr{s.cluster_ip, 32};
      r.proto = proto;
      r.dport = p.port;
      return r;
    };
    std::vector<const EndpointPlan*> eps, local;
    for (const EndpointPlan& e : s.endpoints) {
      eps.push_back(&e);
      if (e.node == node.name) local.push_back(&e);
    }
    if (eps.empty()) {
      // No endpoint: refuse at once (ICMP port unreachable) instead of letting the client time out.
      IptRule r = match_vip(rule("KUBE-SERVICES"));
      r.comment = fmt::format("{} has no endpoints", id);
      r.target = IptRule::Target::kReject;
      f.push_back(r);
      if (p.node_port) {
        IptRule np = rule("KUBE-EXTERNAL-SERVICES");
        np.proto = proto;
        np.dport = *p.node_port;
        np.comment = fmt::format("{} has no endpoints", id);
        np.dst_type_local = true;
        np.target = IptRule::Target::kReject;
        f.push_back(np);
      }
      continue;
    }
    std::string svc = svc_chain(s, p), ext = ext_chain(s, p), svl = svl_chain(s, p);
    nat.chains.push_back(svc);
    n.push_back(match_vip(jump("KUBE-SERVICES", svc, fmt::format("{} cluster IP", id))));
    if (s.lb_ip) {
      // In-cluster traffic to the EXTERNAL-IP short-cuts the cloud, as kube-proxy does.
      IptRule lb = jump("KUBE-SERVICES", ext, fmt::format("{} loadbalancer IP", id));
      lb.dst = Cidr{*s.lb_ip, 32};
      lb.proto = proto;
      lb.dport = p.port;
      n.push_back(lb);
    }
    {
      // Traffic to the cluster IP from outside the pod network (a node itself) is masqueraded.
      IptRule r = match_vip(jump(svc, "KUBE-MARK-MASQ", fmt::format("{} cluster IP", id)));
      r.src = pods;
      r.src_negated = true;
      per_service.push_back(r);
    }
    balance(per_service, svc, s, p, eps);
    if (p.node_port) {
      nat.chains.push_back(ext);
      IptRule np = jump("KUBE-NODEPORTS", ext, id);
      np.proto = proto;
      np.dport = *p.node_port;
      nodeports.push_back(np);
      if (!s.spec.local_traffic_policy) {
        // externalTrafficPolicy: Cluster: any node forwards to any endpoint, SNAT on the way
        // so that the reply comes back through this node (the client IP is lost).
        per_service.push_back(jump(ext, "KUBE-MARK-MASQ", fmt::format("masquerade traffic for {} external destinations", id)));
        per_service.push_back(jump(ext, svc));
      } else {
        // Local: only this node's endpoints, no SNAT (the client IP is kept); pods may still use
        // every endpoint.
        IptRule from_pods = jump(ext, svc, fmt::format("pod traffic for {} external destinations", id));
        from_pods.src = pods;
        per_service.push_back(from_pods);
        if (local.empty()) {
          IptRule drop = rule("KUBE-EXTERNAL-SERVICES");
          drop.proto = proto;
          drop.dport = *p.node_port;
          drop.comment = fmt::format("{} has no local endpoints", id);
          drop.dst_type_local = true;
          drop.jump = "DROP";
          f.push_back(drop);
        } else {
          nat.chains.push_back(svl);
          per_service.push_back(jump(ext, svl));
          balance(per_service, svl, s, p, local);
        }
      }
    }
    for (const EndpointPlan* e : eps) {
      std::string sep = sep_chain(s, p, *e);
      nat.chains.push_back(sep);
      // Hairpin: a pod reaching itself through the Service is masqueraded, or its own reply
      // would short-cut the NAT.
      IptRule hairpin = jump(sep, "KUBE-MARK-MASQ", id);
      hairpin.src = Cidr{e->ip, 32};
      per_service.push_back(hairpin);
      IptRule dnat = rule(sep);
      dnat.proto = proto;
      dnat.want_proto_match = true;
      dnat.comment = id;
      if (s.spec.session_affinity) dnat.recent = IptRule::Recent{sep, true, 0, false};
      dnat.target = IptRule::Target::kDnat;
      dnat.to_ip = e->ip;
      dnat.to_port = p.target_port;
      per_service.push_back(dnat);
    }
  }
  IptRule last = jump("KUBE-SERVICES", "KUBE-NODEPORTS",
                      "kubernetes service nodeports; NOTE: this must be the last rule in this chain");
  last.dst_type_local = true;
  n.push_back(last);
  n.insert(n.end(), nodeports.begin(), nodeports.end());
  n.insert(n.end(), per_service.begin(), per_service.end());
  return {nat, filter};
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
