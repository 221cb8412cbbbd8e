// networking.k8s.io/v1 NetworkPolicy, typed as Kubernetes' API has it. Plain data: the reader
// (lab/manifest_netpol.cpp) checks it as the API server's validation does; the planner
// (plan/netpol) turns the policies into kube-router's iptables chains and ipsets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/ip.hpp"
#include "core/label_selector.hpp"
#include "lab/object_meta.hpp"

namespace knlab {

// One peer of a rule: pods (of the policy's namespace, or of the namespaces a namespaceSelector
// selects; both in one peer is AND), or an ipBlock. Never both kinds.
struct NetpolPeer {
  std::optional<LabelSelector> pods;        // podSelector
  std::optional<LabelSelector> namespaces;  // namespaceSelector
  struct IpBlock {
    Cidr cidr;
    std::vector<Cidr> except;  // each strictly inside cidr
  };
  std::optional<IpBlock> ip_block;
};

// One entry of ports: a protocol and a port (number, or a container port's name), or a range.
struct NetpolPort {
  std::string protocol = "TCP";  // TCP | UDP | SCTP
  std::optional<std::uint16_t> port;  // absent with no name: every port of the protocol
  std::string port_name;              // a named container port ("serve-80-tcp")
  std::optional<std::uint16_t> end_port;  // with a numeric port: port..end_port
};

// An ingress rule (from) or an egress rule (to): traffic to/from any of the peers (none listed:
// any peer) on any of the ports (none listed: any port).
struct NetpolRule {
  std::vector<NetpolPeer> peers;
  std::vector<NetpolPort> ports;
};

struct NetworkPolicySpec {
  ObjectMeta meta;
  LabelSelector pod_selector;  // empty: every pod of the namespace
  bool ingress = true;         // policyTypes, as given or inferred
  bool egress = false;
  std::vector<NetpolRule> ingress_rules;
  std::vector<NetpolRule> egress_rules;
};

}  // namespace knlab
