#include "lab/kinds.hpp"

#include <fmt/core.h>

#include <algorithm>

#include "core/text.hpp"
#include "lab/manifest_read.hpp"
#include "lab/writer.hpp"

namespace knlab {

namespace {

// --- where a lab keeps each kind -------------------------------------------------------------

template <class T, class Pred>
bool remove_if_any(std::vector<T>& v, Pred pred) {
  auto it = std::remove_if(v.begin(), v.end(), pred);
  bool any = it != v.end();
  v.erase(it, v.end());
  return any;
}

// The lab's own objects (name and ns fields) and the L7 objects (ObjectMeta).
template <auto Member>
bool spec_exists(const Lab& lab, const std::string& ns, const std::string& name) {
  auto& v = lab.*Member;
  return std::any_of(v.begin(), v.end(), [&](auto& x) { return x.ns == ns && x.name == name; });
}
template <auto Member>
bool spec_remove(Lab& lab, const std::string& ns, const std::string& name) {
  return remove_if_any(lab.*Member, [&](auto& x) { return x.ns == ns && x.name == name; });
}
template <auto Member>
bool meta_exists(const Lab& lab, const std::string& ns, const std::string& name) {
  auto& v = lab.l7.*Member;
  return std::any_of(v.begin(), v.end(), [&](auto& x) { return x.meta.ns == ns && x.meta.name == name; });
}
template <auto Member>
bool meta_remove(Lab& lab, const std::string& ns, const std::string& name) {
  return remove_if_any(lab.l7.*Member, [&](auto& x) { return x.meta.ns == ns && x.meta.name == name; });
}
// The lab's own objects are recorded as TOML, the others as their documents.
template <auto Member>
std::string spec_record(const Lab& lab, const std::string& ns, const std::string& name) {
  Lab one;
  one.name = lab.name;
  one.nodes = lab.nodes;
  for (auto& x : lab.*Member)
    if (x.ns == ns && x.name == name) (one.*Member).push_back(x);
  return write_lab(one);
}
template <auto Member>
std::string meta_record(const Lab& lab, const std::string& ns, const std::string& name) {
  std::string out;
  for (auto& x : lab.l7.*Member)
    if (x.meta.name == name && (ns.empty() || x.meta.ns == ns)) out += x.meta.yaml;
  return out;
}
template <ListenerProtocol P>
bool route_exists(const Lab& lab, const std::string& ns, const std::string& name) {
  auto& v = lab.l7.l4_routes;
  return std::any_of(v.begin(), v.end(), [&](auto& x) { return x.protocol == P && x.meta.ns == ns && x.meta.name == name; });
}
template <ListenerProtocol P>
bool route_remove(Lab& lab, const std::string& ns, const std::string& name) {
  return remove_if_any(lab.l7.l4_routes, [&](auto& x) { return x.protocol == P && x.meta.ns == ns && x.meta.name == name; });
}

bool namespace_exists(const Lab& lab, const std::string&, const std::string& name) {
  auto& v = lab.l7.namespaces;
  return std::any_of(v.begin(), v.end(), [&](const NamespaceSpec& n) { return n.meta.name == name; });
}

// Deleting a Namespace deletes what is in it, as in Kubernetes.
bool namespace_remove(Lab& lab, const std::string&, const std::string& ns) {
  if (!remove_if_any(lab.l7.namespaces, [&](const NamespaceSpec& n) { return n.meta.name == ns; })) return false;
  auto spec_in = [&](const auto& x) { return x.ns == ns; };
  auto meta_in = [&](const auto& x) { return x.meta.ns == ns; };
  remove_if_any(lab.pods, spec_in);
  remove_if_any(lab.deployments, spec_in);
  remove_if_any(lab.services, spec_in);
  L7Objects& l7 = lab.l7;
  remove_if_any(l7.secrets, meta_in);
  remove_if_any(l7.ingresses, meta_in);
  remove_if_any(l7.gateways, meta_in);
  remove_if_any(l7.http_routes, meta_in);
  remove_if_any(l7.l4_routes, meta_in);
  remove_if_any(l7.reference_grants, meta_in);
  remove_if_any(l7.network_policies, meta_in);
  return true;
}

constexpr std::size_t kDeploymentName = kMaxObjectNameLength - 17;  // pods add "-<10>-<5>"

}  // namespace

const std::vector<KindInfo>& kinds() {
  using K = Kind;
  using L = Lab;
  using O = L7Objects;
  static const std::vector<KindInfo> k = {
      {K::kNamespace, "Namespace", "", {"v1"}, false, "namespaces", {"ns"}, kMaxObjectNameLength, read_namespace,
       namespace_exists, namespace_remove, meta_record<&O::namespaces>},
      {K::kNode, "Node", "", {"v1"}, false, "nodes", {"no"}},
      {K::kPod, "Pod", "", {"v1"}, true, "pods", {"po"}, kMaxObjectNameLength, read_pod, spec_exists<&L::pods>,
       spec_remove<&L::pods>, spec_record<&L::pods>},
      {K::kDeployment, "Deployment", "apps", {"v1"}, true, "deployments", {"deploy"}, kDeploymentName, read_deployment,
       spec_exists<&L::deployments>, spec_remove<&L::deployments>, spec_record<&L::deployments>},
      {K::kReplicaSet, "ReplicaSet", "apps", {"v1"}, true, "replicasets", {"rs"}},
      {K::kService, "Service", "", {"v1"}, true, "services", {"svc"}, kMaxObjectNameLength, read_service,
       spec_exists<&L::services>, spec_remove<&L::services>, spec_record<&L::services>},
      {K::kEndpoints, "Endpoints", "", {"v1"}, true, "endpoints", {"ep"}},
      {K::kEndpointSlice, "EndpointSlice", "discovery.k8s.io", {"v1"}, true, "endpointslices", {}},
      {K::kSecret, "Secret", "", {"v1"}, true, "secrets", {}, kMaxObjectNameLength, read_secret, meta_exists<&O::secrets>,
       meta_remove<&O::secrets>, meta_record<&O::secrets>},
      {K::kIngressClass, "IngressClass", "networking.k8s.io", {"v1"}, false, "ingressclasses", {}, kMaxObjectNameLength,
       read_ingress_class, meta_exists<&O::ingress_classes>, meta_remove<&O::ingress_classes>, meta_record<&O::ingress_classes>},
      {K::kIngress, "Ingress", "networking.k8s.io", {"v1"}, true, "ingresses", {"ing"}, kMaxObjectNameLength, read_ingress,
       meta_exists<&O::ingresses>, meta_remove<&O::ingresses>, meta_record<&O::ingresses>},
      {K::kGatewayClass, "GatewayClass", kGatewayGroup, {"v1", "v1beta1"}, false, "gatewayclasses", {"gc"},
       kMaxObjectNameLength, read_gateway_class, meta_exists<&O::gateway_classes>, meta_remove<&O::gateway_classes>, meta_record<&O::gateway_classes>},
      {K::kGateway, "Gateway", kGatewayGroup, {"v1", "v1beta1"}, true, "gateways", {"gtw"}, kMaxObjectNameLength,
       read_gateway, meta_exists<&O::gateways>, meta_remove<&O::gateways>, meta_record<&O::gateways>},
      {K::kHTTPRoute, "HTTPRoute", kGatewayGroup, {"v1", "v1beta1"}, true, "httproutes", {}, kMaxObjectNameLength,
       read_http_route, meta_exists<&O::http_routes>, meta_remove<&O::http_routes>, meta_record<&O::http_routes>},
      {K::kTCPRoute, "TCPRoute", kGatewayGroup, {"v1alpha2"}, true, "tcproutes", {}, kMaxObjectNameLength, read_l4_route,
       route_exists<ListenerProtocol::kTCP>, route_remove<ListenerProtocol::kTCP>, meta_record<&O::l4_routes>},
      {K::kUDPRoute, "UDPRoute", kGatewayGroup, {"v1alpha2"}, true, "udproutes", {}, kMaxObjectNameLength, read_l4_route,
       route_exists<ListenerProtocol::kUDP>, route_remove<ListenerProtocol::kUDP>, meta_record<&O::l4_routes>},
      {K::kReferenceGrant, "ReferenceGrant", kGatewayGroup, {"v1beta1", "v1"}, true, "referencegrants", {"refgrant"},
       kMaxObjectNameLength, read_reference_grant, meta_exists<&O::reference_grants>, meta_remove<&O::reference_grants>, meta_record<&O::reference_grants>},
      {K::kNetworkPolicy, "NetworkPolicy", "networking.k8s.io", {"v1"}, true, "networkpolicies", {"netpol"},
       kMaxObjectNameLength, read_network_policy, meta_exists<&O::network_policies>, meta_remove<&O::network_policies>,
       meta_record<&O::network_policies>},
  };
  return k;
}

std::string KindInfo::api_version(std::string_view version) const {
  if (version.empty()) version = versions.front();
  return group.empty() ? std::string(version) : fmt::format("{}/{}", group, version);
}

std::string KindInfo::qualified() const { return group.empty() ? lower(kind) : fmt::format("{}.{}", lower(kind), group); }

std::string KindInfo::resource() const { return group.empty() ? std::string(plural) : fmt::format("{}.{}", plural, group); }

const KindInfo& kind_info(Kind id) {
  for (const KindInfo& k : kinds())
    if (k.id == id) return k;
  return kinds().front();  // unreachable: every Kind is in the table (test_kinds checks it)
}

const KindInfo* find_kind_exact(std::string_view kind) {
  for (const KindInfo& k : kinds())
    if (k.kind == kind) return &k;
  return nullptr;
}

const KindInfo* find_kind(std::string_view name) {
  std::string n = lower(name);
  for (const KindInfo& k : kinds()) {
    std::string singular = lower(k.kind);
    if (n == singular || n == k.plural || n == k.qualified() || n == k.resource()) return &k;
    if (std::find(k.short_names.begin(), k.short_names.end(), n) != k.short_names.end()) return &k;
  }
  return nullptr;
}

std::vector<std::string_view> kind_names() {
  std::vector<std::string_view> out;
  for (const KindInfo& k : kinds()) {
    out.push_back(k.plural);
    for (auto s : k.short_names) out.push_back(s);
  }
  return out;
}

}  // namespace knlab
