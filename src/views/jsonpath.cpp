#include "views/jsonpath.hpp"

#include "views/printers.hpp"

#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <deque>
#include <optional>
#include <system_error>
#include <utility>

namespace knlab::views {

using jsonpath_detail::Node;
using jsonpath_detail::NodeType;

std::optional<std::int64_t> whole_number(const Json& j) {
  if (j.is_number_integer() && !j.is_number_unsigned()) return j.get<std::int64_t>();
  if (j.is_number_unsigned()) {
    auto u = j.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(u);
    return std::nullopt;
  }
  if (j.is_number_float()) {
    // kubectl decodes API objects with whole numbers as int64 (apimachinery util/json).
    const double d = j.get<double>();
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.2e18) return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

namespace {

struct Digits {
  bool negative = false;
  std::string digits;  // shortest round-trip digits, no leading zeros
  int point = 0;       // value = 0.digits * 10^point
};

Digits shortest_digits(double d) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view s(buf, static_cast<std::size_t>(res.ptr - buf));
  Digits out;
  if (!s.empty() && s[0] == '-') {
    out.negative = true;
    s.remove_prefix(1);
  }
  auto e = s.find('e');
  for (char c : s.substr(0, e))
    if (c != '.') out.digits += c;
  int exp = 0;
  std::string_view es = s.substr(e + 1);
  if (!es.empty() && es[0] == '+') es.remove_prefix(1);
  std::from_chars(es.data(), es.data() + es.size(), exp);
  out.point = exp + 1;
  return out;
}

std::string exponent_form(const Digits& d, bool trim_exponent_zero) {
  std::string out = d.negative ? "-" : "";
  out += d.digits.substr(0, 1);
  if (d.digits.size() > 1) out += "." + d.digits.substr(1);
  const int x = d.point - 1;
  out += x < 0 ? "e-" : "e+";
  std::string xs = std::to_string(x < 0 ? -x : x);
  if (xs.size() < 2 && !(trim_exponent_zero && x < 0)) xs = "0" + xs;
  return out + xs;
}

std::string fixed_form(const Digits& d) {
  std::string out = d.negative ? "-" : "";
  const int nd = static_cast<int>(d.digits.size());
  if (d.point <= 0) return out + "0." + std::string(static_cast<std::size_t>(-d.point), '0') + d.digits;
  if (d.point >= nd) return out + d.digits + std::string(static_cast<std::size_t>(d.point - nd), '0');
  const auto p = static_cast<std::size_t>(d.point);
  return out + d.digits.substr(0, p) + "." + d.digits.substr(p);
}

std::string special_float(double d) {
  if (std::isnan(d)) return "NaN";
  return d > 0 ? "+Inf" : "-Inf";
}

// encoding/json's float64 encoder.
std::string go_float_json(double d) {
  if (!std::isfinite(d)) return "null";
  if (d == 0) return "0";
  const double a = std::fabs(d);
  Digits g = shortest_digits(d);
  return a < 1e-6 || a >= 1e21 ? exponent_form(g, true) : fixed_form(g);
}

}  // namespace

std::string go_float(double d, bool json) {
  if (json) return go_float_json(d);
  if (!std::isfinite(d)) return special_float(d);
  if (d == 0) return std::signbit(d) ? "-0" : "0";
  Digits g = shortest_digits(d);
  const int x = g.point - 1;
  return x < -4 || x >= 6 ? exponent_form(g, false) : fixed_form(g);
}

std::pair<char32_t, std::size_t> utf8_decode(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return {c, 1};
  std::size_t n = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (c >= 0xF5) n = 0;
  if (n == 0 || i + n > s.size()) return {0xFFFD, 1};
  char32_t r = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
  for (std::size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return {0xFFFD, 1};
    r = (r << 6) | (cc & 0x3F);
  }
  const bool overlong = (n == 3 && r < 0x800) || (n == 4 && r < 0x10000);
  if (overlong || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return {0xFFFD, 1};
  return {r, n};
}

std::string jsonpath_text(const Json& j) {
  return j.is_object() || j.is_array() ? go_json(j) : go_sprint(j);
}

std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
        else out += c;
    }
  }
  return out + "\"";
}


