#include "cli/l7_views.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <ctime>

#include "core/text.hpp"
#include "lab/kinds.hpp"
#include "plan/nginx.hpp"

namespace knlab {

namespace {

// Canonical kind of a `get`/`describe` argument when it is an L7 kind (lab/kinds.hpp).
std::string canonical(std::string_view k) {
  const KindInfo* info = find_kind(k);
  if (!info) return {};
  switch (info->id) {
    case Kind::kSecret: case Kind::kIngressClass: case Kind::kIngress: case Kind::kGatewayClass: case Kind::kGateway:
    case Kind::kHTTPRoute: case Kind::kTCPRoute: case Kind::kUDPRoute: case Kind::kReferenceGrant:
      return std::string(info->kind);
    default: return {};
  }
}

const ServicePlan* service(const LabPlan& p, std::string_view ns, std::string_view name) {
  for (const ServicePlan& s : p.services)
    if (s.spec.ns == ns && s.spec.name == name) return &s;
  return nullptr;
}

const DataPlanePlan* ingress_controller(const LabPlan& p) {
  for (const DataPlanePlan& dp : p.data_planes)
    if (dp.kind == DataPlanePlan::Kind::kIngress) return &dp;
  return nullptr;
}

// Where an Ingress is reachable, as ingress-nginx publishes it: the controller Service's
// EXTERNAL-IP, else the address of the node its pod runs on.
std::string ingress_address(const LabPlan& p) {
  const DataPlanePlan* dp = ingress_controller(p);
  if (!dp) return "";
  const ServicePlan* s = service(p, dp->ns, dp->name);
  if (s && s->lb_ip) return s->lb_ip->str();
  for (const PodPlan& pod : p.pods)
    if (pod.ns == dp->ns && pod.deployment == dp->name)
      if (const NodePlan* n = p.node(pod.node)) return p.has_wire() ? n->ip.addr.str() : n->bridge_address.addr.str();
  return "";
}


std::string backend_str(const LabPlan& p, const std::string& ns, const IngressBackend& b) {
  std::string port = b.port ? std::to_string(b.port) : b.port_name;
  const ServicePlan* s = service(p, ns, b.service);
  std::string eps;
  if (s) {
    const ServicePortPlan* sp = b.port ? s->port(b.port) : s->port(std::string_view(b.port_name));
    for (const EndpointPlan& e : s->endpoints)
      if (sp) eps += fmt::format("{}{}:{}", eps.empty() ? "" : ",", e.ip.str(), sp->target_port);
  }
  return fmt::format("{}:{} ({})", b.service, port, s ? (eps.empty() ? "<none>" : eps) : "<error: service not found>");
}

void conditions(std::string& out, const std::vector<Condition>& cs, const std::string& indent) {
  out += indent + "Conditions:\n";
  for (const Condition& c : cs) {
    out += fmt::format("{}  Type:     {}\n", indent, c.type);
    out += fmt::format("{}  Status:   {}\n", indent, c.status ? "True" : "False");
    out += fmt::format("{}  Reason:   {}\n", indent, c.reason);
    if (!c.message.empty()) out += fmt::format("{}  Message:  {}\n", indent, c.message);
  }
}

void annotations(std::string& out, const ObjectMeta& m) {
  if (m.annotations.empty()) {
    out += "Annotations:      <none>\n";
    return;
  }
  bool first = true;
  for (auto& [k, v] : m.annotations) {
    out += fmt::format("{}{}: {}\n", first ? "Annotations:      " : "                  ", k, v);
    first = false;
  }
}

void parent_status(std::string& out, const std::vector<ParentStatus>& parents) {
  out += "Status:\n  Parents:\n";
  for (const ParentStatus& ps : parents) {
    out += fmt::format("    Parent Ref:  {}\n", ps.parent);
    out += fmt::format("    Controller Name:  {}\n", kGatewayController);
    conditions(out, ps.conditions, "    ");
  }
}

template <class T>
std::vector<const T*> select(const std::vector<T>& all, const L7Query& q) {
  std::vector<const T*> out;
  for (const T& x : all)
    if (q.in_ns(x.meta.ns) && (q.name.empty() || x.meta.name == q.name)) out.push_back(&x);
  return out;
}



}  // namespace

bool is_l7_kind(std::string_view kind) { return !canonical(kind).empty(); }

std::string_view l7_kinds_help() {
  return "ingresses (ing), ingressclasses, gatewayclasses (gc), gateways (gtw), httproutes, tcproutes, udproutes, "
         "referencegrants, secrets";
}


namespace {

// The head of kubectl's describe for the Gateway API kinds.
std::string describe_head(const ObjectMeta& m, std::string_view api, std::string_view kind) {
  std::string out = fmt::format("Name:             {}\n", m.name);
  if (!m.ns.empty()) out += fmt::format("Namespace:        {}\n", m.ns);
  std::string labels;
  for (auto& [k, val] : m.labels) labels += (labels.empty() ? "" : ",") + k + "=" + val;
  out += fmt::format("Labels:           {}\n", labels.empty() ? "<none>" : labels);
  annotations(out, m);
  out += fmt::format("API Version:      {}\nKind:             {}\n", api, kind);
  return out;
}

std::string describe_ingress(const LabPlan& p, const IngressSpec& i) {
  bool ours = ingress_is_ours(p, i);
  std::string out = fmt::format("Name:             {}\nLabels:           <none>\nNamespace:        {}\n", i.meta.name, i.meta.ns);
  out += fmt::format("Address:          {}\n", ours ? ingress_address(p) : "");
  out += fmt::format("Ingress Class:    {}\n", i.class_name.empty() ? "<none>" : i.class_name);
  out += fmt::format("Default backend:  {}\n", i.default_backend ? backend_str(p, i.meta.ns, *i.default_backend) : "<default>");
  if (!i.tls.empty()) {
    out += "TLS:\n";
    for (auto& t : i.tls) out += fmt::format("  {} terminates {}\n", t.secret, join(t.hosts, ","));
  }
  out += "Rules:\n  Host        Path  Backends\n  ----        ----  --------\n";
  for (auto& r : i.rules) {
    out += fmt::format("  {}\n", r.host.empty() ? "*" : r.host);
    for (auto& path : r.paths) out += fmt::format("              {}   {}\n", path.path, backend_str(p, i.meta.ns, path.backend));
  }
  annotations(out, i.meta);
  if (!ours)
    out += fmt::format("Note:             not served: class \"{}\" is not handled by this lab's ingress controller{}\n",
                       i.class_name, ingress_controller(p) ? "" : " (the lab has none: add [ingress_nginx] to the lab file)");
  else if (const DataPlanePlan* dp = ingress_controller(p))
    out += fmt::format("Data plane:       nginx config {}\n", dp->conf());
  return out + "Events:           <none>\n";
}

std::string describe_gateway(const LabPlan& p, const GatewaySpec& g) {
  std::string out = describe_head(g.meta, "gateway.networking.k8s.io/v1", "Gateway");
  out += fmt::format("Spec:\n  Gateway Class Name:  {}\n  Listeners:\n", g.class_name);
  for (const ListenerSpec& l : g.listeners) {
    out += fmt::format("    Name:      {}\n    Port:      {}\n    Protocol:  {}\n", l.name, l.port, to_string(l.protocol));
    if (!l.hostname.empty()) out += fmt::format("    Hostname:  {}\n", l.hostname);
    for (auto& c : l.certificates) out += fmt::format("    TLS:       Terminate with Secret {}{}\n", c.ns.empty() ? "" : c.ns + "/", c.name);
    out += fmt::format("    Allowed Routes:  namespaces from {}\n", l.allowed_from);
  }
  GatewayStatus st = gateway_status(p, g);
  out += "Status:\n  Addresses:\n";
  for (auto& a : st.addresses) out += fmt::format("    Type:   IPAddress\n    Value:  {}\n", a);
  conditions(out, st.conditions, "  ");
  out += "  Listeners:\n";
  for (auto& l : st.listeners) {
    out += fmt::format("    Name:             {}\n    Attached Routes:  {}\n", l.name, l.attached_routes);
    conditions(out, l.conditions, "    ");
  }
  for (const DataPlanePlan& dp : p.data_planes)
    if (dp.kind == DataPlanePlan::Kind::kGateway && dp.gateway_ns == g.meta.ns && dp.gateway == g.meta.name)
      out += fmt::format("Data plane:       Deployment and Service {}/{}, nginx config {}\n", dp.ns, dp.name, dp.conf());
  return out + "Events:           <none>\n";
}

std::string describe_http_route(const LabPlan& p, const HttpRouteSpec& r) {
  std::string out = describe_head(r.meta, "gateway.networking.k8s.io/v1", "HTTPRoute") + "Spec:\n";
  if (!r.hostnames.empty()) out += fmt::format("  Hostnames:  {}\n", join(r.hostnames, ", "));
  out += "  Parent Refs:\n";
  for (auto& pr : r.parents)
    out += fmt::format("    Name:  {}{}{}\n", pr.ns.empty() ? "" : pr.ns + "/", pr.name, pr.section_name.empty() ? "" : " (section " + pr.section_name + ")");
  out += "  Rules:\n";
  for (auto& rule : r.rules) {
    for (auto& m : rule.matches) {
      std::string what = m.path ? fmt::format("path {} {}", to_string(m.path->type), m.path->value) : "path PathPrefix /";
      for (auto& h : m.headers) what += fmt::format(", header {}{}{}", h.name, h.regex ? " ~ " : " = ", h.value);
      for (auto& qp : m.query) what += fmt::format(", query {}{}{}", qp.name, qp.regex ? " ~ " : " = ", qp.value);
      if (!m.method.empty()) what += ", method " + m.method;
      out += fmt::format("    Match:     {}\n", what);
    }
    for (auto& b : rule.backends)
      out += fmt::format("    Backend:   {}{}:{} weight {}\n", b.ns.empty() ? "" : b.ns + "/", b.name, b.port, b.weight);
  }
  parent_status(out, route_status(p, r));
  return out;
}

std::string describe_l4_route(const LabPlan& p, const L4RouteSpec& r, std::string_view kind) {
  std::string out = describe_head(r.meta, "gateway.networking.k8s.io/v1alpha2", kind) + "Spec:\n  Backends:\n";
  for (auto& b : r.backends) out += fmt::format("    {}{}:{} weight {}\n", b.ns.empty() ? "" : b.ns + "/", b.name, b.port, b.weight);
  parent_status(out, route_status(p, r));
  return out;
}

std::string describe_reference_grant(const ReferenceGrantSpec& g) {
  std::string out = describe_head(g.meta, "gateway.networking.k8s.io/v1beta1", "ReferenceGrant") + "Spec:\n  From:\n";
  for (auto& f : g.from) out += fmt::format("    {} {} in namespace {}\n", f.group, f.kind, f.ns);
  out += "  To:\n";
  for (auto& t : g.to) out += fmt::format("    {} {}{}\n", t.group.empty() ? "core" : t.group, t.kind, t.name.empty() ? "" : " " + t.name);
  return out;
}

std::string describe_gateway_class(const LabPlan& p, const GatewayClassSpec& c) {
  std::string out = describe_head(c.meta, "gateway.networking.k8s.io/v1", "GatewayClass");
  bool ours = p.answers_to(c.controller);
  out += fmt::format("Spec:\n  Controller Name:  {}\nStatus:\n", c.controller);
  conditions(out, {Condition{"Accepted", ours, ours ? "Accepted" : "Unsupported",
                             ours ? "kn-lab's Gateway controller answers to it; the data plane of each Gateway is nginx, run by kn-lab"
                                  : fmt::format("this lab's Gateway controller answers to {}", join(p.gateway_controllers, ", "))}},
             "  ");
  return out;
}

// The describe text of the first object of `kind` the query selects, or nullopt (none).
std::optional<std::string> describe_text(const LabPlan& p, const std::string& kind, const L7Query& q) {
  const L7Objects& l7 = p.l7;
  auto first = [&](const auto& objects) { return select(objects, q); };
  if (kind == "Ingress") {
    if (auto f = first(l7.ingresses); !f.empty()) return describe_ingress(p, *f.front());
  } else if (kind == "Gateway") {
    if (auto f = first(l7.gateways); !f.empty()) return describe_gateway(p, *f.front());
  } else if (kind == "HTTPRoute") {
    if (auto f = first(l7.http_routes); !f.empty()) return describe_http_route(p, *f.front());
  } else if (kind == "TCPRoute" || kind == "UDPRoute") {
    auto f = first(l7.l4_routes);
    std::erase_if(f, [&](const L4RouteSpec* r) { return (r->protocol == ListenerProtocol::kTCP) != (kind == "TCPRoute"); });
    if (!f.empty()) return describe_l4_route(p, *f.front(), kind);
  } else if (kind == "ReferenceGrant") {
    if (auto f = first(l7.reference_grants); !f.empty()) return describe_reference_grant(*f.front());
  } else if (kind == "Secret") {
    if (auto f = first(l7.secrets); !f.empty())
      return fmt::format("Name:         {}\nNamespace:    {}\nType:         {}\n\nData\n====\ntls.crt:  {} bytes\ntls.key:  {} bytes\n",
                         f.front()->meta.name, f.front()->meta.ns, f.front()->type, f.front()->cert_pem.size(), f.front()->key_pem.size());
  } else if (kind == "IngressClass") {
    if (auto f = first(l7.ingress_classes); !f.empty())
      return fmt::format("Name:         {}\nController:   {}\nDefault:      {}\n", f.front()->meta.name, f.front()->controller,
                         f.front()->is_default ? "true" : "false");
  } else if (auto f = first(l7.gateway_classes); !f.empty()) {
    return describe_gateway_class(p, *f.front());
  }
  return std::nullopt;
}

}  // namespace

std::optional<Result<int>> describe_l7(const LabView& v, std::string_view kind_arg, const L7Query& q) {
  std::string kind = canonical(kind_arg);
  if (kind.empty()) return std::nullopt;
  auto text = describe_text(v.plan, kind, q);
  if (!text)
    return fail(state_error("describe", fmt::format("{} \"{}\" not found in namespace {} of lab {}", find_kind_exact(kind)->resource(), q.name,
                                                    q.ns, v.plan.lab)));
  fmt::print("{}", *text);
  return 0;
}

}  // namespace knlab
