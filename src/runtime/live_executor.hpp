// LiveExecutor: carries ops out for real — netlink requests through the per-object functions
// of net/, processes through runtime/process, host files under /etc/netns.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "net/executor.hpp"
#include "net/netlink.hpp"
#include "net/nft_batch.hpp"
#include "runtime/files.hpp"
#include "runtime/process.hpp"

namespace knlab {

class LiveExecutor final : public Executor {
 public:
  // `pause_path`: absolute path of kn-pause.
  explicit LiveExecutor(std::string pause_path) : pause_path_(std::move(pause_path)) {}

  Result<Outcome> run(const Op& op) override;
  Status undo(const Op& op, const Outcome& outcome) override;
  // The nodes' kube-proxy tables (nftables transactions, iptables commits) written several at
  // once in child processes (net/child_jobs), as each node's kube-proxy writes its own.
  std::vector<Result<Outcome>> run_batch(const std::vector<const Op*>& ops) override;

  // Pause processes started so far, by pod name (containers join their namespaces).
  const std::map<std::string, ProcessId>& pauses() const { return pauses_; }
  // A pause process that already runs (repairing a lab): its pod's containers can join it.
  void adopt_pause(const std::string& pod, ProcessId p) { pauses_[pod] = p; }
  // Warnings collected while running (optional sysctls that do not exist, ...).
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  struct Visitor;
  std::string pause_path_;
  NetlinkSession session_;
  std::map<std::string, ProcessId> pauses_;
  std::map<std::string, ProcessId> daemons_;  // by owner (node or router)
  std::vector<std::string> warnings_;
  std::set<std::string> dirs_ready_;  // host directories prepared for this executor's ops
  // The nodes' nftables sockets, closed with the executor: closing one waits until the kernel
  // has freed what the commits deleted (an RCU grace period); by the end of the change (the
  // switch-over, removed pods' links) that has mostly passed.
  NftSockets nft_sockets_;
};


}  // namespace knlab
