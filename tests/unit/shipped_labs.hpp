// The plan of a lab shipped in labs/, with its manifests and the image catalogue, as `up` makes
// it: for unit tests that check what the shipped labs produce.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "lab/images.hpp"
#include "lab/loader.hpp"
#include "plan/plan.hpp"
#include "runtime/lifecycle.hpp"

namespace knlab::test {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline LabPlan shipped_lab(const std::string& file) {
  auto lab = load_lab_file(std::string(KNLAB_SOURCE_DIR "/labs/") + file);
  REQUIRE_MESSAGE(lab, (lab ? "" : lab.error().format()));
  REQUIRE(apply_lab_manifests(*lab));
  auto images = parse_images(read_text(KNLAB_SOURCE_DIR "/data/images.toml"), "images.toml");
  REQUIRE(images);
  auto plan = plan_lab(*lab, *images);
  REQUIRE_MESSAGE(plan, (plan ? "" : plan.error().format()));
  return *plan;
}

}  // namespace knlab::test
