// The rule <-> ipt_entry codec of net/iptables and net/iptables_read, as pure functions: one
// IptRule encoded as iptables_apply() writes it, and one entry decoded back into an IptRule as
// iptables_read() does. Internal to the net layer (and its unit tests): no libiptc handle, no
// namespace, no root.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/iptables_read.hpp"
#include "ops/iptables_rule.hpp"

struct ipt_entry;  // <linux/netfilter_ipv4/ip_tables.h>

namespace knlab {

// An ipset's kernel index by name (what -m set stores), and the inverse.
using IptSetIndex = std::function<std::optional<std::uint16_t>(const std::string&)>;
using IptSetName = std::function<std::optional<std::string>(std::uint16_t)>;

// `rule` encoded by iptables_apply()'s encoder for a rule of `table` (every jump target taken as
// an existing chain), in the form the kernel hands an entry back: a standard target (jump or
// verdict) has an empty name, libiptc resolves it (iptc_get_target). Empty when the encoder
// refuses the rule.
std::vector<unsigned char> encode_rule_for_test(const IptRule& rule, const IptSetIndex& set_index,
                                                std::string_view table = "nat");

// Entry `e` as an IptRule. `target_name` is what libiptc names its target (iptc_get_target): a
// verdict, a chain, "" for none, or the extension's name; it is used for standard targets only.
// rule.chain is left empty (the caller knows it); counters come from the entry. What the model
// cannot say is listed in `undecoded` ("match multiport, target LOG"), the rest is decoded.
IptReadRule decode_entry(const ipt_entry* e, std::string_view target_name, const IptSetName& set_name);

}  // namespace knlab
