// libFuzzer target: the manifest loader must never crash, hang or leak on any input, and what it
// accepts must read back the same from its record (l7_yaml), as a running lab relies on.
// Built by scripts/fuzz.sh with clang (-fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lab/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = knlab::parse_manifests(text, "fuzz.yaml");
  if (!m) {
    (void)m.error().format();  // the message path must be as robust as the parser
    return 0;
  }
  std::string record = knlab::l7_yaml(m->l7);
  auto again = knlab::parse_manifests(record, "record.yaml");
  if (!again || knlab::l7_yaml(again->l7) != record) __builtin_trap();

  knlab::Lab lab;
  lab.nodes.resize(2);
  lab.nodes[0].name = "node1";
  lab.nodes[1].name = "node2";
  if (knlab::apply_manifest(lab, *m)) {
    std::vector<std::string> missing;
    knlab::delete_manifest(lab, *m, missing);
    if (!missing.empty() || !lab.pods.empty() || !lab.l7.empty()) __builtin_trap();
  }
  return 0;
}
