#include "views/printers.hpp"

#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>

#include "views/age.hpp"

namespace knlab::views {

// ---------------------------------------------------------------------------------------------
// Go's renderings of values.

namespace {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    auto [rune, width] = utf8_decode(s, i);
    if (rune == 0xFFFD && width == 1) out += "\\ufffd";
    else if (rune == 0x2028) out += "\\u2028";
    else if (rune == 0x2029) out += "\\u2029";
    else out += s.substr(i, width);
    i += width;
  }
  out += '"';
}

void append_json(std::string& out, const Json& j, int indent, int depth) {
  auto newline = [&](int d) {
    if (indent == 0) return;
    out += '\n';
    out.append(static_cast<std::size_t>(indent * d), ' ');
  };
  if (j.is_object() || j.is_array()) {
    const bool obj = j.is_object();
    if (j.empty()) {
      out += obj ? "{}" : "[]";
      return;
    }
    out += obj ? '{' : '[';
    bool first = true;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!first) out += ',';
      first = false;
      newline(depth + 1);
      if (obj) {
        append_json_string(out, it.key());
        out += indent ? ": " : ":";
      }
      append_json(out, *it, indent, depth + 1);
    }
    newline(depth);
    out += obj ? '}' : ']';
  } else if (j.is_string()) {
    append_json_string(out, j.get_ref<const std::string&>());
  } else if (j.is_number()) {
    if (auto w = whole_number(j)) out += std::to_string(*w);
    else if (j.is_number_unsigned()) out += std::to_string(j.get<std::uint64_t>());
    else out += go_float(j.get<double>(), true);
  } else if (j.is_boolean()) {
    out += j.get<bool>() ? "true" : "false";
  } else {
    out += "null";
  }
}

}  // namespace

std::string go_json(const Json& j, int indent) {
  std::string out;
  append_json(out, j, indent, 0);
  return out;
}

std::string go_sprint(const Json& j) {
  if (j.is_null()) return "<nil>";
  if (j.is_string()) return j.get<std::string>();
  if (j.is_boolean()) return j.get<bool>() ? "true" : "false";
  if (j.is_number()) {
    if (auto w = whole_number(j)) return std::to_string(*w);
    if (j.is_number_unsigned()) return std::to_string(j.get<std::uint64_t>());
    return go_float(j.get<double>());
  }
  std::string out = j.is_object() ? "map[" : "[";
  bool first = true;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!first) out += ' ';
    first = false;
    if (j.is_object()) out += it.key() + ":";
    out += go_sprint(*it);
  }
  return out + "]";
}

// ---------------------------------------------------------------------------------------------
// -o yaml: go-yaml v2's emitter (the one sigs.k8s.io/yaml and so kubectl use), for JSON values.

