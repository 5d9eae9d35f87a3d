#pragma once
/// \file
/// Everything latent offers but MPI (<latent/mpi.hpp>): the lean umbrella and every opt-in part — what
/// <latent/latent.hpp> gave before it was made lean. Convenient, and the slowest include to compile.

#include "latent/analysis.hpp"
#include "latent/inference.hpp"
#include "latent/interchange.hpp"
#include "latent/latent.hpp"
#include "latent/plot.hpp"
#include "latent/sae.hpp"
#include "latent/testing.hpp"
