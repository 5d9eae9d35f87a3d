#pragma once
/// \file
/// `latent::detail::fit_target<T>`: what `fit`'s loop needs of a model and its optimiser, behind one
/// interface, and `fit_adapter<Model, Opt>`, the thin per-type implementation of it. The loop itself
/// (batches, validation, callbacks, checkpoints, the data-parallel path) is then compiled once per
/// scalar type; what is compiled again for each model type and optimiser is only this adapter, whose
/// members forward to the model's own size-specific training step (see docs/build-cost.md). A
/// virtual call per training step costs nanoseconds; a step costs microseconds at the least.

#include "latent/interchange/save_load.hpp"
#include "latent/models/detail/optimizer_ref.hpp"
#include "latent/training/callbacks.hpp"
#include "latent/training/history.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor

#include <any>       // std::any: the model's snapshot for callbacks
#include <cstddef>   // std::size_t
#include <concepts>  // std::convertible_to: the epoch-metrics hook
#include <cstdint>   // std::int32_t, std::uint32_t, std::uint64_t
#include <map>       // std::map: a checkpoint's sections
#include <optional>  // std::optional: the optimiser's section, when it can be saved
#include <span>      // std::span
#include <string>    // std::string
#include <typeinfo>  // typeid: the model's type for `FitState::model`
#include <utility>   // std::pair: a named value of the epoch-metrics hook
#include <vector>    // std::vector

namespace latent::detail {

template <class Model>
concept conditional_model = requires { Model::condition_size; } && (Model::condition_size > 0);

/// A model that reports values after every epoch of `fit` (`History::model_series`): sums over rows
/// (`epoch_statistics(x)`, e.g. each code's assignments; additive, so that `fit` can add the ranks' sums
/// of a data-parallel run; no rows give zeros), and the named values made from the sums
/// (`epoch_metrics(sums)`, e.g. {"codebook_perplexity", 41.3}). See `fit` and `VQVAE`.
template <class Model>
concept reports_epoch_metrics = requires(const Model& m, const xt::xtensor<typename Model::scalar_type, 2>& x,
                                         const std::vector<double>& sums) {
  { m.epoch_statistics(x) } -> std::convertible_to<std::vector<double>>;
  { m.epoch_metrics(sums) } -> std::convertible_to<std::vector<std::pair<std::string, double>>>;
};

/// A model being trained by `fit`, with its optimiser, for scalars `T`.
template <class T>
class fit_target {
 public:
  virtual ~fit_target() = default;

  /// The data's width, and the classes of a conditional model (0 for any other).
  virtual std::size_t input_size() const = 0;
  virtual std::size_t classes() const = 0;
  /// The architecture and parameter count: every rank of a data-parallel run must train the same.
  virtual std::string identity() const = 0;
  virtual std::span<T> parameters() = 0;
  /// The layers' state (empty for a model without stateful layers).
  virtual std::span<T> state() = 0;
  /// Values a data-parallel step's exchange sums: the gradient, then the layers' statistics.
  virtual std::size_t exchange_size() const = 0;
  virtual std::size_t threads() const = 0;
  virtual void set_threads(std::size_t threads) = 0;
  virtual void set_noise_seed(std::uint64_t seed) = 0;

  /// One training step on `rows` rows: rows index[0..rows) of the matrix at `x` (and their one-hot
  /// conditions at `c`, a conditional model's), or without an index the rows at x and c themselves.
  virtual double train(const T* x, const T* c, const std::size_t* index, std::size_t rows) = 0;
  /// One data-parallel step (`model_base::train_rows_reduced`).
  virtual double train_reduced(const T* x, const T* c, const std::size_t* index, std::size_t rows,
                               std::size_t global_rows, function_ref<double(std::span<T>, double)> reduce) = 0;
  /// The mean loss over the rows of `x` (with their labels for a conditional model), in eval mode.
  virtual double loss(const xt::xtensor<T, 2>& x, const xt::xtensor<std::int32_t, 1>* labels) const = 0;

  /// The model's epoch-metrics hook (`reports_epoch_metrics`): whether it has one, its sums over the
  /// rows of `x`, and its named values from the sums (empty without a hook).
  virtual bool reports_metrics() const = 0;
  virtual std::vector<double> epoch_statistics(const xt::xtensor<T, 2>& x) const = 0;
  virtual std::vector<std::pair<std::string, double>> epoch_metrics(const std::vector<double>& sums) const = 0;

  /// The optimiser's rate of its last step, when it reports one; its end-of-epoch hook (schedules).
  virtual std::optional<double> last_learning_rate() const = 0;
  virtual void end_epoch(double monitored) = 0;

