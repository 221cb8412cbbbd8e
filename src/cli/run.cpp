// kn-lab run <name> --image=<image> [--port=P] [--expose] (kubectl run): one pod, labelled
// run=<name>, on the node with the fewest pods; with --expose, a ClusterIP Service too.
#include <fmt/core.h>

#include "cli/change.hpp"

namespace knlab {

namespace {

struct RunOptions {
  std::string name;
  std::string image;
  int port = 0;
  bool expose = false;
  std::string ns = "default";
  std::string lab;
};

Result<int> run_run(const RunOptions& o, const GlobalOptions& g) {
  KN_TRY(check_cli_name(o.name, "pod"));
  if (o.expose && o.port == 0) return fail(input_error(SourceLocation{}, "--expose needs --port"));
  std::string lab = KN_TRY(lab_to_change(o.lab, "run"));
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory&) -> Status {
    // The scheduler's simplest fair choice: the node running the fewest pods now.
    std::map<std::string, int> load;
    for (auto& n : desired.nodes) load[n.name] = 0;
    for (auto& p : desired.pods) ++load[p.node];
    for (auto& d : desired.deployments)
      for (int i = 0; i < d.replicas; ++i) ++load[desired.nodes[static_cast<std::size_t>(i) % desired.nodes.size()].name];
    PodSpec p;
    p.name = o.name;
    p.ns = o.ns;
    p.image = o.image;
    p.labels = {{"run", o.name}};
    p.node = std::min_element(desired.nodes.begin(), desired.nodes.end(), [&](const NodeSpec& a, const NodeSpec& b) {
               return load[a.name] < load[b.name];
             })->name;
    desired.pods.push_back(std::move(p));
    if (o.expose) {
      ServiceSpec s;
      s.name = o.name;
      s.ns = o.ns;
      s.selector = {{"run", o.name}};
      s.ports.front().port = static_cast<std::uint16_t>(o.port);
      s.ports.front().target_port = static_cast<std::uint16_t>(o.port);
      desired.services.push_back(std::move(s));
    }
    return {};
  }, verbose_hooks(g)));
  print_change(fmt::format("pod/{} created{}", o.name, o.expose ? fmt::format(", service/{} created", o.name) : ""), r);
  return 0;
}

}  // namespace

void register_run(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run one pod of an image in a running lab (kubectl run)");
  cmd->add_option("name", o->name, "Pod name")->required();
  cmd->add_option("--image", o->image, "Image (from the catalogue)")->required();
  cmd->add_option("--port", o->port, "Port for --expose")->check(CLI::Range(1, 65535));
  cmd->add_flag("--expose", o->expose, "Also create a ClusterIP Service selecting the pod");
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_run(*o, g); }; });
}

}  // namespace knlab
