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

// The nat and filter tables of one node.
std::vector<IptTable> kube_proxy_tables(const LabPlan& plan, const NodePlan& node);

// The cloud load balancer's nat table: each EXTERNAL-IP:port spread over the nodes' NodePort
// (with externalTrafficPolicy Local, only over nodes that have an endpoint, as a cloud's health
// checks would find), masqueraded so that replies come back through the balancer.
IptTable cloud_lb_table(const LabPlan& plan);

}  // namespace knlab
