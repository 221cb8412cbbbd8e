// Reading Kubernetes YAML: the checks made on the text and the tree before any field is read,
// the canonical form of a document (what the lab records), and Fields, a mapping read against
// the fields kn-lab knows, which turns every problem into an input error with the field's path
// and position. Internal to src/lab (the manifest reader).
#pragma once

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/text.hpp"
#include "lab/names.hpp"

namespace knlab {

// A document is refused beyond these: aliases let a few lines repeat a subtree many times, and
// an alias inside its own anchor makes a cycle (yaml-cpp builds it; depth finds it).
inline constexpr std::size_t kMaxYamlValues = 20000;
inline constexpr int kMaxYamlDepth = 64;

SourceLocation at(const std::string& file, const YAML::Mark& m);
// YAML forbids control characters, and a manifest is UTF-8: anything else is refused with its
// position before yaml-cpp sees the text.
std::optional<Error> check_text(std::string_view text, const std::string& file);
// yaml-cpp 0.7's LoadAll loops forever on some invalid text: this refuses such text first.
// Throws what yaml-cpp throws on a syntax error.
Status check_progress(const std::string& text, const std::string& file);
// Size, depth, keys and tags of a whole document (see kMaxYamlValues).
Status check_tree(const YAML::Node& n, int depth, std::size_t& count, const std::string& file, const std::string& label,
                  const std::string& path);

bool is_string_tag(const std::string& tag);
// Whether an unquoted scalar with this text could read as something other than a string.
bool plain_is_not_string(std::string_view s);
std::string_view type_name(const YAML::Node& n);

// The canonical form of a document: block style, aliases expanded, strings quoted where needed.
std::string canonical_yaml(const YAML::Node& n);
void emit_string(YAML::Emitter& out, std::string_view s);
std::string finish(const YAML::Emitter& out);

// The document being read: its file, and how errors name it ("document 2", then "Ingress",
// then "Ingress default/ingress" once its name is known).
struct Doc {
  std::string file;
  std::string label;

  Error error(const YAML::Mark& m, const std::string& what, std::string hint = {}) const {
    return input_error(at(file, m), fmt::format("{}: {}", label, what), std::move(hint));
  }
};

// One mapping of a document, read against the fields kn-lab knows. Every problem becomes an
// input error naming the field's path (spec.rules[0].http.paths[0].pathType) and position.
class Fields {
 public:
  struct Entry {
    std::string key;
    YAML::Mark key_mark;
    YAML::Node value;
  };

  Fields(const Doc& doc, std::string path, YAML::Mark mark) : doc_(&doc), path_(std::move(path)), mark_(mark) {}

  // A mapping (null reads as an empty one: `spec:` with nothing under it).
  static Result<Fields> of(const Doc& doc, const YAML::Node& n, std::string path) {
    Fields f(doc, std::move(path), n.Mark());
    if (n.IsNull()) return f;
    if (!n.IsMap())
      return fail(doc.error(n.Mark(), fmt::format("{} must be a mapping (field: value), not {}",
                                                  f.path_.empty() ? std::string("the document") : f.path_, type_name(n))));
    for (auto it = n.begin(); it != n.end(); ++it) f.entries_.push_back(Entry{it->first.Scalar(), it->first.Mark(), it->second});
    return f;
  }

  const Doc& doc() const { return *doc_; }
  YAML::Mark mark() const { return mark_; }
  const std::string& path() const { return path_; }
  std::string path(std::string_view key) const { return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key); }

  // Every field must be one of `allowed` (read) or `ignored` (accepted, without effect).
  Status allow(const std::vector<std::string_view>& allowed, const std::vector<std::string_view>& ignored = {}) const {
    for (auto& e : entries_) {
      if (std::find(allowed.begin(), allowed.end(), e.key) != allowed.end()) continue;
      if (std::find(ignored.begin(), ignored.end(), e.key) != ignored.end()) continue;
      std::string hint = did_you_mean(e.key, allowed);
      hint += fmt::format("fields of {} that kn-lab reads: {}", path_.empty() ? std::string("the object") : path_, join(allowed));
      return fail(doc_->error(e.key_mark, fmt::format("field {} is unknown or not supported by kn-lab", path(e.key)), hint));
    }
    return {};
  }

  // The value of a field; nullptr when absent or null.
  const YAML::Node* get(std::string_view key) const {
    for (auto& e : entries_)
      if (e.key == key) return e.value.IsNull() ? nullptr : &e.value;
    return nullptr;
  }
  bool has(std::string_view key) const { return get(key) != nullptr; }

  YAML::Mark mark_of(std::string_view key) const {
    for (auto& e : entries_)
      if (e.key == key) return e.value.IsNull() ? e.key_mark : e.value.Mark();
    return mark_;
  }
  // Where `sub` is inside the mapping `key` (data: {tls.crt: ...}), else where `key` is.
  YAML::Mark mark_in(std::string_view key, std::string_view sub) const {
    if (const YAML::Node* n = get(key); n && n->IsMap())
      for (auto it = n->begin(); it != n->end(); ++it)
        if (it->first.Scalar() == sub) return it->second.IsNull() ? it->first.Mark() : it->second.Mark();
    return mark_of(key);
  }
  Error error(std::string_view key, const std::string& what, std::string hint = {}) const {
    return doc_->error(mark_of(key), what, std::move(hint));
  }
  Error missing(std::string_view key, std::string hint = {}) const {
    return doc_->error(mark_, fmt::format("{} is required", path(key)), std::move(hint));
  }

