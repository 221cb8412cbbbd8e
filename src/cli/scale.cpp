// kn-lab scale deploy/<name> (or deploy <name>) --replicas=N: the ReplicaSet adds or removes pods; endpoints and
// kube-proxy's rules follow.
#include <fmt/core.h>

#include "cli/change.hpp"
#include "cli/patch.hpp"

namespace knlab {

namespace {

struct ScaleOptions {
  std::vector<std::string> args;  // deploy NAME, or deploy/NAME
  int replicas = -1;
  std::string ns = "default";
  std::string lab;
};

Result<int> run_scale(const ScaleOptions& o, const GlobalOptions& g) {
  ObjectTarget t = KN_TRY(object_target(o.args, o.ns, "scale"));
  if (t.kind->id != Kind::kDeployment)
    return fail(input_error(SourceLocation{}, fmt::format("cannot scale a {}", t.kind->kind), "kn-lab scale deploy/<name> --replicas=N"));
  std::string lab = KN_TRY(lab_to_change(o.lab, "scale"));
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory&) -> Status {
    for (auto& d : desired.deployments)
      if (d.name == t.name && d.ns == o.ns) {
        d.replicas = o.replicas;
        return {};
      }
    return fail(state_error("scale", fmt::format("deployments.apps \"{}\" not found", t.name)));
  }, verbose_hooks(g)));
  print_change(fmt::format("deployment.apps/{} scaled", t.name), r);
  return 0;
}

}  // namespace

void register_scale(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<ScaleOptions>();
  CLI::App* cmd = app.add_subcommand("scale", "Change the number of pods of a Deployment");
  cmd->add_option("object", o->args, "deploy NAME, or deploy/NAME")->required()->expected(1, 2);
  cmd->add_option("--replicas", o->replicas, "Number of pods")->required()->check(CLI::Range(0, 250));
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_scale(*o, g); }; });
}

}  // namespace knlab
