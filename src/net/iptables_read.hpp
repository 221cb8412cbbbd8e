// Reading iptables back from the kernel through libiptc, for `kn-lab trace`: every chain of a
// legacy table in a namespace, its rules decoded into the same IptRule data the planner writes
// (so kube-proxy's, kube-router's and the cloud-lb's rules read back compare and print as they
// were planned), with each rule's packet and byte counters. Read-only: no commit, ever.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "net/netns.hpp"
#include "ops/iptables_rule.hpp"

namespace knlab {

struct IptCounters {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

struct IptReadRule {
  IptRule rule;          // rule.chain is the chain it is in
  IptCounters counters;
  // Empty when the whole rule was decoded. Otherwise what could not be, e.g. "match multiport"
  // or "target LOG": the rest of the rule is decoded, and a tracer treats the rule as one whose
  // verdict it cannot know (it says so rather than guessing).
  std::string undecoded;
};

struct IptReadChain {
  std::string name;
  bool builtin = false;
  std::string policy;           // builtin chains: "ACCEPT" or "DROP"
  IptCounters policy_counters;  // builtin chains: packets that fell through to the policy
  std::vector<IptReadRule> rules;
};

struct IptReadTable {
  std::string name;  // "nat", "filter", ...
  std::vector<IptReadChain> chains;  // in libiptc's order (built-in first)
  const IptReadChain* chain(std::string_view name) const;
};

// Table `table` of namespace `ns` as the kernel has it. A table the kernel does not have yet
// (never used in that namespace) reads as its built-in chains with no rules, policy ACCEPT, and
// is not made by the read (the namespace's ip_tables_names is asked before iptc_init, which
// would make it).
// Set matches (-m set) are decoded to the set's name through the namespace's ipset indexes.
Result<IptReadTable> iptables_read(const NetnsRef& ns, const std::string& table);

}  // namespace knlab
