// Op: one side effect of building a lab, as plain data.
//
// The planner turns a lab into a list of Ops (pure, unit-tested); an Executor carries them out
// (net/executor.hpp). Every Op can be shown as the equivalent command a learner could type
// (`ip -n kn-demo.node1 link add cni0 type bridge`), which is what `kn-lab up -v` prints and what
// the recording executor in the tests compares. The rendering is for people: kn-lab itself never
// runs these commands.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/ip.hpp"
#include "ops/ipset.hpp"
#include "ops/iptables_rule.hpp"

namespace knlab {

struct NetnsAdd {
  std::string name;
};
struct SysctlSet {
  std::string netns;
  std::string key;  // dotted, as sysctl(8) writes it: net.ipv4.ip_forward
  std::string value;
  bool required = true;  // false: a missing key (module not loaded) is a warning, not an error
};
struct LinkUp {
  std::string netns;
  std::string ifname;
};
struct BridgeAdd {
  std::string netns;
  std::string name;
  unsigned mtu = 1500;
};
// A veth pair in one request: `name` in `netns` enslaved to `master` and up, its peer created
// directly inside `peer_netns` as `peer_name` (down: the pod side sets it up).
struct VethAdd {
  std::string netns;
  std::string name;
  std::string master;
  std::string peer_netns;
  std::string peer_name;
  unsigned mtu = 1500;
};
struct BridgePortSet {
  std::string netns;
  std::string ifname;
  bool hairpin = true;
};
struct AddrAdd {
  std::string netns;
  std::string ifname;
  Cidr address;  // with host bits: 10.244.0.1/24
};
struct RouteAdd {
  std::string netns;
  Cidr dst;                  // 0.0.0.0/0 for the default route
  std::optional<Ipv4> via;   // gateway
  std::string dev;           // output interface, empty to let the kernel pick
  bool onlink = false;
};
// A VXLAN device (Flannel's flannel.1), down: LinkUp brings it up once it has its address.
struct VxlanAdd {
  std::string netns;
  std::string name;
  unsigned vni = 1;
  Ipv4 local;
  std::string dev;
  unsigned port = 8472;
  unsigned mtu = 1450;
  std::string mac;
};
// A permanent neighbour entry (remote VTEP's address -> its MAC).
struct NeighAdd {
  std::string netns;
  std::string dev;
  Ipv4 ip;
  std::string mac;
};
// A permanent FDB entry of a VXLAN device (remote VTEP's MAC -> the remote node's IP).
struct FdbAdd {
  std::string netns;
  std::string dev;
  std::string mac;
  Ipv4 dst;
};
// A host file the lab owns (for example /etc/netns/<ns>/hosts). Parent directories are made.
struct FileWrite {
  std::string path;
  std::string content;
};
// The pod's pause process: holds the pod's network namespace (joined), and new UTS and IPC
// namespaces with the pod name as hostname.
struct PauseStart {
  std::string netns;
  std::string pod;
  std::string hostname;
};
// A container: a host program run inside the pod's namespaces (those of its pause process),
// daemonised, stdout and stderr appended to `log_path`.
struct ContainerStart {
  std::string netns;
  std::string pod;
  std::string container;
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
  std::string log_path;
  bool privileged = false;  // else the container gets Docker's default capabilities only
};

// A daemon of a node (or of the router): a real program from Debian (bird) run in the namespace,
// daemonised, its output appended to `log_path`.
struct DaemonStart {
  std::string netns;
  std::string owner;  // node name or "router"
  std::string name;   // "bird"
  std::vector<std::string> argv;
  std::string log_path;
};
// Waits until a BIRD speaker has every BGP session Established and the `expect`ed subnets in
// its kernel routing table (protocol bird). Changes nothing; fails after a timeout.
struct BgpWait {
  std::string netns;
  std::string owner;
  std::string ctl;  // BIRD's control socket
  std::string log_path;  // quoted in the error when the wait fails
  std::vector<Cidr> expect;
  unsigned timeout_ms = 15000;
};

// kube-proxy's part of one iptables table in a node, replaced as a whole in one commit. The
// table is shared: nodes whose rules are the same (no Service with externalTrafficPolicy Local,
// no NetworkPolicy) hold one copy, built and compared once.
struct IptablesApply {
  std::string netns;
  std::shared_ptr<const IptTable> table;
  IptablesApply(std::string ns, std::shared_ptr<const IptTable> t) : netns(std::move(ns)), table(std::move(t)) {}
  IptablesApply(std::string ns, IptTable t) : netns(std::move(ns)), table(std::make_shared<const IptTable>(std::move(t))) {}
};

// kube-proxy's nftables table of one node (proxy_mode = "nftables"), in one transaction, as
// `nft -f` reads it: the whole table replaced (`up`, repair) or only what changed (live changes).
// The script is shared: nodes whose tables differ only in their own address hold one copy, and
// each adds its address after it (`node_part`).
struct NftApply {
  std::string netns;
  std::shared_ptr<const std::string> script;  // render_nft_replace (up) or render_nft_delta (a live change)
  std::string node_part;                      // this node's own commands, after the script
  NftApply(std::string ns, std::string s) : netns(std::move(ns)), script(std::make_shared<const std::string>(std::move(s))) {}
  NftApply(std::string ns, std::shared_ptr<const std::string> s, std::string node = {})
      : netns(std::move(ns)), script(std::move(s)), node_part(std::move(node)) {}
  std::string text() const { return *script + node_part; }  // the whole transaction
};

// The NetworkPolicy ipsets of a node (kube-router's KUBE-SRC-*/KUBE-DST-*), made exactly these,
// member by member; with `prune`, kn-lab's sets not listed are destroyed (after the rules that
// named them are gone). Before the filter table that names them, and pruned after it.
struct IpsetApply {
  std::string netns;
  std::vector<IpSet> sets;
  bool prune = false;
};

// What a live change does after its new pods and rules are in place (never undone: by then the
// record already says where the lab is going, and the next `up` finishes what a crash left).

// A file that running processes read, rewritten: in place (same inode: pods see their hosts and
// resolv.conf through bind mounts) or, for nginx, atomically (a new file renamed over it).
struct FileReplace {
  std::string path;
  std::string content;
  bool in_place = false;
};
// nginx's graceful reload: SIGHUP to the master, then wait for a worker on the new configuration
// and for the old ones to go (nginx -s reload, and the wait ingress-nginx does).
struct NginxReload {
  std::string netns;
  std::string dir;  // the data plane's prefix: conf, logs/error.log
  int master_pid = 0;
  unsigned long long master_start = 0;  // with the pid: never a recycled pid
};
// A signal to a running daemon (dnsmasq reads its hosts file again on SIGHUP).
struct ProcessSignal {
  int pid = 0;
  unsigned long long start = 0;
  int signal = 1;
  std::string what;  // "dnsmasq of kube-dns-...": for the display
};
// An address that goes (a LoadBalancer's EXTERNAL-IP once its Service is of another type).
struct AddrDel {
  std::string netns;
  std::string ifname;
  Cidr address;
};
// Pods (or the lab's own namespaces) that go, together: their processes stopped (one /proc scan
// for all), each eth0 deleted (the node's end of the veth goes with it at once), each namespace
// deleted, its files under /etc/netns removed.
struct NetnsRemove {
  std::vector<std::string> netns;
};
// A directory of the lab's own state that is no longer wanted (a removed data plane's).
struct PathRemove {
  std::string path;
};

using Op = std::variant<NetnsAdd, SysctlSet, LinkUp, BridgeAdd, VethAdd, BridgePortSet, AddrAdd,
                        RouteAdd, VxlanAdd, NeighAdd, FdbAdd, FileWrite, PauseStart, ContainerStart,
                        DaemonStart, BgpWait, IptablesApply, NftApply, IpsetApply, FileReplace, NginxReload, ProcessSignal,
                        AddrDel, NetnsRemove, PathRemove>;

// The equivalent command, as argv (never a shell string).
std::vector<std::string> op_argv(const Op& op);
// The argv joined for display, with shell quoting where an argument needs it.
std::string op_display(const Op& op);
// Quotes one argument for display in a POSIX shell ('...' when needed).
std::string shell_quote(const std::string& arg);

}  // namespace knlab
