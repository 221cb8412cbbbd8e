// The command line. One file per subcommand, each with an Options struct, a register_*()
// that declares its flags on a CLI11 app, and a run_*() that does the work. Parsing never
// exits the process: run_cli() returns the exit code, and main() prints an Error once.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "core/error.hpp"

namespace knlab {

struct GlobalOptions {
  int verbosity = 0;  // -v: show every kernel operation as its ip/bridge/sysctl command
  bool dry_run = false;  // --dry-run of a live change: print its ops, change nothing (up has its own)
};

// --lab (every command that reads a lab) and -n/--namespace (those that name Kubernetes objects).
void add_lab_option(CLI::App* cmd, std::string& lab);
void add_namespace_option(CLI::App* cmd, std::string& ns);

// A registered subcommand: its CLI11 node and what to run when it was chosen.
using Action = std::function<Result<int>()>;

void register_up(CLI::App& app, const GlobalOptions& g, Action& action);
void register_down(CLI::App& app, const GlobalOptions& g, Action& action);
void register_status(CLI::App& app, const GlobalOptions& g, Action& action);
void register_get(CLI::App& app, const GlobalOptions& g, Action& action);
void register_exec(CLI::App& app, const GlobalOptions& g, Action& action);
void register_logs(CLI::App& app, const GlobalOptions& g, Action& action);
void register_describe(CLI::App& app, const GlobalOptions& g, Action& action);
void register_create(CLI::App& app, const GlobalOptions& g, Action& action);
void register_run(CLI::App& app, const GlobalOptions& g, Action& action);
void register_scale(CLI::App& app, const GlobalOptions& g, Action& action);
void register_expose(CLI::App& app, const GlobalOptions& g, Action& action);
void register_apply(CLI::App& app, const GlobalOptions& g, Action& action);
void register_delete(CLI::App& app, const GlobalOptions& g, Action& action);
void register_patch(CLI::App& app, const GlobalOptions& g, Action& action);
// `label` and `annotate` (cli/label.cpp).
void register_label(CLI::App& app, const GlobalOptions& g, Action& action);
// `edit` (cli/edit.cpp).
void register_edit(CLI::App& app, const GlobalOptions& g, Action& action);
// `wait` and `rollout status` (cli/wait.cpp).
void register_wait(CLI::App& app, const GlobalOptions& g, Action& action);
void register_labs(CLI::App& app, const GlobalOptions& g, Action& action);
// `trace` (cli/trace.cpp, src/trace).
void register_trace(CLI::App& app, const GlobalOptions& g, Action& action);
// `check` (cli/check.cpp, src/check).
void register_check(CLI::App& app, const GlobalOptions& g, Action& action);
// `graph` (cli/graph.cpp, src/graph).
void register_graph(CLI::App& app, const GlobalOptions& g, Action& action);
// `completion bash|zsh`, and the hidden `__complete` (its dynamic values) and `__man` (the man page).
void register_completion(CLI::App& app, const GlobalOptions& g, Action& action);
// `exercise list|start|check|reset` (cli/exercise.cpp, lab/exercise, src/check).
void register_exercise(CLI::App& app, const GlobalOptions& g, Action& action);
// `kn-lab up LAB` and `kn-lab down LAB` as the commands do them (cli/up.cpp, cli/down.cpp), for
// `exercise start` and `exercise reset`.
Result<int> bring_up_lab(const std::string& lab, const GlobalOptions& g);
Result<int> take_down_lab(const std::string& lab);

// Parses argv and runs the chosen subcommand. Returns the process exit code, or the Error to
// print.
Result<int> run_cli(int argc, char** argv);

}  // namespace knlab
