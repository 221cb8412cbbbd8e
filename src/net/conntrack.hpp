// The connection tracking table of a namespace, through libnetfilter-conntrack (what the
// conntrack command uses), for `kn-lab trace`: which flows exist, and which backend a DNAT
// chose. Read-only.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ip.hpp"
#include "net/netns.hpp"

namespace knlab {

struct CtTuple {
  Ipv4 src;
  Ipv4 dst;
  std::uint8_t proto = 0;    // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, ...
  std::uint16_t sport = 0;   // host order; ICMP: the echo id
  std::uint16_t dport = 0;   // host order; ICMP: 0
};

struct CtEntry {
  CtTuple orig;              // as the first packet was
  CtTuple reply;             // as the reply is expected: reply.src is the DNAT's choice
  std::string tcp_state;     // "ESTABLISHED", "TIME_WAIT", ... (TCP only)
  std::uint32_t mark = 0;
  std::uint32_t timeout = 0; // seconds left
  std::uint32_t id = 0;
  bool assured = false;
  // ICMP's echo id is in sport of both tuples (not swapped like ports): addresses only.
  bool dnat() const { return reply.src != orig.dst || (!icmp() && reply.sport != orig.dport); }
  bool snat() const { return reply.dst != orig.src || (!icmp() && reply.dport != orig.sport); }
  bool icmp() const { return orig.proto == IPPROTO_ICMP; }
};

// Every entry of namespace `ns` (IPv4). Empty when conntrack was never loaded there.
Result<std::vector<CtEntry>> conntrack_list(const NetnsRef& ns);

}  // namespace knlab
