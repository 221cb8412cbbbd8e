// kn-lab delete TYPE NAME... | TYPE/NAME... | TYPE -l SEL | TYPE --all, or delete -f <manifests>
// (several -f). A pod of a Deployment is replaced, with a new name and a new address, as the
// ReplicaSet controller would; anything else goes, a Namespace with what it holds.
#include <fmt/core.h>

#include "cli/change.hpp"
#include "cli/patch.hpp"
#include "cli/resources.hpp"
#include "kube/selector.hpp"
#include "kube/objects.hpp"
#include "runtime/lifecycle.hpp"

namespace knlab {

namespace {

using kube::Json;

struct DeleteOptions {
  std::vector<std::string> args;
  std::string selector;
  bool all = false;
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

// The objects named by kubectl's forms: TYPE NAME..., TYPE/NAME..., TYPE -l SELECTOR, TYPE --all.
Result<std::vector<ObjectTarget>> delete_targets(const DeleteOptions& o) {
  if (o.args.empty())
    return fail(input_error(SourceLocation{"kn-lab delete", 0, 0}, "what to delete?", "kn-lab delete TYPE NAME..., TYPE/NAME..., TYPE -l SELECTOR, or -f FILE"));
  std::vector<ResourceRequest> reqs = KN_TRY(resource_requests(o.args, "delete"));
  std::vector<ObjectTarget> out;
  std::vector<ResourceRequest> every;  // -l or --all: every matching object of the kind
  for (const ResourceRequest& r : reqs) {
    std::string ns = r.kind->namespaced ? o.ns : std::string();
    for (const std::string& n : r.names) out.push_back(ObjectTarget{r.kind, ns, n});
    if (r.names.empty()) every.push_back(r);
  }
  if (every.empty()) return out;
  if (o.selector.empty() && !o.all)
    return fail(input_error(SourceLocation{"kn-lab delete", 0, 0}, "resource(s) were provided, but no name was specified", "give NAME, -l SELECTOR or --all"));
  std::string lab = KN_TRY(lab_to_change(o.lab, "delete"));
  LabView v = KN_TRY(view_lab(lab));
  ResourceScope scope{o.ns, false, KN_TRY(Selector::parse(o.selector)), false, {}};
  for (const Found& f : KN_TRY(find_objects(v, every, scope, "delete")))
    for (const Json& x : f.objects)
      out.push_back(ObjectTarget{f.kind, f.kind->namespaced ? o.ns : std::string(), x["metadata"].value("name", "")});
  return out;
}

// One object out of the desired lab: a Deployment's pod is replaced (a new name, as the
// ReplicaSet would make), anything else goes. False when it is not there.
bool remove_one(Lab& desired, PlanMemory& memory, const ObjectTarget& t) {
  if (t.kind->id == Kind::kPod && !t.kind->exists(desired, t.ns, t.name))
    for (auto& d : desired.deployments)
      if (d.ns == t.ns)
        if (auto index = replica_index(d, memory, t.name)) {
          ++memory.generations[PlanMemory::replica_key(d, *index)];
          return true;
        }
  return t.kind->remove(desired, t.ns, t.name);
}

Result<int> run_delete(const DeleteOptions& o, const GlobalOptions& g) {
  if (!o.files.empty()) {
    if (!o.args.empty()) return fail(input_error(SourceLocation{}, "give either -f <manifests> or TYPE NAME, not both"));
    return run_delete_files(o, g);
  }
  std::vector<ObjectTarget> targets = KN_TRY(delete_targets(o));
  for (const ObjectTarget& t : targets) {
    if (t.kind->id == Kind::kNode)
      return fail(input_error(SourceLocation{"kn-lab delete", 0, 0}, "the lab's nodes are its lab file's",
                              "change [[node]] in the lab file, then kn-lab down and up"));
    if (!t.kind->remove)
      return fail(input_error(SourceLocation{"kn-lab delete", 0, 0}, fmt::format("kn-lab makes {} itself: they go with what they belong to", t.kind->resource()),
                              "delete the Deployment or Service they come from"));
  }
  if (targets.empty()) {
    fmt::print(stderr, "No resources found\n");
    return 0;
  }
  std::string lab = KN_TRY(lab_to_change(o.lab, "delete"));
  std::vector<std::string> deleted, missing;
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory& memory) -> Status {
    deleted.clear(), missing.clear();
    for (const ObjectTarget& t : targets)
      if (remove_one(desired, memory, t)) deleted.push_back(fmt::format("{} \"{}\"", t.kind->qualified(), t.name));
      else missing.push_back(fmt::format("{} \"{}\"", t.kind->resource(), t.name));
    return {};
  }, verbose_hooks(g)));
  for (const std::string& x : missing) fmt::print(stderr, "Error from server (NotFound): {} not found\n", x);
  if (deleted.empty()) return 1;
  for (std::size_t i = 0; i + 1 < deleted.size(); ++i) fmt::print("{} deleted\n", deleted[i]);
  print_change(deleted.back() + " deleted", r);
  return missing.empty() ? 0 : 1;
}

}  // namespace

void register_delete(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<DeleteOptions>();
  CLI::App* cmd = app.add_subcommand("delete", "Delete objects (a Deployment's pod is replaced; a Namespace takes what it holds), or the objects of manifests (-f)");
  cmd->add_option("objects", o->args, "TYPE NAME..., TYPE/NAME..., or TYPE with -l or --all");
  cmd->add_option("-l,--selector", o->selector, "Delete the objects of TYPE with these labels");
  cmd->add_flag("--all", o->all, "Delete every object of TYPE in the namespace");
  cmd->add_option("-f,--filename", o->files, "Delete the objects of these manifests (files or directories)");
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_delete(*o, g); }; });
}

}  // namespace knlab
