// kubectl describe: the shared helpers, tabwrite, and the describers of Namespace, Node,
// Service, Endpoints and EndpointSlice (kubectl's describe.go); the dispatch by kind.
#include "views/describe.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <ctime>
#include <optional>

#include "core/text.hpp"
#include "views/age.hpp"
#include "views/describe_internal.hpp"
#include "views/printers.hpp"

namespace knlab::views {

namespace {

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++n) i += utf8_decode(s, i).second;
  return n;
}

}  // namespace

std::string tabwrite(std::string_view text, std::size_t padding) {
  std::vector<std::vector<std::string>> lines;
  for (std::string_view rest = text; !rest.empty();) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    std::vector<std::string> cells;
    for (std::string_view c : split(line, '\t')) cells.emplace_back(c);
    if (cells.empty()) cells.emplace_back();
    lines.push_back(std::move(cells));
  }
  std::vector<std::vector<std::size_t>> width(lines.size());
  for (std::size_t col = 0;; ++col) {
    bool any = false;
    for (std::size_t i = 0; i < lines.size();) {
      if (lines[i].size() <= col + 1) { ++i; continue; }
      std::size_t end = i, w = 0;
      for (; end < lines.size() && lines[end].size() > col + 1; ++end) w = std::max(w, utf8_length(lines[end][col]));
      for (std::size_t k = i; k < end; ++k) width[k].push_back(w + padding);
      i = end;
      any = true;
    }
    if (!any) break;
  }
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    for (std::size_t c = 0; c < lines[i].size(); ++c) {
      out += lines[i][c];
      if (c + 1 < lines[i].size()) out.append(width[i][c] - utf8_length(lines[i][c]), ' ');
    }
    out += '\n';
  }
  return out;
}

