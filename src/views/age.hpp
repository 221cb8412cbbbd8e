// kubectl's times: the AGE column (k8s.io/apimachinery/pkg/util/duration) and the RFC 3339 UTC
// times of metadata.creationTimestamp. Pure functions, no time zone, no clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace knlab::views {

// duration.HumanDuration: "0s", "59s", "119s", "3m12s", "12m", "2h5m", "10h", "3d4h", "400d",
// "2y10d", "9y". Below -1 second "<invalid>"; -1 second (clock skew) "0s".
std::string human_duration(std::int64_t seconds);

// duration.ShortHumanDuration: "45s", "3m", "5h", "12d", "2y" (kubectl's events, LAST SEEN).
std::string short_human_duration(std::int64_t seconds);

// "2026-12-05T07:51:12Z" (metav1.Time's JSON form: UTC, whole seconds).
std::string iso8601(std::int64_t unix_seconds);

// RFC 3339: "2026-12-05T07:51:12Z", "...T07:51:12.5Z", "...T08:51:12+01:00"; nullopt otherwise.
std::optional<std::int64_t> parse_iso8601(std::string_view text);

// kubectl's AGE cell from a creationTimestamp: HumanDuration(now - t), "<unknown>" if no time.
std::string age(std::string_view creation_timestamp, std::int64_t now);

}  // namespace knlab::views
