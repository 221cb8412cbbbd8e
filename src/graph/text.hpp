// A Picture as an indented tree for a terminal: the lab, its underlay, the nodes with their
// interfaces and pods, the links between nodes, Services and their endpoints, L7 routes and
// NetworkPolicies. Lines never exceed `width` columns: long ones wrap at spaces (continuations
// indented further), a word wider than the line is cut with "...". What a highlighted path
// passes through is marked with '>'. Pure.
#pragma once

#include <cstddef>
#include <string>

#include "graph/picture.hpp"

namespace knlab::graph {

inline constexpr std::size_t kDefaultWidth = 100;

std::string to_text(const Picture& picture, std::size_t width = kDefaultWidth);

// `text` in lines of at most `width` columns (UTF-8 code points), the first indented by
// `indent`, the others by `indent` + 4; `mark` puts '>' in the first line's indentation.
std::string wrap(std::string_view text, std::size_t indent, std::size_t width, bool mark = false);

}  // namespace knlab::graph
