// kube-proxy in nftables mode, as data: `table ip kube-proxy` of one node, laid out as
// kube-proxy's pkg/proxy/nftables writes it (KEP-3866): base chains at its priorities, the
// verdict maps service-ips and service-nodeports that send a packet to its service port's chain
// in one lookup, the sets and maps that reject or drop traffic to Services without endpoints,
// a `numgen random mod N vmap` per service port, an endpoint chain per endpoint with its DNAT
// and hairpin masquerade, affinity sets for ClientIP session affinity. Built from the same plan
// data as the iptables mode (plan/kube_proxy), so both modes are unit-tested as text.
#pragma once

#include <string>

#include <vector>

#include "ops/nft.hpp"
#include "ops/op.hpp"
#include "plan/plan.hpp"

namespace knlab {

// kube-proxy's chain names: "service-" + the first 8 base32 characters of
// sha256("<ns>/<name>/<proto>/<port name>") + "-" + that string; "endpoint-" the same of
// "<ns>/<name>/<proto>/<port name>__<ip>/<port>".
std::string nft_service_chain(const ServicePlan& s, const ServicePortPlan& p);
std::string nft_external_chain(const ServicePlan& s, const ServicePortPlan& p);
std::string nft_local_chain(const ServicePlan& s, const ServicePortPlan& p);
std::string nft_endpoint_chain(const ServicePlan& s, const ServicePortPlan& p, const EndpointPlan& e);
std::string nft_affinity_set(const ServicePlan& s, const ServicePortPlan& p, const EndpointPlan& e);

// The node's table (kube-proxy writes it whether or not there are Services).
NftTable kube_proxy_nft(const LabPlan& plan, const NodePlan& node);

// Every node's table as the transactions that replace it (`up`, repair). When the nodes' rules
// are the same (plan/kube_proxy kube_proxy_same_on_every_node), the nodes share one script
// without their addresses, and each adds its own in nodeport-ips after it.
std::vector<NftApply> kube_proxy_nft_ops(const LabPlan& plan);

// Whether the lab's nodes run kube-proxy in nftables mode and have its table.
bool uses_nft_proxy(const LabPlan& plan);

}  // namespace knlab
