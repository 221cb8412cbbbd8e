#include "runtime/lifecycle.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "lab/manifest.hpp"
#include "net/ipset.hpp"
#include "net/iptables.hpp"
#include "net/nftables.hpp"
#include "net/link.hpp"
#include "net/netns.hpp"
#include "plan/naming.hpp"
#include "runtime/files.hpp"
#include "runtime/host_dirs.hpp"
#include "runtime/live_executor.hpp"
#include "runtime/nginx_control.hpp"
#include "runtime/preflight.hpp"
#include "runtime/teardown.hpp"

namespace knlab {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}


// Removes /etc/netns/kn-<lab>.* (files kn-lab wrote) and counts what it removed.
std::size_t remove_etc_netns(const std::string& lab) {
  std::size_t n = 0;
  std::error_code ec;
  const std::string prefix = netns_prefix(lab);
  if (DIR* d = ::opendir(std::string(kEtcNetnsDir).c_str())) {
    std::vector<std::string> victims;
    while (dirent* e = ::readdir(d))
      if (std::string_view(e->d_name).starts_with(prefix)) victims.emplace_back(e->d_name);
    ::closedir(d);
    for (auto& v : victims) n += static_cast<std::size_t>(std::filesystem::remove_all(fmt::format("{}/{}", kEtcNetnsDir, v), ec));
  }
  return n;
}

// Everything of the lab, found from the kernel and the filesystem; the caller holds the lock.
DownResult teardown(const std::string& lab) {
  DownResult r;
  TeardownOptions options;
  if (auto state = load_state(lab))
    for (auto& p : state->processes) options.recorded.push_back(p.id);
  TeardownCount c = remove_namespaces(netns_list(netns_prefix(lab)), options);
  r.processes = c.processes;
  r.namespaces = c.namespaces;
  r.files = c.files + remove_etc_netns(lab);  // and files whose namespace is already gone
  std::error_code ec;
  r.files += static_cast<std::size_t>(std::filesystem::remove_all(state_dir(lab), ec));
  r.files += forget_saved_lab(lab);
  return r;
}

}  // namespace

namespace {

// The Debian packages of the daemons labs run, for "not installed" hints.
std::string package_hint(const std::string& program) {
  static const std::pair<std::string_view, std::string_view> packages[] = {
      {"nginx", "nginx-light libnginx-mod-stream"}, {"dnsmasq", "dnsmasq-base"}, {"bird", "bird2"}};
  for (auto& [prog, pkg] : packages)
    if (program == prog) return fmt::format("install it: apt-get install {} (scripts/install-deps.sh does)", pkg);
  return {};
}

}  // namespace

Status resolve_programs(std::vector<Op>& ops) {
  for (Op& op : ops) {
    if (auto* c = std::get_if<ContainerStart>(&op)) {
      auto path = resolve_program(c->argv.front());
      if (!path) {
        Error e = path.error();
        e.op = fmt::format("container '{}' of pod '{}': find program", c->container, c->pod);
        if (std::string hint = package_hint(c->argv.front()); !hint.empty()) e.hint = hint;
        return fail(std::move(e));
      }
      c->argv.front() = *path;
    } else if (auto* d = std::get_if<DaemonStart>(&op)) {
      auto path = resolve_program(d->argv.front());
      if (!path) {
        Error e = path.error();
        e.op = fmt::format("{} of {}: find program", d->name, d->owner);
        e.hint = package_hint("bird");
        return fail(std::move(e));
      }
      d->argv.front() = *path;
    }
  }
  return {};
}

void record_processes(const Transaction& txn, LabState& state) {
  // One record per pod (or node) and container: a new process replaces what an older one left.
  std::map<std::pair<std::string, std::string>, std::size_t> at;
  for (std::size_t i = 0; i < state.processes.size(); ++i)
    at[{state.processes[i].pod, state.processes[i].container}] = i;
  auto record = [&](const std::string& owner, const std::string& name, const Outcome& out) {
    ProcessRecord rec{owner, name, {out.pid, out.start}};
    if (auto it = at.find({owner, name}); it != at.end()) {
      state.processes[it->second] = std::move(rec);
    } else {
      at[{owner, name}] = state.processes.size();
      state.processes.push_back(std::move(rec));
    }
  };
  for (auto& [op, out] : txn.done()) {
    if (auto* p = std::get_if<PauseStart>(&op)) record(p->pod, "", out);
    if (auto* c = std::get_if<ContainerStart>(&op)) record(c->pod, c->container, out);
    if (auto* d = std::get_if<DaemonStart>(&op)) record(d->owner, d->name, out);
  }
}

