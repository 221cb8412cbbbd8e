// IPv4 addresses and prefixes as plain values. Pure, no sockets: used by the loader (validation)
// and the planner (IPAM), and unit-tested without root.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace knlab {

struct Ipv4 {
  std::uint32_t value = 0;  // host byte order

  static std::optional<Ipv4> parse(std::string_view text);  // dotted quad only, no leading zeros
  std::string str() const;
  std::uint32_t network_order() const;
  auto operator<=>(const Ipv4&) const = default;
};

// An address with a prefix length, e.g. 10.244.1.0/24 or 10.244.1.1/24.
struct Cidr {
  Ipv4 addr;
  unsigned prefix = 32;

  // Accepts "a.b.c.d/n". With require_network, host bits must be zero (10.244.0.0/16 yes,
  // 10.244.0.1/16 no) as Kubernetes requires for CIDR fields.
  static std::optional<Cidr> parse(std::string_view text, bool require_network = true);

  std::uint32_t mask() const;
  Ipv4 network() const { return Ipv4{addr.value & mask()}; }
  Ipv4 broadcast() const { return Ipv4{network().value | ~mask()}; }
  std::uint64_t size() const { return std::uint64_t{1} << (32 - prefix); }
  bool contains(Ipv4 ip) const { return (ip.value & mask()) == network().value; }
  bool overlaps(const Cidr& other) const;
  // The n-th address of the network (0 is the network address itself).
  Ipv4 nth(std::uint32_t n) const { return Ipv4{network().value + n}; }
  // The index-th subnet of length new_prefix inside this one (new_prefix >= prefix).
  Cidr subnet(unsigned new_prefix, std::uint32_t index) const;
  std::string str() const;  // "10.244.1.0/24"
  auto operator<=>(const Cidr&) const = default;
};

}  // namespace knlab