namespace describing {

const Json& field(const Json& o, std::string_view key) {
  static const Json empty = Json::object();
  if (!o.is_object()) return empty;
  auto it = o.find(key);
  return it == o.end() || it->is_null() ? empty : *it;
}

std::string str(const Json& j, std::string_view key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::string text(const Json& j, std::string_view key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  return go_sprint(*it);
}

std::string or_none(std::string value) { return value.empty() ? "<none>" : value; }

std::string labels_inline(const Json& labels) {
  std::string out;
  if (labels.is_object())
    for (auto& [k, v] : labels.items()) out += (out.empty() ? "" : ",") + k + "=" + go_sprint(v);
  return or_none(out);
}

namespace {

std::optional<std::tm> utc_tm(std::string_view rfc3339) {
  auto t = parse_iso8601(rfc3339);
  if (!t) return std::nullopt;
  std::time_t tt = static_cast<std::time_t>(*t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm;
}

}  // namespace

std::string describe_time(std::string_view rfc3339) {
  auto tm = utc_tm(rfc3339);
  char buf[64];
  return tm && std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &*tm) ? buf : std::string{};
}

std::string go_time(std::string_view rfc3339) {
  auto tm = utc_tm(rfc3339);
  char buf[64];
  if (!tm || !std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &*tm)) return "0001-01-01 00:00:00 +0000 UTC";  // Go's zero
  return buf;
}

void multiline(std::string& out, std::string_view title, const Json& map, std::string_view sep) {
  if (!map.is_object() || map.empty()) {
    out += fmt::format("{}:\t<none>\n", title);
    return;
  }
  bool first = true;
  for (auto& [k, v] : map.items()) {
    out += fmt::format("{}\t{}{}{}\n", first ? std::string(title) + ":" : "", k, sep, go_sprint(v));
    first = false;
  }
}

void name_and_namespace(std::string& out, const Json& o) {
  const Json& md = o.value("metadata", Json::object());
  out += fmt::format("Name:\t{}\n", str(md, "name"));
  if (md.contains("namespace")) out += fmt::format("Namespace:\t{}\n", str(md, "namespace"));
}

void labels_and_annotations(std::string& out, const Json& o) {
  const Json& md = o.value("metadata", Json::object());
  multiline(out, "Labels", md.value("labels", Json::object()));
  multiline(out, "Annotations", md.value("annotations", Json::object()), ": ");
}

std::string controlled_by(const Json& o) {
  for (const Json& r : o.value("metadata", Json::object()).value("ownerReferences", Json::array()))
    if (r.value("controller", false)) return fmt::format("{}/{}", str(r, "kind"), str(r, "name"));
  return {};
}

const Json* find_related(const DescribeContext& ctx, std::string_view kind, std::string_view ns, std::string_view name) {
  for (const Json& r : ctx.related) {
    const Json& md = r.value("metadata", Json::object());
    if (str(r, "kind") == kind && str(md, "name") == name && str(md, "namespace") == ns) return &r;
  }
  return nullptr;
}

std::string format_endpoints(const Json* endpoints, std::string_view port_name, bool any_port) {
  std::vector<std::string> list;
  if (endpoints)
    for (const Json& subset : endpoints->value("subsets", Json::array()))
      for (const Json& port : subset.value("ports", Json::array())) {
        if (!any_port && str(port, "name") != port_name) continue;
        for (const Json& a : subset.value("addresses", Json::array())) list.push_back(fmt::format("{}:{}", str(a, "ip"), text(port, "port")));
      }
  if (list.empty()) return "<none>";
  std::size_t shown = std::min<std::size_t>(list.size(), 3);
  std::string out = join(std::vector<std::string>(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(shown)), ",");
  if (list.size() > shown) out += fmt::format(" + {} more...", list.size() - shown);
  return out;
}

std::string describe_generic_head(const Json& o) {
  std::string out;
  name_and_namespace(out, o);
  labels_and_annotations(out, o);
  out += fmt::format("API Version:\t{}\nKind:\t{}\n", str(o, "apiVersion"), str(o, "kind"));
  return out;
}

std::string describe_namespace(const Json& o) {
  std::string out;
  name_and_namespace(out, o);
  labels_and_annotations(out, o);
  out += fmt::format("Status:\t{}\n\nNo resource quota.\n\nNo LimitRange resource.\n", text(o.value("status", Json::object()), "phase"));
  return out;
}

namespace {

void node_conditions(std::string& out, const Json& status) {
  out += "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n"
         "  ----\t------\t-----------------\t------------------\t------\t-------\n";
  for (const Json& c : status.value("conditions", Json::array()))
    out += fmt::format("  {}\t{}\t{}\t{}\t{}\t{}\n", str(c, "type"), str(c, "status"), describe_time(str(c, "lastHeartbeatTime")),
                       describe_time(str(c, "lastTransitionTime")), str(c, "reason"), str(c, "message"));
}

void node_info(std::string& out, const Json& info) {
  out += "System Info:\n";
  for (auto [title, key] : {std::pair{"Machine ID", "machineID"}, {"System UUID", "systemUUID"}, {"Boot ID", "bootID"},
                            {"Kernel Version", "kernelVersion"}, {"OS Image", "osImage"}, {"Operating System", "operatingSystem"},
                            {"Architecture", "architecture"}, {"Container Runtime Version", "containerRuntimeVersion"},
                            {"Kubelet Version", "kubeletVersion"}, {"Kube-Proxy Version", "kubeProxyVersion"}})
    out += fmt::format("  {}:\t{}\n", title, str(info, key));
}

void node_pods(std::string& out, const Json& node, const DescribeContext& ctx) {
  std::string name = str(node["metadata"], "name");
  std::vector<const Json*> pods;
  for (const Json& p : ctx.related)
    if (str(p, "kind") == "Pod" && str(p.value("spec", Json::object()), "nodeName") == name &&
        str(p.value("status", Json::object()), "phase") != "Succeeded" && str(p.value("status", Json::object()), "phase") != "Failed")
      pods.push_back(&p);
  out += fmt::format("Non-terminated Pods:\t({} in total)\n", pods.size());
  out += "  Namespace\tName\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n"
         "  ---------\t----\t------------\t----------\t---------------\t-------------\t---\n";
  for (const Json* p : pods)
    out += fmt::format("  {}\t{}\t0 (0%)\t0 (0%)\t0 (0%)\t0 (0%)\t{}\n", str((*p)["metadata"], "namespace"), str((*p)["metadata"], "name"),
                       age(str((*p)["metadata"], "creationTimestamp"), ctx.now));
}

std::string node_roles(const Json& labels) {
  std::vector<std::string> roles;
  if (labels.is_object())
    for (auto& [k, v] : labels.items())
      if (k.starts_with("node-role.kubernetes.io/")) roles.push_back(k.substr(k.find('/') + 1));
  return or_none(join(roles, ","));
}

}  // namespace

std::string describe_node(const Json& o, const DescribeContext& ctx) {
  const Json& md = o.value("metadata", Json::object());
  const Json& spec = o.value("spec", Json::object());
  const Json& status = o.value("status", Json::object());
  std::string out = fmt::format("Name:\t{}\nRoles:\t{}\n", str(md, "name"), node_roles(md.value("labels", Json::object())));
  labels_and_annotations(out, o);
  out += fmt::format("CreationTimestamp:\t{}\nTaints:\t<none>\nUnschedulable:\t{}\n", describe_time(str(md, "creationTimestamp")),
                     spec.value("unschedulable", false) ? "true" : "false");
  node_conditions(out, status);
  out += "Addresses:\n";
  for (const Json& a : status.value("addresses", Json::array())) out += fmt::format("  {}:\t{}\n", str(a, "type"), str(a, "address"));
  node_info(out, status.value("nodeInfo", Json::object()));
  std::vector<std::string> cidrs;
  for (const Json& c : spec.value("podCIDRs", Json::array())) cidrs.push_back(go_sprint(c));
  out += fmt::format("PodCIDR:\t{}\nPodCIDRs:\t{}\n", str(spec, "podCIDR"), join(cidrs, ","));
  node_pods(out, o, ctx);
  return out + "Events:\t<none>\n";
}

namespace {

void service_ports(std::string& out, const Json& spec, const Json* endpoints) {
  for (const Json& p : spec.value("ports", Json::array())) {
    std::string name = str(p, "name");
    std::string proto = str(p, "protocol").empty() ? "TCP" : str(p, "protocol");
    out += fmt::format("Port:\t{}\t{}/{}\n", name.empty() ? "<unset>" : name, text(p, "port"), proto);
    std::string target = text(p, "targetPort");
    out += fmt::format("TargetPort:\t{}/{}\n", target.empty() ? text(p, "port") : target, proto);
    if (p.contains("nodePort")) out += fmt::format("NodePort:\t{}\t{}/{}\n", name.empty() ? "<unset>" : name, text(p, "nodePort"), proto);
    out += fmt::format("Endpoints:\t{}\n", format_endpoints(endpoints, name));
  }
}

std::string join_list(const Json& list) {
  std::vector<std::string> out;
  for (const Json& x : list) out.push_back(go_sprint(x));
  return join(out, ",");
}

}  // namespace

std::string describe_service(const Json& o, const DescribeContext& ctx) {
  const Json& md = o.value("metadata", Json::object());
  const Json& spec = o.value("spec", Json::object());
  std::string out;
  name_and_namespace(out, o);
  labels_and_annotations(out, o);
  out += fmt::format("Selector:\t{}\n", labels_inline(spec.value("selector", Json::object())));
  out += fmt::format("Type:\t{}\n", str(spec, "type"));
  if (spec.contains("ipFamilyPolicy")) out += fmt::format("IP Family Policy:\t{}\n", str(spec, "ipFamilyPolicy"));
  if (spec.contains("ipFamilies")) out += fmt::format("IP Families:\t{}\n", join_list(spec["ipFamilies"]));
  out += fmt::format("IP:\t{}\n", str(spec, "clusterIP"));
  if (spec.contains("clusterIPs")) out += fmt::format("IPs:\t{}\n", join_list(spec["clusterIPs"]));
  std::vector<std::string> ingress;
  for (const Json& i : o.value("status", Json::object()).value("loadBalancer", Json::object()).value("ingress", Json::array()))
    ingress.push_back(str(i, "ip").empty() ? str(i, "hostname") : str(i, "ip"));
  if (!ingress.empty()) out += fmt::format("LoadBalancer Ingress:\t{}\n", join(ingress, ", "));
  else if (str(spec, "type") == "LoadBalancer") out += "LoadBalancer Ingress:\t<pending>\n";
  service_ports(out, spec, find_related(ctx, "Endpoints", str(md, "namespace"), str(md, "name")));
  out += fmt::format("Session Affinity:\t{}\n", str(spec, "sessionAffinity").empty() ? "None" : str(spec, "sessionAffinity"));
  if (spec.contains("externalTrafficPolicy")) out += fmt::format("External Traffic Policy:\t{}\n", str(spec, "externalTrafficPolicy"));
  if (spec.contains("internalTrafficPolicy")) out += fmt::format("Internal Traffic Policy:\t{}\n", str(spec, "internalTrafficPolicy"));
  return out + "Events:\t<none>\n";
}

std::string describe_endpoints(const Json& o) {
  std::string out;
  name_and_namespace(out, o);
  labels_and_annotations(out, o);
  out += "Subsets:\n";
  for (const Json& s : o.value("subsets", Json::array())) {
    std::vector<std::string> ready, not_ready;
    for (const Json& a : s.value("addresses", Json::array())) ready.push_back(str(a, "ip"));
    for (const Json& a : s.value("notReadyAddresses", Json::array())) not_ready.push_back(str(a, "ip"));
    out += fmt::format("  Addresses:\t{}\n  NotReadyAddresses:\t{}\n", or_none(join(ready, ",")), or_none(join(not_ready, ",")));
    out += "  Ports:\n    Name\tPort\tProtocol\n    ----\t----\t--------\n";
    for (const Json& p : s.value("ports", Json::array()))
      out += fmt::format("    {}\t{}\t{}\n", str(p, "name").empty() ? "<unset>" : str(p, "name"), text(p, "port"), str(p, "protocol"));
    out += "\n";
  }
  return out + "Events:\t<none>\n";
}

std::string describe_endpointslice(const Json& o) {
  std::string out;
  name_and_namespace(out, o);
  labels_and_annotations(out, o);
  out += fmt::format("AddressType:\t{}\nPorts:\n  Name\tPort\tProtocol\n  ----\t----\t--------\n", str(o, "addressType"));
  for (const Json& p : o.value("ports", Json::array()))
    out += fmt::format("  {}\t{}\t{}\n", str(p, "name").empty() ? "<unset>" : str(p, "name"), text(p, "port"), str(p, "protocol"));
  out += o.value("endpoints", Json::array()).empty() ? "Endpoints:\t<none>\n" : "Endpoints:\n";
  for (const Json& e : o.value("endpoints", Json::array())) {
    const Json& ref = e.value("targetRef", Json::object());
    out += fmt::format("  - Addresses:\t{}\n    Conditions:\n      Ready:\t{}\n", join_list(e.value("addresses", Json::array())),
                       text(e.value("conditions", Json::object()), "ready"));
    out += fmt::format("    Hostname:\t<unset>\n    TargetRef:\t{}/{}\n    NodeName:\t{}\n    Zone:\t<unset>\n", str(ref, "kind"),
                       str(ref, "name"), or_none(str(e, "nodeName")));
  }
  return out + "Events:\t<none>\n";
}

}  // namespace describing

