#include "lab/checks.hpp"

#include <fmt/core.h>

#include <functional>
#include <map>
#include <set>

#include "core/ip.hpp"
#include "lab/names.hpp"
#include "lab/toml_reader.hpp"

namespace knlab {

std::string_view to_string(CheckKind k) {
  switch (k) {
    case CheckKind::kTraffic: return "traffic";
    case CheckKind::kDns: return "dns";
    case CheckKind::kKernel: return "kernel";
    case CheckKind::kObject: return "object";
  }
  return "?";
}

namespace {

const std::vector<std::string_view> kKeys = {
    "name", "description", "hint", "after", "timeout_ms", "wait_ms", "from", "namespace", "to", "port", "via", "via_node",
    "protocol", "host", "expect", "status", "body", "backends", "requests", "client", "capture", "sees", "resolves",
    "address", "node", "route", "via_gateway", "dev", "fdb", "dst", "object", "selector", "field", "equals", "contains",
    "absent", "count"};

// The keys each kind may use besides the common ones.
const std::map<CheckKind, std::vector<std::string_view>> kKindKeys = {
    {CheckKind::kTraffic, {"from", "namespace", "to", "port", "via", "via_node", "protocol", "host", "expect", "status", "body",
                           "backends", "requests", "client", "capture", "sees"}},
    {CheckKind::kDns, {"from", "namespace", "resolves", "address"}},
    {CheckKind::kKernel, {"node", "route", "via_gateway", "dev", "fdb", "dst"}},
    {CheckKind::kObject, {"object", "namespace", "selector", "field", "equals", "contains", "absent", "count"}},
};
const std::set<std::string_view> kCommon = {"name", "description", "hint", "after", "timeout_ms", "wait_ms"};

Result<CheckKind> kind_of(const toml::table& t, const TableReader& r) {
  if (t.contains("object")) return CheckKind::kObject;
  if (t.contains("resolves")) return CheckKind::kDns;
  if (t.contains("route") || t.contains("fdb")) return CheckKind::kKernel;
  if (t.contains("to")) return CheckKind::kTraffic;
  return fail(input_error(r.where(), fmt::format("{} says nothing to check", r.context()),
                          "give one of: to = (traffic), resolves = (DNS), route = or fdb = (kernel), object = (an API object)"));
}

Status check_kind_keys(const toml::table& t, const TableReader& r, CheckKind kind) {
  const auto& own = kKindKeys.at(kind);
  for (auto&& [key, value] : t) {
    (void)value;
    std::string_view k = key.str();
    if (kCommon.contains(k) || std::find(own.begin(), own.end(), k) != own.end()) continue;
    return fail(input_error(r.where(key.source()), fmt::format("'{}' does not apply to a {} check ({})", k, to_string(kind), r.context()),
                            fmt::format("keys of a {} check: {}", to_string(kind), join(own))));
  }
  return {};
}

std::string opt(std::optional<std::string> s) { return s ? std::move(*s) : std::string(); }

Status read_traffic(const TableReader& r, CheckSpec& c) {
  c.from = KN_TRY(r.required_string("from", "\"client\" (a pod, a node, \"external\")"));
  c.to = KN_TRY(r.required_string("to", "\"svc/web\""));
  if (auto p = KN_TRY(r.integer("port", 1, 65535))) c.port = static_cast<std::uint16_t>(*p);
  c.via = opt(KN_TRY(r.choice("via", {"node-port", "load-balancer"})));
  c.via_node = opt(KN_TRY(r.string("via_node")));
  if (c.via == "node-port" && c.via_node.empty()) return fail(r.missing("via_node", "\"node1\" (the node whose address is used)"));
  if (!c.via_node.empty() && c.via != "node-port")
    return fail(input_error(r.where_of("via_node"), "via_node is only for via = \"node-port\"", "add via = \"node-port\""));
  if (auto p = KN_TRY(r.choice("protocol", {"tcp", "udp", "icmp"}))) c.protocol = *p;
  c.host_header = opt(KN_TRY(r.string("host")));
  if (auto e = KN_TRY(r.choice("expect", {"reach", "no-reach"}))) c.expect_reach = *e == "reach";
  if (auto s = KN_TRY(r.integer("status", 100, 599))) c.status = static_cast<int>(*s);
  c.body = opt(KN_TRY(r.string("body")));
  c.backends = static_cast<int>(KN_TRY(r.integer("backends", 1, 1000)).value_or(0));
  c.requests = static_cast<int>(KN_TRY(r.integer("requests", 1, 10000)).value_or(0));
  if (c.backends && !c.requests) c.requests = c.backends * 10;
  if (c.requests && c.backends > c.requests)
    return fail(input_error(r.where_of("backends"), fmt::format("backends = {} cannot answer {} requests", c.backends, c.requests),
                            "requests must be at least backends"));
  c.client = opt(KN_TRY(r.string("client")));
  c.capture = opt(KN_TRY(r.string("capture")));
  c.sees = opt(KN_TRY(r.choice("sees", {"vxlan", "ip", "nothing"})));
  if (!c.capture.empty() && (c.capture.find('/') == std::string::npos || c.sees.empty()))
    return fail(input_error(r.where_of("capture"), fmt::format("capture = \"{}\" needs NAMESPACE/LINK and sees =", c.capture),
                            "like capture = \"node1/eth0\" with sees = \"vxlan\", \"ip\" or \"nothing\""));
  if (!c.expect_reach && (c.status || !c.body.empty() || c.backends || !c.client.empty()))
    return fail(input_error(r.where_of("expect"), "expect = \"no-reach\" cannot also expect an answer",
                            "remove status, body, backends and client, or expect = \"reach\""));
  if (c.protocol == "icmp" && (c.status || !c.body.empty() || c.backends || !c.client.empty() || c.port))
    return fail(input_error(r.where_of("protocol"), "an ICMP echo has no port, status, body or backend",
                            "use protocol = \"tcp\" or \"udp\" for those"));
  return {};
}

Status read_kernel(const TableReader& r, CheckSpec& c) {
  c.node = KN_TRY(r.required_string("node", "\"node1\""));
  c.dev = opt(KN_TRY(r.string("dev")));
  if (auto route = KN_TRY(r.cidr("route"))) c.route = route->str();
  c.route_via = opt(KN_TRY(r.string("via_gateway")));
  c.fdb = opt(KN_TRY(r.string("fdb")));
  c.fdb_dst = opt(KN_TRY(r.string("dst")));
  if (!c.route.empty() && !c.fdb.empty())
    return fail(input_error(r.where_of("fdb"), "a check has route = or fdb =, not both", "write two checks"));
  for (const auto& [key, val] : {std::pair{"via_gateway", c.route_via}, std::pair{"dst", c.fdb_dst}})
    if (!val.empty() && !Ipv4::parse(val))
      return fail(input_error(r.where_of(key), fmt::format("{} = \"{}\" is not an IPv4 address", key, val), "like \"192.168.56.12\""));
  if (!c.route_via.empty() && c.route.empty()) return fail(input_error(r.where_of("via_gateway"), "via_gateway is for a route check", "add route = \"CIDR\""));
  if (!c.fdb_dst.empty() && c.fdb.empty()) return fail(input_error(r.where_of("dst"), "dst is for an fdb check", "add fdb = \"flannel.1\""));
  return {};
}

Status read_object(const TableReader& r, CheckSpec& c) {
  c.object = KN_TRY(r.required_string("object", "\"svc/web\""));
  c.selector = opt(KN_TRY(r.string("selector")));
  c.field = opt(KN_TRY(r.string("field")));
  c.equals = KN_TRY(r.string("equals"));
  c.contains = opt(KN_TRY(r.string("contains")));
  c.absent = KN_TRY(r.boolean("absent")).value_or(false);
  if (auto n = KN_TRY(r.integer("count", 0, 100000))) c.count = static_cast<int>(*n);
  if (!c.field.empty() && !c.equals && c.contains.empty())
    return fail(input_error(r.where_of("field"), "field = needs equals = or contains =", "like equals = \"NodePort\""));
  if (c.field.empty() && (c.equals || !c.contains.empty()))
    return fail(input_error(r.where_of(c.equals ? "equals" : "contains"), "equals and contains compare a field", "add field = \"{.spec.type}\""));
  if (c.absent && (!c.field.empty() || c.count))
    return fail(input_error(r.where_of("absent"), "absent = true checks only that the object is gone", "remove field and count"));
  return {};
}

Result<CheckSpec> read_check(const toml::table& t, std::string_view context, const std::string& file) {
  TableReader r(t, std::string(context), file, kKeys);
  KN_TRY(r.check_keys());
  CheckSpec c;
  c.where = r.where();
  c.name = KN_TRY(r.required_string("name", "\"pod-to-pod\""));
  if (auto bad = check_label(c.name, kMaxObjectNameLength))
    return fail(input_error(r.where_of("name"), fmt::format("check name \"{}\" {}", c.name, *bad),
                            "lower-case letters, digits and '-', like \"pod-to-service\""));
  TableReader named(t, fmt::format("{} '{}'", context, c.name), file, kKeys);
  c.description = opt(KN_TRY(named.string("description")));
  c.hint = opt(KN_TRY(named.string("hint")));
  c.after = KN_TRY(named.string_array("after"));
  c.timeout_ms = static_cast<int>(KN_TRY(named.integer("timeout_ms", 10, 60000)).value_or(2000));
  c.wait_ms = static_cast<int>(KN_TRY(named.integer("wait_ms", 0, 600000)).value_or(0));
  c.kind = KN_TRY(kind_of(t, named));
  KN_TRY(check_kind_keys(t, named, c.kind));
  if (auto ns = KN_TRY(named.string("namespace"))) c.ns = *ns;
  switch (c.kind) {
    case CheckKind::kTraffic: KN_TRY(read_traffic(named, c)); break;
    case CheckKind::kDns:
      c.from = KN_TRY(named.required_string("from", "\"client\""));
      c.resolves = KN_TRY(named.required_string("resolves", "\"web\""));
      c.address = opt(KN_TRY(named.string("address")));
      if (!c.address.empty() && !Ipv4::parse(c.address))
        return fail(input_error(named.where_of("address"), fmt::format("address = \"{}\" is not an IPv4 address", c.address), "like \"10.96.0.10\""));
      break;
    case CheckKind::kKernel: KN_TRY(read_kernel(named, c)); break;
    case CheckKind::kObject: KN_TRY(read_object(named, c)); break;
  }
  return c;
}

// `after` names checks of the same list, and never loops.
Status check_order(const std::vector<CheckSpec>& checks, std::string_view context) {
  std::map<std::string, const CheckSpec*> by_name;
  std::vector<std::string_view> names;
  for (const CheckSpec& c : checks) names.push_back(c.name);
  for (const CheckSpec& c : checks)
    if (!by_name.emplace(c.name, &c).second)
      return fail(input_error(c.where, fmt::format("two checks are named \"{}\" in {}", c.name, context), "give each check its own name"));
  for (const CheckSpec& c : checks)
    for (const std::string& a : c.after)
      if (!by_name.contains(a))
        return fail(input_error(c.where, fmt::format("check \"{}\" runs after \"{}\", which is not a check here", c.name, a),
                                did_you_mean(a, names) + "checks: " + join(names)));
  // Depth-first: a check met again while its own dependencies are walked is a cycle.
  std::map<std::string, int> state;  // 1 walking, 2 done
  std::function<Status(const CheckSpec&)> visit = [&](const CheckSpec& c) -> Status {
    int& s = state[c.name];
    if (s == 2) return {};
    if (s == 1) return fail(input_error(c.where, fmt::format("check \"{}\" depends on itself through after =", c.name), "break the cycle"));
    s = 1;
    for (const std::string& a : c.after) KN_TRY(visit(*by_name.at(a)));
    state[c.name] = 2;
    return {};
  };
  for (const CheckSpec& c : checks) KN_TRY(visit(c));
  return {};
}

}  // namespace

Result<std::vector<CheckSpec>> read_checks(const toml::table& parent, std::string_view key, std::string_view context, const std::string& file) {
  std::vector<CheckSpec> out;
  TableReader top(parent, std::string(context), file, {});
  for (const toml::table* t : KN_TRY(top.tables(key)))
    out.push_back(KN_TRY(read_check(*t, context, file)));
  KN_TRY(check_order(out, context));
  return out;
}

}  // namespace knlab
