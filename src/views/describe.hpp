// kubectl describe, pure: the text `kubectl describe` prints for an API object (kubectl's
// describe.go: Name:, Namespace:, Labels: one per line, Annotations:, then the kind's own
// fields, Events:), from the object alone plus the related objects a kind's describer reads
// (a Service's Endpoints, a Node's Pods, a Deployment's ReplicaSets, an Ingress's backends).
// The layout is Go's tabwriter as kubectl sets it for describe (padding 2, spaces).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "views/jsonpath.hpp"

namespace knlab::views {

struct DescribeContext {
  // Objects of the kinds related_kinds(kind) names, from which describe picks what it needs.
  std::vector<Json> related;
  std::int64_t now = 0;  // for ages (a Node's pods)
};

// The kinds whose objects describing a `kind` object reads from the context ("Endpoints" for
// "Service"); none for most kinds.
std::vector<std::string_view> related_kinds(std::string_view kind);

// kubectl describe's text for one object, ending in a newline. Kinds without a describer of
// their own get the head every describer shares (Name, Namespace, Labels, Annotations, API
// Version, Kind) and Events.
std::string describe(const Json& object, const DescribeContext& ctx);

// Go's text/tabwriter (minwidth 0, padding `padding`, spaces): cells end at '\t'; a column
// block is a run of consecutive lines that have that column; a line's last cell is not aligned.
std::string tabwrite(std::string_view text, std::size_t padding = 2);

}  // namespace knlab::views
