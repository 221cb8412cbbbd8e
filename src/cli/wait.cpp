// kn-lab wait --for=condition=NAME|--for=delete (TYPE NAME... | TYPE/NAME... | TYPE -l SEL | TYPE --all)
// [--timeout=30s], and kn-lab rollout status deploy/NAME: kubectl's, polling the lab's objects.
// Live changes finish before kn-lab returns, so these mostly answer at once; they also wait for
// what takes time (a container that was restarted by `up`, a pod being deleted by another command).
#include <fmt/core.h>

#include <chrono>
#include <thread>

#include "cli/cli.hpp"
#include "cli/resources.hpp"
#include "kube/selector.hpp"
#include "core/text.hpp"
#include "kube/objects.hpp"
#include "lab/kinds.hpp"
#include "lab/names.hpp"
#include "runtime/lifecycle.hpp"

namespace knlab {

namespace {

struct WaitOptions {
  std::vector<std::string> args;
  std::string for_;
  std::string selector;
  bool all = false;
  std::string timeout = "30s";
  std::string ns = "default";
  std::string lab;
};

Result<std::chrono::milliseconds> parse_timeout(const std::string& t) {
  std::size_t end = 0;
  long long n = -1;
  try {
    n = std::stoll(t, &end);
  } catch (...) {
  }
  std::string unit = t.substr(end);
  long long ms = unit == "ms" ? n : unit == "s" || unit.empty() ? n * 1000 : unit == "m" ? n * 60000 : -1;
  if (n < 0 || ms < 0)
    return fail(input_error(SourceLocation{"--timeout", 0, 0}, fmt::format("\"{}\" is not a duration", t), "like 30s, 2m or 500ms"));
  return std::chrono::milliseconds(ms);
}

bool condition_true(const Json& o, std::string_view type) {
  for (const Json& c : o["status"].value("conditions", Json::array()))
    if (lower(c.value("type", "")) == lower(type)) return c.value("status", "") == "True";
  return false;
}

// The objects asked for, by name (nullopt for one that is not there); with -l or --all, those
// of the kind that match.
Result<std::vector<std::pair<std::string, std::optional<Json>>>> look(const LabView& v, const std::vector<ResourceRequest>& reqs,
                                                                      const WaitOptions& o) {
  std::vector<std::pair<std::string, std::optional<Json>>> out;
  ResourceScope scope{o.ns, false, KN_TRY(Selector::parse(o.selector)), false, {}};
  for (const ResourceRequest& r : reqs) {
    ResourceRequest every{r.kind, {}};
    std::vector<Found> found = KN_TRY(find_objects(v, {every}, scope, "wait"));
    const std::vector<Json>& all = found.front().objects;
    for (const std::string& n : r.names) {
      auto it = std::find_if(all.begin(), all.end(), [&](const Json& x) { return x["metadata"].value("name", "") == n; });
      out.emplace_back(fmt::format("{}/{}", lower(r.kind->kind), n), it == all.end() ? std::nullopt : std::optional<Json>(*it));
    }
    if (r.names.empty())
      for (const Json& x : all) out.emplace_back(fmt::format("{}/{}", lower(r.kind->kind), x["metadata"].value("name", "")), x);
  }
  return out;
}

Result<int> run_wait(const WaitOptions& o) {
  bool for_delete = o.for_ == "delete";
  std::string condition = o.for_.starts_with("condition=") ? o.for_.substr(10) : "";
  if (!for_delete && condition.empty())
    return fail(input_error(SourceLocation{"--for", 0, 0}, fmt::format("unrecognized condition: \"{}\"", o.for_), "--for=condition=Ready or --for=delete"));
  if (o.args.empty()) return fail(input_error(SourceLocation{"kn-lab wait", 0, 0}, "give what to wait for", "kn-lab wait --for=condition=Ready pod/web"));
  std::vector<ResourceRequest> reqs = KN_TRY(resource_requests(o.args, "wait"));
  for (const ResourceRequest& r : reqs)
    if (r.names.empty() && o.selector.empty() && !o.all)
      return fail(input_error(SourceLocation{"kn-lab wait", 0, 0}, "resource(s) were provided, but no name was specified", "give NAME, -l SELECTOR or --all"));
  auto deadline = std::chrono::steady_clock::now() + KN_TRY(parse_timeout(o.timeout));
  std::string lab = o.lab.empty() ? KN_TRY(default_lab("wait")) : o.lab;
  for (;;) {
    LabView v = KN_TRY(view_lab(lab));
    auto found = KN_TRY(look(v, reqs, o));
    bool done = !found.empty() || for_delete;
    for (auto& [name, obj] : found) done &= for_delete ? !obj : obj && condition_true(*obj, condition);
    if (done) {
      for (auto& [name, obj] : found) fmt::print("{} {}\n", name, for_delete ? "deleted" : "condition met");
      return 0;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      for (auto& [name, obj] : found)
        if (!for_delete && !obj) fmt::print(stderr, "Error from server (NotFound): {} not found\n", name);
      if (found.empty()) fmt::print(stderr, "error: no matching resources found\n");
      else fmt::print(stderr, "error: timed out waiting for the condition on {}\n", found.front().first);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

struct RolloutOptions {
  std::string verb;
  std::string ref;
  std::string timeout = "60s";
  std::string ns = "default";
  std::string lab;
};

// rollout status: the Deployment's ready replicas reach its replicas.
Result<int> run_rollout(const RolloutOptions& o) {
  if (o.verb != "status")
    return fail(input_error(SourceLocation{"kn-lab rollout", 0, 0}, fmt::format("kn-lab's rollout has no \"{}\"", o.verb), "kn-lab rollout status deploy/NAME"));
  auto slash = o.ref.find('/');
  const KindInfo* k = slash == std::string::npos ? nullptr : find_kind(o.ref.substr(0, slash));
  if (!k || k->id != Kind::kDeployment)
    return fail(input_error(SourceLocation{"kn-lab rollout", 0, 0}, fmt::format("cannot follow the rollout of \"{}\"", o.ref), "kn-lab rollout status deploy/NAME"));
  std::string name = o.ref.substr(slash + 1);
  std::string lab = o.lab.empty() ? KN_TRY(default_lab("rollout")) : o.lab;
  auto deadline = std::chrono::steady_clock::now() + KN_TRY(parse_timeout(o.timeout));
  for (;;) {
    LabView v = KN_TRY(view_lab(lab));
    auto d = find_object(v, Kind::kDeployment, o.ns, name);
    if (!d) return fail(state_error("rollout status", fmt::format("Error from server (NotFound): deployments.apps \"{}\" not found", name)));
    long want = (*d)["spec"].value("replicas", 1L), ready = (*d)["status"].value("readyReplicas", 0L);
    if (ready >= want) {
      fmt::print("deployment \"{}\" successfully rolled out\n", name);
      return 0;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      fmt::print(stderr, "error: timed out waiting for the condition\n");
      return 1;
    }
    fmt::print("Waiting for deployment \"{}\" rollout to finish: {} of {} updated replicas are available...\n", name, ready, want);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace

void register_wait(CLI::App& app, const GlobalOptions&, Action& action) {
  auto o = std::make_shared<WaitOptions>();
  CLI::App* cmd = app.add_subcommand("wait", "Wait for a condition of objects, or for their deletion (kubectl wait)");
  cmd->add_option("objects", o->args, "TYPE NAME..., TYPE/NAME..., or TYPE with -l or --all");
  cmd->add_option("--for", o->for_, "condition=Ready (any condition type) or delete")->required();
  cmd->add_option("-l,--selector", o->selector, "Label selector");
  cmd->add_flag("--all", o->all, "Every object of the type in the namespace");
  cmd->add_option("--timeout", o->timeout, "How long to wait (30s, 2m, 500ms)");
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &action] { action = [o] { return run_wait(*o); }; });

  auto r = std::make_shared<RolloutOptions>();
  CLI::App* rollout = app.add_subcommand("rollout", "Follow a Deployment's rollout (kubectl rollout status deploy/NAME)");
  rollout->add_option("verb", r->verb, "status")->required();
  rollout->add_option("object", r->ref, "deploy/NAME")->required();
  rollout->add_option("--timeout", r->timeout, "How long to wait");
  add_namespace_option(rollout, r->ns);
  add_lab_option(rollout, r->lab);
  rollout->callback([r, &action] { action = [r] { return run_rollout(*r); }; });
}

}  // namespace knlab
