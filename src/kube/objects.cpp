#include "kube/objects.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <set>

#include "core/hash.hpp"
#include "core/text.hpp"
#include "kube/objects_internal.hpp"
#include "views/age.hpp"

namespace knlab {


std::string object_uid(std::string_view lab, std::string_view kind, std::string_view ns, std::string_view name) {
  auto d = sha256(fmt::format("{}/{}/{}/{}", lab, kind, ns, name));
  d[6] = static_cast<std::uint8_t>((d[6] & 0x0f) | 0x50);  // version 5 (name-based)
  d[8] = static_cast<std::uint8_t>((d[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string h = hex(d.data(), 16);
  return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4), h.substr(16, 4), h.substr(20, 12));
}

std::int64_t creation_time(const LabView& v, std::string_view kind, std::string_view ns, std::string_view name) {
  return v.state.memory.created_at(kind, ns, name, static_cast<std::int64_t>(v.state.created));
}


namespace kube {

Json metadata(const LabView& v, std::string_view kind, const std::string& ns, const std::string& name) {
  Json m = {{"name", name},
            {"uid", object_uid(v.plan.lab, kind, ns, name)},
            {"creationTimestamp", views::iso8601(creation_time(v, kind, ns, name))},
            {"resourceVersion", "1"}};
  if (!ns.empty()) m["namespace"] = ns;
  return m;
}

Json labels(const std::map<std::string, std::string>& l) {
  Json out = Json::object();
  for (auto& [k, val] : l) out[k] = val;
  return out;
}

Json object(const LabView& v, const KindInfo& k, const std::string& ns, const std::string& name) {
  return Json{{"apiVersion", k.api_version()}, {"kind", k.kind}, {"metadata", metadata(v, k.kind, ns, name)}};
}

std::string node_ip(const LabView& v, const std::string& node) {
  const NodePlan* n = v.plan.node(node);
  return n && v.plan.has_wire() ? n->ip.addr.str() : "";
}

}  // namespace kube

namespace {

using namespace kube;

std::vector<Json> namespace_objects(const LabView& v) {
  std::vector<Json> out;
  for (const std::string& ns : namespace_names(v.plan)) {
    Json o = object(v, kind_info(Kind::kNamespace), "", ns);
    for (const NamespaceSpec& n : v.plan.l7.namespaces)
      if (n.meta.name == ns && !n.meta.annotations.empty()) o["metadata"]["annotations"] = labels(n.meta.annotations);
    o["metadata"]["labels"] = labels(namespace_labels(v.plan, ns));
    o["spec"] = {{"finalizers", {"kubernetes"}}};
    o["status"] = {{"phase", "Active"}};
    out.push_back(std::move(o));
  }
  return out;
}

Json node_object(const LabView& v, const NodePlan& n) {
  Json o = object(v, kind_info(Kind::kNode), "", n.name);
  std::map<std::string, std::string> l = node_default_labels(n.name);
  for (auto& [k, val] : n.labels) l[k] = val;
  o["metadata"]["labels"] = labels(l);
  o["metadata"]["annotations"] = {{std::string(kAnnotationNetns), n.netns}};
  o["spec"] = {{"podCIDR", n.pod_subnet.str()}, {"podCIDRs", {n.pod_subnet.str()}}};
  Json addresses = Json::array();
  if (std::string ip = node_ip(v, n.name); !ip.empty()) addresses.push_back({{"type", "InternalIP"}, {"address", ip}});
  addresses.push_back({{"type", "Hostname"}, {"address", n.name}});
  std::string since = o["metadata"]["creationTimestamp"];
  o["status"] = {{"addresses", addresses},
                 {"conditions", {{{"type", "Ready"}, {"status", "True"}, {"reason", "KubeletReady"},
                                  {"message", "kn-lab node (a network namespace) is ready"},
                                  {"lastHeartbeatTime", since}, {"lastTransitionTime", since}}}},
                 {"nodeInfo", {{"architecture", "amd64"}, {"operatingSystem", "linux"}, {"osImage", "kn-lab"},
                               {"kubeletVersion", "v1.33.0-kn-lab-" KNLAB_VERSION}, {"kubeProxyVersion", ""},
                               {"containerRuntimeVersion", "kn-lab://" KNLAB_VERSION}, {"kernelVersion", ""},
                               {"bootID", ""}, {"machineID", ""}, {"systemUUID", ""}}}};
  return o;
}

}  // namespace

std::map<std::string, std::string> node_default_labels(const std::string& node) {
  return {{"kubernetes.io/hostname", node},
          {"kubernetes.io/os", "linux"},
          {"kubernetes.io/arch", "amd64"},
          {"beta.kubernetes.io/os", "linux"},
          {"beta.kubernetes.io/arch", "amd64"}};
}

std::vector<Json> objects_of(const LabView& v, Kind kind) {
  switch (kind) {
    case Kind::kNamespace: return namespace_objects(v);
    case Kind::kNode: return objects_from(v, v.plan.nodes, node_object);
    case Kind::kPod: return kube::pod_objects(v);
    case Kind::kDeployment: return kube::deployment_objects(v);
    case Kind::kReplicaSet: return kube::replicaset_objects(v);
    case Kind::kService: return kube::service_objects(v);
    case Kind::kEndpoints: return kube::endpoints_objects(v);
    case Kind::kEndpointSlice: return kube::endpointslice_objects(v);
    default: return kube::l7_objects(v, kind);
  }
}

std::optional<Json> find_object(const LabView& v, Kind kind, std::string_view ns, std::string_view name) {
  bool namespaced = kind_info(kind).namespaced;
  for (Json& o : objects_of(v, kind)) {
    const Json& md = o["metadata"];
    if (md.value("name", "") == name && (!namespaced || md.value("namespace", "") == ns)) return std::move(o);
  }
  return std::nullopt;
}

}  // namespace knlab
