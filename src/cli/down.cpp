// kn-lab down [<lab>] [--all]
#include <fmt/core.h>

#include <algorithm>

#include "cli/cli.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/state.hpp"

namespace knlab {

namespace {

struct DownOptions {
  std::string lab;
  bool all = false;
};

Result<int> down_one(const std::string& lab) {
  DownResult r = KN_TRY(lab_down(lab));
  if (r.namespaces == 0 && r.processes == 0 && r.files == 0)
    fmt::print("lab {} is not up: nothing to do\n", lab);
  else
    fmt::print("lab {} is down in {:.0f} ms: removed {} namespaces, stopped {} processes, removed {} files\n",
               lab, r.seconds * 1000, r.namespaces, r.processes, r.files);
  return 0;
}

Result<int> run_down(const DownOptions& o) {
  if (o.all) {
    std::vector<std::string> labs = list_labs();
    for (const std::string& saved : list_saved_labs())  // not running (after a reboot) but kept
      if (std::find(labs.begin(), labs.end(), saved) == labs.end()) labs.push_back(saved);
    for (const std::string& lab : labs) KN_TRY(down_one(lab));
    return 0;
  }
  std::string lab = o.lab.empty() ? KN_TRY(default_lab("take down a lab")) : o.lab;
  KN_TRY(check_lab_name(lab));  // the name becomes a path: refuse anything that is not a lab name
  return down_one(lab);
}

}  // namespace

Result<int> take_down_lab(const std::string& lab) {
  KN_TRY(check_lab_name(lab));
  return down_one(lab);
}

void register_down(CLI::App& app, const GlobalOptions&, Action& action) {
  auto o = std::make_shared<DownOptions>();
  CLI::App* cmd = app.add_subcommand("down", "Take a lab down and remove everything it made");
  cmd->add_option("lab", o->lab, "Lab name (default: the only lab that is up)");
  cmd->add_flag("--all", o->all, "Take down every lab");
  cmd->callback([o, &action] { action = [o] { return run_down(*o); }; });
}

}  // namespace knlab
