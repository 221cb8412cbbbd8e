// Text tables in kubectl's layout (left-aligned columns, three spaces apart) and a minimal
// JSON writer for `-o json`. Pure functions.
#pragma once

#include <string>
#include <vector>

namespace knlab {

using Row = std::vector<std::string>;
std::string render_table(const std::vector<Row>& rows);

std::string json_escape(std::string_view s);  // with the quotes

// "5s", "3m", "2h", "4d": kubectl's AGE column.
std::string human_age(long seconds);

}  // namespace knlab
