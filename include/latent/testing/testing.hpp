#pragma once
/// \file
/// latent::testing: the checks a user runs on their own layer, activation, loss or model — gradients
/// against central differences, two threads against one, save/load round trips and the bookkeeping of
/// a layer's buffers. Each returns a `check_result` (`explicit operator bool`, the measured figures,
/// `message()`) and never aborts, so it serves a doctest case or a plain `main`.
///
/// A testing aid: latent/latent.hpp does not include it (it pulls in the models and save/load, and a
/// program that trains has no use for it). Example: examples/custom_layer.cpp.

#include "latent/testing/check_result.hpp"     // check_result
#include "latent/testing/gradient_check.hpp"   // gradient_check<L>(), gradient_check(model, f)
#include "latent/testing/save_load_check.hpp"  // save_load_check<Other>(model, outputs)
#include "latent/testing/shape_check.hpp"      // shape_check<L, T>()
#include "latent/testing/thread_check.hpp"     // thread_check<L, T>(), thread_check(model, f)
