#include "core/ip.hpp"

#include <arpa/inet.h>
#include <fmt/core.h>

#include <charconv>

namespace knlab {

std::optional<Ipv4> Ipv4::parse(std::string_view text) {
  std::uint32_t value = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
    unsigned part = 0;
    auto [next, ec] = std::from_chars(p, end, part);
    // Reject "", "256", "01" (leading zeros are octal to some parsers: ambiguous, so refused).
    if (ec != std::errc{} || part > 255 || (next - p > 1 && *p == '0')) return std::nullopt;
    p = next;
    value = (value << 8) | part;
  }
  if (p != end) return std::nullopt;
  return Ipv4{value};
}

std::string Ipv4::str() const {
  return fmt::format("{}.{}.{}.{}", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff,
                     value & 0xff);
}

std::uint32_t Ipv4::network_order() const { return htonl(value); }

std::optional<Cidr> Cidr::parse(std::string_view text, bool require_network) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = Ipv4::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  auto len_text = text.substr(slash + 1);
  unsigned prefix = 0;
  auto [next, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), prefix);
  if (ec != std::errc{} || next != len_text.data() + len_text.size() || prefix > 32 ||
      len_text.empty())
    return std::nullopt;
  Cidr c{*ip, prefix};
  if (require_network && c.network() != c.addr) return std::nullopt;
  return c;
}

std::uint32_t Cidr::mask() const {
  return prefix == 0 ? 0u : ~std::uint32_t{0} << (32 - prefix);
}

bool Cidr::overlaps(const Cidr& other) const {
  const Cidr& wider = prefix <= other.prefix ? *this : other;
  const Cidr& narrower = prefix <= other.prefix ? other : *this;
  return wider.contains(narrower.addr);
}

Cidr Cidr::subnet(unsigned new_prefix, std::uint32_t index) const {
  std::uint32_t step = new_prefix >= 32 ? 1u : std::uint32_t{1} << (32 - new_prefix);
  return Cidr{Ipv4{network().value + index * step}, new_prefix};
}

std::string Cidr::str() const { return fmt::format("{}/{}", addr.str(), prefix); }

}  // namespace knlab
