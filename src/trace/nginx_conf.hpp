// nginx configuration text as a tree of directives, as nginx's own reader splits it: words,
// quoted strings (with nginx's escapes), `;`, blocks, and the `#` comments kn-lab's generator
// writes (kept: the lines just above a directive, and the one after it on its line). Knows
// nothing of what the directives mean. Internal to src/trace (nginx_match).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace knlab::trace::ngx {

struct Token {
  std::string value;  // as nginx reads it: quotes removed, escapes applied
  std::string raw;    // as written, with its quotes
  bool quoted = false;
};

struct Directive {
  std::vector<Token> args;  // args[0]: the directive's name
  int line = 0;             // 1-based, of its first word
  std::string comment;      // the comment lines right above it, joined by "; "
  std::string trailing;     // the comment after it on the line it ends on
  bool has_block = false;
  std::vector<Directive> block;

  const std::string& name() const { return args.front().value; }
  // The value of word `i` (0: the name), "" past the end.
  const std::string& arg(std::size_t i) const;
  // Its words as written, from word `from`: `location ~* "^/api"` (from 0), `~* "^/api"` (from 1).
  std::string text(std::size_t from = 0) const;
};

// The directives of a whole file; an error (at its line) for text nginx would not read.
Result<std::vector<Directive>> parse_conf(std::string_view text);

// The directives of a block named `name`, in order.
std::vector<const Directive*> named(const std::vector<Directive>& block, std::string_view name);
// The first directive of a block named `name`, or nullptr.
const Directive* first_named(const std::vector<Directive>& block, std::string_view name);

}  // namespace knlab::trace::ngx
