// kn-lab check [LAB] [NAME...] [-o json]: the checks a lab file declares ([[check]], see
// lab/check_spec.hpp) run against the running lab (src/check); exit 0 only when all pass.
#include <fmt/core.h>
#include <unistd.h>

#include <optional>
#include <set>

#include "check/check.hpp"
#include "cli/cli.hpp"
#include "core/text.hpp"
#include "lab/loader.hpp"
#include "lab/names.hpp"
#include "runtime/lifecycle.hpp"

namespace knlab {

namespace {

struct CheckOptions {
  std::vector<std::string> args;  // [LAB] [NAME...]
  std::string lab;
  std::string output;
  int parallel = 8;
};

// The lab file whose checks run: a lab file or lab name given first, or the file the running lab
// came from. The rest of the arguments name checks.
struct Target {
  std::string lab;         // the running lab
  std::optional<Lab> file; // its lab file, when given (else read from the lab's record)
  std::vector<std::string> names;
};

Result<Target> target_of(const CheckOptions& o) {
  Target t;
  std::vector<std::string> rest = o.args;
  if (!rest.empty() && o.lab.empty()) {
    if (auto file = find_lab_file(rest.front())) {
      t.file = KN_TRY(load_lab_file(*file, {}));
      t.lab = t.file->name;
      rest.erase(rest.begin());
    }
  }
  if (t.lab.empty()) t.lab = o.lab.empty() ? KN_TRY(default_lab("check")) : o.lab;
  t.names = std::move(rest);
  return t;
}

// The named checks and those they run after; all of them when none is named.
Result<std::vector<CheckSpec>> select(const std::vector<CheckSpec>& all, const std::vector<std::string>& names, const std::string& file) {
  if (names.empty()) return all;
  std::vector<std::string_view> known;
  for (const CheckSpec& c : all) known.push_back(c.name);
  std::set<std::string> wanted;
  std::vector<std::string> todo = names;
  while (!todo.empty()) {
    std::string n = todo.back();
    todo.pop_back();
    auto it = std::find_if(all.begin(), all.end(), [&](const CheckSpec& c) { return c.name == n; });
    if (it == all.end())
      return fail(input_error(SourceLocation{}, fmt::format("{} has no check \"{}\"", file, n), did_you_mean(n, known) + "checks: " + join(known)));
    if (wanted.insert(n).second) todo.insert(todo.end(), it->after.begin(), it->after.end());
  }
  std::vector<CheckSpec> out;
  for (const CheckSpec& c : all)
    if (wanted.contains(c.name)) out.push_back(c);
  return out;
}

Result<int> run_check(const CheckOptions& o) {
  KN_TRY(require_root("check"));
  Target t = KN_TRY(target_of(o));
  LabView v = KN_TRY(view_lab(t.lab));
  Lab lab = t.file ? std::move(*t.file) : KN_TRY(load_lab_file(v.state.source, {}));
  if (lab.name != t.lab)
    return fail(input_error(SourceLocation{lab.source, 0, 0}, fmt::format("{} is lab \"{}\", not the running lab \"{}\"", lab.source, lab.name, t.lab)));
  if (lab.checks.empty())
    return fail(input_error(SourceLocation{lab.source, 0, 0}, "the lab file declares no checks", "add [[check]] tables (docs/check.md)"));
  std::vector<CheckSpec> checks = KN_TRY(select(lab.checks, t.names, lab.source));
  std::vector<check::Outcome> out = KN_TRY(check::run_checks(v, checks, {o.parallel, {}}));
  if (o.output == "json") fmt::print("{}\n", check::to_json(out).dump(2));
  else fmt::print("{}", check::render_text(out, ::isatty(STDOUT_FILENO) == 1));
  return check::all_passed(out) ? 0 : 1;
}

}  // namespace

void register_check(CLI::App& app, const GlobalOptions&, Action& action) {
  auto o = std::make_shared<CheckOptions>();
  CLI::App* cmd = app.add_subcommand("check", "Run the checks a lab file declares against the running lab: what works, and hints for what does not");
  cmd->add_option("args", o->args, "[LAB] [NAME...]: a lab (file or name; default: the lab that is up) and the checks to run (default: all)");
  cmd->add_option("-o,--output", o->output, "json")->check(CLI::IsMember({"json"}));
  cmd->add_option("--parallel", o->parallel, "Checks run at once")->check(CLI::Range(1, 64));
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &action] { action = [o] { return run_check(*o); }; });
}

}  // namespace knlab
