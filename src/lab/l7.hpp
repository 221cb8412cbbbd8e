// The L7 objects of a lab: Ingress and the Gateway API, and the TLS Secrets they use, typed as
// Kubernetes' API has them (only the fields kn-lab implements). Plain data, produced by the
// manifest loader (lab/manifest.hpp) from YAML, consumed by the planner (plan/nginx.hpp) which
// turns them into nginx configurations and status conditions.
//
// Each object keeps the YAML document it came from (`yaml`, re-emitted canonically) so that a
// running lab can record what was applied and read it back with the same loader.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "lab/netpol.hpp"
#include "lab/object_meta.hpp"

namespace knlab {


// --- Secret (type kubernetes.io/tls) -------------------------------------------------------
struct SecretSpec {
  ObjectMeta meta;
  std::string type = "kubernetes.io/tls";
  std::string cert_pem;  // data["tls.crt"] decoded from base64, or stringData["tls.crt"]
  std::string key_pem;   // data["tls.key"]
};

// --- Ingress (networking.k8s.io/v1) ----------------------------------------------------------
enum class IngressPathType { kPrefix, kExact, kImplementationSpecific };

struct IngressBackend {
  std::string service;            // backend.service.name
  std::uint16_t port = 0;         // backend.service.port.number (0 when by name)
  std::string port_name;          // backend.service.port.name
};

struct IngressPath {
  std::string path = "/";
  IngressPathType type = IngressPathType::kPrefix;
  IngressBackend backend;
  SourceLocation where;
};

struct IngressRule {
  std::string host;  // empty: any host
  std::vector<IngressPath> paths;
};

struct IngressTls {
  std::vector<std::string> hosts;
  std::string secret;  // secretName, in the Ingress's namespace
};

struct IngressSpec {
  ObjectMeta meta;
  std::string class_name;  // spec.ingressClassName, else the kubernetes.io/ingress.class annotation
  std::optional<IngressBackend> default_backend;
  std::vector<IngressRule> rules;
  std::vector<IngressTls> tls;
};

struct IngressClassSpec {
  ObjectMeta meta;            // cluster-scoped: meta.ns is empty
  std::string controller;     // k8s.io/ingress-nginx
  bool is_default = false;    // ingressclass.kubernetes.io/is-default-class: "true"
};

// --- Gateway API (gateway.networking.k8s.io) -------------------------------------------------
struct GatewayClassSpec {
  ObjectMeta meta;           // cluster-scoped
  std::string controller;    // spec.controllerName; kn-lab's is kGatewayController
};
inline constexpr const char* kGatewayController = "kn-lab.dev/gateway-controller";
// Envoy Gateway's controllerName (the course's GatewayClass "eg"). A lab whose Gateway controller
// answers to it lays its data planes out as Envoy Gateway does (lab/model.hpp gateway_controllers).
inline constexpr const char* kEnvoyGatewayController = "gateway.envoyproxy.io/gatewayclass-controller";

struct SecretRef {
  std::string name;
  std::string ns;  // empty: the referrer's namespace
};

enum class ListenerProtocol { kHTTP, kHTTPS, kTCP, kUDP };

struct ListenerSpec {
  std::string name;
  std::string hostname;  // empty: any
  std::uint16_t port = 80;
  ListenerProtocol protocol = ListenerProtocol::kHTTP;
  std::vector<SecretRef> certificates;  // tls.certificateRefs (HTTPS, mode Terminate)
  std::string allowed_from = "Same";    // allowedRoutes.namespaces.from: Same | All
};

struct GatewaySpec {
  ObjectMeta meta;
  std::string class_name;  // spec.gatewayClassName
  std::vector<ListenerSpec> listeners;
};

struct ParentRef {
  std::string name;
  std::string ns;            // empty: the route's namespace
  std::string section_name;  // a listener name, empty: all listeners that fit
  std::optional<std::uint16_t> port;
};

struct BackendRef {
  std::string name;          // a Service
  std::string ns;            // empty: the route's namespace
  std::uint16_t port = 0;
  int weight = 1;
};

enum class PathMatchType { kExact, kPathPrefix, kRegularExpression };
struct PathMatch {
  PathMatchType type = PathMatchType::kPathPrefix;
  std::string value = "/";
};
struct ValueMatch {  // headers[] and queryParams[]
  std::string name;
  std::string value;
  bool regex = false;  // type: RegularExpression (default Exact)
};
struct HttpMatch {
  std::optional<PathMatch> path;  // absent: PathPrefix "/"
  std::vector<ValueMatch> headers;
  std::vector<ValueMatch> query;
  std::string method;  // empty: any
};

struct HeaderModifier {
  std::vector<std::pair<std::string, std::string>> set, add;
  std::vector<std::string> remove;
};
struct PathModifier {  // in RequestRedirect and URLRewrite
  enum class Type { kReplaceFullPath, kReplacePrefixMatch } type = Type::kReplaceFullPath;
  std::string value;
};
struct HttpFilter {
  enum class Type { kRequestHeaderModifier, kResponseHeaderModifier, kRequestRedirect, kURLRewrite } type{};
  HeaderModifier headers;            // Request/ResponseHeaderModifier
  // RequestRedirect
  std::string scheme;                // empty: unchanged
  std::string hostname;              // also URLRewrite's
  std::optional<std::uint16_t> port;
  int status_code = 302;
  std::optional<PathModifier> path;  // also URLRewrite's
};

struct HttpRouteRule {
  std::vector<HttpMatch> matches;  // empty: one match, PathPrefix "/"
  std::vector<HttpFilter> filters;
  std::vector<BackendRef> backends;
  SourceLocation where;
};

struct HttpRouteSpec {
  ObjectMeta meta;
  std::vector<ParentRef> parents;
  std::vector<std::string> hostnames;
  std::vector<HttpRouteRule> rules;
};

// TCPRoute and UDPRoute (v1alpha2): a listener's traffic to backends, no matches.
struct L4RouteSpec {
  ObjectMeta meta;
  ListenerProtocol protocol = ListenerProtocol::kTCP;  // kTCP (TCPRoute) or kUDP (UDPRoute)
  std::vector<ParentRef> parents;
  std::vector<BackendRef> backends;  // of all rules (nginx stream: one upstream per route)
};

struct ReferenceGrantSpec {
  ObjectMeta meta;
  struct From {
    std::string group, kind, ns;  // e.g. gateway.networking.k8s.io, HTTPRoute, default
  };
  struct To {
    std::string group, kind, name;  // "" (core), Service | Secret, name empty: all
  };
  std::vector<From> from;
  std::vector<To> to;
};

// A Namespace object (kubectl create namespace, or a manifest): its labels are what a
// NetworkPolicy's namespaceSelector matches (kubernetes.io/metadata.name is added on output).
struct NamespaceSpec {
  ObjectMeta meta;  // cluster-scoped
};

// The objects a lab keeps as the documents they came from: the L7 ones, the namespaces declared
// by Namespace objects, and NetworkPolicies.
struct L7Objects {
  std::vector<NamespaceSpec> namespaces;
  std::vector<SecretSpec> secrets;
  std::vector<IngressClassSpec> ingress_classes;
  std::vector<IngressSpec> ingresses;
  std::vector<GatewayClassSpec> gateway_classes;
  std::vector<GatewaySpec> gateways;
  std::vector<HttpRouteSpec> http_routes;
  std::vector<L4RouteSpec> l4_routes;
  std::vector<ReferenceGrantSpec> reference_grants;
  std::vector<NetworkPolicySpec> network_policies;
  bool empty() const;

  // Calls f(vector) for each kind's objects, in the order they are recorded: the one list of
  // the members, for what is done to all of them (merge, record, emptiness).
  template <class F>
  void each(F&& f) const { each_of(*this, f); }
  template <class F>
  void each(F&& f) { each_of(*this, f); }

 private:
  template <class Self, class F>
  static void each_of(Self& l7, F& f) {
    f(l7.namespaces), f(l7.secrets), f(l7.ingress_classes), f(l7.ingresses), f(l7.gateway_classes), f(l7.gateways);
    f(l7.http_routes), f(l7.l4_routes), f(l7.reference_grants), f(l7.network_policies);
  }
};

std::string_view to_string(ListenerProtocol p);
std::string_view to_string(IngressPathType t);
std::string_view to_string(PathMatchType t);

}  // namespace knlab