// What a dead container left in its pod: its children, orphaned (an nginx master killed by hand
// leaves its workers holding the pod's ports, and a new master could not bind them). A container
// runtime kills the container's whole process tree; here, the processes of the pod's network
// namespace in the session a dead container led (each container starts one: setsid).
void kill_leftovers(const PodPlan& p, const LabState& state) {
  std::vector<pid_t> dead_sessions;
  for (const ProcessRecord& r : state.processes)
    if (r.pod == p.key() && !r.container.empty() && !process_alive(r.id)) dead_sessions.push_back(r.id.pid);
  auto id = netns_id(p.netns);
  if (dead_sessions.empty() || !id) return;
  std::vector<pid_t> leftovers;
  for (pid_t pid : processes_in_netns({*id}))
    if (auto sid = session_of(pid); sid && std::find(dead_sessions.begin(), dead_sessions.end(), *sid) != dead_sessions.end())
      leftovers.push_back(pid);
  terminate_processes(leftovers, 300);
}

// The namespaces an op works in.
std::vector<std::string> op_namespaces(const Op& op) {
  return std::visit(
      [](const auto& o) -> std::vector<std::string> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, NetnsAdd>) return {o.name};
        else if constexpr (std::is_same_v<T, VethAdd>) return {o.netns, o.peer_netns};
        else if constexpr (requires { o.netns; }) return {o.netns};
        else return {};
      },
      op);
}

// Whether a node's sets are as IpsetApply would leave them (`have`: kn-lab's sets, by name).
bool ipsets_in_place(const std::vector<IpSet>& have, const IpsetApply& want) {
  for (const IpSet& w : want.sets)
    if (std::find(have.begin(), have.end(), w) == have.end()) return false;
  return !want.prune || have.size() == want.sets.size();
}

