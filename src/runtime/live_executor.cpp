#include "runtime/live_executor.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <cstring>
#include <chrono>
#include <fstream>

#include "net/address.hpp"
#include "net/child_jobs.hpp"
#include "net/ipset.hpp"
#include "net/nftables.hpp"
#include "net/iptables.hpp"
#include "net/link.hpp"
#include "net/neighbour.hpp"
#include "net/vxlan.hpp"
#include "net/netns.hpp"
#include "net/route.hpp"
#include "net/sysctl.hpp"
#include "runtime/bird_client.hpp"
#include "runtime/files.hpp"
#include "runtime/host_dirs.hpp"
#include "runtime/nginx_control.hpp"
#include "runtime/teardown.hpp"

namespace knlab {


struct LiveExecutor::Visitor {
  LiveExecutor& self;

  Result<Outcome> operator()(const FileReplace& o) {
    KN_TRY(o.in_place ? write_file(o.path, o.content) : replace_files({{o.path, o.content}}));
    return Outcome{};
  }
  Result<Outcome> operator()(const NginxReload& o) {
    KN_TRY(reload_nginx(ProcessId{o.master_pid, o.master_start}, o.dir + "/logs/error.log"));
    return Outcome{};
  }
  Result<Outcome> operator()(const ProcessSignal& o) {
    if (process_alive(ProcessId{o.pid, o.start}) && ::kill(o.pid, o.signal) != 0)
      return fail(sys_error("signal", o.what, errno));
    return Outcome{};
  }
  Result<Outcome> operator()(const NetnsRemove& o) {
    for (const std::string& ns : o.netns) self.session_.forget(ns);
    remove_namespaces(o.netns, {.recorded = {}, .free_veth_names = true});
    return Outcome{};
  }
  Result<Outcome> operator()(const PathRemove& o) {
    std::error_code ec;
    std::filesystem::remove_all(o.path, ec);
    if (ec) return fail(sys_error("remove", o.path, ec.value()));
    return Outcome{};
  }

  Result<NsContext*> ctx(const std::string& ns) { return self.session_.context(ns); }

