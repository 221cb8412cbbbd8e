// kn-lab status (alias: ls): the labs that are up.
#include <fmt/core.h>

#include <algorithm>
#include <ctime>

#include "cli/cli.hpp"
#include "views/age.hpp"
#include "views/printers.hpp"
#include "net/netns.hpp"
#include "plan/naming.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/state.hpp"

namespace knlab {

namespace {

Result<int> run_status() {
  auto labs = list_labs();
  std::vector<std::string> saved_only;
  for (const std::string& s : list_saved_labs())
    if (std::find(labs.begin(), labs.end(), s) == labs.end()) saved_only.push_back(s);
  if (labs.empty() && saved_only.empty()) {
    fmt::print("no lab is up\n");
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"LAB", "STATUS", "NODES", "PODS", "RUNNING", "AGE", "SOURCE"}};
  for (auto& lab : labs) {
    auto v = view_lab(lab);
    if (!v) {
      // Namespaces without a usable record: a killed `up`. Say so; `down` cleans it.
      rows.push_back({lab, "broken", "-", "-", "-", "-",
                      fmt::format("{} namespaces left, run `kn-lab down {}`", netns_list(netns_prefix(lab)).size(), lab)});
      continue;
    }
    int running = 0;
    for (auto& p : v->pods) running += p.running ? 1 : 0;
    rows.push_back({lab, std::string(to_string(v->state.status)), std::to_string(v->plan.nodes.size()), std::to_string(v->plan.pods.size()),
                    std::to_string(running), views::human_duration(static_cast<std::int64_t>(std::time(nullptr) - v->state.created)),
                    v->state.source});
  }
  // Kept desired states without a running lab: what a reboot leaves.
  for (const std::string& lab : saved_only)
    rows.push_back({lab, "stopped", "-", "-", "0", "-",
                    fmt::format("not running (after a reboot?): `kn-lab up {0}` restores it, `kn-lab down {0}` forgets it", lab)});
  fmt::print("{}", views::render_table(rows));
  return 0;
}

}  // namespace

void register_status(CLI::App& app, const GlobalOptions&, Action& action) {
  CLI::App* cmd = app.add_subcommand("status", "List the labs that are up");
  cmd->alias("ls");
  cmd->callback([&action] { action = [] { return run_status(); }; });
}

}  // namespace knlab
