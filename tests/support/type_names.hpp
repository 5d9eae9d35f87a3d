#pragma once
/// \file
/// Test support, not part of the installed library: doctest's names for the latent types that more than
/// one test file lists in its template test cases (the layer laws' `Dense<7, 13, A>` for the built-in
/// activations, and a chain of three `Dense` layers). doctest takes a type's name once per program, and
/// the test files of a program compile as one unit (tests/CMakeLists.txt), so the files that list these
/// types include this header instead of naming them again.

#include <doctest/doctest.h>
#include <latent/activations/elu.hpp>
#include <latent/activations/identity.hpp>
#include <latent/activations/leaky_relu.hpp>
#include <latent/activations/relu.hpp>
#include <latent/activations/sigmoid.hpp>
#include <latent/activations/softplus.hpp>
#include <latent/activations/tanh.hpp>
#include <latent/layers/dense.hpp>
#include <latent/layers/seq.hpp>

TYPE_TO_STRING_AS("Dense<7, 13, Identity>", latent::Dense<7, 13, latent::Identity>);
TYPE_TO_STRING_AS("Dense<7, 13, Relu>", latent::Dense<7, 13, latent::Relu>);
TYPE_TO_STRING_AS("Dense<7, 13, LeakyRelu>", latent::Dense<7, 13, latent::LeakyRelu>);
TYPE_TO_STRING_AS("Dense<7, 13, Sigmoid>", latent::Dense<7, 13, latent::Sigmoid>);
TYPE_TO_STRING_AS("Dense<7, 13, Tanh>", latent::Dense<7, 13, latent::Tanh>);
TYPE_TO_STRING_AS("Dense<7, 13, Softplus>", latent::Dense<7, 13, latent::Softplus>);
TYPE_TO_STRING_AS("Dense<7, 13, Elu>", latent::Dense<7, 13, latent::Elu>);
TYPE_TO_STRING_AS("ChainSeq", latent::Seq<latent::Dense<7, 13, latent::Tanh>, latent::Dense<13, 5, latent::Relu>,
                                          latent::Dense<5, 9, latent::Identity>>);