namespace {

constexpr int kBestWidth = 80;  // go-yaml folds quoted and plain scalars past this column

bool is_break_at(std::string_view s, std::size_t i) {
  const auto c = [&](std::size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  return c(0) == '\r' || c(0) == '\n' || (c(0) == 0xC2 && c(1) == 0x85) ||
         (c(0) == 0xE2 && c(1) == 0x80 && (c(2) == 0xA8 || c(2) == 0xA9));
}

// libyaml's is_printable over a UTF-8 sequence (tabs and 4-byte sequences are not).
bool is_printable_at(std::string_view s, std::size_t i) {
  const auto c = [&](std::size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  return c(0) == 0x0A || (c(0) >= 0x20 && c(0) <= 0x7E) || (c(0) == 0xC2 && c(1) >= 0xA0) || (c(0) > 0xC2 && c(0) < 0xED) ||
         (c(0) == 0xED && c(1) < 0xA0) || c(0) == 0xEE ||
         (c(0) == 0xEF && !(c(1) == 0xBB && c(2) == 0xBF) && !(c(1) == 0xBF && (c(2) == 0xBE || c(2) == 0xBF)));
}

struct ScalarAnalysis {
  bool multiline = false;
  bool block_plain = true;
  bool single_quoted = true;
  bool block = true;
};

// yaml_emitter_analyze_scalar, block context (kn-lab writes no flow collections with content).
ScalarAnalysis analyze_scalar(std::string_view v) {
  ScalarAnalysis a;
  if (v.empty()) {
    a.block = false;
    return a;
  }
  bool indicators = v.starts_with("---") || v.starts_with("...");
  bool special = false, line_breaks = false, leading = false, trailing_space = false, trailing_break = false;
  bool break_space = false, space_break = false, previous_space = false, previous_break = false, preceded_ws = true;
  for (std::size_t i = 0; i < v.size();) {
    const std::size_t w = utf8_decode(v, i).second;
    const bool followed_ws = i + w >= v.size() || v[i + w] == ' ' || v[i + w] == '\t';
    const char c = v[i];
    if (i == 0) {
      indicators |= std::string_view("#,[]{}&*!|>'\"%@`").find(c) != std::string_view::npos;
      indicators |= (c == '?' || c == ':' || c == '-') && followed_ws;
    } else {
      indicators |= (c == ':' && followed_ws) || (c == '#' && preceded_ws);
    }
    if (!is_printable_at(v, i)) special = true;
    if (c == ' ') {
      leading |= i == 0;
      trailing_space |= i + w == v.size();
      break_space |= previous_break;
      previous_space = true, previous_break = false;
    } else if (is_break_at(v, i)) {
      line_breaks = true;
      leading |= i == 0;
      trailing_break |= i + w == v.size();
      space_break |= previous_space;
      previous_space = false, previous_break = true;
    } else {
      previous_space = previous_break = false;
    }
    preceded_ws = c == ' ' || c == '\t' || c == '\0' || is_break_at(v, i);
    i += w;
  }
  a.multiline = line_breaks;
  if (leading || trailing_space || trailing_break || line_breaks || indicators) a.block_plain = false;
  if (trailing_space) a.block = false;
  if (break_space) a.block_plain = a.single_quoted = false;
  if (space_break || special) a.block_plain = a.single_quoted = a.block = false;
  return a;
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  for (char c : s)
    if (!pred(c)) return false;
  return !s.empty();
}
bool dec(char c) { return c >= '0' && c <= '9'; }
bool hex(char c) { return dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool oct(char c) { return c >= '0' && c <= '7'; }
bool bin(char c) { return c == '0' || c == '1'; }

// ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool yaml_style_float(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t from = i;
    while (i < s.size() && dec(s[i])) ++i;
    return i - from;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  } else {
    if (digits() == 0) return false;
    if (i < s.size() && s[i] == '.') ++i, digits();
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

// strconv.ParseInt/ParseUint(s, 0, 64) syntax (the range is not checked: a longer number reads
// as a float, which is not a string either).
bool go_int_syntax(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return all_of(s.substr(2), hex);
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) return all_of(s.substr(2), oct);
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) return all_of(s.substr(2), bin);
  if (s.size() > 1 && s[0] == '0') return all_of(s, oct);
  return all_of(s, dec);
}

// go-yaml's allowed timestamps: 2006-1-2, 2006-1-2T15:4:5.999999999Z07:00 (T or t), "2006-1-2 15:4:5.999999999".
bool yaml_timestamp(std::string_view s) {
  std::size_t i = 0;
  auto num = [&](std::size_t min, std::size_t max, unsigned limit_lo, unsigned limit_hi) {
    const std::size_t from = i;
    unsigned v = 0;
    while (i < s.size() && dec(s[i]) && i - from < max) v = v * 10 + static_cast<unsigned>(s[i++] - '0');
    return i - from >= min && v >= limit_lo && v <= limit_hi;
  };
  auto lit = [&](char c) { return i < s.size() && s[i] == c ? (++i, true) : false; };
  if (!num(4, 4, 0, 9999) || !lit('-') || !num(1, 2, 1, 12) || !lit('-') || !num(1, 2, 1, 31)) return false;
  if (i == s.size()) return true;
  const char sep = s[i++];
  if (sep != 'T' && sep != 't' && sep != ' ') return false;
  if (!num(1, 2, 0, 23) || !lit(':') || !num(1, 2, 0, 59) || !lit(':') || !num(1, 2, 0, 59)) return false;
  if (lit('.') && !num(1, 9, 0, 999999999)) return false;
  if (sep == ' ') return i == s.size();
  if (lit('Z')) return i == s.size();
  if (!lit('+') && !lit('-')) return false;
  return num(2, 2, 0, 23) && lit(':') && num(2, 2, 0, 59) && i == s.size();
}

// ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ (YAML 1.1 sexagesimal, which go-yaml quotes).
bool base60_float(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i >= s.size() || !dec(s[i])) return false;
  while (i < s.size() && (dec(s[i]) || s[i] == '_')) ++i;
  int groups = 0;
  while (i < s.size() && s[i] == ':') {
    ++i;
    const std::size_t from = i;
    while (i < s.size() && dec(s[i]) && i - from < 2) ++i;
    if (i == from || (i - from == 2 && s[from] > '5')) return false;
    ++groups;
  }
  if (groups == 0) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && (dec(s[i]) || s[i] == '_')) ++i;
  }
  return i == s.size();
}

