// The host directories labs need, made only when missing (as `ip netns add` makes /run/netns),
// and undone by the last `down`: one place for this host policy, with one marker scheme.
//   /run/netns   a directory, made a shared bind mount of itself (iproute2's layout: a later
//                delete propagates into mount namespaces that copied it)
//   /etc/netns   pods' hosts and resolv.conf (/etc/netns/<netns>/...)
//   /run/bird    where birdc looks for BIRD's socket (bind-mounted per node by `kn-lab exec`)
// For each thing kn-lab does to the host here, a marker /run/kn-lab/.made<what><path, '/' as '_'>
// remembers it, so that the last `down` undoes exactly that (a directory only once it is empty)
// and leaves alone what it found.
#pragma once

#include <string>

#include "core/error.hpp"

namespace knlab {

// Makes `dir` (one of the three above) ready; for /run/netns also the shared bind mount.
Status host_dir_prepare(const std::string& dir);

// With no lab left (nothing but kn-lab's dot-files under /run/kn-lab): undoes what the markers
// remember (/run/netns only while no namespace at all is left under it), then removes
// /run/kn-lab itself once it is empty.
void host_dirs_release_if_unused();

// The directories managed here.
inline constexpr const char* kHostDirsManaged[] = {"/run/netns", "/etc/netns", "/run/bird"};

}  // namespace knlab
