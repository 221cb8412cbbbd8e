// kn-lab logs [-f] [--tail=N] <pod> [-c container] [-n ns]: what the container wrote to stdout
// and stderr; -f follows it while the container runs (Ctrl-C stops), as kubectl logs -f.
#include <fmt/core.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "cli/cli.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/process.hpp"

namespace knlab {

namespace {

struct LogsOptions {
  std::string pod;
  std::string container;
  std::string ns = "default";
  std::string lab;
  bool follow = false;
  int tail = -1;
};

// The last `n` lines of `text` (all when n < 0).
std::string_view last_lines(std::string_view text, int n) {
  if (n < 0) return text;
  if (n == 0) return {};
  std::size_t start = text.size();
  if (start > 0 && text[start - 1] == '\n') --start;  // the final newline ends the last line
  for (int i = 0; i < n; ++i) {
    std::size_t nl = start == 0 ? std::string_view::npos : text.rfind('\n', start - 1);
    if (nl == std::string_view::npos) return text;  // fewer than n lines
    start = nl;
  }
  return text.substr(start + 1);
}

// Prints what is appended to the log while the container's process lives.
void follow(std::ifstream& in, const LabView& v, const PodPlan& pod, const ContainerPlan& c) {
  const ProcessRecord* rec = v.state.find(pod.key(), c.name);
  std::string chunk(4096, '\0');
  for (;;) {
    in.clear();
    while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
      std::cout.write(chunk.data(), in.gcount());
      if (!in) break;
    }
    std::cout.flush();
    if (!rec || !process_alive(rec->id)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Result<int> run_logs(const LogsOptions& o) {
  std::string lab = o.lab.empty() ? KN_TRY(default_lab("logs")) : o.lab;
  LabView v = KN_TRY(view_lab(lab));
  const PodView* pod = nullptr;
  for (const PodView& p : v.pods)
    if (p.pod->name == o.pod && p.pod->ns == o.ns) pod = &p;
  if (!pod) pod = v.pod(o.pod);
  if (!pod) return fail(input_error(SourceLocation{}, fmt::format("no pod \"{}\" in lab {}", o.pod, lab)));
  const auto& cs = pod->pod->containers;
  if (cs.empty()) return fail(state_error("logs", fmt::format("pod {} has no containers", o.pod)));
  const ContainerPlan* c = nullptr;
  if (o.container.empty()) {
    if (cs.size() > 1) {
      std::string names;
      for (auto& x : cs) names += " " + x.name;
      return fail(input_error(SourceLocation{}, fmt::format("pod {} has several containers", o.pod),
                              fmt::format("choose one with -c:{}", names)));
    }
    c = &cs.front();
  } else {
    for (auto& x : cs)
      if (x.name == o.container) c = &x;
    if (!c) return fail(input_error(SourceLocation{}, fmt::format("pod {} has no container \"{}\"", o.pod, o.container)));
  }
  std::ifstream in(c->log_path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::cout << last_lines(text, o.tail);
  if (o.follow) follow(in, v, *pod->pod, *c);
  return 0;
}

}  // namespace

void register_logs(CLI::App& app, const GlobalOptions&, Action& action) {
  auto o = std::make_shared<LogsOptions>();
  CLI::App* cmd = app.add_subcommand("logs", "Print a container's output");
  cmd->add_option("pod", o->pod, "Pod name")->required();
  cmd->add_option("-c,--container", o->container, "Container name");
  cmd->add_flag("-f,--follow", o->follow, "Keep printing what the container writes, while it runs");
  cmd->add_option("--tail", o->tail, "Only the last N lines");
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &action] { action = [o] { return run_logs(*o); }; });
}

}  // namespace knlab
