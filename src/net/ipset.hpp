// The ipsets of a node's namespace, through libipset (Debian's libipset-dev, the library of the
// ipset command): the sets NetworkPolicy rules match (-m set --match-set). kn-lab never runs the
// ipset command.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "net/netns.hpp"
#include "ops/ipset.hpp"

namespace knlab {

// Makes kn-lab's sets in `ns` exactly `sets`: each created if missing, then only its changed
// members added and removed (a set is never flushed and refilled, so traffic a member allows
// keeps flowing while others change). With `prune`, kn-lab's sets (owned_ipset) not listed are
// destroyed: after the rules that named them are gone. Returns the number of changes made.
Result<std::size_t> ipset_apply(const NetnsRef& ns, const std::vector<IpSet>& sets, bool prune);

// The sets of kn-lab in `ns` as the kernel has them (for the drift check of `up` and tests).
Result<std::vector<IpSet>> ipset_read(const NetnsRef& ns);

// The kernel's index of set `name` in the calling thread's namespace (what -m set stores), or
// nullopt when there is no such set.
std::optional<std::uint16_t> ipset_index(const std::string& name);

// The name of the set with kernel index `index` in the calling thread's namespace (the inverse of
// ipset_index, for reading -m set matches back), or nullopt when no set has that index.
std::optional<std::string> ipset_name(std::uint16_t index);

}  // namespace knlab