  Result<Outcome> operator()(const NetnsAdd& o) {
    KN_TRY(netns_add(o.name));
    return Outcome{};
  }
  Result<Outcome> operator()(const SysctlSet& o) {
    NsContext* c = KN_TRY(ctx(o.netns));
    auto st = sysctl_set(c->ns, o.key, o.value);
    if (!st && !o.required && st.error().err == ENOENT) {
      self.warnings_.push_back(fmt::format(
          "{} does not exist in {}: the br_netfilter module is not loaded, so bridged pod traffic "
          "bypasses iptables (fine for this lab; Service labs need `sudo modprobe br_netfilter`)",
          o.key, o.netns));
      return Outcome{};
    }
    if (!st) return fail(st.error());
    return Outcome{};
  }
  Result<Outcome> operator()(const LinkUp& o) {
    KN_TRY(link_set_up(*KN_TRY(ctx(o.netns)), o.ifname));
    return Outcome{};
  }
  Result<Outcome> operator()(const BridgeAdd& o) {
    KN_TRY(bridge_add(*KN_TRY(ctx(o.netns)), o.name, o.mtu));
    return Outcome{};
  }
  Result<Outcome> operator()(const VethAdd& o) {
    NsContext* here = KN_TRY(ctx(o.netns));
    NsContext* peer = KN_TRY(ctx(o.peer_netns));
    KN_TRY(veth_add(*here, o.name, o.master, peer->ns, o.peer_name, o.mtu));
    return Outcome{};
  }
  Result<Outcome> operator()(const BridgePortSet& o) {
    KN_TRY(bridge_port_set_hairpin(*KN_TRY(ctx(o.netns)), o.ifname, o.hairpin));
    return Outcome{};
  }
  Result<Outcome> operator()(const AddrAdd& o) {
    KN_TRY(addr_add(*KN_TRY(ctx(o.netns)), o.ifname, o.address));
    return Outcome{};
  }
  Result<Outcome> operator()(const AddrDel& o) {
    KN_TRY(addr_delete(*KN_TRY(ctx(o.netns)), o.ifname, o.address));
    return Outcome{};
  }
  Result<Outcome> operator()(const RouteAdd& o) {
    KN_TRY(route_add(*KN_TRY(ctx(o.netns)), o.dst, o.via, o.dev, o.onlink));
    return Outcome{};
  }
  Result<Outcome> operator()(const VxlanAdd& o) {
    KN_TRY(vxlan_add(*KN_TRY(ctx(o.netns)), VxlanConfig{o.name, o.vni, o.local, o.dev, o.port, o.mtu, o.mac, false}));
    return Outcome{};
  }
  Result<Outcome> operator()(const NeighAdd& o) {
    KN_TRY(neigh_add(*KN_TRY(ctx(o.netns)), o.dev, o.ip, o.mac));
    return Outcome{};
  }
  Result<Outcome> operator()(const FdbAdd& o) {
    KN_TRY(fdb_add(*KN_TRY(ctx(o.netns)), o.dev, o.mac, o.dst));
    return Outcome{};
  }
  Result<Outcome> operator()(const FileWrite& o) {
    KN_TRY(write_file(o.path, o.content));
    return Outcome{};
  }
  Result<Outcome> operator()(const PauseStart& o) {
    NsContext* c = KN_TRY(ctx(o.netns));
    ProcessId p = KN_TRY(spawn_pause(self.pause_path_, c->ns, o.hostname));
    self.pauses_[o.pod] = p;
    return Outcome{p.pid, p.start};
  }
  Result<Outcome> operator()(const DaemonStart& o) {
    NsContext* c = KN_TRY(ctx(o.netns));
    ProcessId p = KN_TRY(spawn_daemon(c->ns, o.argv, o.log_path));
    self.daemons_[o.owner] = p;
    return Outcome{p.pid, p.start};
  }
  Result<Outcome> operator()(const BgpWait& o) {
    NsContext* c = KN_TRY(ctx(o.netns));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.timeout_ms);
    std::string last = "BIRD did not answer";
    for (;;) {
      // Sessions first (BIRD's view), then the kernel's table: the routes are what matters.
      if (auto protocols = bird_protocols(o.ctl)) {
        std::string pending;
        for (auto& p : *protocols)
          if (p.proto == "BGP" && p.info != "Established") pending += fmt::format(" {} ({} {})", p.name, p.state, p.info);
        if (pending.empty()) {
          auto routes = KN_TRY(routes_by_protocol(*c, 12 /* RTPROT_BIRD */));
          std::string missing;
          for (auto& want : o.expect)
            if (std::find(routes.begin(), routes.end(), want) == routes.end()) missing += " " + want.str();
          if (missing.empty()) return Outcome{};
          last = "routes not yet in the kernel:" + missing;
        } else {
          last = "BGP sessions not established:" + pending;
        }
      } else {
        const Error& err = protocols.error();
        last = fmt::format("{} {}: {}", err.op, err.object, err.err ? std::strerror(err.err) : err.detail.c_str());
      }
      auto daemon = self.daemons_.find(o.owner);
      bool died = daemon != self.daemons_.end() && !process_alive(daemon->second);
      if (died) last = "BIRD exited";
      if (died || std::chrono::steady_clock::now() > deadline) {
        std::ifstream log(o.log_path);
        std::string tail, line;
        std::vector<std::string> lines;
        while (std::getline(log, line)) lines.push_back(line);
        for (std::size_t i = lines.size() > 8 ? lines.size() - 8 : 0; i < lines.size(); ++i) tail += "\n    | " + lines[i];
        Error e = state_error(fmt::format("wait for BGP on {}", o.owner),
                              fmt::format("{}{}{}", last, died ? "" : fmt::format(" after {} ms", o.timeout_ms), tail.empty() ? "" : "; BIRD's log ends:" + tail),
                              "the lab was taken down again; `kn-lab up -v` shows each step");
        e.netns = o.netns;
        return fail(std::move(e));
      }
      ::usleep(50 * 1000);
    }
  }
  Result<Outcome> operator()(const IptablesApply& o) {
    NsContext* c = KN_TRY(ctx(o.netns));
    KN_TRY(iptables_apply(c->ns, *o.table));
    return Outcome{};
  }
  Result<Outcome> operator()(const NftApply& o) {
    NsContext* c = KN_TRY(ctx(o.netns));
    KN_TRY(nft_apply(c->ns, o.text()));
    return Outcome{};
  }
  Result<Outcome> operator()(const IpsetApply& o) {
    NsContext* c = KN_TRY(ctx(o.netns));
    KN_TRY(ipset_apply(c->ns, o.sets, o.prune));
    return Outcome{};
  }
  Result<Outcome> operator()(const ContainerStart& o) {
    auto it = self.pauses_.find(o.pod);
    if (it == self.pauses_.end())
      return fail(state_error("start container", fmt::format("pod {} has no pause process", o.pod)));
    PodContext pod{it->second.pid, fmt::format("/etc/netns/{}", o.netns), o.privileged};
    ProcessId p = KN_TRY(spawn_container(pod, o.argv, o.env, o.log_path));
    return Outcome{p.pid, p.start};
  }
};

