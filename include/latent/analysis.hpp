#pragma once
/// \file
/// What a code means: mutual information, MIG, the FactorVAE and β-VAE scores and the report that
/// gathers them, latent traversals and interpolations, and heat maps of unit × factor scores (see
/// docs/disentanglement.md), and the post-hoc sampler (docs/rae.md). Not in the lean <latent/latent.hpp>.

#include "latent/analysis/beta_vae_score.hpp"
#include "latent/analysis/dictionary_metrics.hpp"
#include "latent/analysis/disentanglement_report.hpp"
#include "latent/analysis/factor_vae_score.hpp"
#include "latent/analysis/factor_votes.hpp"
#include "latent/analysis/gaussian_mixture.hpp"
#include "latent/analysis/heat_map.hpp"
#include "latent/analysis/interpolation.hpp"
#include "latent/analysis/mig.hpp"
#include "latent/analysis/mutual_information.hpp"
#include "latent/analysis/posthoc_sampler.hpp"
#include "latent/analysis/sae_report.hpp"
#include "latent/analysis/traversal.hpp"