// Links, addresses, routes, neighbour and FDB entries, kube-proxy's rules: the network part of
// up_ops is replayed. What is there answers EEXIST and is kept; what is missing (a deleted veth,
// a flushed route, a deleted flannel.1) is made again and reported. iptables tables are checked
// first (iptables_in_place) and rewritten only when they differ; kube-proxy's nftables table is
// compared by its rules per chain and elements per set, and replaced in one transaction.
void repair_network(const std::vector<Op>& desired, const std::vector<std::string>& present, LiveExecutor& live, UpResult& result,
                    const UpHooks& hooks) {
  NetlinkSession probe;  // to read link state before setting it
  for (const Op& op : desired) {
    if (std::holds_alternative<NetnsAdd>(op) || std::holds_alternative<FileWrite>(op) ||
        std::holds_alternative<PauseStart>(op) || std::holds_alternative<ContainerStart>(op) ||
        std::holds_alternative<DaemonStart>(op) || std::holds_alternative<BgpWait>(op))
      continue;
    auto nss = op_namespaces(op);
    if (std::any_of(nss.begin(), nss.end(), [&](const std::string& n) {
          return std::find(present.begin(), present.end(), n) == present.end();
        }))
      continue;  // reported as a missing namespace
    if (auto* ipt = std::get_if<IptablesApply>(&op)) {
      auto ns = NetnsRef::open(ipt->netns);
      auto same = ns ? iptables_in_place(*ns, *ipt->table) : Result<bool>(std::unexpected(ns.error()));
      if (same && *same) continue;
      result.drift.push_back(fmt::format("{}: the iptables {} table differed from kube-proxy's rules (rewritten)", ipt->netns,
                                         ipt->table->name));
    }
    if (auto* nft = std::get_if<NftApply>(&op)) {
      auto ns = NetnsRef::open(nft->netns);
      auto have = ns ? nft_counts(*ns, "ip", "kube-proxy") : Result<NftCounts>(std::unexpected(ns.error()));
      if (have && *have == nft_script_counts(nft->text())) continue;
      result.drift.push_back(fmt::format("{}: table ip kube-proxy differed from kube-proxy's rules (replaced)", nft->netns));
    }
    if (auto* sets = std::get_if<IpsetApply>(&op)) {
      auto ns = NetnsRef::open(sets->netns);
      auto have = ns ? ipset_read(*ns) : Result<std::vector<IpSet>>(std::unexpected(ns.error()));
      if (have && ipsets_in_place(*have, *sets)) continue;
      result.drift.push_back(fmt::format("{}: kube-router's ipsets differed from the policies (repaired)", sets->netns));
    }
    if (auto* up = std::get_if<LinkUp>(&op)) {
      // Setting a link up is idempotent: report only a link that was down (or gone).
      auto ctx = probe.context(up->netns);
      auto is_up = ctx ? link_is_up(**ctx, up->ifname) : Result<bool>(std::unexpected(ctx.error()));
      if (is_up && *is_up) continue;
      if (is_up) result.drift.push_back(fmt::format("{}: link {} was down (set up)", up->netns, up->ifname));
    }
    bool creates = std::holds_alternative<BridgeAdd>(op) || std::holds_alternative<VethAdd>(op) ||
                   std::holds_alternative<AddrAdd>(op) || std::holds_alternative<RouteAdd>(op) ||
                   std::holds_alternative<VxlanAdd>(op);
    auto r = live.run(op);
    if (!r) {
      if (r.error().err == EEXIST) continue;  // there: nothing to repair
      result.unrepaired.push_back(r.error().format());
      continue;
    }
    if (hooks.on_op) hooks.on_op(op);
    if (creates) result.drift.push_back(fmt::format("was missing, made again: {}", op_display(op)));
  }
}

// Namespaces of the lab that its desired state does not know (a live change killed before it
// removed a pod, or after it made one but before the record said so): removed with everything
// in them, and reported.
void remove_unknown_namespaces(const LabPlan& plan, UpResult& result) {
  const std::vector<std::string> all = plan.namespaces();
  const std::set<std::string> wanted(all.begin(), all.end());
  std::vector<std::string> unknown;
  for (const std::string& ns : netns_list(netns_prefix(plan.lab)))
    if (!wanted.contains(ns)) unknown.push_back(ns);
  if (unknown.empty()) return;
  TeardownCount c = remove_namespaces(unknown, {.recorded = {}, .free_veth_names = true});
  for (const std::string& ns : unknown)
    result.drift.push_back(fmt::format("namespace {} is not in the lab's desired state (removed)", ns));
  if (c.processes) result.drift.push_back(fmt::format("stopped {} processes that lived in them", c.processes));
}

// Pods of the desired state whose namespace does not exist (a live change killed before it made
// them): made whole, as `up` makes a pod.
std::vector<Op> missing_pods(const LabPlan& plan, const std::vector<std::string>& present, UpResult& result) {
  std::vector<Op> ops, containers;
  for (const PodPlan& p : plan.pods) {
    if (std::find(present.begin(), present.end(), p.netns) != present.end()) continue;
    result.drift.push_back(fmt::format("pod {} was missing (made)", p.name));
    pod_ops(plan, p, ops);
    container_ops(p, containers);
  }
  ops.insert(ops.end(), containers.begin(), containers.end());
  return ops;
}

// Every process of a pod whose pause process is gone: the pod restarts whole.
void stop_all_in(const PodPlan& p) {
  if (auto id = netns_id(p.netns)) terminate_processes(processes_in_netns({*id}), 300);
}


