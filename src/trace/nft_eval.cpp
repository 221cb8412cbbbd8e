#include "trace/nft_eval.hpp"

#include <fmt/core.h>

#include <algorithm>

namespace knlab::trace {

namespace {

using Json = nlohmann::json;

// "... # handle 32" lines of `nft -a list table`, by handle, without the handle.
std::map<int, std::string> texts_by_handle(std::string_view text) {
  std::map<int, std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    std::size_t at = line.rfind(" # handle ");
    if (at == std::string_view::npos) continue;
    std::string_view body = line.substr(0, at);
    while (!body.empty() && (body.front() == '\t' || body.front() == ' ')) body.remove_prefix(1);
    if (body.ends_with("{")) continue;  // a chain's or set's header
    out[std::atoi(std::string(line.substr(at + 10)).c_str())] = std::string(body);
  }
  return out;
}

enum class Flow { kFallThrough, kTerminal };

// One walk of the table for one packet.
class Walk {
 public:
  Walk(const NftTableRead& t, const Packet& p, const NfContext& ctx) : t_(t), ctx_(ctx) { r_.packet = p; }

  NfResult run(std::string_view chain) {
    auto it = t_.chains.find(std::string(chain));
    if (it == t_.chains.end()) return r_;  // nothing hooked there
    if (walk(it->first, 0) == Flow::kFallThrough) r_.verdict = Verdict::kAccept;
    return r_;
  }

 private:
  const NftTableRead& t_;
  const NfContext& ctx_;
  NfResult r_;
  std::string unknown_;  // the first expression not understood
  std::string because_;  // why a no-endpoint map refuses the packet ("default/web has no endpoints")

  std::string why(const NftRuleRead& rule) const {
    if (!because_.empty()) return because_;
    return rule.comment.empty() ? rule.text : rule.comment;
  }

  Flow undecided(const std::string& why) {
    r_.verdict = Verdict::kUndecided;
    r_.why = why;
    return Flow::kTerminal;
  }

  // What an expression on the left of a match stands for, for this packet (null: not known).
  Json value(const Json& e) {
    const Packet& p = r_.packet;
    if (e.contains("payload")) {
      std::string proto = e["payload"].value("protocol", ""), field = e["payload"].value("field", "");
      if (proto == "ip" && field == "saddr") return p.src.str();
      if (proto == "ip" && field == "daddr") return p.dst.str();
      if ((proto == "tcp" && p.proto != Proto::kTcp) || (proto == "udp" && p.proto != Proto::kUdp)) return Json();  // no such header
      if (field == "dport") return p.dport;
      if (field == "sport") return p.sport;
    }
    if (e.contains("meta")) {
      std::string key = e["meta"].value("key", "");
      if (key == "l4proto") return std::string(proto_name(p.proto));
      if (key == "mark") return p.mark;
    }
    if (e.contains("ct") && e["ct"].value("key", "") == "state") return p.ct == CtState::kNew ? "new" : "established";
    if (e.contains("fib") && e["fib"].value("result", "") == "type") {
      bool by_src = e["fib"].contains("flags") && e["fib"]["flags"].dump().find("saddr") != std::string::npos;
      Ipv4 a = by_src ? p.src : p.dst;
      bool local = std::find(ctx_.local_addresses.begin(), ctx_.local_addresses.end(), a) != ctx_.local_addresses.end();
      return local ? "local" : "unicast";
    }
    if (e.contains("&") && e["&"].is_array() && e["&"].size() == 2) {
      Json v = value(e["&"][0]);
      if (v.is_number() && e["&"][1].is_number()) return v.get<std::uint32_t>() & e["&"][1].get<std::uint32_t>();
    }
    if (e.contains("concat")) {
      Json out = Json::array();
      for (const Json& part : e["concat"]) {
        Json v = value(part);
        if (v.is_null()) return Json();
        out.push_back(v);
      }
      return out;
    }
    if (unknown_.empty()) unknown_ = e.dump();
    return Json();
  }

  static Json element_key(const Json& e) {
    if (e.is_object() && e.contains("elem")) return element_key(e["elem"].value("val", Json()));
    if (e.is_object() && e.contains("concat")) return e["concat"];
    return e;
  }

  static bool covers(const Json& element, const Json& v) {
    Json k = element_key(element);
    if (k.is_object() && k.contains("prefix") && v.is_string()) {
      auto net = Cidr::parse(fmt::format("{}/{}", k["prefix"].value("addr", ""), k["prefix"].value("len", 0)), false);
      auto ip = Ipv4::parse(v.get<std::string>());
      return net && ip && net->contains(*ip);
    }
    return k == v;
  }

  const Json* set_elements(const Json& ref) {
    std::string name = ref.get<std::string>().substr(1);
    auto it = t_.sets.find(name);
    return it == t_.sets.end() ? nullptr : &it->second;
  }

