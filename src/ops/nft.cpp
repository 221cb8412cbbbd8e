#include "ops/nft.hpp"

#include <fmt/core.h>

#include <map>
#include <set>
#include <string_view>
#include <unordered_map>

namespace knlab {

namespace {

std::string prefix(const NftTable& t) { return t.family + " " + t.name; }

std::string element(const NftElement& e, bool with_value) {
  std::string out = e.key;
  if (!e.comment.empty()) out += fmt::format(" comment \"{}\"", e.comment);
  if (with_value && !e.value.empty()) out += " : " + e.value;
  return out;
}

void add_set(std::string& out, const NftTable& t, const NftSet& s) {
  out += fmt::format("add {} {} {} {{ {} }}\n", s.map ? "map" : "set", prefix(t), s.name, s.spec);
}

void add_chain(std::string& out, const NftTable& t, const NftChain& c) {
  out += fmt::format("add chain {} {}", prefix(t), c.name);
  if (!c.spec.empty()) out += fmt::format(" {{ {} }}", c.spec);
  out += "\n";
}

void add_rules(std::string& out, const NftTable& t, const NftChain& c) {
  for (const std::string& r : c.rules) out += fmt::format("add rule {} {} {}\n", prefix(t), c.name, r);
}

void add_element(std::string& out, const NftTable& t, const NftSet& s, const NftElement& e) {
  out += fmt::format("add element {} {} {{ {} }}\n", prefix(t), s.name, element(e, true));
}

}  // namespace

std::string render_nft_elements(const NftTable& t, const NftSet& s) {
  std::string out;
  for (const NftElement& e : s.elements) add_element(out, t, s, e);
  return out;
}

namespace {

template <class T>
std::unordered_map<std::string_view, const T*> by_name(const std::vector<T>& items) {
  std::unordered_map<std::string_view, const T*> out(items.size());
  for (const T& i : items) out[i.name] = &i;
  return out;
}

// Declarations that changed (a chain's hook, a set's type): not a partial sync's business.
bool declarations_changed(const NftTable& was, const NftTable& now) {
  if (was.family != now.family || was.name != now.name || was.comment != now.comment) return true;
  auto old_sets = by_name(was.sets);
  for (const NftSet& s : now.sets)
    if (auto it = old_sets.find(s.name); it != old_sets.end() && (it->second->spec != s.spec || it->second->map != s.map)) return true;
  auto old_chains = by_name(was.chains);
  for (const NftChain& c : now.chains)
    if (auto it = old_chains.find(c.name); it != old_chains.end() && it->second->spec != c.spec) return true;
  return false;
}

// The elements of `now`'s sets that are new or changed, and those of `was` that went or changed.
void element_delta(const NftTable& was, const NftTable& now, std::string& deletes, std::string& adds) {
  auto old_sets = by_name(was.sets);
  for (const NftSet& s : now.sets) {
    auto it = old_sets.find(s.name);
    std::map<std::string_view, const NftElement*> before;
    if (it != old_sets.end())
      for (const NftElement& e : it->second->elements) before[e.key] = &e;
    std::set<std::string_view> kept;
    for (const NftElement& e : s.elements) {
      auto b = before.find(e.key);
      if (b != before.end() && *b->second == e) {
        kept.insert(e.key);
        continue;
      }
      add_element(adds, now, s, e);
    }
    for (auto& [key, e] : before)
      if (!kept.contains(key)) deletes += fmt::format("delete element {} {} {{ {} }}\n", prefix(was), s.name, e->key);
  }
}

}  // namespace

std::string render_nft(const NftTable& t) {
  if (t.name.empty()) return {};
  std::string out = fmt::format("add table {}", prefix(t));
  if (!t.comment.empty()) out += fmt::format(" {{ comment \"{}\" ; }}", t.comment);
  out += "\n";
  for (const NftSet& s : t.sets) add_set(out, t, s);
  for (const NftChain& c : t.chains) add_chain(out, t, c);
  for (const NftChain& c : t.chains) add_rules(out, t, c);
  for (const NftSet& s : t.sets)
    for (const NftElement& e : s.elements) add_element(out, t, s, e);
  return out;
}

std::string render_nft_replace(const NftTable& t) {
  if (t.name.empty()) return {};
  return fmt::format("add table {0}\ndelete table {0}\n", prefix(t)) + render_nft(t);
}

std::string render_nft_delta(const NftTable& was, const NftTable& now) {
  if (was == now) return {};
  if (was.name.empty()) return render_nft(now);
  if (now.name.empty()) return fmt::format("delete table {}\n", prefix(was));
  if (declarations_changed(was, now)) return render_nft_replace(now);
  std::string out;
  auto old_sets = by_name(was.sets);
  auto old_chains = by_name(was.chains);
  for (const NftSet& s : now.sets)
    if (!old_sets.contains(s.name)) add_set(out, now, s);
  for (const NftChain& c : now.chains)
    if (!old_chains.contains(c.name)) add_chain(out, now, c);
  for (const NftChain& c : now.chains) {
    auto it = old_chains.find(c.name);
    if (it != old_chains.end() && it->second->rules == c.rules) continue;
    if (it != old_chains.end()) out += fmt::format("flush chain {} {}\n", prefix(now), c.name);
    add_rules(out, now, c);
  }
  std::string deletes, adds;
  element_delta(was, now, deletes, adds);
  out += deletes + adds;
  // What is no longer named: chains emptied first (their rules may name each other and the
  // affinity sets), then deleted, then the sets.
  auto new_sets = by_name(now.sets);
  auto new_chains = by_name(now.chains);
  std::string gone;
  for (const NftChain& c : was.chains)
    if (!new_chains.contains(c.name)) {
      out += fmt::format("flush chain {} {}\n", prefix(was), c.name);
      gone += fmt::format("delete chain {} {}\n", prefix(was), c.name);
    }
  out += gone;
  for (const NftSet& s : was.sets)
    if (!new_sets.contains(s.name)) out += fmt::format("delete {} {} {}\n", s.map ? "map" : "set", prefix(was), s.name);
  return out;
}

std::size_t nft_rule_count(const NftTable& t) {
  std::size_t n = 0;
  for (const NftChain& c : t.chains) n += c.rules.size();
  for (const NftSet& s : t.sets) n += s.elements.size();
  return n;
}

NftCounts nft_script_counts(const std::string& script) {
  NftCounts c;
  std::size_t start = 0;
  while (start < script.size()) {
    std::size_t end = script.find('\n', start);
    if (end == std::string::npos) end = script.size();
    std::string_view line(script.data() + start, end - start);
    start = end + 1;
    // "<verb> <kind> <family> <table> <name> ...": the fifth word names the object.
    std::vector<std::string_view> words;
    for (std::size_t at = 0; words.size() < 5 && at < line.size();) {
      std::size_t sp = line.find(' ', at);
      words.push_back(line.substr(at, sp == std::string_view::npos ? std::string_view::npos : sp - at));
      at = sp == std::string_view::npos ? line.size() : sp + 1;
    }
    if (words.size() < 3 || words[0] != "add") continue;
    if (words[1] == "table") c.exists = true;
    if (words.size() < 5) continue;
    std::string name(words[4]);
    if (words[1] == "chain") c.chain_rules[name] += 0;
    if (words[1] == "rule") ++c.chain_rules[name];
    if (words[1] == "set" || words[1] == "map") c.set_elements[name] += 0;
    if (words[1] == "element") ++c.set_elements[name];
  }
  return c;
}

}  // namespace knlab
