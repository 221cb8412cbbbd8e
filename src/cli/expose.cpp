// kn-lab expose deploy/<name>|pod/<name> --port=P [--target-port=T] [--type=...] [--name=N]
// [--node-port=NP] [--protocol=TCP|UDP] (kubectl expose deploy/ghost --port=2368)
#include <fmt/core.h>

#include "cli/change.hpp"
#include "lab/loader.hpp"

namespace knlab {

namespace {

struct ExposeOptions {
  std::string ref;
  int port = 0;
  int target_port = 0;
  int node_port = 0;
  std::string type = "ClusterIP";
  std::string name;
  std::string protocol = "TCP";
  std::string ns = "default";
  std::string lab;
};

Result<int> run_expose(const ExposeOptions& o, const GlobalOptions& g) {
  auto ref = parse_ref(o.ref);
  if (!ref || ref->first == "service")
    return fail(input_error(SourceLocation{}, fmt::format("cannot expose \"{}\"", o.ref), "kn-lab expose deploy/<name> --port=<port>"));
  std::string name = o.name.empty() ? ref->second : o.name;
  KN_TRY(check_cli_name(name, "service"));
  if (o.node_port && o.type == "ClusterIP")
    return fail(input_error(SourceLocation{}, "--node-port needs --type=NodePort or LoadBalancer"));
  std::string lab = KN_TRY(lab_to_change(o.lab, "expose"));
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory&) -> Status {
    ServiceSpec s;
    s.name = name;
    s.ns = o.ns;
    if (ref->first == "deployment") {
      auto d = std::find_if(desired.deployments.begin(), desired.deployments.end(),
                            [&](const DeploymentSpec& x) { return x.name == ref->second && x.ns == o.ns; });
      if (d == desired.deployments.end())
        return fail(state_error("expose", fmt::format("deployments.apps \"{}\" not found", ref->second)));
      s.selector = d->labels;
    } else {
      auto p = std::find_if(desired.pods.begin(), desired.pods.end(),
                            [&](const PodSpec& x) { return x.name == ref->second && x.ns == o.ns; });
      if (p == desired.pods.end()) return fail(state_error("expose", fmt::format("pods \"{}\" not found", ref->second)));
      if (p->labels.empty())
        return fail(state_error("expose", fmt::format("pod {} has no labels, so no selector can pick it", ref->second),
                                "give the pod labels in the lab file (labels = { app = \"...\" })"));
      s.selector = p->labels;
    }
    for (auto& existing : desired.services)
      if (existing.name == name && existing.ns == o.ns)
        return fail(state_error("expose", fmt::format("services \"{}\" already exists", name)));
    s.type = parse_service_type(o.type).value_or(ServiceType::kClusterIP);  // CLI11 checked the name
    ServicePortSpec& p = s.ports.front();
    p.port = static_cast<std::uint16_t>(o.port);
    p.target_port = static_cast<std::uint16_t>(o.target_port ? o.target_port : o.port);
    if (o.node_port) p.node_port = static_cast<std::uint16_t>(o.node_port);
    p.protocol = o.protocol;
    desired.services.push_back(std::move(s));
    return {};
  }, verbose_hooks(g)));
  print_change(fmt::format("service/{} exposed", name), r);
  return 0;
}

}  // namespace

void register_expose(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<ExposeOptions>();
  CLI::App* cmd = app.add_subcommand("expose", "Put a Service in front of a Deployment or a pod");
  cmd->add_option("ref", o->ref, "deploy/<name> or pod/<name>")->required();
  cmd->add_option("--port", o->port, "Service port")->required()->check(CLI::Range(1, 65535));
  cmd->add_option("--target-port", o->target_port, "Pod port (default: --port)")->check(CLI::Range(1, 65535));
  cmd->add_option("--type", o->type, "ClusterIP | NodePort | LoadBalancer")->check(CLI::IsMember({"ClusterIP", "NodePort", "LoadBalancer"}));
  cmd->add_option("--node-port", o->node_port, "NodePort (default: allocated)")->check(CLI::Range(30000, 32767));
  cmd->add_option("--name", o->name, "Service name (default: the deployment's or pod's)");
  cmd->add_option("--protocol", o->protocol, "TCP | UDP")->check(CLI::IsMember({"TCP", "UDP"}));
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_expose(*o, g); }; });
}

}  // namespace knlab