// Files of the desired state that differ on disk (a change killed before it rewrote them): pods'
// hosts and resolv.conf and the DNS hosts file rewritten in place (pods see them through bind
// mounts: same inode), a data plane's configuration replaced atomically; then the daemon that
// reads them is told (dnsmasq: SIGHUP; nginx: a graceful reload).
void repair_files(const LabPlan& plan, const std::vector<Op>& desired, const LabState& state, LiveExecutor& live,
                  UpResult& result, const UpHooks& hooks) {
  std::vector<Op> ops;
  std::set<const DataPlanePlan*> reload;
  bool dns = false;
  for (const Op& op : desired) {
    auto* f = std::get_if<FileWrite>(&op);
    if (!f || f->content.empty() || read_text(f->path) == f->content) continue;  // logs start empty
    const DataPlanePlan* dp = nullptr;
    for (const DataPlanePlan& d : plan.data_planes)
      if (f->path.starts_with(d.dir + "/")) dp = &d;
    ops.emplace_back(FileReplace{f->path, f->content, dp == nullptr});
    result.drift.push_back(fmt::format("{} differed from the desired state (rewritten)", f->path));
    if (dp) reload.insert(dp);
    dns |= f->path == plan.dns_hosts_path;
  }
  for (const DataPlanePlan& dp : plan.data_planes)
    for (const Op& op : nginx_reload_ops(plan, dp, state)) {
      auto& r = std::get<NginxReload>(op);
      if (reload.contains(&dp) || !nginx_runs_older_config(ProcessId{r.master_pid, r.master_start}, dp.conf())) continue;
      result.drift.push_back(fmt::format("nginx of {}/{} ran an older configuration than {} (reloaded)", dp.ns, dp.name, dp.conf()));
      reload.insert(&dp);
    }
  if (dns) for (Op& op : dns_reload_ops(plan, state)) ops.push_back(std::move(op));
  for (const DataPlanePlan* dp : reload)
    for (Op& op : nginx_reload_ops(plan, *dp, state)) ops.push_back(std::move(op));
  for (const Op& op : ops) {
    if (hooks.on_op) hooks.on_op(op);
    if (auto r = live.run(op); !r) result.unrepaired.push_back(r.error().format());
  }
}

// A pod whose pause is gone restarts whole (whatever still runs in it is stopped first, recorded
// or not: a change killed before it recorded them); else its dead containers are restarted.
void restart_ops(const PodPlan& p, const LabState& state, LiveExecutor& live, UpResult& result, std::vector<Op>& ops) {
  auto alive = [&](std::string_view what) {
    const ProcessRecord* r = state.find(p.key(), what);
    return r && process_alive(r->id);
  };
  bool pause_ok = alive("");
  if (!pause_ok) {
    stop_all_in(p);
    result.drift.push_back(fmt::format("pod {}: its pause process is gone (restarted, with its containers)", p.name));
    ops.emplace_back(PauseStart{p.netns, p.key(), p.name});
  } else {
    if (!std::all_of(p.containers.begin(), p.containers.end(), [&](const ContainerPlan& c) { return alive(c.name); }))
      kill_leftovers(p, state);
    live.adopt_pause(p.key(), state.find(p.key(), "")->id);
  }
  std::vector<Op> containers;
  container_ops(p, containers);
  for (Op& op : containers) {
    auto& c = std::get<ContainerStart>(op);
    if (pause_ok && alive(c.container)) continue;
    if (pause_ok) result.drift.push_back(fmt::format("pod {}: container {} is not running (restarted)", p.name, c.container));
    ops.push_back(std::move(op));
  }
}

// Creation times of the objects of a lab that is up, as `up` repairs it: the recorded ones are
// kept, objects without one (the desired state was written but a killed change did not record
// the times) are stamped now, and a record from before times were kept gives its objects the
// lab's own. True when the memory changed (the record is then written again).
bool stamp_repaired(LabState& state, const LabPlan& plan) {
  std::map<std::string, std::int64_t> before = state.memory.created;
  std::time_t now = before.empty() ? state.created : std::time(nullptr);
  stamp_creation(state.memory, plan, static_cast<std::int64_t>(now));
  return state.memory.created != before;
}