namespace {
// The host directory an op needs (runtime/host_dirs), or nullptr.
const char* host_dir_needed(const Op& op) {
  if (std::holds_alternative<NetnsAdd>(op)) return "/run/netns";
  if (auto* f = std::get_if<FileWrite>(&op); f && f->path.starts_with("/etc/netns/")) return "/etc/netns";
  if (std::holds_alternative<DaemonStart>(op)) return "/run/bird";
  return nullptr;
}
}  // namespace

Result<Outcome> LiveExecutor::run(const Op& op) {
  if (const char* dir = host_dir_needed(op); dir && dirs_ready_.insert(dir).second) {
    if (auto st = host_dir_prepare(dir); !st) {
      dirs_ready_.erase(dir);
      return fail(st.error());
    }
  }
  return std::visit(Visitor{*this}, op);
}

std::vector<Result<Outcome>> LiveExecutor::run_batch(const std::vector<const Op*>& ops) {
  // The namespaces are opened here (the session is this thread's); the tables are written
  // several nodes at once (net/child_jobs): nftables messages compiled beforehand in threads,
  // iptables commits (libiptc's global state) and libnftables in child processes.
  std::vector<ChildJob> jobs;
  std::vector<const std::string*> scripts;
  NftJobs nft_jobs(nft_sockets_);
  bool iptables = false;
  for (const Op* op : ops) {
    auto* nft = std::get_if<NftApply>(op);
    auto* ipt = std::get_if<IptablesApply>(op);
    auto c = nft ? session_.context(nft->netns) : ipt ? session_.context(ipt->netns) : Result<NsContext*>(nullptr);
    if (!c || !*c) return Executor::run_batch(ops);  // reported op by op
    const NetnsRef& ns = (*c)->ns;
    if (nft) {
      scripts.push_back(nft->script.get());
      jobs.push_back(nft_jobs.add(ns, *nft->script, nft->node_part));
    } else {
      iptables = true;
      jobs.push_back(ChildJob{&ns, [&ns, ipt] { return iptables_apply(ns, *ipt->table); }});
    }
  }
  std::vector<Result<Outcome>> out;
  std::vector<Status> done = !iptables && nft_jobs.threadable() ? run_in_threads(jobs, nft_at_once(scripts))
                                                                : run_in_children(jobs, iptables ? cpu_count() : nft_at_once(scripts));
  for (Status& st : done)
    out.push_back(st ? Result<Outcome>(Outcome{}) : Result<Outcome>(std::unexpected(st.error())));
  return out;
}

Status LiveExecutor::undo(const Op& op, const Outcome& outcome) {
  if (auto* n = std::get_if<NetnsAdd>(&op)) {
    session_.forget(n->name);
    return netns_delete(n->name);
  }
  if (auto* f = std::get_if<FileWrite>(&op)) {
    if (::unlink(f->path.c_str()) != 0 && errno != ENOENT) return fail(sys_error("remove file", f->path, errno));
    ::rmdir(f->path.substr(0, f->path.rfind('/')).c_str());  // only succeeds once empty
    return {};
  }
  if (outcome.pid > 0 && process_alive(ProcessId{outcome.pid, outcome.start}))
    terminate_processes({outcome.pid}, 200);
  return {};
}

}  // namespace knlab