// go-yaml v2's resolve(): would this plain scalar read back as a string?
bool plain_reads_as_string(std::string_view s) {
  static const char* const kWords[] = {"~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No",
                                       "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off",
                                       "Off", "OFF", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf",
                                       "+.INF", "-.inf", "-.Inf", "-.INF", "<<"};
  if (s.empty()) return false;
  for (const char* w : kWords)
    if (s == w) return false;
  if (std::string_view("+-.0123456789").find(s[0]) == std::string_view::npos) return true;
  if (dec(s[0]) && yaml_timestamp(s)) return false;
  std::string plain;
  for (char c : s)
    if (c != '_') plain += c;
  if (go_int_syntax(plain) || yaml_style_float(plain)) return false;
  return !base60_float(s);
}

// go-yaml v2's key order (keyList.Less): letters after other runes, digit runs by value.
bool yaml_key_less(std::string_view a, std::string_view b) {
  auto letter = [](unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80; };
  bool digits = false;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const auto ac = static_cast<unsigned char>(a[i]), bc = static_cast<unsigned char>(b[i]);
    if (ac == bc) {
      digits = dec(a[i]);
      continue;
    }
    const bool al = letter(ac), bl = letter(bc);
    if (al && bl) return ac < bc;
    if (al || bl) return digits ? al : bl;
    std::int64_t an = 0, bn = 0;
    if (a[i] == '0' || b[i] == '0')
      for (std::size_t j = i; j-- > 0 && dec(a[j]);)
        if (a[j] != '0') {
          an = bn = 1;
          break;
        }
    std::size_t ai = i, bi = i;
    for (; ai < a.size() && dec(a[ai]); ++ai) an = an * 10 + (a[ai] - '0');
    for (; bi < b.size() && dec(b[bi]); ++bi) bn = bn * 10 + (b[bi] - '0');
    if (an != bn) return an < bn;
    if (ai != bi) return ai < bi;
    return ac < bc;
  }
  return a.size() < b.size();
}

enum class Style { kPlain, kSingle, kDouble, kLiteral };

class YamlEmitter {
 public:
  std::string finish() {
    write_indent(0);  // the document ends with a line break
    return std::move(out_);
  }
  void node(const Json& j, int indent, bool map_value);

