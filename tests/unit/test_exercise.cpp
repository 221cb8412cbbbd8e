#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <string>

#include "lab/exercise.hpp"
#include "lab/loader.hpp"

using namespace knlab;

namespace {

const char* kGood = R"([exercise]
name = "demo"
title = "A demo"
lab = "course"
text = "intro"

[[step]]
name = "run"
text = "Run a pod."
commands = ["kubectl run web --image=nginx"]
  [[step.check]]
  name = "running"
  object = "pod/web"
  field = "{.status.phase}"
  equals = "Running"
  hint = "kubectl run web --image=nginx"

[[step]]
name = "expose"
text = "Expose it."
  [[step.check]]
  name = "answers"
  from = "node1"
  to = "svc/web"
  expect = "reach"
)";

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("exercise: a good file gives its steps, commands and checks") {
  auto ex = parse_exercise(kGood, "03-demo.toml");
  REQUIRE_MESSAGE(ex, (ex ? "" : ex.error().format()));
  CHECK(ex->name == "demo");
  CHECK(ex->lab == "course");
  CHECK(ex->number == 3);
  REQUIRE(ex->steps.size() == 2);
  CHECK(ex->steps[0].commands == std::vector<std::string>{"kubectl run web --image=nginx"});
  REQUIRE(ex->steps[0].checks.size() == 1);
  CHECK(ex->steps[0].checks[0].kind == CheckKind::kObject);
  CHECK(ex->steps[1].checks[0].kind == CheckKind::kTraffic);
  CHECK(ex->steps[1].commands.empty());
}

TEST_CASE("exercise: every file of exercises/ loads, on a lab of labs/") {
  std::set<std::string> names;
  int files = 0;
  std::set<std::filesystem::path> paths;
  for (auto& e : std::filesystem::directory_iterator(KNLAB_SOURCE_DIR "/exercises"))
    if (e.path().extension() == ".toml") paths.insert(e.path());
  for (auto& path : paths) {
    ++files;
    CAPTURE(path.string());
    auto ex = load_exercise_file(path.string());
    REQUIRE_MESSAGE(ex, (ex ? "" : ex.error().format()));
    CHECK(ex->number == files);  // numbered 01, 02, ... in order
    CHECK(names.insert(ex->name).second);
    CHECK(!ex->steps.empty());
    for (auto& s : ex->steps) {
      CHECK(!s.commands.empty());
      for (auto& c : s.checks) CHECK_MESSAGE(!c.hint.empty(), (s.name + "/" + c.name + " has no hint"));
    }
    CHECK(load_lab_file(std::string(KNLAB_SOURCE_DIR "/labs/") + ex->lab + ".toml"));
  }
  CHECK(files == 5);
}

TEST_CASE("exercise: an unknown key is refused at its line:column") {
  auto bad = parse_exercise(replace(kGood, "text = \"Expose it.\"", "text = \"Expose it.\"\ncommand = [\"x\"]"), "x.toml");
  REQUIRE(!bad);
  CHECK(bad.error().where.str() == "x.toml:21:1");
  CHECK(bad.error().detail == "unknown key 'command' in [[step]] 2");
  CHECK(bad.error().hint.find("did you mean 'commands'?") != std::string::npos);

  auto top = parse_exercise(replace(kGood, "lab = \"course\"", "lab = \"course\"\n  labs = 1"), "x.toml");
  REQUIRE(!top);
  CHECK(top.error().where.str() == "x.toml:5:3");
  CHECK(top.error().detail == "unknown key 'labs' in [exercise]");

  auto in_check = parse_exercise(replace(kGood, "  equals = \"Running\"", "  equal = \"Running\""), "x.toml");
  REQUIRE(!in_check);
  CHECK(in_check.error().where.line == 15);
  CHECK(in_check.error().detail.find("unknown key 'equal'") != std::string::npos);
}

TEST_CASE("exercise: what is refused") {
  auto no_header = parse_exercise("[[step]]\nname = \"a\"\n", "x.toml");
  REQUIRE(!no_header);
  CHECK(no_header.error().detail == "the exercise file has no [exercise] table");

  auto bad_name = parse_exercise(replace(kGood, "name = \"demo\"", "name = \"../demo\""), "x.toml");
  REQUIRE(!bad_name);
  CHECK(bad_name.error().where.str() == "x.toml:2:8");

  auto twice = parse_exercise(replace(kGood, "name = \"expose\"", "name = \"run\""), "x.toml");
  REQUIRE(!twice);
  CHECK(twice.error().detail == "a second step named 'run'");

  auto no_check = parse_exercise(std::string(kGood).substr(0, std::string(kGood).find("  [[step.check]]\n  name = \"answers\"")), "x.toml");
  REQUIRE(!no_check);
  CHECK(no_check.error().detail == "step 'expose' has no check");

  auto syntax = parse_exercise("[exercise\n", "x.toml");
  REQUIRE(!syntax);
  CHECK(syntax.error().where.line == 1);
  CHECK(syntax.error().detail.starts_with("TOML syntax error"));

  auto no_steps = parse_exercise("[exercise]\nname = \"a\"\ntitle = \"t\"\nlab = \"course\"\n", "x.toml");
  REQUIRE(!no_steps);
  CHECK(no_steps.error().detail == "the exercise has no [[step]]");
}

TEST_CASE("exercise: the number comes from the file's stem") {
  CHECK(exercise_number("exercises/01-services.toml") == 1);
  CHECK(exercise_number("/x/12-y.toml") == 12);
  CHECK(exercise_number("services.toml") == 0);
}
