#include "cli/change.hpp"

#include <fmt/core.h>

#include "lab/names.hpp"

namespace knlab {

std::optional<std::pair<std::string, std::string>> parse_ref(const std::string& ref) {
  auto slash = ref.find('/');
  if (slash == std::string::npos) return std::nullopt;
  std::string kind = ref.substr(0, slash), name = ref.substr(slash + 1);
  if (kind == "deploy" || kind == "deployment" || kind == "deployments") kind = "deployment";
  else if (kind == "po" || kind == "pod" || kind == "pods") kind = "pod";
  else if (kind == "svc" || kind == "service" || kind == "services") kind = "service";
  else return std::nullopt;
  return std::pair{kind, name};
}

Status check_cli_name(const std::string& name, std::string_view what) {
  if (auto problem = check_label(name, kMaxObjectNameLength))
    return fail(input_error(SourceLocation{}, fmt::format("{} name \"{}\" {}", what, name, *problem),
                            "use lowercase letters, digits and '-', at most 63 characters"));
  return {};
}

void print_change(std::string_view what, const ChangeResult& r) {
  fmt::print("{}", what);
  std::string detail;
  if (!r.added.empty()) detail += fmt::format("{} pod{} started", r.added.size(), r.added.size() == 1 ? "" : "s");
  if (!r.removed.empty())
    detail += fmt::format("{}{} pod{} removed", detail.empty() ? "" : ", ", r.removed.size(), r.removed.size() == 1 ? "" : "s");
  if (r.tables) detail += fmt::format("{}{} iptables table{} replaced", detail.empty() ? "" : ", ", r.tables, r.tables == 1 ? "" : "s");
  if (detail.empty()) detail = "nothing in the kernel changed";
  fmt::print(" ({}, {:.0f} ms)\n", detail, r.seconds * 1000);
}

Result<std::string> lab_to_change(const std::string& lab_option, std::string_view command) {
  if (!lab_option.empty()) return lab_option;
  return default_lab(command);
}

UpHooks verbose_hooks(const GlobalOptions& g) {
  UpHooks h;
  if (g.verbosity > 0) h.on_op = [](const Op& op) { fmt::print(stderr, "+ {}\n", op_display(op)); };
  return h;
}

}  // namespace knlab
