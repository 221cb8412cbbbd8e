// kn-lab label|annotate TYPE NAME | TYPE/NAME KEY=VALUE... KEY-... [--overwrite] [-n ns]:
// kubectl label and annotate, as merge patches of metadata (cli/patch.hpp): the pods a Service
// selects follow a pod's new labels at once (its endpoints and kube-proxy's rules), a
// Namespace's labels are what NetworkPolicy namespaceSelectors match.
#include <fmt/core.h>

#include "cli/labels.hpp"
#include "cli/patch.hpp"
#include "kube/objects.hpp"
#include "runtime/lifecycle.hpp"

namespace knlab {

namespace {

struct LabelOptions {
  std::vector<std::string> args;  // TYPE NAME KEY=VALUE..., or TYPE/NAME KEY=VALUE...
  bool overwrite = false;
  std::string ns = "default";
  std::string lab;
};

Result<int> run_label(const LabelOptions& o, const GlobalOptions& g, bool labels) {
  std::string_view verb = labels ? "label" : "annotate";
  std::size_t target_args = !o.args.empty() && o.args[0].find('/') != std::string::npos ? 1 : 2;
  if (o.args.size() <= target_args)
    return fail(input_error(SourceLocation{fmt::format("kn-lab {}", verb), 0, 0}, "give an object and at least one change",
                            fmt::format("kn-lab {} pod web app=web (KEY=VALUE sets, KEY- removes)", verb)));
  std::vector<std::string> target(o.args.begin(), o.args.begin() + static_cast<long>(target_args));
  std::vector<std::string> changes(o.args.begin() + static_cast<long>(target_args), o.args.end());
  ObjectTarget t = KN_TRY(object_target(target, o.ns, verb));
  MapEdit edit = KN_TRY(parse_map_edit(changes, labels));
  std::string lab = o.lab.empty() ? KN_TRY(default_lab(verb)) : o.lab;
  LabView v = KN_TRY(view_lab(lab));
  auto object = find_object(v, t.kind->id, t.ns, t.name);
  if (!object) return fail(state_error(std::string(verb), fmt::format("Error from server (NotFound): {} \"{}\" not found", t.kind->resource(), t.name)));
  const char* field = labels ? "labels" : "annotations";
  StringMap current = (*object)["metadata"].value(field, StringMap{});
  KN_TRY(apply_map_edit(current, edit, o.overwrite));  // kubectl's --overwrite rule
  kube::Json values = kube::Json::object();
  for (auto& [k, val] : edit.set) values[k] = val;
  for (const std::string& k : edit.remove) values[k] = nullptr;
  kube::Json patch = {{"metadata", {{field, values}}}};
  return patch_object(lab, t, patch, kube::PatchType::kMerge, verb, g);
}

void register_one(CLI::App& app, const GlobalOptions& g, Action& action, bool labels) {
  auto o = std::make_shared<LabelOptions>();
  CLI::App* cmd = labels ? app.add_subcommand("label", "Set or remove labels of a pod, a namespace or an Ingress or Gateway API object (kubectl label)")
                         : app.add_subcommand("annotate", "Set or remove annotations of a namespace or an Ingress or Gateway API object (kubectl annotate)");
  cmd->add_option("args", o->args, "TYPE NAME KEY=VALUE... KEY-...")->required();
  cmd->add_flag("--overwrite", o->overwrite, "Change keys that already have a value");
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action, labels] { action = [o, &g, labels] { return run_label(*o, g, labels); }; });
}

}  // namespace

void register_label(CLI::App& app, const GlobalOptions& g, Action& action) {
  register_one(app, g, action, true);
  register_one(app, g, action, false);
}

}  // namespace knlab
