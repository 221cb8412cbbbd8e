#include "plan/gateway_api.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <set>

#include "core/text.hpp"

#include "plan/l7_common.hpp"

namespace knlab::gateway_api {

using l7::join;

namespace {

constexpr std::string_view kGatewayApiGroup = "gateway.networking.k8s.io";

// A reference from a Gateway API object (kind `from_kind` in `from_ns`) to a core object in
// another namespace is allowed by a ReferenceGrant in the target's namespace.
bool reference_granted(const LabPlan& plan, std::string_view from_kind, std::string_view from_ns,
                       std::string_view to_kind, std::string_view to_ns, std::string_view to_name) {
  if (from_ns == to_ns) return true;
  for (const ReferenceGrantSpec& g : plan.l7.reference_grants) {
    if (g.meta.ns != to_ns) continue;
    bool from = std::any_of(g.from.begin(), g.from.end(), [&](const ReferenceGrantSpec::From& f) {
      return f.group == kGatewayApiGroup && f.kind == from_kind && f.ns == from_ns;
    });
    bool to = std::any_of(g.to.begin(), g.to.end(), [&](const ReferenceGrantSpec::To& t) {
      return (t.group.empty() || t.group == "core") && t.kind == to_kind &&
             (t.name.empty() || t.name == to_name);
    });
    if (from && to) return true;
  }
  return false;
}

std::string missing_grant(std::string_view from_kind, std::string_view from_ns,
                          std::string_view to_kind, std::string_view to_ns,
                          std::string_view to_name) {
  return fmt::format("no ReferenceGrant in namespace {} allows {} from namespace {} to {} {}",
                     to_ns, from_kind, from_ns, to_kind, to_name);
}

bool listener_takes(ListenerProtocol p, RouteKind k) {
  switch (k) {
    case RouteKind::kHTTP:
      return is_http(p);
    case RouteKind::kTCP:
      return p == ListenerProtocol::kTCP;
    case RouteKind::kUDP:
      return p == ListenerProtocol::kUDP;
  }
  return false;
}

// Listeners share a port when the protocols are compatible: HTTP with HTTP and HTTPS with HTTPS
// by hostname; TCP and UDP are different sockets. The first listener keeps the port.
void find_conflict(ListenerInfo& info, const std::vector<ListenerInfo>& before) {
  const ListenerSpec& l = *info.spec;
  for (const ListenerInfo& other : before) {
    const ListenerSpec& b = *other.spec;
    if (!other.conflict.empty() || b.port != l.port) continue;
    bool udp_a = l.protocol == ListenerProtocol::kUDP, udp_b = b.protocol == ListenerProtocol::kUDP;
    if (udp_a != udp_b) continue;
    if (b.protocol != l.protocol) {
      info.conflict = "ProtocolConflict";
      info.conflict_message = fmt::format("port {} is already used by listener {} with protocol {}",
                                          l.port, b.name, to_string(b.protocol));
    } else if (!is_http(l.protocol) || b.hostname == l.hostname) {
      info.conflict = "HostnameConflict";
      info.conflict_message =
          fmt::format("listener {} already serves port {}{}", b.name, l.port,
                      is_http(l.protocol) ? fmt::format(" for hostname \"{}\"", l.hostname) : "");
    }
    if (!info.conflict.empty()) break;
  }
}

// An HTTPS listener's certificate: the first of its certificateRefs that is permitted, exists and
// has a certificate and key; ResolvedRefs names the others.
void resolve_certificates(ListenerInfo& info, const LabPlan& plan, const GatewaySpec& gw) {
  const ListenerSpec& l = *info.spec;
  std::vector<std::string> problems;
  std::string reason;
  if (l.certificates.empty()) {
    reason = "InvalidCertificateRef";
    problems.push_back("an HTTPS listener needs tls.certificateRefs");
  }
  for (const SecretRef& ref : l.certificates) {
    std::string ns = ref.ns.empty() ? gw.meta.ns : ref.ns;
    const SecretSpec* s = nullptr;
    if (!reference_granted(plan, "Gateway", gw.meta.ns, "Secret", ns, ref.name)) {
      if (reason.empty()) reason = "RefNotPermitted";
      problems.push_back(fmt::format("certificateRef {}/{}: {}", ns, ref.name,
                                     missing_grant("Gateway", gw.meta.ns, "Secret", ns, ref.name)));
    } else if ((s = l7::find_secret(plan, ns, ref.name)) == nullptr) {
      if (reason.empty()) reason = "InvalidCertificateRef";
      problems.push_back(fmt::format("certificateRef {}/{}: Secret {}/{} does not exist", ns,
                                     ref.name, ns, ref.name));
    } else if (s->cert_pem.empty() || s->key_pem.empty()) {
      if (reason.empty()) reason = "InvalidCertificateRef";
      problems.push_back(
          fmt::format("certificateRef {}/{}: Secret {}/{} has no tls.crt and tls.key", ns, ref.name,
                      ns, ref.name));
    } else if (info.cert == nullptr) {
      info.cert = s;
    }
  }
  if (!problems.empty())
    info.resolved = Condition{"ResolvedRefs", false, reason, join(problems, "; ")};
}

// The listeners of `gw` a parentRef names (sectionName, port), or why there is none.
std::vector<std::size_t> named_listeners(const GatewaySpec& gw, const ParentRef& ref) {
  std::vector<std::size_t> fit;
  for (std::size_t i = 0; i < gw.listeners.size(); ++i) {
    const ListenerSpec& l = gw.listeners[i];
    if (!ref.section_name.empty() && l.name != ref.section_name) continue;
    if (ref.port && l.port != *ref.port) continue;
    fit.push_back(i);
  }
  return fit;
}

// The hostnames a route serves on listener `l`: the listener's when the route has none.
std::vector<std::string> served_hosts(const ListenerSpec& l,
                                      const std::vector<std::string>& hostnames) {
  std::vector<std::string> hosts;
  if (hostnames.empty()) {
    hosts.push_back(l.hostname);
    return hosts;
  }
  for (const std::string& h : hostnames)
    if (auto x = host_intersection(l.hostname, h);
        x && std::find(hosts.begin(), hosts.end(), *x) == hosts.end())
      hosts.push_back(*x);
  return hosts;
}

// The listeners of `gw` one route is attached to through any of its parentRefs, with the
// hostnames it serves on each (first seen first).
std::map<std::size_t, std::vector<std::string>> listeners_on(
    const LabPlan& plan, const GatewaySpec& gw, RouteKind kind, const ObjectMeta& meta,
    const std::vector<std::string>& hostnames, const std::vector<ParentRef>& parents) {
  std::map<std::size_t, std::vector<std::string>> on;
  for (const ParentRef& p : parents) {
    Attachment a = attach(plan, kind, meta, hostnames, p);
    if (a.gateway != &gw || !a.accepted.status) continue;
    for (auto& [li, hosts] : a.listeners) {
      auto& v = on[li];
      for (const std::string& h : hosts)
        if (std::find(v.begin(), v.end(), h) == v.end()) v.push_back(h);
    }
  }
  return on;
}

Condition resolved_refs(const LabPlan& plan, RouteKind kind, const ObjectMeta& route,
                        const std::vector<const BackendRef*>& refs) {
  std::string reason;
  std::vector<std::string> problems;
  for (const BackendRef* r : refs) {
    Backend b = resolve(plan, kind, route, *r);
    if (b.ok()) continue;
    if (reason.empty()) reason = b.reason;
    problems.push_back(fmt::format("backendRef {}: {}", b.display(), b.message));
  }
  if (problems.empty())
    return Condition{"ResolvedRefs", true, "ResolvedRefs", "all backend references are resolved"};
  return Condition{"ResolvedRefs", false, reason, join(problems, "; ")};
}

std::vector<ParentStatus> route_status_of(const LabPlan& plan, RouteKind kind,
                                          const ObjectMeta& meta,
                                          const std::vector<ParentRef>& parents,
                                          const std::vector<std::string>& hostnames,
                                          const std::vector<const BackendRef*>& refs) {
  std::vector<ParentStatus> out;
  Condition resolved = resolved_refs(plan, kind, meta, refs);
  for (const ParentRef& p : parents) {
    Attachment a = attach(plan, kind, meta, hostnames, p);
    out.push_back(ParentStatus{a.parent, {a.accepted, resolved}});
  }
  return out;
}

Condition gateway_accepted(const LabPlan& plan, const GatewaySpec& gw) {
  const GatewayClassSpec* cls = find_gateway_class(plan, gw.class_name);
  if (cls == nullptr)
    return Condition{"Accepted", false, "NoSuchGatewayClass",
                     fmt::format("GatewayClass \"{}\" does not exist", gw.class_name)};
  if (!plan.answers_to(cls->controller))
    return Condition{"Accepted", false, "InvalidParameters",
                     fmt::format("GatewayClass \"{}\" has controllerName {}, which this lab's Gateway controller does not answer to ({})",
                                 gw.class_name, cls->controller, join(plan.gateway_controllers, ", "))};
  return Condition{"Accepted", true, "Accepted",
                   fmt::format("the Gateway is accepted by {} (kn-lab's nginx data plane)", cls->controller)};
}

// Programmed when the Gateway's data plane and its Service exist; `addresses` gets its address.
Condition gateway_programmed(const LabPlan& plan, const GatewaySpec& gw, bool accepted,
                             std::vector<std::string>& addresses) {
  const DataPlanePlan* dp = nullptr;
  for (const DataPlanePlan& d : plan.data_planes)
    if (d.kind == DataPlanePlan::Kind::kGateway && d.gateway_ns == gw.meta.ns && d.gateway == gw.meta.name)
      dp = &d;
  const ServicePlan* svc = dp != nullptr ? l7::find_service(plan, dp->ns, dp->name) : nullptr;
  if (!accepted) return Condition{"Programmed", false, "Invalid", "the Gateway is not accepted"};
  if (dp == nullptr)
    return Condition{"Programmed", false, "Pending", "no nginx data plane for this Gateway"};
  if (svc == nullptr)
    return Condition{
        "Programmed", false, "AddressNotAssigned",
        fmt::format("the data plane's Service {}/{} does not exist", dp->ns, dp->name)};
  addresses.push_back(svc->lb_ip ? svc->lb_ip->str() : svc->cluster_ip.str());
  return Condition{
      "Programmed", true, "Programmed",
      fmt::format("nginx {}/{} serves the listeners at {}", dp->ns, dp->name, addresses.front())};
}

GatewayStatus::Listener listener_status(const ListenerInfo& info, int attached, bool accepted) {
  GatewayStatus::Listener l;
  l.name = info.spec->name;
  l.attached_routes = attached;
  l.conditions.push_back(Condition{"Accepted", true, "Accepted", "the listener is valid"});
  if (!info.conflict.empty())
    l.conditions.push_back(Condition{"Conflicted", true, info.conflict, info.conflict_message});
  l.conditions.push_back(info.resolved);
  if (!accepted)
    l.conditions.push_back(
        Condition{"Programmed", false, "Invalid", "the Gateway is not accepted"});
  else if (!info.conflict.empty())
    l.conditions.push_back(
        Condition{"Programmed", false, "Invalid", "the listener conflicts with another"});
  else if (!info.usable())
    l.conditions.push_back(Condition{"Programmed", false, "Invalid",
                                     "no usable certificate: " + info.resolved.message});
  else
    l.conditions.push_back(
        Condition{"Programmed", true, "Programmed", "nginx serves the listener"});
  return l;
}

}  // namespace

const GatewaySpec* find_gateway(const LabPlan& plan, std::string_view ns, std::string_view name) {
  for (const GatewaySpec& g : plan.l7.gateways)
    if (g.meta.ns == ns && g.meta.name == name) return &g;
  return nullptr;
}

const GatewayClassSpec* find_gateway_class(const LabPlan& plan, std::string_view name) {
  for (const GatewayClassSpec& c : plan.l7.gateway_classes)
    if (c.meta.name == name) return &c;
  return nullptr;
}

bool gateway_is_ours(const LabPlan& plan, const GatewaySpec& gw) {
  const GatewayClassSpec* c = find_gateway_class(plan, gw.class_name);
  return c != nullptr && plan.answers_to(c->controller);
}

bool is_wildcard(std::string_view h) {
  return h.starts_with("*.");
}

bool host_covers(std::string_view pattern, std::string_view host) {
  if (pattern.empty()) return true;
  if (host.empty()) return false;
  if (pattern == host) return true;
  if (!is_wildcard(pattern)) return false;
  std::string_view suffix = pattern.substr(1);  // ".example.com"
  std::string_view h = is_wildcard(host) ? host.substr(1) : host;
  return h.size() > suffix.size() && h.ends_with(suffix);
}

std::optional<std::string> host_intersection(std::string_view listener, std::string_view route) {
  if (host_covers(listener, route)) return std::string(route);
  if (host_covers(route, listener)) return std::string(listener);
  return std::nullopt;
}

std::pair<bool, std::size_t> host_rank(std::string_view h) {
  return {!h.empty() && !is_wildcard(h), h.size()};
}

std::string_view kind_name(RouteKind k) {
  switch (k) {
    case RouteKind::kHTTP:
      return "HTTPRoute";
    case RouteKind::kTCP:
      return "TCPRoute";
    case RouteKind::kUDP:
      return "UDPRoute";
  }
  return "HTTPRoute";
}

RouteKind route_kind(const L4RouteSpec& r) {
  return r.protocol == ListenerProtocol::kUDP ? RouteKind::kUDP : RouteKind::kTCP;
}

bool is_http(ListenerProtocol p) {
  return p == ListenerProtocol::kHTTP || p == ListenerProtocol::kHTTPS;
}

std::vector<ListenerInfo> listener_infos(const LabPlan& plan, const GatewaySpec& gw) {
  std::vector<ListenerInfo> out;
  for (const ListenerSpec& l : gw.listeners) {
    ListenerInfo info;
    info.spec = &l;
    find_conflict(info, out);
    if (l.protocol == ListenerProtocol::kHTTPS) resolve_certificates(info, plan, gw);
    out.push_back(std::move(info));
  }
  return out;
}

std::optional<std::size_t> listener_for_host(const GatewaySpec& gw,
                                             const std::vector<std::size_t>& on_port,
                                             std::string_view host) {
  std::optional<std::size_t> best;
  for (std::size_t li : on_port) {
    const std::string& lh = gw.listeners[li].hostname;
    if (!host_covers(lh, host)) continue;
    if (!best || host_rank(lh) > host_rank(gw.listeners[*best].hostname)) best = li;
  }
  return best;
}

Attachment attach(const LabPlan& plan, RouteKind kind, const ObjectMeta& route,
                  const std::vector<std::string>& hostnames, const ParentRef& ref) {
  Attachment a;
  std::string ns = ref.ns.empty() ? route.ns : ref.ns;
  a.parent = ns + "/" + ref.name + (ref.section_name.empty() ? "" : "/" + ref.section_name);
  auto no = [&](std::string reason, std::string message) {
    a.accepted = Condition{"Accepted", false, std::move(reason), std::move(message)};
    a.listeners.clear();
    return a;
  };
  const GatewaySpec* gw = find_gateway(plan, ns, ref.name);
  if (gw == nullptr)
    return no("NoMatchingParent", fmt::format("Gateway {}/{} does not exist", ns, ref.name));
  if (!gateway_is_ours(plan, *gw))
    return no("NoMatchingParent",
              fmt::format("Gateway {}/{} is not of a GatewayClass this lab's Gateway controller answers to ({})", ns,
                          ref.name, join(plan.gateway_controllers, ", ")));
  a.gateway = gw;
  std::vector<std::size_t> fit = named_listeners(*gw, ref);
  if (fit.empty()) {
    std::string what = !ref.section_name.empty() ? fmt::format("named {}", ref.section_name) : "";
    if (ref.port) what += fmt::format("{}on port {}", what.empty() ? "" : " ", *ref.port);
    return no("NoMatchingParent",
              fmt::format("Gateway {}/{} has no listener {}", ns, ref.name, what));
  }
  std::erase_if(fit,
                [&](std::size_t i) { return !listener_takes(gw->listeners[i].protocol, kind); });
  if (fit.empty())
    return no("NoMatchingParent",
              fmt::format("Gateway {}/{} has no {} listener for a {}", ns, ref.name,
                          kind == RouteKind::kHTTP  ? "HTTP or HTTPS"
                          : kind == RouteKind::kTCP ? "TCP"
                                                    : "UDP",
                          kind_name(kind)));
  std::vector<std::string> refused;
  std::erase_if(fit, [&](std::size_t i) {
    const ListenerSpec& l = gw->listeners[i];
    if (l.allowed_from == "All" || route.ns == gw->meta.ns) return false;
    refused.push_back(l.name);
    return true;
  });
  if (fit.empty())
    return no("NotAllowedByListeners",
              fmt::format("listener {} of Gateway {}/{} allows routes only from namespace {} "
                          "(allowedRoutes.namespaces.from: Same), the route is in {}",
                          join(refused, ", "), ns, ref.name, gw->meta.ns, route.ns));
  for (std::size_t i : fit)
    if (std::vector<std::string> hosts = served_hosts(gw->listeners[i], hostnames); !hosts.empty())
      a.listeners.emplace_back(i, std::move(hosts));
  if (a.listeners.empty())
    return no("NoMatchingListenerHostname",
              fmt::format("no hostname of the route ({}) matches a listener of Gateway {}/{}",
                          join(hostnames, ", "), ns, ref.name));
  std::vector<std::string> names;
  for (auto& [i, h] : a.listeners) names.push_back(gw->listeners[i].name);
  a.accepted = Condition{
      "Accepted", true, "Accepted",
      fmt::format("attached to Gateway {}/{} (listener {})", ns, ref.name, join(names, ", "))};
  return a;
}

int AttachedRoutes::count(std::size_t listener) const {
  int n = 0;
  for (const auto& [key, hosts] : http)
    if (key.second == listener) ++n;
  if (auto it = l4.find(listener); it != l4.end()) n += static_cast<int>(it->second.size());
  return n;
}

AttachedRoutes attached_routes(const LabPlan& plan, const GatewaySpec& gw) {
  AttachedRoutes out;
  for (std::size_t ri = 0; ri < plan.l7.http_routes.size(); ++ri) {
    const HttpRouteSpec& r = plan.l7.http_routes[ri];
    for (auto& [li, hosts] :
         listeners_on(plan, gw, RouteKind::kHTTP, r.meta, r.hostnames, r.parents))
      out.http.emplace(std::pair{ri, li}, std::move(hosts));
  }
  for (std::size_t ri = 0; ri < plan.l7.l4_routes.size(); ++ri) {
    const L4RouteSpec& r = plan.l7.l4_routes[ri];
    for (const auto& [li, hosts] : listeners_on(plan, gw, route_kind(r), r.meta, {}, r.parents))
      out.l4[li].push_back(ri);
  }
  return out;
}

std::string Backend::display() const {
  return fmt::format("{}/{}:{}", ns, ref->name, ref->port);
}

Backend resolve(const LabPlan& plan, RouteKind kind, const ObjectMeta& route,
                const BackendRef& ref) {
  Backend b;
  b.ref = &ref;
  b.ns = ref.ns.empty() ? route.ns : ref.ns;
  if (!reference_granted(plan, kind_name(kind), route.ns, "Service", b.ns, ref.name)) {
    b.reason = "RefNotPermitted";
    b.message = missing_grant(kind_name(kind), route.ns, "Service", b.ns, ref.name);
    return b;
  }
  b.service = l7::find_service(plan, b.ns, ref.name);
  if (b.service == nullptr) {
    b.reason = "BackendNotFound";
    b.message = fmt::format("Service {}/{} does not exist", b.ns, ref.name);
    return b;
  }
  std::string_view protocol = kind == RouteKind::kUDP ? "UDP" : "TCP";
  b.port = l7::find_port(*b.service, ref.port, {}, protocol);
  if (b.port == nullptr) {
    b.reason = "BackendNotFound";
    b.message = fmt::format("Service {}/{} has no {} port {}", b.ns, ref.name, protocol, ref.port);
  }
  return b;
}

}  // namespace knlab::gateway_api

