#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "cli/cli.hpp"
#include "lab/names.hpp"

namespace knlab {

void add_lab_option(CLI::App* cmd, std::string& lab) {
  cmd->add_option("--lab", lab, "Lab name (default: the only lab that is up)");
}

void add_namespace_option(CLI::App* cmd, std::string& ns) {
  cmd->add_option("-n,--namespace", ns, "Kubernetes namespace (default: default)");
}

Result<int> run_cli(int argc, char** argv) {
  CLI::App app{"kn-lab: a Kubernetes networking lab made of real kernel objects", "kn-lab"};
  app.require_subcommand(1);
  app.fallthrough();  // `kn-lab up lab -v` works as well as `kn-lab -v up lab`
  app.set_version_flag("--version", KNLAB_VERSION);
  GlobalOptions global;
  app.add_flag("-v,--verbose", global.verbosity,
               "Show every kernel operation as the ip/bridge/sysctl command that does the same");
  app.add_flag("--dry-run", global.dry_run,
               "With a change to a running lab (create, run, scale, expose, apply, delete, patch): print "
               "the operations it would make, change nothing");

  // Each register_* wires its subcommand's callback to set `action`; only one runs.
  Action action;
  register_up(app, global, action);
  register_down(app, global, action);
  register_status(app, global, action);
  register_get(app, global, action);
  register_exec(app, global, action);
  register_logs(app, global, action);
  register_describe(app, global, action);
  register_create(app, global, action);
  register_run(app, global, action);
  register_scale(app, global, action);
  register_expose(app, global, action);
  register_apply(app, global, action);
  register_delete(app, global, action);
  register_patch(app, global, action);
  register_label(app, global, action);
  register_wait(app, global, action);
  register_edit(app, global, action);
  register_labs(app, global, action);
  register_trace(app, global, action);
  register_check(app, global, action);
  register_graph(app, global, action);
  register_exercise(app, global, action);
  register_completion(app, global, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // prints usage; exit 0
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // A usage error is an input error like the others: printed once by main(), exit 2.
    std::string first;  // the first word that is not an option: the command
    for (int i = 1; i < argc && first.empty(); ++i)
      if (argv[i][0] != '-') first = argv[i];
    std::vector<CLI::App*> subs = app.get_subcommands([](CLI::App* s) { return !s->get_group().empty(); });
    bool known = std::any_of(subs.begin(), subs.end(), [&](CLI::App* sub) { return sub->check_name(first); });
    if (!first.empty() && !known) {
      std::vector<std::string> names;
      for (CLI::App* sub : subs) names.push_back(sub->get_name());
      std::string hint = did_you_mean(first, {names.begin(), names.end()}) + fmt::format("commands: {}", fmt::join(names, ", "));
      return fail(input_error(SourceLocation{}, fmt::format("unknown command \"{}\"", first), hint));
    }
    return fail(input_error(SourceLocation{}, e.what(),
                            first.empty() ? "kn-lab --help" : fmt::format("kn-lab {} --help", first)));
  }

  if (global.dry_run) {
    static constexpr std::string_view kChanges[] = {"create", "run", "scale", "expose", "apply", "delete", "patch"};
    std::string chosen = app.get_subcommands().empty() ? "" : app.get_subcommands().front()->get_name();
    if (std::find(std::begin(kChanges), std::end(kChanges), chosen) == std::end(kChanges))
      return fail(input_error(SourceLocation{}, fmt::format("--dry-run does not go with `kn-lab {}`", chosen),
                              "--dry-run goes with up and with the commands that change a running lab: "
                              "create, run, scale, expose, apply, delete, patch"));
  }

  auto logger = spdlog::stderr_color_st("kn-lab");
  logger->set_pattern("%^%l%$: %v");
  logger->set_level(global.verbosity > 1 ? spdlog::level::debug : spdlog::level::info);
  spdlog::set_default_logger(logger);

  if (!action) return 0;
  return action();
}

}  // namespace knlab
