#pragma once
// Small algorithms the standard library has but cannot be used as is here.

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <utility>
#include <vector>

namespace knlab {

// What std::stable_sort does (equal elements keep their order), with std::sort over positions:
// libstdc++ 12's stable_sort uses get_temporary_buffer, which clang flags as deprecated in C++23
// (the fuzz build is clang with -Werror).
template <class T, class Less>
void stable_order(std::vector<T>& v, Less less) {
  std::vector<std::size_t> at(v.size());
  std::iota(at.begin(), at.end(), std::size_t{0});
  std::sort(at.begin(), at.end(), [&](std::size_t a, std::size_t b) {
    if (less(v[a], v[b])) return true;
    if (less(v[b], v[a])) return false;
    return a < b;
  });
  std::vector<T> out;
  out.reserve(v.size());
  for (std::size_t i : at) out.push_back(std::move(v[i]));
  v = std::move(out);
}

}  // namespace knlab
