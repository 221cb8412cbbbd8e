// kn-lab run NAME --image=IMAGE [--port=P] [--expose] [--labels=k=v,...] [--env=K=V]...
// [--restart=Always|OnFailure|Never] [--rm] [-i] [-t] [--command] [-- ARGS...]: kubectl run.
// One pod, labelled run=NAME (or --labels), on the node with the fewest pods.
//   - `-- ARGS` replace the image's behaviour (with or without --command: kn-lab's images have
//     no entrypoint of their own), e.g. `run probe --image=alpine --restart=Never -- wget -qO- web`;
//     their output is the pod's log.
//   - `-i` attaches: the pod runs, ARGS (default: sh) run inside it on this terminal (with -t,
//     the shell is interactive), and with `--rm` the pod goes when they end: the course's
//     `kubectl run test --rm -it --image=alpine -- sh`.
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>

#include "cli/change.hpp"
#include "cli/labels.hpp"
#include "lab/names.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/process.hpp"

namespace knlab {

namespace {

struct RunOptions {
  std::string name;
  std::string image;
  int port = 0;
  bool expose = false;
  std::string labels;
  std::vector<std::string> env;
  std::string restart = "Always";
  bool rm = false, stdin_ = false, tty = false, command = false;
  std::vector<std::string> args;
  std::string ns = "default";
  std::string lab;
};

// The scheduler's simplest fair choice: the node running the fewest pods now.
std::string least_loaded_node(const Lab& lab) {
  std::map<std::string, int> load;
  for (auto& n : lab.nodes) load[n.name] = 0;
  for (auto& p : lab.pods) ++load[p.node];
  for (auto& d : lab.deployments)
    for (int i = 0; i < d.replicas; ++i) ++load[lab.nodes[static_cast<std::size_t>(i) % lab.nodes.size()].name];
  return std::min_element(lab.nodes.begin(), lab.nodes.end(), [&](const NodeSpec& a, const NodeSpec& b) {
           return load[a.name] < load[b.name];
         })->name;
}

Result<PodSpec> run_pod(const RunOptions& o) {
  PodSpec p;
  p.name = o.name;
  p.ns = o.ns;
  p.image = o.image;
  p.labels = o.labels.empty() ? StringMap{{"run", o.name}} : KN_TRY(parse_label_map(o.labels, "--labels"));
  if (!o.stdin_) p.args = o.args;  // attached: the pod holds, the arguments run on this terminal
  for (const std::string& kv : o.env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || !valid_env_name(kv.substr(0, eq)) || kv.find('\0') != std::string::npos)
      return fail(input_error(SourceLocation{"--env", 0, 0}, fmt::format("\"{}\" is not NAME=VALUE", kv),
                              "--env=GREETING=hello (a name of letters, digits and '_', not starting with a digit)"));
    p.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  std::sort(p.env.begin(), p.env.end());  // as the lab's record keeps them
  return p;
}

Status check_run_options(const RunOptions& o) {
  KN_TRY(check_cli_name(o.name, "pod"));
  if (o.expose && o.port == 0) return fail(input_error(SourceLocation{}, "--port must be set when exposing a service"));
  if (o.rm && !o.stdin_)
    return fail(input_error(SourceLocation{}, "--rm should only be used for attached containers", "add -i (and -t for a terminal)"));
  if (o.tty && !o.stdin_) return fail(input_error(SourceLocation{}, "-t needs -i", "kn-lab run NAME --rm -it --image=alpine -- sh"));
  return {};
}

// The attached session: ARGS (or sh) inside the pod, on this terminal.
Result<int> attach(const std::string& lab, const RunOptions& o) {
  if (o.tty && !::isatty(STDIN_FILENO)) fmt::print(stderr, "Unable to use a TTY - input is not a terminal or the right kind of file\n");
  LabView v = KN_TRY(view_lab(lab));
  const PodView* pod = nullptr;
  for (const PodView& p : v.pods)
    if (p.pod->name == o.name && p.pod->ns == o.ns) pod = &p;
  if (!pod || !pod->pause) return fail(state_error("run", fmt::format("pod {} did not start", o.name)));
  std::vector<std::string> argv = o.args.empty() ? std::vector<std::string>{"sh"} : o.args;
  if (o.tty && argv == std::vector<std::string>{"sh"}) argv.push_back("-i");
  if (o.tty) fmt::print(stderr, "If you don't see a command prompt, try pressing enter.\n");
  return run_in_pod(PodContext{pod->pause->id.pid, fmt::format("/etc/netns/{}", pod->pod->netns), pod->pod->privileged}, argv);
}

Result<int> run_run(const RunOptions& o, const GlobalOptions& g) {
  KN_TRY(check_run_options(o));
  PodSpec pod = KN_TRY(run_pod(o));
  std::string lab = KN_TRY(lab_to_change(o.lab, "run"));
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory&) -> Status {
    pod.node = least_loaded_node(desired);
    desired.pods.push_back(pod);
    if (o.expose) {
      ServiceSpec s;
      s.name = o.name;
      s.ns = o.ns;
      s.selector = pod.labels;
      s.ports.front().port = static_cast<std::uint16_t>(o.port);
      s.ports.front().target_port = static_cast<std::uint16_t>(o.port);
      desired.services.push_back(std::move(s));
    }
    return {};
  }, verbose_hooks(g)));
  if (!o.stdin_ || g.dry_run) {
    print_change(fmt::format("{}pod/{} created", o.expose ? fmt::format("service/{} created\n", o.name) : "", o.name), r);
    return 0;
  }
  Result<int> status = attach(lab, o);
  if (o.rm) {
    auto removed = lab_change(lab, [&](Lab& desired, PlanMemory&) -> Status {
      std::erase_if(desired.pods, [&](const PodSpec& p) { return p.name == o.name && p.ns == o.ns; });
      return {};
    }, {});
    if (!removed) return fail(removed.error());
    fmt::print("pod \"{}\" deleted\n", o.name);
  }
  return status;
}

}  // namespace

void register_run(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run one pod of an image in a running lab (kubectl run)");
  cmd->add_option("name", o->name, "Pod name")->required();
  cmd->add_option("args", o->args, "After --: what the pod runs instead of its image's behaviour (with -i: what runs attached; default sh)");
  cmd->add_option("--image", o->image, "Image (from the catalogue: ghost:4, stefanprodan/podinfo, nginx, alpine, ...)")->required();
  cmd->add_option("--port", o->port, "The container's port (for --expose)")->check(CLI::Range(1, 65535));
  cmd->add_flag("--expose", o->expose, "Also create a ClusterIP Service selecting the pod, on --port");
  cmd->add_option("-l,--labels", o->labels, "Labels of the pod (k=v,...; default run=NAME)");
  cmd->add_option("--env", o->env, "An environment variable of the container, NAME=VALUE (repeatable)");
  cmd->add_option("--restart", o->restart, "Always | OnFailure | Never (kn-lab does not restart containers)")
      ->check(CLI::IsMember({"Always", "OnFailure", "Never"}));
  cmd->add_flag("--rm", o->rm, "Delete the pod when the attached session ends (needs -i)");
  cmd->add_flag("-i,--stdin", o->stdin_, "Attach: run the arguments inside the pod on this terminal");
  cmd->add_flag("-t,--tty", o->tty, "An interactive shell on this terminal (needs -i)");
  cmd->add_flag("--command", o->command, "The arguments are the command (kn-lab's images have no entrypoint: same as without)");
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_run(*o, g); }; });
}

}  // namespace knlab
