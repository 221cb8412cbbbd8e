#include "ops/op.hpp"

#include <fmt/core.h>

#include <algorithm>

namespace knlab {

namespace {

using Argv = std::vector<std::string>;

Argv ip_in(const std::string& netns, std::initializer_list<std::string> rest) {
  Argv a{"ip"};
  if (!netns.empty()) {
    a.emplace_back("-n");
    a.push_back(netns);
  }
  a.insert(a.end(), rest);
  return a;
}

struct Render {
  Argv operator()(const NetnsAdd& o) const { return {"ip", "netns", "add", o.name}; }
  Argv operator()(const SysctlSet& o) const {
    return {"ip", "netns", "exec", o.netns, "sysctl", "-qw", fmt::format("{}={}", o.key, o.value)};
  }
  Argv operator()(const LinkUp& o) const { return ip_in(o.netns, {"link", "set", o.ifname, "up"}); }
  Argv operator()(const BridgeAdd& o) const {
    return ip_in(o.netns, {"link", "add", o.name, "mtu", std::to_string(o.mtu), "type", "bridge"});
  }
  Argv operator()(const VethAdd& o) const {
    return ip_in(o.netns, {"link", "add", o.name, "mtu", std::to_string(o.mtu), "master", o.master,
                           "up", "type", "veth", "peer", "name", o.peer_name, "netns",
                           o.peer_netns, "mtu", std::to_string(o.mtu)});
  }
  Argv operator()(const BridgePortSet& o) const {
    return {"bridge", "-n", o.netns, "link", "set", "dev", o.ifname, "hairpin",
            o.hairpin ? "on" : "off"};
  }
  Argv operator()(const AddrAdd& o) const {
    return ip_in(o.netns, {"addr", "add", o.address.str(), "dev", o.ifname});
  }
  Argv operator()(const RouteAdd& o) const {
    Argv a = ip_in(o.netns, {"route", "add", o.dst.prefix == 0 ? "default" : o.dst.str()});
    if (o.via) a.insert(a.end(), {"via", o.via->str()});
    if (!o.dev.empty()) a.insert(a.end(), {"dev", o.dev});
    if (o.onlink) a.emplace_back("onlink");
    return a;
  }
  Argv operator()(const VxlanAdd& o) const {
    return ip_in(o.netns, {"link", "add", o.name, "address", o.mac, "mtu", std::to_string(o.mtu), "type",
                           "vxlan", "id", std::to_string(o.vni), "local", o.local.str(), "dev", o.dev,
                           "dstport", std::to_string(o.port), "nolearning"});
  }
  Argv operator()(const NeighAdd& o) const {
    return ip_in(o.netns, {"neigh", "add", o.ip.str(), "lladdr", o.mac, "dev", o.dev, "nud", "permanent"});
  }
  Argv operator()(const FdbAdd& o) const {
    return {"bridge", "-n", o.netns, "fdb", "append", o.mac, "dev", o.dev, "dst", o.dst.str(), "self", "permanent"};
  }
  Argv operator()(const FileWrite& o) const { return {"install", "-D", "-m", "0644", "/dev/stdin", o.path}; }
  Argv operator()(const PauseStart& o) const {
    return {"ip", "netns", "exec", o.netns, "unshare", "--uts", "--ipc", "sh", "-c",
            fmt::format("hostname {} && exec kn-pause", o.hostname)};
  }
  Argv operator()(const DaemonStart& o) const {
    Argv a{"ip", "netns", "exec", o.netns};
    a.insert(a.end(), o.argv.begin(), o.argv.end());
    return a;
  }
  Argv operator()(const BgpWait& o) const {
    return {"ip", "netns", "exec", o.netns, "birdc", "-s", o.ctl, "show", "protocols"};
  }
  Argv operator()(const IptablesApply& o) const {
    return {"ip", "netns", "exec", o.netns, "iptables-legacy-restore", "--noflush"};
  }
  Argv operator()(const NftApply& o) const { return {"ip", "netns", "exec", o.netns, "nft", "-f", "-"}; }
  Argv operator()(const IpsetApply& o) const {
    return {"ip", "netns", "exec", o.netns, "ipset", "restore", "-exist"};
  }
  Argv operator()(const FileReplace& o) const {
    if (o.in_place) return {"cp", "/dev/stdin", o.path};  // same inode
    return {"install", "-m", "0644", "/dev/stdin", o.path};  // a new file renamed over the old one
  }
  Argv operator()(const NginxReload& o) const { return {"ip", "netns", "exec", o.netns, "nginx", "-s", "reload", "-p", o.dir + "/"}; }
  Argv operator()(const ProcessSignal& o) const {
    return {"kill", fmt::format("-{}", o.signal == 1 ? "HUP" : std::to_string(o.signal)), std::to_string(o.pid)};
  }
  Argv operator()(const AddrDel& o) const { return ip_in(o.netns, {"addr", "del", o.address.str(), "dev", o.ifname}); }
  Argv operator()(const NetnsRemove& o) const {
    Argv a{"ip", "netns", "del"};  // one per namespace: op_display writes them out
    a.insert(a.end(), o.netns.begin(), o.netns.end());
    return a;
  }
  Argv operator()(const PathRemove& o) const { return {"rm", "-rf", o.path}; }
  Argv operator()(const ContainerStart& o) const {
    // nsenter joins the pause's UTS and IPC namespaces; `ip netns exec` joins the network
    // namespace and binds /etc/netns/<ns>/{hosts,resolv.conf} over /etc, as kn-lab does.
    Argv a{"nsenter", fmt::format("--target=$(pause pid of {})", o.pod), "--uts", "--ipc", "ip", "netns", "exec", o.netns};
    if (!o.env.empty()) {
      a.emplace_back("env");
      for (auto& [k, v] : o.env) a.push_back(fmt::format("{}={}", k, v));
    }
    a.insert(a.end(), o.argv.begin(), o.argv.end());
    return a;
  }
};

}  // namespace

std::vector<std::string> op_argv(const Op& op) { return std::visit(Render{}, op); }

std::string shell_quote(const std::string& arg) {
  bool plain = !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("-_./=:,+@%").find(c) != std::string_view::npos;
  });
  if (plain) return arg;
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string op_display(const Op& op) {
  std::string out;
  for (const auto& a : op_argv(op)) {
    if (!out.empty()) out += ' ';
    // The pause-pid placeholder is meant to be read, not quoted.
    out += a.starts_with("--target=$(") ? a : shell_quote(a);
  }
  auto heredoc = [&](const std::string& content) {
    out += " <<'EOF'\n" + content;
    if (!content.ends_with('\n')) out += '\n';
    out += "EOF";
  };
  if (auto* f = std::get_if<FileWrite>(&op)) heredoc(f->content);
  if (auto* f = std::get_if<FileReplace>(&op)) heredoc(f->content);
  if (auto* r = std::get_if<NginxReload>(&op))
    out += fmt::format("   # SIGHUP to the master (pid {}), then until a worker runs the new configuration", r->master_pid);
  if (auto* k = std::get_if<ProcessSignal>(&op)) out += "   # " + k->what;
  if (auto* n = std::get_if<NetnsRemove>(&op)) {
    out.clear();
    for (const std::string& ns : n->netns)
      out += fmt::format("{0}ip netns pids {1} | xargs -r kill; ip -n {1} link del eth0; ip netns del {1}; rm -rf /etc/netns/{1}",
                         out.empty() ? "" : "\n", shell_quote(ns));
  }
  if (auto* c = std::get_if<ContainerStart>(&op)) out += fmt::format(" >>{} 2>&1 &", c->log_path);
  if (std::holds_alternative<PauseStart>(op)) out += " &";
  if (auto* t = std::get_if<IptablesApply>(&op)) out += " <<'EOF'\n" + render_iptables_save(*t->table) + "EOF";
  if (auto* n = std::get_if<NftApply>(&op)) out += " <<'EOF'\n" + n->text() + "EOF";
  if (auto* s = std::get_if<IpsetApply>(&op))
    out += fmt::format("{} <<'EOF'\n{}EOF", s->prune ? "   # and destroy kn-lab's other sets" : "", render_ipset_save(s->sets));
  if (auto* d = std::get_if<DaemonStart>(&op)) out += fmt::format(" >>{} 2>&1 &", d->log_path);
  if (auto* w = std::get_if<BgpWait>(&op)) {
    out += "   # until every session is Established and routes to";
    for (auto& c : w->expect) out += " " + c.str();
    out += " are in the kernel";
  }
  return out;
}

}  // namespace knlab
