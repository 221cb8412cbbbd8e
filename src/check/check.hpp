// `kn-lab check`: the checks of a lab file or an exercise step (lab/checks.hpp) run against the
// live lab: traffic sent from inside the source namespace (trace's resolution of FROM and TO,
// its probe), DNS asked with the pod's own resolv.conf, routes and FDB entries read from the
// kernel, API objects as `get` shows them. Independent checks run in parallel; a check runs
// after those it names in `after`, and is skipped when one of them failed.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "lab/checks.hpp"
#include "runtime/lifecycle.hpp"

namespace knlab::check {

enum class Verdict { kPass, kFail, kSkipped };

struct Outcome {
  std::string name;
  std::string description;
  std::string hint;     // the check's hint (shown when it did not pass)
  Verdict verdict = Verdict::kFail;
  std::string detail;   // what was seen: "answered by web-2 (10.244.1.3) in 2 ms", "timed out after 2000 ms"
  int attempts = 0;
  int ms = 0;
};

struct RunOptions {
  int parallel = 8;                                  // checks at once
  std::function<void(const Outcome&)> on_done;       // as each finishes (for live output)
};

// Runs `checks` (all of them: select beforehand) against the lab `view`; the outcomes are in
// the order of `checks`. Fails only when the lab cannot be read; a check that cannot run (an
// unknown pod) is a failed outcome saying why.
Result<std::vector<Outcome>> run_checks(const LabView& view, const std::vector<CheckSpec>& checks, const RunOptions& options = {});

// "PASS", "FAIL", "SKIP".
std::string_view to_string(Verdict v);
// The outcomes as text (one line each, the hint under a failure) and as JSON.
std::string render_text(const std::vector<Outcome>& outcomes, bool color);
nlohmann::json to_json(const std::vector<Outcome>& outcomes);
bool all_passed(const std::vector<Outcome>& outcomes);

}  // namespace knlab::check
