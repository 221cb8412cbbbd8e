#include "trace/nginx_eval.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <cstddef>

#include "core/text.hpp"

namespace knlab::trace::ngx {

namespace {

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// A header's variable name: "X-Version" -> "x_version".
std::string var_ident(std::string_view header) {
  std::string out;
  for (char c : header) out += name_char(c) ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : '_';
  return out;
}

// PCRE syntax that std::regex's ECMAScript grammar lacks or reads differently: named groups,
// lookbehind, atomic groups, inline flags, \A \Z \z..., possessive quantifiers. Empty when none.
std::string pcre_only(std::string_view p) {
  bool in_class = false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    char n = i + 1 < p.size() ? p[i + 1] : '\0';
    if (c == '\\') {
      if (n != '\0' && std::string_view("AZzGhHRKQEpPXCkgNo").find(n) != std::string_view::npos)
        return fmt::format("\\{}", n);
      ++i;
    } else if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
      if (n == ']' || n == '^') ++i;
    } else if (c == '(' && n == '?') {
      char k = i + 2 < p.size() ? p[i + 2] : '\0';
      if (k != ':' && k != '=' && k != '!') return std::string(p.substr(i, 3));
    } else if ((c == '*' || c == '+' || c == '?' || c == '}') && n == '+') {
      return std::string(p.substr(i, 2));
    }
  }
  return "";
}

long parse_share(std::string_view pct) {
  if (pct.ends_with('%')) pct.remove_suffix(1);
  long whole = 0, frac = 0;
  int digits = 0;
  bool dot = false;
  for (char c : pct) {
    if (c == '.') {
      dot = true;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      if (!dot) {
        whole = whole * 10 + (c - '0');
      } else if (digits < 2) {
        frac = frac * 10 + (c - '0');
        ++digits;
      }
    }
  }
  if (digits == 1) frac *= 10;
  return whole * 100 + frac;
}

}  // namespace

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Http index_http(const Directive& http) {
  Http h;
  for (const Directive& d : http.block) {
    const std::string& n = d.name();
    if (n == "map" || n == "split_clients") {
      h.vars[d.arg(2).substr(d.arg(2).starts_with('$') ? 1 : 0)] = &d;
    } else if (n == "geo") {
      const std::string& v = d.args.size() >= 3 ? d.arg(2) : d.arg(1);
      h.vars[v.substr(v.starts_with('$') ? 1 : 0)] = &d;
    } else if (n == "upstream") {
      h.upstreams[lower(d.arg(1))] = &d;
    } else if (n == "server") {
      h.servers.push_back(&d);
    } else if (n == "error_page") {
      h.error_pages.push_back(&d);
    } else if (n == "include" || n == "perl_set" || n == "js_set") {
      h.notes.push_back(fmt::format("{} (line {}): not evaluated by this matcher", d.text(), d.line));
    }
  }
  return h;
}

std::vector<Bucket> buckets(const Directive& split) {
  std::vector<Bucket> out;
  long sum = 0;
  for (const Directive& c : split.block) {
    Bucket b{c.arg(0) == "*" ? 10000 - sum : parse_share(c.arg(0)), c.arg(1)};
    sum += b.share;
    out.push_back(std::move(b));
  }
  if (sum < 10000) out.push_back(Bucket{10000 - sum, ""});
  return out;
}

std::string percent(long share) {
  if (share % 100 == 0) return fmt::format("{}%", share / 100);
  return fmt::format("{}.{:02}%", share / 100, share % 100);
}

std::optional<std::regex> compile(std::string_view pattern, bool icase, std::string& why) {
  if (pattern.starts_with("(?i)")) {
    pattern.remove_prefix(4);
    icase = true;
  }
  if (std::string bad = pcre_only(pattern); !bad.empty()) {
    why = fmt::format("PCRE's {} is not run by this matcher", bad);
    return std::nullopt;
  }
  auto flags = std::regex::ECMAScript | (icase ? std::regex::icase : std::regex::flag_type{});
  try {
    return std::regex(std::string(pattern), flags);
  } catch (const std::regex_error& e) {
    why = e.what();
    return std::nullopt;
  }
}

Eval::Eval(const L7Request& r, const Http& h)
    : req(r), http(h), uri(r.path), args(r.query),
      request_uri(r.path + (r.query.empty() ? "" : "?" + r.query)) {}

void Eval::note(const std::string& key, std::string s) {
  if (noted_.insert(key).second) steps.push_back(std::move(s));
}

std::string Eval::header(std::string_view var_name) const {
  if (var_name == "host") return req.host;
  for (const auto& [n, v] : req.headers)
    if (var_ident(n) == var_name) return v;
  return "";
}

