#include "cli/change.hpp"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <iostream>
#include <iterator>

#include "core/text.hpp"
#include "lab/kinds.hpp"
#include "lab/names.hpp"

namespace knlab {

Status check_cli_name(const std::string& name, std::string_view what) {
  if (auto problem = check_label(name, kMaxObjectNameLength))
    return fail(input_error(SourceLocation{}, fmt::format("{} name \"{}\" {}", what, name, *problem),
                            "use lowercase letters, digits and '-', at most 63 characters"));
  return {};
}

void print_change(std::string_view what, const ChangeResult& r) {
  if (r.dry_run) {
    for (const Op& op : r.ops) fmt::print("{}\n", op_display(op));
    fmt::print("# dry run: {} ({} ops; nothing was changed)\n", what, r.ops.size());
    return;
  }
  fmt::print("{}", what);
  std::string detail;
  if (!r.added.empty()) detail += fmt::format("{} pod{} started", r.added.size(), r.added.size() == 1 ? "" : "s");
  if (!r.removed.empty())
    detail += fmt::format("{}{} pod{} removed", detail.empty() ? "" : ", ", r.removed.size(), r.removed.size() == 1 ? "" : "s");
  if (r.nft_tables)
    detail += fmt::format("{}{} nftables table{} updated", detail.empty() ? "" : ", ", r.nft_tables, r.nft_tables == 1 ? "" : "s");
  if (r.tables) detail += fmt::format("{}{} iptables table{} replaced", detail.empty() ? "" : ", ", r.tables, r.tables == 1 ? "" : "s");
  if (r.ipsets) detail += fmt::format("{}ipsets updated", detail.empty() ? "" : ", ");
  if (!r.reloaded.empty())
    detail += fmt::format("{}nginx reloaded in {}", detail.empty() ? "" : ", ", fmt::join(r.reloaded, ", "));
  if (detail.empty()) detail = "nothing in the kernel changed";
  fmt::print(" ({}, {:.0f} ms)\n", detail, r.seconds * 1000);
}

Result<std::string> lab_to_change(const std::string& lab_option, std::string_view command) {
  if (!lab_option.empty()) return lab_option;
  return default_lab(command);
}

Result<Manifest> load_manifest_files(const std::vector<std::string>& files) {
  Manifest all;
  for (const std::string& f : files) {
    Manifest m;
    if (f == "-") {  // kubectl's -f -: the manifests come on stdin
      std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
      m = KN_TRY(parse_manifests(text, "<stdin>"));
    } else {
      m = KN_TRY(load_manifests(f));
    }
    auto append = [](auto& to, auto& from) { to.insert(to.end(), from.begin(), from.end()); };
    append(all.objects, m.objects);
    append(all.pods, m.pods);
    append(all.deployments, m.deployments);
    append(all.services, m.services);
    append(all.l7.namespaces, m.l7.namespaces);
    append(all.l7.secrets, m.l7.secrets);
    append(all.l7.ingress_classes, m.l7.ingress_classes);
    append(all.l7.ingresses, m.l7.ingresses);
    append(all.l7.gateway_classes, m.l7.gateway_classes);
    append(all.l7.gateways, m.l7.gateways);
    append(all.l7.http_routes, m.l7.http_routes);
    append(all.l7.l4_routes, m.l7.l4_routes);
    append(all.l7.reference_grants, m.l7.reference_grants);
    append(all.l7.network_policies, m.l7.network_policies);
  }
  return all;
}

UpHooks verbose_hooks(const GlobalOptions& g) {
  UpHooks h;
  h.dry_run = g.dry_run;
  if (g.verbosity > 0) h.on_op = [](const Op& op) { fmt::print(stderr, "+ {}\n", op_display(op)); };
  return h;
}

}  // namespace knlab
