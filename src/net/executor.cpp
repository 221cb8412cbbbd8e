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

Status Transaction::run_all(const std::vector<Op>& ops) {
  for (const Op& op : ops) KN_TRY(run(op));
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
std::size_t env_count(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : 0;
}
}  // namespace

FaultInjectingExecutor::FaultInjectingExecutor(Executor& inner)
    : inner_(inner), kill_at_(env_count("KNLAB_TEST_KILL_AT")), fail_at_(env_count("KNLAB_TEST_FAIL_AT")) {}

Result<Outcome> FaultInjectingExecutor::run(const Op& op) {
  ++count_;
  if (kill_at_ != 0 && count_ == kill_at_) ::raise(SIGKILL);
  if (fail_at_ != 0 && count_ == fail_at_)
    return fail(sys_error("injected failure (KNLAB_TEST_FAIL_AT)", op_display(op), EIO));
  return inner_.run(op);
}

}  // namespace knlab
