// nginx's variables for one request, as the matcher evaluates them: the request's own ($uri,
// $host, $http_*, $arg_*, ...), `set`, and those the http {} block defines with `map`, `geo` and
// `split_clients`; regexes (PCRE as written, run as std::regex ECMAScript) with their captures;
// `if` conditions. What cannot be known from the request (the client's address, $request_id,
// files) is said in a step, never guessed silently. Internal to src/trace (nginx_match).
#pragma once

#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "trace/nginx_conf.hpp"
#include "trace/nginx_match.hpp"

namespace knlab::trace::ngx {

// What http {} names: variables defined by a block, upstreams, servers.
struct Http {
  std::map<std::string, const Directive*> vars;       // "knlab_path_1" -> its map/geo/split_clients
  std::map<std::string, const Directive*> upstreams;  // lower-case name -> upstream {}
  std::vector<const Directive*> servers;
  std::vector<const Directive*> error_pages;          // error_page at http level
  std::vector<std::string> notes;                     // directives of http {} not evaluated
};
Http index_http(const Directive& http);

// A split_clients bucket: its share in hundredths of a percent (10000 = 100%) and its value.
struct Bucket {
  long share = 0;
  std::string value;
};
std::vector<Bucket> buckets(const Directive& split);
// "90%", "33.33%"
std::string percent(long share);

// Why a map, geo or split_clients variable has its value.
struct Why {
  std::string source;  // the map's source as written, "$uri"
  std::string input;   // its value for this request
  std::string entry;   // the entry that matched as written ("\"~^/api(/|$)\""), or "default"
  std::string kind;    // map, geo, split_clients
};

// A regex as std::regex: nullopt (and `why`) for a pattern using PCRE syntax that ECMAScript
// lacks or reads differently. A leading (?i) becomes icase.
std::optional<std::regex> compile(std::string_view pattern, bool icase, std::string& why);

// The request's state while nginx handles it.
class Eval {
 public:
  Eval(const L7Request& req, const Http& http);

  // The value of variable `name` (without `$`: "uri", "1", "knlab_path_1").
  std::string var(const std::string& name);
  // A string with variables ("https://$host$request_uri", "${knlab_path_1}1") expanded.
  std::string expand(std::string_view s);
  // Whether `pattern` (~ / ~*) is found in `subject`, the captures kept for $1..$9; nullopt
  // (and a step) when the pattern cannot be run here.
  std::optional<bool> search(std::string_view pattern, bool icase, const std::string& subject,
                             std::string_view where);
  // An `if` condition (the words between the parentheses); nullopt when not evaluated.
  std::optional<bool> condition(const Directive& d);
  // "$v = 1: map $uri (\"/api/x\") \"~^/api(/|$)\"": a variable's value, and for one a map,
  // geo or split_clients set, the entry that gave it.
  std::string explain(const std::string& name);
  // The variables a string refers to, in order ("${a}${b}1" -> a, b).
  static std::vector<std::string> refs(std::string_view s);

  void step(std::string s) { steps.push_back(std::move(s)); }
  // A step said once per key (unknown variables, unsupported constructs).
  void note(const std::string& key, std::string s);

  const L7Request& req;
  const Http& http;
  std::string uri;          // $uri: the path, after rewrites
  std::string args;         // $args
  std::string server_name;  // the chosen server's first name
  std::string request_uri;  // $request_uri: the path as sent (not normalized) and the query
  std::map<std::string, std::string> set_vars;          // `set`
  std::map<std::string, std::string> choice;            // split_clients variable -> its value
  std::vector<std::string> unchosen;                    // split_clients variables met without one
  std::vector<std::string> steps;
  std::vector<std::string> captures;                    // $0..$9 of the last regex that matched

 private:
  std::optional<std::string> builtin(const std::string& name);
  std::string header(std::string_view var_name) const;
  std::string query_arg(std::string_view name) const;
  std::string map_value(const std::string& name, const Directive& m);
  std::string geo_value(const std::string& name, const Directive& g);
  std::string split_value(const std::string& name, const Directive& s);
  std::optional<bool> compare(const std::string& value, const std::string& op,
                              const std::string& arg);

  std::map<std::string, std::string> cache_;  // map/geo values: computed once per request
  std::map<std::string, Why> why_;
  std::set<std::string> noted_;
  int depth_ = 0;
};

// s in double quotes, '"' and '\\' escaped, as nginx writes a string back.
std::string quoted(std::string_view s);

}  // namespace knlab::trace::ngx
