// DOT through libgvc to SVG or PNG bytes (graph/render.hpp).
#include "graph/render.hpp"

#include <dlfcn.h>
#include <fmt/core.h>
#include <graphviz/gvc.h>

#include <cstdlib>
#include <memory>

#ifndef KNLAB_GVPLUGIN_DIR
#define KNLAB_GVPLUGIN_DIR "/usr/lib/x86_64-linux-gnu/graphviz"
#endif

namespace knlab::graph {

namespace {

struct ContextFree {
  void operator()(GVC_t* c) const { gvFreeContext(c); }
};
struct GraphClose {
  void operator()(Agraph_t* g) const { agclose(g); }
};
struct RenderDataFree {
  void operator()(char* d) const { gvFreeRenderData(d); }
};
using Context = std::unique_ptr<GVC_t, ContextFree>;
using Graph = std::unique_ptr<Agraph_t, GraphClose>;
using RenderData = std::unique_ptr<char, RenderDataFree>;

// A laid-out graph: its layout is freed before the graph is closed and the context freed (the
// owners are declared in that order where they are used, so they are destroyed in reverse).
class Layout {
 public:
  Layout(GVC_t* gvc, Agraph_t* g) : gvc_(gvc), g_(g) {}
  Layout(const Layout&) = delete;
  Layout& operator=(const Layout&) = delete;
  ~Layout() { gvFreeLayout(gvc_, g_); }

 private:
  GVC_t* gvc_;
  Agraph_t* g_;
};

// Graphviz's messages go to its own buffer while rendering (not to our stderr), and the last one
// names what failed; the previous level comes back afterwards.
class QuietErrors {
 public:
  QuietErrors() : previous_(agseterr(AGMAX)) {}
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;
  ~QuietErrors() { agseterr(previous_); }

 private:
  agerrlevel_t previous_;
};

std::string last_error() {
  const char* e = aglasterr();
  std::string s = e ? e : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "no message" : s;
}

Error graphviz_error(std::string op, std::string detail) {
  Error e;
  e.kind = ErrorKind::kMissing;
  e.op = std::move(op);
  e.object = "graphviz";
  e.detail = std::move(detail);
  e.hint = "install graphviz (apt-get install graphviz); `dot -c` as root registers its plugins; or use -o dot / -o text";
  return e;
}

bool has_plugins(GVC_t* gvc, const char* kind) {
  int n = 0;
  char** list = gvPluginList(gvc, kind, &n, nullptr);
  if (!list) return false;
  for (int i = 0; i < n; ++i) std::free(list[i]);
  std::free(list);
  return n > 0;
}

// Without Graphviz's configuration file a context knows no plugins: load the ones kn-lab needs
// (dot's layout, the core renderers with SVG, cairo's PNG) from the plugin folder. The libraries
// stay loaded for the life of the process, as Graphviz's own loader leaves them.
void add_plugins_from_folder(GVC_t* gvc) {
  for (const char* name : {"dot_layout", "core", "pango", "gd"}) {
    std::string path = fmt::format("{}/libgvplugin_{}.so.6", KNLAB_GVPLUGIN_DIR, name);
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) continue;
    void* sym = dlsym(lib, fmt::format("gvplugin_{}_LTX_library", name).c_str());
    if (sym) gvAddLibrary(gvc, static_cast<gvplugin_library_t*>(sym));
  }
}

Result<Context> open_context() {
  Context gvc(gvContext());
  if (!gvc) return fail(graphviz_error("start graphviz", "gvContext failed"));
  if (!has_plugins(gvc.get(), "layout")) add_plugins_from_folder(gvc.get());
  if (!has_plugins(gvc.get(), "layout"))
    return fail(graphviz_error("start graphviz", fmt::format("no layout plugins (no config in {}, no plugins there)", KNLAB_GVPLUGIN_DIR)));
  return gvc;
}

}  // namespace

Result<std::string> render(std::string_view dot, std::string_view format) {
  if (format != "svg" && format != "png")
    return fail(input_error(SourceLocation{}, fmt::format("-o {}: graphviz renders svg or png here", format), "-o svg, -o png"));
  QuietErrors quiet;
  Context gvc = KN_TRY(open_context());
  std::string text(dot);
  Graph g(agmemread(text.c_str()));
  if (!g) return fail(graphviz_error("read the DOT text", last_error()));
  if (gvLayout(gvc.get(), g.get(), "dot") != 0) return fail(graphviz_error("lay out the graph with dot", last_error()));
  Layout layout(gvc.get(), g.get());
  char* data = nullptr;
  unsigned int length = 0;
  std::string fmt_name(format);
  int rc = gvRenderData(gvc.get(), g.get(), fmt_name.c_str(), &data, &length);
  RenderData owned(data);
  if (rc != 0 || !data) return fail(graphviz_error("render " + fmt_name, last_error()));
  return std::string(data, length);
}

}  // namespace knlab::graph
