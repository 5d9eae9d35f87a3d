#pragma once
/// \file
/// The roles of latent's types that do not depend on SIMD: `Layer`, `Head`, `LayerSpec`, `Optimizer`.
/// (`Activation` lives in activations/activation.hpp, `Loss` and `Likelihood` in losses/, because the
/// library calls them on SIMD registers or through kernels; `Regulariser` beside the autoencoders.)
///
/// A **layer** is a description, not an object: its sizes and parameter count are compile-time facts, its
/// parameters live in the model's packed parameter array (and its state, if it has any, beside them). Its passes work on `n` samples at a time,
/// row-major (one row per sample). These are exactly the members the library calls:
///
///     static constexpr std::size_t in_size, out_size, param_count;
///     static constexpr std::size_t cache_size;    // values per sample kept from forward for backward
///     static constexpr std::size_t scratch_size;  // values per sample used temporarily by backward
///     template <class T> static void init(T* params, Rng&);
///     template <class T> static void forward(const T* params, const T* x, T* y, T* cache,
///                                            std::size_t n, Context<T>&);
///     template <class T> static void backward(const T* params, const T* x, const T* y, const T* cache,
///                                             T* dy, T* dx, T* dparams, T* scratch,
///                                             std::size_t n, Context<T>&);
///
/// Optional members: `static constexpr const char* name` (saved files and `architecture()` use it;
/// without it the type's own name is used), `static std::string signature()` (the whole text, when
/// the layer's settings matter beyond its sizes), `static constexpr bool defers_weight_gradients`
/// (see `Context::deferred`: a layer that sets it promises that every buffer it hands to its
/// children, and its own `dy`, stays untouched until the training step ends).
///
/// **State** (optional, all three together): values the model keeps for the layer that gradients do not
/// train — BatchNorm's running statistics, later counters and EMA codebooks. Optimisers, weight decay
/// and gradient checks never see them; `save`/`load`, checkpoints, the last-good-weights rule, the
/// `Predictor` and the exports carry them.
///
///     static constexpr std::size_t state_size;  // values the model keeps for the layer
///     static constexpr std::size_t step_stats_size;  // values a training step gathers for update_state
///     template <class T> static void init_state(T* state);
///     template <class T> static void update_state(T* state, const T* stats);
///
/// A pass reads its state through `ctx.state` (in eval mode) and never writes it. In a training step
/// (`ctx.mode == Mode::train`) it *adds* its statistics to `ctx.stats` (zero at the start of the
/// step); after the backward pass the model sums them over the step's slices in slice order (and over
/// the processes of a data-parallel run, inside the step's one exchange) and calls `update_state` once.
/// A layer whose statistics must not depend on the split (BatchNorm's sums) adds them from the slice
/// that holds row 0 only, computed over every row (see `batch_link`). **Batch coupling** (optional):
/// `static constexpr std::size_t shared_per_row` doubles per row of the step's shared memory, reached
/// through `ctx.batch` — for a pass that needs the whole batch (BatchNorm's train-mode normalisation).
///
/// `backward` receives dL/dy in `dy` (it may overwrite it), writes dL/dparams to `dparams` (overwriting)
/// and dL/dx to `dx` unless `dx` is null (the first layer of a model needs no input gradient).
/// Optional shape members: `using in_shape = shape<C, H, W>`, `using out_shape = ...` (core/shape.hpp),
/// and `static constexpr double forward_flops` (one sample's forward FLOPs; see `forward_flops`).
/// A **head** (such as `Gaussian<Z>`) does not know its input size; it has `template <std::size_t In>
/// using bind = ...;`, which a `Seq` instantiates with the previous layer's output size.
/// Example of a user layer: examples/custom_layer.cpp.

#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/random.hpp"
#include "latent/core/shape.hpp"

#include <concepts>     // std::same_as, std::convertible_to
#include <cstddef>      // std::size_t
#include <span>         // std::span
#include <string_view>  // std::string_view: layer names