  // Whether `v` matches `right` (a value, a prefix, "@set", or an anonymous set); nullopt: unknown.
  std::optional<bool> member(const Json& v, const Json& right) {
    if (right.is_string() && right.get<std::string>().starts_with("@")) {
      const Json* elems = set_elements(right);
      if (!elems) return std::nullopt;
      return std::any_of(elems->begin(), elems->end(), [&](const Json& e) { return covers(e, v); });
    }
    if (right.is_object() && right.contains("set")) {
      const Json& s = right["set"];
      return std::any_of(s.begin(), s.end(), [&](const Json& e) { return covers(e, v); });
    }
    if (right.is_array()) return std::any_of(right.begin(), right.end(), [&](const Json& e) { return covers(e, v); });
    return covers(right, v);
  }

  std::optional<bool> match(const Json& m) {
    Json v = value(m.value("left", Json()));
    if (v.is_null()) return unknown_.empty() ? std::optional<bool>(false) : std::nullopt;  // a header the packet lacks
    auto in = member(v, m.value("right", Json()));
    if (!in) return std::nullopt;
    return m.value("op", "==") == "!=" ? !*in : *in;
  }

  void step(const std::string& chain, const NftRuleRead& rule, std::string target) {
    r_.steps.push_back(NfStep{"kube-proxy", chain, rule.handle, rule.text, rule.comment, std::move(target), {}});
  }

  // The DNAT of an endpoint chain (its last rule's), for a branch's backend.
  std::optional<std::pair<Ipv4, std::uint16_t>> dnat_of(const std::string& chain) const {
    auto it = t_.chains.find(chain);
    if (it == t_.chains.end()) return std::nullopt;
    for (const NftRuleRead& r : it->second)
      for (const Json& e : r.expr)
        if (e.contains("dnat")) {
          auto ip = Ipv4::parse(e["dnat"].value("addr", ""));
          if (ip) return std::pair{*ip, static_cast<std::uint16_t>(e["dnat"].value("port", 0))};
        }
    return std::nullopt;
  }

  // `numgen random mod N vmap { 0 : goto ..., ... }`: every branch, the one to follow chosen.
  Json numgen(const std::string& chain, const NftRuleRead& rule, const Json& data) {
    const Json& elems = data["set"];
    std::size_t first = r_.branches.size();
    for (const Json& e : elems) {
      const Json& verdict = e[1];
      std::string target = verdict.contains("goto") ? verdict["goto"].value("target", "") : verdict.contains("jump") ? verdict["jump"].value("target", "") : "";
      NfBranch b{chain, rule.handle, 1.0 / static_cast<double>(elems.size()), target, std::nullopt, 0, false};
      if (auto d = dnat_of(target)) {
        b.to_ip = d->first;
        b.to_port = d->second;
      }
      r_.branches.push_back(b);
    }
    std::size_t pick = first;
    for (std::size_t i = first; i < r_.branches.size(); ++i)
      if (ctx_.backend && r_.branches[i].to_ip == ctx_.backend) pick = i;
    if (pick >= r_.branches.size()) return Json();
    r_.branches[pick].chosen = true;
    return elems[pick - first][1];
  }

  Json vmap(const std::string& chain, const NftRuleRead& rule, const Json& vm) {
    const Json& key = vm.value("key", Json());
    const Json& data = vm.value("data", Json());
    if (key.contains("numgen")) return numgen(chain, rule, data);
    Json v = value(key);
    if (v.is_null()) return Json();
    const Json* elems = data.is_string() ? set_elements(data) : data.contains("set") ? &data["set"] : nullptr;
    if (!elems) return Json();
    for (const Json& e : *elems)
      if (e.is_array() && e.size() == 2 && covers(e[0], v)) {
        // kube-proxy names the service port of an entry that refuses: say why as its iptables
        // mode's comments do.
        std::string comment = e[0].is_object() && e[0].contains("elem") ? e[0]["elem"].value("comment", "") : "";
        std::string map = data.is_string() ? data.get<std::string>() : "";
        if (!comment.empty() && map.starts_with("@no-endpoint-"))
          because_ = comment + (e[1].contains("drop") ? " has no local endpoints" : " has no endpoints");
        return e[1];
      }
    return Json::object();  // no element: the rule does not apply
  }

  // A verdict (from a statement or a map): where the walk goes.
  std::optional<Flow> verdict(const std::string& chain, const NftRuleRead& rule, const Json& v, int depth) {
    for (const char* kind : {"jump", "goto"})
      if (v.contains(kind)) {
        std::string target = v[kind].value("target", "");
        step(chain, rule, target);
        Flow f = walk(target, depth + 1);
        if (f == Flow::kTerminal || std::string_view(kind) == "goto") return f == Flow::kTerminal ? Flow::kTerminal : Flow::kFallThrough;
        return std::nullopt;  // a jump that came back: the next rule
      }
    if (v.contains("return")) {
      step(chain, rule, "RETURN");
      return Flow::kFallThrough;
    }
    for (auto [kind, verdict] : {std::pair{"accept", Verdict::kAccept}, std::pair{"drop", Verdict::kDrop}})
      if (v.contains(kind) || v == kind) {
        step(chain, rule, verdict_name(verdict).data());
        r_.verdict = verdict;
        if (verdict != Verdict::kAccept) r_.why = why(rule);
        return Flow::kTerminal;
      }
    return std::nullopt;
  }

