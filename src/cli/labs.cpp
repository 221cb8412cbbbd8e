// kn-lab labs: the lab files that come with kn-lab, with their descriptions.
#include <fmt/core.h>

#include <filesystem>
#include <set>

#include "cli/cli.hpp"
#include "views/printers.hpp"
#include "lab/loader.hpp"
#include "runtime/lifecycle.hpp"

namespace knlab {

namespace {

Result<int> run_labs() {
  std::set<std::string> seen;
  std::vector<std::vector<std::string>> rows{{"LAB", "DESCRIPTION"}};
  for (auto& dir : lab_search_dirs()) {
    std::error_code ec;
    std::set<std::filesystem::path> files;
    for (auto& e : std::filesystem::directory_iterator(dir, ec))
      if (e.path().extension() == ".toml") files.insert(e.path());
    for (auto& f : files) {
      if (!seen.insert(f.stem().string()).second) continue;
      auto lab = load_lab_file(f.string());
      rows.push_back({f.stem().string(), lab ? lab->description : "(invalid: " + lab.error().detail + ")"});
    }
  }
  fmt::print("{}", views::render_table(rows));
  return 0;
}

}  // namespace

void register_labs(CLI::App& app, const GlobalOptions&, Action& action) {
  CLI::App* cmd = app.add_subcommand("labs", "List the labs that come with kn-lab");
  cmd->callback([&action] { action = [] { return run_labs(); }; });
}

}  // namespace knlab
