// kn-lab up <lab> [--dry-run]
#include <fmt/core.h>

#include <fstream>
#include <sstream>

#include "cli/cli.hpp"
#include "lab/loader.hpp"
#include "lab/writer.hpp"
#include "net/executor.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/state.hpp"
#include "plan/naming.hpp"

namespace knlab {

namespace {

struct UpOptions {
  std::string lab;
  std::string cni;
  std::string proxy_mode;
  bool dry_run = false;
};

// `checks`: how many [[check]] the lab file declares.
void print_summary(const UpResult& r, std::size_t checks) {
  const LabPlan& p = r.plan;
  fmt::print("lab {} is up in {:.0f} ms: {} node{}, {} pod{}\n", p.lab, r.seconds * 1000, p.nodes.size(),
             p.nodes.size() == 1 ? "" : "s", p.pods.size(), p.pods.size() == 1 ? "" : "s");
  if (!p.description.empty()) fmt::print("  {}\n", p.description);
  for (auto& n : p.nodes) {
    fmt::print("  node {:<10} netns {:<24} cni0 {}\n", n.name, n.netns, n.bridge_address.str());
    for (auto& pod : p.pods)
      if (pod.node == n.name)
        fmt::print("    pod {:<12} netns {:<24} eth0 {:<16} <-> {} on cni0\n", pod.name, pod.netns,
                   pod.address.str(), pod.host_veth);
  }
  fmt::print("\nTry:\n");
  if (!p.pods.empty()) {
    const PodPlan& a = p.pods.front();
    fmt::print("  sudo kn-lab get pods -o wide\n");
    fmt::print("  sudo kn-lab exec {} -- ip addr show eth0\n", a.name);
    if (p.pods.size() > 1) fmt::print("  sudo kn-lab exec {} -- ping -c 3 {}\n", a.name, p.pods[1].address.addr.str());
  }
  if (!p.nodes.empty()) fmt::print("  sudo ip netns exec {} bridge link\n", p.nodes.front().netns);
  if (!p.nodes.empty() && !p.services.empty())
    fmt::print("  sudo kn-lab exec {} -- {:<22} # kube-proxy's {} rules\n", p.nodes.front().name,
               p.cluster.proxy_mode == ProxyMode::kNftables ? "nft list table ip kube-proxy" : "iptables-legacy-save -t nat",
               to_string(p.cluster.proxy_mode));
  if (checks) fmt::print("  sudo kn-lab check                  # {} check{} of what this lab shows (docs/check.md)\n", checks, checks == 1 ? "" : "s");
  fmt::print("  sudo kn-lab graph                  # the lab as a picture (-o svg > lab.svg; docs/graph.md)\n");
  fmt::print("  sudo kn-lab down {}\n", p.lab);
}

// `kn-lab up <lab>` of a lab that is not running but whose desired state was kept (a reboot):
// bring it back as it was, live changes included, pods with the names and addresses they had.
Result<int> run_restore(const UpOptions& o, const GlobalOptions& g, SavedLab saved) {
  UpHooks options;
  options.cni_override = saved.state.cni_override;
  options.proxy_mode_override = saved.state.proxy_mode_override;
  options.memory = &saved.state.memory;
  if (g.verbosity > 0) options.on_op = [](const Op& op) { fmt::print(stderr, "+ {}\n", op_display(op)); };
  fmt::print("restoring lab {} from its kept desired state ({})\n", o.lab, saved_dir(o.lab));
  saved.lab.source = saved.state.source;
  UpResult r = KN_TRY(lab_up(saved.lab, saved.lab_text, options));
  for (auto& w : r.warnings) fmt::print(stderr, "warning: {}\n", w);
  print_summary(r, saved.lab.checks.size());
  return 0;
}

Result<int> run_up(const UpOptions& o, const GlobalOptions& g) {
  auto found = find_lab_file(o.lab);
  if (!found && o.cni.empty() && o.proxy_mode.empty() && !o.dry_run && !load_state(o.lab))
    if (auto saved = load_saved_lab(o.lab)) return run_restore(o, g, std::move(*saved));
  std::string path = KN_TRY(std::move(found));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  LabOverrides overrides;
  if (!o.cni.empty()) overrides.cni = parse_cni_mode(o.cni);
  if (!o.proxy_mode.empty()) overrides.proxy_mode = parse_proxy_mode(o.proxy_mode);
  Lab lab = KN_TRY(parse_lab(text.str(), path, overrides));
  // A lab that lists manifests is recorded as the lab they make (its objects written out).
  std::string lab_text = text.str();
  if (!lab.manifests.empty()) {
    KN_TRY(apply_lab_manifests(lab));
    lab_text = write_lab(lab);
    // The lab and its manifests' objects together, validated as one (names, NodePorts, ...).
    auto checked = parse_lab(lab_text, path, overrides);
    if (!checked) {
      Error e = checked.error();
      e.where = SourceLocation{path, 0, 0};  // a place in the combined text would mislead
      e.detail = "with its manifests applied: " + e.detail;
      return fail(std::move(e));
    }
    checked->l7 = std::move(lab.l7);
    lab = std::move(*checked);
  }

  if (o.dry_run) {
    // What `up` would do, as commands, without root and without touching anything.
    ImageCatalogue images = KN_TRY(load_image_catalogue());
    LabPlan plan = KN_TRY(plan_lab(lab, images));
    RecordingExecutor rec;
    Transaction txn(rec, [](const Op& op) { fmt::print("{}\n", op_display(op)); });
    KN_TRY(txn.run_all(up_ops(plan)));
    txn.commit();
    return 0;
  }

  UpHooks options;
  options.cni_override = o.cni;
  options.proxy_mode_override = o.proxy_mode;
  if (g.verbosity > 0) options.on_op = [](const Op& op) { fmt::print(stderr, "+ {}\n", op_display(op)); };
  UpResult r = KN_TRY(lab_up(lab, lab_text, options));
  if (r.already_up) {
    if (r.drift.empty() && r.unrepaired.empty()) {
      fmt::print("lab {} is already up and nothing drifted: nothing changed (`kn-lab down {}` to take it down)\n", lab.name, lab.name);
      return 0;
    }
    fmt::print("lab {} is already up; it had drifted:\n", lab.name);
    for (auto& d : r.drift) fmt::print("  repaired: {}\n", d);
    for (auto& d : r.unrepaired) fmt::print("  NOT repaired: {}\n", d);
    if (!r.unrepaired.empty()) {
      fmt::print("  to rebuild it: sudo kn-lab down {0} && sudo kn-lab up {1}\n", lab.name, o.lab);
      return 1;
    }
    return 0;
  }
  for (auto& w : r.warnings) fmt::print(stderr, "warning: {}\n", w);
  print_summary(r, lab.checks.size());
  return 0;
}

}  // namespace

Result<int> bring_up_lab(const std::string& lab, const GlobalOptions& g) {
  UpOptions o;
  o.lab = lab;
  return run_up(o, g);
}

void register_up(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<UpOptions>();
  CLI::App* cmd = app.add_subcommand("up", "Bring a lab up from a lab file (a path, or a name from `kn-lab labs`)");
  cmd->add_option("lab", o->lab, "Lab file or lab name")->required();
  cmd->add_flag("--dry-run", o->dry_run, "Print the commands that would build the lab; change nothing");
  cmd->add_option("--cni", o->cni, "Build the lab with this CNI mode instead of the file's")
      ->check(CLI::IsMember({"vxlan", "host-gw", "bgp"}));
  cmd->add_option("--proxy-mode", o->proxy_mode, "Program Services with this kube-proxy mode instead of the file's")
      ->check(CLI::IsMember({"iptables", "nftables"}));
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_up(*o, g); }; });
}

}  // namespace knlab