  Result<std::optional<std::string>> string(std::string_view key) const {
    const YAML::Node* n = get(key);
    if (!n) return std::optional<std::string>{};
    if (!n->IsScalar()) return fail(error(key, fmt::format("{} must be a string, not {}", path(key), type_name(*n))));
    return std::optional<std::string>{n->Scalar()};
  }

  Result<std::string> required_string(std::string_view key, std::string hint = {}) const {
    auto s = KN_TRY(string(key));
    if (!s) return fail(missing(key, std::move(hint)));
    return *s;
  }

  Result<std::optional<std::int64_t>> integer(std::string_view key, std::int64_t lo, std::int64_t hi) const {
    const YAML::Node* n = get(key);
    if (!n) return std::optional<std::int64_t>{};
    if (!n->IsScalar()) return fail(error(key, fmt::format("{} must be a number, not {}", path(key), type_name(*n))));
    const std::string& s = n->Scalar();
    if (is_string_tag(n->Tag()))
      return fail(error(key, fmt::format("{} must be a number, not the string \"{}\"", path(key), s),
                        fmt::format("write it without quotes: {}: {}", key, s)));
    std::string_view digits = s;
    bool negative = false;
    if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) negative = digits.front() == '-', digits.remove_prefix(1);
    if (digits.empty() || digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return fail(error(key, fmt::format("{} must be an integer, not \"{}\"", path(key), s), fmt::format("allowed: {} to {}", lo, hi)));
    std::int64_t v = 0;
    for (char c : digits) v = v * 10 + (c - '0');
    if (negative) v = -v;
    if (v < lo || v > hi)
      return fail(error(key, fmt::format("{} = {} is out of range", path(key), v), fmt::format("allowed: {} to {}", lo, hi)));
    return std::optional<std::int64_t>{v};
  }

  Result<std::optional<std::uint16_t>> port(std::string_view key, std::int64_t lo = 1, std::int64_t hi = 65535) const {
    auto v = KN_TRY(integer(key, lo, hi));
    if (!v) return std::optional<std::uint16_t>{};
    return std::optional<std::uint16_t>{static_cast<std::uint16_t>(*v)};
  }

  // An enumerated string; absent gives `dflt` (empty `dflt`: required).
  Result<std::string> choice(std::string_view key, std::vector<std::string_view> allowed, std::string_view dflt) const {
    auto v = KN_TRY(string(key));
    if (!v) {
      if (dflt.empty()) return fail(missing(key, "allowed: " + join(allowed)));
      return std::string(dflt);
    }
    if (std::find(allowed.begin(), allowed.end(), *v) == allowed.end())
      return fail(error(key, fmt::format("{} \"{}\" is not supported", path(key), *v), did_you_mean(*v, allowed) + "allowed: " + join(allowed)));
    return *v;
  }

  // A mapping of strings (labels, annotations, Secret data), in key order.
  Result<std::map<std::string, std::string>> string_map(std::string_view key) const {
    std::map<std::string, std::string> out;
    const YAML::Node* n = get(key);
    if (!n) return out;
    Fields m = KN_TRY(of(*doc_, *n, path(key)));
    for (auto& e : m.entries_) {
      if (e.value.IsNull()) {
        out[e.key] = "";
        continue;
      }
      if (!e.value.IsScalar())
        return fail(doc_->error(e.value.Mark(), fmt::format("{}[{}] must be a string, not {}", path(key), e.key, type_name(e.value))));
      out[e.key] = e.value.Scalar();
    }
    return out;
  }

  // A nested mapping; absent gives an empty one.
  Result<Fields> object(std::string_view key) const {
    const YAML::Node* n = get(key);
    if (!n) return Fields(*doc_, path(key), mark_of(key));
    return of(*doc_, *n, path(key));
  }
  Result<Fields> required_object(std::string_view key, std::string hint = {}) const {
    if (!has(key)) return fail(missing(key, std::move(hint)));
    return object(key);
  }

  // A list; absent gives an empty one.
  Result<std::vector<YAML::Node>> list(std::string_view key) const {
    std::vector<YAML::Node> out;
    const YAML::Node* n = get(key);
    if (!n) return out;
    if (!n->IsSequence())
      return fail(error(key, fmt::format("{} must be a list, not {}", path(key), type_name(*n)), "write each item on a line starting with '- '"));
    for (auto it = n->begin(); it != n->end(); ++it) out.push_back(*it);
    return out;
  }

  // A list of mappings, each read as Fields at "key[i]".
  Result<std::vector<Fields>> objects(std::string_view key) const {
    std::vector<Fields> out;
    std::size_t i = 0;
    for (const YAML::Node& item : KN_TRY(list(key))) out.push_back(KN_TRY(of(*doc_, item, fmt::format("{}[{}]", path(key), i++))));
    return out;
  }

  // A list of strings, each with its position.
  Result<std::vector<std::pair<std::string, YAML::Mark>>> strings(std::string_view key) const {
    std::vector<std::pair<std::string, YAML::Mark>> out;
    std::size_t i = 0;
    for (const YAML::Node& item : KN_TRY(list(key))) {
      if (!item.IsScalar())
        return fail(doc_->error(item.Mark(), fmt::format("{}[{}] must be a string, not {}", path(key), i, type_name(item))));
      out.emplace_back(item.Scalar(), item.Mark());
      ++i;
    }
    return out;
  }

 private:
  const Doc* doc_;
  std::string path_;
  YAML::Mark mark_;
  std::vector<Entry> entries_;
};
}  // namespace knlab
