#include "net/executor.hpp"

#include <fmt/core.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace knlab {

bool needs_undo(const Op& op) {
  return std::holds_alternative<NetnsAdd>(op) || std::holds_alternative<FileWrite>(op) ||
         std::holds_alternative<PauseStart>(op) || std::holds_alternative<ContainerStart>(op) ||
         std::holds_alternative<DaemonStart>(op);
}

Transaction::~Transaction() { rollback(); }

void Transaction::rollback() {
  if (committed_) return;
  committed_ = true;
  for (auto it = done_.rbegin(); it != done_.rend(); ++it) {
    if (auto st = ex_.undo(it->first, it->second); !st)
      spdlog::warn("rollback: {}", st.error().format());
  }
  done_.clear();
}

Result<Outcome> Transaction::run(const Op& op) {
  if (observer_) observer_(op);
  Outcome out = KN_TRY(ex_.run(op));
  if (needs_undo(op)) done_.emplace_back(op, out);
  return out;
}

std::vector<Result<Outcome>> Executor::run_batch(const std::vector<const Op*>& ops) {
  std::vector<Result<Outcome>> out;
  for (const Op* op : ops) {
    out.push_back(run(*op));
    if (!out.back()) break;
  }
  return out;
}

bool batchable(const Op& op) { return std::holds_alternative<NftApply>(op) || std::holds_alternative<IptablesApply>(op); }

// Runs of batchable ops go to the executor together (each shown first); the rest one by one.
Status Transaction::run_all(const std::vector<Op>& ops) {
  for (std::size_t i = 0; i < ops.size();) {
    std::size_t end = i;
    while (end < ops.size() && batchable(ops[end])) ++end;
    if (end - i < 2) {
      KN_TRY(run(ops[i]));
      ++i;
      continue;
    }
    std::vector<const Op*> batch;
    for (std::size_t j = i; j < end; ++j) {
      if (observer_) observer_(ops[j]);
      batch.push_back(&ops[j]);
    }
    for (auto& r : ex_.run_batch(batch)) KN_TRY(std::move(r));  // batchable ops need no undo
    i = end;
  }
  return {};
}

Result<Outcome> RecordingExecutor::run(const Op& op) {
  if (fail_at != 0 && commands.size() + 1 == fail_at)
    return fail(sys_error("injected failure", op_display(op), EIO));
  commands.push_back(op_display(op));
  Outcome out;
  if (std::holds_alternative<PauseStart>(op) || std::holds_alternative<ContainerStart>(op) ||
      std::holds_alternative<DaemonStart>(op))
    out.pid = next_pid_++;
  return out;
}

Status RecordingExecutor::undo(const Op& op, const Outcome&) {
  undone.push_back(op_display(op));
  return {};
}

namespace {
// A fault point: the N-th op (digits), or the first op whose `ip` rendering contains the text
// (so that a test names the op it breaks, and does not move when ops are added before it).
FaultPoint env_point(const char* name) {
  const char* v = std::getenv(name);
  FaultPoint p;
  if (v == nullptr || *v == '\0') return p;
  std::string s = v;
  if (s.find_first_not_of("0123456789") == std::string::npos)
    p.index = std::strtoull(v, nullptr, 10);
  else
    p.text = std::move(s);
  return p;
}
}  // namespace

bool FaultPoint::hit(std::size_t count, const Op& op) const {
  if (index != 0) return count == index;
  return !text.empty() && op_display(op).find(text) != std::string::npos;
}

FaultInjectingExecutor::FaultInjectingExecutor(Executor& inner)
    : inner_(inner), kill_at_(env_point("KNLAB_TEST_KILL_AT")), fail_at_(env_point("KNLAB_TEST_FAIL_AT")) {}

std::vector<Result<Outcome>> FaultInjectingExecutor::run_batch(const std::vector<const Op*>& ops) {
  bool faulty = false;
  for (std::size_t i = 0; i < ops.size(); ++i)
    faulty = faulty || kill_at_.hit(count_ + i + 1, *ops[i]) || fail_at_.hit(count_ + i + 1, *ops[i]);
  if (faulty) return Executor::run_batch(ops);
  count_ += ops.size();
  return inner_.run_batch(ops);
}

Result<Outcome> FaultInjectingExecutor::run(const Op& op) {
  ++count_;
  if (kill_at_.hit(count_, op)) ::raise(SIGKILL);
  if (fail_at_.hit(count_, op)) {
    fail_at_ = {};  // once: the rollback's own ops are not failed again
    return fail(sys_error("injected failure (KNLAB_TEST_FAIL_AT)", op_display(op), EIO));
  }
  return inner_.run(op);
}

}  // namespace knlab
