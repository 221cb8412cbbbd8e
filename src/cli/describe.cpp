// kn-lab describe TYPE [NAME_PREFIX...] | TYPE/NAME... [-n NS | -A] [-l SELECTOR]: kubectl's
// argument forms (shared with get: cli/resources) and its describe text, printed from the lab's
// API objects (src/kube) by src/views/describe.
#include <fmt/core.h>

#include <ctime>
#include <map>

#include "cli/cli.hpp"
#include "cli/resources.hpp"
#include "views/describe.hpp"

namespace knlab {

namespace {

struct DescribeOptions {
  std::vector<std::string> args;
  std::string lab;
  std::string ns = "default";
  std::string selector;
  bool all_namespaces = false;
};

// The related objects describing a `kind` reads (a Service's Endpoints...), each kind listed once.
class Related {
 public:
  explicit Related(const LabView& v) : v_(v) {}
  const views::DescribeContext& context_for(std::string_view kind) {
    auto [it, made] = contexts_.try_emplace(std::string(kind));
    if (made) {
      it->second.now = static_cast<std::int64_t>(std::time(nullptr));
      for (std::string_view r : views::related_kinds(kind))
        if (const KindInfo* k = find_kind_exact(r))
          for (Json& o : objects_of(v_, k->id)) it->second.related.push_back(std::move(o));
    }
    return it->second;
  }

 private:
  const LabView& v_;
  std::map<std::string, views::DescribeContext> contexts_;
};

Result<int> run_describe(const DescribeOptions& o) {
  std::vector<ResourceRequest> reqs = KN_TRY(resource_requests(o.args, "describe"));
  ResourceScope scope{o.ns, o.all_namespaces, KN_TRY(Selector::parse(o.selector)), true, {}};
  for (const ResourceRequest& r : reqs)
    if (!r.names.empty() && !o.selector.empty())
      return fail(input_error(SourceLocation{"kn-lab describe", 0, 0}, "name cannot be provided when a selector is specified",
                              "give names or -l SELECTOR, not both"));
  std::string lab = o.lab.empty() ? KN_TRY(default_lab("describe")) : o.lab;
  LabView v = KN_TRY(view_lab(lab));
  std::vector<Found> found = KN_TRY(find_objects(v, reqs, scope, "describe"));
  Related related(v);
  bool first = true;
  for (const Found& f : found)
    for (const Json& obj : f.objects) {
      fmt::print("{}{}", first ? "" : "\n\n", views::describe(obj, related.context_for(f.kind->kind)));
      first = false;
    }
  if (first) fmt::print(stderr, "No resources found{}.\n", o.all_namespaces ? "" : fmt::format(" in {} namespace", o.ns));
  return 0;
}

}  // namespace

void register_describe(CLI::App& app, const GlobalOptions&, Action& action) {
  auto o = std::make_shared<DescribeOptions>();
  CLI::App* cmd = app.add_subcommand("describe", "Show objects of a running lab in detail, as kubectl describe does (TYPE [NAME...], TYPE/NAME...)");
  cmd->add_option("args", o->args, "TYPE [NAME_PREFIX...] | TYPE/NAME...")->required();
  add_namespace_option(cmd, o->ns);
  cmd->add_flag("-A,--all-namespaces", o->all_namespaces, "Every Kubernetes namespace");
  cmd->add_option("-l,--selector", o->selector, "Label selector: key=value, key!=value, key, !key, key in (a,b), key notin (a,b)");
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &action] { action = [o] { return run_describe(*o); }; });
}

}  // namespace knlab