// ---------------------------------------------------------------------------------------------
// The parser: client-go's jsonpath/parser.go, with each node's column in the template.

namespace {

struct ParseError {
  long column;
  std::string message;
};
using Parsed = std::expected<void, ParseError>;
std::unexpected<ParseError> parse_error(long column, std::string message) {
  return std::unexpected<ParseError>(ParseError{column, std::move(message)});
}

bool is_terminator(int r) {
  switch (r) {
    case -1: case ' ': case '\t': case '\r': case '\n':
    case '.': case ',': case '[': case ']': case '$': case '@': case '{': case '}':
      return true;
    default:
      return false;
  }
}

// unicode.IsLetter/IsDigit or '_'; every non-ASCII byte counts as a letter here.
bool is_alphanumeric(int r) {
  return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r >= 0x80;
}

bool is_digit(int r) { return r >= '0' && r <= '9'; }

// fmt's %#U: U+0023 '#'.
std::string unicode_name(std::string_view s, std::size_t at) {
  auto [rune, width] = utf8_decode(s, at);
  return fmt::format("U+{:04X} '{}'", static_cast<std::uint32_t>(rune), s.substr(at, width));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, char32_t r) {
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xC0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xE0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  }
}

// One escape of strconv.UnquoteChar after the backslash at s[i]; advances i.
bool unquote_escape(std::string_view s, std::size_t& i, char quote, std::string& out) {
  if (i >= s.size()) return false;
  const char c = s[i++];
  switch (c) {
    case 'a': out += '\a'; return true;
    case 'b': out += '\b'; return true;
    case 'f': out += '\f'; return true;
    case 'n': out += '\n'; return true;
    case 'r': out += '\r'; return true;
    case 't': out += '\t'; return true;
    case 'v': out += '\v'; return true;
    case '\\': out += '\\'; return true;
    case '\'': case '"':
      if (c != quote) return false;
      out += c;
      return true;
    default: break;
  }
  if (c == 'x' || c == 'u' || c == 'U') {
    const std::size_t n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
    if (i + n > s.size()) return false;
    char32_t v = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const int h = hex_value(s[i + k]);
      if (h < 0) return false;
      v = v * 16 + static_cast<char32_t>(h);
    }
    i += n;
    if (c == 'x') {
      out += static_cast<char>(v);
      return true;
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
    append_utf8(out, v);
    return true;
  }
  if (c >= '0' && c <= '7') {
    if (i + 2 > s.size()) return false;
    unsigned v = static_cast<unsigned>(c - '0');
    for (std::size_t k = 0; k < 2; ++k) {
      if (s[i + k] < '0' || s[i + k] > '7') return false;
      v = v * 8 + static_cast<unsigned>(s[i + k] - '0');
    }
    i += 2;
    if (v > 255) return false;
    out += static_cast<char>(v);
    return true;
  }
  return false;
}

// jsonpath.UnquoteExtend: strconv.Unquote that also takes single-quoted strings.
std::optional<std::string> unquote_extend(std::string_view s) {
  if (s.size() < 2 || s.front() != s.back() || (s.front() != '"' && s.front() != '\'')) return std::nullopt;
  const char quote = s.front();
  s = s.substr(1, s.size() - 2);
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == quote) return std::nullopt;
    if (s[i] != '\\') {
      out += s[i++];
      continue;
    }
    ++i;
    if (!unquote_escape(s, i, quote, out)) return std::nullopt;
  }
  return out;
}

Node make_node(NodeType type, long column) {
  Node n;
  n.type = type;
  n.column = static_cast<unsigned>(column < 1 ? 1 : column);
  return n;
}

class Parser {
 public:
  // `base` is the template column of input[0] minus one.
  Parser(std::string input, long base) : in_(std::move(input)), base_(base) {}

