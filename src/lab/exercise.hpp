// A course exercise (exercises/NN-name.toml): an intro, then steps, each with its instruction,
// the kubectl commands that do it, and the checks (lab/checks.hpp) that say it is done. Checks
// look at the lab's objects and kernel, never at what was typed: any way to the right result
// passes.
//
//   [exercise]  name, title, lab (a lab of labs/), text
//   [[step]]    name, text, commands = ["kubectl ..."], [[step.check]] ...
//
// Like the lab loader: no side effects, every problem an input error at file:line:column.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "lab/checks.hpp"

namespace knlab {

struct ExerciseStep {
  std::string name;
  std::string text;
  std::vector<std::string> commands;
  std::vector<CheckSpec> checks;
  SourceLocation where;
};

struct Exercise {
  std::string name;   // what `exercise start` takes, with the number and the file's stem
  std::string title;
  std::string lab;    // the lab it runs on: a name from labs/
  std::string text;   // the intro
  std::vector<ExerciseStep> steps;
  std::string file;
  int number = 0;     // the file stem's leading digits ("01-services" -> 1), 0 without
};

Result<Exercise> parse_exercise(std::string_view text, const std::string& file);
// Reads `path` and parses it; a missing or unreadable file is an input error too.
Result<Exercise> load_exercise_file(const std::string& path);

// "01-services.toml" -> 1; 0 when the stem does not start with digits.
int exercise_number(std::string_view path);

}  // namespace knlab
