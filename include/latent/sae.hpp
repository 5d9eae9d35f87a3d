#pragma once
/// \file
/// <latent/sae.hpp>: everything for sparse dictionaries on a network's activations, in one include —
/// the model (`SparseDictionary<In, Latents, TopK<K>>`), streamed .npy activations (`NpyShards`),
/// synthetic activations with known features (`SyntheticActivations`), the dictionary metrics with and
/// without a ground truth (`match_dictionary`, `evaluate_sae`, ...) and SAELens's files
/// (`save_saelens`, `load_saelens`). With <latent/latent.hpp> for `fit` and the optimisers. Guide:
/// docs/sparse-dictionaries.md.

#include "latent/analysis/dictionary_metrics.hpp"
#include "latent/analysis/sae_report.hpp"
#include "latent/data/npy_shards.hpp"
#include "latent/data/row_source.hpp"
#include "latent/data/synthetic_activations.hpp"
#include "latent/interchange/saelens.hpp"
#include "latent/interchange/saelens_files.hpp"
#include "latent/models/sparse_dictionary.hpp"
