// Names of everything a lab makes, derived from the lab and object names alone so that `down`
// can find a lab's objects even when its state file is lost.
//
//   network namespace   kn-<lab>.<object>     (object = node, pod, or wire/external/router)
//   state directory     /run/kn-lab/<lab>/
//   pod files           /etc/netns/kn-<lab>.<pod>/{hosts,resolv.conf}
//   host-side veth      veth<8 hex>            (in the node's namespace, like Calico/Flannel)
//
// The '.' cannot occur in lab or object names (lab/names.hpp), so "kn-<lab>." is a prefix that
// belongs to exactly one lab: lab "a" never matches lab "a-b"'s namespaces.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace knlab {

inline constexpr std::string_view kStateRoot = "/run/kn-lab";
inline constexpr std::string_view kEtcNetnsDir = "/etc/netns";
// Where a running lab's desired state is kept across reboots (/run is not): lab.toml, l7.yaml and
// state.toml (for the addresses and names pods had), removed by `down`.
inline constexpr std::string_view kSavedRoot = "/var/lib/kn-lab";

std::string netns_prefix(std::string_view lab);                       // "kn-<lab>."
std::string netns_name(std::string_view lab, std::string_view object);  // "kn-<lab>.<object>"
// The lab a namespace name belongs to, or nullopt when it is not a kn-lab namespace.
std::optional<std::pair<std::string, std::string>> parse_netns_name(std::string_view netns);

std::string state_dir(std::string_view lab);  // /run/kn-lab/<lab>
std::string saved_dir(std::string_view lab);  // /var/lib/kn-lab/<lab>

// FNV-1a, 32 bits: stable across runs and machines (std::hash is not).
std::uint32_t fnv1a32(std::string_view data, std::uint32_t seed = 2166136261u);

// "veth" + 8 hex digits derived from lab and pod name; `salt` > 0 picks another candidate
// when two pods of one node collide.
std::string host_veth_name(std::string_view lab, std::string_view pod, unsigned salt = 0);

}  // namespace knlab
