// kn-lab exercise list | start NAME | check [NAME] [-o json] | reset [NAME]: the course's
// exercises (exercises/*.toml, lab/exercise.hpp) on their lab, each step checked against the
// lab's objects and kernel (src/check). The exercise in progress is recorded in the lab's record
// (/run/kn-lab/<lab>/exercise), so it goes with the lab's `down`.
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "check/check.hpp"
#include "cli/cli.hpp"
#include "core/text.hpp"
#include "lab/exercise.hpp"
#include "lab/loader.hpp"
#include "lab/names.hpp"
#include "plan/naming.hpp"
#include "runtime/files.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/state.hpp"

namespace knlab {

namespace {

struct ExerciseOptions {
  std::string verb;
  std::string name;
  std::string output;
};

constexpr std::string_view kRecordFile = "exercise";

std::string record_path(const std::string& lab) { return fmt::format("{}/{}", state_dir(lab), kRecordFile); }

std::string stem_of(const std::string& file) { return std::filesystem::path(file).stem().string(); }

std::string trim_text(std::string s) {
  while (!s.empty() && (s.front() == '\n' || s.front() == ' ')) s.erase(0, 1);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Error no_exercises() {
  return input_error(SourceLocation{}, "no exercise files found",
                     fmt::format("reinstall kn-lab, or point KNLAB_EXERCISES at a folder of exercise files (looked in {})",
                                 join(exercise_search_dirs())));
}

// The exercise a learner names: its name, its number, or its file's stem.
Result<Exercise> find_exercise(const std::string& arg) {
  std::vector<std::string> files = exercise_files();
  if (files.empty()) return fail(no_exercises());
  std::vector<std::string> names;
  for (const std::string& f : files) {
    Exercise ex = KN_TRY(load_exercise_file(f));
    if (ex.name == arg || stem_of(f) == arg || (ex.number > 0 && std::to_string(ex.number) == arg)) return ex;
    names.push_back(ex.name);
  }
  std::vector<std::string_view> candidates(names.begin(), names.end());
  return fail(input_error(SourceLocation{}, fmt::format("no exercise \"{}\"", arg),
                          did_you_mean(arg, candidates) + "kn-lab exercise list shows them: " + join(names)));
}

// The running name of the exercise's lab (the [lab] name of its lab file).
Result<std::string> lab_of(const Exercise& ex) {
  std::string path = KN_TRY(find_lab_file(ex.lab));
  Lab lab = KN_TRY(load_lab_file(path));
  return lab.name;
}

bool lab_is_up(const std::string& lab) {
  auto state = load_state(lab);
  return state && state->status == LabStatus::kUp;
}

// The exercise recorded in a lab's record, "" when none (or not a valid name).
std::string recorded_exercise(const std::string& lab) {
  std::string text = read_text(record_path(lab));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return check_label(text, kMaxObjectNameLength) ? std::string{} : text;
}

Status record_exercise(const std::string& lab, const std::string& name) {
  if (auto wrong = check_label(name, kMaxObjectNameLength))
    return fail(input_error(SourceLocation{}, fmt::format("exercise name \"{}\" {}", name, *wrong)));
  KN_TRY(write_file(record_path(lab), name + "\n"));
  std::error_code ec;
  std::filesystem::permissions(record_path(lab), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace, ec);
  return {};
}

// The exercise in progress: NAME when given (its lab must be up), else the one recorded.
Result<Exercise> current_exercise(const std::string& arg) {
  if (!arg.empty()) return find_exercise(arg);
  std::vector<std::string> found;
  for (const std::string& lab : list_labs())
    if (std::string name = recorded_exercise(lab); !name.empty()) found.push_back(name);
  if (found.empty())
    return fail(state_error("find the exercise in progress", "no exercise is started",
                            "start one: kn-lab exercise start NAME (kn-lab exercise list shows them)"));
  if (found.size() > 1)
    return fail(state_error("find the exercise in progress", "several exercises are started: " + join(found),
                            "name one: kn-lab exercise check NAME"));
  return find_exercise(found.front());
}

void print_step(const Exercise& ex, std::size_t i) {
  const ExerciseStep& s = ex.steps[i];
  fmt::print("Step {}/{} {}: {}\n", i + 1, ex.steps.size(), s.name, s.text);
  for (const std::string& c : s.commands) fmt::print("    {}\n", c);
}

Result<int> run_list() {
  std::vector<std::string> files = exercise_files();
  if (files.empty()) return fail(no_exercises());
  std::vector<std::string> current;
  for (const std::string& lab : list_labs())
    if (std::string name = recorded_exercise(lab); !name.empty()) current.push_back(name);
  fmt::print("{:<3} {:<16} {:<8} {:<8} {}\n", "#", "NAME", "LAB", "STARTED", "TITLE");
  for (const std::string& f : files) {
    auto ex = load_exercise_file(f);
    if (!ex) {
      fmt::print("{:<3} {:<16} {:<8} {:<8} (invalid: {})\n", exercise_number(f), stem_of(f), "", "", ex.error().detail);
      continue;
    }
    bool started = std::find(current.begin(), current.end(), ex->name) != current.end();
    fmt::print("{:<3} {:<16} {:<8} {:<8} {}\n", ex->number, ex->name, ex->lab, started ? "yes" : "", ex->title);
  }
  return 0;
}

Result<int> run_start(const ExerciseOptions& o, const GlobalOptions& g) {
  Exercise ex = KN_TRY(find_exercise(o.name));
  std::string lab = KN_TRY(lab_of(ex));
  if (!lab_is_up(lab)) {
    if (int rc = KN_TRY(bring_up_lab(ex.lab, g)); rc != 0) return rc;
    fmt::print("\n");
  } else {
    fmt::print("lab {} is up already: what is in it stays (kn-lab exercise reset brings it back to its start)\n\n", lab);
  }
  KN_TRY(record_exercise(lab, ex.name));
  fmt::print("Exercise {} {}: {} (lab {})\n{}\n\n", ex.number, ex.name, ex.title, lab, trim_text(ex.text));
  print_step(ex, 0);
  fmt::print("\nkn-lab exercise check tells which steps are done and what comes next.\n");
  return 0;
}

Result<int> run_reset(const ExerciseOptions& o, const GlobalOptions& g) {
  Exercise ex = KN_TRY(current_exercise(o.name));
  std::string lab = KN_TRY(lab_of(ex));
  KN_TRY(take_down_lab(lab));
  if (int rc = KN_TRY(bring_up_lab(ex.lab, g)); rc != 0) return rc;
  KN_TRY(record_exercise(lab, ex.name));
  fmt::print("\nExercise {} {} starts again on a fresh lab {}.\n", ex.number, ex.name, lab);
  print_step(ex, 0);
  return 0;
}

// Each step's checks, run step after step against the live lab.
struct StepResult {
  std::vector<check::Outcome> outcomes;
  bool done = false;
};

Result<std::vector<StepResult>> check_steps(const Exercise& ex, const LabView& view) {
  std::vector<StepResult> out;
  for (const ExerciseStep& step : ex.steps) {
    StepResult r;
    r.outcomes = KN_TRY(check::run_checks(view, step.checks));
    r.done = check::all_passed(r.outcomes);
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<std::size_t> first_not_done(const std::vector<StepResult>& results) {
  for (std::size_t i = 0; i < results.size(); ++i)
    if (!results[i].done) return i;
  return std::nullopt;
}

nlohmann::json check_json(const Exercise& ex, const std::string& lab, const std::vector<StepResult>& results) {
  nlohmann::json steps = nlohmann::json::array();
  for (std::size_t i = 0; i < results.size(); ++i)
    steps.push_back({{"number", i + 1}, {"name", ex.steps[i].name}, {"done", results[i].done},
                     {"checks", check::to_json(results[i].outcomes)}});
  auto next = first_not_done(results);
  nlohmann::json j{{"exercise", ex.name}, {"number", ex.number}, {"title", ex.title}, {"lab", lab},
                   {"done", !next}, {"steps", steps}, {"next", nullptr}};
  if (next) {
    const ExerciseStep& s = ex.steps[*next];
    j["next"] = {{"number", *next + 1}, {"name", s.name}, {"text", s.text}, {"commands", s.commands}};
  }
  return j;
}

void print_check(const Exercise& ex, const std::string& lab, const std::vector<StepResult>& results) {
  fmt::print("Exercise {} {}: {} (lab {})\n", ex.number, ex.name, ex.title, lab);
  std::size_t done = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].done) ++done;
    fmt::print("  {} {}. {}\n", results[i].done ? "\u2713" : "\u2717", i + 1, ex.steps[i].name);
  }
  auto next = first_not_done(results);
  if (!next) {
    fmt::print("\nAll {} steps are done: exercise {} is complete.\n", results.size(), ex.name);
    return;
  }
  fmt::print("\n{} of {} steps done. Next:\n", done, results.size());
  print_step(ex, *next);
  fmt::print("\n{}", check::render_text(results[*next].outcomes, ::isatty(STDOUT_FILENO) == 1));
}

Result<int> run_check(const ExerciseOptions& o) {
  Exercise ex = KN_TRY(current_exercise(o.name));
  std::string lab = KN_TRY(lab_of(ex));
  if (!lab_is_up(lab))
    return fail(state_error("check exercise " + ex.name, fmt::format("its lab {} is not up", lab),
                            "kn-lab exercise start " + ex.name));
  KN_TRY(require_root("check an exercise"));
  LabView view = KN_TRY(view_lab(lab));
  std::vector<StepResult> results = KN_TRY(check_steps(ex, view));
  if (o.output == "json") fmt::print("{}\n", check_json(ex, lab, results).dump(2));
  else print_check(ex, lab, results);
  return first_not_done(results) ? 1 : 0;
}

Result<int> run_exercise(const ExerciseOptions& o, const GlobalOptions& g) {
  if (o.verb == "list") return run_list();
  if (o.verb == "check") return run_check(o);
  if (o.verb == "reset") return run_reset(o, g);
  if (o.name.empty())
    return fail(input_error(SourceLocation{}, "exercise start needs the exercise's name or number",
                            "kn-lab exercise start services (kn-lab exercise list shows them)"));
  return run_start(o, g);
}

}  // namespace

// One command with a verb (as `rollout status`), so that completion and the man page list the
// verbs as they list any positional's values.
void register_exercise(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<ExerciseOptions>();
  CLI::App* cmd = app.add_subcommand("exercise", "The course's exercises, each step checked against the lab: list; start NAME "
                                                 "(brings up its lab); check [NAME] (exit 0 when every step is done); reset "
                                                 "(its lab down and up: back to step 1)");
  cmd->add_option("verb", o->verb, "list | start | check | reset")->required()->check(CLI::IsMember({"list", "start", "check", "reset"}));
  cmd->add_option("exercise", o->name, "Exercise name or number (check, reset: default the one started)");
  cmd->add_option("-o,--output", o->output, "json")->check(CLI::IsMember({"json"}));
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_exercise(*o, g); }; });
}

}  // namespace knlab
