// The objects of `kn-lab create service` and `create ingress`, built from kubectl's flags.
#include <fmt/core.h>

#include <charconv>

#include "cli/change.hpp"
#include "cli/create.hpp"

namespace knlab {

namespace {

using views::Json;

Result<int> port_number(std::string_view text, std::string_view option) {
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n < 1 || n > 65535)
    return fail(input_error(SourceLocation{std::string(option), 0, 0}, fmt::format("\"{}\" is not a port (1 to 65535)", text)));
  return n;
}

}  // namespace

Result<Json> service_object(const CreateOptions& o) {
  static const std::map<std::string, std::string> types = {{"clusterip", "ClusterIP"}, {"nodeport", "NodePort"}, {"loadbalancer", "LoadBalancer"}};
  auto type = types.find(o.name);
  if (type == types.end() || o.extra.empty())
    return fail(input_error(SourceLocation{"kn-lab create service", 0, 0}, fmt::format("cannot create a service of type \"{}\"", o.name),
                            "kn-lab create service clusterip|nodeport|loadbalancer NAME --tcp=80:8080"));
  KN_TRY(check_cli_name(o.extra, "service"));
  if (o.tcp.empty()) return fail(input_error(SourceLocation{"--tcp", 0, 0}, "a service needs --tcp=PORT[:TARGET_PORT]", "--tcp=80:8080"));
  if (o.node_port && type->second != "NodePort")
    return fail(input_error(SourceLocation{"--node-port", 0, 0}, "--node-port goes with a nodeport service"));
  Json ports = Json::array();
  for (const std::string& spec : o.tcp) {
    auto colon = spec.find(':');
    int port = KN_TRY(port_number(std::string_view(spec).substr(0, colon), "--tcp"));
    int target = colon == std::string::npos ? port : KN_TRY(port_number(std::string_view(spec).substr(colon + 1), "--tcp"));
    Json p = {{"name", fmt::format("{}-{}", port, target)}, {"port", port}, {"targetPort", target}, {"protocol", "TCP"}};
    if (o.node_port) p["nodePort"] = o.node_port;
    ports.push_back(std::move(p));
  }
  return Json{{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"name", o.extra}, {"namespace", o.ns}, {"labels", {{"app", o.extra}}}}},
              {"spec", {{"type", type->second}, {"selector", {{"app", o.extra}}}, {"ports", ports}}}};
}

Result<Json> ingress_object(const CreateOptions& o) {
  KN_TRY(check_cli_name(o.name, "ingress"));
  if (o.rules.empty())
    return fail(input_error(SourceLocation{"--rule", 0, 0}, "an ingress needs at least one --rule", "--rule=\"/*=web:80\" or --rule=\"shop.example/*=web:80,tls=shop-tls\""));
  Json rules = Json::array(), tls = Json::array();
  for (const std::string& r : o.rules) {
    auto eq = r.find('='), slash = r.find('/'), colon = r.rfind(':');
    if (eq == std::string::npos || slash == std::string::npos || slash > eq || colon == std::string::npos || colon < eq)
      return fail(input_error(SourceLocation{"--rule", 0, 0}, fmt::format("\"{}\" is not HOST/PATH=SERVICE:PORT[,tls[=SECRET]]", r), "--rule=\"/*=web:80\""));
    std::string host = r.substr(0, slash), path = r.substr(slash, eq - slash), rest = r.substr(eq + 1);
    std::string options = rest.find(',') == std::string::npos ? "" : rest.substr(rest.find(',') + 1);
    rest = rest.substr(0, rest.find(','));
    std::string service = rest.substr(0, rest.rfind(':'));
    int port = KN_TRY(port_number(rest.substr(rest.rfind(':') + 1), "--rule"));
    bool prefix = path.ends_with("*");
    if (prefix) path.pop_back();
    Json backend = {{"service", {{"name", service}, {"port", {{"number", port}}}}}};
    Json rule = {{"http", {{"paths", Json::array({{{"path", path}, {"pathType", prefix ? "Prefix" : "Exact"}, {"backend", backend}}})}}}};
    if (!host.empty()) rule["host"] = host;
    rules.push_back(std::move(rule));
    if (options.starts_with("tls")) {
      Json t = {{"hosts", Json::array({host})}};
      if (options.starts_with("tls=")) t["secretName"] = options.substr(4);
      tls.push_back(std::move(t));
    }
  }
  Json spec = {{"rules", rules}};
  if (!o.ingress_class.empty()) spec["ingressClassName"] = o.ingress_class;
  if (!tls.empty()) spec["tls"] = tls;
  return Json{{"apiVersion", "networking.k8s.io/v1"}, {"kind", "Ingress"}, {"metadata", {{"name", o.name}, {"namespace", o.ns}}}, {"spec", spec}};
}

}  // namespace knlab
