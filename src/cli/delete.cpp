// kn-lab delete pod|deploy|svc <name>, or delete -f <manifests>. A pod of a Deployment is
// replaced, with a new name and a new address, as the ReplicaSet controller would; other pods,
// deployments, services and the objects of manifests go.
#include <fmt/core.h>

#include "cli/change.hpp"

namespace knlab {

namespace {

struct DeleteOptions {
  std::string kind;
  std::string name;
  std::string ns = "default";
  std::string lab;
  std::vector<std::string> files;  // -f
};

Result<int> run_delete_files(const DeleteOptions& o, const GlobalOptions& g) {
  Manifest m = KN_TRY(load_manifest_files(o.files));
  if (m.objects.empty())
    return fail(input_error(SourceLocation{o.files.front(), 0, 0}, "no objects in the manifests",
                            "a manifest holds YAML documents with apiVersion, kind and metadata"));
  std::string lab = KN_TRY(lab_to_change(o.lab, "delete"));
  std::vector<std::string> missing;
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory&) -> Status {
    delete_manifest(desired, m, missing);
    return {};
  }, verbose_hooks(g)));
  std::vector<std::string> lines;
  for (const ManifestObject& obj : m.objects)
    if (std::find(missing.begin(), missing.end(), obj.display()) == missing.end()) lines.push_back(fmt::format("{} deleted", obj.display()));
  for (const std::string& x : missing) fmt::print(stderr, "Error from server (NotFound): {} not found\n", x);
  if (lines.empty()) return 1;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) fmt::print("{}\n", lines[i]);
  print_change(lines.back(), r);
  return missing.empty() ? 0 : 1;
}

Result<int> run_delete(const DeleteOptions& o, const GlobalOptions& g) {
  if (!o.files.empty()) {
    if (!o.kind.empty()) return fail(input_error(SourceLocation{}, "give either -f <manifests> or <kind> <name>, not both"));
    return run_delete_files(o, g);
  }
  if (o.kind.empty() || o.name.empty())
    return fail(input_error(SourceLocation{}, "what to delete?", "kn-lab delete pod|deploy|svc <name>, or kn-lab delete -f <manifest>"));
  std::string kind = o.kind;
  if (auto ref = parse_ref(o.kind + "/x")) kind = ref->first;
  if (kind != "pod" && kind != "deployment" && kind != "service")
    return fail(input_error(SourceLocation{}, fmt::format("cannot delete \"{}\"", o.kind), "kn-lab delete pod|deploy|svc <name>"));
  std::string lab = KN_TRY(lab_to_change(o.lab, "delete"));
  std::string what;
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory& memory) -> Status {
    auto not_found = [&](std::string_view k) { return fail(state_error("delete", fmt::format("{} \"{}\" not found", k, o.name))); };
    if (kind == "service") {
      auto n = std::erase_if(desired.services, [&](const ServiceSpec& s) { return s.name == o.name && s.ns == o.ns; });
      what = fmt::format("service \"{}\" deleted", o.name);
      return n ? Status{} : not_found("services");
    }
    if (kind == "deployment") {
      auto n = std::erase_if(desired.deployments, [&](const DeploymentSpec& d) { return d.name == o.name && d.ns == o.ns; });
      what = fmt::format("deployment.apps \"{}\" deleted", o.name);
      return n ? Status{} : not_found("deployments.apps");
    }
    what = fmt::format("pod \"{}\" deleted", o.name);
    if (std::erase_if(desired.pods, [&](const PodSpec& p) { return p.name == o.name && p.ns == o.ns; })) return {};
    for (auto& d : desired.deployments)
      if (d.ns == o.ns)
        if (auto index = replica_index(d, memory, o.name)) {
          ++memory.generations[PlanMemory::replica_key(d, *index)];  // the ReplicaSet makes a new one
          return {};
        }
    return not_found("pods");
  }, verbose_hooks(g)));
  print_change(what, r);
  return 0;
}

}  // namespace

void register_delete(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<DeleteOptions>();
  CLI::App* cmd = app.add_subcommand("delete", "Delete a pod (a Deployment's is replaced), a Deployment, a Service, or the objects of manifests (-f)");
  cmd->add_option("kind", o->kind, "pod | deploy | svc");
  cmd->add_option("name", o->name, "Name");
  cmd->add_option("-f,--filename", o->files, "Delete the objects of these manifests (files or directories)");
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_delete(*o, g); }; });
}

}  // namespace knlab
