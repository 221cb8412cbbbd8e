// DOT text laid out by Graphviz's dot and rendered as SVG or PNG, in process (libgvc), never by
// running a program. Graphviz finds its layout and render plugins through the configuration
// file its package writes (`dot -c`); without one, the plugins are loaded from Graphviz's plugin
// folder directly.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace knlab::graph {

// `format`: "svg" or "png". The rendered bytes.
Result<std::string> render(std::string_view dot, std::string_view format);

}  // namespace knlab::graph
