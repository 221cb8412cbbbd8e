#include "trace/nginx_run.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <string_view>

#include "core/text.hpp"

namespace knlab::trace::ngx {

namespace {

// --- the location search ------------------------------------------------------------------------

enum class LocKind { kExact, kPrefix, kNoRegex, kRegex, kNamed };

struct Loc {
  LocKind kind = LocKind::kPrefix;
  std::string path;  // the prefix, the exact URI, the regex or the name
  bool icase = false;
};

// `location [=|^~|~|~*] path` and `location @name`, also with the modifier glued to the path.
Loc classify(const Directive& d) {
  if (d.args.size() >= 3) {
    const std::string& mod = d.arg(1);
    const std::string& p = d.arg(2);
    if (mod == "=") return {LocKind::kExact, p};
    if (mod == "^~") return {LocKind::kNoRegex, p};
    if (mod == "~" || mod == "~*") return {LocKind::kRegex, p, mod == "~*"};
    return {LocKind::kPrefix, p};
  }
  const std::string& a = d.arg(1);
  if (a.starts_with('@')) return {LocKind::kNamed, a};
  if (a.starts_with('=')) return {LocKind::kExact, a.substr(1)};
  if (a.starts_with("^~")) return {LocKind::kNoRegex, a.substr(2)};
  if (a.starts_with("~*")) return {LocKind::kRegex, a.substr(2), true};
  if (a.starts_with('~')) return {LocKind::kRegex, a.substr(1)};
  return {LocKind::kPrefix, a};
}

std::string where(const Directive& d) {
  return fmt::format("location {} (line {})", d.text(1), d.line);
}

// The regex locations in file order: the first that matches, else nullptr.
const Directive* first_regex(Eval& e, const std::vector<const Directive*>& regexes) {
  for (const Directive* r : regexes) {
    Loc l = classify(*r);
    if (e.search(l.path, l.icase, e.uri, where(*r)).value_or(false)) return r;
  }
  return nullptr;
}

// --- what is not evaluated ---------------------------------------------------------------------

// Directives that do not change which location, answer or upstream a request gets (or that the
// matcher evaluates itself).
const std::set<std::string_view>& known_directives() {
  static const std::set<std::string_view> k = {
      "listen", "server_name", "location", "set", "rewrite", "return", "if", "break",
      "error_page", "proxy_pass", "access_log", "error_log", "proxy_set_header",
      "proxy_hide_header", "add_header", "ssl_certificate", "ssl_certificate_key",
      "ssl_protocols", "ssl_ciphers", "ssl_prefer_server_ciphers", "ssl_session_cache",
      "ssl_session_timeout", "proxy_http_version", "proxy_connect_timeout", "proxy_read_timeout",
      "proxy_send_timeout", "proxy_next_upstream", "proxy_next_upstream_tries",
      "proxy_buffering", "proxy_buffer_size", "proxy_buffers", "proxy_request_buffering",
      "proxy_redirect", "proxy_pass_header", "proxy_ignore_headers", "proxy_intercept_errors",
      "client_max_body_size", "keepalive_timeout", "default_type", "charset", "gzip",
      "sendfile", "tcp_nodelay", "server_tokens", "log_not_found", "rewrite_log",
      "uninitialized_variable_warn", "resolver", "resolver_timeout", "http2", "expires"};
  return k;
}

// --- upstreams ---------------------------------------------------------------------------------

std::string strip_port(std::string_view host) {
  if (host.starts_with('[')) return std::string(host.substr(0, host.find(']') + 1));
  return std::string(host.substr(0, host.find(':')));
}

bool is_address(std::string_view name) {
  if (name.starts_with('[')) return true;
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.';
  });
}

