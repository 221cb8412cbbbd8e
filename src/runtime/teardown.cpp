#include "runtime/teardown.hpp"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "net/link.hpp"
#include "net/netlink.hpp"
#include "net/netns.hpp"
#include "plan/naming.hpp"

namespace knlab {

TeardownCount remove_namespaces(const std::vector<std::string>& namespaces, const TeardownOptions& options) {
  TeardownCount count;
  std::vector<NsId> ids;
  for (const std::string& ns : namespaces)
    if (auto id = netns_id(ns)) ids.push_back(*id);
  std::vector<pid_t> pids = processes_in_netns(ids);
  for (const ProcessId& p : options.recorded)
    if (process_alive(p) && std::find(pids.begin(), pids.end(), p.pid) == pids.end()) pids.push_back(p.pid);
  count.processes = terminate_processes(pids, 300);
  NetlinkSession session;
  for (const std::string& ns : namespaces) {
    if (options.free_veth_names)
      if (auto ctx = session.context(ns); ctx) (void)link_delete(**ctx, "eth0");  // absent: fine
    session.forget(ns);
    if (auto st = netns_delete(ns); st) ++count.namespaces;
    else spdlog::warn("{}", st.error().format());
    std::error_code ec;
    auto removed = std::filesystem::remove_all(fmt::format("{}/{}", kEtcNetnsDir, ns), ec);
    if (removed != static_cast<std::uintmax_t>(-1)) count.files += static_cast<std::size_t>(removed);
  }
  return count;
}

}  // namespace knlab