 private:
  void put(char c) {
    out_ += c;
    ++column_;
  }
  void put_break() {
    out_ += '\n';
    column_ = 0;
  }
  void write(std::string_view s, std::size_t& i) {
    const std::size_t w = utf8_decode(s, i).second;
    out_ += s.substr(i, w);
    i += w;
    ++column_;
  }
  void write_indent(int indent) {
    if (!indention_ || column_ > indent || (column_ == indent && !whitespace_)) put_break();
    while (column_ < indent) put(' ');
    whitespace_ = indention_ = true;
  }
  void indicator(std::string_view s, bool need_whitespace, bool is_whitespace, bool is_indention) {
    if (need_whitespace && !whitespace_) put(' ');
    out_ += s;
    column_ += static_cast<int>(s.size());
    whitespace_ = is_whitespace;
    indention_ = indention_ && is_indention;
  }

  void mapping(const Json& j, int indent);
  void sequence(const Json& j, int indent, bool map_value);
  void scalar(const Json& j, int indent, bool simple_key);
  void string_scalar(std::string_view s, int indent, bool simple_key);
  void plain(std::string_view s, int indent, bool allow_breaks);
  void single_quoted(std::string_view s, int indent, bool allow_breaks);
  void double_quoted(std::string_view s, int indent, bool allow_breaks);
  void literal(std::string_view s, int indent);

  std::string out_;
  int column_ = 0;
  bool whitespace_ = true;
  bool indention_ = true;
};

void YamlEmitter::node(const Json& j, int indent, bool map_value) {
  if ((j.is_object() || j.is_array()) && j.empty()) {
    indicator(j.is_object() ? "{" : "[", true, true, false);
    indicator(j.is_object() ? "}" : "]", false, false, false);
  } else if (j.is_object()) {
    mapping(j, indent);
  } else if (j.is_array()) {
    sequence(j, indent, map_value);
  } else {
    scalar(j, indent, false);
  }
}

void YamlEmitter::mapping(const Json& j, int indent) {
  const int ind = indent < 0 ? 0 : indent + 2;
  std::vector<std::string_view> keys;
  for (auto it = j.begin(); it != j.end(); ++it) {
    // An insertion sort: go-yaml's order need not be a strict weak order for std::sort.
    std::string_view k = it.key();
    auto at = keys.end();
    while (at != keys.begin() && yaml_key_less(k, *(at - 1))) --at;
    keys.insert(at, k);
  }
  for (std::string_view k : keys) {
    const Json& v = j.find(std::string(k)).value();
    write_indent(ind);
    const bool simple = k.size() <= 128 && !analyze_scalar(k).multiline;
    if (simple) {
      string_scalar(k, ind, true);
      indicator(":", false, false, false);
    } else {  // a complex key: "? key" then ": value"
      indicator("?", true, false, true);
      string_scalar(k, ind, false);
      write_indent(ind);
      indicator(":", true, false, true);
    }
    node(v, ind, true);
  }
}

void YamlEmitter::sequence(const Json& j, int indent, bool map_value) {
  const bool indentless = map_value && !indention_;  // a list in a mapping: "- " at the key's indent
  const int ind = indent < 0 ? 0 : indentless ? indent : indent + 2;
  for (const Json& item : j) {
    write_indent(ind);
    indicator("-", true, false, true);
    node(item, ind, false);
  }
}

void YamlEmitter::scalar(const Json& j, int indent, bool simple_key) {
  const int ind = indent < 0 ? 2 : indent + 2;
  if (j.is_string()) return string_scalar(j.get_ref<const std::string&>(), indent, simple_key);
  std::string text = "null";
  if (j.is_boolean()) text = j.get<bool>() ? "true" : "false";
  if (j.is_number()) {
    if (auto w = whole_number(j)) text = std::to_string(*w);
    else if (j.is_number_unsigned()) text = std::to_string(j.get<std::uint64_t>());
    else {
      const double d = j.get<double>();
      text = std::isnan(d) ? ".nan" : std::isinf(d) ? (d > 0 ? ".inf" : "-.inf") : go_float(d);
    }
  }
  plain(text, ind, !simple_key);
}

bool other_breaks(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] != '\n' && is_break_at(s, i)) return true;
  return false;
}