// An upstream {} block's servers, and how it balances among them.
std::pair<L7Upstream, std::string> upstream_of(const Directive& u) {
  L7Upstream up{u.arg(1), {}};
  std::string method = "round robin";
  std::vector<std::string> flags;
  for (const Directive& c : u.block) {
    if (c.name() == "ip_hash" || c.name() == "hash" || c.name() == "least_conn" ||
        c.name() == "random") {
      method = c.text();
      continue;
    }
    if (c.name() != "server") continue;
    L7Server s{c.arg(1), c.trailing, 1};
    for (std::size_t i = 2; i < c.args.size(); ++i) {
      std::string_view p = c.arg(i);
      if (p.starts_with("weight=")) std::from_chars(p.data() + 7, p.data() + p.size(), s.weight);
      if (p == "down" || p == "backup") flags.push_back(fmt::format("{} is {}", s.address, p));
    }
    up.servers.push_back(std::move(s));
  }
  std::vector<std::string> list;
  for (const L7Server& s : up.servers)
    list.push_back(s.address + (s.weight != 1 ? fmt::format(" weight={}", s.weight) : "") +
                   (s.comment.empty() ? "" : " (" + s.comment + ")"));
  std::string text = fmt::format("{} over {}", method, list.empty() ? "no server" : join(list));
  if (!flags.empty()) text += "; " + join(flags) + " (not evaluated)";
  return {std::move(up), std::move(text)};
}

enum class Flow { kNext, kBreak, kLast, kReturn };

// One way through the server.
class Runner {
 public:
  Runner(Eval& e, const Directive& server) : e_(e), server_(server) {}
  Outcome run();

 private:
  Outcome finish();
  const Directive* start();
  Flow exec(const std::vector<Directive>& list);
  Flow run_if(const Directive& d);
  Flow rewrite(const Directive& d);
  void set_uri(const std::string& to, const std::string& replacement);
  void give_return(const Directive& d);
  void answer(int code, std::string text);
  const Directive* after_return(const Directive* loc);
  const Directive* error_page(const Directive* loc) const;
  const Directive* jump(const std::string& target);
  std::string because(const std::string& raw);
  void content(const Directive& loc);
  void proxy(const Directive& d);

  Eval& e_;
  const Directive& server_;
  Outcome o_;
  const Directive* if_block_ = nullptr;  // the last `if` whose condition held
  int code_ = 0;                         // of the last return
  std::string text_;
  bool in_server_ = false;
  bool error_paged_ = false;
  bool uri_changed_ = false;
};

Outcome Runner::finish() {
  o_.steps = e_.steps;
  return std::move(o_);
}

// The server's own rewrite directives, then the location search: the first location.
const Directive* Runner::start() {
  note_unevaluated(e_, server_);
  in_server_ = true;
  Flow f = exec(server_.block);
  in_server_ = false;
  if (f == Flow::kReturn) return after_return(nullptr);
  const Directive* loc = find_location(e_, server_);
  if (loc == nullptr) {
    answer(404, "");
    return after_return(nullptr);
  }
  return loc;
}

Outcome Runner::run() {
  const Directive* loc = start();
  for (int hop = 0; loc != nullptr; ++hop) {
    if (hop == 10) {
      e_.step("more than 10 internal redirects: nginx answers 500 (redirection cycle)");
      o_.action = "return 500";
      return finish();
    }
    o_.location = loc;
    note_unevaluated(e_, *loc);
    if_block_ = nullptr;
    uri_changed_ = false;
    Flow f = exec(loc->block);
    if (f == Flow::kLast || (f == Flow::kNext && uri_changed_)) {
      loc = find_location(e_, server_);
      if (loc == nullptr) answer(404, "");
      if (loc == nullptr) loc = after_return(nullptr);
      continue;
    }
    if (f == Flow::kReturn) {
      loc = after_return(loc);
      continue;
    }
    content(*loc);
    break;
  }
  return finish();
}

