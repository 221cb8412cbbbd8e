// kn-lab create deploy <name> --image=<image> [--replicas=N] [--port=P] [-n ns]
// (kubectl create deploy ghost --replicas=3 --image=ghost:4)
#include <fmt/core.h>

#include "cli/change.hpp"

namespace knlab {

namespace {

struct CreateOptions {
  std::string kind;
  std::string name;
  std::string image;
  int replicas = 1;
  int port = 0;
  std::string ns = "default";
  std::string lab;
};

Result<int> run_create(const CreateOptions& o, const GlobalOptions& g) {
  if (o.kind != "deploy" && o.kind != "deployment")
    return fail(input_error(SourceLocation{}, fmt::format("cannot create \"{}\"", o.kind), "kn-lab create deploy <name> --image=<image>"));
  KN_TRY(check_cli_name(o.name, "deployment"));
  std::string lab = KN_TRY(lab_to_change(o.lab, "create"));
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory&) -> Status {
    for (auto& d : desired.deployments)
      if (d.name == o.name && d.ns == o.ns)
        return fail(state_error("create deployment", fmt::format("deployments.apps \"{}\" already exists", o.name),
                                fmt::format("change it with `kn-lab scale deploy/{} --replicas=N`", o.name)));
    DeploymentSpec d;
    d.name = o.name;
    d.ns = o.ns;
    d.image = o.image;
    d.replicas = o.replicas;
    d.labels = {{"app", o.name}};
    if (o.port > 0) d.port = static_cast<std::uint16_t>(o.port);
    desired.deployments.push_back(std::move(d));
    return {};
  }, verbose_hooks(g)));
  print_change(fmt::format("deployment.apps/{} created", o.name), r);
  return 0;
}

}  // namespace

void register_create(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<CreateOptions>();
  CLI::App* cmd = app.add_subcommand("create", "Create a Deployment in a running lab (kubectl create deploy)");
  cmd->add_option("kind", o->kind, "deploy")->required();
  cmd->add_option("name", o->name, "Name")->required();
  cmd->add_option("--image", o->image, "Image (from the catalogue: ghost:4, stefanprodan/podinfo, nginx, alpine, ...)")->required();
  cmd->add_option("--replicas", o->replicas, "Number of pods")->check(CLI::Range(0, 250));
  cmd->add_option("--port", o->port, "Container port (default: the image's)")->check(CLI::Range(1, 65535));
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_create(*o, g); }; });
}

}  // namespace knlab
