// kn-lab apply -f <file|dir> [-f ...]: Kubernetes YAML manifests into a running lab, as kubectl
// apply: each object is created, or replaces the one of the same kind, namespace and name. All
// files are read and validated first; one change of the lab applies them all, or none.
#include <fmt/core.h>

#include "cli/change.hpp"
#include "lab/kinds.hpp"
#include "lab/manifest.hpp"
#include "lab/writer.hpp"

namespace knlab {

namespace {

struct ApplyOptions {
  std::vector<std::string> files;
  std::string lab;
};

// Whether a lab already has an object of this kind, namespace and name.
bool exists(const Lab& lab, const ManifestObject& o) {
  const KindInfo* k = find_kind_exact(o.kind);
  return k && k->exists && k->exists(lab, o.ns, o.name);
}

// What the lab keeps of one object (its part of the lab's record), to tell "unchanged" from
// "configured" as kubectl does.
std::string recorded(const Lab& lab, const ManifestObject& o) {
  const KindInfo* k = find_kind_exact(o.kind);
  return k && k->record ? k->record(lab, o.ns, o.name) : std::string();
}

Result<int> run_apply(const ApplyOptions& o, const GlobalOptions& g) {
  Manifest m = KN_TRY(load_manifest_files(o.files));  // before the lab is touched
  if (m.objects.empty())
    return fail(input_error(SourceLocation{o.files.front(), 0, 0}, "no objects in the manifests", "a manifest holds YAML documents with apiVersion, kind and metadata"));
  std::string lab = KN_TRY(lab_to_change(o.lab, "apply"));
  std::vector<std::string> lines;
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory&) -> Status {
    Lab before = desired;
    KN_TRY(apply_manifest(desired, m));
    lines.clear();
    for (const ManifestObject& obj : m.objects)
      lines.push_back(fmt::format("{} {}", obj.display(), !exists(before, obj)                              ? "created"
                                                          : recorded(before, obj) == recorded(desired, obj) ? "unchanged"
                                                                                                            : "configured"));
    return {};
  }, verbose_hooks(g)));
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) fmt::print("{}\n", lines[i]);
  print_change(lines.back(), r);
  return 0;
}

}  // namespace

void register_apply(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<ApplyOptions>();
  CLI::App* cmd = app.add_subcommand("apply", "Apply Kubernetes YAML manifests to a running lab (kubectl apply -f)");
  cmd->add_option("-f,--filename", o->files, "A manifest file, a directory of .yaml files, or - for stdin (repeatable)")->required();
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_apply(*o, g); }; });
}

}  // namespace knlab
