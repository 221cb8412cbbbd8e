// `describe` for the L7 kinds (Ingress, IngressClass, GatewayClass, Gateway,
// HTTPRoute, TCPRoute, UDPRoute, ReferenceGrant, Secret), in kubectl's columns and layout, with
// the status conditions the controllers would write (plan/nginx.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "runtime/lifecycle.hpp"

namespace knlab {

struct L7Query {
  std::string name;            // empty: all
  std::string ns = "default";
  bool all_namespaces = false;
  bool in_ns(const std::string& x) const { return all_namespaces || x.empty() || x == ns; }
};

// nullopt when `kind` is not an L7 kind (the caller tries its own).
std::optional<Result<int>> describe_l7(const LabView& v, std::string_view kind, const L7Query& q);

// Whether `kind` names an L7 kind (ingress, ing, gateways, httproute, ...).
bool is_l7_kind(std::string_view kind);

// "ingresses, ingressclasses, gatewayclasses (gc), gateways (gtw), httproutes, tcproutes,
// udproutes, referencegrants, secrets"
std::string_view l7_kinds_help();

}  // namespace knlab
