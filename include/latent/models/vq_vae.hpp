#pragma once
/// \file
/// `latent::VQVAE<Encoder, Decoder, Loss, T>`: the VQ-VAE (van den Oord et al. 2017) — an autoencoder
/// whose encoder ends in a `VectorQuantizer` — with integer codes out and in (`encode_indices`,
/// `decode_indices`), `codebook_usage` / `codebook_perplexity` of a set of codes, and the codebook's
/// usage, perplexity and dead codes after every epoch of `fit` (`History::model_series`).

#include "latent/core/checks.hpp"
#include "latent/core/convert.hpp"
#include "latent/core/error.hpp"
#include "latent/layers/layer_traits.hpp"
#include "latent/layers/vector_quantizer.hpp"
#include "latent/losses/mse.hpp"
#include "latent/models/autoencoder.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor: data and codes at the public API

#include <cmath>    // std::log, std::exp: perplexity
#include <cstddef>  // std::size_t
#include <cstdint>  // std::int32_t: the codes, std::uint64_t: seeds
#include <string>   // std::string: error messages, the epoch metrics' names
#include <utility>  // std::pair: the epoch metrics
#include <vector>   // std::vector: counts

namespace latent {

namespace diag {
/// A VQVAE's encoder ends in a VectorQuantizer (its codes are that quantiser's).
template <class Encoder, bool Ends>
struct vqvae_encoder_does_not_end_in_a_vector_quantizer {
  static_assert(Ends, "latent: a VQVAE's encoder must end in a VectorQuantizer<Codes, Dim>");
  static constexpr bool value = true;
};
}  // namespace diag

/// True when `Enc`'s last layer is a (bound) vector quantiser.
template <class Enc>
inline constexpr bool ends_in_vector_quantizer_v = detail::vector_quantizer_layer_type<last_layer_t<Enc>>;

namespace detail {
/// The quantiser's facts, or harmless ones when the encoder has none (so that only the rule's
/// diagnostic is printed).
template <class Q, bool = vector_quantizer_layer_type<Q>>
struct vq_facts : Q {};
template <class Q>
struct vq_facts<Q, false> {
  static constexpr std::size_t codes = 1, code_dim = 1, positions = 1, state_size = 0, param_count = 0;
  static constexpr bool ema = false;
  template <class T>
  static std::size_t nearest(const T*, const T*, std::size_t) noexcept {
    return 0;
  }
};
/// exp(−Σ_k p_k log p_k) of the frequencies p_k = count_k / Σcount (0 for no counts).
inline double perplexity_of_counts(const std::vector<double>& count) {
  double total = 0;
  for (double c : count) total += c;
  if (!(total > 0)) return 0;
  double h = 0;
  for (double c : count)
    if (c > 0) h -= c / total * std::log(c / total);
  return std::exp(h);
}
}  // namespace detail

/// A VQ-VAE: code z_q = Quantizer(Encoder'(x)) (the encoder's last layer is a `VectorQuantizer`),
/// reconstruction = Decoder(z_q), trained on Loss(reconstruction, x) plus the quantiser's terms:
///
///     loss = Loss(x̂, x) + β/(D·P)·Σ_p ‖z_e,p − sg(e_k(p))‖² + w/(D·P)·Σ_p ‖sg(z_e,p) − e_k(p)‖²
///
/// per sample, mean over the batch (the last term without EMA; D values per code, P positions). It is
/// an `Autoencoder` (same training, threads, MPI, save/load, last-good weights; `loss` reports the
/// reconstruction loss alone, as `RegularisedAutoencoder`'s) with the codes' API:
/// - `encode_indices(x)`: n × P codes (`std::int32_t`), position p = h·W + w of the quantiser's grid;
/// - `decode_indices(i)`: the reconstructions' means from codes (an index outside [0, Codes) is a
///   `data_error` naming its row, position and value; P columns or `shape_error`);
/// - `codebook()`: Codes × D, the parameters' or, with EMA, the state's (eval mode never moves it);
/// - `epoch_statistics` / `epoch_metrics`: `fit` records "codebook_usage", "codebook_perplexity" and
///   "dead_codes" after every epoch (`History::series`).
/// Rule: the encoder ends in a VectorQuantizer (`vqvae_encoder_does_not_end_in_a_vector_quantizer`).
/// Example and tests: tests/test_vq.cpp; docs/vq-vae.md.
template <class Enc, class Dec, class L = MSE, class T = float>
class VQVAE : public Autoencoder<Enc, Dec, L, T> {
  static_assert(diag::vqvae_encoder_does_not_end_in_a_vector_quantizer<Enc, ends_in_vector_quantizer_v<Enc>>::value);
  using base = Autoencoder<Enc, Dec, L, T>;

 public:
  using quantizer_type = detail::vq_facts<last_layer_t<Enc>>;
  static constexpr std::size_t codes = quantizer_type::codes;         ///< codes in the codebook
  static constexpr std::size_t code_dim = quantizer_type::code_dim;   ///< values of one code
  static constexpr std::size_t positions = quantizer_type::positions; ///< codes per sample

  /// Weights (and a gradient-trained codebook) from `seed`; an EMA codebook from its fixed initial values.
  explicit VQVAE(std::uint64_t seed = 0) : base(seed) {}

  /// The codebook, Codes × D (row k: code k).
  xt::xtensor<T, 2> codebook() const {
    xt::xtensor<T, 2> out = xt::xtensor<T, 2>::from_shape({codes, code_dim});
    const T* book = codebook_data();
    for (std::size_t i = 0; i < codes * code_dim; ++i) out.data()[i] = book[i];
    return out;
  }

