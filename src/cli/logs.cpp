// kn-lab logs <pod> [-c container]: what the container wrote to stdout and stderr.
#include <fmt/core.h>

#include <fstream>
#include <iostream>

#include "cli/cli.hpp"
#include "runtime/lifecycle.hpp"

namespace knlab {

namespace {

struct LogsOptions {
  std::string pod;
  std::string container;
  std::string lab;
};

Result<int> run_logs(const LogsOptions& o) {
  std::string lab = o.lab.empty() ? KN_TRY(default_lab("logs")) : o.lab;
  LabView v = KN_TRY(view_lab(lab));
  const PodView* pod = v.pod(o.pod);
  if (!pod) return fail(input_error(SourceLocation{}, fmt::format("no pod \"{}\" in lab {}", o.pod, lab)));
  const auto& cs = pod->pod->containers;
  if (cs.empty()) return fail(state_error("logs", fmt::format("pod {} has no containers", o.pod)));
  const ContainerPlan* c = nullptr;
  if (o.container.empty()) {
    if (cs.size() > 1) {
      std::string names;
      for (auto& x : cs) names += " " + x.name;
      return fail(input_error(SourceLocation{}, fmt::format("pod {} has several containers", o.pod),
                              fmt::format("choose one with -c:{}", names)));
    }
    c = &cs.front();
  } else {
    for (auto& x : cs)
      if (x.name == o.container) c = &x;
    if (!c) return fail(input_error(SourceLocation{}, fmt::format("pod {} has no container \"{}\"", o.pod, o.container)));
  }
  std::ifstream in(c->log_path, std::ios::binary);
  std::cout << in.rdbuf();
  return 0;
}

}  // namespace

void register_logs(CLI::App& app, const GlobalOptions&, Action& action) {
  auto o = std::make_shared<LogsOptions>();
  CLI::App* cmd = app.add_subcommand("logs", "Print a container's output");
  cmd->add_option("pod", o->pod, "Pod name")->required();
  cmd->add_option("-c,--container", o->container, "Container name");
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &action] { action = [o] { return run_logs(*o); }; });
}

}  // namespace knlab