// go-yaml's stringv() and yaml_emitter_select_scalar_style().
void YamlEmitter::string_scalar(std::string_view s, int indent, bool simple_key) {
  const int ind = indent < 0 ? 2 : indent + 2;
  const ScalarAnalysis a = analyze_scalar(s);
  Style st = s.find('\n') != std::string_view::npos ? Style::kLiteral
             : plain_reads_as_string(s)              ? Style::kPlain
                                                     : Style::kDouble;
  if (simple_key && a.multiline) st = Style::kDouble;
  if (st == Style::kPlain && (!a.block_plain || (s.empty() && simple_key))) st = Style::kSingle;
  if (st == Style::kSingle && !a.single_quoted) st = Style::kDouble;
  if (st == Style::kLiteral && (!a.block || simple_key)) st = Style::kDouble;
  // kn-lab: line breaks other than \n (which go-yaml would write raw, to be read back as \n) and
  // breaks inside single quotes are written in double quotes, escaped, so that they read back.
  if ((st == Style::kSingle && a.multiline) || (st == Style::kLiteral && other_breaks(s))) st = Style::kDouble;
  switch (st) {
    case Style::kPlain: return plain(s, ind, !simple_key);
    case Style::kSingle: return single_quoted(s, ind, !simple_key);
    case Style::kDouble: return double_quoted(s, ind, !simple_key);
    case Style::kLiteral: return literal(s, ind);
  }
}

void YamlEmitter::plain(std::string_view s, int indent, bool allow_breaks) {
  if (!whitespace_) put(' ');
  bool spaces = false;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == ' ') {
      if (allow_breaks && !spaces && column_ > kBestWidth && i + 1 < s.size() && s[i + 1] != ' ') {
        write_indent(indent);
        ++i;
      } else {
        write(s, i);
      }
      spaces = true;
    } else {
      write(s, i);
      indention_ = spaces = false;
    }
  }
  whitespace_ = indention_ = false;
}

void YamlEmitter::single_quoted(std::string_view s, int indent, bool allow_breaks) {
  indicator("'", true, false, false);
  bool spaces = false;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == ' ') {
      if (allow_breaks && !spaces && column_ > kBestWidth && i != 0 && i != s.size() - 1 && s[i + 1] != ' ') {
        write_indent(indent);
        ++i;
      } else {
        write(s, i);
      }
      spaces = true;
    } else {
      const bool quote = s[i] == '\'';
      write(s, i);
      if (quote) put('\'');
      indention_ = spaces = false;
    }
  }
  indicator("'", false, false, false);
  whitespace_ = indention_ = false;
}

void YamlEmitter::double_quoted(std::string_view s, int indent, bool allow_breaks) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  indicator("\"", true, false, false);
  bool spaces = false;
  for (std::size_t i = 0; i < s.size();) {
    const bool bom = s.substr(i).starts_with("\xEF\xBB\xBF");
    if (!is_printable_at(s, i) || bom || is_break_at(s, i) || s[i] == '"' || s[i] == '\\') {
      auto [v, w] = utf8_decode(s, i);
      if (v == 0xFFFD && w == 1) v = static_cast<unsigned char>(s[i]);  // a stray byte: \xNN
      i += w;
      put('\\');
      static const std::map<char32_t, char> kShort = {{0, '0'},     {7, 'a'},     {8, 'b'},     {9, 't'},
                                                       {10, 'n'},    {11, 'v'},    {12, 'f'},    {13, 'r'},
                                                       {27, 'e'},    {'"', '"'},   {'\\', '\\'}, {0x85, 'N'},
                                                       {0xA0, '_'},  {0x2028, 'L'}, {0x2029, 'P'}};
      if (auto it = kShort.find(v); it != kShort.end()) {
        put(it->second);
      } else {
        const int digits = v <= 0xFF ? 2 : v <= 0xFFFF ? 4 : 8;
        put(digits == 2 ? 'x' : digits == 4 ? 'u' : 'U');
        for (int k = (digits - 1) * 4; k >= 0; k -= 4) put(kHex[(v >> k) & 0xF]);
      }
      spaces = false;
    } else if (s[i] == ' ') {
      if (allow_breaks && !spaces && column_ > kBestWidth && i > 0 && i < s.size() - 1) {
        write_indent(indent);
        if (s[i + 1] == ' ') put('\\');
        ++i;
      } else {
        write(s, i);
      }
      spaces = true;
    } else {
      write(s, i);
      spaces = false;
    }
  }
  indicator("\"", false, false, false);
  whitespace_ = indention_ = false;
}