  Parsed parse_template(Node& root);

 private:
  int next() {
    if (pos_ >= in_.size()) return -1;
    return static_cast<unsigned char>(in_[pos_++]);
  }
  int peek() const { return pos_ < in_.size() ? static_cast<unsigned char>(in_[pos_]) : -1; }
  bool at(std::string_view prefix) const { return std::string_view(in_).substr(pos_).starts_with(prefix); }
  long col(std::size_t index) const { return base_ + static_cast<long>(index) + 1; }

  Parsed parse_inside_action(Node& cur);
  Parsed parse_field(Node& cur);
  Parsed parse_number(Node& cur);
  Parsed parse_identifier(Node& cur);
  Parsed parse_quote(Node& cur, char quote);
  Parsed parse_array(Node& cur);
  Parsed parse_slice(Node& cur, std::string_view text, std::size_t text_at);
  Parsed parse_filter(Node& cur);
  // client-go's parseAction: the steps of "{text}", text starting at in_[at].
  std::expected<Node, ParseError> parse_action(std::string text, long text_column);

  std::string in_;
  long base_;
  std::size_t pos_ = 0;
};

Parsed Parser::parse_template(Node& root) {
  while (pos_ < in_.size()) {
    const std::size_t open = in_.find('{', pos_);
    if (open != pos_) {
      Node text = make_node(NodeType::kText, col(pos_));
      text.text = in_.substr(pos_, open == std::string::npos ? std::string::npos : open - pos_);
      root.nodes.push_back(std::move(text));
      if (open == std::string::npos) break;
    }
    pos_ = open + 1;
    Node action = make_node(NodeType::kList, col(open));
    if (auto r = parse_inside_action(action); !r) return r;
    root.nodes.push_back(std::move(action));
  }
  return {};
}

Parsed Parser::parse_inside_action(Node& cur) {
  for (;;) {
    if (at("}")) {
      ++pos_;
      return {};
    }
    if (at("[?(")) {
      if (auto r = parse_filter(cur); !r) return r;
      continue;
    }
    if (at("..")) {
      cur.nodes.push_back(make_node(NodeType::kRecursive, col(pos_)));
      pos_ += 2;
      if (is_alphanumeric(peek()))
        if (auto r = parse_field(cur); !r) return r;
      continue;
    }
    const std::size_t here = pos_;
    const int r = next();
    Parsed step;
    if (r == -1 || r == '\r' || r == '\n') return parse_error(col(here), "unclosed action");
    if (r == ' ' || r == '@' || r == '$') continue;  // @ and $: the current object, passed on
    if (r == '[') step = parse_array(cur);
    else if (r == '"' || r == '\'') step = parse_quote(cur, static_cast<char>(r));
    else if (r == '.') step = parse_field(cur);
    else if (r == '+' || r == '-' || is_digit(r)) --pos_, step = parse_number(cur);
    else if (is_alphanumeric(r)) --pos_, step = parse_identifier(cur);
    else return parse_error(col(here), "unrecognized character in action: " + unicode_name(in_, here));
    if (!step) return step;
  }
}

Parsed Parser::parse_field(Node& cur) {
  const std::size_t start = pos_;
  for (;;) {
    const int r = next();
    if (r == '\\') {
      next();
    } else if (is_terminator(r)) {
      if (r != -1) --pos_;
      break;
    }
  }
  std::string value;
  for (char c : std::string_view(in_).substr(start, pos_ - start))
    if (c != '\\') value += c;
  Node n = make_node(value == "*" ? NodeType::kWildcard : NodeType::kField, col(start));
  if (n.type == NodeType::kField) n.text = std::move(value);
  cur.nodes.push_back(std::move(n));
  return {};
}