namespace knlab {

using gateway_api::RouteKind;

GatewayStatus gateway_status(const LabPlan& plan, const GatewaySpec& gw) {
  GatewayStatus st;
  st.conditions.push_back(gateway_api::gateway_accepted(plan, gw));
  const bool accepted = st.conditions.back().status;
  st.conditions.push_back(gateway_api::gateway_programmed(plan, gw, accepted, st.addresses));
  std::vector<gateway_api::ListenerInfo> infos = gateway_api::listener_infos(plan, gw);
  gateway_api::AttachedRoutes routes =
      accepted ? gateway_api::attached_routes(plan, gw) : gateway_api::AttachedRoutes{};
  for (std::size_t i = 0; i < infos.size(); ++i)
    st.listeners.push_back(gateway_api::listener_status(infos[i], routes.count(i), accepted));
  return st;
}

std::vector<ParentStatus> route_status(const LabPlan& plan, const HttpRouteSpec& route) {
  std::vector<const BackendRef*> refs;
  for (const HttpRouteRule& rule : route.rules)
    for (const BackendRef& b : rule.backends) refs.push_back(&b);
  return gateway_api::route_status_of(plan, RouteKind::kHTTP, route.meta, route.parents,
                                      route.hostnames, refs);
}

std::vector<ParentStatus> route_status(const LabPlan& plan, const L4RouteSpec& route) {
  std::vector<const BackendRef*> refs;
  for (const BackendRef& b : route.backends) refs.push_back(&b);
  return gateway_api::route_status_of(plan, gateway_api::route_kind(route), route.meta,
                                      route.parents, {}, refs);
}

}  // namespace knlab
