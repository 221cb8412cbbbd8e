// libFuzzer target: the lab loader must never crash, hang or leak on any input.
// Built by scripts/fuzz.sh with clang (-fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lab/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto lab = knlab::parse_lab(text, "fuzz.toml");
  if (!lab) (void)lab.error().format();  // the message path must be as robust as the parser
  return 0;
}
