#pragma once
/// \file
/// `latent::fit`: trains a model on the rows of a matrix. The overloads here only convert and forward:
/// the loop is training/detail/fit_loop.hpp, compiled once per scalar type over a thin adapter of the
/// model and optimiser (training/detail/fit_target.hpp).

#include "latent/core/convert.hpp"
#include "latent/data/dataset.hpp"
#include "latent/data/row_source.hpp"
#include "latent/models/detail/model_base.hpp"
#include "latent/training/detail/fit_loop.hpp"
#include "latent/training/detail/fit_target.hpp"
#include "latent/training/fit_options.hpp"
#include "latent/training/history.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor

#include <cstdint>      // std::int32_t
#include <type_traits>  // std::conditional_t

namespace latent {

namespace detail {
// Every `fit` overload ends here: the optimiser rule, then the loop (compiled once per scalar type)
// over a thin adapter of this model type and optimiser.
template <class Model, class Opt>
History fit_impl(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data, Opt& opt,
                 const FitOptions& options, const xt::xtensor<typename Model::scalar_type, 2>* validation,
                 const xt::xtensor<std::int32_t, 1>* labels = nullptr,
                 const xt::xtensor<std::int32_t, 1>* validation_labels = nullptr) {
  using T = typename Model::scalar_type;
  static_assert(check_optimizer<Opt, T>());
  fit_adapter<Model, Opt> target(model, opt);
  return fit_loop<T>(target, data, options, validation, labels, validation_labels);
}
}  // namespace detail

/// Trains `model` on the rows of `data` with optimiser `opt` (Keras's `model.fit`): for each epoch,
/// shuffles the rows (seeded by `options.seed`), runs one training step per batch of
/// `options.batch_size` rows (the last, partial batch included; a batch larger than the data is one
/// batch) and records the epoch's mean loss and time. A model with the epoch-metrics hook
/// (`epoch_statistics(x)` and `epoch_metrics(sums)`, e.g. `VQVAE`'s codebook usage, perplexity and dead
/// codes) reports its values after each epoch, measured on the validation rows (else on a fixed sample
/// of up to 4096 rows trained on), into `History::model_series` and the progress lines. Progress goes
/// to stderr (see `Progress`).
///
/// Throws `shape_error` if the data's width is not the model's input size, `data_error` for empty data
/// or NaN/Inf (naming the row), `option_error` for a batch size of 0, and `numerical_error` naming the
/// epoch and batch if the loss diverges (the model keeps the weights of the last good step).
/// Example: examples/keras_seed.cpp.
template <class Model, class Opt>
  requires(!detail::conditional_model<Model>)
History fit(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data, Opt& opt,
            const FitOptions& options = {}) {
  return detail::fit_impl(model, data, opt, options, nullptr);
}

/// As above, and computes the loss on `validation` after every epoch (`History::val_loss`).
template <class Model, class Opt>
  requires(!detail::conditional_model<Model>)
History fit(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data, Opt& opt, const FitOptions& options,
            const xt::xtensor<typename Model::scalar_type, 2>& validation) {
  return detail::fit_impl(model, data, opt, options, &validation);
}

/// Trains a conditional model (`ConditionalVAE`) on rows of `data` with one label in [0, classes) per
/// row; the labels are shuffled with their rows. Throws `data_error` naming the row of a label out of
/// range and `shape_error` if there is not one label per row.
template <class Model, class Opt>
  requires detail::conditional_model<Model>
History fit(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data,
            const xt::xtensor<std::int32_t, 1>& labels, Opt& opt, const FitOptions& options = {}) {
  return detail::fit_impl(model, data, opt, options, nullptr, &labels);
}

/// As above, with validation data and labels.
template <class Model, class Opt>
  requires detail::conditional_model<Model>
History fit(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data,
            const xt::xtensor<std::int32_t, 1>& labels, Opt& opt, const FitOptions& options,
            const xt::xtensor<typename Model::scalar_type, 2>& validation,
            const xt::xtensor<std::int32_t, 1>& validation_labels) {
  return detail::fit_impl(model, data, opt, options, &validation, &labels, &validation_labels);
}

/// As above, with the validation rows and labels as one `Dataset` (e.g. `load_fashion_mnist`'s test
/// split; its float rows are converted once for a double model).
template <class Model, class Opt>
  requires detail::conditional_model<Model>
History fit(Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data,
            const xt::xtensor<std::int32_t, 1>& labels, Opt& opt, const FitOptions& options,
            const Dataset& validation) {
  xt::xtensor<typename Model::scalar_type, 2> storage;
  const auto& vx = detail::scalar_ref(validation.x, storage);
  return detail::fit_impl(model, data, opt, options, &vx, &labels, &validation.labels);
}

/// Trains on a `Dataset`: its rows, and for a conditional model its labels (the rows are converted
/// once for a double model). With a `validation` Dataset, as the forms above with validation data.
template <class Model, class Opt>
History fit(Model& model, const Dataset& train, Opt& opt, const FitOptions& options = {}) {
  xt::xtensor<typename Model::scalar_type, 2> storage;
  const auto& x = detail::scalar_ref(train.x, storage);
  if constexpr (detail::conditional_model<Model>)
    return detail::fit_impl(model, x, opt, options, nullptr, &train.labels);
  else
    return detail::fit_impl(model, x, opt, options, nullptr);
}
template <class Model, class Opt>
History fit(Model& model, const Dataset& train, Opt& opt, const FitOptions& options, const Dataset& validation) {
  xt::xtensor<typename Model::scalar_type, 2> storage, validation_storage;
  const auto& x = detail::scalar_ref(train.x, storage);
  const auto& vx = detail::scalar_ref(validation.x, validation_storage);
  if constexpr (detail::conditional_model<Model>)
    return detail::fit_impl(model, x, opt, options, &vx, &train.labels, &validation.labels);
  else
    return detail::fit_impl(model, x, opt, options, &vx);
}

/// Trains on rows streamed from `source` (a `RowSource`: `NpyShards` reads .npy files larger than
/// memory, `#include <latent/data/npy_shards.hpp>`): each epoch restarts the source
/// (`start_epoch(epoch)`: the source's own order, fixed by its seed and the epoch, so a resumed run
/// sees the same batches), each step reads its batch from it, so memory stays bounded whatever the data
/// size. Everything else as above (progress, callbacks, checkpoints and resuming, a communicator: each
/// rank streams its own source). Not with a conditional model (no labels) or `validation_split` (pass
/// `validation` rows): `option_error`. A source of another width: `shape_error`; a batch with NaN/Inf:
/// `data_error` naming it; the source's own errors pass through; in every case the model keeps the
/// weights of its last good step.
template <class Model, class Opt>
  requires(!detail::conditional_model<Model>)
History fit(Model& model, RowSource& source, Opt& opt, const FitOptions& options = {}) {
  static_assert(detail::check_optimizer<Opt, typename Model::scalar_type>());
  detail::fit_adapter<Model, Opt> target(model, opt);
  return detail::fit_loop<typename Model::scalar_type>(target, source, options, nullptr);
}
template <class Model, class Opt>
  requires(!detail::conditional_model<Model>)
History fit(Model& model, RowSource& source, Opt& opt, const FitOptions& options,
            const xt::xtensor<typename Model::scalar_type, 2>& validation) {
  static_assert(detail::check_optimizer<Opt, typename Model::scalar_type>());
  detail::fit_adapter<Model, Opt> target(model, opt);
  return detail::fit_loop<typename Model::scalar_type>(target, source, options, &validation);
}

/// Data of the other floating-point type (float rows for a double model, or the other way round) is
/// converted once to the model's scalar type (`as_scalar`), then trained on as above.
template <class Model, detail::other_scalar<typename Model::scalar_type> U, class Opt>
  requires(!detail::conditional_model<Model>)
History fit(Model& model, const xt::xtensor<U, 2>& data, Opt& opt, const FitOptions& options = {}) {
  return fit(model, as_scalar<typename Model::scalar_type>(data), opt, options);
}
template <class Model, detail::other_scalar<typename Model::scalar_type> U, class Opt>
  requires(!detail::conditional_model<Model>)
History fit(Model& model, const xt::xtensor<U, 2>& data, Opt& opt, const FitOptions& options,
            const xt::xtensor<U, 2>& validation) {
  using T = typename Model::scalar_type;
  return fit(model, as_scalar<T>(data), opt, options, as_scalar<T>(validation));
}
template <class Model, detail::other_scalar<typename Model::scalar_type> U, class Opt>
  requires detail::conditional_model<Model>
History fit(Model& model, const xt::xtensor<U, 2>& data, const xt::xtensor<std::int32_t, 1>& labels, Opt& opt,
            const FitOptions& options = {}) {
  return fit(model, as_scalar<typename Model::scalar_type>(data), labels, opt, options);
}

/// The mean loss of `model` over the rows of `data` (no training noise).
template <class Model>
double evaluate(const Model& model, const xt::xtensor<typename Model::scalar_type, 2>& data) {
  return model.loss(data);
}

/// The same for data of the other floating-point type, converted once (`as_scalar`).
template <class Model, detail::other_scalar<typename Model::scalar_type> U>
double evaluate(const Model& model, const xt::xtensor<U, 2>& data) {
  return model.loss(as_scalar<typename Model::scalar_type>(data));
}

/// `fit` and `evaluate` take a batch (rows are samples): anything else, such as one sample as an
/// `xt::xtensor<T, 1>`, is refused at compile time instead of being converted to a garbage shape.
template <class Model, detail::not_a_batch E, class Opt>
History fit(Model&, const E&, Opt&, const FitOptions& = {}) {
  (void)detail::refuse_non_batch<E>();
  return {};
}
template <class Model, class E, class Opt, class V>
  requires(detail::not_a_batch<E> || detail::not_a_batch<V>)
History fit(Model&, const E&, Opt&, const FitOptions&, const V&) {
  (void)detail::refuse_non_batch<std::conditional_t<detail::not_a_batch<E>, E, V>>();
  return {};
}
template <class Model, detail::not_a_batch E, class Opt>
History fit(Model&, const E&, const xt::xtensor<std::int32_t, 1>&, Opt&, const FitOptions& = {}) {
  (void)detail::refuse_non_batch<E>();
  return {};
}
template <class Model, detail::not_a_batch E>
double evaluate(const Model&, const E&) {
  return detail::refuse_non_batch<E>();
}

}  // namespace latent
