// kn-lab get nodes|pods [name] [-o wide|json] [--lab L]: kubectl's columns.
#include <fmt/core.h>

#include <algorithm>
#include <ctime>
#include <iterator>

#include "cli/cli.hpp"
#include "lab/kinds.hpp"
#include "cli/l7_views.hpp"
#include "core/table.hpp"
#include "runtime/lifecycle.hpp"

namespace knlab {

namespace {

struct GetOptions {
  std::string kind;
  std::string name;
  std::string output;
  std::string lab;
  std::string ns = "default";  // -n
  bool all_namespaces = false; // -A
  bool in_ns(const std::string& x) const { return all_namespaces || x == ns; }
};

std::string age_of(const LabView& v) { return human_age(static_cast<long>(std::time(nullptr) - v.state.created)); }

std::string pod_status(const PodView& p) {
  if (p.running) return "Running";
  if (!p.pause || !process_alive(p.pause->id)) return "Terminated";  // the sandbox is gone
  return "Error";  // sandbox alive, a container is not
}

Result<int> get_pods(const LabView& v, const GetOptions& o) {
  if (o.output == "json") {
    std::string out = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [";
    bool first = true;
    for (auto& p : v.pods) {
      if (!o.in_ns(p.pod->ns) || (!o.name.empty() && p.pod->name != o.name)) continue;
      out += first ? "\n" : ",\n";
      first = false;
      std::string labels;
      for (auto& [k, val] : p.pod->labels) labels += (labels.empty() ? "" : ", ") + json_escape(k) + ": " + json_escape(val);
      out += fmt::format(
          "    {{\"kind\": \"Pod\", \"metadata\": {{\"name\": {}, \"namespace\": {}, \"labels\": {{{}}}}}, "
          "\"spec\": {{\"nodeName\": {}}}, \"status\": {{\"phase\": {}, \"podIP\": {}, \"ready\": \"{}/{}\", "
          "\"netns\": {}, \"hostVeth\": {}, \"pausePid\": {}}}}}",
          json_escape(p.pod->name), json_escape(p.pod->ns), labels, json_escape(p.pod->node), json_escape(pod_status(p)),
          json_escape(p.pod->address.addr.str()), p.ready, p.total, json_escape(p.pod->netns),
          json_escape(p.pod->host_veth), p.pause ? p.pause->id.pid : 0);
    }
    out += "\n  ]\n}\n";
    fmt::print("{}", out);
    return 0;
  }
  bool wide = o.output == "wide";
  std::vector<Row> rows;
  rows.push_back(wide ? Row{"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NETNS"}
                      : Row{"NAME", "READY", "STATUS", "RESTARTS", "AGE"});
  if (o.all_namespaces) rows[0].insert(rows[0].begin(), "NAMESPACE");
  for (auto& p : v.pods) {
    if (!o.in_ns(p.pod->ns) || (!o.name.empty() && p.pod->name != o.name)) continue;
    Row r{p.pod->name, fmt::format("{}/{}", p.ready, p.total), pod_status(p), "0", age_of(v)};
    if (o.all_namespaces) r.insert(r.begin(), p.pod->ns);
    if (wide) r.insert(r.end(), {p.pod->address.addr.str(), p.pod->node, p.pod->netns});
    rows.push_back(std::move(r));
  }
  if (rows.size() == 1 && !o.name.empty())
    return fail(state_error("get pod", fmt::format("pod \"{}\" not found in lab {}", o.name, v.plan.lab)));
  fmt::print("{}", render_table(rows));
  return 0;
}

Result<int> get_nodes(const LabView& v, const GetOptions& o) {
  if (o.output == "json") {
    std::string out = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [";
    for (std::size_t i = 0; i < v.plan.nodes.size(); ++i) {
      auto& n = v.plan.nodes[i];
      out += fmt::format("{}\n    {{\"kind\": \"Node\", \"metadata\": {{\"name\": {}}}, \"spec\": {{\"podCIDR\": {}}}, "
                         "\"status\": {{\"internalIP\": {}, \"netns\": {}, \"bridge\": {}, \"bridgeAddress\": {}}}}}",
                         i ? "," : "", json_escape(n.name), json_escape(n.pod_subnet.str()),
                         json_escape(v.plan.has_wire() ? n.ip.addr.str() : ""), json_escape(n.netns),
                         json_escape(n.bridge), json_escape(n.bridge_address.str()));
    }
    out += "\n  ]\n}\n";
    fmt::print("{}", out);
    return 0;
  }
  bool wide = o.output == "wide";
  std::vector<Row> rows;
  rows.push_back(wide ? Row{"NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "POD-CIDR", "NETNS"}
                      : Row{"NAME", "STATUS", "ROLES", "AGE", "VERSION"});
  for (auto& n : v.plan.nodes) {
    if (!o.name.empty() && n.name != o.name) continue;
    Row r{n.name, "Ready", "<none>", age_of(v), "kn-lab-" KNLAB_VERSION};
    if (wide) r.insert(r.end(), {v.plan.has_wire() ? n.ip.addr.str() : "<none>", n.pod_subnet.str(), n.netns});
    rows.push_back(std::move(r));
  }
  fmt::print("{}", render_table(rows));
  return 0;
}

bool pod_ready(const LabView& v, const std::string& pod) {
  const PodView* p = v.pod(pod);
  return p && p->running;
}

// kubectl's PORT(S): 80:30080/TCP,443:30443/TCP
std::string ports_of(const ServicePlan& s) {
  std::string out;
  for (const ServicePortPlan& p : s.ports) {
    if (!out.empty()) out += ",";
    out += p.node_port ? fmt::format("{}:{}/{}", p.port, *p.node_port, p.protocol) : fmt::format("{}/{}", p.port, p.protocol);
  }
  return out;
}

// kubectl shows three endpoints, then "+ N more...".
std::string endpoints_of(const LabView& v, const ServicePlan& s, std::size_t limit = 3) {
  std::vector<std::string> eps;
  for (auto& e : s.endpoints)
    if (pod_ready(v, e.pod))
      for (const ServicePortPlan& p : s.ports) eps.push_back(fmt::format("{}:{}", e.ip.str(), p.target_port));
  if (eps.empty()) return "<none>";
  std::string out;
  for (std::size_t i = 0; i < eps.size() && i < limit; ++i) out += (i ? "," : "") + eps[i];
  if (eps.size() > limit) out += fmt::format(" + {} more...", eps.size() - limit);
  return out;
}

std::string json_map(const std::map<std::string, std::string>& m) {
  std::string out;
  for (auto& [k, val] : m) out += (out.empty() ? "" : ", ") + json_escape(k) + ": " + json_escape(val);
  return "{" + out + "}";
}

// kubectl's List of Services, Endpoints or Deployments, with the fields the lab has.
Result<int> get_json(const LabView& v, const GetOptions& o, std::string_view kind) {
  std::vector<std::string> items;
  if (kind == "Deployment") {
    for (auto& d : v.plan.deployments) {
      if (!o.in_ns(d.ns) || (!o.name.empty() && d.name != o.name)) continue;
      int ready = 0;
      for (auto& p : v.plan.pods)
        if (p.deployment == d.name && p.ns == d.ns && pod_ready(v, p.name)) ++ready;
      items.push_back(fmt::format(
          "{{\"kind\": \"Deployment\", \"metadata\": {{\"name\": {}, \"namespace\": {}, \"labels\": {}}}, "
          "\"spec\": {{\"replicas\": {}, \"image\": {}}}, \"status\": {{\"readyReplicas\": {}}}}}",
          json_escape(d.name), json_escape(d.ns), json_map(d.labels), d.replicas, json_escape(d.image), ready));
    }
  } else {
    for (auto& s : v.plan.services) {
      if (!o.in_ns(s.spec.ns) || (!o.name.empty() && s.spec.name != o.name)) continue;
      std::string addrs;
      for (auto& e : s.endpoints)
        if (pod_ready(v, e.pod))
          addrs += fmt::format("{}{{\"ip\": {}, \"nodeName\": {}, \"targetRef\": {{\"kind\": \"Pod\", \"name\": {}}}}}",
                               addrs.empty() ? "" : ", ", json_escape(e.ip.str()), json_escape(e.node), json_escape(e.pod));
      std::string meta = fmt::format("\"metadata\": {{\"name\": {}, \"namespace\": {}}}", json_escape(s.spec.name), json_escape(s.spec.ns));
      std::string ep_ports, svc_ports;
      for (const ServicePortPlan& p : s.ports) {
        std::string name = p.name.empty() ? "" : fmt::format("\"name\": {}, ", json_escape(p.name));
        ep_ports += fmt::format("{}{{{}\"port\": {}, \"protocol\": {}}}", ep_ports.empty() ? "" : ", ", name, p.target_port,
                                json_escape(p.protocol));
        svc_ports += fmt::format("{}{{{}\"port\": {}, \"targetPort\": {}, \"protocol\": {}{}}}", svc_ports.empty() ? "" : ", ", name,
                                 p.port, p.target_port, json_escape(p.protocol),
                                 p.node_port ? fmt::format(", \"nodePort\": {}", *p.node_port) : "");
      }
      if (kind == "Endpoints")
        items.push_back(fmt::format("{{\"kind\": \"Endpoints\", {}, \"subsets\": [{{\"addresses\": [{}], \"ports\": [{}]}}]}}",
                                    meta, addrs, ep_ports));
      else
        items.push_back(fmt::format(
            "{{\"kind\": \"Service\", {}, \"spec\": {{\"type\": {}, \"clusterIP\": {}, \"selector\": {}, \"ports\": "
            "[{}], \"sessionAffinity\": {}, \"externalTrafficPolicy\": {}}}, "
            "\"status\": {{\"loadBalancer\": {{\"ingress\": [{}]}}}}}}",
            meta, json_escape(to_string(s.spec.type)), json_escape(s.cluster_ip.str()), json_map(s.spec.selector), svc_ports,
            json_escape(s.spec.session_affinity ? "ClientIP" : "None"), json_escape(s.spec.local_traffic_policy ? "Local" : "Cluster"),
            s.lb_ip ? fmt::format("{{\"ip\": {}}}", json_escape(s.lb_ip->str())) : ""));
    }
  }
  std::string out = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ",\n    " : "\n    ") + items[i];
  out += "\n  ]\n}\n";
  fmt::print("{}", out);
  return 0;
}

Result<int> get_services(const LabView& v, const GetOptions& o) {
  if (o.output == "json") return get_json(v, o, "Service");
  bool wide = o.output == "wide";
  std::vector<Row> rows;
  Row head{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"};
  if (o.all_namespaces) head.insert(head.begin(), "NAMESPACE");
  if (wide) head.push_back("SELECTOR");
  rows.push_back(head);
  for (auto& s : v.plan.services) {
    if (!o.in_ns(s.spec.ns) || (!o.name.empty() && s.spec.name != o.name)) continue;
    std::string external = s.lb_ip ? s.lb_ip->str() : s.spec.type == ServiceType::kLoadBalancer ? "<pending>" : "<none>";
    Row r{s.spec.name, std::string(to_string(s.spec.type)), s.cluster_ip.str(), external, ports_of(s), age_of(v)};
    if (o.all_namespaces) r.insert(r.begin(), s.spec.ns);
    if (wide) {
      std::string sel;
      for (auto& [k, val] : s.spec.selector) sel += (sel.empty() ? "" : ",") + k + "=" + val;
      r.push_back(sel.empty() ? "<none>" : sel);
    }
    rows.push_back(std::move(r));
  }
  if (rows.size() == 1 && !o.name.empty())
    return fail(state_error("get service", fmt::format("services \"{}\" not found", o.name)));
  fmt::print("{}", render_table(rows));
  return 0;
}

Result<int> get_endpoints(const LabView& v, const GetOptions& o) {
  if (o.output == "json") return get_json(v, o, "Endpoints");
  std::vector<Row> rows{{"NAME", "ENDPOINTS", "AGE"}};
  if (o.all_namespaces) rows[0].insert(rows[0].begin(), "NAMESPACE");
  for (auto& s : v.plan.services) {
    if (!o.in_ns(s.spec.ns) || (!o.name.empty() && s.spec.name != o.name)) continue;
    Row r{s.spec.name, endpoints_of(v, s), age_of(v)};
    if (o.all_namespaces) r.insert(r.begin(), s.spec.ns);
    rows.push_back(std::move(r));
  }
  if (rows.size() == 1 && !o.name.empty())
    return fail(state_error("get endpoints", fmt::format("endpoints \"{}\" not found", o.name)));
  fmt::print("{}", render_table(rows));
  return 0;
}

Result<int> get_deployments(const LabView& v, const GetOptions& o) {
  if (o.output == "json") return get_json(v, o, "Deployment");
  std::vector<Row> rows{{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}};
  if (o.all_namespaces) rows[0].insert(rows[0].begin(), "NAMESPACE");
  for (auto& d : v.plan.deployments) {
    if (!o.in_ns(d.ns) || (!o.name.empty() && d.name != o.name)) continue;
    int ready = 0;
    for (auto& p : v.plan.pods)
      if (p.deployment == d.name && p.ns == d.ns && pod_ready(v, p.name)) ++ready;
    Row r{d.name, fmt::format("{}/{}", ready, d.replicas), std::to_string(d.replicas), std::to_string(ready), age_of(v)};
    if (o.all_namespaces) r.insert(r.begin(), d.ns);
    rows.push_back(std::move(r));
  }
  if (rows.size() == 1 && !o.name.empty())
    return fail(state_error("get deployment", fmt::format("deployments.apps \"{}\" not found", o.name)));
  fmt::print("{}", render_table(rows));
  return 0;
}

Result<int> run_get(const GetOptions& o) {
  const KindInfo* k = find_kind(o.kind);
  auto unknown = [&] {
    return fail(input_error(SourceLocation{}, fmt::format("unknown resource type \"{}\"", o.kind),
                            fmt::format("use: nodes, pods, services (svc), endpoints (ep), deployments (deploy), {}", l7_kinds_help())));
  };
  if (!k || (k->id == Kind::kReplicaSet || k->id == Kind::kEndpointSlice || k->id == Kind::kNamespace)) return unknown();
  std::string lab = o.lab.empty() ? KN_TRY(default_lab("get")) : o.lab;
  LabView v = KN_TRY(view_lab(lab));
  switch (k->id) {
    case Kind::kPod: return get_pods(v, o);
    case Kind::kNode: return get_nodes(v, o);
    case Kind::kService: return get_services(v, o);
    case Kind::kEndpoints: return get_endpoints(v, o);
    case Kind::kDeployment: return get_deployments(v, o);
    default: break;
  }
  if (auto r = get_l7(v, o.kind, L7Query{o.name, o.ns, o.all_namespaces})) return std::move(*r);
  return unknown();
}

}  // namespace

void register_get(CLI::App& app, const GlobalOptions&, Action& action) {
  auto o = std::make_shared<GetOptions>();
  CLI::App* cmd = app.add_subcommand("get", "List nodes, pods, services, endpoints or deployments, in kubectl's layout");
  cmd->add_option("kind", o->kind, "nodes | pods | svc | endpoints | deploy")->required();
  add_namespace_option(cmd, o->ns);
  cmd->add_flag("-A,--all-namespaces", o->all_namespaces, "Every Kubernetes namespace");
  cmd->add_option("name", o->name, "Only this object");
  cmd->add_option("-o,--output", o->output, "wide | json")->check(CLI::IsMember({"wide", "json"}));
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &action] { action = [o] { return run_get(*o); }; });
}

}  // namespace knlab
