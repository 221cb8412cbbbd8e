// kn-lab's entry point: the only code outside the knlab library. Errors travel up as values
// and are printed here, once.
#include <cstdio>

#include "cli/cli.hpp"

int main(int argc, char** argv) {
  auto code = knlab::run_cli(argc, argv);
  if (!code) {
    std::fprintf(stderr, "%s\n", code.error().format().c_str());
    return code.error().kind == knlab::ErrorKind::kInput ? 2 : 1;
  }
  return *code;
}
