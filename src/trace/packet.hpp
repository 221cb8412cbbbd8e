// The packet `kn-lab trace` follows: addresses, protocol, ports, the firewall mark and the
// conntrack state it would have in the namespace it is in.
#pragma once

#include <cstdint>
#include <string>

#include "core/ip.hpp"

namespace knlab::trace {

enum class Proto : std::uint8_t { kTcp = 6, kUdp = 17, kIcmp = 1 };
std::string_view proto_name(Proto p);  // "tcp", "udp", "icmp"

// NEW: the first packet of a connection (what nat chains see); ESTABLISHED: a reply, or any
// later packet of a flow conntrack knows.
enum class CtState : std::uint8_t { kNew, kEstablished };

struct Packet {
  Ipv4 src;            // 0.0.0.0 until the first route lookup picks the source
  Ipv4 dst;
  Proto proto = Proto::kTcp;
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;  // 0 for ICMP
  std::uint32_t mark = 0;
  CtState ct = CtState::kNew;
  // The IP packet's size in bytes with Don't Fragment set (--size), checked against each link's
  // MTU; 0: a small packet, not checked.
  std::uint16_t size = 0;
};

// "10.244.1.2:40000 -> 10.96.0.10:53 udp", "10.244.1.2 -> 10.244.2.3 icmp"
std::string describe(const Packet& p);

}  // namespace knlab::trace
