// kn-lab get TYPE[,TYPE...] [NAME...] | TYPE/NAME... | all [-n NS | -A] [-l SELECTOR]
// [-o wide|json|yaml|name|jsonpath=...|custom-columns=...] [--no-headers] [--show-labels] [-L KEY]: kubectl's argument forms
// and output, printed from the lab's API objects (src/kube).
#include <fmt/core.h>

#include <ctime>
#include <set>

#include "cli/cli.hpp"
#include "cli/columns.hpp"
#include "cli/resources.hpp"

namespace knlab {

namespace {

struct GetOptions {
  std::vector<std::string> args;
  std::string output;
  std::string lab;
  std::string ns = "default";
  std::string selector;
  std::string field_selector;
  std::vector<std::string> label_columns;
  bool all_namespaces = false;
  bool no_headers = false;
  bool show_labels = false;
};

bool is_table(const views::OutputSpec& spec) {
  return spec.format == views::OutputFormat::kTable || spec.format == views::OutputFormat::kWide;
}

Result<int> print_found(const std::vector<Found>& found, const std::vector<ResourceRequest>& reqs, const GetOptions& o,
                        const views::OutputSpec& spec) {
  views::PrintOptions p;
  p.no_headers = o.no_headers;
  p.show_labels = o.show_labels;
  p.label_columns = o.label_columns;
  p.now = static_cast<std::int64_t>(std::time(nullptr));
  std::vector<Json> all;
  for (const Found& f : found) all.insert(all.end(), f.objects.begin(), f.objects.end());
  if (!is_table(spec)) {
    p.single = reqs.size() == 1 && reqs.front().names.size() == 1 && all.size() == 1;
    fmt::print("{}", KN_TRY(views::print(spec, all, {}, p)));
    return 0;
  }
  if (all.empty()) {
    fmt::print(stderr, "No resources found{}.\n", o.all_namespaces ? "" : fmt::format(" in {} namespace", o.ns));
    return 0;
  }
  bool first = true;
  for (const Found& f : found) {
    if (f.objects.empty()) continue;
    p.with_namespace = o.all_namespaces && f.kind->namespaced;
    p.kind_prefix = found.size() > 1 ? f.kind->qualified() : "";
    fmt::print("{}{}", first ? "" : "\n", KN_TRY(views::print(spec, f.objects, columns_for(f.kind->id), p)));
    first = false;
  }
  return 0;
}

Result<int> run_get(const GetOptions& o) {
  views::OutputSpec spec = KN_TRY(views::parse_output(o.output));
  std::vector<ResourceRequest> reqs = KN_TRY(resource_requests(o.args, "get"));
  ResourceScope scope{o.ns, o.all_namespaces, KN_TRY(Selector::parse(o.selector)), false, o.field_selector};
  KN_TRY(check_field_selector(reqs, scope));  // before the lab is read
  std::string lab = o.lab.empty() ? KN_TRY(default_lab("get")) : o.lab;
  LabView v = KN_TRY(view_lab(lab));
  std::vector<Found> found = KN_TRY(find_objects(v, reqs, scope, "get"));
  return print_found(found, reqs, o, spec);
}

}  // namespace

void register_get(CLI::App& app, const GlobalOptions&, Action& action) {
  auto o = std::make_shared<GetOptions>();
  CLI::App* cmd = app.add_subcommand("get", "Display objects of a running lab, as kubectl get does (TYPE [NAME...], TYPE/NAME, TYPE1,TYPE2, all)");
  cmd->add_option("args", o->args, "TYPE [NAME...] | TYPE/NAME... | TYPE1,TYPE2 | all")->required();
  add_namespace_option(cmd, o->ns);
  cmd->add_flag("-A,--all-namespaces", o->all_namespaces, "Every Kubernetes namespace");
  cmd->add_option("-l,--selector", o->selector, "Label selector: key=value, key!=value, key, !key, key in (a,b), key notin (a,b)");
  cmd->add_option("--field-selector", o->field_selector, "Field selector: status.phase=Running, spec.nodeName=node1, metadata.name!=web, ...");
  cmd->add_option("-o,--output", o->output, "wide | json | yaml | name | jsonpath= | jsonpath-as-json= | custom-columns=");
  cmd->add_flag("--no-headers", o->no_headers, "Print the table without its header line");
  cmd->add_flag("--show-labels", o->show_labels, "Add a LABELS column");
  cmd->add_option("-L,--label-columns", o->label_columns, "Add a column with the value of this label (repeatable, or a,b)")->delimiter(',');
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &action] { action = [o] { return run_get(*o); }; });
}

}  // namespace knlab
