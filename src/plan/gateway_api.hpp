// Gateway API semantics, as a conformant controller decides them: which listeners of a Gateway
// are served (port and hostname conflicts, certificates), which listeners a route attaches to and
// with which hostnames, which backends a route may use (ReferenceGrant), and the status
// conditions of Gateways and routes. No nginx here: the Gateway writer (nginx_gateway*) turns
// these decisions into configuration. Internal to src/plan.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plan/nginx.hpp"  // the public status types: Condition, ParentStatus, GatewayStatus
#include "plan/plan.hpp"

namespace knlab::gateway_api {

const GatewaySpec* find_gateway(const LabPlan& plan, std::string_view ns, std::string_view name);
const GatewayClassSpec* find_gateway_class(const LabPlan& plan, std::string_view name);
// Of a GatewayClass whose controllerName is kn-lab's.
bool gateway_is_ours(const LabPlan& plan, const GatewaySpec& gw);

// --- hostnames ---------------------------------------------------------------------------------

bool is_wildcard(std::string_view h);
// `pattern` (a listener or route hostname: exact, "*.suffix", or empty for any) covers `host`
// (an exact hostname or a narrower wildcard).
bool host_covers(std::string_view pattern, std::string_view host);
// The hostnames a route serves on a listener: the intersection of theirs (empty: any).
std::optional<std::string> host_intersection(std::string_view listener, std::string_view route);
// How specific a hostname is, for "the most specific wins": exact before wildcard or any, then
// the longer.
std::pair<bool, std::size_t> host_rank(std::string_view h);

// --- listeners ---------------------------------------------------------------------------------

enum class RouteKind { kHTTP, kTCP, kUDP };
std::string_view kind_name(RouteKind k);
RouteKind route_kind(const L4RouteSpec& r);
bool is_http(ListenerProtocol p);

struct ListenerInfo {
  const ListenerSpec* spec = nullptr;
  std::string conflict;  // ProtocolConflict | HostnameConflict, empty when none
  std::string conflict_message;
  const SecretSpec* cert = nullptr;  // HTTPS: the certificate it serves
  Condition resolved{"ResolvedRefs", true, "ResolvedRefs", "all references are resolved"};
  // Served by the data plane: not conflicted, and an HTTPS listener has a certificate.
  bool usable() const {
    return conflict.empty() && (spec->protocol != ListenerProtocol::kHTTPS || cert != nullptr);
  }
};
// One per listener of `gw`, in its order.
std::vector<ListenerInfo> listener_infos(const LabPlan& plan, const GatewaySpec& gw);

// Of the listeners `on_port` (indexes into gw.listeners), the one a request for `host` goes to:
// the one with the most specific hostname that covers it (the first of equals).
std::optional<std::size_t> listener_for_host(const GatewaySpec& gw,
                                             const std::vector<std::size_t>& on_port,
                                             std::string_view host);

// --- route attachment --------------------------------------------------------------------------

struct Attachment {
  std::string parent;  // ns/gateway[/section]
  Condition accepted;
  const GatewaySpec* gateway = nullptr;
  // The listeners (indexes into the gateway's) the route is attached to, with the hostnames it
  // serves on each ("" = any).
  std::vector<std::pair<std::size_t, std::vector<std::string>>> listeners;
};
// A route (of `kind`, with `hostnames`) attached through one of its parentRefs.
Attachment attach(const LabPlan& plan, RouteKind kind, const ObjectMeta& route,
                  const std::vector<std::string>& hostnames, const ParentRef& ref);

// (HTTPRoute, listener) -> the hostnames the route serves there; indexes into
// plan.l7.http_routes and the Gateway's listeners.
using HttpAttachments = std::map<std::pair<std::size_t, std::size_t>, std::vector<std::string>>;

// The routes attached to one Gateway (`gw` is one of plan.l7.gateways), through any parentRef.
struct AttachedRoutes {
  HttpAttachments http;
  // listener -> its TCPRoutes or UDPRoutes (indexes into plan.l7.l4_routes), plan order.
  std::map<std::size_t, std::vector<std::size_t>> l4;
  // The routes attached to a listener (status.listeners[].attachedRoutes).
  int count(std::size_t listener) const;
};
AttachedRoutes attached_routes(const LabPlan& plan, const GatewaySpec& gw);

// --- backends ----------------------------------------------------------------------------------

struct Backend {
  const BackendRef* ref = nullptr;
  std::string ns;
  const ServicePlan* service = nullptr;
  const ServicePortPlan* port = nullptr;
  std::string reason;  // empty: resolved; BackendNotFound | RefNotPermitted
  std::string message;
  bool ok() const { return reason.empty(); }
  std::string display() const;
};
// A backendRef of a route: a Service port the route may use, or why not.
Backend resolve(const LabPlan& plan, RouteKind kind, const ObjectMeta& route,
                const BackendRef& ref);

}  // namespace knlab::gateway_api