  /// The codes of the rows of `x` (eval mode): n × positions indices into the codebook.
  xt::xtensor<std::int32_t, 2> encode_indices(const xt::xtensor<T, 2>& x) const {
    detail::check_samples(x, base::input_size, "encode_indices");
    // The code z_q is a copy of codebook rows: its nearest code is the one it was copied from (at
    // distance 0; of identical codes, the lowest index, which decodes identically).
    const xt::xtensor<T, 2> z = this->encode(x);
    const std::size_t n = x.shape()[0];
    xt::xtensor<std::int32_t, 2> out = xt::xtensor<std::int32_t, 2>::from_shape({n, positions});
    const T* book = codebook_data();
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t p = 0; p < positions; ++p)
        out(r, p) = static_cast<std::int32_t>(quantizer_type::nearest(book, z.data() + r * base::code_size + p, positions));
    return out;
  }
  template <detail::other_scalar<T> U>
  xt::xtensor<std::int32_t, 2> encode_indices(const xt::xtensor<U, 2>& x) const {
    return encode_indices(as_scalar<T>(x));
  }

  /// The codes' values (n × code_size, channel-first as the encoder's output) from indices.
  xt::xtensor<T, 2> codes_to_values(const xt::xtensor<std::int32_t, 2>& indices, const char* where = "decode_indices") const {
    const std::size_t n = indices.shape()[0];
    if (indices.shape()[1] != positions)
      throw shape_error(std::string(where) + ": expected " + std::to_string(positions) +
                        " columns (the quantiser's positions), found " + std::to_string(indices.shape()[1]));
    if (n == 0) throw data_error(std::string(where) + ": expected at least one row of codes, found no rows");
    xt::xtensor<T, 2> z = xt::xtensor<T, 2>::from_shape({n, base::code_size});
    const T* book = codebook_data();
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t p = 0; p < positions; ++p) {
        const std::int32_t k = indices(r, p);
        if (k < 0 || static_cast<std::size_t>(k) >= codes)
          throw data_error(std::string(where) + ": expected codes in [0, " + std::to_string(codes) + "), found " +
                           std::to_string(k) + " in row " + std::to_string(r) + ", position " + std::to_string(p));
        for (std::size_t c = 0; c < code_dim; ++c)
          z(r, c * positions + p) = book[static_cast<std::size_t>(k) * code_dim + c];
      }
    return z;
  }

  /// The reconstructions' means decoded from codes (n × positions → n × input_size).
  xt::xtensor<T, 2> decode_indices(const xt::xtensor<std::int32_t, 2>& indices) const {
    return this->decode(codes_to_values(indices));
  }

  /// `fit`'s epoch-metrics hook (see `History::model_series`): how often each code is the nearest for
  /// the rows of `x` (Codes counts over every row and position, eval mode; zeros for no rows). `fit`
  /// passes the validation rows, or without them a fixed sample of up to 4096 training rows, after each
  /// epoch, and sums the counts over the ranks of a data-parallel run.
  std::vector<double> epoch_statistics(const xt::xtensor<T, 2>& x) const {
    std::vector<double> count(codes, 0.0);
    if (x.shape()[0] == 0) return count;
    for (const std::int32_t k : encode_indices(x)) count[static_cast<std::size_t>(k)] += 1;
    return count;
  }
  /// The epoch's values from the summed counts of `epoch_statistics`: "codebook_usage" (the fraction of
  /// the codes used at least once), "codebook_perplexity" (exp of the entropy of the codes' frequencies:
  /// 1 for one code, Codes for all used equally) and "dead_codes" (the codes used by no row).
  std::vector<std::pair<std::string, double>> epoch_metrics(const std::vector<double>& counts) const {
    if (counts.size() != codes)
      throw shape_error("VQVAE::epoch_metrics: expected " + std::to_string(codes) + " counts (one per code), found " +
                        std::to_string(counts.size()));
    std::size_t used = 0;
    for (double c : counts) used += c > 0;
    return {{"codebook_usage", static_cast<double>(used) / static_cast<double>(codes)},
            {"codebook_perplexity", detail::perplexity_of_counts(counts)},
            {"dead_codes", static_cast<double>(codes - used)}};
  }

 private:
  const T* codebook_data() const {
    if constexpr (quantizer_type::ema)
      return this->state().data() + (detail::state_size_of<Enc>() - quantizer_type::state_size);
    else
      return this->parameters().data() + (Enc::param_count - quantizer_type::param_count);
  }
};

/// The fraction of the `codes` codes that appear at least once in `indices` (codes outside [0, codes)
/// are a `data_error`).
inline double codebook_usage(const xt::xtensor<std::int32_t, 2>& indices, std::size_t codes) {
  std::vector<std::size_t> count(codes, 0);
  for (std::int32_t k : indices) {
    if (k < 0 || static_cast<std::size_t>(k) >= codes)
      throw data_error("codebook_usage: expected codes in [0, " + std::to_string(codes) + "), found " +
                       std::to_string(k));
    ++count[static_cast<std::size_t>(k)];
  }
  std::size_t used = 0;
  for (std::size_t c : count) used += c > 0;
  return codes == 0 ? 0.0 : static_cast<double>(used) / static_cast<double>(codes);
}

/// The perplexity exp(−Σ_k p_k log p_k) of the codes' frequencies p_k in `indices`: 1 when one code is
/// used, `codes` when all are used equally.
inline double codebook_perplexity(const xt::xtensor<std::int32_t, 2>& indices, std::size_t codes) {
  std::vector<double> count(codes, 0.0);
  for (std::int32_t k : indices) {
    if (k < 0 || static_cast<std::size_t>(k) >= codes)
      throw data_error("codebook_perplexity: expected codes in [0, " + std::to_string(codes) + "), found " +
                       std::to_string(k));
    count[static_cast<std::size_t>(k)] += 1;
  }
  return detail::perplexity_of_counts(count);
}

}  // namespace latent