std::vector<std::string_view> related_kinds(std::string_view kind) {
  if (kind == "Service") return {"Endpoints"};
  if (kind == "Node" || kind == "ReplicaSet") return {"Pod"};
  if (kind == "Pod") return {"NetworkPolicy"};
  if (kind == "Deployment") return {"ReplicaSet"};
  if (kind == "Ingress" || kind == "HTTPRoute" || kind == "TCPRoute" || kind == "UDPRoute" || kind == "Gateway")
    return {"Service", "Endpoints"};
  return {};
}

std::string describe(const Json& o, const DescribeContext& ctx) {
  using namespace describing;
  std::string kind = str(o, "kind");
  std::string out;
  if (kind == "Namespace") out = describe_namespace(o);
  else if (kind == "Node") out = describe_node(o, ctx);
  else if (kind == "Service") out = describe_service(o, ctx);
  else if (kind == "Endpoints") out = describe_endpoints(o);
  else if (kind == "EndpointSlice") out = describe_endpointslice(o);
  else if (kind == "Pod") out = describe_pod(o, ctx);
  else if (kind == "Deployment") out = describe_deployment(o, ctx);
  else if (kind == "ReplicaSet") out = describe_replicaset(o, ctx);
  else if (kind == "NetworkPolicy") out = describe_networkpolicy(o);
  else out = describe_l7(o, ctx);
  if (out.empty()) out = describe_generic_head(o) + "Events:\t<none>\n";
  return tabwrite(out);
}

}  // namespace knlab::views
