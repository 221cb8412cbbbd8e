// A Picture as Graphviz DOT text: a digraph with one cluster per node (its interfaces and pods
// inside), the underlay and the Kubernetes objects around them, a colour and shape per kind, the
// highlighted path in red. Pure; graph/render.hpp lays it out.
#pragma once

#include <string>
#include <string_view>

#include "graph/picture.hpp"

namespace knlab::graph {

// A DOT quoted string: `text` with quotes and backslashes escaped and newlines as \n.
std::string dot_quote(std::string_view text);

std::string to_dot(const Picture& picture);

inline constexpr std::string_view kHighlightColour = "#e00000";

}  // namespace knlab::graph