Parsed Parser::parse_number(Node& cur) {
  const std::size_t start = pos_;
  if (peek() == '+' || peek() == '-') ++pos_;
  while (peek() == '.' || is_digit(peek())) ++pos_;
  std::string value = in_.substr(start, pos_ - start);
  std::string_view digits = value;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  std::int64_t i = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), i);
  if (ec == std::errc() && p == digits.data() + digits.size() && !digits.empty()) {
    Node n = make_node(NodeType::kInt, col(start));
    n.int_value = i;
    cur.nodes.push_back(std::move(n));
    return {};
  }
  double d = 0;
  auto [fp, fec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
  if (fec == std::errc() && fp == digits.data() + digits.size() && !digits.empty()) {
    Node n = make_node(NodeType::kFloat, col(start));
    n.float_value = d;
    cur.nodes.push_back(std::move(n));
    return {};
  }
  return parse_error(col(start), "cannot parse number " + value);
}

Parsed Parser::parse_identifier(Node& cur) {
  const std::size_t start = pos_;
  while (!is_terminator(peek())) ++pos_;
  std::string value = in_.substr(start, pos_ - start);
  if (value == "true" || value == "false") {
    Node n = make_node(NodeType::kBool, col(start));
    n.bool_value = value == "true";
    cur.nodes.push_back(std::move(n));
  } else {
    Node n = make_node(NodeType::kIdentifier, col(start));
    n.text = std::move(value);
    cur.nodes.push_back(std::move(n));
  }
  return {};
}

Parsed Parser::parse_quote(Node& cur, char quote) {
  const std::size_t start = pos_ - 1;
  for (;;) {
    const int r = next();
    if (r == -1 || r == '\n') return parse_error(col(start), "unterminated quoted string");
    if (r == quote && in_[pos_ - 2] != '\\') break;
  }
  const std::string value = in_.substr(start, pos_ - start);
  auto text = unquote_extend(value);
  if (!text) return parse_error(col(start), fmt::format("unquote string {} error invalid syntax", value));
  Node n = make_node(NodeType::kText, col(start));
  n.text = std::move(*text);
  cur.nodes.push_back(std::move(n));
  return {};
}

std::expected<Node, ParseError> Parser::parse_action(std::string text, long text_column) {
  Parser sub("{" + text + "}", text_column - 2);
  Node root;
  if (auto r = sub.parse_template(root); !r) return std::unexpected(r.error());
  if (root.nodes.empty() || root.nodes[0].type != NodeType::kList) return make_node(NodeType::kList, text_column);
  return std::move(root.nodes[0]);
}

std::string_view trim_spaces(std::string_view s, std::size_t& offset) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1), ++offset;
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

Parsed Parser::parse_array(Node& cur) {
  const std::size_t open = pos_ - 1;
  for (;;) {
    const int r = next();
    if (r == -1 || r == '\n') return parse_error(col(open), "unterminated array");
    if (r == ']') break;
  }
  std::string text = in_.substr(open + 1, pos_ - open - 2);
  if (text == "*") text = ":";
  auto parts = std::string_view(text);
  if (parts.find(',') != std::string_view::npos) {  // the union operator
    Node u = make_node(NodeType::kUnion, col(open));
    std::size_t from = 0;
    for (;;) {
      const std::size_t comma = parts.find(',', from);
      std::size_t offset = from;
      std::string_view part = trim_spaces(parts.substr(from, comma == std::string_view::npos ? std::string_view::npos : comma - from), offset);
      auto list = parse_action("[" + std::string(part) + "]", col(open + 1 + offset));  // errors at the part
      if (!list) return std::unexpected(list.error());
      u.nodes.push_back(std::move(*list));
      if (comma == std::string_view::npos) break;
      from = comma + 1;
    }
    cur.nodes.push_back(std::move(u));
    return {};
  }
  if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'' &&
      text.find('\'', 1) == text.size() - 1) {  // ['key']: the same as .key
    auto list = parse_action("." + text.substr(1, text.size() - 2), col(open + 2) - 1);
    if (!list) return std::unexpected(list.error());
    for (Node& n : list->nodes) cur.nodes.push_back(std::move(n));
    return {};
  }
  return parse_slice(cur, text, open);
}

