#include "runtime/nginx_control.hpp"

#include <dirent.h>
#include <fmt/core.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "runtime/live_executor.hpp"

namespace knlab {

namespace {

// The live children of `parent`, found by their /proc/<pid>/stat (works without
// CONFIG_PROC_CHILDREN).
std::set<pid_t> children_of(pid_t parent) {
  std::set<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    if (parent_of(static_cast<pid_t>(pid)) == parent) out.insert(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return out;
}

std::string log_tail(const std::string& path, std::size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);) all.push_back(l);
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += "\n    " + all[i];
  return out;
}

}  // namespace

Status replace_files(const std::vector<std::pair<std::string, std::string>>& files) {
  for (const auto& [path, content] : files) {
    std::string tmp = path + ".kn-lab-new";
    KN_TRY(write_file(tmp, content));
    if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(sys_error("replace file", path, errno));
  }
  return {};
}

Status reload_nginx(const ProcessId& master, const std::string& error_log, int timeout_ms) {
  if (!process_alive(master))
    return fail(state_error("reload nginx", fmt::format("its master process {} is not running", master.pid),
                            "`kn-lab up <lab>` restarts it"));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // A master that has no worker yet is still starting: until it has set up its signal handlers,
  // SIGHUP would kill it (the default action). Wait for its first worker.
  std::set<pid_t> before = children_of(master.pid);
  while (before.empty() && std::chrono::steady_clock::now() < deadline && process_alive(master)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    before = children_of(master.pid);
  }
  if (before.empty())
    return fail(state_error("reload nginx", fmt::format("nginx (pid {}) has no worker: it did not start; nginx said:{}", master.pid,
                                                        log_tail(error_log, 5)),
                            "see the container's log with `kn-lab logs`; `kn-lab up <lab>` restarts it"));
  if (::kill(master.pid, SIGHUP) != 0) return fail(sys_error("reload nginx (SIGHUP)", fmt::format("pid {}", master.pid), errno));
  while (std::chrono::steady_clock::now() < deadline) {
    std::set<pid_t> now = children_of(master.pid);
    if (std::any_of(now.begin(), now.end(), [&](pid_t p) { return !before.contains(p); })) {
      // New workers run. The old ones may still accept until they get the master's QUIT and
      // close their listening sockets; they exit once their requests are done. Wait for that
      // (bounded: a long request keeps its worker, which no longer accepts by then).
      auto grace = std::chrono::steady_clock::now() + std::chrono::milliseconds(1000);
      while (std::chrono::steady_clock::now() < grace) {
        now = children_of(master.pid);
        if (std::none_of(before.begin(), before.end(), [&](pid_t p) { return now.contains(p); })) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return fail(state_error("reload nginx", fmt::format("no worker on the new configuration after {} ms; nginx said:{}", timeout_ms,
                                                      log_tail(error_log, 5)),
                          "the previous configuration is still serving"));
}

namespace {

// A process's start as wall-clock seconds: the boot's wall-clock time (CLOCK_REALTIME minus
// CLOCK_BOOTTIME: /proc/stat's btime is whole seconds) plus its start in ticks since boot.
std::optional<double> started_at(pid_t pid) {
  auto ticks = process_start_time(pid);
  if (!ticks) return std::nullopt;
  timespec real{}, boot{};
  ::clock_gettime(CLOCK_REALTIME, &real);
  ::clock_gettime(CLOCK_BOOTTIME, &boot);
  double booted = static_cast<double>(real.tv_sec - boot.tv_sec) + static_cast<double>(real.tv_nsec - boot.tv_nsec) / 1e9;
  return booted + static_cast<double>(*ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

bool nginx_runs_older_config(const ProcessId& master, const std::string& conf) {
  struct stat st{};
  if (!process_alive(master) || ::stat(conf.c_str(), &st) != 0) return false;
  double written = static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9;
  std::optional<double> youngest;
  for (pid_t w : children_of(master.pid))
    if (auto t = started_at(w); t && (!youngest || *t > *youngest)) youngest = t;
  // Workers start on every (re)load; ticks are 10 ms, hence the margin.
  return youngest && written > *youngest + 0.05;
}

std::vector<Op> nginx_reload_ops(const LabPlan& plan, const DataPlanePlan& dp, const LabState& state) {
  std::vector<Op> ops;
  for (const PodPlan& p : plan.pods)
    if (p.ns == dp.ns && p.deployment == dp.name && !p.containers.empty())
      if (const ProcessRecord* rec = state.find(p.key(), p.containers.front().name))
        ops.emplace_back(NginxReload{p.netns, dp.dir, rec->id.pid, rec->id.start});
  return ops;
}

std::vector<Op> dns_reload_ops(const LabPlan& plan, const LabState& state) {
  std::vector<Op> ops;
  for (const PodPlan& p : plan.pods)
    if (p.ns == "kube-system" && p.labels.contains("k8s-app"))
      if (const ProcessRecord* rec = state.find(p.key(), "dnsmasq"))
        ops.emplace_back(ProcessSignal{rec->id.pid, rec->id.start, SIGHUP, fmt::format("dnsmasq of {}: read the hosts file again", p.name)});
  return ops;
}

}  // namespace knlab