Flow Runner::exec(const std::vector<Directive>& list) {
  for (const Directive& d : list) {
    const std::string& n = d.name();
    Flow f = Flow::kNext;
    if (n == "set") {
      std::string v = e_.expand(d.arg(2));
      e_.set_vars[d.arg(1).substr(d.arg(1).starts_with('$') ? 1 : 0)] = v;
      e_.step(fmt::format("set {} {} (line {})", d.arg(1), quoted(v), d.line));
    } else if (n == "rewrite") {
      f = rewrite(d);
    } else if (n == "return") {
      give_return(d);
      f = Flow::kReturn;
    } else if (n == "break") {
      e_.step(fmt::format("break (line {}): the rewrite directives stop here", d.line));
      f = Flow::kBreak;
    } else if (n == "if") {
      f = run_if(d);
    }
    if (f != Flow::kNext) return f;
  }
  return Flow::kNext;
}

Flow Runner::run_if(const Directive& d) {
  std::optional<bool> c = e_.condition(d);
  bool holds = c.value_or(false);
  std::string cond = d.text(1);
  if (cond.ends_with(" )")) cond.erase(cond.size() - 2, 1);
  e_.step(fmt::format("if {} (line {}): {}", cond, d.line,
                      !c ? "not evaluated, taken as false" : holds ? "true" : "false"));
  if (!holds) return Flow::kNext;
  if_block_ = &d;
  note_unevaluated(e_, d);
  return exec(d.block);
}

// nginx: a replacement with a query replaces the arguments and keeps the old ones after it,
// unless it ends with '?'.
void Runner::set_uri(const std::string& to, const std::string& replacement) {
  auto q = to.find('?');
  if (q == std::string::npos) {
    e_.uri = to;
    return;
  }
  std::string args = to.substr(q + 1);
  bool drop = replacement.ends_with('?');
  if (drop && args.ends_with('?')) args.pop_back();
  e_.uri = to.substr(0, q);
  if (!drop && !e_.args.empty()) args = args.empty() ? e_.args : args + "&" + e_.args;
  e_.args = args;
}

Flow Runner::rewrite(const Directive& d) {
  std::string before = e_.uri;
  std::string w = fmt::format("{} (line {})", d.text(), d.line);
  if (!e_.search(d.arg(1), false, e_.uri, w).value_or(false)) {
    e_.step(fmt::format("{}: does not match {}", w, before));
    return Flow::kNext;
  }
  std::string to = e_.expand(d.arg(2));
  const std::string& flag = d.arg(3);
  if (to.starts_with("http://") || to.starts_with("https://") || flag == "redirect" ||
      flag == "permanent") {
    e_.step(fmt::format("{}: {} -> a redirect to {}", w, before, to));
    answer(flag == "permanent" ? 301 : 302, to);
    return Flow::kReturn;
  }
  set_uri(to, d.arg(2));
  o_.rewritten_uri = e_.uri + (e_.args.empty() ? "" : "?" + e_.args);
  e_.step(fmt::format("{}: {} -> {}", w, before, o_.rewritten_uri));
  if (flag == "break") return Flow::kBreak;
  if (flag == "last") return Flow::kLast;
  uri_changed_ = true;
  return Flow::kNext;
}

void Runner::answer(int code, std::string text) {
  code_ = code;
  text_ = std::move(text);
  bool redirect = code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
  if (redirect || (text_.empty() && code != 444))
    o_.action = text_.empty() ? fmt::format("return {}", code) : fmt::format("return {} {}", code, text_);
  else if (code == 444)
    o_.action = "return 444 (nginx closes the connection)";
  else
    o_.action = fmt::format("return {} {}", code, quoted(text_));
}

void Runner::give_return(const Directive& d) {
  const std::string& a = d.arg(1);
  int code = 0;
  auto [end, ec] = std::from_chars(a.data(), a.data() + a.size(), code);
  bool numeric = ec == std::errc() && end == a.data() + a.size();
  e_.step(fmt::format("{} (line {}){}", d.text(), d.line,
                      in_server_ ? ": in the server, before any location" : ""));
  if (!numeric)
    answer(302, e_.expand(a));
  else
    answer(code, d.args.size() > 2 ? e_.expand(d.arg(2)) : "");
}