// `up` of a lab that is up: compare the kernel and the processes with the plan, restart what
// died (a pause process with its containers, a container, a BIRD), and report what cannot be
// repaired in place. Nothing drifted: nothing changes.
Status repair(const std::string& name, LabState& state, UpResult& result, const std::string& pause_path,
              const UpHooks& hooks) {
  Lab recorded = KN_TRY(load_recorded_lab(name));
  ImageCatalogue images = KN_TRY(catalogue_for(recorded));
  LabPlan plan = KN_TRY(plan_lab(recorded, images, &state.memory));
  remove_unknown_namespaces(plan, result);
  // Records of processes gone with pods the desired state does not have (a change killed before
  // it forgot them): a pod made again under such a name must not be judged by them.
  std::size_t records = state.processes.size();
  std::erase_if(state.processes, [&](const ProcessRecord& r) { return !plan.pod_by_key(r.pod) && !process_alive(r.id); });
  bool stamped = stamp_repaired(state, plan);
  if (stamped || state.processes.size() != records) KN_TRY(save_state(state, ""));
  std::vector<std::string> present = netns_list(netns_prefix(name));
  LiveExecutor live(pause_path);
  std::vector<Op> ops = missing_pods(plan, present, result);
  for (const std::string& ns : plan.namespaces())
    if (std::find(present.begin(), present.end(), ns) == present.end() &&
        std::none_of(plan.pods.begin(), plan.pods.end(), [&](const PodPlan& p) { return p.netns == ns; }))
      result.unrepaired.push_back(fmt::format("network namespace {} is missing", ns));
  for (const PodPlan& p : plan.pods)
    if (std::find(present.begin(), present.end(), p.netns) != present.end()) restart_ops(p, state, live, result, ops);
  auto alive = [&](std::string_view owner, std::string_view what) {
    const ProcessRecord* r = state.find(owner, what);
    return r && process_alive(r->id);
  };
  // The ops that would build the lab (kube-proxy's tables rendered once): what is compared.
  const std::vector<Op> desired = up_ops(plan);
  for (const Op& op : desired)
    if (auto* d = std::get_if<DaemonStart>(&op); d && !alive(d->owner, d->name)) {
      result.drift.push_back(fmt::format("{}: {} is not running (restarted)", d->owner, d->name));
      ops.push_back(op);
    }
  if (!ops.empty()) {
    KN_TRY(resolve_programs(ops));
    Transaction txn(live, hooks.on_op);
    KN_TRY(txn.run_all(ops));
    txn.commit();
    std::erase_if(state.processes, [&](const ProcessRecord& r) { return !process_alive(r.id); });
    record_processes(txn, state);
    KN_TRY(save_state(state, ""));
  }
  repair_network(desired, present, live, result, hooks);
  repair_files(plan, desired, state, live, result, hooks);
  return {};
}

Status require_root(std::string_view what) {
  if (::geteuid() == 0) return {};
  Error e;
  e.kind = ErrorKind::kPermission;
  e.op = std::string(what);
  e.err = EPERM;
  e.hint = "run as root: creating network namespaces needs CAP_SYS_ADMIN and CAP_NET_ADMIN (try sudo)";
  return fail(std::move(e));
}

Status apply_lab_manifests(Lab& lab) {
  std::filesystem::path base = std::filesystem::path(lab.source).parent_path();
  for (std::size_t i = 0; i < lab.manifests.size(); ++i) {
    std::filesystem::path path = lab.manifests[i];
    if (path.is_relative()) path = base / path;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      SourceLocation where = i < lab.manifest_where.size() ? lab.manifest_where[i] : SourceLocation{lab.source, 0, 0};
      return fail(input_error(where, fmt::format("manifest \"{}\" does not exist ({})", lab.manifests[i], path.string()),
                              "paths in manifests are relative to the lab file"));
    }
    Manifest m = KN_TRY(load_manifests(path.string()));
    KN_TRY(apply_manifest(lab, m));
  }
  lab.manifests.clear();
  lab.manifest_where.clear();
  return {};
}

