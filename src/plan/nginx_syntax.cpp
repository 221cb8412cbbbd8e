#include "plan/nginx_syntax.hpp"

#include <fmt/core.h>

#include <cctype>
#include <cstddef>

namespace knlab::nginx {

bool plain_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) continue;
    if (std::string_view("_-./:@*=,+%~&?!$").find(c) != std::string_view::npos) continue;
    return false;
  }
  return true;
}

// Inside quotes nginx turns a backslash followed by a quote, a backslash, t, r or n into one
// character and keeps other backslashes, so a backslash is doubled only where it would be read
// that way (regexes like \. stay readable).
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      char next = i + 1 < s.size() ? s[i + 1] : '\0';
      bool special = next == '\0' || next == '"' || next == '\'' || next == '\\' || next == 't' ||
                     next == 'r' || next == 'n';
      out += special ? "\\\\" : "\\";
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string tok(std::string_view s) {
  return plain_token(s) ? std::string(s) : quote(s);
}

std::string regex_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string ident(std::string_view s) {
  std::string out;
  for (char c : s)
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
               : '_';
  return out;
}

std::string header_var(std::string_view name) {
  return "$http_" + ident(name);
}

std::string braced(std::string_view var) {
  return var.starts_with('$') ? "${" + std::string(var.substr(1)) + "}" : std::string(var);
}

void Conf::line(std::string_view text) {
  if (text.empty()) {
    out_ += '\n';
    return;
  }
  out_.append(static_cast<std::size_t>(depth_) * 2, ' ');
  out_ += text;
  out_ += '\n';
}

void Conf::comment(std::string_view text) {
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(start, end - start);
    line(l.empty() ? "#" : "# " + std::string(l));
    start = end + 1;
  }
}

void Conf::open(std::string_view head) {
  line(std::string(head) + " {");
  ++depth_;
}

void Conf::close() {
  --depth_;
  line("}");
}

void Conf::blank() {
  if (!out_.empty() && !out_.ends_with("\n\n") && !out_.ends_with("{\n")) out_ += '\n';
}

void Conf::append(const Conf& other) {
  std::size_t start = 0;
  const std::string& t = other.out_;
  while (start < t.size()) {
    std::size_t end = t.find('\n', start);
    if (end == std::string::npos) end = t.size();
    line(std::string_view(t).substr(start, end - start));
    start = end + 1;
  }
}

std::string VarNames::unique(const std::string& name) {
  std::string n = name;
  for (int i = 2; !used_.insert(n).second; ++i) n = fmt::format("{}_{}", name, i);
  return n;
}

}  // namespace knlab::nginx
