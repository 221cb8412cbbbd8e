// kubectl describe of Ingress, IngressClass, Secret and the Gateway API kinds (GatewayClass,
// Gateway, HTTPRoute, TCPRoute, UDPRoute, ReferenceGrant). The Gateway API kinds are custom
// resources, which kubectl describes field by field under Spec: and Status:; the status
// conditions are printed Type, Status, Reason, Message, as learners read them.
#include <fmt/core.h>

#include "core/text.hpp"
#include "views/describe_internal.hpp"
#include "views/printers.hpp"

namespace knlab::views::describing {

namespace {

const Json& list(const Json& o, std::string_view key) {
  static const Json empty = Json::array();
  const Json& f = field(o, key);
  return f.is_array() ? f : empty;
}

std::string ns_of(const Json& o) { return str(field(o, "metadata"), "namespace"); }

// "api:80 (10.244.1.2:8080,10.244.2.2:8080)": a Service backend and its endpoints for that port.
std::string backend(const DescribeContext& ctx, const std::string& ns, const std::string& name, const Json& port) {
  std::string port_text = port.is_string() ? port.get<std::string>() : go_sprint(port);
  const Json* eps = find_related(ctx, "Endpoints", ns, name);
  const Json* svc = find_related(ctx, "Service", ns, name);
  if (!eps) return fmt::format("{}:{} (<error: endpoints \"{}\" not found>)", name, port_text, name);
  std::string endpoints = "<none>";
  if (svc)
    for (const Json& sp : list(field(*svc, "spec"), "ports"))
      if (text(sp, "port") == port_text || str(sp, "name") == port_text) endpoints = format_endpoints(eps, str(sp, "name"));
  return fmt::format("{}:{} ({})", name, port_text, endpoints);
}

std::string ingress_backend(const DescribeContext& ctx, const std::string& ns, const Json& b) {
  const Json& svc = field(b, "service");
  const Json& port = field(svc, "port");
  return backend(ctx, ns, str(svc, "name"), port.contains("name") ? port["name"] : field(port, "number"));
}

std::string describe_ingress(const Json& o, const DescribeContext& ctx) {
  const Json& spec = field(o, "spec");
  std::string ns = ns_of(o), out = fmt::format("Name:\t{}\n", str(field(o, "metadata"), "name"));
  multiline(out, "Labels", field(field(o, "metadata"), "labels"));
  std::vector<std::string> addresses;
  for (const Json& i : list(field(field(o, "status"), "loadBalancer"), "ingress")) addresses.push_back(str(i, "ip") + str(i, "hostname"));
  out += fmt::format("Namespace:\t{}\nAddress:\t{}\n", ns, join(addresses, ","));
  out += fmt::format("Ingress Class:\t{}\n", or_none(str(spec, "ingressClassName")));
  out += fmt::format("Default backend:\t{}\n", spec.contains("defaultBackend") ? ingress_backend(ctx, ns, spec["defaultBackend"]) : "<default>");
  if (!list(spec, "tls").empty()) {
    out += "TLS:\n";
    for (const Json& t : list(spec, "tls")) {
      std::vector<std::string> hosts;
      for (const Json& h : list(t, "hosts")) hosts.push_back(go_sprint(h));
      out += str(t, "secretName").empty() ? fmt::format("  SNI routes {}\n", join(hosts, ","))
                                          : fmt::format("  {} terminates {}\n", str(t, "secretName"), join(hosts, ","));
    }
  }
  out += "Rules:\n  Host\tPath\tBackends\n  ----\t----\t--------\n";
  for (const Json& r : list(spec, "rules")) {
    out += fmt::format("  {}\t\n", str(r, "host").empty() ? "*" : str(r, "host"));
    for (const Json& p : list(field(r, "http"), "paths"))
      out += fmt::format("    \t{} \t{}\n", str(p, "path"), ingress_backend(ctx, ns, field(p, "backend")));
  }
  if (list(spec, "rules").empty() && spec.contains("defaultBackend"))
    out += fmt::format("  *\t*\t{}\n", ingress_backend(ctx, ns, spec["defaultBackend"]));
  multiline(out, "Annotations", field(field(o, "metadata"), "annotations"), ": ");
  return out + "Events:\t<none>\n";
}

std::string describe_ingress_class(const Json& o) {
  std::string out = fmt::format("Name:\t{}\n", str(field(o, "metadata"), "name"));
  labels_and_annotations(out, o);
  out += fmt::format("Controller:\t{}\n", str(field(o, "spec"), "controller"));
  return out + "Events:\t<none>\n";
}

std::size_t decoded_size(const Json& v) {
  if (!v.is_string()) return 0;
  std::size_t n = 0, pad = 0;
  for (char c : v.get_ref<const std::string&>()) {
    if (c == '=') ++pad;
    else if (c != '\n' && c != '\r' && c != ' ') ++n;
  }
  return (n + pad) % 4 == 0 ? (n + pad) / 4 * 3 - pad : n * 3 / 4;
}

std::string describe_secret(const Json& o) {
  std::string out;
  name_and_namespace(out, o);
  labels_and_annotations(out, o);
  out += fmt::format("\nType:\t{}\n\nData\n====\n", str(o, "type").empty() ? "Opaque" : str(o, "type"));
  for (auto& [k, v] : field(o, "data").items()) out += fmt::format("{}:\t{} bytes\n", k, decoded_size(v));
  for (auto& [k, v] : field(o, "stringData").items()) out += fmt::format("{}:\t{} bytes\n", k, v.is_string() ? v.get_ref<const std::string&>().size() : 0);
  return out;
}

// Conditions: Type, Status, Reason, Message, a tabwriter block of their own.
std::string conditions(const Json& cs, const std::string& indent) {
  std::string out = indent + "Conditions:\n";
  for (const Json& c : cs)
    out += fmt::format("{0}  Type:\t{1}\n{0}  Status:\t{2}\n{0}  Reason:\t{3}\n{0}  Message:\t{4}\n", indent, str(c, "type"),
                       str(c, "status"), str(c, "reason"), str(c, "message"));
  return tabwrite(out);
}

std::string ref_name(const Json& r, std::string_view default_ns = {}) {
  std::string ns = str(r, "namespace");
  if (ns.empty()) ns = std::string(default_ns);
  return (ns.empty() ? "" : ns + "/") + str(r, "name");
}

std::string backend_ref(const DescribeContext& ctx, const std::string& route_ns, const Json& b) {
  std::string ns = str(b, "namespace").empty() ? route_ns : str(b, "namespace");
  std::string weight = text(b, "weight").empty() ? "1" : text(b, "weight");
  std::string prefix = str(b, "namespace").empty() ? "" : ns + "/";
  return fmt::format("{}{} weight {}", prefix, backend(ctx, ns, str(b, "name"), field(b, "port")), weight);
}

std::string route_parents(const Json& o) {
  std::string out = "Status:\n  Parents:\n";
  for (const Json& p : list(field(o, "status"), "parents")) {
    const Json& ref = field(p, "parentRef");
    std::string section = str(ref, "sectionName");
    out += tabwrite(fmt::format("    Parent Ref:\t{}{}\n    Controller Name:\t{}\n", ref_name(ref), section.empty() ? "" : "/" + section,
                                str(p, "controllerName")));
    out += conditions(list(p, "conditions"), "    ");
  }
  return out;
}

std::string match_text(const Json& m) {
  const Json& path = field(m, "path");
  std::string out = fmt::format("path {} {}", str(path, "type").empty() ? "PathPrefix" : str(path, "type"),
                                str(path, "value").empty() ? "/" : str(path, "value"));
  for (const Json& h : list(m, "headers"))
    out += fmt::format(", header {}{}{}", str(h, "name"), str(h, "type") == "RegularExpression" ? " ~ " : " = ", str(h, "value"));
  for (const Json& q : list(m, "queryParams"))
    out += fmt::format(", query {}{}{}", str(q, "name"), str(q, "type") == "RegularExpression" ? " ~ " : " = ", str(q, "value"));
  if (!str(m, "method").empty()) out += ", method " + str(m, "method");
  return out;
}

std::string route_spec(const Json& o, const DescribeContext& ctx) {
  const Json& spec = field(o, "spec");
  std::string out = "Spec:\n";
  std::vector<std::string> hosts;
  for (const Json& h : list(spec, "hostnames")) hosts.push_back(go_sprint(h));
  if (!hosts.empty()) out += fmt::format("  Hostnames:\t{}\n", join(hosts, ", "));
  out += "  Parent Refs:\n";
  for (const Json& p : list(spec, "parentRefs"))
    out += fmt::format("    Name:\t{}{}\n", ref_name(p), str(p, "sectionName").empty() ? "" : " (section " + str(p, "sectionName") + ")");
  out += "  Rules:\n";
  for (const Json& r : list(spec, "rules")) {
    for (const Json& m : list(r, "matches")) out += fmt::format("    Match:\t{}\n", match_text(m));
    for (const Json& b : list(r, "backendRefs")) out += fmt::format("    Backend:\t{}\n", backend_ref(ctx, ns_of(o), b));
  }
  return tabwrite(out);
}

std::string describe_gateway(const Json& o) {
  const Json& spec = field(o, "spec");
  const Json& status = field(o, "status");
  std::string out = fmt::format("Spec:\n  Gateway Class Name:\t{}\n  Listeners:\n", str(spec, "gatewayClassName"));
  for (const Json& l : list(spec, "listeners")) {
    out += fmt::format("    Name:\t{}\n    Port:\t{}\n    Protocol:\t{}\n", str(l, "name"), text(l, "port"), str(l, "protocol"));
    if (!str(l, "hostname").empty()) out += fmt::format("    Hostname:\t{}\n", str(l, "hostname"));
    for (const Json& c : list(field(l, "tls"), "certificateRefs")) out += fmt::format("    TLS:\tTerminate with Secret {}\n", ref_name(c));
    std::string from = str(field(field(l, "allowedRoutes"), "namespaces"), "from");
    out += fmt::format("    Allowed Routes:\tnamespaces from {}\n", from.empty() ? "Same" : from);
  }
  out = tabwrite(out) + "Status:\n  Addresses:\n";
  for (const Json& a : list(status, "addresses")) out += tabwrite(fmt::format("    Type:\t{}\n    Value:\t{}\n", str(a, "type"), str(a, "value")));
  out += conditions(list(status, "conditions"), "  ") + "  Listeners:\n";
  for (const Json& l : list(status, "listeners")) {
    out += tabwrite(fmt::format("    Name:\t{}\n    Attached Routes:\t{}\n", str(l, "name"), text(l, "attachedRoutes")));
    out += conditions(list(l, "conditions"), "    ");
  }
  return out;
}

std::string describe_l4_route(const Json& o, const DescribeContext& ctx) {
  std::string out = "Spec:\n  Parent Refs:\n";
  for (const Json& p : list(field(o, "spec"), "parentRefs"))
    out += fmt::format("    Name:\t{}{}\n", ref_name(p), str(p, "sectionName").empty() ? "" : " (section " + str(p, "sectionName") + ")");
  out += "  Backends:\n";
  for (const Json& r : list(field(o, "spec"), "rules"))
    for (const Json& b : list(r, "backendRefs")) out += fmt::format("    {}\n", backend_ref(ctx, ns_of(o), b));
  return tabwrite(out);
}

std::string describe_reference_grant(const Json& o) {
  std::string out = "Spec:\n  From:\n";
  for (const Json& f : list(field(o, "spec"), "from"))
    out += fmt::format("    {} {} in namespace {}\n", str(f, "group").empty() ? "core" : str(f, "group"), str(f, "kind"), str(f, "namespace"));
  out += "  To:\n";
  for (const Json& t : list(field(o, "spec"), "to"))
    out += fmt::format("    {} {}{}\n", str(t, "group").empty() ? "core" : str(t, "group"), str(t, "kind"),
                       str(t, "name").empty() ? "" : " " + str(t, "name"));
  return out;
}

std::string describe_gateway_class(const Json& o) {
  std::string out = tabwrite(fmt::format("Spec:\n  Controller Name:\t{}\n", str(field(o, "spec"), "controllerName")));
  return out + "Status:\n" + conditions(list(field(o, "status"), "conditions"), "  ");
}

}  // namespace

std::string describe_l7(const Json& o, const DescribeContext& ctx) {
  std::string kind = str(o, "kind");
  if (kind == "Ingress") return describe_ingress(o, ctx);
  if (kind == "IngressClass") return describe_ingress_class(o);
  if (kind == "Secret") return describe_secret(o);
  std::string head = tabwrite(describe_generic_head(o));
  if (kind == "GatewayClass") return head + describe_gateway_class(o) + "Events:\t<none>\n";
  if (kind == "Gateway") return head + describe_gateway(o) + "Events:\t<none>\n";
  if (kind == "HTTPRoute") return head + route_spec(o, ctx) + route_parents(o) + "Events:\t<none>\n";
  if (kind == "TCPRoute" || kind == "UDPRoute") return head + describe_l4_route(o, ctx) + route_parents(o) + "Events:\t<none>\n";
  if (kind == "ReferenceGrant") return head + describe_reference_grant(o) + "Events:\t<none>\n";
  return {};
}

}  // namespace knlab::views::describing