std::string Eval::query_arg(std::string_view name) const {
  for (std::string_view kv : split(args, '&')) {
    std::string_view key = kv.substr(0, kv.find('='));
    if (lower(key) != lower(name)) continue;
    return key.size() < kv.size() ? std::string(kv.substr(key.size() + 1)) : "";
  }
  return "";
}

std::optional<std::string> Eval::builtin(const std::string& n) {
  if (n == "uri" || n == "document_uri") return uri;
  if (n == "request_uri") return request_uri;
  if (n == "args" || n == "query_string") return args;
  if (n == "is_args") return args.empty() ? "" : "?";
  if (n == "host") return req.host.empty() ? server_name : lower(req.host);
  if (n == "request_method") return req.method;
  if (n == "scheme") return req.https ? "https" : "http";
  if (n == "https") return req.https ? "on" : "";
  if (n == "server_port") return std::to_string(req.port);
  if (n == "server_name") return server_name;
  if (n == "server_protocol") return "HTTP/1.1";
  if (n == "request") return req.method + " " + request_uri + " HTTP/1.1";
  if (n.starts_with("http_")) return header(n.substr(5));
  if (n.starts_with("arg_")) return query_arg(n.substr(4));
  if (n == "content_type" || n == "content_length") return header(n);
  if (n.starts_with("cookie_")) {
    for (std::string_view c : split(header("cookie"), ';')) {
      while (c.starts_with(' ')) c.remove_prefix(1);
      if (c.starts_with(n.substr(7) + "=")) return std::string(c.substr(n.size() - 7 + 1));
    }
    return "";
  }
  return std::nullopt;
}

std::string Eval::var(const std::string& name) {
  if (name.size() == 1 && std::isdigit(static_cast<unsigned char>(name[0]))) {
    auto i = static_cast<std::size_t>(name[0] - '0');
    return i < captures.size() ? captures[i] : "";
  }
  if (auto it = set_vars.find(name); it != set_vars.end()) return it->second;
  if (auto it = http.vars.find(name); it != http.vars.end()) {
    const Directive& d = *it->second;
    if (depth_ > 16) {
      note("cycle:" + name, fmt::format("${}: defined through itself (not evaluated)", name));
      return "";
    }
    if (d.name() == "map") return map_value(name, d);
    if (d.name() == "geo") return geo_value(name, d);
    return split_value(name, d);
  }
  if (auto v = builtin(name)) return *v;
  note("var:" + name,
       fmt::format("${}: not known from the request, taken as empty by this matcher", name));
  return "";
}

std::string Eval::expand(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '$' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    std::string name;
    std::size_t end = i + 1;
    if (s[end] == '{') {
      std::size_t close = s.find('}', end);
      if (close == std::string_view::npos) close = s.size();
      name = std::string(s.substr(end + 1, close - end - 1));
      end = close + 1;
    } else if (std::isdigit(static_cast<unsigned char>(s[end]))) {
      name = std::string(1, s[end++]);
    } else {
      while (end < s.size() && name_char(s[end])) name += s[end++];
    }
    if (name.empty()) {
      out += '$';
      continue;
    }
    out += var(name);
    i = end - 1;
  }
  return out;
}

std::vector<std::string> Eval::refs(std::string_view s) {
  std::vector<std::string> out;
  for (std::size_t i = s.find('$'); i != std::string_view::npos; i = s.find('$', i + 1)) {
    std::size_t start = i + 1, end = start;
    if (end < s.size() && s[end] == '{') {
      end = s.find('}', start);
      if (end == std::string_view::npos) break;
      out.emplace_back(s.substr(start + 1, end - start - 1));
      continue;
    }
    while (end < s.size() && name_char(s[end])) ++end;
    if (end > start) out.emplace_back(s.substr(start, end - start));
  }
  return out;
}

std::optional<bool> Eval::search(std::string_view pattern, bool icase, const std::string& subject,
                                 std::string_view where) {
  std::string why;
  std::optional<std::regex> re = compile(pattern, icase, why);
  if (!re) {
    note("re:" + std::string(pattern),
         fmt::format("{}: the regex {} is not evaluated ({}): taken as not matching", where,
                     quoted(pattern), why));
    return std::nullopt;
  }
  std::smatch m;
  if (!std::regex_search(subject, m, *re)) return false;
  captures.clear();
  for (std::size_t i = 0; i < m.size(); ++i) captures.push_back(m[i].str());
  return true;
}

