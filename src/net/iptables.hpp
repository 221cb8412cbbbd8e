// kube-proxy's iptables rules in a node's network namespace, written through libiptc into the
// legacy (x_tables) tables: `iptables-legacy-save` inside the namespace shows them, in the same
// text render_iptables_save() produces. kn-lab never runs the iptables command.
//
// One apply is one libiptc transaction per table: the whole table is read (iptc_init), changed
// in memory, and replaced in the kernel with a single setsockopt (iptc_commit). Either every
// change of the table lands or none does.
#pragma once

#include <cstdint>

#include "core/error.hpp"
#include "ops/iptables_rule.hpp"
#include "net/netns.hpp"

namespace knlab {

// Makes kn-lab's part of `table` (see IptTable) true in namespace `ns`:
//   * the listed user chains exist (created if missing) and hold exactly the listed rules, in
//     order (flushed and refilled: their counters start again at zero);
//   * every other chain named KUBE-* is deleted (after the rules jumping to it are gone);
//   * each built-in chain starts with its hook rules, exactly once, in order; stale kn-lab hooks
//     (jumps to kn-lab's chains that are no longer wanted) are removed; other rules of the
//     built-in chains are left alone. Hooks already in place are kept untouched (and so are
//     their counters);
//   * one commit. If the kernel reports that the table changed underneath (EAGAIN), the whole
//     apply is redone from a fresh read, a few times.
// Errors name the table, the chain, the rule (render_rule) and libiptc's reason, with the
// namespace; rules the kernel would refuse for reasons known in advance (a too long chain name
// or comment, DNAT outside nat, --dport without -p, ...) are refused before anything changes.
Status iptables_apply(const NetnsRef& ns, const IptTable& table);

// Whether kn-lab's part of `table` is in place in `ns`, as iptables_apply would leave it: every
// listed chain holds exactly its rules (each compared as encoded: addresses, matches, target),
// no other KUBE-* chain exists, each built-in chain starts with its hooks. One read, no change:
// the drift check of `up` on a running lab.
Result<bool> iptables_in_place(const NetnsRef& ns, const IptTable& table);


}  // namespace knlab
