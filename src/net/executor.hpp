// Executor: the narrow interface through which every side effect of building a lab passes.
//
// The real one (runtime/live_executor.hpp) talks to the kernel and starts processes; the
// recording one below only writes down each op's equivalent command, so unit tests can check
// what `up` would do without root. A Transaction runs ops through an executor and, unless it is
// committed, undoes them in reverse order when it ends: teardown mirrors setup, and no error
// path needs cleanup code of its own.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "ops/op.hpp"

namespace knlab {

// What running an op produced that its undo (and the state file) needs.
struct Outcome {
  pid_t pid = 0;                 // PauseStart, ContainerStart
  unsigned long long start = 0;  // process start time (clock ticks since boot), guards pid reuse
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual Result<Outcome> run(const Op& op) = 0;
  // Reverses an op run() completed. Best effort: called on rollback, errors are reported, not
  // propagated.
  virtual Status undo(const Op& op, const Outcome& outcome) = 0;
  // Ops that touch different namespaces and nothing else (NftApply of several nodes), run
  // together where the executor can: one result per op, in order. The default runs them one
  // after another, stopping at the first failure (later ops are left unrun: results end there).
  virtual std::vector<Result<Outcome>> run_batch(const std::vector<const Op*>& ops);
};

// Whether an op may be batched with its neighbours of the same kind (the nodes' kube-proxy
// tables, nftables or iptables: each in its own node and table, nothing to undo).
bool batchable(const Op& op);

// Ops whose effect outlives the namespaces they touch and so need an explicit undo: namespaces
// themselves, processes and host files. Links, addresses, routes and sysctls live inside a lab
// namespace and go with it.
bool needs_undo(const Op& op);

class Transaction {
 public:
  using Observer = std::function<void(const Op&)>;
  explicit Transaction(Executor& ex, Observer before_each = {})
      : ex_(ex), observer_(std::move(before_each)) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Result<Outcome> run(const Op& op);
  Status run_all(const std::vector<Op>& ops);
  // Keeps everything: the destructor will undo nothing.
  void commit() { committed_ = true; }
  // Undoes now what the destructor would undo (newest first); afterwards the transaction is
  // finished and its destructor does nothing.
  void rollback();
  const std::vector<std::pair<Op, Outcome>>& done() const { return done_; }

 private:
  Executor& ex_;
  Observer observer_;
  std::vector<std::pair<Op, Outcome>> done_;  // undoable ops that succeeded, in order
  bool committed_ = false;
};

// Records ops as display strings; returns fake pids. Can be told to fail at the n-th op (1-based)
// to test rollback.
class RecordingExecutor final : public Executor {
 public:
  Result<Outcome> run(const Op& op) override;
  Status undo(const Op& op, const Outcome& outcome) override;

  std::vector<std::string> commands;  // op_display of each run
  std::vector<std::string> undone;    // op_display of each undo, in order
  std::size_t fail_at = 0;            // 0 = never

 private:
  pid_t next_pid_ = 1000;
};

// Test-only fault injection around another executor, driven by the environment so that
// end-to-end tests can break a real `kn-lab up` at a precise point:
//   KNLAB_TEST_KILL_AT=N|TEXT   the process SIGKILLs itself just before the N-th op, or before
//                               the first op whose `ip` rendering contains TEXT (crash test)
//   KNLAB_TEST_FAIL_AT=N|TEXT   that op fails with an error (rollback test)
// Without those variables it is a transparent pass-through.
struct FaultPoint {
  std::size_t index = 0;  // 1-based; 0: by text
  std::string text;       // empty with index 0: never
  bool hit(std::size_t count, const Op& op) const;
};

class FaultInjectingExecutor final : public Executor {
 public:
  explicit FaultInjectingExecutor(Executor& inner);
  Result<Outcome> run(const Op& op) override;
  Status undo(const Op& op, const Outcome& outcome) override { return inner_.undo(op, outcome); }
  // A batch with a fault point in it runs op by op (the fault hits its op); others go to `inner`.
  std::vector<Result<Outcome>> run_batch(const std::vector<const Op*>& ops) override;

 private:
  Executor& inner_;
  std::size_t count_ = 0;
  FaultPoint kill_at_, fail_at_;
};

}  // namespace knlab
