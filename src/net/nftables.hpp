// nftables in a lab namespace, through libnftables (Debian's libnftables-dev, the library of
// the nft command): the text `nft -f` reads, run as one transaction inside the namespace, and a
// table read back; and through libnftnl (netlink dumps) a table's counts. kn-lab never runs the
// nft command, and never touches the host's ruleset.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "net/netns.hpp"
#include "ops/nft.hpp"

namespace knlab {

// Runs `script` (nft -f syntax) in `ns` as one transaction: all of it or nothing, in a child
// process of its own (libnftables' select() cannot wait on the descriptor numbers a big lab
// reaches here).
Status nft_apply(const NetnsRef& ns, const std::string& script);

// The same in the calling process, already inside the namespace (`netns` names it in errors):
// the work of a net/child_jobs job, so that several nodes' transactions run at once.
Status nft_run_here(const std::string& script, const std::string& netns);
// How many of these transactions to run at once: one per CPU for whole tables (CPU-bound),
// more for small deltas (they mostly wait for the kernel's commit to end).
std::size_t nft_at_once(const std::vector<const std::string*>& scripts);

// What the kernel holds of one table (ops/nft.hpp's NftCounts): chains, rules and set elements
// dumped over netlink with libnftnl (no listing to format and parse); `exists` false when there
// is no such table.
Result<NftCounts> nft_counts(const NetnsRef& ns, const std::string& family, const std::string& table);

// A table as `nft -j list table` (JSON) and `nft -a list table` (text with rule handles) give
// it, read in one namespace visit (for trace); nullopt when there is no such table.
struct NftListing {
  std::string json, text;
};
Result<std::optional<NftListing>> nft_listing(const NetnsRef& ns, const std::string& family, const std::string& table);

}  // namespace knlab
