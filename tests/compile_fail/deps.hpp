// The compile-fail cases' precompiled header: the third-party headers latent's rules sit on (the standard
// library, xsimd, xtensor, Boost.Hana) and none of latent's own. tests/compile_fail/CMakeLists.txt builds
// it once per tree with the cases' flags and force-includes it in every case, so that a case's compile
// parses only latent's headers of its rule. What a case checks (the first lines of the diagnostic, the
// sentence) does not change: latent's headers are not in it. Self-containment is tests/headers' job.
// (No include guard: g++ refuses #pragma once in the file it precompiles; it is included once, first.)

#include <boost/hana/at.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/range.hpp>
#include <boost/hana/reverse.hpp>
#include <boost/hana/tuple.hpp>
#include <xsimd/xsimd.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xtensor.hpp>

#include <algorithm>
#include <any>
#include <array>
#include <atomic>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <numbers>
#include <numeric>
#include <optional>
#include <random>
#include <ratio>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>
