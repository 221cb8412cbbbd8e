// Rules for the names a learner chooses (lab, node, pod, container). Every such name becomes
// part of a path (/run/netns/kn-<lab>.<name>, /run/kn-lab/<lab>/...) or a hostname, so it is
// checked here, once, against one rule: a lowercase RFC 1123 label. That excludes '/', '.',
// '..', spaces and anything a shell or a path could misread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace knlab {

inline constexpr std::size_t kMaxLabNameLength = 32;
inline constexpr std::size_t kMaxObjectNameLength = 63;

// nullopt when valid; otherwise what is wrong ("must not contain '/'"...), for an error message.
std::optional<std::string> check_label(std::string_view name, std::size_t max_length);

// Names a node or pod may not take: they are the lab's own infrastructure namespaces.
bool is_reserved_name(std::string_view name);

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);
// "did you mean 'x'? " for the closest candidate (case-insensitive, distance < 3), else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

// Kubernetes label syntax: optional "prefix/" then a name of [A-Za-z0-9._-], alphanumeric at
// both ends, at most 63 characters; values the same or empty.
bool valid_label_part(std::string_view s, bool allow_empty);
bool valid_label_key(std::string_view k);

// An environment variable's name: letters, digits and '_', not starting with a digit.
bool valid_env_name(std::string_view k);

// An image reference (registry/repository:tag@digest): lowercase, digits and "./:_-@", no
// spaces, nothing a shell could read.
bool valid_image(std::string_view image);

}  // namespace knlab
