#include "lab/toml_reader.hpp"

#include <cctype>
#include <utility>

namespace knlab {

namespace {

bool bare_key_start(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '"' || c == '\'';
}

// What TOML text must not hold before toml++ reads it, with its place: a non-ASCII byte outside a
// comment (lab files are ASCII), and a table header whose name does not start as a key can
// ("[)x]": toml++ 3.3 asserts on it in a debug build and assumes it away in clang's release).
// Walks the text as TOML's lexer does: comments, the four kinds of strings, arrays of values.
struct Unsafe {
  SourceLocation where;
  std::string detail, hint;
};

std::optional<Unsafe> first_unsafe(std::string_view text, const std::string& file) {
  enum { kNormal, kComment, kBasic, kLiteral, kMlBasic, kMlLiteral } state = kNormal;
  unsigned line = 1, column = 1;
  int depth = 0;            // '[' of array values open
  bool line_start = true;   // nothing but blanks since the line began
  auto non_ascii = [&] {
    return Unsafe{{file, line, column}, "a non-ASCII character outside a comment",
                  "lab files are ASCII except in comments: names, keys and values use letters, digits and punctuation"};
  };
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    auto starts = [&](std::string_view s) { return text.substr(i, s.size()) == s; };
    if (static_cast<unsigned char>(c) >= 0x80 && state != kComment) return non_ascii();
    std::size_t width = 1;  // bytes consumed by this step (an escape, a triple quote, a header's brackets take more)
    switch (state) {
      case kNormal:
        if (c == '#') state = kComment;
        else if (starts("\"\"\"")) state = kMlBasic, width = 3;
        else if (starts("'''")) state = kMlLiteral, width = 3;
        else if (c == '"') state = kBasic;
        else if (c == '\'') state = kLiteral;
        else if (c == '[' && depth == 0 && line_start) {  // a table header: [name] or [[name]]
          width = starts("[[") ? 2 : 1;
          std::size_t k = i + width;
          while (k < text.size() && (text[k] == ' ' || text[k] == '\t')) ++k;
          if (k < text.size() && !bare_key_start(text[k]))
            return Unsafe{{file, line, column + static_cast<unsigned>(k - i)}, fmt::format("a table name cannot start with '{}'", text[k]),
                          "write [name] or [[name]]: a name of letters, digits, '_' and '-', or a quoted one"};
        } else if (c == '[') ++depth;
        else if (c == ']' && depth > 0) --depth;
        break;
      case kComment:
        if (c == '\n') state = kNormal;
        break;
      case kBasic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') width = 2;
        else if (c == '"' || c == '\n') state = kNormal;
        break;
      case kLiteral:
        if (c == '\'' || c == '\n') state = kNormal;
        break;
      case kMlBasic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') width = 2;
        else if (starts("\"\"\"")) state = kNormal, width = 3;
        break;
      case kMlLiteral:
        if (starts("'''")) state = kNormal, width = 3;
        break;
    }
    for (std::size_t k = 0; k < width && i < text.size(); ++k, ++i) {
      if (k > 0 && static_cast<unsigned char>(text[i]) >= 0x80 && state != kComment) return non_ascii();
      if (text[i] == '\n') ++line, column = 1, line_start = true;
      else ++column, line_start = line_start && (text[i] == ' ' || text[i] == '\t');
    }
  }
  return std::nullopt;
}

}  // namespace

Result<toml::table> parse_toml(std::string_view text, const std::string& file) {
  if (auto bad = first_unsafe(text, file))
    return fail(input_error(bad->where, bad->detail, bad->hint));
  toml::parse_result parsed = toml::parse(text, file);
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    std::string description(e.description());
    for (std::size_t at = description.find('\n'); at != std::string::npos; at = description.find('\n', at))
      description.replace(at, 1, "\\n");
    return fail(input_error(SourceLocation{file, e.source().begin.line, e.source().begin.column},
                            fmt::format("TOML syntax error: {}", description)));
  }
  return std::move(parsed).table();
}

}  // namespace knlab
