#include "lab/exercise.hpp"

#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "lab/names.hpp"
#include "lab/toml_reader.hpp"

namespace knlab {

namespace {

// A name that becomes a command-line argument and part of a record: a lowercase RFC 1123 label.
Status check_exercise_name(const TableReader& r, std::string_view key, const std::string& value, std::string_view what) {
  if (auto wrong = check_label(value, kMaxObjectNameLength))
    return fail(input_error(r.where_of(key), fmt::format("{} name \"{}\" in {} {}", what, value, r.context(), *wrong),
                            "use lowercase letters, digits and '-', like \"services\""));
  return {};
}

Status read_header(const TableReader& top, const std::string& file, Exercise& ex) {
  const toml::table* t = top.table("exercise");
  if (!t)
    return fail(input_error(SourceLocation{file, 1, 1}, "the exercise file has no [exercise] table",
                            "start the file with [exercise] and name, title, lab, text"));
  TableReader r(*t, "[exercise]", file, {"name", "title", "lab", "text"});
  KN_TRY(r.check_keys());
  ex.name = KN_TRY(r.required_string("name", "\"services\""));
  KN_TRY(check_exercise_name(r, "name", ex.name, "exercise"));
  ex.title = KN_TRY(r.required_string("title", "\"Services: ClusterIP, DNS, NodePort\""));
  ex.lab = KN_TRY(r.required_string("lab", "\"course\" (a lab from `kn-lab labs`)"));
  if (auto wrong = check_label(ex.lab, kMaxLabNameLength))
    return fail(input_error(r.where_of("lab"), fmt::format("lab \"{}\" in [exercise] {}", ex.lab, *wrong),
                            "name a lab from `kn-lab labs`, like \"course\""));
  ex.text = KN_TRY(r.string("text")).value_or("");
  return {};
}

Result<ExerciseStep> read_step(const toml::table& t, const std::string& file, std::size_t index) {
  TableReader r(t, fmt::format("[[step]] {}", index + 1), file, {"name", "text", "commands", "check"});
  KN_TRY(r.check_keys());
  ExerciseStep step;
  step.where = r.where();
  step.name = KN_TRY(r.required_string("name", "\"expose\""));
  KN_TRY(check_exercise_name(r, "name", step.name, "step"));
  step.text = KN_TRY(r.required_string("text", "\"what the learner does\""));
  step.commands = KN_TRY(r.string_array("commands"));
  if (const toml::node* n = t.get("check"); n && !n->is_array_of_tables())
    return fail(r.type_error("check", *n, "an array of tables: write [[step.check]]"));
  step.checks = KN_TRY(read_checks(t, "check", fmt::format("[[step.check]] of step '{}'", step.name), file));
  if (step.checks.empty())
    return fail(input_error(step.where, fmt::format("step '{}' has no check", step.name),
                            "add [[step.check]] tables: what must be true of the lab when the step is done"));
  return step;
}

}  // namespace

int exercise_number(std::string_view path) {
  std::string stem = std::filesystem::path(path).stem().string();
  int n = 0;
  std::size_t i = 0;
  for (; i < stem.size() && i < 4 && stem[i] >= '0' && stem[i] <= '9'; ++i) n = n * 10 + (stem[i] - '0');
  return i == 0 ? 0 : n;
}

Result<Exercise> parse_exercise(std::string_view text, const std::string& file) {
  toml::table root = KN_TRY(parse_toml(text, file));
  TableReader top(root, "the exercise file", file, {"exercise", "step"});
  KN_TRY(top.check_keys());
  Exercise ex;
  ex.file = file;
  ex.number = exercise_number(file);
  KN_TRY(read_header(top, file, ex));
  std::set<std::string> names;
  std::vector<const toml::table*> steps = KN_TRY(top.tables("step"));
  for (std::size_t i = 0; i < steps.size(); ++i) {
    ExerciseStep step = KN_TRY(read_step(*steps[i], file, i));
    if (!names.insert(step.name).second)
      return fail(input_error(step.where, fmt::format("a second step named '{}'", step.name), "give each step its own name"));
    ex.steps.push_back(std::move(step));
  }
  if (ex.steps.empty())
    return fail(input_error(SourceLocation{file, 1, 1}, "the exercise has no [[step]]",
                            "add [[step]] tables with name, text, commands and [[step.check]]"));
  return ex;
}

Result<Exercise> load_exercise_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Error e = input_error(SourceLocation{path, 0, 0}, "cannot read the exercise file",
                          "give the name of an exercise from `kn-lab exercise list`");
    e.err = errno;
    return fail(std::move(e));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_exercise(text.str(), path);
}

}  // namespace knlab
