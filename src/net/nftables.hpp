// nftables in a lab namespace, through libnftables (Debian's libnftables-dev, the library of
// the nft command): the text `nft -f` reads, run as one transaction inside the namespace, and a
// table read back; and through libnftnl (netlink dumps) a table's counts. kn-lab never runs the
// nft command, and never touches the host's ruleset.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "net/child_jobs.hpp"
#include "net/netns.hpp"
#include "net/nft_batch.hpp"
#include "ops/nft.hpp"

namespace knlab {

// Runs `script` (nft -f syntax) in `ns` as one transaction: all of it or nothing. A script of
// kn-lab's own dialect is compiled into netlink messages (net/nft_batch) and sent from here;
// any other goes to libnftables, in a child process of its own (its select() cannot wait on the
// descriptor numbers a big lab reaches here).
Status nft_apply(const NetnsRef& ns, const std::string& script);

// Several nodes' transactions made ready for net/child_jobs workers: each distinct script
// compiled once however many nodes share it, each node's own part after it. A script outside
// kn-lab's dialect runs through libnftables instead (nft_run_here).
class NftJobs {
 public:
  explicit NftJobs(NftSockets& sockets) : sockets_(sockets) {}
  // `script` and `node_part` must outlive the jobs.
  ChildJob add(const NetnsRef& ns, const std::string& script, const std::string& node_part);
  // Whether every job sends compiled messages (they may run in threads: net/child_jobs
  // run_in_threads); a job of libnftables must run in a child process.
  bool threadable() const { return texts_.empty(); }

 private:
  std::map<const std::string*, std::optional<NftMessages>> compiled_;
  std::deque<NftMessages> parts_;
  std::deque<std::string> texts_;
  NftSockets& sockets_;  // where the jobs' sockets go, to be closed together later
};

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
