// The one registry of the Kubernetes kinds kn-lab knows: their API group and versions, scope,
// the names kubectl accepts for them (singular, plural, short), how the manifest reader reads
// them and where a lab keeps them. apply, delete, get, describe and the manifest reader all look
// kinds up here; a kind added here is known to all of them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "lab/model.hpp"
#include "lab/names.hpp"

namespace knlab {

struct Reading;  // lab/manifest_read.hpp: one document being read

inline constexpr std::string_view kGatewayGroup = "gateway.networking.k8s.io";

enum class Kind {
  kNamespace, kNode, kPod, kDeployment, kReplicaSet, kService, kEndpoints, kEndpointSlice, kSecret,
  kIngressClass, kIngress, kGatewayClass, kGateway, kHTTPRoute, kTCPRoute, kUDPRoute, kReferenceGrant,
  kNetworkPolicy,
};

struct KindInfo {
  Kind id;
  std::string_view kind;      // "Deployment"
  std::string_view group;     // "apps" ("" for the core group)
  std::vector<std::string_view> versions;  // served; the first is the one kn-lab writes
  bool namespaced = true;
  std::string_view plural;    // "deployments": the resource, as in kubectl get deployments
  std::vector<std::string_view> short_names;  // "deploy"
  std::size_t max_name = kMaxObjectNameLength;
  // Reads a document of this kind into a manifest; nullptr: the kind is only shown (Node,
  // Endpoints, ...), never applied.
  Status (*read)(Reading&) = nullptr;
  // The lab's objects of this kind (none for kinds derived from others: Node, Endpoints...).
  bool (*exists)(const Lab&, const std::string& ns, const std::string& name) = nullptr;
  bool (*remove)(Lab&, const std::string& ns, const std::string& name) = nullptr;
  // What the lab records of the object (its TOML or its document), to tell "unchanged" from
  // "configured" in apply.
  std::string (*record)(const Lab&, const std::string& ns, const std::string& name) = nullptr;

  // "apps/v1" for the first served version (or `version`).
  std::string api_version(std::string_view version = {}) const;
  // "deployment.apps", as kubectl names the kind in its output (deployment.apps/web created).
  std::string qualified() const;
  // "deployments.apps", as kubectl names the resource in errors (deployments.apps "web" not found).
  std::string resource() const;
};

const std::vector<KindInfo>& kinds();
const KindInfo& kind_info(Kind id);
// By kind ("Deployment"), resource ("deployments", "deployments.apps"), singular
// ("deployment", "deployment.apps") or short name ("deploy"), case-insensitive as kubectl.
const KindInfo* find_kind(std::string_view name);
// By kind name exactly as written in a manifest ("HTTPRoute").
const KindInfo* find_kind_exact(std::string_view kind);
// Every name find_kind accepts, for "did you mean" and completion.
std::vector<std::string_view> kind_names();

}  // namespace knlab
