// Per-namespace sysctls (net.*). A /proc/sys/net file belongs to the namespace of whoever
// opens it, so the write happens inside the target namespace.
#pragma once

#include <optional>
#include <string>

#include "core/error.hpp"
#include "net/netns.hpp"

namespace knlab {

// `sysctl -w key=value` inside `ns`. Only keys under "net." are accepted: they are per namespace,
// so this can never change the host's settings.
Status sysctl_set(const NetnsRef& ns, const std::string& key, const std::string& value);

// Reads a sysctl in the calling thread's namespace; nullopt if it does not exist.
std::optional<std::string> sysctl_get(const std::string& key);

}  // namespace knlab
