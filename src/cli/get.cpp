// kn-lab get nodes|pods [name] [-o wide|json] [--lab L]: kubectl's columns.
#include <fmt/core.h>

#include <ctime>

#include "cli/cli.hpp"
#include "core/table.hpp"
#include "runtime/lifecycle.hpp"

namespace knlab {

namespace {

struct GetOptions {
  std::string kind;
  std::string name;
  std::string output;
  std::string lab;
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
      if (!o.name.empty() && p.pod->name != o.name) continue;
      out += first ? "\n" : ",\n";
      first = false;
      std::string labels;
      for (auto& [k, val] : p.pod->labels) labels += (labels.empty() ? "" : ", ") + json_escape(k) + ": " + json_escape(val);
      out += fmt::format(
          "    {{\"kind\": \"Pod\", \"metadata\": {{\"name\": {}, \"namespace\": \"default\", \"labels\": {{{}}}}}, "
          "\"spec\": {{\"nodeName\": {}}}, \"status\": {{\"phase\": {}, \"podIP\": {}, \"ready\": \"{}/{}\", "
          "\"netns\": {}, \"hostVeth\": {}, \"pausePid\": {}}}}}",
          json_escape(p.pod->name), labels, json_escape(p.pod->node), json_escape(pod_status(p)),
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
  for (auto& p : v.pods) {
    if (!o.name.empty() && p.pod->name != o.name) continue;
    Row r{p.pod->name, fmt::format("{}/{}", p.ready, p.total), pod_status(p), "0", age_of(v)};
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

Result<int> run_get(const GetOptions& o) {
  std::string lab = o.lab.empty() ? KN_TRY(default_lab("get")) : o.lab;
  LabView v = KN_TRY(view_lab(lab));
  if (o.kind == "pods" || o.kind == "pod" || o.kind == "po") return get_pods(v, o);
  if (o.kind == "nodes" || o.kind == "node" || o.kind == "no") return get_nodes(v, o);
  return fail(input_error(SourceLocation{}, fmt::format("unknown resource type \"{}\"", o.kind), "use: nodes, pods"));
}

}  // namespace

void register_get(CLI::App& app, const GlobalOptions&, Action& action) {
  auto o = std::make_shared<GetOptions>();
  CLI::App* cmd = app.add_subcommand("get", "List nodes or pods of a lab, in kubectl's layout");
  cmd->add_option("kind", o->kind, "nodes | pods")->required();
  cmd->add_option("name", o->name, "Only this object");
  cmd->add_option("-o,--output", o->output, "wide | json")->check(CLI::IsMember({"wide", "json"}));
  cmd->add_option("--lab", o->lab, "Lab name (default: the only lab that is up)");
  cmd->callback([o, &action] { action = [o] { return run_get(*o); }; });
}

}  // namespace knlab