void YamlEmitter::literal(std::string_view s, int indent) {
  indicator("|", true, false, false);
  if (s[0] == ' ' || is_break_at(s, 0)) indicator("2", false, false, false);  // go-yaml's best_indent
  std::size_t last = s.size() - 1;
  while (last > 0 && (static_cast<unsigned char>(s[last]) & 0xC0) == 0x80) --last;
  if (!is_break_at(s, last)) {
    indicator("-", false, false, false);
  } else if (last == 0) {
    indicator("+", false, false, false);
  } else {
    std::size_t before = last - 1;
    while (before > 0 && (static_cast<unsigned char>(s[before]) & 0xC0) == 0x80) --before;
    if (is_break_at(s, before)) indicator("+", false, false, false);
  }
  put_break();
  indention_ = whitespace_ = true;
  bool breaks = true;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '\n') {
      put_break();
      ++i;
      indention_ = breaks = true;
    } else {
      if (breaks) write_indent(indent);
      breaks = false;
      write(s, i);
      indention_ = false;
    }
  }
}

}  // namespace

std::string to_yaml(const Json& j) {
  YamlEmitter e;
  e.node(j, -1, false);
  return e.finish();
}

// ---------------------------------------------------------------------------------------------
// Whole objects.

Json as_list(std::vector<Json> items) {
  return Json{{"apiVersion", "v1"}, {"items", std::move(items)}, {"kind", "List"}, {"metadata", {{"resourceVersion", ""}}}};
}

std::string to_json(const Json& j) { return go_json(j, 4) + "\n"; }

namespace {

std::string string_at(const Json& j, std::string_view key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::string object_name_of(const Json& object) { return string_at(object.value("metadata", Json::object()), "name"); }

// The objects a List holds, or the object itself.
std::vector<const Json*> flatten(const std::vector<Json>& objects) {
  std::vector<const Json*> out;
  for (const Json& o : objects) {
    auto items = o.is_object() ? o.find("items") : o.end();
    if (string_at(o, "kind").ends_with("List") && items != o.end() && items->is_array())
      for (const Json& item : *items) out.push_back(&item);
    else
      out.push_back(&o);
  }
  return out;
}

}  // namespace

Result<std::string> object_name(const Json& object) {
  const std::string kind = string_at(object, "kind"), name = object_name_of(object);
  if (kind.empty())
    return fail(input_error(SourceLocation{}, fmt::format("missing kind for resource with name {}", name)));
  const std::string api_version = string_at(object, "apiVersion");
  const auto slash = api_version.find('/');
  std::string type;
  for (char c : kind) type += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (slash != std::string::npos) type += "." + api_version.substr(0, slash);
  return type + "/" + name;
}

// ---------------------------------------------------------------------------------------------
// Tables.

namespace {

std::size_t rune_count(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); i += utf8_decode(s, i).second) ++n;
  return n;
}

std::string labels_text(const Json& labels) {
  std::string out;
  if (labels.is_object())
    for (auto it = labels.begin(); it != labels.end(); ++it)
      out += (out.empty() ? "" : ",") + it.key() + "=" + (it->is_string() ? it->get<std::string>() : go_sprint(*it));
  return out.empty() ? "<none>" : out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

}  // namespace

