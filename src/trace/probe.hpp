// `kn-lab trace --probe`: the real packet, sent from inside the source namespace (a TCP connect
// and an HTTP request, a UDP datagram, an ICMP echo), and the kernel evidence of its path: rule
// and link counters before and after, and conntrack's record of which backend a DNAT chose.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "net/nft_trace.hpp"
#include "trace/kernel.hpp"
#include "trace/packet.hpp"
#include "trace/render.hpp"
#include "trace/trace.hpp"

namespace knlab::trace {

struct ProbeResult {
  bool answered = false;  // connected (TCP), a datagram came back (UDP), an echo reply (ICMP)
  bool refused = false;   // RST or ICMP unreachable
  Ipv4 src;               // the socket's source address and port, as the kernel chose them
  std::uint16_t sport = 0;
  std::string reply;      // the answer: an HTTP status line and body, the datagram
  std::string error;      // "timed out after 2000 ms", "connection refused"
  int ms = 0;
};

// An HTTP/1.0 GET of `target` ("/hostname", "/api?x=1") with a Host header.
std::string http_request(const std::string& host, const std::string& target);

// Sends `p` (dst, dport, proto) from a socket made in namespace `netns`; over TCP, `request`
// once connected (none when empty), and reads the answer.
Result<ProbeResult> send_probe(const std::string& netns, const Packet& p, int timeout_ms, const std::string& request);

// The hostname in an answer of kn-netexec's /hostname (HTTP body or UDP datagram).
std::string answer_hostname(const std::string& reply);

// kube-proxy's nftables rules the probe's packets met, per namespace traced: (chain, handle),
// from nftables' own tracing (net/nft_trace), since those rules have no counters.
using NftMet = std::map<std::string, std::set<std::pair<std::string, std::uint64_t>>>;

// The flows to trace with nftables' tracing: per namespace, the packets the prediction's
// kube-proxy nftables hops meet (their destination, protocol and port).
std::map<std::string, std::vector<NftTraceFlow>> nft_trace_flows(const TraceResult& predicted);

// The rules of table kube-proxy in `events`, for NftMet.
std::set<std::pair<std::string, std::uint64_t>> nft_rules_met(const std::vector<NftTraceEvent>& events);

// Marks each hop seen or not seen from the counters of `before` and `after` (two reads of the
// kernel around the probe), and kube-proxy's nftables rules from what nftables' tracing saw.
void mark_seen(TraceResult& r, Kernel& before, Kernel& after, const NftMet& nft = {});

// The branch whose rule counters moved between `before` and `after`: which backend the kernel
// chose when conntrack kept no entry (a connection refused further on is never confirmed).
std::optional<Ipv4> counted_branch(Kernel& before, Kernel& after, const std::string& netns, const std::vector<NfBranch>& branches);

// The backend conntrack in `netns` shows for the flow a hop met (its DNAT), if any.
Result<std::optional<Ipv4>> conntrack_backend(Kernel& k, const std::string& netns, const Packet& at_hop);

}  // namespace knlab::trace
