// NetworkPolicy as kube-router enforces it (pkg/controllers/netpol), as data: per node, the filter
// table's chains and rules, and the ipsets they match. Pure: unit-tested against expected text.
//
// Layout (what `iptables-legacy-save` and `ipset list` show in a node):
//   FORWARD/INPUT/OUTPUT -> KUBE-ROUTER-FORWARD/INPUT/OUTPUT: per local pod, a jump to its
//     KUBE-POD-FW-<hash> chain for traffic to it (-d, routed and bridged: physdev) and from it (-s);
//     then KUBE-NWPLCY-TAIL, which ACCEPTs what the pod chains passed (mark 0x20000).
//   KUBE-POD-FW-<hash>: KUBE-NWPLCY-COMMON (INVALID dropped, RELATED,ESTABLISHED accepted: replies
//     always pass), traffic from the node itself accepted, then per direction either the
//     policies that select the pod or KUBE-NWPLCY-DEFAULT (not isolated: allowed); traffic no
//     policy marked (0x10000) is logged to NFLOG group 100 and REJECTed.
//   KUBE-NWPLCY-<hash>: one chain per policy and direction; each rule matches ipsets of the
//     peers and the selected pods (and ports), marks 0x10000 and returns.
//   ipsets: KUBE-DST-<hash> (pods a policy selects, for ingress), KUBE-SRC-<hash> (for egress),
//     one per rule for its peer pods (hash:ip) and its ipBlocks (hash:net, except as nomatch),
//     and per named port the pods that have it. Membership changes touch only the sets.
// Where kn-lab differs from kube-router: a policy has a chain per direction (kube-router jumps to
// one chain from both, so a policy's ingress rule can pass a selected pod's egress to another
// selected pod), each ipBlock peer has its own set (kube-router's one set per rule cannot hold a
// cidr that another peer's except removes), names carry no sync version, and every drop is
// logged (no -m limit) so that each one can be attributed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ops/ipset.hpp"
#include "ops/iptables_rule.hpp"
#include "plan/plan.hpp"

namespace knlab {

inline constexpr std::uint32_t kNetpolMark = 0x10000;    // a policy (or the default) allows it
inline constexpr std::uint32_t kNetpolOkMark = 0x20000;  // the pod chains passed it
inline constexpr std::uint16_t kNetpolNflogGroup = 100;

bool has_network_policies(const LabPlan& plan);

// kube-router's names: KUBE-POD-FW- + hash16(ns + pod), KUBE-NWPLCY- + hash16(ns + name +
// direction + "IPv4").
std::string pod_fw_chain(const std::string& ns, const std::string& pod);
std::string policy_chain(const NetworkPolicySpec& p, bool egress);

// kube-router's part of a node's filter table: its chains and rules (hooks first).
struct NetpolRules {
  std::vector<std::string> chains;
  std::vector<IptRule> rules;
};

// Every policy compiled once for all nodes: its chains' rules, and the sets every node has.
struct NetpolCompiled {
  NetpolRules policies;
  std::vector<IpSet> sets;
};
NetpolCompiled compile_network_policies(const LabPlan& plan);

// The sets every node has (all policies' sets: the same on each node).
std::vector<IpSet> network_policy_sets(const LabPlan& plan);

NetpolRules network_policy_rules(const LabPlan& plan, const NodePlan& node, const NetpolCompiled& compiled);
NetpolRules network_policy_rules(const LabPlan& plan, const NodePlan& node);

// Which policies select a pod, per direction (describe pod, trace).
bool selects(const LabPlan& plan, const NetworkPolicySpec& p, const PodPlan& pod);

// Everything a node's iptables holds: kube-proxy's nat and filter tables, with kube-router's
// chains in filter when the lab has NetworkPolicies. Empty when there is nothing to write.
bool has_node_tables(const LabPlan& plan);
// With `compiled` from compile_network_policies(plan), for a loop over the nodes.
std::vector<IptTable> node_tables(const LabPlan& plan, const NodePlan& node, const NetpolCompiled& compiled);
std::vector<IptTable> node_tables(const LabPlan& plan, const NodePlan& node);

// Whether every node's tables are the same: no NetworkPolicy (kube-router's chains name the
// node's pods) and no Service whose externalTrafficPolicy Local gives nodes different rules.
bool node_tables_shared(const LabPlan& plan);

// The iptables tables of every node, each table built once and shared when node_tables_shared.
class NodeTables {
 public:
  NodeTables(const LabPlan& plan, const NetpolCompiled& compiled)
      : plan_(plan), compiled_(compiled), shared_flag_(node_tables_shared(plan)) {}
  const std::vector<std::shared_ptr<const IptTable>>& of(const NodePlan& node);

 private:
  const LabPlan& plan_;
  const NetpolCompiled& compiled_;
  std::vector<std::shared_ptr<const IptTable>> shared_, last_;
  bool shared_flag_;
  bool built_ = false;
};

}  // namespace knlab
