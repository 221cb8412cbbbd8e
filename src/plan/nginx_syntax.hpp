// nginx configuration syntax: tokens and quoted strings, regexes of literal text, variable names,
// and an indented configuration builder. Knows nothing of Kubernetes. Internal to src/plan.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace knlab::nginx {

// A token nginx reads as is, without quotes.
bool plain_token(std::string_view s);
// A double-quoted nginx string whose value is exactly `s`.
std::string quote(std::string_view s);
// `s` as one token: as is when nginx reads it so, else quoted.
std::string tok(std::string_view s);
// PCRE: a literal string as a regex.
std::string regex_escape(std::string_view s);
// Part of an nginx variable name.
std::string ident(std::string_view s);
// The nginx variable of a request header: $http_x_version for X-Version.
std::string header_var(std::string_view name);
// "$var" as "${var}", to be followed by other text in a string.
std::string braced(std::string_view var);

// An indented nginx configuration.
class Conf {
 public:
  void line(std::string_view text);
  // `text` as comment lines ("#" for an empty one).
  void comment(std::string_view text);
  void open(std::string_view head);
  void close();
  // One empty line, unless at the start or right after another or an opening brace.
  void blank();
  // Another Conf's text, indented at this level.
  void append(const Conf& other);
  bool empty() const { return out_.empty(); }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
  int depth_ = 0;
};

// Variable names of one configuration: each name is handed out once.
class VarNames {
 public:
  // `name`, or name_2, name_3... when taken.
  std::string unique(const std::string& name);

 private:
  std::set<std::string> used_;
};

}  // namespace knlab::nginx
