// kn-lab delete pod|deploy|svc <name>. A pod of a Deployment is replaced, with a new name and a
// new address, as the ReplicaSet controller would; other pods, deployments and services go.
#include <fmt/core.h>

#include "cli/change.hpp"

namespace knlab {

namespace {

struct DeleteOptions {
  std::string kind;
  std::string name;
  std::string ns = "default";
  std::string lab;
};

Result<int> run_delete(const DeleteOptions& o, const GlobalOptions& g) {
  std::string kind = o.kind;
  if (auto ref = parse_ref(o.kind + "/x")) kind = ref->first;
  if (kind != "pod" && kind != "deployment" && kind != "service")
    return fail(input_error(SourceLocation{}, fmt::format("cannot delete \"{}\"", o.kind), "kn-lab delete pod|deploy|svc <name>"));
  std::string lab = KN_TRY(lab_to_change(o.lab, "delete"));
  std::string what;
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory& memory) -> Status {
    auto not_found = [&](std::string_view k) { return fail(state_error("delete", fmt::format("{} \"{}\" not found", k, o.name))); };
    if (kind == "service") {
      auto n = std::erase_if(desired.services, [&](const ServiceSpec& s) { return s.name == o.name && s.ns == o.ns; });
      what = fmt::format("service \"{}\" deleted", o.name);
      return n ? Status{} : not_found("services");
    }
    if (kind == "deployment") {
      auto n = std::erase_if(desired.deployments, [&](const DeploymentSpec& d) { return d.name == o.name && d.ns == o.ns; });
      what = fmt::format("deployment.apps \"{}\" deleted", o.name);
      return n ? Status{} : not_found("deployments.apps");
    }
    what = fmt::format("pod \"{}\" deleted", o.name);
    if (std::erase_if(desired.pods, [&](const PodSpec& p) { return p.name == o.name && p.ns == o.ns; })) return {};
    for (auto& d : desired.deployments)
      if (d.ns == o.ns)
        if (auto index = replica_index(d, memory, o.name)) {
          ++memory.generations[fmt::format("{}/{}#{}", d.ns, d.name, *index)];  // the ReplicaSet makes a new one
          return {};
        }
    return not_found("pods");
  }, verbose_hooks(g)));
  print_change(what, r);
  return 0;
}

}  // namespace

void register_delete(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<DeleteOptions>();
  CLI::App* cmd = app.add_subcommand("delete", "Delete a pod (a Deployment's is replaced), a Deployment or a Service");
  cmd->add_option("kind", o->kind, "pod | deploy | svc")->required();
  cmd->add_option("name", o->name, "Name")->required();
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_delete(*o, g); }; });
}

}  // namespace knlab
