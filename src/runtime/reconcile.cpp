#include "runtime/reconcile.hpp"

#include <fmt/core.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>

#include "lab/loader.hpp"
#include "lab/manifest.hpp"
#include "lab/validate.hpp"
#include "lab/writer.hpp"
#include "net/link.hpp"
#include "net/netns.hpp"
#include "plan/kube_proxy.hpp"
#include "plan/kube_proxy_nft.hpp"
#include "plan/naming.hpp"
#include "plan/nginx.hpp"
#include "runtime/live_executor.hpp"
#include "runtime/nginx_control.hpp"
#include "runtime/preflight.hpp"
#include "plan/netpol.hpp"
#include "runtime/teardown.hpp"

namespace knlab {

namespace {

// kube-proxy's nftables table of a node, as kube-proxy's partial sync writes it: one
// transaction of only the elements and chains that differ (none: no op). When every node has the
// same rules (but its own address), the delta is the same for all: made once (`shared`).
void node_nft_ops(const LabPlan& old, const LabPlan& neu, const NodePlan& n, std::vector<Op>& ops, ChangeResult& result,
                  std::shared_ptr<const std::string>* shared) {
  std::shared_ptr<const std::string> delta = shared ? *shared : nullptr;
  if (!delta) {
    NftTable was = has_node_tables(old) && old.node(n.name) ? kube_proxy_nft(old, *old.node(n.name)) : NftTable{};
    NftTable now = !was.name.empty() || has_node_tables(neu) ? kube_proxy_nft(neu, n) : NftTable{};
    delta = std::make_shared<const std::string>(render_nft_delta(was, now));
    if (shared) *shared = delta;
  }
  if (delta->empty()) return;
  ops.emplace_back(NftApply{n.netns, std::move(delta)});
  ++result.nft_tables;
}

// The iptables tables of one node that differ between the plans. Tables shared by every node
// (NodeTables) are compared once, whatever the number of nodes.
class TableDiff {
 public:
  TableDiff(const LabPlan& old, const LabPlan& neu, const NetpolCompiled& was, const NetpolCompiled& now)
      : old_(old), neu_(neu), was_(old, was), now_(neu, now), memo_(node_tables_shared(old) && node_tables_shared(neu)) {}

  std::vector<std::shared_ptr<const IptTable>> changed(const NodePlan& n) {
    static const std::vector<std::shared_ptr<const IptTable>> none;
    const NodePlan* before = old_.node(n.name);
    const auto& was = before ? was_.of(*before) : none;
    std::vector<std::shared_ptr<const IptTable>> now;
    if (has_node_tables(neu_) || uses_nft_proxy(neu_)) now = now_.of(n);
    else if (!was.empty())  // a lab left without Services and policies keeps kube-proxy's base rules
      for (IptTable& t : kube_proxy_tables(neu_, n)) now.push_back(std::make_shared<const IptTable>(std::move(t)));
    // A table kn-lab no longer writes anything in is emptied of its chains.
    for (const auto& w : was)
      if (std::none_of(now.begin(), now.end(), [&](const auto& t) { return t->name == w->name; }))
        now.push_back(std::make_shared<const IptTable>(IptTable{w->name, {}, {}}));
    std::vector<std::shared_ptr<const IptTable>> out;
    for (const auto& t : now) {
      auto w = std::find_if(was.begin(), was.end(), [&](const auto& x) { return x->name == t->name; });
      if (w == was.end() || !same(**w, *t)) out.push_back(t);
    }
    return out;
  }

 private:
  const LabPlan& old_;
  const LabPlan& neu_;
  NodeTables was_, now_;
  // Only tables both plans share live as long as the diff: only their comparison is kept.
  bool memo_;
  std::map<std::pair<const IptTable*, const IptTable*>, bool> compared_;

