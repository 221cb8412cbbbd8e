// Netfilter as the kernel would walk it for one packet, over the rules read back from a
// namespace (net/iptables_read): from a built-in chain, rule by rule, through jumps and
// returns, to a verdict; the DNAT, the marks and the masquerade it applies on the way; and at
// kube-proxy's probability rules, every branch with its probability and the backend it DNATs
// to. Pure: the kernel state comes in as data, so the walk is unit-tested on planned tables.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.hpp"
#include "net/iptables_read.hpp"
#include "trace/packet.hpp"

namespace knlab::trace {

struct NfContext {
  std::string in_iface;               // -i: the input interface ("" at OUTPUT)
  std::string out_iface;              // -o: the output interface ("" at PREROUTING)
  bool bridged = false;               // -m physdev --physdev-is-bridged
  std::vector<Ipv4> local_addresses;  // -m addrtype LOCAL: the namespace's own addresses
  // Whether `ip` is in ipset `set` of the namespace; nullopt when there is no such set.
  std::function<std::optional<bool>(const std::string& set, Ipv4 ip)> in_set;
  // At probability rules: the branch that DNATs to this address (what conntrack or a probe
  // saw the kernel choose). Without it the first branch is followed.
  std::optional<Ipv4> backend;
};

enum class Verdict : std::uint8_t { kAccept, kDrop, kReject, kUndecided };
std::string_view verdict_name(Verdict v);  // "ACCEPT", "DROP", "REJECT", "undecided"

// A rule that matched (or a chain's policy, rule 0), in the order the walk met them.
struct NfStep {
  std::string table, chain;
  int rule = 0;          // 1-based as `iptables -L --line-numbers`; 0: the chain's policy
  std::string text;      // "-A KUBE-SERVICES -d 10.96.0.10/32 ... -j KUBE-SVC-..." or "policy ACCEPT"
  std::string comment;
  std::string target;    // the chain jumped to, or ACCEPT, DROP, RETURN, DNAT, MARK, ...
  IptCounters counters;
};

// One of kube-proxy's random branches over a Service's endpoints.
struct NfBranch {
  std::string chain;     // KUBE-SVC-...
  int rule = 0;
  double probability = 1;  // of this branch being taken (1/3, then 1/2 of the rest, ...)
  std::string target;    // KUBE-SEP-...
  std::optional<Ipv4> to_ip;  // the DNAT in the target chain
  std::uint16_t to_port = 0;
  bool chosen = false;
};

struct NfResult {
  Verdict verdict = Verdict::kAccept;
  std::vector<NfStep> steps;
  std::vector<NfBranch> branches;
  Packet packet;             // as it leaves the chain: after DNAT and MARK
  bool dnat = false;
  bool masquerade = false;   // the source becomes the output interface's address
  std::string nflog_prefix;  // an NFLOG rule met (kube-router logs drops so)
  std::string why;           // for DROP/REJECT/undecided: the rule's comment or what was not known
};

// Walks `chain` (a built-in chain of `table`) for `p`. A chain the table does not have is an
// ACCEPT with no step (nothing hooked there).
NfResult evaluate(const IptReadTable& table, std::string_view chain, const Packet& p, const NfContext& ctx);

// Whether one rule's matches hold for `p` (the probability match excepted: branch choice is the
// caller's). nullopt when the rule has a match that cannot be judged (undecoded, an unknown set).
std::optional<bool> rule_matches(const IptReadRule& r, const Packet& p, const NfContext& ctx);

}  // namespace knlab::trace
