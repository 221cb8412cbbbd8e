#include "trace/kernel.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "net/ipset.hpp"
#include "net/netns.hpp"
#include "net/nftables.hpp"

namespace knlab::trace {

const LinkInfo* NsState::link(int ifindex) const {
  for (const LinkInfo& l : links)
    if (l.ifindex == ifindex) return &l;
  return nullptr;
}

const LinkInfo* NsState::link_named(const std::string& name) const {
  for (const LinkInfo& l : links)
    if (l.name == name) return &l;
  return nullptr;
}

const LinkInfo* NsState::link_with_mac(const std::string& mac) const {
  for (const LinkInfo& l : links)
    if (l.mac == mac) return &l;
  return nullptr;
}

std::vector<Ipv4> NsState::local_addresses() const {
  std::vector<Ipv4> out;
  for (const AddrInfo& a : addresses) out.push_back(a.cidr.addr);
  return out;
}

std::optional<Ipv4> NsState::address_on(int ifindex) const {
  for (const AddrInfo& a : addresses)
    if (a.ifindex == ifindex) return a.cidr.addr;
  return std::nullopt;
}

bool NsState::owns(Ipv4 ip) const {
  return std::any_of(addresses.begin(), addresses.end(), [&](const AddrInfo& a) { return a.cidr.addr == ip; });
}

const NeighInfo* NsState::neighbour(int ifindex, Ipv4 ip) const {
  for (const NeighInfo& n : neighbours)
    if (n.ifindex == ifindex && n.ip == ip && !n.mac.empty()) return &n;
  return nullptr;
}

bool ipset_contains(const IpSet& s, Ipv4 ip) {
  // hash:net: the most specific matching entry decides; a "nomatch" entry excludes.
  int best = -1;
  bool in = false;
  for (const std::string& e : s.entries) {
    bool nomatch = e.ends_with(" nomatch");
    std::string_view text = nomatch ? std::string_view(e).substr(0, e.size() - 8) : std::string_view(e);
    std::optional<Cidr> c = text.find('/') == std::string_view::npos
                                ? (Ipv4::parse(text) ? std::optional<Cidr>(Cidr{*Ipv4::parse(text), 32}) : std::nullopt)
                                : Cidr::parse(text, false);
    if (!c || !c->contains(ip) || static_cast<int>(c->prefix) <= best) continue;
    best = static_cast<int>(c->prefix);
    in = !nomatch;
  }
  return in;
}

namespace {

// A socket of /proc/thread-self/net/{tcp,udp} (read inside the namespace) bound to `port`;
// for TCP only listening sockets (state 0A).
bool proc_net_has(std::istream& in, bool tcp, std::uint16_t port) {
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string slot, local, remote, state;
    f >> slot >> local >> remote >> state;
    auto colon = local.find(':');
    if (colon == std::string::npos) continue;
    unsigned long p = std::strtoul(local.c_str() + colon + 1, nullptr, 16);
    if (p == port && (!tcp || state == "0A")) return true;
  }
  return false;
}

class LiveKernel final : public Kernel {
 public:
  explicit LiveKernel(std::vector<std::string> namespaces) : names_(std::move(namespaces)) {}

  Result<const NsState*> ns(const std::string& netns) override {
    if (auto it = states_.find(netns); it != states_.end()) return &it->second;
    NsContext* ctx = KN_TRY(session_.context(netns));
    NsState s;
    s.netns = netns;
    s.links = KN_TRY(links_read(*ctx));
    s.addresses = KN_TRY(addresses_read(*ctx));
    s.neighbours = KN_TRY(neighbours_read(*ctx));
    s.fdb = KN_TRY(fdb_read(*ctx));
    auto nf = KN_TRY(sysctl_read(ctx->ns, "net/bridge/bridge-nf-call-iptables"));
    s.bridge_nf = nf && nf->starts_with("1");
    return &states_.emplace(netns, std::move(s)).first->second;
  }

  Result<const IptReadTable*> table(const std::string& netns, const std::string& table) override {
    auto key = netns + " " + table;
    if (auto it = tables_.find(key); it != tables_.end()) return &it->second;
    NsContext* ctx = KN_TRY(session_.context(netns));
    IptReadTable t = KN_TRY(iptables_read(ctx->ns, table));
    return &tables_.emplace(key, std::move(t)).first->second;
  }

  Result<const NftTableRead*> nft_table(const std::string& netns) override {
    if (auto it = nft_.find(netns); it != nft_.end()) return &it->second;
    NsContext* ctx = KN_TRY(session_.context(netns));
    auto listing = KN_TRY(nft_listing(ctx->ns, "ip", "kube-proxy"));
    NftTableRead t = listing ? KN_TRY(parse_nft_table(listing->json, listing->text)) : NftTableRead{};
    return &nft_.emplace(netns, std::move(t)).first->second;
  }

  Result<const std::vector<IpSet>*> ipsets(const std::string& netns) override {
    if (auto it = sets_.find(netns); it != sets_.end()) return &it->second;
    NsContext* ctx = KN_TRY(session_.context(netns));
    std::vector<IpSet> s = KN_TRY(ipset_read(ctx->ns));
    return &sets_.emplace(netns, std::move(s)).first->second;
  }

  Result<RouteLookup> route(const std::string& netns, Ipv4 dst, Ipv4 src, int iif, std::uint32_t mark) override {
    NsContext* ctx = KN_TRY(session_.context(netns));
    return route_get(*ctx, dst, src, iif, mark);
  }

  Result<std::optional<std::string>> peer_netns(const std::string& netns, int nsid) override {
    auto it = nsids_.find(netns);
    if (it == nsids_.end()) {
      NsContext* ctx = KN_TRY(session_.context(netns));
      it = nsids_.emplace(netns, KN_TRY(nsids_read(*ctx, names_))).first;
    }
    if (auto p = it->second.find(nsid); p != it->second.end()) return std::optional<std::string>(p->second);
    return std::optional<std::string>();
  }

  Result<std::vector<CtEntry>> conntrack(const std::string& netns) override {
    NsContext* ctx = KN_TRY(session_.context(netns));
    return conntrack_list(ctx->ns);
  }

  Result<bool> listening(const std::string& netns, Proto proto, std::uint16_t port) override {
    NsContext* ctx = KN_TRY(session_.context(netns));
    auto inside = KN_TRY(ScopedNetns::enter(ctx->ns));
    bool tcp = proto == Proto::kTcp;
    for (const char* file : {tcp ? "tcp" : "udp", tcp ? "tcp6" : "udp6"}) {
      std::ifstream in(fmt::format("/proc/thread-self/net/{}", file));
      if (in && proc_net_has(in, tcp, port)) return true;
    }
    return false;
  }

  const std::vector<std::string>& namespaces() const override { return names_; }

 private:
  std::vector<std::string> names_;
  NetlinkSession session_;
  std::map<std::string, NsState> states_;
  std::map<std::string, IptReadTable> tables_;
  std::map<std::string, std::vector<IpSet>> sets_;
  std::map<std::string, NftTableRead> nft_;
  std::map<std::string, std::map<int, std::string>> nsids_;
};

}  // namespace

std::unique_ptr<Kernel> live_kernel(std::vector<std::string> namespaces) {
  return std::make_unique<LiveKernel>(std::move(namespaces));
}

}  // namespace knlab::trace