namespace latent {

namespace detail {
/// The compile-time facts of a layer: its sizes (what a `Seq` needs to wire it).
template <class L>
concept layer_sizes = requires {
  { L::in_size } -> std::convertible_to<std::size_t>;
  { L::out_size } -> std::convertible_to<std::size_t>;
  { L::param_count } -> std::convertible_to<std::size_t>;
  { L::cache_size } -> std::convertible_to<std::size_t>;
  { L::scratch_size } -> std::convertible_to<std::size_t>;
};

/// `L::init(params, rng)` for scalars `T`.
template <class L, class T>
concept layer_init = requires(T* p, Rng& rng) { L::init(p, rng); };

/// `L::forward(params, x, y, cache, n, ctx)` for scalars `T`.
template <class L, class T>
concept layer_forward =
    requires(const T* cp, T* p, std::size_t n, Context<T>& ctx) { L::forward(cp, cp, p, p, n, ctx); };

/// `L::backward(params, x, y, cache, dy, dx, dparams, scratch, n, ctx)` for scalars `T`.
template <class L, class T>
concept layer_backward =
    requires(const T* cp, T* p, std::size_t n, Context<T>& ctx) { L::backward(cp, cp, cp, cp, p, p, p, p, n, ctx); };

/// A layer that names itself.
template <class L>
concept named = requires {
  { L::name } -> std::convertible_to<std::string_view>;
};

/// The state a layer declares (0 without): values kept beside the parameters, not trained by gradients.
template <class L>
constexpr std::size_t state_size_of() noexcept {
  if constexpr (requires { L::state_size; })
    return L::state_size;
  else
    return 0;
}
/// The statistics (`step_stats_size`) a training step gathers for the layer's `update_state` (0 without).
template <class L>
constexpr std::size_t step_stats_size_of() noexcept {
  if constexpr (requires { L::step_stats_size; })
    return L::step_stats_size;
  else
    return 0;
}
/// The doubles per row of a training step's shared memory the layer uses (0 without).
template <class L>
constexpr std::size_t shared_per_row_of() noexcept {
  if constexpr (requires { L::shared_per_row; })
    return L::shared_per_row;
  else
    return 0;
}
/// A layer with state or statistics: the model keeps state for it and updates it after each step.
template <class L>
concept stateful = (state_size_of<L>() + step_stats_size_of<L>()) > 0;
/// A layer whose training pass reads the whole step's batch (BatchNorm in train mode).
template <class L>
concept batch_coupled = shared_per_row_of<L>() > 0;

/// `L::init_state(state)` and `L::update_state(state, stats)` for scalars `T`.
template <class L, class T>
concept layer_state_hooks = requires(T* s, const T* c) {
  L::init_state(s);
  L::update_state(s, c);
};
}  // namespace detail

/// A layer for scalars `T` (float by default): its sizes and every pass the library calls (see the
/// file comment). A type with sizes but a missing member is refused where it is used (in a `Seq`, as
/// an encoder or decoder) with a diagnostic that names the member.
template <class L, class T = float>
concept Layer =
    detail::layer_sizes<L> && detail::layer_init<L, T> && detail::layer_forward<L, T> && detail::layer_backward<L, T>;

/// A head: a layer that learns its input size from the layer before it.
template <class L>
concept Head = requires { typename L::template bind<1>; } && detail::layer_sizes<typename L::template bind<1>>;

/// A shape head: a layer that learns its input shape from the layer before it (`Conv2D`,
/// `ConvTranspose2D`, `Flatten`, ...): `template <class In> using bind_shape = ...;`, instantiated by a
/// `Seq` with the previous layer's `out_shape` (a `shape<C, H, W>`) or `flat<N>` for a flat one, and
/// `template <class At, class In> static constexpr bool check()`, which checks the shape rules with
/// the layer's position `At` before it is bound (In may also be `flat<N>` or `diag::receives_nothing`).
template <class L>
concept ShapeHead = requires { typename L::template bind_shape<shape<1, 1, 1>>; };

/// What may appear inside a `Seq`: a layer (its sizes, at least), a head or a shape head.
template <class L>
concept LayerSpec = detail::layer_sizes<L> || Head<L> || ShapeHead<L>;

namespace detail {
/// A layer's parameter count (output size), or 0 for a type that is not a layer: models size their
/// storage with these so that passing a non-layer fails on the readable rule, not on a missing member.
template <class L>
constexpr std::size_t param_count_or_zero() {
  if constexpr (layer_sizes<L>)
    return L::param_count;
  else
    return 0;
}
/// Floating-point operations of one sample's forward pass: the layer's own `forward_flops` when it
/// has one (a convolution reuses each weight at every position), else 2 per parameter (a product's
/// multiply-add per weight). A training step costs about three times this (forward, and backward's two
/// products); the models use it to choose their threads.
template <class L>
constexpr double forward_flops() {
  if constexpr (requires { L::forward_flops; })
    return static_cast<double>(L::forward_flops);
  else if constexpr (layer_sizes<L>)
    return 2.0 * static_cast<double>(L::param_count);
  else
    return 0;
}
template <class L>
constexpr std::size_t out_size_or_zero() {
  if constexpr (layer_sizes<L>)
    return L::out_size;
  else
    return 0;
}

/// Every pass of the layer contract for scalars `T`, one carrier each, so that the first lines of the
/// diagnostic name the member that is missing, the layer and where it is (`Where`: a position in a
/// `Seq`, or the encoder / decoder of a model). True when all are there.
template <class Where, class L, class T>
constexpr bool check_layer_members() {
  static_assert(diag::layer_has_no_init<Where, L, T, layer_init<L, T>>::value);
  static_assert(diag::layer_has_no_forward<Where, L, T, layer_forward<L, T>>::value);
  static_assert(diag::layer_has_no_backward<Where, L, T, layer_backward<L, T>>::value);
  constexpr bool state_ok = !stateful<L> || layer_state_hooks<L, T>;
  static_assert(diag::layer_has_state_but_no_state_hooks<Where, L, T, state_ok>::value);
  return layer_init<L, T> && layer_forward<L, T> && layer_backward<L, T> && state_ok;
}

/// True when `L` opts in to deferred weight gradients (`static constexpr bool defers_weight_gradients
/// = true`): then, and only then, a multi-threaded step hands it `Context::deferred`.
template <class L>
inline constexpr bool defers_weight_gradients_v = requires { requires static_cast<bool>(L::defers_weight_gradients); };

/// Runs `f()` — a call of layer `L`'s pass — with `ctx`'s per-layer fields (`state`, `stats`,
/// `batch.rows`) pointed at `L`'s, at the offsets its container gives (state and statistics in values,
/// shared memory in doubles per row), and restores them after. Free for a layer with neither.
template <class L, class T, class F>
[[gnu::always_inline]] inline void in_layer_context(Context<T>& ctx, std::size_t state_offset, std::size_t stats_offset,
                                                    std::size_t shared_offset, F&& f) {
  if constexpr (!stateful<L> && !batch_coupled<L>) {
    f();
  } else {
    const T* const state = ctx.state;
    T* const stats = ctx.stats;
    double* const rows = ctx.batch.rows;
    if (state != nullptr) ctx.state = state + state_offset;
    if (stats != nullptr) ctx.stats = stats + stats_offset;
    if (rows != nullptr) ctx.batch.rows = rows + shared_offset * ctx.batch.count;
    f();
    ctx.state = state;
    ctx.stats = stats;
    ctx.batch.rows = rows;
  }
}

/// Calls `L::backward`, handing it `ctx.deferred` only when `L` opts in (`defers_weight_gradients`):
/// a layer that reuses its buffers during backward (ping-pong boundaries, say) keeps its children
/// from deferring, and so stays correct on any number of threads.
template <class L, class T>
[[gnu::always_inline]] inline void layer_backward_call(const T* params, const T* x, const T* y, const T* cache, T* dy,
                                                       T* dx, T* dparams, T* scratch, std::size_t n, Context<T>& ctx) {
  if constexpr (defers_weight_gradients_v<L>) {
    L::backward(params, x, y, cache, dy, dx, dparams, scratch, n, ctx);
  } else {
    detail::deferred_gradients<T>* const deferred = ctx.deferred;
    ctx.deferred = nullptr;
    L::backward(params, x, y, cache, dy, dx, dparams, scratch, n, ctx);
    ctx.deferred = deferred;
  }
}
}  // namespace detail

/// An optimiser for scalars `T`: `step(params, grads)` updates packed parameters from packed
/// gradients. Optional: `step(params, grads, threads)` (a multi-threaded update) and the range
/// protocol (`begin_ranges<T>(size)`, `update_range(params, grads, first, last)`; see the README).
template <class O, class T = float>
concept Optimizer = requires(O& o, std::span<T> p, std::span<const T> g) { o.step(p, g); };

}  // namespace latent