  /// A checkpoint's model section and, when the optimiser can be saved, its section.
  virtual std::map<std::uint32_t, std::string> checkpoint_sections() const = 0;
  /// Restores the model and (when the file has its section) the optimiser from a checkpoint's
  /// sections: everything is parsed and checked first, so a failure leaves both as they were.
  virtual void restore(const std::map<std::uint32_t, std::string>& sections, const std::string& path) = 0;
  /// The type-independent access a callback has to the model.
  virtual FitState fit_state(History& history, std::size_t epochs, std::size_t rank) = 0;
};

/// `fit_target` for a model of type `Model` trained by an optimiser of type `Opt`.
template <class Model, class Opt>
class fit_adapter final : public fit_target<typename Model::scalar_type> {
  using T = typename Model::scalar_type;

 public:
  fit_adapter(Model& model, Opt& opt) noexcept : model_(model), opt_(opt) {}

  std::size_t input_size() const override { return Model::input_size; }
  std::size_t classes() const override {
    if constexpr (conditional_model<Model>)
      return Model::condition_size;
    else
      return 0;
  }
  std::string identity() const override {
    return Model::architecture() + " (" + std::to_string(Model::param_count) + " parameters)";
  }
  std::span<T> parameters() override { return model_.parameters(); }
  std::span<T> state() override {
    if constexpr (requires { model_.state(); })
      return model_.state();
    else
      return {};
  }
  std::size_t exchange_size() const override {
    if constexpr (requires { Model::step_stats_size; })
      return Model::param_count + Model::step_stats_size;
    else
      return Model::param_count;
  }
  std::size_t threads() const override { return model_.threads(); }
  void set_threads(std::size_t threads) override { model_.set_threads(threads); }
  void set_noise_seed(std::uint64_t seed) override { model_.set_noise_seed(seed); }

  double train(const T* x, const T* c, const std::size_t* index, std::size_t rows) override {
    if constexpr (conditional_model<Model>)
      return index ? model_.train_rows(x, c, index, rows, opt_) : model_.train_batch(x, c, rows, opt_);
    else
      return index ? model_.train_rows(x, index, rows, opt_) : model_.train_batch(x, rows, opt_);
  }
  double train_reduced(const T* x, const T* c, const std::size_t* index, std::size_t rows, std::size_t global_rows,
                       function_ref<double(std::span<T>, double)> reduce) override {
    return model_.train_rows_reduced(x, c, index, rows, global_rows, opt_, reduce);
  }
  double loss(const xt::xtensor<T, 2>& x, const xt::xtensor<std::int32_t, 1>* labels) const override {
    if constexpr (conditional_model<Model>)
      return model_.loss(x, *labels);
    else
      return model_.loss(x);
  }

  bool reports_metrics() const override { return reports_epoch_metrics<Model>; }
  std::vector<double> epoch_statistics(const xt::xtensor<T, 2>& x) const override {
    if constexpr (reports_epoch_metrics<Model>)
      return model_.epoch_statistics(x);
    else
      return {};
  }
  std::vector<std::pair<std::string, double>> epoch_metrics(const std::vector<double>& sums) const override {
    if constexpr (reports_epoch_metrics<Model>)
      return model_.epoch_metrics(sums);
    else
      return {};
  }

  std::optional<double> last_learning_rate() const override {
    if constexpr (requires { opt_.last_learning_rate(); })
      return opt_.last_learning_rate();
    else
      return std::nullopt;
  }
  void end_epoch(double monitored) override {
    if constexpr (requires { opt_.end_epoch(0.0); }) opt_.end_epoch(monitored);
  }

  std::map<std::uint32_t, std::string> checkpoint_sections() const override {
    std::map<std::uint32_t, std::string> sections{{model_section, model_bytes(model_)}};
    if constexpr (saved_optimizer<Opt>) sections[optimizer_section] = optimizer_bytes(opt_);
    return sections;
  }
  void restore(const std::map<std::uint32_t, std::string>& sections, const std::string& path) override {
    Model candidate = model_;  // restore into a copy first: a failure leaves the model as it was
    restore_model(candidate, sections.at(model_section), path);
    if constexpr (saved_optimizer<Opt>) {
      if (sections.contains(optimizer_section)) restore_optimizer(opt_, sections.at(optimizer_section), path);
    }
    model_ = std::move(candidate);
  }

  FitState fit_state(History& history, std::size_t epochs, std::size_t rank) override {
    return FitState(
        &model_, typeid(Model), [](void* m, const std::string& path) { save(*static_cast<const Model*>(m), path); },
        [](const void* m) {
          const auto p = static_cast<const Model*>(m)->parameters();
          return std::any(std::vector<T>(p.begin(), p.end()));
        },
        [](void* m, const std::any& a) {
          const auto& v = std::any_cast<const std::vector<T>&>(a);
          std::copy(v.begin(), v.end(), static_cast<Model*>(m)->parameters().begin());
        },
        history, epochs, rank);
  }

 private:
  Model& model_;
  Opt& opt_;
};

}  // namespace latent::detail