// [start:end:step], each part optional: client-go's sliceOperatorRex and its parameters.
Parsed Parser::parse_slice(Node& cur, std::string_view text, std::size_t open) {
  std::string_view groups[3];
  std::size_t g = 0, i = 0;
  for (; g < 3; ++g) {
    const std::size_t start = i;
    if (g > 0) {
      if (i >= text.size() || text[i] != ':') break;
      ++i;
    }
    if (i < text.size() && text[i] == '-') ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
    groups[g] = text.substr(start, i - start);
  }
  if (i != text.size()) return parse_error(col(open), fmt::format("invalid array index {}", text));
  Node n = make_node(NodeType::kArray, col(open));
  for (std::size_t k = 0; k < 3; ++k) {
    std::string_view v = groups[k];
    if (k > 0 && !v.empty()) v.remove_prefix(1);
    if (!groups[k].empty() && !(k > 0 && v.empty())) {
      std::int64_t value = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
      if (ec != std::errc() || p != v.data() + v.size())
        return parse_error(col(open), fmt::format("array index {} is not a number", v));
      n.params[k] = {value, true, false};
    } else if (groups[k].empty() && k == 1) {
      n.params[1] = {n.params[0].value + 1, true, true};
    }
  }
  cur.nodes.push_back(std::move(n));
  return {};
}

bool is_operator_char(char c) { return c == '!' || c == '<' || c == '>' || c == '='; }

Parsed Parser::parse_filter(Node& cur) {
  const std::size_t open = pos_;
  pos_ += 3;
  const std::size_t start = pos_;
  bool begin = false, end = false;
  int pair = 0;
  for (;;) {
    const int r = next();
    if (r == -1 || r == '\n') return parse_error(col(open), "unterminated filter");
    if (r == '"' || r == '\'') {
      if (!begin) {
        begin = true;
        pair = r;
      } else if (in_[pos_ - 2] != '\\' && r == pair) {
        end = true;
      }
    } else if (r == ')' && begin == end) {
      break;
    }
  }
  if (next() != ']') return parse_error(col(pos_ == 0 ? 0 : pos_ - 1), "unclosed array expect ]");
  const std::string text = in_.substr(start, pos_ - 2 - start);
  Node f = make_node(NodeType::kFilter, col(open));
  // ^([^!<>=]+)([!<>=]+)(.+?)$
  std::size_t op = 0;
  while (op < text.size() && !is_operator_char(text[op])) ++op;
  std::size_t rhs = op;
  while (rhs < text.size() && is_operator_char(text[rhs])) ++rhs;
  if (op == 0 || op == text.size() || rhs == text.size()) {
    auto left = parse_action(text, col(start));
    if (!left) return std::unexpected(left.error());
    f.text = "exists";
    f.nodes.push_back(std::move(*left));
    f.nodes.push_back(make_node(NodeType::kList, col(start)));
  } else {
    auto left = parse_action(text.substr(0, op), col(start));
    if (!left) return std::unexpected(left.error());
    auto right = parse_action(text.substr(rhs), col(start + rhs));
    if (!right) return std::unexpected(right.error());
    f.text = text.substr(op, rhs - op);
    if (f.text != "==" && f.text != "!=" && f.text != "<" && f.text != "<=" && f.text != ">" && f.text != ">=")
      return parse_error(col(start + op), "unrecognized filter operator " + f.text);
    f.nodes.push_back(std::move(*left));
    f.nodes.push_back(std::move(*right));
  }
  cur.nodes.push_back(std::move(f));
  return {};
}

bool starts_with_identifier(const Node& n, std::string_view name) {
  return n.type == NodeType::kList && !n.nodes.empty() && n.nodes[0].type == NodeType::kIdentifier &&
         n.nodes[0].text == name;
}

