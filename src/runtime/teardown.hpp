// Removing network namespaces with everything in them: the one teardown that `down` (a whole
// lab), live changes (removed pods) and repair (namespaces the desired state does not know, left
// by a change that was killed) share.
#pragma once

#include <string>
#include <vector>

#include "runtime/process.hpp"

namespace knlab {

struct TeardownCount {
  std::size_t namespaces = 0;
  std::size_t processes = 0;
  std::size_t files = 0;
};

struct TeardownOptions {
  // Recorded processes to stop too (those still alive, by pid and start time): one whose
  // namespace is already gone escapes the scan.
  std::vector<ProcessId> recorded;
  // Delete each namespace's eth0 first, synchronously: the kernel destroys a deleted namespace
  // (and the node's end of its veth) asynchronously, and a pod made again at once under the same
  // name needs that veth name free. Not needed when the whole lab goes.
  bool free_veth_names = false;
};

// Stops the processes living in `namespaces` (one /proc scan) and the recorded ones, then deletes
// each namespace and its files under /etc/netns/<netns>. Failures are logged, never fatal: what
// is left is found again by the next scan.
TeardownCount remove_namespaces(const std::vector<std::string>& namespaces, const TeardownOptions& options);

}  // namespace knlab