  // One rule: its matches, then its statements. nullopt: go on with the next rule.
  std::optional<Flow> apply(const std::string& chain, const NftRuleRead& rule, int depth) {
    for (const Json& e : rule.expr) {
      if (e.contains("match")) {
        auto m = match(e["match"]);
        if (!m) return undecided(fmt::format("nft expression not understood in {} (handle {}): {}", chain, rule.handle, unknown_));
        if (!*m) return std::nullopt;
        continue;
      }
      if (e.contains("vmap")) {
        Json v = vmap(chain, rule, e["vmap"]);
        if (v.is_null()) return undecided(fmt::format("cannot look up the verdict map of {} (handle {})", chain, rule.handle));
        if (v.empty()) return std::nullopt;
        return verdict(chain, rule, v, depth);
      }
      if (e.contains("mangle")) {
        const Json& val = e["mangle"].value("value", Json());
        for (const char* op : {"|", "^"})
          if (val.contains(op) && val[op].is_array() && val[op].size() == 2 && val[op][1].is_number()) {
            std::uint32_t bits = val[op][1].get<std::uint32_t>();
            r_.packet.mark = *op == '|' ? (r_.packet.mark | bits) : (r_.packet.mark ^ bits);
          }
        step(chain, rule, "MARK");
        continue;
      }
      if (e.contains("dnat")) {
        auto ip = Ipv4::parse(e["dnat"].value("addr", ""));
        if (!ip) return undecided(fmt::format("a DNAT of {} (handle {}) without an address", chain, rule.handle));
        r_.packet.dst = *ip;
        if (e["dnat"].contains("port")) r_.packet.dport = static_cast<std::uint16_t>(e["dnat"]["port"].get<int>());
        r_.dnat = true;
        step(chain, rule, "DNAT");
        return Flow::kTerminal;
      }
      if (e.contains("masquerade")) {
        r_.masquerade = true;
        step(chain, rule, "MASQUERADE");
        return Flow::kTerminal;
      }
      if (e.contains("reject")) {
        step(chain, rule, "REJECT");
        r_.verdict = Verdict::kReject;
        r_.why = why(rule);
        return Flow::kTerminal;
      }
      if (e.contains("set") || e.contains("counter")) continue;  // affinity updates, counters: nothing decided
      if (auto v = verdict(chain, rule, e, depth)) return v;
      if (e.contains("jump") || e.contains("goto")) continue;  // a jump that returned
      return undecided(fmt::format("nft statement not understood in {} (handle {}): {}", chain, rule.handle, e.dump()));
    }
    return std::nullopt;
  }

  Flow walk(const std::string& chain, int depth) {
    if (depth > 32) return undecided("chains nested deeper than 32");
    auto it = t_.chains.find(chain);
    if (it == t_.chains.end()) return undecided("no chain " + chain + " in table ip kube-proxy");
    for (const NftRuleRead& r : it->second)
      if (auto f = apply(chain, r, depth)) return *f;
    return Flow::kFallThrough;
  }
};

}  // namespace

Result<NftTableRead> parse_nft_table(std::string_view json, std::string_view text_with_handles) {
  Json doc = Json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.contains("nftables") || !doc["nftables"].is_array())
    return fail(state_error("read nftables table", "libnftables gave no JSON listing"));
  auto texts = texts_by_handle(text_with_handles);
  NftTableRead t;
  for (const Json& item : doc["nftables"]) {
    if (item.contains("table")) {
      t.family = item["table"].value("family", "");
      t.name = item["table"].value("name", "");
    }
    if (item.contains("chain")) t.chains[item["chain"].value("name", "")];
    for (const char* kind : {"set", "map"})
      if (item.contains(kind)) t.sets[item[kind].value("name", "")] = item[kind].value("elem", Json::array());
    if (item.contains("rule")) {
      const Json& r = item["rule"];
      int handle = r.value("handle", 0);
      auto text = texts.find(handle);
      t.chains[r.value("chain", "")].push_back(
          NftRuleRead{handle, text == texts.end() ? std::string() : text->second, r.value("expr", Json::array()), r.value("comment", "")});
    }
  }
  return t;
}

NfResult evaluate_nft(const NftTableRead& t, std::string_view chain, const Packet& p, const NfContext& ctx) {
  return Walk(t, p, ctx).run(chain);
}

}  // namespace knlab::trace
