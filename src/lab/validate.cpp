#include "lab/validate.hpp"

#include <fmt/core.h>

#include <map>
#include <set>
#include <string>

#include "lab/names.hpp"

namespace knlab {

namespace {

const SourceLocation& or_else(const SourceLocation& a, const SourceLocation& b) { return a.file.empty() ? b : a; }

std::string id(const ServiceSpec& s) { return fmt::format("Service {}/{}", s.ns, s.name); }

// Pods of namespace default are the network namespaces kn-<lab>.<pod>: they share one set of
// names with the nodes and racks (and with the lab's own namespaces, which the readers refuse).
Status check_pod_names(const Lab& lab) {
  std::set<std::string> names;
  for (const RackSpec& r : lab.racks) names.insert(r.name);
  for (const NodeSpec& n : lab.nodes) names.insert(n.name);
  for (const PodSpec& p : lab.pods) {
    std::string key = p.ns == "default" ? p.name : p.name + "." + p.ns;
    if (!names.insert(key).second)
      return fail(input_error(p.where, fmt::format("the name '{}' is used twice (pods of namespace default and nodes share one set of "
                                                   "names: each is a network namespace)", p.name),
                              "rename the pod"));
  }
  return {};
}

template <class T>
Status check_unique(const std::vector<T>& objects, std::string_view what) {
  std::set<std::string> seen;
  for (const T& x : objects)
    if (!seen.insert(x.ns + "/" + x.name).second)
      return fail(input_error(x.where, fmt::format("two {} are named {}/{}", what, x.ns, x.name)));
  return {};
}

}  // namespace

Status validate_service(const ServiceSpec& s) {
  std::set<std::string> names, ports;
  for (const ServicePortSpec& p : s.ports) {
    const SourceLocation& at = or_else(p.where, s.where);
    if (p.name.empty() && s.ports.size() > 1)
      return fail(input_error(at, fmt::format("{}: port {} has no name", id(s), p.port), "a Service with several ports names each of them (http, https, ...)"));
    if (auto problem = check_label(p.name, kMaxObjectNameLength); !p.name.empty() && problem)
      return fail(input_error(or_else(p.name_where, at), fmt::format("{}: port name \"{}\" {}", id(s), p.name, *problem),
                              "a port name is a DNS label: lowercase letters, digits and '-', at most 63 characters"));
    if (!p.name.empty() && !names.insert(p.name).second)
      return fail(input_error(or_else(p.name_where, at), fmt::format("{}: port name \"{}\" is used twice", id(s), p.name)));
    if (!ports.insert(fmt::format("{}/{}", p.port, p.protocol)).second)
      return fail(input_error(at, fmt::format("{}: port {}/{} is used twice", id(s), p.port, p.protocol)));
    if (p.node_port && s.type == ServiceType::kClusterIP)
      return fail(input_error(or_else(p.node_port_where, at), fmt::format("{}: a node port is set on a ClusterIP service", id(s)),
                              "make it a NodePort or LoadBalancer service (lab file: type = \"NodePort\"; manifest: spec.type: NodePort)"));
  }
  if (s.local_traffic_policy && s.type == ServiceType::kClusterIP)
    return fail(input_error(or_else(s.traffic_policy_where, s.where),
                            fmt::format("{}: external traffic policy Local only applies to NodePort and LoadBalancer services", id(s))));
  return {};
}

namespace {

// NodePorts are open on every node: one per port and protocol in the whole lab.
Status check_node_ports(const Lab& lab) {
  std::map<std::string, std::string> used;  // "30080/TCP" -> what uses it
  if (const auto& c = lab.ingress_nginx) {
    used[fmt::format("{}/TCP", c->http_node_port)] = "the ingress controller";
    used[fmt::format("{}/TCP", c->https_node_port)] = "the ingress controller";
  }
  for (const ServiceSpec& s : lab.services)
    for (const ServicePortSpec& p : s.ports) {
      if (!p.node_port) continue;
      auto [it, fresh] = used.emplace(fmt::format("{}/{}", *p.node_port, p.protocol), id(s));
      if (!fresh)
        return fail(input_error(or_else(p.node_port_where, or_else(p.where, s.where)),
                                fmt::format("{}: node port {} is already used by {}", id(s), *p.node_port, it->second),
                                "each NodePort is open on every node: two services cannot share one"));
    }
  return {};
}

Status check_cluster_ips(const Lab& lab) {
  const Cidr& cidr = lab.cluster.service_cidr;
  std::map<std::uint32_t, std::string> used;
  for (const ServiceSpec& s : lab.services) {
    if (!s.cluster_ip) continue;
    const Ipv4 ip = *s.cluster_ip;
    const SourceLocation& at = or_else(s.cluster_ip_where, s.where);
    if (!cidr.contains(ip) || ip == cidr.network() || ip == cidr.broadcast())
      return fail(input_error(at, fmt::format("{}: cluster IP {} is not a host address of the service CIDR {}", id(s), ip.str(), cidr.str()),
                              "leave the cluster IP out: the service gets a free address of the service CIDR"));
    if (ip == cidr.nth(1) || ip == cidr.nth(10))
      return fail(input_error(at, fmt::format("{}: cluster IP {} is reserved", id(s), ip.str()),
                              fmt::format("{} is the kubernetes Service's and {} the cluster DNS's, as in kubeadm clusters",
                                          cidr.nth(1).str(), cidr.nth(10).str())));
    if (auto [it, fresh] = used.emplace(ip.value, id(s)); !fresh)
      return fail(input_error(at, fmt::format("{}: cluster IP {} is already used by {}", id(s), ip.str(), it->second)));
  }
  return {};
}

}  // namespace

Status validate(const Lab& lab) {
  KN_TRY(check_pod_names(lab));
  KN_TRY(check_unique(lab.deployments, "deployments"));
  KN_TRY(check_unique(lab.services, "services"));
  for (const ServiceSpec& s : lab.services) KN_TRY(validate_service(s));
  KN_TRY(check_node_ports(lab));
  KN_TRY(check_cluster_ips(lab));
  return {};
}

}  // namespace knlab
