#pragma once
// The tests' CHECK of a latent::testing result, with its message (what was expected, what was found)
// on failure.
#include <doctest/doctest.h>

#define LATENT_CHECK_RESULT(...)                                                                                       \
  do {                                                                                                                 \
    const auto result_ = (__VA_ARGS__);                                                                                \
    INFO(result_.message());                                                                                           \
    CHECK(static_cast<bool>(result_));                                                                                 \
  } while (false)
