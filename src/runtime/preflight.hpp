// Preflight: the kernel features a lab's ops need, checked before anything is created, so a
// machine without them gets one clear error naming the module (and nothing half-made).
//
// A feature counts as present when the kernel shows it (/sys/module/<m>, or the /proc file it
// makes) or can load it (listed in /lib/modules/<release>/modules.dep or modules.builtin). A
// kernel with no module lists at all (everything built in, as on some VMs) is given the benefit
// of the doubt: the op itself then fails with its own error.
#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "ops/op.hpp"

namespace knlab {

// `root` is where /sys, /proc and /lib/modules are looked for ("" for the machine's own; tests
// give a directory of their own).
Status check_kernel_features(const std::vector<Op>& ops, const std::string& root = "");

}  // namespace knlab
