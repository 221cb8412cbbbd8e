// nftables' own packet tracing, as `nft monitor trace` shows it: for the length of a probe, a
// table of kn-lab's in a lab namespace sets `meta nftrace` on the packets of one flow (before any
// other chain: priority -400 at prerouting and output), and the kernel reports every rule of
// every table those packets meet, with its handle and verdict, to a netlink group
// (NFNLGRP_NFTRACE) that kn-lab listens to in that namespace. This is the evidence for kube-proxy's
// nftables rules, which have no counters. The table goes when the watch ends (and with the
// namespace at `down` if kn-lab is killed first).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ip.hpp"
#include "net/netns.hpp"

struct mnl_socket;

namespace knlab {

// The flow to trace: packets to `dst` of protocol `proto` ("tcp", "udp", "icmp"), to `dport`
// (tcp and udp).
struct NftTraceFlow {
  Ipv4 dst;
  std::string proto;
  std::uint16_t dport = 0;
};

// One rule a traced packet met (NFT_TRACETYPE_RULE), or a chain it left by return or policy.
struct NftTraceEvent {
  std::string table, chain;
  std::uint64_t handle = 0;  // 0: the chain's return or policy
  std::uint32_t type = 0;    // NFT_TRACETYPE_RULE, _RETURN, _POLICY
};

class NftTraceWatch {
 public:
  // Starts tracing `flows` in `ns` (which must outlive the watch): the netlink subscription
  // first, then the table ("kn-lab-trace-<pid>", so that two traces do not meet).
  static Result<NftTraceWatch> start(const NetnsRef& ns, const std::vector<NftTraceFlow>& flows);
  NftTraceWatch(NftTraceWatch&&) noexcept;
  NftTraceWatch& operator=(NftTraceWatch&&) = delete;
  ~NftTraceWatch();

  // What the kernel reported since start (the probe has ended: every event is queued), and the
  // table removed.
  Result<std::vector<NftTraceEvent>> stop();
  const std::string& netns() const { return netns_; }

 private:
  NftTraceWatch(const NetnsRef& ns, mnl_socket* socket);
  Status remove_table();

  const NetnsRef* ns_;
  std::string netns_, table_;
  mnl_socket* socket_ = nullptr;
  bool table_added_ = false;
};

// The rules of kn-lab's trace table for `flows` (ops/nft's dialect; pure, for tests).
std::string nft_trace_script(const std::string& table, const std::vector<NftTraceFlow>& flows);

}  // namespace knlab
