// kn-lab scale deploy/<name> --replicas=N: the ReplicaSet adds or removes pods; endpoints and
// kube-proxy's rules follow.
#include <fmt/core.h>

#include "cli/change.hpp"

namespace knlab {

namespace {

struct ScaleOptions {
  std::string ref;
  int replicas = -1;
  std::string ns = "default";
  std::string lab;
};

Result<int> run_scale(const ScaleOptions& o, const GlobalOptions& g) {
  auto ref = parse_ref(o.ref);
  if (!ref || ref->first != "deployment")
    return fail(input_error(SourceLocation{}, fmt::format("cannot scale \"{}\"", o.ref), "kn-lab scale deploy/<name> --replicas=N"));
  std::string lab = KN_TRY(lab_to_change(o.lab, "scale"));
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory&) -> Status {
    for (auto& d : desired.deployments)
      if (d.name == ref->second && d.ns == o.ns) {
        d.replicas = o.replicas;
        return {};
      }
    return fail(state_error("scale", fmt::format("deployments.apps \"{}\" not found", ref->second)));
  }, verbose_hooks(g)));
  print_change(fmt::format("deployment.apps/{} scaled", ref->second), r);
  return 0;
}

}  // namespace

void register_scale(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<ScaleOptions>();
  CLI::App* cmd = app.add_subcommand("scale", "Change the number of pods of a Deployment");
  cmd->add_option("ref", o->ref, "deploy/<name>")->required();
  cmd->add_option("--replicas", o->replicas, "Number of pods")->required()->check(CLI::Range(0, 250));
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_scale(*o, g); }; });
}

}  // namespace knlab
