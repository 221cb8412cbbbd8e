#include "plan/netpol.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/hash.hpp"
#include "core/text.hpp"
#include "plan/kube_proxy.hpp"
#include "plan/kube_proxy_nft.hpp"

namespace knlab {

namespace {

constexpr const char* kForward = "KUBE-ROUTER-FORWARD";
constexpr const char* kInput = "KUBE-ROUTER-INPUT";
constexpr const char* kOutput = "KUBE-ROUTER-OUTPUT";
constexpr const char* kDefault = "KUBE-NWPLCY-DEFAULT";
constexpr const char* kCommon = "KUBE-NWPLCY-COMMON";
constexpr const char* kTail = "KUBE-NWPLCY-TAIL";

std::string id(const NetworkPolicySpec& p) { return p.meta.ns + "/" + p.meta.name; }

IptRule jump(std::string chain, std::string to, std::string comment = {}) { return jump_rule(std::move(chain), std::move(to), std::move(comment)); }

IptRule set_mark(std::string chain, std::uint32_t value, std::uint32_t mask, std::string comment = {}) {
  IptRule r;
  r.chain = std::move(chain);
  r.target = IptRule::Target::kMarkSet;
  r.mark_bits = value;
  r.mark_mask = mask;
  r.comment = std::move(comment);
  return r;
}

Cidr host(const PodPlan& p) { return Cidr{p.address.addr, 32}; }

// The pods a peer selects: podSelector in the policy's namespace, namespaceSelector's pods, or both (AND).
std::vector<const PodPlan*> peer_pods(const LabPlan& plan, const NetworkPolicySpec& np, const NetpolPeer& peer) {
  std::vector<const PodPlan*> out;
  std::map<std::string, bool> ns_ok;
  for (const PodPlan& p : plan.pods) {
    bool in_ns;
    if (peer.namespaces) {
      auto [it, added] = ns_ok.try_emplace(p.ns);
      if (added) it->second = peer.namespaces->matches(namespace_labels(plan, p.ns));
      in_ns = it->second;
    } else {
      in_ns = p.ns == np.meta.ns;
    }
    if (in_ns && (!peer.pods || peer.pods->matches(p.labels))) out.push_back(&p);
  }
  return out;
}

std::vector<std::string> addresses(const std::vector<const PodPlan*>& pods) {
  std::set<std::string> s;
  for (const PodPlan* p : pods) s.insert(p->address.addr.str());
  return {s.begin(), s.end()};
}

std::string net_entry(const Cidr& c) { return c.prefix == 32 ? c.addr.str() : c.str(); }

// An ipBlock as hash:net members: the cidr (a /0 as two /1, which hash:net can hold) and each
// except as nomatch.
std::vector<std::string> block_entries(const NetpolPeer::IpBlock& b) {
  std::vector<std::string> out;
  auto halves = [](const Cidr& c) { return c.prefix == 0 ? std::vector<Cidr>{Cidr{Ipv4{0}, 1}, Cidr{Ipv4{0x80000000u}, 1}} : std::vector<Cidr>{c}; };
  for (const Cidr& c : halves(b.cidr)) out.push_back(net_entry(c));
  for (const Cidr& e : b.except)
    for (const Cidr& c : halves(e)) out.push_back(net_entry(c) + " nomatch");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// A numeric port match of a rule: protocol, and the port or range (none: every port).
struct PortMatch {
  std::string proto;  // "tcp", "udp", "sctp"; "" for any protocol and port
  std::optional<std::uint16_t> port, end;
};

// One policy compiled: its chains' rules and the sets they name.
class PolicyCompiler {
 public:
  PolicyCompiler(const LabPlan& plan, const NetworkPolicySpec& np, std::vector<IpSet>& sets, std::vector<IptRule>& rules)
      : plan_(plan), np_(np), sets_(sets), rules_(rules) {}

  void run() {
    std::vector<const PodPlan*> selected;
    for (const PodPlan& p : plan_.pods)
      if (selects(plan_, np_, p)) selected.push_back(&p);
    if (np_.ingress) {
      std::string target = add_set("KUBE-DST-" + hash16(np_.meta.ns + np_.meta.name + "IPv4"), "hash:ip", addresses(selected));
      for (std::size_t i = 0; i < np_.ingress_rules.size(); ++i) rule(false, i, target, selected);
    }
    if (np_.egress) {
      std::string target = add_set("KUBE-SRC-" + hash16(np_.meta.ns + np_.meta.name + "IPv4"), "hash:ip", addresses(selected));
      for (std::size_t i = 0; i < np_.egress_rules.size(); ++i) rule(true, i, target, selected);
    }
  }

 private:
  std::string add_set(std::string name, std::string type, std::vector<std::string> entries) {
    sets_.push_back(IpSet{name, std::move(type), std::move(entries)});
    return name;
  }

  // "ingressrule0IPv4" and the like: the part of kube-router's set names that names a rule.
  static std::string rule_key(bool egress, std::size_t i) { return fmt::format("{}rule{}IPv4", egress ? "egress" : "ingress", i); }

  void rule(bool egress, std::size_t i, const std::string& target, const std::vector<const PodPlan*>& selected) {
    const NetpolRule& r = (egress ? np_.egress_rules : np_.ingress_rules)[i];
    std::string dir = egress ? "egress" : "ingress";
    std::string base = np_.meta.ns + np_.meta.name + rule_key(egress, i);
    Side side{policy_chain(np_, egress), egress, target, i, selected};
    if (r.peers.empty()) {  // every source (destination)
      std::vector<const PodPlan*> everyone;
      for (const PodPlan& p : plan_.pods) everyone.push_back(&p);
      match(side, fmt::format("{} {} any", id(np_), dir), "", r, everyone);
    }
    if (std::any_of(r.peers.begin(), r.peers.end(), [](const NetpolPeer& p) { return !p.ip_block; })) {
      std::vector<const PodPlan*> peers;
      for (const NetpolPeer& p : r.peers)
        if (!p.ip_block)
          for (const PodPlan* pod : peer_pods(plan_, np_, p)) peers.push_back(pod);
      std::string set = add_set((egress ? "KUBE-DST-" : "KUBE-SRC-") + hash16(base + "pod"), "hash:ip", addresses(peers));
      match(side, fmt::format("{} {} pods", id(np_), dir), set, r, peers);
    }
    std::size_t block = 0;
    for (const NetpolPeer& p : r.peers)
      if (p.ip_block) {
        std::string key = base + "ipblock" + (block ? std::to_string(block) : std::string());
        ++block;
        std::string set = add_set((egress ? "KUBE-DST-" : "KUBE-SRC-") + hash16(key), "hash:net", block_entries(*p.ip_block));
        match(side, fmt::format("{} {} cidr", id(np_), dir), set, r, {});
      }
  }

  // The rule being compiled: its chain, direction, the selected pods' set and the pods.
  struct Side {
    std::string chain;
    bool egress;
    std::string target;
    std::size_t index;
    const std::vector<const PodPlan*>& selected;
  };

  // One "allowed" match: MARK 0x10000, then RETURN once marked (kube-router's pair of rules).
  // `pod_side` is the selected pods' set, `far` the peer's (empty: any address).
  void emit(const Side& s, const std::string& comment, const std::string& pod_side, const std::string& far, const PortMatch& pm) {
    IptRule m;
    m.chain = s.chain;
    m.comment = comment;
    const std::string& src = s.egress ? pod_side : far;
    const std::string& dst = s.egress ? far : pod_side;
    if (!src.empty()) m.sets.push_back({src, true});
    if (!dst.empty()) m.sets.push_back({dst, false});
    m.proto = pm.proto;
    m.dport = pm.port;
    m.dport_end = pm.end;
    IptRule mark = m;
    mark.target = IptRule::Target::kMarkSet;
    mark.mark_bits = mark.mark_mask = kNetpolMark;
    rules_.push_back(std::move(mark));
    m.mark = IptRule::Mark{kNetpolMark, kNetpolMark, false};
    m.jump = "RETURN";
    rules_.push_back(std::move(m));
  }

  // The rules of one peer set for each port of the rule. `far_pods`: the pods the peer set
  // holds (where a named port of an egress rule is looked up).
  void match(const Side& s, const std::string& comment, const std::string& far, const NetpolRule& r,
             const std::vector<const PodPlan*>& far_pods) {
    if (r.ports.empty()) emit(s, comment, s.target, far, PortMatch{});
    for (std::size_t j = 0; j < r.ports.size(); ++j) {
      const NetpolPort& p = r.ports[j];
      if (p.port_name.empty()) {
        emit(s, comment, s.target, far, PortMatch{lower(p.protocol), p.port, p.end_port});
        continue;
      }
      // A named port: the pods on the server's side that declare it (the selected pods for
      // ingress, the peers for egress), one set per port number it stands for.
      std::map<std::uint16_t, std::vector<const PodPlan*>> by_number;
      for (const PodPlan* pod : s.egress ? far_pods : s.selected)
        for (const ContainerPort& cp : pod->ports)
          if (cp.name == p.port_name && cp.protocol == p.protocol) by_number[cp.port].push_back(pod);
      std::size_t k = 0;
      for (auto& [number, pods] : by_number) {
        std::string key = fmt::format("{}{}{}rule{}{}{}IPv4namedport{}", np_.meta.ns, np_.meta.name, s.egress ? "egress" : "ingress", s.index, j, k++,
                                      far);
        std::string set = add_set("KUBE-DST-" + hash16(key), "hash:ip", addresses(pods));
        PortMatch pm{lower(p.protocol), number, std::nullopt};
        if (s.egress) emit(s, comment + " np", s.target, set, pm);
        else emit(s, comment + " np", set, far, pm);
      }
    }
  }

  const LabPlan& plan_;
  const NetworkPolicySpec& np_;
  std::vector<IpSet>& sets_;
  std::vector<IptRule>& rules_;
};

}  // namespace

bool has_network_policies(const LabPlan& plan) { return !plan.l7.network_policies.empty(); }

std::string pod_fw_chain(const std::string& ns, const std::string& pod) { return "KUBE-POD-FW-" + hash16(ns + pod); }

std::string policy_chain(const NetworkPolicySpec& p, bool egress) {
  return "KUBE-NWPLCY-" + hash16(p.meta.ns + p.meta.name + (egress ? "egress" : "ingress") + "IPv4");
}

bool selects(const LabPlan&, const NetworkPolicySpec& p, const PodPlan& pod) {
  return pod.ns == p.meta.ns && p.pod_selector.matches(pod.labels);
}

NetpolCompiled compile_network_policies(const LabPlan& plan) {
  NetpolCompiled out;
  for (const NetworkPolicySpec& np : plan.l7.network_policies) {
    for (bool eg : {false, true})
      if (eg ? np.egress : np.ingress) out.policies.chains.push_back(policy_chain(np, eg));
    PolicyCompiler(plan, np, out.sets, out.policies.rules).run();
  }
  return out;
}

std::vector<IpSet> network_policy_sets(const LabPlan& plan) { return compile_network_policies(plan).sets; }

namespace {

// The chains every node has, with their fixed rules.
void base_chains(NetpolRules& out, const LabPlan& plan) {
  out.chains = {kForward, kInput, kOutput, kCommon, kDefault, kTail};
  out.rules.push_back(jump("INPUT", kInput, "kube-router netpol"));
  out.rules.push_back(jump("FORWARD", kForward, "kube-router netpol"));
  out.rules.push_back(jump("OUTPUT", kOutput, "kube-router netpol"));
  IptRule vips = jump(kInput, "RETURN", "allow traffic to primary/secondary cluster IP range");
  vips.dst = plan.cluster.service_cidr;
  out.rules.push_back(vips);
  IptRule invalid = jump(kCommon, "DROP", "rule to drop invalid state for pod");
  invalid.ctstate = IptRule::kCtInvalid;
  out.rules.push_back(invalid);
  IptRule stateful = jump(kCommon, "ACCEPT", "rule for stateful firewall for pod");
  stateful.ctstate = IptRule::kCtRelated | IptRule::kCtEstablished;
  out.rules.push_back(stateful);
  out.rules.push_back(set_mark(kDefault, kNetpolMark, kNetpolMark, "rule to mark traffic matching a network policy"));
  IptRule accept = jump(kTail, "ACCEPT", "rule to explicitly ACCEPT traffic that comply to network policies");
  accept.mark = IptRule::Mark{kNetpolOkMark, kNetpolOkMark, false};
  out.rules.push_back(accept);
}

// A local pod's chain: common rules, the node's own traffic, its policies or the default per
// direction, then log and reject what nothing allowed.
void pod_chain(NetpolRules& out, const LabPlan& plan, const PodPlan& pod) {
  std::string chain = pod_fw_chain(pod.ns, pod.name), who = pod.ns + "/" + pod.name;
  out.chains.push_back(chain);
  out.rules.push_back(jump(chain, kCommon, "common netpol rules"));
  IptRule local = jump(chain, "ACCEPT", "from local node");
  local.dst = host(pod);
  local.src_type_local = true;
  out.rules.push_back(local);
  bool ingress = false, egress = false;
  std::vector<IptRule> policies;
  for (const NetworkPolicySpec& np : plan.l7.network_policies) {
    if (!selects(plan, np, pod)) continue;
    for (bool eg : {false, true}) {
      if (!(eg ? np.egress : np.ingress)) continue;
      IptRule j = jump(chain, policy_chain(np, eg), fmt::format("{} policy {}", id(np), eg ? "egress" : "ingress"));
      (eg ? j.src : j.dst) = host(pod);
      policies.push_back(j);
      (eg ? egress : ingress) = true;
    }
  }
  for (bool eg : {true, false})
    if (!(eg ? egress : ingress)) {
      IptRule d = jump(chain, kDefault, eg ? "default egress" : "default ingress");
      (eg ? d.src : d.dst) = host(pod);
      out.rules.push_back(d);
    }
  out.rules.insert(out.rules.end(), policies.begin(), policies.end());
  IptRule log = jump(chain, "", who + " log-drop");
  log.mark = IptRule::Mark{kNetpolMark, kNetpolMark, true};
  log.target = IptRule::Target::kNflog;
  log.nflog_group = kNetpolNflogGroup;
  log.nflog_prefix = ("netpol drop " + who).substr(0, 63);
  out.rules.push_back(log);
  IptRule reject = jump(chain, "", who + " reject");
  reject.mark = IptRule::Mark{kNetpolMark, kNetpolMark, true};
  reject.target = IptRule::Target::kReject;
  out.rules.push_back(reject);
  out.rules.push_back(set_mark(chain, 0, kNetpolMark));
  out.rules.push_back(set_mark(chain, kNetpolOkMark, kNetpolOkMark, "set netpol-ok mark"));
}

// The jumps of a local pod's traffic into its chain: to it (routed, from the node, bridged) and
// from it (routed, to the node, from the node's stack, bridged).
void pod_jumps(NetpolRules& out, const PodPlan& pod) {
  std::string chain = pod_fw_chain(pod.ns, pod.name), who = pod.ns + "/" + pod.name;
  auto add = [&](const char* from, bool to_pod, bool bridged) {
    IptRule j = jump(from, chain, who + (to_pod ? " in" : " out"));
    (to_pod ? j.dst : j.src) = host(pod);
    j.physdev_bridged = bridged;
    out.rules.push_back(j);
  };
  add(kForward, true, false);
  add(kOutput, true, false);
  add(kForward, true, true);
  add(kInput, false, false);
  add(kForward, false, false);
  add(kOutput, false, false);
  add(kForward, false, true);
}

}  // namespace

NetpolRules network_policy_rules(const LabPlan& plan, const NodePlan& node) {
  return network_policy_rules(plan, node, compile_network_policies(plan));
}

NetpolRules network_policy_rules(const LabPlan& plan, const NodePlan& node, const NetpolCompiled& compiled) {
  NetpolRules out;
  base_chains(out, plan);
  out.chains.insert(out.chains.end(), compiled.policies.chains.begin(), compiled.policies.chains.end());
  out.rules.insert(out.rules.end(), compiled.policies.rules.begin(), compiled.policies.rules.end());
  std::vector<const PodPlan*> local;
  for (const PodPlan& p : plan.pods)
    if (p.node == node.name) local.push_back(&p);
  std::sort(local.begin(), local.end(), [](auto* a, auto* b) { return std::tie(a->ns, a->name) < std::tie(b->ns, b->name); });
  for (const PodPlan* p : local) pod_chain(out, plan, *p);
  for (const PodPlan* p : local) pod_jumps(out, *p);
  for (const char* top : {kInput, kForward, kOutput})
    out.rules.push_back(jump(top, kTail, "rule to explicitly handle traffic for network policies ACCEPT/REJECT decision"));
  return out;
}

bool node_tables_shared(const LabPlan& plan) {
  return !has_network_policies(plan) && kube_proxy_same_on_every_node(plan);
}

const std::vector<std::shared_ptr<const IptTable>>& NodeTables::of(const NodePlan& node) {
  bool shared = shared_flag_;
  if (shared && built_) return shared_;
  std::vector<std::shared_ptr<const IptTable>>& out = shared ? shared_ : last_;
  out.clear();
  for (IptTable& t : node_tables(plan_, node, compiled_)) out.push_back(std::make_shared<const IptTable>(std::move(t)));
  built_ = shared;
  return out;
}

bool has_node_tables(const LabPlan& plan) { return !plan.services.empty() || has_network_policies(plan); }

std::vector<IptTable> node_tables(const LabPlan& plan, const NodePlan& node) {
  return node_tables(plan, node, has_network_policies(plan) ? compile_network_policies(plan) : NetpolCompiled{});
}

std::vector<IptTable> node_tables(const LabPlan& plan, const NodePlan& node, const NetpolCompiled& compiled) {
  if (!has_node_tables(plan) || (uses_nft_proxy(plan) && !has_network_policies(plan))) return {};
  // In nftables mode kube-proxy's rules are in table ip kube-proxy (plan/kube_proxy_nft): the
  // iptables filter table holds only kube-router's, as it does on such a cluster.
  std::vector<IptTable> tables = uses_nft_proxy(plan) ? std::vector<IptTable>{IptTable{"filter", {}, {}}} : kube_proxy_tables(plan, node);
  if (!has_network_policies(plan)) return tables;
  for (IptTable& t : tables) {
    if (t.name != "filter") continue;
    NetpolRules np = network_policy_rules(plan, node, compiled);
    // kube-router's hooks go first in the built-in chains (it inserts them at the top).
    std::vector<IptRule> rules;
    std::copy_if(np.rules.begin(), np.rules.end(), std::back_inserter(rules), [](const IptRule& r) { return r.chain == "INPUT" || r.chain == "FORWARD" || r.chain == "OUTPUT"; });
    rules.insert(rules.end(), t.rules.begin(), t.rules.end());
    std::copy_if(np.rules.begin(), np.rules.end(), std::back_inserter(rules), [](const IptRule& r) { return r.chain != "INPUT" && r.chain != "FORWARD" && r.chain != "OUTPUT"; });
    t.rules = std::move(rules);
    t.chains.insert(t.chains.end(), np.chains.begin(), np.chains.end());
  }
  return tables;
}

}  // namespace knlab