// {range EXPR}BODY{end}: nests the flat list of texts and actions into kRange nodes.
Parsed nest_ranges(std::vector<Node>& flat, std::size_t& i, std::vector<Node>& out, bool in_range) {
  while (i < flat.size()) {
    Node n = std::move(flat[i++]);
    if (starts_with_identifier(n, "end")) {
      if (!in_range) return parse_error(n.column, "not in range, nothing to end");
      return {};
    }
    if (starts_with_identifier(n, "range")) {
      Node range = make_node(NodeType::kRange, n.column);
      n.nodes.erase(n.nodes.begin());
      range.nodes.push_back(std::move(n));
      if (auto r = nest_ranges(flat, i, range.nodes, true); !r) return r;
      out.push_back(std::move(range));
      continue;
    }
    out.push_back(std::move(n));
  }
  return {};  // a range without {end} runs to the end of the template, as in client-go
}

}  // namespace

Result<JsonPath> JsonPath::parse(std::string_view text, std::string origin) {
  JsonPath jp;
  jp.text_ = std::string(text);
  jp.origin_ = std::move(origin);
  Parser parser(jp.text_, 0);
  Node flat;
  Parsed r = parser.parse_template(flat);
  std::size_t i = 0;
  if (r) r = nest_ranges(flat.nodes, i, jp.root_.nodes, false);
  if (!r) {
    const auto column = static_cast<unsigned>(r.error().column < 1 ? 1 : r.error().column);
    return fail(input_error(SourceLocation{jp.origin_, 1, column},
                            fmt::format("error parsing jsonpath {}, {}", jp.text_, r.error().message),
                            "kubectl's JSONPath: {.items[*].metadata.name}, {range .items[*]}{.metadata.name}{\"\\n\"}{end}, "
                            "[0], [-1:], [?(@.type==\"InternalIP\")], ..name; escape dots in keys: {.metadata.labels.app\\.kubernetes\\.io/name}"));
  }
  return jp;
}

// ---------------------------------------------------------------------------------------------
// Execution: client-go's jsonpath.go over nlohmann::json (objects iterate in key order, as
// client-go sorts map keys).

namespace {

using Values = std::vector<const Json*>;

struct ExecError {
  std::string message;
};
template <class T>
using Exec = std::expected<T, ExecError>;
std::unexpected<ExecError> exec_error(std::string message) { return std::unexpected<ExecError>(ExecError{std::move(message)}); }

// reflect's type names of decoded JSON, for client-go's messages.
std::string go_type(const Json& j) {
  if (j.is_object()) return "map[string]interface {}";
  if (j.is_array()) return "[]interface {}";
  if (j.is_string()) return "string";
  if (j.is_boolean()) return "bool";
  if (j.is_number()) return whole_number(j) ? "int64" : "float64";
  return "<nil>";
}

// The children a wildcard, recursive descent or filter visits: list items, object values.
bool iterable(const Json& j) { return j.is_array() || j.is_object(); }

class Executor {
 public:
  explicit Executor(bool allow_missing) : allow_missing_(allow_missing) {}

  Exec<void> run(const std::vector<Node>& nodes, const Json& cur, std::vector<Values>& out);

 private:
  Exec<Values> walk(const Values& in, const Node& n);
  Exec<Values> eval_list(const Values& in, const Node& list);
  Exec<Values> eval_field(const Values& in, const Node& n);
  Exec<Values> eval_array(const Values& in, const Node& n);
  Exec<Values> eval_filter(const Values& in, const Node& n);
  Exec<bool> compare(const std::string& op, const Json& l, const Json& r);
  void recurse(const Json& v, Values& out);
  const Json* keep(Json j) {
    arena_.push_back(std::move(j));
    return &arena_.back();
  }

