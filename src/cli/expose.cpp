// kn-lab expose (pod|deploy|svc) NAME | TYPE/NAME --port=P [--target-port=T] [--type=...]
// [--name=N] [--protocol=TCP|UDP] [--selector=k=v,...] [--node-port=NP]: kubectl expose (the
// course's `kubectl expose pod podinfo --port=9898`, `kubectl expose deploy/ghost --port=2368`).
// --node-port is kn-lab's extension (kubectl leaves it to the allocator).
#include <fmt/core.h>

#include "cli/change.hpp"
#include "cli/labels.hpp"
#include "cli/patch.hpp"
#include "lab/kinds.hpp"
#include "lab/loader.hpp"

namespace knlab {

namespace {

struct ExposeOptions {
  std::vector<std::string> args;  // TYPE NAME, or TYPE/NAME
  int port = 0;
  int target_port = 0;
  int node_port = 0;
  std::string type = "ClusterIP";
  std::string name;
  std::string protocol = "TCP";
  std::string selector;
  std::string ns = "default";
  std::string lab;
};

// The object to expose, from kubectl's two forms.
Result<std::pair<Kind, std::string>> expose_target(const std::vector<std::string>& args, const std::string& ns) {
  ObjectTarget t = KN_TRY(object_target(args, ns, "expose"));
  if (!(t.kind->id == Kind::kPod || t.kind->id == Kind::kDeployment || t.kind->id == Kind::kService))
    return fail(input_error(SourceLocation{"kn-lab expose", 0, 0}, fmt::format("cannot expose a {}", t.kind->kind),
                            "kn-lab exposes pods, deployments and services (kubectl's replicationcontrollers and replicasets are not modelled)"));
  return std::pair{t.kind->id, t.name};
}

// The selector and default port of the object: a pod's labels, a Deployment's, a Service's selector.
Result<std::pair<std::map<std::string, std::string>, int>> exposed(const Lab& lab, Kind kind, const std::string& name, const std::string& ns) {
  auto not_found = [&](std::string_view resource) {
    return fail(state_error("expose", fmt::format("Error from server (NotFound): {} \"{}\" not found", resource, name)));
  };
  if (kind == Kind::kDeployment) {
    for (const DeploymentSpec& d : lab.deployments)
      if (d.name == name && d.ns == ns) return std::pair{d.labels, d.port ? int{*d.port} : 0};
    return not_found("deployments.apps");
  }
  if (kind == Kind::kService) {
    for (const ServiceSpec& s : lab.services)
      if (s.name == name && s.ns == ns) return std::pair{s.selector, int{s.ports.front().port}};
    return not_found("services");
  }
  for (const PodSpec& p : lab.pods)
    if (p.name == name && p.ns == ns) {
      if (p.labels.empty())
        return fail(state_error("expose", fmt::format("couldn't retrieve selectors via --selector flag or introspection: pod {} has no labels", name),
                                "give --selector, or label the pod (kn-lab label pod NAME app=NAME)"));
      return std::pair{p.labels, 0};
    }
  return not_found("pods");
}

Result<ServiceSpec> exposing_service(const Lab& lab, const ExposeOptions& o, Kind kind, const std::string& target) {
  auto [selector, port] = KN_TRY(exposed(lab, kind, target, o.ns));
  StringMap labels = selector;
  if (!o.selector.empty()) selector = KN_TRY(parse_label_map(o.selector, "--selector"));
  if (o.port) port = o.port;
  if (!port)
    return fail(input_error(SourceLocation{"--port", 0, 0}, "couldn't find port via --port flag or introspection", "give --port=P"));
  ServiceSpec s;
  s.name = o.name.empty() ? target : o.name;
  s.ns = o.ns;
  s.labels = labels;  // kubectl expose gives the Service the labels of what it exposes
  s.selector = std::move(selector);
  s.type = parse_service_type(o.type).value_or(ServiceType::kClusterIP);  // CLI11 checked the name
  ServicePortSpec& p = s.ports.front();
  p.port = static_cast<std::uint16_t>(port);
  p.target_port = static_cast<std::uint16_t>(o.target_port ? o.target_port : port);
  if (o.node_port) p.node_port = static_cast<std::uint16_t>(o.node_port);
  p.protocol = o.protocol;
  for (const ServiceSpec& existing : lab.services)
    if (existing.name == s.name && existing.ns == s.ns)
      return fail(state_error("expose", fmt::format("Error from server (AlreadyExists): services \"{}\" already exists", s.name),
                              "give the new Service another name with --name"));
  return s;
}

Result<int> run_expose(const ExposeOptions& o, const GlobalOptions& g) {
  auto [kind, target] = KN_TRY(expose_target(o.args, o.ns));
  std::string name = o.name.empty() ? target : o.name;
  KN_TRY(check_cli_name(name, "service"));
  if (o.node_port && o.type == "ClusterIP")
    return fail(input_error(SourceLocation{"--node-port", 0, 0}, "--node-port needs --type=NodePort or LoadBalancer"));
  std::string lab = KN_TRY(lab_to_change(o.lab, "expose"));
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory&) -> Status {
    desired.services.push_back(KN_TRY(exposing_service(desired, o, kind, target)));
    return {};
  }, verbose_hooks(g)));
  print_change(fmt::format("service/{} exposed", name), r);
  return 0;
}

}  // namespace

void register_expose(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<ExposeOptions>();
  CLI::App* cmd = app.add_subcommand("expose", "Put a Service in front of a pod, a Deployment or a Service's pods (kubectl expose)");
  cmd->add_option("object", o->args, "pod NAME | deploy NAME | svc NAME, or TYPE/NAME")->required()->expected(1, 2);
  cmd->add_option("--port", o->port, "Service port (default: the Deployment's container port, or the Service's port)")->check(CLI::Range(1, 65535));
  cmd->add_option("--target-port", o->target_port, "Pod port (default: --port)")->check(CLI::Range(1, 65535));
  cmd->add_option("--type", o->type, "ClusterIP | NodePort | LoadBalancer")->check(CLI::IsMember({"ClusterIP", "NodePort", "LoadBalancer"}));
  cmd->add_option("--node-port", o->node_port, "NodePort (kn-lab's extension; default: allocated)")->check(CLI::Range(30000, 32767));
  cmd->add_option("--name", o->name, "Service name (default: the object's)");
  cmd->add_option("--protocol", o->protocol, "TCP | UDP")->check(CLI::IsMember({"TCP", "UDP"}));
  cmd->add_option("-l,--selector", o->selector, "Selector of the Service (k=v,...; default: the object's labels)");
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_expose(*o, g); }; });
}

}  // namespace knlab
