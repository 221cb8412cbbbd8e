#include "lab/manifest_read.hpp"

#include "lab/values.hpp"

namespace knlab {

Status check_name(const Fields& f, std::string_view key, const std::string& name, std::size_t max) {
  if (auto problem = check_label(name, max))
    return fail(f.error(key, fmt::format("{} \"{}\" {}", f.path(key), name, *problem), kNameHint));
  return {};
}

Result<std::string> optional_name(const Fields& f, std::string_view key) {
  auto v = KN_TRY(f.string(key));
  if (!v) return std::string{};
  KN_TRY(check_name(f, key, *v));
  return *v;
}

Result<std::string> required_name(const Fields& f, std::string_view key, std::string hint) {
  std::string v = KN_TRY(f.required_string(key, std::move(hint)));
  KN_TRY(check_name(f, key, v));
  return v;
}

Result<std::map<std::string, std::string>> read_labels(const Fields& f, std::string_view key) {
  auto labels = KN_TRY(f.string_map(key));
  for (auto& [k, v] : labels)
    if (!valid_label_key(k) || !valid_label_part(v, true))
      return fail(f.doc().error(f.mark_in(key, k), fmt::format("{}: {}={} is not a valid Kubernetes label", f.path(key), k, v),
                          "keys and values: at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends; "
                          "a key may have a DNS prefix (example.com/key)"));
  return labels;
}

Result<std::string> read_hostname(const Fields& f, std::string_view key, bool wildcard) {
  auto h = KN_TRY(f.string(key));
  if (!h) return std::string{};
  if (!is_hostname(*h, wildcard))
    return fail(f.error(key, fmt::format("{} \"{}\" is not a valid host name", f.path(key), *h),
                        wildcard ? "a lowercase DNS name like foo.example.com, optionally starting with '*.'; no IP address, no port"
                                 : "a lowercase DNS name like foo.example.com; no wildcard, no IP address, no port"));
  return *h;
}

Result<std::vector<std::string>> read_hostnames(const Fields& f, std::string_view key) {
  std::vector<std::string> out;
  std::size_t i = 0;
  for (auto& [h, mark] : KN_TRY(f.strings(key))) {
    if (!is_hostname(h, true))
      return fail(f.doc().error(mark, fmt::format("{}[{}] \"{}\" is not a valid host name", f.path(key), i, h),
                                "a lowercase DNS name like foo.example.com, optionally starting with '*.'; no IP address, no port"));
    out.push_back(h);
    ++i;
  }
  return out;
}

// A controller name: a domain-prefixed path such as k8s.io/ingress-nginx.
Result<std::string> read_controller(const Fields& f, std::string_view key, std::string_view example) {
  std::string v = KN_TRY(f.required_string(key, fmt::format("for example {}: {}", key, example)));
  if (!is_controller_name(v))
    return fail(f.error(key, fmt::format("{} \"{}\" is not a domain-prefixed path", f.path(key), v), fmt::format("like {}", example)));
  return v;
}

std::string labels_str(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (auto& [k, v] : labels) out += fmt::format("{}{}={}", out.empty() ? "" : ",", k, v);
  return "{" + out + "}";
}

}  // namespace knlab