  bool allow_missing_;
  std::deque<Json> arena_;  // literals of the template
};

Exec<void> Executor::run(const std::vector<Node>& nodes, const Json& cur, std::vector<Values>& out) {
  for (const Node& n : nodes) {
    if (n.type == NodeType::kText) {
      out.push_back({keep(n.text)});
    } else if (n.type == NodeType::kRange) {
      auto items = eval_list({&cur}, n.nodes[0]);
      if (!items) return std::unexpected(items.error());
      const std::vector<Node> body(n.nodes.begin() + 1, n.nodes.end());
      for (const Json* item : *items)
        if (auto r = run(body, *item, out); !r) return r;
    } else {
      auto values = eval_list({&cur}, n);
      if (!values) return std::unexpected(values.error());
      out.push_back(std::move(*values));
    }
  }
  return {};
}

Exec<Values> Executor::eval_list(const Values& in, const Node& list) {
  Values cur = in;
  for (const Node& n : list.nodes) {
    auto next = walk(cur, n);
    if (!next) return next;
    cur = std::move(*next);
  }
  return cur;
}

Exec<Values> Executor::walk(const Values& in, const Node& n) {
  switch (n.type) {
    case NodeType::kList: return eval_list(in, n);
    case NodeType::kText: return Values{keep(n.text)};
    case NodeType::kField: return eval_field(in, n);
    case NodeType::kArray: return eval_array(in, n);
    case NodeType::kFilter: return eval_filter(in, n);
    case NodeType::kInt: return Values(in.size(), keep(n.int_value));
    case NodeType::kFloat: return Values(in.size(), keep(n.float_value));
    case NodeType::kBool: return Values(in.size(), keep(n.bool_value));
    case NodeType::kWildcard: {
      Values out;
      for (const Json* v : in)
        if (iterable(*v))
          for (const Json& child : *v) out.push_back(&child);
      return out;
    }
    case NodeType::kRecursive: {
      Values out;
      for (const Json* v : in) recurse(*v, out);
      return out;
    }
    case NodeType::kUnion: {
      Values out;
      for (const Node& part : n.nodes) {
        auto values = eval_list(in, part);
        if (!values) return values;
        out.insert(out.end(), values->begin(), values->end());
      }
      return out;
    }
    case NodeType::kIdentifier:
    case NodeType::kRange: break;
  }
  return exec_error("unrecognized identifier " + n.text);
}

void Executor::recurse(const Json& v, Values& out) {
  if (!iterable(v) || v.empty()) return;
  out.push_back(&v);
  for (const Json& child : v) recurse(child, out);
}

Exec<Values> Executor::eval_field(const Values& in, const Node& n) {
  Values out;
  if (in.empty()) return out;
  for (const Json* v : in) {
    if (!v->is_object()) continue;
    auto it = v->find(n.text);
    if (it != v->end()) out.push_back(&*it);
  }
  if (out.empty() && !allow_missing_) return exec_error(n.text + " is not found");
  return out;
}

Exec<Values> Executor::eval_array(const Values& in, const Node& n) {
  Values out;
  for (const Json* v : in) {
    if (v->is_null()) continue;
    if (!v->is_array()) return exec_error(go_type(*v) + " is not array or slice");
    auto p = n.params;  // a copy: the lengths differ from one list to the next
    const auto len = static_cast<std::int64_t>(v->size());
    if (!p[0].known) p[0].value = 0;
    if (p[0].value < 0) p[0].value += len;
    if (!p[1].known) p[1].value = len;
    if (p[1].value < 0 || (p[1].value == 0 && p[1].derived)) p[1].value += len;
    if (p[1].value == p[0].value) return out;  // zero elements asked for (client-go stops here)
    if (p[0].value >= len || p[0].value < 0)
      return exec_error(fmt::format("array index out of bounds: index {}, length {}", p[0].value, len));
    if (p[1].value > len || p[1].value < 0)
      return exec_error(fmt::format("array index out of bounds: index {}, length {}", p[1].value - 1, len));
    if (p[0].value > p[1].value)
      return exec_error(fmt::format("starting index {} is greater than ending index {}", p[0].value, p[1].value));
    std::int64_t step = 1;
    if (p[2].known) {
      if (p[2].value <= 0) return exec_error("step must be > 0");
      step = p[2].value;
    }
    for (std::int64_t i = p[0].value; i < p[1].value; i += step) out.push_back(&(*v)[static_cast<std::size_t>(i)]);
  }
  return out;
}

Exec<Values> Executor::eval_filter(const Values& in, const Node& n) {
  Values out;
  for (const Json* v : in) {
    Values elements;
    if (iterable(*v))
      for (const Json& child : *v) elements.push_back(&child);
    else
      elements.push_back(v);  // client-go filters a lone value as a list of one
    for (const Json* e : elements) {
      auto lefts = eval_list({e}, n.nodes[0]);
      if (!lefts && !allow_missing_) return std::unexpected(lefts.error());
      auto rights = eval_list({e}, n.nodes[1]);
      if (!rights) return std::unexpected(rights.error());
      if (!lefts || lefts->empty()) continue;
      if (lefts->size() > 1) return exec_error("can only compare one element at a time");
      if (n.text == "exists") {
        out.push_back(e);
        continue;
      }
      if (rights->empty()) continue;
      if (rights->size() > 1) return exec_error("can only compare one element at a time");
      auto pass = compare(n.text, *lefts->front(), *rights->front());
      if (!pass) return std::unexpected(pass.error());
      if (*pass) out.push_back(e);
    }
  }
  return out;
}

// text/template's comparisons as client-go uses them: values of different kinds, or of kinds
// without an order, are not equal and not ordered (the error is ignored: `!=` holds).
// Numbers compare as numbers whether whole or not.
Exec<bool> Executor::compare(const std::string& op, const Json& l, const Json& r) {
  int order = 0;  // -1, 0, 1
  bool ordered = false, comparable = false;
  if (l.is_number() && r.is_number()) {
    const double a = l.get<double>(), b = r.get<double>();
    auto wa = whole_number(l), wb = whole_number(r);
    order = wa && wb ? (*wa < *wb ? -1 : *wa > *wb) : (a < b ? -1 : a > b);
    ordered = comparable = true;
  } else if (l.is_string() && r.is_string()) {
    const int c = l.get_ref<const std::string&>().compare(r.get_ref<const std::string&>());
    order = c < 0 ? -1 : c > 0;
    ordered = comparable = true;
  } else if (l.is_boolean() && r.is_boolean()) {
    order = l.get<bool>() == r.get<bool>() ? 0 : 1;
    comparable = true;
  }
  if (op == "==") return comparable && order == 0;
  if (op == "!=") return !(comparable && order == 0);
  if (!ordered) return false;
  if (op == "<") return order < 0;
  if (op == "<=") return order <= 0;
  if (op == ">") return order > 0;
  return order >= 0;  // ">="
}

}  // namespace

