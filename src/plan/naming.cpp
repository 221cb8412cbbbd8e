#include "plan/naming.hpp"

#include <fmt/core.h>

namespace knlab {

std::string netns_prefix(std::string_view lab) { return fmt::format("kn-{}.", lab); }

std::string netns_name(std::string_view lab, std::string_view object) {
  return fmt::format("kn-{}.{}", lab, object);
}

std::optional<std::pair<std::string, std::string>> parse_netns_name(std::string_view netns) {
  if (!netns.starts_with("kn-")) return std::nullopt;
  auto rest = netns.substr(3);
  auto dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == rest.size()) return std::nullopt;
  return std::pair{std::string(rest.substr(0, dot)), std::string(rest.substr(dot + 1))};
}

std::string state_dir(std::string_view lab) { return fmt::format("{}/{}", kStateRoot, lab); }
std::string saved_dir(std::string_view lab) { return fmt::format("{}/{}", kSavedRoot, lab); }

std::uint32_t fnv1a32(std::string_view data, std::uint32_t seed) {
  std::uint32_t h = seed;
  for (char ch : data) {
    auto c = static_cast<unsigned char>(ch);
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

std::string host_veth_name(std::string_view lab, std::string_view pod, unsigned salt) {
  std::string key = fmt::format("{}/{}/{}", lab, pod, salt);
  return fmt::format("veth{:08x}", fnv1a32(key));
}

}  // namespace knlab