std::string Eval::map_value(const std::string& name, const Directive& m) {
  if (auto it = cache_.find(name); it != cache_.end()) return it->second;
  ++depth_;
  std::string input = expand(m.arg(1));
  const Directive* hit = nullptr;
  const Directive* def = nullptr;
  for (const Directive& c : m.block) {  // exact strings first, case-insensitively
    const std::string& key = c.arg(0);
    if (c.args.size() < 2) {
      if (key == "hostnames")
        note(fmt::format("map:{}", c.line),
             fmt::format("map {} (line {}): hostnames: its wildcard entries are not evaluated "
                         "(exact and regex entries are)",
                         m.arg(2), c.line));
      else if (key != "volatile")
        note(fmt::format("map:{}", c.line),
             fmt::format("map {} (line {}): {} is not evaluated", m.arg(2), c.line, c.text()));
      continue;
    }
    if (key == "default") def = &c;
    if (key == "default" || key.starts_with('~')) continue;
    std::string k = key.starts_with('\\') ? key.substr(1) : key;
    if (hit == nullptr && lower(k) == lower(input)) hit = &c;
  }
  for (const Directive& c : m.block) {  // then the regexes, in order
    if (hit != nullptr) break;
    const std::string& key = c.arg(0);
    if (c.args.size() < 2 || !key.starts_with('~')) continue;
    bool icase = key.starts_with("~*");
    std::string where = fmt::format("map {} (line {})", m.arg(2), c.line);
    if (search(std::string_view(key).substr(icase ? 2 : 1), icase, input, where).value_or(false))
      hit = &c;
  }
  const Directive* used = hit != nullptr ? hit : def;
  std::string value = used != nullptr ? expand(used->arg(1)) : "";
  why_[name] = Why{m.args[1].raw, input, hit != nullptr ? hit->args[0].raw : "default", "map"};
  --depth_;
  return cache_[name] = value;
}

std::string Eval::geo_value(const std::string& name, const Directive& g) {
  std::string value;
  bool by_address = false;
  for (const Directive& c : g.block) {
    if (c.arg(0) == "default" && c.args.size() >= 2)
      value = c.arg(1);
    else
      by_address = true;
  }
  if (by_address)
    note("geo:" + name, fmt::format("geo ${} (line {}) depends on the client's address, not known "
                                    "here: taken as its default \"{}\"",
                                    name, g.line, value));
  why_[name] = Why{g.args.size() >= 3 ? g.args[1].raw : "$remote_addr", "", "default", "geo"};
  return value;
}

std::string Eval::split_value(const std::string& name, const Directive& s) {
  if (auto it = choice.find(name); it != choice.end()) return it->second;
  if (std::find(unchosen.begin(), unchosen.end(), name) == unchosen.end())
    unchosen.push_back(name);
  std::vector<Bucket> b = buckets(s);
  return b.empty() ? "" : b.front().value;
}

std::string Eval::explain(const std::string& name) {
  std::string value = var(name);
  std::string shown = value.empty() ? "\"\"" : value;
  auto it = why_.find(name);
  if (it == why_.end()) {
    auto d = http.vars.find(name);
    bool split = d != http.vars.end() && d->second->name() == "split_clients";
    return fmt::format("${} = {}{}", name, shown, split ? ": split_clients, random per request" : "");
  }
  const Why& w = it->second;
  if (w.kind != "map") return fmt::format("${} = {}: {} {}", name, shown, w.kind, w.entry);
  return fmt::format("${} = {}: map {} ({}) {}", name, shown, w.source, quoted(w.input), w.entry);
}

std::optional<bool> Eval::compare(const std::string& value, const std::string& op,
                                  const std::string& arg) {
  if (op == "=") return value == expand(arg);
  if (op == "!=") return value != expand(arg);
  bool negate = op.starts_with('!');
  std::string_view re = std::string_view(op).substr(negate ? 1 : 0);
  if (re != "~" && re != "~*") return std::nullopt;
  std::optional<bool> hit = search(arg, re == "~*", value, "if");
  if (!hit) return std::nullopt;
  return negate ? !*hit : *hit;
}

std::optional<bool> Eval::condition(const Directive& d) {
  std::vector<Token> w(d.args.begin() + 1, d.args.end());
  if (!w.empty() && !w.front().quoted && w.front().value.starts_with('(')) {
    w.front().value.erase(0, 1);
    if (w.front().value.empty()) w.erase(w.begin());
  }
  if (!w.empty() && !w.back().quoted && w.back().value.ends_with(')')) {
    w.back().value.pop_back();
    if (w.back().value.empty()) w.pop_back();
  }
  if (w.size() == 1 && w[0].value.starts_with('$')) {
    std::string v = expand(w[0].value);
    return !v.empty() && v != "0";
  }
  if (w.size() == 3 && w[0].value.starts_with('$'))
    if (auto r = compare(expand(w[0].value), w[1].value, w[2].value)) return r;
  note(fmt::format("if:{}", d.line),
       fmt::format("{} (line {}): a condition this matcher does not evaluate (taken as false)",
                   d.text(), d.line));
  return std::nullopt;
}

}  // namespace knlab::trace::ngx