  bool same(const IptTable& a, const IptTable& b) {
    if (!memo_) return a == b;
    auto [it, fresh] = compared_.try_emplace({&a, &b}, false);
    if (fresh) it->second = a == b;
    return it->second;
  }
};

// The nodes' iptables tables that changed, with kube-router's ipsets around them: changed sets
// first (member by member), then the tables, then the sets no rule names go.
void node_table_ops(const LabPlan& old, const LabPlan& neu, std::vector<Op>& ops, ChangeResult& result) {
  // Each plan's policies compiled once, for all its nodes.
  NetpolCompiled was_compiled = compile_network_policies(old), now_compiled = compile_network_policies(neu);
  const std::vector<IpSet>& before = was_compiled.sets;
  const std::vector<IpSet>& after = now_compiled.sets;
  bool sets_changed = before != after;
  bool sets_gone = std::any_of(before.begin(), before.end(), [&](const IpSet& b) {
    return std::none_of(after.begin(), after.end(), [&](const IpSet& a) { return a.name == b.name; });
  });
  bool nft = uses_nft_proxy(neu);
  TableDiff diff(old, neu, was_compiled, now_compiled);
  std::shared_ptr<const std::string> delta;
  bool same_delta = has_node_tables(old) && kube_proxy_same_on_every_node(old) && kube_proxy_same_on_every_node(neu);
  if (nft)  // every node's delta next to each other (run at once)
    for (const NodePlan& n : neu.nodes) node_nft_ops(old, neu, n, ops, result, same_delta ? &delta : nullptr);
  // Sets, then tables (every node's next to each other: written at once), then sets gone.
  if (sets_changed)
    for (const NodePlan& n : neu.nodes) ops.emplace_back(IpsetApply{n.netns, after, false});
  for (const NodePlan& n : neu.nodes)
    for (auto& t : diff.changed(n)) {
      ops.emplace_back(IptablesApply{n.netns, std::move(t)});
      ++result.tables;
    }
  if (sets_gone)
    for (const NodePlan& n : neu.nodes) ops.emplace_back(IpsetApply{n.netns, after, true});
  if (sets_changed) result.ipsets = after.size();
}

const DataPlanePlan* data_plane_in(const LabPlan& plan, const DataPlanePlan& dp) {
  for (const DataPlanePlan& o : plan.data_planes)
    if (o.dir == dp.dir) return &o;
  return nullptr;
}

std::set<std::string> pod_namespaces(const LabPlan& plan) {
  std::set<std::string> out;
  for (const PodPlan& p : plan.pods) out.insert(p.netns);
  return out;
}

// What the change makes, in one transaction (undone if an op fails): new pods, the cloud load
// balancer's new addresses and rules, nodes' iptables tables whose rendering changed, new data
// planes, then the new pods' containers.
std::vector<Op> make_ops(const LabPlan& old, const LabPlan& neu, ChangeResult& result) {
  std::vector<Op> ops;
  const std::set<std::string> had = pod_namespaces(old);
  for (const PodPlan& p : neu.pods)
    if (!had.contains(p.netns)) {
      pod_ops(neu, p, ops);
      result.added.push_back(p.name);
    }
  if (!neu.cloud_lb_netns.empty() && old.cloud_lb_netns.empty()) {
    cloud_lb_ops(neu, ops);
  } else if (!neu.cloud_lb_netns.empty()) {
    for (const ServicePlan& s : neu.services)
      if (s.lb_ip && std::none_of(old.services.begin(), old.services.end(), [&](const ServicePlan& o) { return o.lb_ip == s.lb_ip; }))
        ops.emplace_back(AddrAdd{neu.cloud_lb_netns, "eth0", Cidr{*s.lb_ip, 32}});
    if (!(cloud_lb_table(old) == cloud_lb_table(neu)))
      ops.emplace_back(IptablesApply{neu.cloud_lb_netns, cloud_lb_table(neu)});
  }
  node_table_ops(old, neu, ops, result);
  if (neu.dns && !old.dns) ops.emplace_back(FileWrite{neu.dns_hosts_path, dns_hosts_file(neu)});
  for (const DataPlanePlan& dp : neu.data_planes)
    if (!data_plane_in(old, dp)) data_plane_ops(neu, dp, ops);
  for (const PodPlan& p : neu.pods)
    if (!had.contains(p.netns)) container_ops(p, ops);
  return ops;
}

// Then the switch-over, once the new pods and rules are in place: nginx data planes get their
// new files and a graceful reload before any pod their old configuration names goes away; then
// the removed pods go; files running pods read are rewritten in place (pods see them through
// bind mounts) and the DNS told; a removed data plane's files go last.
std::vector<Op> switch_ops(const LabPlan& old, const LabPlan& neu, const LabState& state, ChangeResult& result) {
  std::vector<Op> ops;
  for (const DataPlanePlan& dp : neu.data_planes) {
    const DataPlanePlan* before = data_plane_in(old, dp);
    if (!before) continue;
    auto files = nginx_files(neu, dp);
    if (files == nginx_files(old, *before)) continue;
    for (auto& [path, content] : files) ops.emplace_back(FileReplace{path, content, false});
    for (Op& op : nginx_reload_ops(neu, dp, state)) ops.push_back(std::move(op));
    result.reloaded.push_back(dp.ns + "/" + dp.name);
  }
  const std::set<std::string> had = pod_namespaces(old), has = pod_namespaces(neu);
  NetnsRemove gone;
  for (const PodPlan& p : old.pods)
    if (!has.contains(p.netns)) {
      gone.netns.push_back(p.netns);
      result.removed.push_back(p.name);
    }
  // EXTERNAL-IPs of Services no longer of type LoadBalancer (the cloud releases them).
  if (!old.cloud_lb_netns.empty() && old.cloud_lb_netns == neu.cloud_lb_netns)
    for (const ServicePlan& o : old.services)
      if (o.lb_ip && std::none_of(neu.services.begin(), neu.services.end(), [&](const ServicePlan& s) { return s.lb_ip == o.lb_ip; }))
        ops.emplace_back(AddrDel{old.cloud_lb_netns, "eth0", Cidr{*o.lb_ip, 32}});
  // The lab's own namespaces no longer needed (the cloud load balancer, once no Service is of
  // type LoadBalancer).
  const std::vector<std::string> now = neu.namespaces();
  const std::set<std::string> wanted(now.begin(), now.end());
  for (const std::string& ns : old.namespaces())
    if (!had.contains(ns) && !wanted.contains(ns)) gone.netns.push_back(ns);
  if (!gone.netns.empty()) ops.emplace_back(std::move(gone));
  for (const PodPlan& p : neu.pods)
    if (had.contains(p.netns) && pod_resolv_conf(old, p) != pod_resolv_conf(neu, p))
      ops.emplace_back(FileReplace{pod_etc_dir(p) + "/resolv.conf", pod_resolv_conf(neu, p), true});
  if (old.dns && neu.dns && dns_hosts_file(old) != dns_hosts_file(neu)) {
    ops.emplace_back(FileReplace{neu.dns_hosts_path, dns_hosts_file(neu), true});
    for (Op& op : dns_reload_ops(neu, state)) ops.push_back(std::move(op));
  }
  for (const DataPlanePlan& dp : old.data_planes)
    if (!data_plane_in(neu, dp)) ops.emplace_back(PathRemove{dp.dir});
  return ops;
}

// Where the user wrote the object that holds line `line` of the written-back desired state: the
// manifest's file:line:column, or nothing (an object made on the command line) - never the
// record, a file the user never wrote.
SourceLocation origin_in_record(const Lab& desired, std::string_view text, unsigned line) {
  std::map<std::string, std::size_t> seen;
  std::string kind;
  std::size_t start = 0;
  for (unsigned n = 1; n <= line && start <= text.size(); ++n) {
    std::size_t end = text.find('\n', start);
    std::string_view l = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (l == "[[pod]]" || l == "[[deployment]]" || l == "[[service]]") {
      kind = std::string(l.substr(2, l.size() - 4));
      ++seen[kind];
    } else if (l.starts_with("[") && !l.starts_with("[[pod.") && !l.starts_with("[[service.")) {
      kind.clear();
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  auto at = [&](const auto& objects) {
    std::size_t i = seen[kind] - 1;
    return i < objects.size() ? objects[i].where : SourceLocation{};
  };
  if (kind == "pod") return at(desired.pods);
  if (kind == "deployment") return at(desired.deployments);
  if (kind == "service") return at(desired.services);
  return {};
}

// The desired state after the mutation, validated as a whole as the API server would, and its
// text for the record. An error names the user's manifest, or no file (the command line).
Result<std::pair<Lab, std::string>> desired_after(const std::string& lab, const LabState& state, Lab desired) {
  KN_TRY(validate(desired));  // at the user's file:line:column or command-line option
  std::string text = write_lab(desired);
  LabOverrides overrides = recorded_overrides(state);
  std::string record = state_dir(lab) + "/lab.toml";
  auto parsed = parse_lab(text, record, overrides);
  if (!parsed) {
    Error e = parsed.error();
    if (e.where.file == record) e.where = origin_in_record(desired, text, e.where.line);
    if (e.where.file == record) e.where = {};  // an object of the lab as it was brought up
    return fail(std::move(e));
  }
  Lab checked = std::move(*parsed);
  checked.l7 = desired.l7;  // not in lab.toml: recorded as YAML, checked by the manifest loader
  return std::pair{std::move(checked), std::move(text)};
}

// The switch-over runs to its end whatever fails on the way (the record already says where the
// lab is going: `up` finishes what is left); the first error is reported.
Status run_switch(Executor& executor, const std::vector<Op>& ops, const UpHooks& hooks) {
  Status first;
  for (const Op& op : ops) {
    if (hooks.on_op) hooks.on_op(op);
    if (auto r = executor.run(op); !r && first) first = fail(r.error());
  }
  return first;
}

// Where a live change spends its time, at -vv: each phase's milliseconds since the last.
class PhaseClock {
 public:
  void mark(std::string_view phase) {
    auto now = std::chrono::steady_clock::now();
    spdlog::debug("change: {} {:.1f} ms", phase, std::chrono::duration<double, std::milli>(now - last_).count());
    last_ = now;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace

std::optional<int> replica_index(const DeploymentSpec& d, const PlanMemory& memory, std::string_view pod) {
  for (int i = 0; i < d.replicas; ++i)
    if (deployment_pod_name(d, i, memory.generation(d, i)) == pod) return i;
  return std::nullopt;
}

Result<ChangeResult> lab_change(const std::string& lab, const Mutation& mutate, const UpHooks& hooks) {
  auto t0 = std::chrono::steady_clock::now();
  KN_TRY(require_root(fmt::format("change lab {}", lab)));
  KN_TRY(load_state(lab));  // a lab that is not up: say so without taking (and leaving) a lock
  LabLock lock = KN_TRY(LabLock::acquire(lab));
  LabState state = KN_TRY(load_state(lab));
  if (state.status != LabStatus::kUp)
    return fail(state_error(fmt::format("change lab {}", lab), fmt::format("the lab is {}", to_string(state.status)),
                            fmt::format("`kn-lab down {}` and bring it up again", lab)));
  PhaseClock clock;
  Lab desired = KN_TRY(load_recorded_lab(lab));
  ImageCatalogue images = KN_TRY(load_image_catalogue());
  clock.mark("read the record");
  LabPlan old = KN_TRY(plan_lab(desired, images, &state.memory));
  clock.mark("plan before");
  LabState recorded_before = state;
  KN_TRY(mutate(desired, state.memory));
  auto [checked, text] = KN_TRY(desired_after(lab, state, std::move(desired)));
  clock.mark("validate after");
  ChangeResult result;
  result.plan = KN_TRY(plan_lab(checked, images, &state.memory));
  const LabPlan& neu = result.plan;
  clock.mark("plan after");

  std::vector<Op> make = make_ops(old, neu, result);
  KN_TRY(resolve_programs(make));  // before anything changes
  KN_TRY(check_kernel_features(make));
  clock.mark("diff");
  if (hooks.dry_run) {
    result.dry_run = true;
    result.ops = make;
    for (Op& op : switch_ops(old, neu, state, result)) result.ops.push_back(std::move(op));
    return result;
  }
  std::string pause_path = KN_TRY(resolve_program("kn-pause"));
  // Write-ahead: the record says where the lab is going before the kernel changes, so that a
  // change killed at any point is finished by the next `up` (which makes the pods that are
  // missing and removes the namespaces the record does not know). If the transaction fails, the
  // kernel is as it was (the new pods are undone): the record goes back too.
  std::string before_text = KN_TRY(recorded_text(lab, "lab.toml")), before_l7 = KN_TRY(recorded_text(lab, "l7.yaml"));
  state.memory = neu.memory;
  stamp_creation(state.memory, neu, static_cast<std::int64_t>(std::time(nullptr)));
  KN_TRY(save_state(state, text, l7_yaml(checked.l7)));
  LiveExecutor live(pause_path);
  FaultInjectingExecutor executor(live);
  {
    Transaction txn(executor, hooks.on_op);
    if (auto st = txn.run_all(make); !st) {
      txn.rollback();
      if (auto back = save_state(recorded_before, before_text, before_l7); !back) spdlog::warn("{}", back.error().format());
      return fail(st.error());
    }
    txn.commit();
    clock.mark("kernel");
    record_processes(txn, state);
    KN_TRY(save_state(state, text, l7_yaml(checked.l7)));
  }
  Status switched = run_switch(executor, switch_ops(old, neu, state, result), hooks);
  std::erase_if(state.processes, [&](const ProcessRecord& r) { return !neu.pod_by_key(r.pod) && old.pod_by_key(r.pod); });
  KN_TRY(save_state(state, text, l7_yaml(checked.l7)));
  KN_TRY(switched);
  clock.mark("switch-over");
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace knlab
