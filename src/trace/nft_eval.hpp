// kube-proxy's nftables table (proxy_mode = "nftables") as the kernel would walk it for one
// packet: read back as nft prints it in JSON (`nft -j list table ip kube-proxy`), then a base
// chain evaluated rule by rule: matches on addresses, ports, protocol, marks, conntrack state,
// fib types and sets; verdict maps looked up (service-ips, service-nodeports, the no-endpoint
// maps); `numgen random mod N vmap` as kube-proxy's branches, each with the endpoint it DNATs
// to; jumps, gotos, returns, marks, DNAT, masquerade, reject and drop. Only the expressions
// kube-proxy's layout uses are known; any other makes the result "undecided", never a guess.
// Pure: unit-tested on a table read from the kernel (tests/unit/data/).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "trace/netfilter.hpp"
#include "trace/packet.hpp"

namespace knlab::trace {

struct NftRuleRead {
  int handle = 0;
  std::string text;     // the rule as `nft -a list table` prints it
  nlohmann::json expr;  // its expressions, as `nft -j` gives them
  std::string comment;
};

struct NftTableRead {
  std::string family, name;
  std::map<std::string, std::vector<NftRuleRead>> chains;
  std::map<std::string, nlohmann::json> sets;  // set and map elements ("elem"), by name
  bool empty() const { return chains.empty(); }
};

// The table from nft's JSON and its text listing with handles (`nft -a`), which gives each rule
// the words a learner reads. An error when the JSON is not nft's.
Result<NftTableRead> parse_nft_table(std::string_view json, std::string_view text_with_handles);

// Walks base chain `chain` ("nat-prerouting", "filter-forward", ...) for `p`, with the same
// result as the iptables walk (steps name chain and handle; table "kube-proxy").
NfResult evaluate_nft(const NftTableRead& t, std::string_view chain, const Packet& p, const NfContext& ctx);

}  // namespace knlab::trace