Result<std::vector<std::vector<Json>>> JsonPath::find_results(const Json& data) const {
  Executor ex(allow_missing_);
  std::vector<Values> groups;
  if (auto r = ex.run(root_.nodes, data, groups); !r)
    return fail(input_error(SourceLocation{}, fmt::format("error executing jsonpath {}: {}", go_quote(text_), r.error().message),
                            "a list index past the end, or an index into something that is not a list"));
  std::vector<std::vector<Json>> out;
  out.reserve(groups.size());
  for (const Values& g : groups) {
    std::vector<Json> values;
    values.reserve(g.size());
    for (const Json* v : g) values.push_back(*v);
    out.push_back(std::move(values));
  }
  return out;
}

Result<std::string> JsonPath::execute(const Json& data) const {
  auto groups = KN_TRY(find_results(data));
  std::string out;
  for (const auto& g : groups)
    for (std::size_t i = 0; i < g.size(); ++i) {
      out += jsonpath_text(g[i]);
      if (i + 1 != g.size()) out += ' ';
    }
  return out;
}

Result<std::string> JsonPath::execute_as_json(const Json& data) const {
  auto groups = KN_TRY(find_results(data));
  std::string out;
  for (auto& g : groups) out += go_json(Json(std::move(g)), 4) + "\n";
  return out;
}

}  // namespace knlab::views
