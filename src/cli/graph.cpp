// kn-lab graph [--lab LAB] [-o text|dot|svg|png] [--highlight FROM TO[:PORT]] [--output-file PATH]:
// the running lab as a picture (src/graph), with a traced packet's path in red.
#include <fmt/core.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>

#include "cli/cli.hpp"
#include "core/text.hpp"
#include "graph/dot.hpp"
#include "graph/picture.hpp"
#include "graph/render.hpp"
#include "graph/text.hpp"
#include "runtime/lifecycle.hpp"
#include "trace/target.hpp"

namespace knlab {

namespace {

struct GraphOptions {
  std::string lab;
  std::string output;       // text | dot | svg | png; empty: from the file's extension, else by stdout
  std::vector<std::string> highlight;  // FROM TO[:PORT], or one "FROM TO"
  std::string output_file;
  std::string ns = "default";
};

Error option_error(std::string detail, std::string hint) {
  return input_error(SourceLocation{}, std::move(detail), std::move(hint));
}

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

std::size_t terminal_width() {
  winsize ws{};
  if (stdout_is_terminal() && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) return ws.ws_col;
  return graph::kDefaultWidth;
}

// -o, else the output file's extension, else text on a terminal or into a file, SVG into a pipe.
Result<std::string> format_of(const GraphOptions& o) {
  std::string f = o.output;
  if (f.empty() && !o.output_file.empty())
    for (const char* ext : {"text", "txt", "dot", "gv", "svg", "png"})
      if (lower(o.output_file).ends_with(std::string(".") + ext)) f = ext;
  if (f == "txt") f = "text";
  if (f == "gv") f = "dot";
  if (f.empty()) f = stdout_is_terminal() || !o.output_file.empty() ? "text" : "svg";
  if (f != "text" && f != "dot" && f != "svg" && f != "png")
    return fail(option_error(fmt::format("-o {}: not an output format", o.output), "-o text, -o dot, -o svg or -o png"));
  if (f == "png" && o.output_file.empty() && stdout_is_terminal())
    return fail(option_error("-o png: will not write a PNG to the terminal",
                             "redirect it (kn-lab graph -o png > lab.png) or give --output-file lab.png"));
  return f;
}

// --highlight's FROM and TO: two values, or one "FROM TO".
Result<std::pair<std::string, std::string>> highlight_args(const std::vector<std::string>& h) {
  std::vector<std::string> parts;
  for (const std::string& v : h)
    for (std::string_view p : split(v, ' '))
      if (!p.empty()) parts.emplace_back(p);
  if (parts.size() != 2)
    return fail(option_error(fmt::format("--highlight \"{}\": needs FROM and TO[:PORT]", join(h, " ")),
                             "--highlight client web:8080, --highlight 'external svc/web'"));
  return std::pair{parts[0], parts[1]};
}

Error about_highlight(Error e) {
  e.detail = "--highlight: " + e.detail;
  return e;
}

// The packet's path as `kn-lab trace FROM TO` predicts it (no probe): read from the live kernel.
Result<trace::TraceResult> traced(const LabPlan& plan, const GraphOptions& o) {
  auto [from, to] = KN_TRY(highlight_args(o.highlight));
  auto src = trace::resolve_source(plan, from, o.ns);
  if (!src) return fail(about_highlight(src.error()));
  auto dst = trace::resolve_destination(plan, to, *src, trace::Proto::kTcp);
  if (!dst) return fail(about_highlight(dst.error()));
  KN_TRY(require_root("graph --highlight"));
  auto kernel = trace::live_kernel(plan.namespaces());
  trace::Packet packet{Ipv4{}, dst->ip, trace::Proto::kTcp, 0, dst->port, 0, trace::CtState::kNew, 0};
  trace::TraceRequest req{src->netns, packet, {}};
  return trace::trace_packet(*kernel, trace::places_of(plan), req);
}

Status write_out(const GraphOptions& o, const std::string& bytes) {
  if (o.output_file.empty()) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0)
      return fail(sys_error("write", "standard output", errno));
    return {};
  }
  std::ofstream out(o.output_file, std::ios::binary | std::ios::trunc);
  if (out) out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out || !out.flush()) return fail(sys_error("write", o.output_file, errno ? errno : EIO));
  return {};
}

Result<int> run_graph(const GraphOptions& o) {
  std::string format = KN_TRY(format_of(o));
  std::string lab = o.lab.empty() ? KN_TRY(default_lab("graph")) : o.lab;
  LabView v = KN_TRY(view_lab(lab));
  graph::Picture pic = graph::picture_of(v.plan);
  if (!o.highlight.empty()) graph::highlight(pic, KN_TRY(traced(v.plan, o)));
  std::string bytes;
  if (format == "text") bytes = graph::to_text(pic, o.output_file.empty() ? terminal_width() : graph::kDefaultWidth);
  else if (format == "dot") bytes = graph::to_dot(pic);
  else bytes = KN_TRY(graph::render(graph::to_dot(pic), format));
  KN_TRY(write_out(o, bytes));
  return 0;
}

}  // namespace

void register_graph(CLI::App& app, const GlobalOptions&, Action& action) {
  auto o = std::make_shared<GraphOptions>();
  CLI::App* cmd = app.add_subcommand("graph", "Draw the lab: nodes, pods, bridges, tunnels, Services, routes, policies (text, DOT, SVG, PNG)");
  cmd->add_option("-o,--output", o->output, "text, dot, svg or png (default: text on a terminal, svg otherwise)");
  cmd->add_option("--highlight", o->highlight, "FROM TO[:PORT]: the path `kn-lab trace FROM TO` predicts, in red")->expected(1, 2);
  cmd->add_option("--output-file", o->output_file, "Write to PATH (its extension .svg/.png/.dot/.txt picks the format)");
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &action] { action = [o] { return run_graph(*o); }; });
}

}  // namespace knlab
