#include "net/nftables.hpp"

#include <fmt/core.h>
#include <nftables/libnftables.h>

#include <memory>
#include <nlohmann/json.hpp>

namespace knlab {

namespace {

struct CtxFree {
  void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};
using Ctx = std::unique_ptr<nft_ctx, CtxFree>;

// A libnftables context made inside `ns` (its netlink socket is opened there), with its output
// and errors captured instead of printed.
Result<Ctx> context(const std::string& what) {
  Ctx c(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!c) return fail(sys_error(what, "libnftables", ENOMEM));
  nft_ctx_buffer_output(c.get());
  nft_ctx_buffer_error(c.get());
  return c;
}

// The first line of libnftables' error text (it quotes the command and marks the place).
std::string first_error(nft_ctx* c) {
  std::string text = nft_ctx_get_error_buffer(c) ? nft_ctx_get_error_buffer(c) : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "libnftables refused the transaction" : text;
}

Result<std::string> run(const NetnsRef& ns, const std::string& what, const std::string& commands, bool json) {
  auto inside = KN_TRY(ScopedNetns::enter(ns));
  Ctx c = KN_TRY(context(what));
  if (json) nft_ctx_output_set_flags(c.get(), NFT_CTX_OUTPUT_JSON);
  if (nft_run_cmd_from_buffer(c.get(), commands.c_str()) != 0) {
    Error e = sys_error(what, "table ip kube-proxy", 0, ns.name());
    e.detail = first_error(c.get());
    return fail(std::move(e));
  }
  const char* out = nft_ctx_get_output_buffer(c.get());
  return std::string(out ? out : "");
}

}  // namespace

Status nft_apply(const NetnsRef& ns, const std::string& script) {
  if (script.empty()) return {};
  KN_TRY(run(ns, "apply nftables transaction", script, false));
  return {};
}

Result<std::string> nft_list(const NetnsRef& ns, const std::string& family, const std::string& table) {
  return run(ns, "list nftables table", fmt::format("list table {} {}", family, table), false);
}

Result<std::optional<NftListing>> nft_listing(const NetnsRef& ns, const std::string& family, const std::string& table) {
  auto inside = KN_TRY(ScopedNetns::enter(ns));
  std::string cmd = fmt::format("list table {} {}", family, table);
  NftListing out;
  for (unsigned flags : {unsigned{NFT_CTX_OUTPUT_JSON}, unsigned{NFT_CTX_OUTPUT_HANDLE}}) {
    Ctx c = KN_TRY(context("read nftables table"));
    nft_ctx_output_set_flags(c.get(), flags);
    if (nft_run_cmd_from_buffer(c.get(), cmd.c_str()) != 0) return std::optional<NftListing>();  // no such table
    const char* text = nft_ctx_get_output_buffer(c.get());
    (flags == NFT_CTX_OUTPUT_JSON ? out.json : out.text) = text ? text : "";
  }
  return std::optional<NftListing>(std::move(out));
}

Result<NftCounts> nft_counts(const NetnsRef& ns, const std::string& family, const std::string& table) {
  NftCounts counts;
  auto inside = KN_TRY(ScopedNetns::enter(ns));
  Ctx c = KN_TRY(context("read nftables table"));
  nft_ctx_output_set_flags(c.get(), NFT_CTX_OUTPUT_JSON);
  if (nft_run_cmd_from_buffer(c.get(), fmt::format("list table {} {}", family, table).c_str()) != 0) return counts;  // no table
  const char* out = nft_ctx_get_output_buffer(c.get());
  auto doc = nlohmann::json::parse(out ? out : "", nullptr, false);
  if (doc.is_discarded() || !doc.contains("nftables")) return counts;
  counts.exists = true;
  for (const auto& item : doc["nftables"]) {
    if (item.contains("chain")) counts.chain_rules[item["chain"].value("name", "")] += 0;
    if (item.contains("rule")) ++counts.chain_rules[item["rule"].value("chain", "")];
    for (const char* kind : {"set", "map"})
      if (item.contains(kind)) {
        const auto& s = item[kind];
        bool dynamic = s.contains("flags") && s["flags"].dump().find("dynamic") != std::string::npos;
        counts.set_elements[s.value("name", "")] = s.contains("elem") && !dynamic ? s["elem"].size() : 0;
      }
  }
  return counts;
}

}  // namespace knlab