// nginx's error_page for code_ at the level that has error_page directives: the location's, else
// the server's, else http's.
const Directive* Runner::error_page(const Directive* loc) const {
  std::vector<std::vector<const Directive*>> levels;
  if (loc != nullptr) levels.push_back(named(loc->block, "error_page"));
  levels.push_back(named(server_.block, "error_page"));
  levels.push_back(e_.http.error_pages);
  for (const auto& level : levels) {
    if (level.empty()) continue;
    for (const Directive* ep : level)
      for (std::size_t i = 1; i + 1 < ep->args.size(); ++i)
        if (ep->arg(i) == std::to_string(code_)) return ep;
    return nullptr;
  }
  return nullptr;
}

std::string Runner::because(const std::string& raw) {
  std::vector<std::string> parts;
  for (const std::string& r : Eval::refs(raw)) {
    parts.push_back(e_.explain(r));
    auto it = e_.http.vars.find(r);
    if (it == e_.http.vars.end() || it->second->name() != "map") continue;
    for (const std::string& r2 : Eval::refs(it->second->arg(1))) parts.push_back(e_.explain(r2));
  }
  return parts.empty() ? "" : " (" + join(parts, "; ") + ")";
}

// After a return: the location error_page sends the request to, or nullptr when the answer is
// final.
const Directive* Runner::after_return(const Directive* loc) {
  if (code_ < 400 || !text_.empty() || error_paged_) return nullptr;
  const Directive* ep = error_page(loc);
  if (ep == nullptr) return nullptr;
  error_paged_ = true;
  std::string target = e_.expand(ep->args.back().value);
  const std::string& code = ep->arg(ep->args.size() - 2);
  e_.step(fmt::format("{} (line {}) -> {}{}{}", ep->text(), ep->line, target,
                      because(ep->args.back().value),
                      code.starts_with('=') ? "" : fmt::format(" (the answer keeps status {})", code_)));
  return jump(target);
}

const Directive* Runner::jump(const std::string& target) {
  if (target.starts_with('@')) {
    for (const Directive& d : server_.block)
      if (d.name() == "location" && d.arg(1) == target) return &d;
    e_.step(fmt::format("the server has no location {}: nginx answers 500", target));
    answer(500, "");
    return nullptr;
  }
  if (target.starts_with("http://") || target.starts_with("https://")) {
    answer(302, target);
    return nullptr;
  }
  auto q = target.find('?');
  e_.uri = target.substr(0, q);
  e_.args = q == std::string::npos ? "" : target.substr(q + 1);
  e_.step(fmt::format("internal redirect to {}", target));
  const Directive* loc = find_location(e_, server_);
  if (loc == nullptr) answer(404, "");
  return loc;
}

void Runner::content(const Directive& loc) {
  static constexpr std::string_view kHandlers[] = {"proxy_pass", "fastcgi_pass", "uwsgi_pass",
                                                   "scgi_pass", "grpc_pass", "memcached_pass",
                                                   "try_files"};
  const Directive* h = nullptr;
  for (const Directive* block : {if_block_, &loc}) {
    if (block == nullptr || h != nullptr) continue;
    for (const Directive& d : block->block)
      if (h == nullptr && std::find(std::begin(kHandlers), std::end(kHandlers), d.name()) !=
                              std::end(kHandlers))
        h = &d;
  }
  if (h == nullptr) {
    o_.action = "static files (no proxy_pass)";
    e_.step(fmt::format("{} has no proxy_pass or return: nginx serves files from its root (not "
                        "evaluated by this matcher)",
                        where(loc)));
  } else if (h->name() == "proxy_pass") {
    proxy(*h);
  } else {
    o_.action = h->text();
    e_.step(fmt::format("{} (line {}): not evaluated by this matcher", h->text(), h->line));
  }
}