std::string render_table(const std::vector<std::vector<std::string>>& rows) {
  constexpr std::size_t kMinWidth = 6, kPadding = 3;
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t i = 0; i + 1 < r.size(); ++i) {  // a row's last cell is in no column
      if (width.size() <= i) width.push_back(kMinWidth);
      width[i] = std::max(width[i], rune_count(r[i]) + kPadding);
    }
  std::string out;
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out.append(width[i] - rune_count(r[i]), ' ');
    }
    out += '\n';
  }
  return out;
}

std::string print_table(const std::vector<Json>& objects, const std::vector<Column>& columns, const PrintOptions& o,
                        bool wide) {
  const std::vector<const Json*> items = flatten(objects);
  if (items.empty()) return {};
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head;
  if (o.with_namespace) head.push_back("NAMESPACE");
  for (const Column& c : columns)
    if (!c.wide || wide) head.push_back(upper(c.header));
  for (const std::string& key : o.label_columns) head.push_back(upper(key.substr(key.rfind('/') + 1)));
  if (o.show_labels) head.push_back("LABELS");
  if (!o.no_headers) rows.push_back(std::move(head));
  for (const Json* obj : items) {
    const Json metadata = obj->value("metadata", Json::object());
    std::vector<std::string> r;
    if (o.with_namespace) r.push_back(string_at(metadata, "namespace"));
    bool first = true;
    for (const Column& c : columns) {
      if (c.wide && !wide) continue;
      std::string cell = c.cell ? c.cell(*obj, o.now) : std::string{};
      if (cell.empty() && c.none_if_empty) cell = "<none>";
      if (first && !o.kind_prefix.empty()) cell = o.kind_prefix + "/" + cell;
      first = false;
      r.push_back(std::move(cell));
    }
    const Json labels = metadata.value("labels", Json::object());
    for (const std::string& key : o.label_columns) r.push_back(string_at(labels, key));
    if (o.show_labels) r.push_back(labels_text(labels));
    rows.push_back(std::move(r));
  }
  return render_table(rows);
}

// ---------------------------------------------------------------------------------------------
// -o custom-columns=

namespace {

// kubectl's RelaxedJSONPathExpression: ^\{\.?([^{}]+)\}$|^\.?([^{}]+)$ made "{.PATH}".
std::optional<std::string> relaxed_path(std::string_view p) {
  if (p.empty()) return std::string{};
  const bool braced = p.size() >= 2 && p.front() == '{' && p.back() == '}';
  if (braced) p = p.substr(1, p.size() - 2);
  if (!p.empty() && p.front() == '.' && p.size() > 1) p.remove_prefix(1);
  if (p.empty() || p.find_first_of("{}") != std::string_view::npos) return std::nullopt;
  return "{." + std::string(p) + "}";
}

}  // namespace

Result<std::vector<CustomColumn>> parse_custom_columns(std::string_view spec) {
  const SourceLocation where{"-o custom-columns", 1, 1};
  const std::string hint = "-o custom-columns=NAME:.metadata.name,IP:.status.podIP";
  if (spec.empty()) return fail(input_error(where, "custom-columns format specified but no custom columns given", hint));
  std::vector<CustomColumn> out;
  for (std::size_t from = 0;;) {
    const std::size_t comma = spec.find(',', from);
    const std::string_view part = spec.substr(from, comma == std::string_view::npos ? std::string_view::npos : comma - from);
    const std::size_t colon = part.find(':');
    const SourceLocation at{where.file, 1, static_cast<unsigned>(from + 1)};
    if (colon == std::string_view::npos)
      return fail(input_error(at, fmt::format("unexpected custom-columns spec: {}, expected <header>:<json-path-expr>", part), hint));
    auto path = relaxed_path(part.substr(colon + 1));
    if (!path)
      return fail(input_error(at, "unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'", hint));
    auto jp = JsonPath::parse(*path, "-o custom-columns");
    if (!jp) return fail(std::move(jp).error().with_hint(hint));
    out.push_back({std::string(part.substr(0, colon)), std::move(*jp)});
    if (comma == std::string_view::npos) break;
    from = comma + 1;
  }
  return out;
}

