#include "check/check.hpp"

#include <fmt/core.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "check/attempt.hpp"
#include "trace/target.hpp"

namespace knlab::check {

namespace {

using Clock = std::chrono::steady_clock;

Attempt attempt_of(const LabView& view, const CheckSpec& c) {
  switch (c.kind) {
    case CheckKind::kTraffic: return traffic_attempt(view, c);
    case CheckKind::kDns: return dns_attempt(view, c);
    case CheckKind::kKernel: return kernel_attempt(view, c);
    case CheckKind::kObject: return object_attempt(view, c);
  }
  return {false, "unknown kind of check"};
}

// Attempts until one passes or wait_ms is over (one attempt when it is 0).
Outcome run_one(const LabView& view, const CheckSpec& c) {
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::milliseconds(c.wait_ms);
  Outcome o{c.name, c.description, c.hint, Verdict::kFail, {}, 0, 0};
  for (;;) {
    Attempt a = attempt_of(view, c);
    ++o.attempts;
    o.detail = std::move(a.detail);
    if (a.pass) {
      o.verdict = Verdict::kPass;
      break;
    }
    if (Clock::now() + std::chrono::milliseconds(200) > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  o.ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  return o;
}

// The checks in dependency order, `parallel` at a time: a check starts when those it runs after
// have passed, and is skipped when one of them did not.
class Scheduler {
 public:
  Scheduler(const LabView& view, const std::vector<CheckSpec>& checks, const RunOptions& o)
      : view_(view), checks_(checks), options_(o), out_(checks.size()), state_(checks.size(), kPending) {
    for (std::size_t i = 0; i < checks.size(); ++i) index_[checks[i].name] = i;
  }

  std::vector<Outcome> run() {
    std::size_t workers = std::min<std::size_t>(static_cast<std::size_t>(std::max(1, options_.parallel)), checks_.size());
    {
      std::vector<std::jthread> pool;
      for (std::size_t w = 0; w < workers; ++w) pool.emplace_back([this] { work(); });
    }
    return std::move(out_);
  }

 private:
  enum State { kPending, kRunning, kDone };

  // The first pending check whose dependencies are done; a failed dependency settles it as skipped.
  std::optional<std::size_t> next(std::unique_lock<std::mutex>& lock) {
    for (;;) {
      bool pending = false;
      for (std::size_t i = 0; i < checks_.size(); ++i) {
        if (state_[i] != kPending) continue;
        pending = true;
        bool ready = true;
        std::string failed;
        for (const std::string& a : checks_[i].after) {
          std::size_t d = index_.at(a);
          if (state_[d] != kDone) ready = false;
          else if (out_[d].verdict != Verdict::kPass && failed.empty()) failed = a;
        }
        if (!failed.empty()) {
          settle(i, Outcome{checks_[i].name, checks_[i].description, checks_[i].hint, Verdict::kSkipped,
                            fmt::format("not run: it runs after \"{}\", which did not pass", failed), 0, 0});
          continue;
        }
        if (ready) {
          state_[i] = kRunning;
          return i;
        }
      }
      if (!pending) return std::nullopt;
      changed_.wait(lock);
    }
  }

  void settle(std::size_t i, Outcome o) {
    out_[i] = std::move(o);
    state_[i] = kDone;
    if (options_.on_done) options_.on_done(out_[i]);
    changed_.notify_all();
  }

  void work() {
    std::unique_lock lock(mutex_);
    while (auto i = next(lock)) {
      lock.unlock();
      Outcome o = run_one(view_, checks_[*i]);
      lock.lock();
      settle(*i, std::move(o));
    }
  }

  const LabView& view_;
  const std::vector<CheckSpec>& checks_;
  const RunOptions& options_;
  std::vector<Outcome> out_;
  std::vector<State> state_;
  std::map<std::string, std::size_t> index_;
  std::mutex mutex_;
  std::condition_variable changed_;
};

}  // namespace

Result<std::string> netns_of(const LabView& view, const std::string& name, const std::string& ns) {
  trace::Source s = KN_TRY(trace::resolve_source(view.plan, name, ns));
  return s.netns;
}

Result<std::vector<Outcome>> run_checks(const LabView& view, const std::vector<CheckSpec>& checks, const RunOptions& options) {
  if (checks.empty()) return std::vector<Outcome>{};
  return Scheduler(view, checks, options).run();
}

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::kPass: return "PASS";
    case Verdict::kFail: return "FAIL";
    case Verdict::kSkipped: return "SKIP";
  }
  return "?";
}

bool all_passed(const std::vector<Outcome>& outcomes) {
  return std::all_of(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return o.verdict == Verdict::kPass; });
}

std::string render_text(const std::vector<Outcome>& outcomes, bool color) {
  auto paint = [&](Verdict v, std::string_view s) {
    if (!color) return std::string(s);
    const char* code = v == Verdict::kPass ? "32" : v == Verdict::kFail ? "31" : "33";
    return fmt::format("\033[{}m{}\033[0m", code, s);
  };
  std::size_t width = 0;
  for (const Outcome& o : outcomes) width = std::max(width, o.name.size());
  std::string out;
  std::map<Verdict, int> counts;
  for (const Outcome& o : outcomes) {
    ++counts[o.verdict];
    out += fmt::format("{}  {:<{}}  {}\n", paint(o.verdict, to_string(o.verdict)), o.name, width,
                       o.description.empty() ? o.detail : o.description);
    std::string pad(6 + width + 2, ' ');
    if (!o.description.empty()) out += fmt::format("{}{}\n", pad, o.detail);
    if (o.verdict == Verdict::kFail && !o.hint.empty()) out += fmt::format("{}hint: {}\n", pad, o.hint);
  }
  out += fmt::format("{} passed, {} failed, {} skipped\n", counts[Verdict::kPass], counts[Verdict::kFail], counts[Verdict::kSkipped]);
  return out;
}

nlohmann::json to_json(const std::vector<Outcome>& outcomes) {
  nlohmann::json items = nlohmann::json::array();
  for (const Outcome& o : outcomes)
    items.push_back({{"name", o.name}, {"description", o.description}, {"result", to_string(o.verdict)},
                     {"detail", o.detail}, {"hint", o.hint}, {"attempts", o.attempts}, {"ms", o.ms}});
  return {{"passed", all_passed(outcomes)}, {"checks", items}};
}

}  // namespace knlab::check
