// What `kn-lab trace` reads of the kernel: per namespace, loaded on first use and kept for the
// whole trace (a trace reads each namespace on its path once, and nothing else). Read-only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "net/conntrack.hpp"
#include "net/inspect.hpp"
#include "net/iptables_read.hpp"
#include "ops/ipset.hpp"
#include "trace/nft_eval.hpp"
#include "trace/packet.hpp"

namespace knlab::trace {

struct NsState {
  std::string netns;
  std::vector<LinkInfo> links;
  std::vector<AddrInfo> addresses;
  std::vector<NeighInfo> neighbours;
  std::vector<FdbInfo> fdb;
  bool bridge_nf = false;  // net.bridge.bridge-nf-call-iptables: bridged IPv4 crosses iptables

  const LinkInfo* link(int ifindex) const;
  const LinkInfo* link_named(const std::string& name) const;
  const LinkInfo* link_with_mac(const std::string& mac) const;
  std::vector<Ipv4> local_addresses() const;
  std::optional<Ipv4> address_on(int ifindex) const;  // the first IPv4 address of a link
  bool owns(Ipv4 ip) const;
  const NeighInfo* neighbour(int ifindex, Ipv4 ip) const;
};

// The namespaces of the kernel a trace may read, and how.
class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Result<const NsState*> ns(const std::string& netns) = 0;
  virtual Result<const IptReadTable*> table(const std::string& netns, const std::string& table) = 0;
  virtual Result<const std::vector<IpSet>*> ipsets(const std::string& netns) = 0;
  // kube-proxy's nftables table (proxy_mode = "nftables"); empty in iptables mode.
  virtual Result<const NftTableRead*> nft_table(const std::string& netns) {
    (void)netns;
    static const NftTableRead none;
    return &none;
  }
  virtual Result<RouteLookup> route(const std::string& netns, Ipv4 dst, Ipv4 src, int iif, std::uint32_t mark) = 0;
  // The namespace (of `namespaces()`) a veth peer of `netns` with this nsid is in.
  virtual Result<std::optional<std::string>> peer_netns(const std::string& netns, int nsid) = 0;
  virtual Result<std::vector<CtEntry>> conntrack(const std::string& netns) = 0;
  // Whether a socket of `netns` listens on (or, for UDP, is bound to) `port`.
  virtual Result<bool> listening(const std::string& netns, Proto proto, std::uint16_t port) = 0;
  virtual const std::vector<std::string>& namespaces() const = 0;
};

// The live kernel, through net/ (rtnetlink, libiptc, libipset, libnetfilter-conntrack):
// `namespaces` are the lab's (under /run/netns).
std::unique_ptr<Kernel> live_kernel(std::vector<std::string> namespaces);

// Whether `ip` is in set `s` as the kernel would match it (hash:ip, hash:net with nomatch).
bool ipset_contains(const IpSet& s, Ipv4 ip);

}  // namespace knlab::trace