Result<std::string> print_custom_columns(const std::vector<Json>& objects, const std::vector<CustomColumn>& columns,
                                         bool no_headers) {
  std::vector<std::vector<std::string>> rows;
  if (!no_headers) {
    rows.emplace_back();
    for (const CustomColumn& c : columns) rows.back().push_back(c.header);
  }
  for (const Json* obj : flatten(objects)) {
    std::vector<std::string> r;
    for (const CustomColumn& c : columns) {
      auto groups = KN_TRY(c.path.find_results(*obj));
      std::string cell;
      for (const auto& g : groups)
        for (const Json& v : g) cell += (cell.empty() ? "" : ",") + go_sprint(v);
      r.push_back(groups.empty() || groups[0].empty() ? "<none>" : cell);
    }
    rows.push_back(std::move(r));
  }
  return render_table(rows);
}

// ---------------------------------------------------------------------------------------------
// -o

Result<OutputSpec> parse_output(std::string_view value) {
  OutputSpec spec;
  const auto eq = value.find('=');
  const std::string_view format = value.substr(0, eq), argument = eq == std::string_view::npos ? "" : value.substr(eq + 1);
  static const std::pair<std::string_view, OutputFormat> kPlain[] = {
      {"", OutputFormat::kTable}, {"wide", OutputFormat::kWide}, {"json", OutputFormat::kJson},
      {"yaml", OutputFormat::kYaml}, {"name", OutputFormat::kName}};
  for (auto [name, f] : kPlain)
    if (value == name) {
      spec.format = f;
      return spec;
    }
  spec.argument = std::string(argument);
  if (format == "jsonpath" || format == "jsonpath-as-json") {
    spec.format = format == "jsonpath" ? OutputFormat::kJsonPath : OutputFormat::kJsonPathAsJson;
    if (argument.empty())
      return fail(input_error(SourceLocation{}, "template format specified but no template given",
                              "-o jsonpath='{.items[*].metadata.name}'"));
    spec.jsonpath = KN_TRY(JsonPath::parse(argument, "-o " + std::string(format)));
    return spec;
  }
  if (format == "custom-columns") {
    spec.format = OutputFormat::kCustomColumns;
    spec.columns = KN_TRY(parse_custom_columns(argument));
    return spec;
  }
  return fail(input_error(
      SourceLocation{},
      fmt::format("unable to match a printer suitable for the output format {}, allowed formats are: "
                  "custom-columns,json,jsonpath,jsonpath-as-json,name,wide,yaml",
                  go_quote(value)),
      "kn-lab prints kubectl's formats but go-template, custom-columns-file and jsonpath-file"));
}

Result<std::string> print(const OutputSpec& spec, const std::vector<Json>& objects, const std::vector<Column>& columns,
                          const PrintOptions& o) {
  const bool one = o.single && objects.size() == 1;
  auto whole = [&] { return one ? objects.front() : as_list(objects); };
  switch (spec.format) {
    case OutputFormat::kTable:
    case OutputFormat::kWide: return print_table(objects, columns, o, spec.format == OutputFormat::kWide);
    case OutputFormat::kJson: return to_json(whole());
    case OutputFormat::kYaml: return to_yaml(whole());
    case OutputFormat::kName: {
      std::string out;
      for (const Json* obj : flatten(objects)) out += KN_TRY(object_name(*obj)) + "\n";
      return out;
    }
    case OutputFormat::kJsonPath:
    case OutputFormat::kJsonPathAsJson: {
      if (!spec.jsonpath) return fail(input_error(SourceLocation{}, "template format specified but no template given"));
      return spec.format == OutputFormat::kJsonPath ? spec.jsonpath->execute(whole()) : spec.jsonpath->execute_as_json(whole());
    }
    case OutputFormat::kCustomColumns: return print_custom_columns(objects, spec.columns, o.no_headers);
  }
  return std::string{};
}

}  // namespace knlab::views
