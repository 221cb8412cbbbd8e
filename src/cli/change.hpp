// What the commands that change a running lab share (create, run, scale, expose, delete).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/cli.hpp"
#include "lab/manifest.hpp"
#include "runtime/reconcile.hpp"

namespace knlab {

// A name given on the command line, checked as the loader checks names in files.
Status check_cli_name(const std::string& name, std::string_view what);

// Prints what a change did, kubectl-style ("deployment.apps/ghost created"), and its cost.
void print_change(std::string_view what, const ChangeResult& r);

// The lab to change: --lab, or the only one up.
Result<std::string> lab_to_change(const std::string& lab_option, std::string_view command);

// The manifests of several -f options (files, directories, "-" for stdin), read and validated,
// as one Manifest.
Result<Manifest> load_manifest_files(const std::vector<std::string>& files);

// -v: the ops as commands.
UpHooks verbose_hooks(const GlobalOptions& g);

}  // namespace knlab
