// Reading a TOML table of a lab file (or an exercise file) against its allowed keys: every
// problem becomes an input error at the key's file:line:column. Shared by lab/loader and
// lab/checks.
#pragma once

#include <fmt/core.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/ip.hpp"
#include "core/text.hpp"
#include "lab/names.hpp"

namespace knlab {

// TOML text into a table, every error at its file:line:column: a syntax error as toml++ reports
// it, and first what toml++ must not be given (a non-ASCII byte outside a comment, a table name
// that does not start as a key can). The one TOML entry point of lab files, exercises and images.
Result<toml::table> parse_toml(std::string_view text, const std::string& file);

inline std::string_view type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

// Reads one TOML table against a fixed set of keys; every problem becomes an input error
// that names the key's position. `context` names the table in messages ("[[pod]] 'web'").
class TableReader {
 public:
  TableReader(const toml::table& table, std::string context, const std::string& file,
              std::vector<std::string_view> allowed)
      : table_(table), context_(std::move(context)), file_(file), allowed_(std::move(allowed)) {}

  SourceLocation where(const toml::source_region& r) const {
    return SourceLocation{file_, r.begin.line, r.begin.column};
  }
  SourceLocation where() const { return where(table_.source()); }
  SourceLocation where_of(std::string_view key) const {
    const toml::node* n = table_.get(key);
    return n ? where(n->source()) : where();
  }
  const std::string& context() const { return context_; }

  Status check_keys() const {
    for (auto&& [key, value] : table_) {
      (void)value;
      std::string_view k = key.str();
      if (std::find(allowed_.begin(), allowed_.end(), k) != allowed_.end()) continue;
      std::string hint = did_you_mean(k, allowed_) + fmt::format("allowed keys in {}: {}", context_, join(allowed_));
      return fail(input_error(where(key.source()),
                              fmt::format("unknown key '{}' in {}", k, context_), hint));
    }
    return {};
  }

  Error type_error(std::string_view key, const toml::node& n, std::string_view expected) const {
    return input_error(where(n.source()), fmt::format("key '{}' in {} must be {}, not {}", key,
                                                      context_, expected, type_name(n)));
  }

  Error missing(std::string_view key, std::string_view what) const {
    return input_error(where(), fmt::format("{} has no '{}'", context_, key),
                       fmt::format("add {} = {}", key, what));
  }

  Result<std::optional<std::string>> string(std::string_view key) const {
    const toml::node* n = table_.get(key);
    if (!n) return std::optional<std::string>{};
    if (!n->is_string()) return fail(type_error(key, *n, "a string"));
    return std::optional<std::string>{n->as_string()->get()};
  }

  Result<std::string> required_string(std::string_view key, std::string_view example) const {
    auto s = KN_TRY(string(key));
    if (!s) return fail(missing(key, example));
    return *s;
  }

  // A string that must be one of `allowed`; nullopt when absent.
  Result<std::optional<std::string>> choice(std::string_view key, const std::vector<std::string_view>& allowed) const {
    auto v = KN_TRY(string(key));
    if (v && std::find(allowed.begin(), allowed.end(), *v) == allowed.end())
      return fail(input_error(where_of(key), fmt::format("{} = \"{}\" is not allowed in {}", key, *v, context_),
                              did_you_mean(*v, allowed) + "allowed: " + join(allowed)));
    return v;
  }

  Result<std::optional<std::int64_t>> integer(std::string_view key, std::int64_t lo,
                                              std::int64_t hi) const {
    const toml::node* n = table_.get(key);
    if (!n) return std::optional<std::int64_t>{};
    if (!n->is_integer()) return fail(type_error(key, *n, "an integer"));
    std::int64_t v = n->as_integer()->get();
    if (v < lo || v > hi)
      return fail(input_error(where(n->source()),
                              fmt::format("{} = {} in {} is out of range", key, v, context_),
                              fmt::format("allowed: {} to {}", lo, hi)));
    return std::optional<std::int64_t>{v};
  }

  Result<std::optional<bool>> boolean(std::string_view key) const {
    const toml::node* n = table_.get(key);
    if (!n) return std::optional<bool>{};
    if (!n->is_boolean()) return fail(type_error(key, *n, "true or false"));
    return std::optional<bool>{n->as_boolean()->get()};
  }

  Result<std::optional<Cidr>> cidr(std::string_view key) const {
    auto s = KN_TRY(string(key));
    if (!s) return std::optional<Cidr>{};
    auto c = Cidr::parse(*s);
    if (!c) {
      std::string hint = "write a network in CIDR notation, like \"10.244.0.0/16\"";
      if (auto loose = Cidr::parse(*s, false))
        hint = fmt::format("host bits are set: did you mean \"{}\"?",
                           Cidr{loose->network(), loose->prefix}.str());
      return fail(input_error(where_of(key),
                              fmt::format("{} = \"{}\" in {} is not a valid IPv4 network", key,
                                          *s, context_),
                              hint));
    }
    return std::optional<Cidr>{*c};
  }

  Result<std::vector<std::string>> string_array(std::string_view key) const {
    std::vector<std::string> out;
    const toml::node* n = table_.get(key);
    if (!n) return out;
    const toml::array* arr = n->as_array();
    if (!arr) return fail(type_error(key, *n, "an array of strings"));
    for (const toml::node& item : *arr) {
      if (!item.is_string()) return fail(type_error(key, item, "a string (in the array)"));
      out.push_back(item.as_string()->get());
    }
    return out;
  }

  // A table of string -> string (labels, env), in file order.
  Result<std::vector<std::pair<std::string, std::string>>> string_map(std::string_view key) const {
    std::vector<std::pair<std::string, std::string>> out;
    const toml::node* n = table_.get(key);
    if (!n) return out;
    const toml::table* t = n->as_table();
    if (!t) return fail(type_error(key, *n, "a table like { app = \"web\" }"));
    for (auto&& [k, v] : *t) {
      if (!v.is_string())
        return fail(input_error(where(v.source()),
                                fmt::format("{}.{} in {} must be a string, not {}", key, k.str(),
                                            context_, type_name(v))));
      out.emplace_back(std::string(k.str()), v.as_string()->get());
    }
    return out;
  }

  // An array of tables ([[pod]]); a single table or a scalar is a type error.
  Result<std::vector<const toml::table*>> tables(std::string_view key, std::string_view header = {}) const {
    std::vector<const toml::table*> out;
    const toml::node* n = table_.get(key);
    if (!n) return out;
    const toml::array* arr = n->as_array();
    if (!arr) return fail(type_error(key, *n, fmt::format("an array of tables: write [[{}]]", header.empty() ? key : header)));
    for (const toml::node& item : *arr) {
      if (!item.is_table()) return fail(type_error(key, item, "a table"));
      out.push_back(item.as_table());
    }
    return out;
  }

  const toml::table* table(std::string_view key) const {
    const toml::node* n = table_.get(key);
    return n ? n->as_table() : nullptr;
  }

 private:
  const toml::table& table_;
  std::string context_;
  const std::string& file_;
  std::vector<std::string_view> allowed_;
};

}  // namespace knlab
