#include "runtime/reconcile.hpp"

#include <fmt/core.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include "lab/loader.hpp"
#include "lab/manifest.hpp"
#include "lab/writer.hpp"
#include "net/link.hpp"
#include "net/netns.hpp"
#include "plan/kube_proxy.hpp"
#include "plan/naming.hpp"
#include "plan/nginx.hpp"
#include "runtime/live_executor.hpp"
#include "runtime/nginx_control.hpp"
#include "runtime/preflight.hpp"
#include "runtime/teardown.hpp"

namespace knlab {

namespace {

std::map<std::string, std::string> rendered_tables(const LabPlan& plan, const NodePlan& node) {
  std::map<std::string, std::string> out;
  if (plan.services.empty()) return out;
  for (const IptTable& t : kube_proxy_tables(plan, node)) out[t.name] = render_iptables_save(t);
  return out;
}

// Removes the pods (their processes, recorded and found, namespaces and files): what `down`
// does, for pods.
void teardown_pods(const std::vector<const PodPlan*>& pods, const LabState& state) {
  std::vector<std::string> namespaces;
  TeardownOptions options{.recorded = {}, .free_veth_names = true};
  for (const PodPlan* p : pods) {
    namespaces.push_back(p->netns);
    for (auto& rec : state.processes)
      if (rec.pod == p->name) options.recorded.push_back(rec.id);
  }
  remove_namespaces(namespaces, options);
}

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
  Lab desired = KN_TRY(load_recorded_lab(lab));
  ImageCatalogue images = KN_TRY(load_image_catalogue());
  LabPlan old = KN_TRY(plan_lab(desired, images, &state.memory));

  KN_TRY(mutate(desired, state.memory));
  // Validate the whole desired state again, as the API server would.
  std::string text = write_lab(desired);
  LabOverrides overrides;
  if (!state.cni_override.empty()) overrides.cni = parse_cni_mode(state.cni_override);
  Lab checked = KN_TRY(parse_lab(text, state_dir(lab) + "/lab.toml", overrides));
  checked.l7 = desired.l7;  // not in lab.toml: recorded as YAML, checked by the manifest loader
  ChangeResult result;
  result.plan = KN_TRY(plan_lab(checked, images, &state.memory));
  const LabPlan& neu = result.plan;

  std::set<std::string> old_pods, new_pods;
  for (auto& p : old.pods) old_pods.insert(p.netns);
  for (auto& p : neu.pods) new_pods.insert(p.netns);

  std::vector<Op> ops;
  for (const PodPlan& p : neu.pods)
    if (!old_pods.contains(p.netns)) {
      pod_ops(neu, p, ops);
      result.added.push_back(p.name);
    }
  if (!neu.cloud_lb_netns.empty() && old.cloud_lb_netns.empty()) {
    cloud_lb_ops(neu, ops);
  } else if (!neu.cloud_lb_netns.empty()) {
    for (const ServicePlan& s : neu.services)
      if (s.lb_ip && std::none_of(old.services.begin(), old.services.end(), [&](const ServicePlan& o) { return o.lb_ip == s.lb_ip; }))
        ops.emplace_back(AddrAdd{neu.cloud_lb_netns, "eth0", Cidr{*s.lb_ip, 32}});
    if (render_iptables_save(cloud_lb_table(old)) != render_iptables_save(cloud_lb_table(neu)))
      ops.emplace_back(IptablesApply{neu.cloud_lb_netns, cloud_lb_table(neu)});
  }
  for (const NodePlan& n : neu.nodes) {
    auto before = rendered_tables(old, n);
    auto after = rendered_tables(neu, n);
    if (before == after) continue;
    for (IptTable& t : kube_proxy_tables(neu, n)) {
      if (before[t.name] == after[t.name]) continue;
      ops.emplace_back(IptablesApply{n.netns, std::move(t)});
      ++result.tables;
    }
  }
  bool dns_changed = neu.dns && (!old.dns || dns_hosts_file(old) != dns_hosts_file(neu));
  if (neu.dns && !old.dns) ops.emplace_back(FileWrite{neu.dns_hosts_path, dns_hosts_file(neu)});
  auto old_dp = [&](const DataPlanePlan& dp) -> const DataPlanePlan* {
    for (const DataPlanePlan& o : old.data_planes)
      if (o.dir == dp.dir) return &o;
    return nullptr;
  };
  for (const DataPlanePlan& dp : neu.data_planes)
    if (!old_dp(dp)) data_plane_ops(neu, dp, ops);
  for (const PodPlan& p : neu.pods)
    if (!old_pods.contains(p.netns)) container_ops(p, ops);