Result<UpResult> lab_up(const Lab& lab, const std::string& lab_text, const UpHooks& options) {
  auto t0 = std::chrono::steady_clock::now();
  KN_TRY(require_root(fmt::format("bring up lab {}", lab.name)));
  UpResult result;
  ImageCatalogue images = KN_TRY(catalogue_for(lab));
  result.plan = KN_TRY(plan_lab(lab, images, options.memory));
  LabPlan& plan = result.plan;

  // Resolve every program before anything is created: a missing one changes nothing.
  std::string pause_path = KN_TRY(resolve_program("kn-pause"));
  std::vector<Op> ops = up_ops(plan);
  KN_TRY(resolve_programs(ops));
  KN_TRY(check_kernel_features(ops));

  LabLock lock = KN_TRY(LabLock::acquire(lab.name));
  auto present = netns_list(netns_prefix(lab.name));
  if (auto state = load_state(lab.name); state && state->status == LabStatus::kUp) {
    result.already_up = true;
    KN_TRY(repair(lab.name, *state, result, pause_path, options));
    result.seconds = seconds_since(t0);
    return result;
  }
  if (!present.empty())
    return fail(state_error(fmt::format("bring up lab {}", lab.name),
                            fmt::format("{} namespaces of it exist from an earlier run that did not finish", present.size()),
                            fmt::format("clean up with `kn-lab down {}`, then bring it up again", lab.name)));

  LabState state{lab.name, lab.source, LabStatus::kCreating, options.cni_override, std::time(nullptr), {}, {}, options.proxy_mode_override};
  KN_TRY(save_state(state, lab_text, l7_yaml(lab.l7)));

  LiveExecutor live(pause_path);
  FaultInjectingExecutor executor(live);
  {
    Transaction txn(executor, options.on_op);
    if (auto st = txn.run_all(ops); !st) {
      Error e = st.error();
      txn.rollback();  // undoes what was made, newest first
      std::error_code ec;
      std::filesystem::remove_all(state_dir(lab.name), ec);
      lock.remove_file();
      { LabLock released = std::move(lock); }
      host_dirs_release_if_unused();
      return fail(std::move(e));
    }
    txn.commit();
    record_processes(txn, state);
  }
  state.status = LabStatus::kUp;
  state.memory = plan.memory;
  stamp_creation(state.memory, plan, static_cast<std::int64_t>(state.created));
  KN_TRY(save_state(state, ""));
  result.warnings = live.warnings();
  result.seconds = seconds_since(t0);
  return result;
}

Result<DownResult> lab_down(const std::string& lab) {
  auto t0 = std::chrono::steady_clock::now();
  KN_TRY(check_lab_name(lab));
  KN_TRY(require_root(fmt::format("take down lab {}", lab)));
  DownResult r;
  {
    LabLock lock = KN_TRY(LabLock::acquire(lab));
    r = teardown(lab);
    lock.remove_file();
  }
  host_dirs_release_if_unused();
  r.seconds = seconds_since(t0);
  return r;
}

const PodView* LabView::pod(std::string_view name) const {
  auto it = std::find_if(pods.begin(), pods.end(), [&](const PodView& p) { return p.pod->name == name; });
  return it == pods.end() ? nullptr : &*it;
}

Result<LabView> view_lab(const std::string& lab) {
  LabView v;
  v.state = KN_TRY(load_state(lab));
  Lab model = KN_TRY(load_recorded_lab(lab));
  ImageCatalogue images = KN_TRY(catalogue_for(model));
  v.plan = KN_TRY(plan_lab(model, images, &v.state.memory));
  for (const PodPlan& p : v.plan.pods) {
    PodView pv;
    pv.pod = &p;
    pv.pause = v.state.find(p.key(), "");
    pv.total = static_cast<int>(p.containers.size());
    for (auto& c : p.containers)
      if (auto* rec = v.state.find(p.key(), c.name); rec && process_alive(rec->id)) ++pv.ready;
    pv.running = pv.pause && process_alive(pv.pause->id) && pv.ready == pv.total;
    v.pods.push_back(pv);
  }
  return v;
}