void Runner::proxy(const Directive& d) {
  const std::string& raw = d.arg(1);
  o_.action = "proxy_pass " + raw;
  std::string url = e_.expand(raw);
  std::string_view rest = url;
  if (auto p = rest.find("://"); p != std::string_view::npos) rest.remove_prefix(p + 3);
  std::string_view host = rest.substr(0, rest.find('/'));
  std::string name = strip_port(host);
  std::string head = fmt::format("proxy_pass {}{} (line {})", raw,
                                 url != raw ? " = " + url : std::string(), d.line);
  L7Upstream up{name, {}};
  auto it = e_.http.upstreams.find(lower(name));
  if (name.empty()) {
    e_.step(head + ": no host: nginx answers 500");
    return;
  } else if (it != e_.http.upstreams.end()) {
    auto [u, text] = upstream_of(*it->second);
    up = std::move(u);
    e_.step(fmt::format("{}: upstream {} (line {}), {}", head, up.name, it->second->line, text));
  } else if (is_address(name)) {
    up.servers.push_back(L7Server{std::string(host), "", 1});
    e_.step(head + ": an address, not an upstream block");
  } else {
    e_.step(fmt::format("{}: {} is no upstream of this configuration: nginx resolves it by {} "
                        "(not evaluated)",
                        head, name, url != raw ? "its resolver" : "DNS when it starts"));
  }
  if (host.size() < rest.size())
    e_.step(fmt::format("proxy_pass has a URI ({}): nginx replaces the part of the URI the "
                        "location matched with it (not evaluated)",
                        rest.substr(host.size())));
  o_.upstreams.push_back(std::move(up));
}

}  // namespace

const Directive* find_location(Eval& e, const Directive& server) {
  const Directive* longest = nullptr;
  Loc best;
  std::vector<const Directive*> regexes;
  for (const Directive& d : server.block) {
    if (d.name() != "location") continue;
    Loc l = classify(d);
    if (l.kind == LocKind::kExact && l.path == e.uri) {
      e.step(fmt::format("{}: an exact match of {}", where(d), e.uri));
      return &d;
    }
    if (l.kind == LocKind::kRegex) regexes.push_back(&d);
    if ((l.kind == LocKind::kPrefix || l.kind == LocKind::kNoRegex) && e.uri.starts_with(l.path) &&
        (longest == nullptr || l.path.size() > best.path.size())) {
      longest = &d;
      best = l;
    }
  }
  if (longest != nullptr && best.kind == LocKind::kNoRegex) {
    e.step(fmt::format("{}: the longest prefix of {}, and ^~: no regex is tried", where(*longest), e.uri));
    return longest;
  }
  if (const Directive* r = first_regex(e, regexes)) {
    e.step(fmt::format("{}: the first regex location that matches {}{}", where(*r), e.uri,
                       longest != nullptr ? fmt::format(" (it wins over the longest prefix, {})",
                                                        longest->text(1))
                                          : ""));
    return r;
  }
  if (longest != nullptr) {
    e.step(fmt::format("{}: the longest prefix of {}{}", where(*longest), e.uri,
                       regexes.empty() ? "" : " (no regex location matches)"));
    return longest;
  }
  e.step(fmt::format("no location matches {}: nginx answers 404", e.uri));
  return nullptr;
}

Outcome run_server(Eval& e, const Directive& server) {
  return Runner(e, server).run();
}

void note_unevaluated(Eval& e, const Directive& block) {
  for (const Directive& d : block.block) {
    bool nested = d.name() == "location" && block.name() != "server";
    if (!nested && known_directives().contains(d.name())) continue;
    e.note(fmt::format("directive:{}", d.line),
           fmt::format("{} (line {}): {}not evaluated by this matcher", d.text(), d.line,
                       nested ? "a nested location, " : ""));
  }
}

}  // namespace knlab::trace::ngx
