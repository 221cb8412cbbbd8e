// nftables as data: one table of sets, verdict maps and chains (kube-proxy's `table ip
// kube-proxy`), rendered as the commands `nft -f` reads, in the form kube-proxy's own tests
// compare: `add chain ip kube-proxy services`, `add rule ...`, `add element ...`.
//
// Two renderings: the whole table, made from nothing in one transaction (it replaces whatever
// table of that name is there: `up`, and the repair of a drifted node), and the delta between
// two tables: only the elements, chains and sets that differ (kube-proxy's partial sync, what a
// live change writes).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace knlab {

struct NftElement {
  std::string key;      // "10.96.0.10 . udp . 53"
  std::string value;    // "goto service-...", "drop"; empty in a set
  std::string comment;  // kube-proxy names the service port of an element that rejects or drops
  bool operator==(const NftElement&) const = default;
};

struct NftSet {
  std::string name;
  bool map = false;
  std::string spec;  // "type ipv4_addr . inet_proto . inet_service : verdict ; comment \"...\" ;"
  std::vector<NftElement> elements;
  bool operator==(const NftSet&) const = default;
};

struct NftChain {
  std::string name;
  std::string spec;  // "type nat hook prerouting priority -100 ;" for a base chain, else ""
  std::vector<std::string> rules;
  bool operator==(const NftChain&) const = default;
};

struct NftTable {
  std::string family = "ip";
  std::string name;  // "" : no table
  std::string comment;
  std::vector<NftSet> sets;      // sets, then maps, as kube-proxy declares them
  std::vector<NftChain> chains;  // in the order they are declared
  bool operator==(const NftTable&) const = default;
};

// The table's commands from nothing: table, sets and maps, chains, rules, elements.
std::string render_nft(const NftTable& t);
// One transaction that replaces the table whatever is there (`add table` + `delete table`
// first, so that it works whether or not the table exists), then render_nft.
std::string render_nft_replace(const NftTable& t);
// One transaction that turns `was` into `now`, writing only what differs: new sets and chains,
// changed chains flushed and written again, elements deleted and added, then chains and sets no
// longer named flushed and deleted. "" when they are equal. From no table: render_nft.
// A change of a chain's or set's declaration (never made by kube-proxy's layout) replaces the table.
std::string render_nft_delta(const NftTable& was, const NftTable& now);

// The commands that add the elements of `s` (a set of table `t`): a node's own part after a
// script shared by several nodes.
std::string render_nft_elements(const NftTable& t, const NftSet& s);

// How many rules and elements a table holds (for counts in views and benchmarks).
std::size_t nft_rule_count(const NftTable& t);

// A table summed up: rules per chain, elements per set or map (those of dynamic sets, which
// traffic fills, not counted). What `up` compares with the kernel's to find a drifted node.
struct NftCounts {
  bool exists = false;
  std::map<std::string, std::size_t> chain_rules;
  std::map<std::string, std::size_t> set_elements;
  bool operator==(const NftCounts&) const = default;
};
// The counts of the table a script of render_nft / render_nft_replace makes.
NftCounts nft_script_counts(const std::string& script);

}  // namespace knlab