  KN_TRY(resolve_programs(ops));  // before anything changes
  KN_TRY(check_kernel_features(ops));
  std::string pause_path = KN_TRY(resolve_program("kn-pause"));
  // Write-ahead: the record says where the lab is going before the kernel changes, so that a
  // change killed at any point is finished by the next `up` (which makes the pods that are
  // missing and removes the namespaces the record does not know). If the transaction fails, the
  // kernel is as it was (the new pods are undone): the record goes back too.
  LabState recorded_before = state;
  std::string before_text = KN_TRY(recorded_text(lab, "lab.toml")), before_l7 = KN_TRY(recorded_text(lab, "l7.yaml"));
  state.memory = neu.memory;
  KN_TRY(save_state(state, text, l7_yaml(checked.l7)));
  LiveExecutor live(pause_path);
  FaultInjectingExecutor executor(live);
  {
    Transaction txn(executor, hooks.on_op);
    if (auto st = txn.run_all(ops); !st) {
      txn.rollback();
      if (auto back = save_state(recorded_before, before_text, before_l7); !back) spdlog::warn("{}", back.error().format());
      return fail(st.error());
    }
    txn.commit();
    record_processes(txn, state);
    KN_TRY(save_state(state, text, l7_yaml(checked.l7)));
  }
  // nginx data planes whose configuration changed (Ingresses, routes, endpoints): new files,
  // then a graceful reload, before any pod its old configuration names goes away. A reload that
  // fails does not stop the change (the kernel already has the new pods and rules, and the
  // record must say so): it is reported once the record is saved.
  Status reloads;
  for (const DataPlanePlan& dp : neu.data_planes) {
    const DataPlanePlan* before = old_dp(dp);
    if (!before) continue;
    auto files = nginx_files(neu, dp);
    if (files == nginx_files(old, *before)) continue;
    Status st = replace_files(files);
    if (st) st = reload_data_plane(neu, dp, state);
    if (!st && reloads) reloads = st;
    if (st) result.reloaded.push_back(dp.ns + "/" + dp.name);
  }
  // Then what goes away: pods no longer wanted, after their replacements are up.
  std::vector<const PodPlan*> gone;
  for (const PodPlan& p : old.pods)
    if (!new_pods.contains(p.netns)) gone.push_back(&p);
  teardown_pods(gone, state);
  for (const PodPlan* p : gone) {
    result.removed.push_back(p->name);
    std::erase_if(state.processes, [&](const ProcessRecord& r) { return r.pod == p->name; });
  }
  // Files that running processes read: pods' resolv.conf (a nameserver once DNS exists) and the
  // DNS hosts file, rewritten in place (same inode: the pods' bind mounts see the change), then
  // dnsmasq told to reload it.
  for (const PodPlan& p : neu.pods)
    if (old_pods.contains(p.netns) && pod_resolv_conf(old, p) != pod_resolv_conf(neu, p))
      KN_TRY(write_file(pod_etc_dir(p) + "/resolv.conf", pod_resolv_conf(neu, p)));
  if (dns_changed && old.dns) {
    KN_TRY(write_file(neu.dns_hosts_path, dns_hosts_file(neu)));
    signal_dns(neu, state);
  }
  for (const DataPlanePlan& dp : old.data_planes)
    if (std::none_of(neu.data_planes.begin(), neu.data_planes.end(), [&](const DataPlanePlan& n) { return n.dir == dp.dir; })) {
      std::error_code ec;
      std::filesystem::remove_all(dp.dir, ec);
    }
  KN_TRY(save_state(state, text, l7_yaml(checked.l7)));
  KN_TRY(reloads);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace knlab
