#include "cli/columns.hpp"

#include <fmt/core.h>

#include <map>

#include "core/text.hpp"
#include "views/age.hpp"
#include "views/selector.hpp"

namespace knlab {

namespace {

using Cell = std::function<std::string(const Json&, std::int64_t)>;

// A string at a path of keys, "" when absent.
std::string str(const Json& o, std::initializer_list<const char*> path) {
  const Json* j = &o;
  for (const char* k : path) {
    if (!j->is_object() || !j->contains(k)) return "";
    j = &(*j)[k];
  }
  if (j->is_string()) return j->get<std::string>();
  if (j->is_null()) return "";
  return j->dump();
}

const Json& at(const Json& o, std::initializer_list<const char*> path) {
  static const Json kNull;
  const Json* j = &o;
  for (const char* k : path) {
    if (!j->is_object() || !j->contains(k)) return kNull;
    j = &(*j)[k];
  }
  return *j;
}

std::string or_none(std::string s) { return s.empty() ? "<none>" : s; }

using views::Column;

Column col(std::string header, Cell c, bool wide = false) { return {std::move(header), std::move(c), wide}; }
Column name_col() {
  return col("NAME", [](const Json& o, std::int64_t) { return str(o, {"metadata", "name"}); });
}
Column age_col() {
  return col("AGE", [](const Json& o, std::int64_t now) { return views::age(str(o, {"metadata", "creationTimestamp"}), now); });
}

std::string condition(const Json& o, std::initializer_list<const char*> path, std::string_view type) {
  for (const Json& c : at(o, path))
    if (c.value("type", "") == type) return c.value("status", "Unknown");
  return "Unknown";
}

std::string pod_ready(const Json& o, std::int64_t) {
  int ready = 0, total = 0;
  for (const Json& c : at(o, {"status", "containerStatuses"})) ++total, ready += c.value("ready", false) ? 1 : 0;
  return fmt::format("{}/{}", ready, total);
}

std::string pod_status(const Json& o, std::int64_t) {
  std::string phase = str(o, {"status", "phase"});
  if (phase == "Running") return phase;
  for (const Json& c : at(o, {"status", "containerStatuses"}))
    if (c.contains("state") && c["state"].contains("terminated")) return c["state"]["terminated"].value("reason", "Error");
  return phase;
}

std::string service_ports(const Json& o, std::int64_t) {
  std::string out;
  for (const Json& p : at(o, {"spec", "ports"})) {
    out += out.empty() ? "" : ",";
    out += p.contains("nodePort") ? fmt::format("{}:{}/{}", p["port"].get<int>(), p["nodePort"].get<int>(), p.value("protocol", "TCP"))
                                  : fmt::format("{}/{}", p["port"].get<int>(), p.value("protocol", "TCP"));
  }
  return out;
}

std::string external_ip(const Json& o, std::int64_t) {
  std::vector<std::string> ips;
  for (const Json& i : at(o, {"status", "loadBalancer", "ingress"})) ips.push_back(i.value("ip", ""));
  if (!ips.empty()) return join(ips, ",");
  return str(o, {"spec", "type"}) == "LoadBalancer" ? "<pending>" : "<none>";
}

std::string selector(const Json& o, std::initializer_list<const char*> path) {
  std::vector<std::string> kv;
  for (auto& [k, v] : at(o, path).items()) kv.push_back(k + "=" + v.get<std::string>());
  return or_none(join(kv, ","));
}

// kubectl shows three endpoints, then "+ N more...".
std::string endpoints(const Json& o, std::int64_t) {
  std::vector<std::string> eps;
  for (const Json& s : at(o, {"subsets"}))
    for (const Json& a : s.value("addresses", Json::array()))
      for (const Json& p : s.value("ports", Json::array())) eps.push_back(fmt::format("{}:{}", a.value("ip", ""), p["port"].get<int>()));
  if (eps.empty()) return "<none>";
  std::string out;
  for (std::size_t i = 0; i < eps.size() && i < 3; ++i) out += (i ? "," : "") + eps[i];
  if (eps.size() > 3) out += fmt::format(" + {} more...", eps.size() - 3);
  return out;
}

std::string node_address(const Json& o, std::string_view type) {
  for (const Json& a : at(o, {"status", "addresses"}))
    if (a.value("type", "") == type) return a.value("address", "");
  return "<none>";
}

std::string ingress_hosts(const Json& o, std::int64_t) {
  std::vector<std::string> hosts;
  for (const Json& r : at(o, {"spec", "rules"})) hosts.push_back(r.value("host", "*"));
  return hosts.empty() ? "*" : join(hosts, ",");
}

std::string gateway_addresses(const Json& o, std::int64_t) {
  std::vector<std::string> a;
  for (const Json& x : at(o, {"status", "addresses"})) a.push_back(x.value("value", ""));
  return join(a, ",");
}

std::string route_hostnames(const Json& o, std::int64_t) {
  std::vector<std::string> h;
  for (const Json& x : at(o, {"spec", "hostnames"})) h.push_back("\"" + x.get<std::string>() + "\"");
  return h.empty() ? "" : "[" + join(h, ",") + "]";
}

std::string pod_selector(const Json& o) { return views::label_selector_of(at(o, {"spec", "podSelector"})).str(); }

std::map<Kind, std::vector<Column>> make_columns() {
  auto s = [](std::initializer_list<const char*> path) { return [path = std::vector<const char*>(path)](const Json& o, std::int64_t) {
    const Json* j = &o;
    for (const char* k : path) {
      if (!j->is_object() || !j->contains(k)) return std::string();
      j = &(*j)[k];
    }
    return j->is_string() ? j->get<std::string>() : j->is_null() ? std::string() : j->dump();
  }; };
  auto num = [](std::initializer_list<const char*> path) { return [path = std::vector<const char*>(path)](const Json& o, std::int64_t) {
    const Json* j = &o;
    for (const char* k : path) {
      if (!j->is_object() || !j->contains(k)) return std::string("0");
      j = &(*j)[k];
    }
    return j->dump();
  }; };
  std::map<Kind, std::vector<Column>> m;
  m[Kind::kPod] = {name_col(), col("READY", pod_ready), col("STATUS", pod_status), col("RESTARTS", [](const Json&, std::int64_t) { return std::string("0"); }),
                   age_col(), col("IP", s({"status", "podIP"}), true), col("NODE", s({"spec", "nodeName"}), true),
                   col("NOMINATED NODE", [](const Json&, std::int64_t) { return std::string("<none>"); }, true),
                   col("READINESS GATES", [](const Json&, std::int64_t) { return std::string("<none>"); }, true)};
  m[Kind::kNode] = {name_col(), col("STATUS", [](const Json& o, std::int64_t) { return condition(o, {"status", "conditions"}, "Ready") == "True" ? std::string("Ready") : std::string("NotReady"); }),
                    col("ROLES", [](const Json&, std::int64_t) { return std::string("<none>"); }), age_col(),
                    col("VERSION", s({"status", "nodeInfo", "kubeletVersion"})),
                    col("INTERNAL-IP", [](const Json& o, std::int64_t) { return node_address(o, "InternalIP"); }, true),
                    col("EXTERNAL-IP", [](const Json&, std::int64_t) { return std::string("<none>"); }, true),
                    col("POD-CIDR", s({"spec", "podCIDR"}), true)};
  m[Kind::kService] = {name_col(), col("TYPE", s({"spec", "type"})), col("CLUSTER-IP", s({"spec", "clusterIP"})), col("EXTERNAL-IP", external_ip),
                       col("PORT(S)", service_ports), age_col(),
                       col("SELECTOR", [](const Json& o, std::int64_t) { return selector(o, {"spec", "selector"}); }, true)};
  m[Kind::kEndpoints] = {name_col(), col("ENDPOINTS", endpoints), age_col()};
  m[Kind::kDeployment] = {name_col(), col("READY", [](const Json& o, std::int64_t) {
                            return fmt::format("{}/{}", at(o, {"status", "readyReplicas"}).is_number() ? at(o, {"status", "readyReplicas"}).get<int>() : 0,
                                               at(o, {"spec", "replicas"}).get<int>()); }),
                          col("UP-TO-DATE", num({"status", "updatedReplicas"})), col("AVAILABLE", num({"status", "availableReplicas"})), age_col(),
                          col("CONTAINERS", [](const Json& o, std::int64_t) { return str(at(o, {"spec", "template", "spec", "containers"})[0], {"name"}); }, true),
                          col("IMAGES", [](const Json& o, std::int64_t) { return str(at(o, {"spec", "template", "spec", "containers"})[0], {"image"}); }, true),
                          col("SELECTOR", [](const Json& o, std::int64_t) { return selector(o, {"spec", "selector", "matchLabels"}); }, true)};
  m[Kind::kReplicaSet] = {name_col(), col("DESIRED", num({"spec", "replicas"})), col("CURRENT", num({"status", "replicas"})),
                          col("READY", num({"status", "readyReplicas"})), age_col()};
  m[Kind::kEndpointSlice] = {name_col(), col("ADDRESSTYPE", s({"addressType"})),
                             col("PORTS", [](const Json& o, std::int64_t) {
                               std::vector<std::string> p;
                               for (const Json& x : at(o, {"ports"})) p.push_back(x["port"].dump());
                               return p.empty() ? std::string("<unset>") : join(p, ",");
                             }),
                             col("ENDPOINTS", [](const Json& o, std::int64_t) {
                               std::vector<std::string> e;
                               for (const Json& x : at(o, {"endpoints"})) e.push_back(x["addresses"][0].get<std::string>());
                               return e.empty() ? std::string("<unset>") : join(e, ",");
                             }), age_col()};
  m[Kind::kNamespace] = {name_col(), col("STATUS", s({"status", "phase"})), age_col()};
  m[Kind::kSecret] = {name_col(), col("TYPE", s({"type"})),
                      col("DATA", [](const Json& o, std::int64_t) { return std::to_string(at(o, {"data"}).size() + at(o, {"stringData"}).size()); }), age_col()};
  m[Kind::kIngressClass] = {name_col(), col("CONTROLLER", s({"spec", "controller"})), col("PARAMETERS", [](const Json&, std::int64_t) { return std::string("<none>"); }), age_col()};
  m[Kind::kIngress] = {name_col(), col("CLASS", [](const Json& o, std::int64_t) { return or_none(str(o, {"spec", "ingressClassName"})); }),
                       col("HOSTS", ingress_hosts), col("ADDRESS", [](const Json& o, std::int64_t) {
                         const Json& i = at(o, {"status", "loadBalancer", "ingress"});
                         return i.empty() ? std::string() : i[0].value("ip", ""); }),
                       col("PORTS", [](const Json& o, std::int64_t) { return at(o, {"spec", "tls"}).empty() ? std::string("80") : std::string("80, 443"); }), age_col()};
  m[Kind::kGatewayClass] = {name_col(), col("CONTROLLER", s({"spec", "controllerName"})),
                            col("ACCEPTED", [](const Json& o, std::int64_t) { return condition(o, {"status", "conditions"}, "Accepted"); }), age_col()};
  m[Kind::kGateway] = {name_col(), col("CLASS", s({"spec", "gatewayClassName"})), col("ADDRESS", gateway_addresses),
                       col("PROGRAMMED", [](const Json& o, std::int64_t) { return condition(o, {"status", "conditions"}, "Programmed"); }), age_col()};
  m[Kind::kHTTPRoute] = {name_col(), col("HOSTNAMES", route_hostnames), age_col()};
  m[Kind::kTCPRoute] = {name_col(), age_col()};
  m[Kind::kUDPRoute] = {name_col(), age_col()};
  m[Kind::kReferenceGrant] = {name_col(), age_col()};
  m[Kind::kNetworkPolicy] = {name_col(), col("POD-SELECTOR", [](const Json& o, std::int64_t) { return pod_selector(o); }), age_col()};
  return m;
}

}  // namespace

const std::vector<Column>& columns_for(Kind kind) {
  static const std::map<Kind, std::vector<Column>> columns = make_columns();
  static const std::vector<Column> none;
  auto it = columns.find(kind);
  return it == columns.end() ? none : it->second;
}

}  // namespace knlab