Result<std::string> default_lab(std::string_view command) {
  auto labs = list_labs();
  if (labs.size() == 1) return labs.front();
  if (labs.empty())
    return fail(state_error(std::string(command), "no lab is up", "bring one up with `kn-lab up <lab>`"));
  std::string names;
  for (auto& l : labs) names += (names.empty() ? "" : ", ") + l;
  return fail(state_error(std::string(command), fmt::format("several labs are up ({})", names),
                          "name one with --lab <name>"));
}

Result<ImageCatalogue> catalogue_for(const Lab& lab) {
  bool needed = !lab.deployments.empty() ||
                std::any_of(lab.pods.begin(), lab.pods.end(), [](const PodSpec& p) { return !p.image.empty(); });
  if (!needed) return ImageCatalogue{};  // labs of host programs run without the data files
  return load_image_catalogue();
}

Result<ImageCatalogue> load_image_catalogue() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("KNLAB_DATA")) candidates.push_back(fmt::format("{}/images.toml", env));
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    std::filesystem::path root = std::filesystem::path(std::string(buf, static_cast<std::size_t>(n))).parent_path().parent_path();
    candidates.push_back((root / "share/kn-lab/images.toml").string());
    candidates.push_back((root / "data/images.toml").string());
  }
  candidates.emplace_back(KNLAB_DATADIR "/images.toml");
  for (auto& path : candidates) {
    std::ifstream in(path, std::ios::binary);
    if (!in) continue;
    std::ostringstream text;
    text << in.rdbuf();
    return parse_images(text.str(), path);
  }
  Error e;
  e.kind = ErrorKind::kMissing;
  e.op = "find the image catalogue";
  e.object = "images.toml";
  e.hint = "reinstall kn-lab, or point KNLAB_DATA at the folder holding images.toml";
  return fail(std::move(e));
}

namespace {

// $`env`, then share/kn-lab/`sub` and `sub` next to the binary's folder (build/ inside a
// checkout), then the install prefix's.
std::vector<std::string> data_search_dirs(const char* env, const std::string& sub) {
  std::vector<std::string> dirs;
  if (const char* e = std::getenv(env)) dirs.emplace_back(e);
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    std::filesystem::path exe(std::string(buf, static_cast<std::size_t>(n)));
    dirs.push_back((exe.parent_path().parent_path() / "share/kn-lab" / sub).string());
    dirs.push_back((exe.parent_path().parent_path() / sub).string());
  }
  dirs.emplace_back(KNLAB_DATADIR "/" + sub);
  return dirs;
}

}  // namespace

std::vector<std::string> lab_search_dirs() { return data_search_dirs("KNLAB_LABS", "labs"); }

std::vector<std::string> exercise_search_dirs() { return data_search_dirs("KNLAB_EXERCISES", "exercises"); }

std::vector<std::string> exercise_files() {
  for (auto& dir : exercise_search_dirs()) {
    std::vector<std::string> files;
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(dir, ec))
      if (e.path().extension() == ".toml") files.push_back(e.path().string());
    if (files.empty()) continue;
    std::sort(files.begin(), files.end());
    return files;
  }
  return {};
}

Result<std::string> find_lab_file(const std::string& arg) {
  if (arg.find('/') != std::string::npos || arg.ends_with(".toml")) {
    if (path_exists(arg)) return std::filesystem::absolute(arg).string();
    if (arg.find('/') != std::string::npos)
      return fail(input_error(SourceLocation{arg, 0, 0}, "no such lab file"));
  }
  std::string stem = arg.ends_with(".toml") ? arg.substr(0, arg.size() - 5) : arg;
  for (auto& dir : lab_search_dirs()) {
    std::string candidate = fmt::format("{}/{}.toml", dir, stem);
    if (path_exists(candidate)) return std::filesystem::weakly_canonical(candidate).string();
  }
  std::string known;
  for (auto& dir : lab_search_dirs()) {
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(dir, ec))
      if (e.path().extension() == ".toml") known += "\n    " + e.path().stem().string();
    if (!known.empty()) break;
  }
  return fail(input_error(SourceLocation{arg, 0, 0}, "no lab file of that name",
                          known.empty() ? "give the path of a .toml lab file"
                                        : "give a path, or one of the labs that come with kn-lab:" + known));
}

}  // namespace knlab
