// kube-proxy in iptables mode, as data: the nat and filter rules a node gets for the lab's
// Services, with kube-proxy's chain layout, names and comments, so that what a learner reads
// in a node (`kn-lab exec node1 -- iptables-legacy-save`) is what a cluster has.
// Pure: unit-tested against expected text.
#pragma once

#include <string>
#include <vector>

#include "ops/iptables_rule.hpp"
#include "plan/plan.hpp"

namespace knlab {

inline constexpr std::uint32_t kMasqMark = 0x4000;

// kube-proxy's chain names: KUBE-SVC-/KUBE-EXT-/KUBE-SVL- + the first 16 base32 characters of
// sha256("<ns>/<name>" + "tcp"), KUBE-SEP- of sha256("<ns>/<name>" + "tcp" + "<ip>:<port>").
// With several ports, "<ns>/<name>:<port name>" instead of "<ns>/<name>" (ServicePlan::port_id).
std::string svc_chain(const ServicePlan& s, const ServicePortPlan& p);
std::string ext_chain(const ServicePlan& s, const ServicePortPlan& p);
std::string svl_chain(const ServicePlan& s, const ServicePortPlan& p);
std::string sep_chain(const ServicePlan& s, const ServicePortPlan& p, const EndpointPlan& e);

// Whether kube-proxy writes the same rules on every node: no Service with externalTrafficPolicy
// Local reached from outside (its NodePort or EXTERNAL-IP goes only to the node's own endpoints).
// In nftables mode the tables then differ only in the node's own address (nodeport-ips).
bool kube_proxy_same_on_every_node(const LabPlan& plan);

// The nat and filter tables of one node.
std::vector<IptTable> kube_proxy_tables(const LabPlan& plan, const NodePlan& node);

// The cloud load balancer's nat table: each EXTERNAL-IP:port spread over the nodes' NodePort
// (with externalTrafficPolicy Local, only over nodes that have an endpoint, as a cloud's health
// checks would find), masqueraded so that replies come back through the balancer.
IptTable cloud_lb_table(const LabPlan& plan);

}  // namespace knlab
