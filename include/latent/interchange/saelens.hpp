#pragma once
/// \file
/// `latent::save_saelens(sae, dir)` and `load_saelens(sae, dir)`: a `SparseDictionary` in SAELens's
/// folder format (cfg.json and sae_weights.safetensors, see docs/saelens.md), so that an SAE trained by
/// latent opens in SAELens and one trained by SAELens (or Gemma Scope's, read by
/// `read_gemma_scope_npz`) runs in latent. The file layer is interchange/saelens_files.hpp.

#include "latent/core/error.hpp"
#include "latent/interchange/saelens_files.hpp"

#include <algorithm>  // std::copy_n, std::fill_n
#include <cmath>      // std::log: JumpReLU thresholds
#include <cstddef>    // std::size_t
#include <string>     // std::string, std::to_string
#include <utility>    // std::move
#include <vector>     // std::vector: the parameters, checked before they replace the model's

namespace latent {

/// SAELens's architecture of a latent activation: TopK "topk", BatchTopK "batchtopk" (with its θ as
/// `topk_threshold`; SAELens opens it with its TrainingSAE, or convert it with
/// `saelens_jumprelu_from_batchtopk` for its inference SAE), JumpRelu "jumprelu", ReluL1 "standard"
/// (SAELens's ReLU SAE; the L1 penalty is training, not the architecture).
template <class Act>
constexpr sae_architecture saelens_architecture_of() {
  if constexpr (Act::batch_threshold)
    return sae_architecture::batchtopk;
  else if constexpr (Act::aux_k)
    return sae_architecture::topk;
  else if constexpr (Act::learned_threshold)
    return sae_architecture::jumprelu;
  else
    return sae_architecture::standard;
}

/// The SAELens config and tensors of `sae` (a `SparseDictionary`): the architecture
/// (`saelens_architecture_of`), k for TopK, `apply_b_dec_to_input` true, `normalize_activations`
/// "none", `rescale_acts_by_decoder_norm` false, dtype float32; W_enc as SAELens's [d_in, d_sae]
/// (latent keeps it [d_sae, d_in]), W_dec [d_sae, d_in], b_enc, b_dec, and for JumpRelu the thresholds
/// θ = exp(log θ). `base` supplies what latent does not know: `hook_name`, `metadata`, `extra` keys
/// (its sizes and architecture are replaced).
template <class Sae>
std::pair<SaeLensConfig, SaeLensTensors> saelens_of(const Sae& sae, SaeLensConfig base = {}) {
  constexpr std::size_t In = Sae::input_size, M = Sae::latents;
  SaeLensConfig cfg = std::move(base);
  cfg.d_in = In;
  cfg.d_sae = M;
  cfg.architecture = saelens_architecture_of<typename Sae::activation_type>();
  cfg.k = Sae::k;
  cfg.rescale_acts_by_decoder_norm = false;
  cfg.apply_b_dec_to_input = true;
  cfg.normalize_activations = "none";
  cfg.dtype = "float32";
  SaeLensTensors t;
  t.d_in = In;
  t.d_sae = M;
  const auto p = sae.parameters();
  t.W_enc.resize(In * M);
  for (std::size_t j = 0; j < M; ++j)
    for (std::size_t i = 0; i < In; ++i)
      t.W_enc[i * M + j] = static_cast<float>(p[Sae::encoder_weights_at + j * In + i]);
  t.W_dec.assign(p.begin() + Sae::decoder_weights_at, p.begin() + Sae::decoder_weights_at + M * In);
  t.b_enc.assign(p.begin() + Sae::encoder_bias_at, p.begin() + Sae::encoder_bias_at + M);
  t.b_dec.assign(p.begin() + Sae::decoder_bias_at, p.begin() + Sae::decoder_bias_at + In);
  if constexpr (Sae::activation_type::learned_threshold) {
    const auto theta = sae.thresholds();
    t.threshold.assign(theta.begin(), theta.end());
  }
  if constexpr (Sae::activation_type::batch_threshold) t.topk_threshold = static_cast<double>(sae.batch_threshold());
  return {std::move(cfg), std::move(t)};
}

/// Writes `sae` to the folder `dir` in SAELens's format (created if missing; both files written
/// atomically): see `saelens_of` for what goes in. The dead-latent counters are not part of the format.
template <class Sae>
void save_saelens(const Sae& sae, const std::string& dir, SaeLensConfig base = {}) {
  const auto [cfg, t] = saelens_of(sae, std::move(base));
  write_saelens_folder(dir, cfg, t);
}

/// Sets `sae`'s parameters from SAELens's folder `dir`: all or nothing (any problem is an exception and
/// leaves `sae` as it was). The folder must hold an SAE of `sae`'s architecture (`saelens_architecture_of`:
/// "topk" with its k, "jumprelu" with positive thresholds, or "standard") with its d_in and d_sae
/// (`format_error` naming what differs); `rescale_acts_by_decoder_norm` is folded into the encoder
/// (`fold_decoder_norms`), `apply_b_dec_to_input` false is folded into b_enc (b_enc + W_enc·b_dec, the
/// same function); `normalize_activations` other than "none" is refused (latent does not rescale its
/// inputs at run time). The dead-latent counters restart at 0. Returns the config read (hook_name, ...).
template <class Sae>
SaeLensConfig load_saelens(Sae& sae, const std::string& dir) {
  using T = typename Sae::scalar_type;
  constexpr std::size_t In = Sae::input_size, M = Sae::latents;
  auto [cfg, t] = read_saelens_folder(dir);
  const std::string what = "load_saelens: " + dir;
  constexpr sae_architecture want = saelens_architecture_of<typename Sae::activation_type>();
  if (cfg.architecture != want)
    throw format_error(what + ": expected a " + std::string(saelens_name(want)) + " SAE (the model is " +
                       Sae::architecture() + "), found " + std::string(saelens_name(cfg.architecture)));
  if (cfg.d_in != In || cfg.d_sae != M || (Sae::activation_type::aux_k && cfg.k != Sae::k))
    throw format_error(what + ": expected d_in " + std::to_string(In) + ", d_sae " + std::to_string(M) + ", k " +
                       std::to_string(Sae::k) + ", found d_in " + std::to_string(cfg.d_in) + ", d_sae " +
                       std::to_string(cfg.d_sae) + ", k " + std::to_string(cfg.k));
  if (cfg.normalize_activations != "none")
    throw format_error(what + ": expected normalize_activations \"none\", found \"" + cfg.normalize_activations +
                       "\" (latent does not rescale its inputs at run time: scale the data and fold the factor)");
  if (cfg.rescale_acts_by_decoder_norm) fold_decoder_norms(cfg, t);
  std::vector<T> p(Sae::param_count);
  for (std::size_t j = 0; j < M; ++j)
    for (std::size_t i = 0; i < In; ++i) p[Sae::encoder_weights_at + j * In + i] = static_cast<T>(t.W_enc[i * M + j]);
  for (std::size_t j = 0; j < M; ++j) {
    double b = t.b_enc[j];
    // Without b_dec applied to the input: pre = W_enc·x + b_enc = W_enc·(x − b_dec) + (b_enc + W_enc·b_dec).
    if (!cfg.apply_b_dec_to_input)
      for (std::size_t i = 0; i < In; ++i) b += static_cast<double>(t.W_enc[i * M + j]) * t.b_dec[i];
    p[Sae::encoder_bias_at + j] = static_cast<T>(b);
  }
  std::copy_n(t.W_dec.begin(), M * In, p.begin() + Sae::decoder_weights_at);
  std::copy_n(t.b_dec.begin(), In, p.begin() + Sae::decoder_bias_at);
  if constexpr (Sae::activation_type::learned_threshold) {
    for (std::size_t j = 0; j < M; ++j) {
      if (!(t.threshold[j] > 0))
        throw format_error(what + ": expected positive JumpReLU thresholds (latent learns log θ), found " +
                           std::to_string(t.threshold[j]) + " for latent " + std::to_string(j));
      p[Sae::log_threshold_at + j] = static_cast<T>(std::log(static_cast<double>(t.threshold[j])));
    }
  }
  if constexpr (Sae::activation_type::batch_threshold)
    if (!(t.topk_threshold >= 0))
      throw format_error(what + ": expected a topk_threshold >= 0, found " + std::to_string(t.topk_threshold));
  std::copy(p.begin(), p.end(), sae.parameters().begin());
  std::fill(sae.state().begin(), sae.state().end(), T(0));
  if constexpr (Sae::activation_type::batch_threshold) sae.state()[M] = static_cast<T>(t.topk_threshold);
  return cfg;
}

}  // namespace latent
