#pragma once
/// \file
/// `latent::Residual<Branch>` (y = x + Branch(x)) and `latent::Residual<Branch, Projection>`
/// (y = Projection(x) + Branch(x)): the first branches of latent's type algebra. A branch is written
/// like any chain — `Seq<GroupNorm<8>, Silu, Conv2D<64, 3, 1, Same>>` — and is bound to the shape the
/// residual receives, so its first layer may be a shape head (a normalisation, a convolution) or an
/// activation.

#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/random.hpp"
#include "latent/core/shape.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/layers/keeps_shape.hpp"
#include "latent/layers/norm_rules.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/signature.hpp"

#include <algorithm>    // std::copy_n, std::max
#include <cstddef>      // std::size_t
#include <string>       // std::string: the signature
#include <type_traits>  // std::conditional_t, std::is_void_v

namespace latent {

namespace diag {
template <std::size_t C, std::size_t H, std::size_t W>
struct branch_gives_shape {};
template <std::size_t C, std::size_t H, std::size_t W>
struct projection_gives_shape {};
template <std::size_t N>
struct branch_gives_outputs {};
template <std::size_t N>
struct projection_gives_outputs {};

/// Residual<Branch>: the branch must give the shape (or size) the residual receives, so that
/// x + Branch(x) adds like to like.
template <class At, class Layer, class Receives, class BranchGives, bool Same>
struct residual_branch_changes_the_shape_of_its_input {
  static_assert(Same, "latent: a residual branch must give the shape it receives (y = x + Branch(x)); when the "
                      "branch changes the shape, give the skip a projection that does the same: "
                      "Residual<Branch, Conv2D<C, 1>> (y = Projection(x) + Branch(x))");
  static constexpr bool value = true;
};

/// Residual<Branch, Projection>: the projection must give the branch's shape (or size).
template <class At, class Layer, class BranchGives, class ProjectionGives, bool Same>
struct residual_projection_does_not_give_the_branch_shape {
  static_assert(Same, "latent: a residual's projection must give the shape its branch gives (y = Projection(x) + "
                      "Branch(x)), e.g. Conv2D<C, 1, S> for a branch that ends with C channels after stride S");
  static constexpr bool value = true;
};
}  // namespace diag

namespace detail {

/// What a residual's skip adds: nothing to project.
struct no_projection {};

/// Stands for "the layer before" when a branch is bound: it gives shape `In` (or `flat<N>`).
template <class In>
struct phantom_before {
  static constexpr std::size_t out_size = In::size;
};
template <std::size_t C, std::size_t H, std::size_t W>
struct phantom_before<shape<C, H, W>> {
  static constexpr std::size_t out_size = C * H * W;
  using out_shape = shape<C, H, W>;
};

/// The layers of Seq<Ls...> bound to an input of shape `In`: the first element binds to `In` as it
/// would to a layer before it, the others to the layer before them.
template <class In, class First, class... Rest>
struct bound_layers {
  using first = typename bind_layer<First, phantom_before<In>, diag::layer_index<0>>::type;
  using type = typename resolve_chain<type_list<first>, Rest...>::type;
};

/// A `Seq` bound to the shape it receives inside a branch (its first element need not know its input).
template <class In, class... Ls>
struct bound_seq : seq_body<typename bound_layers<In, Ls...>::type> {
  static_assert(diag::seq_has_no_layers<sizeof...(Ls)>::value);
  static_assert(seq_elements_are_layers<std::index_sequence_for<Ls...>, Ls...>::value);
};

/// A branch (or projection) bound to input `In`: a layer as it is; a shape head, an activation or a
/// Seq whose first element does not know its input, bound to `In`.
template <class Branch, class In>
struct bind_branch {
  using type = typename bind_layer<Branch, phantom_before<In>, diag::layer_index<0>>::type;
};
template <class... Ls, class In>
struct bind_branch<Seq<Ls...>, In> {
  template <class First, class...>
  struct first_of {
    using type = First;
  };
  using type = std::conditional_t<layer_sizes<typename first_of<Ls...>::type>, Seq<Ls...>, bound_seq<In, Ls...>>;
};
template <class In>
struct bind_branch<no_projection, In> {
  using type = no_projection;
};

// What a shape or size is, as the residual rules' carriers spell it.
template <class S, bool Projection>
struct gives {
  using type = std::conditional_t<Projection, diag::projection_gives_outputs<S::size>, diag::branch_gives_outputs<S::size>>;
};
template <std::size_t C, std::size_t H, std::size_t W, bool Projection>
struct gives<shape<C, H, W>, Projection> {
  using type = std::conditional_t<Projection, diag::projection_gives_shape<C, H, W>, diag::branch_gives_shape<C, H, W>>;
};
template <class In>
struct receives {
  using type = diag::receives_outputs<In::size>;
};
template <std::size_t C, std::size_t H, std::size_t W>
struct receives<shape<C, H, W>> {
  using type = diag::input_shape<C, H, W>;
};

/// What a bound layer gives: its out_shape, or flat<out_size>.
template <class L>
using gives_shape_t = typename given_shape<L>::type;

// A projection's sizes, 0 without one.
template <class L>
constexpr std::size_t cache_size_or_zero() {
  if constexpr (layer_sizes<L>)
    return L::cache_size;
  else
    return 0;
}
template <class L>
constexpr std::size_t scratch_size_or_zero() {
  if constexpr (layer_sizes<L>)
    return L::scratch_size;
  else
    return 0;
}

// The in_shape and out_shape a residual declares: those of its input and its branch's output that
// are shapes.
template <class In, class Out>
struct io_shapes {};
template <std::size_t C, std::size_t H, std::size_t W, class Out>
struct io_shapes<shape<C, H, W>, Out> {
  using in_shape = shape<C, H, W>;
};
template <std::size_t C, std::size_t H, std::size_t W, std::size_t C2, std::size_t H2, std::size_t W2>
struct io_shapes<shape<C, H, W>, shape<C2, H2, W2>> {
  using in_shape = shape<C, H, W>;
  using out_shape = shape<C2, H2, W2>;
};
template <std::size_t N, std::size_t C2, std::size_t H2, std::size_t W2>
struct io_shapes<flat<N>, shape<C2, H2, W2>> {
  using out_shape = shape<C2, H2, W2>;
};

/// Residual<Branch, Projection> bound to input `In`: y = x + B(x), or P(x) + B(x). Parameters: the
/// branch's, then the projection's; state, statistics and shared rows likewise.
template <class In, class B, class Pr>
struct residual_layer : io_shapes<In, typename given_shape<B>::type> {
  static constexpr bool projected = !std::is_same_v<Pr, no_projection>;
  using out_given = gives_shape_t<B>;
  static constexpr const char* name = "Residual";
  static constexpr std::size_t in_size = In::size, out_size = B::out_size;
  static constexpr std::size_t p_params = projected ? param_count_or_zero<Pr>() : 0;
  static constexpr std::size_t param_count = B::param_count + p_params;
  // Cache: the branch's cache and output (its backward reads the output), then the projection's.
  static constexpr std::size_t p_cache = projected ? cache_size_or_zero<Pr>() + out_size : 0;
  static constexpr std::size_t cache_size = B::cache_size + out_size + p_cache;
  // Scratch: the branch's copy of dy and its input gradient and scratch, then the projection's. Each
  // has its own, so a branch layer that defers its weight gradient finds its dz intact at the end of
  // the step (see `Context::deferred`).
  static constexpr std::size_t p_scratch = projected ? scratch_size_or_zero<Pr>() + out_size + in_size : 0;
  static constexpr std::size_t scratch_size = out_size + in_size + B::scratch_size + p_scratch;
  static constexpr bool defers_weight_gradients = true;
  static constexpr std::size_t state_size = state_size_of<B>() + (projected ? state_size_of<Pr>() : 0);
  static constexpr std::size_t step_stats_size = step_stats_size_of<B>() + (projected ? step_stats_size_of<Pr>() : 0);
  static constexpr std::size_t shared_per_row = shared_per_row_of<B>() + (projected ? shared_per_row_of<Pr>() : 0);
  static constexpr double forward_flops =
      detail::forward_flops<B>() + (projected ? detail::forward_flops<Pr>() : 0.0) + static_cast<double>(out_size);

  static std::string signature() {
    std::string s = "Residual<";
    s.append(latent::signature<B>());
    if constexpr (projected) s.append(",").append(latent::signature<Pr>());
    return s.append(">");
  }

  template <class T>
  static void init(T* params, Rng& rng) {
    B::init(params, rng);
    if constexpr (projected) Pr::init(params + B::param_count, rng);
  }
  template <class T>
  static void init_state(T* state) {
    if constexpr (stateful<B>) B::init_state(state);
    if constexpr (projected && stateful<Pr>) Pr::init_state(state + state_size_of<B>());
  }
  template <class T>
  static void update_state(T* state, const T* stats) {
    if constexpr (stateful<B>) B::update_state(state, stats);
    if constexpr (projected && stateful<Pr>)
      Pr::update_state(state + state_size_of<B>(), stats + step_stats_size_of<B>());
  }

  template <class T>
  static void forward(const T* params, const T* x, T* y, T* cache, std::size_t n, Context<T>& ctx) {
    T* yb = cache + n * B::cache_size;
    in_layer_context<B>(ctx, 0, 0, 0, [&] { B::forward(params, x, yb, cache, n, ctx); });
    if constexpr (projected) {
      T* pc = yb + n * out_size;
      T* yp = pc + n * cache_size_or_zero<Pr>();
      in_layer_context<Pr>(ctx, state_size_of<B>(), step_stats_size_of<B>(), shared_per_row_of<B>(),
                           [&] { Pr::forward(params + B::param_count, x, yp, pc, n, ctx); });
      for (std::size_t i = 0; i < n * out_size; ++i) y[i] = yb[i] + yp[i];
    } else {
      for (std::size_t i = 0; i < n * out_size; ++i) y[i] = yb[i] + x[i];
    }
  }

  template <class T>
  static void backward(const T* params, const T* x, const T*, const T* cache, T* dy, T* dx, T* dparams, T* scratch,
                       std::size_t n, Context<T>& ctx) {
    const T* yb = cache + n * B::cache_size;
    T* dyb = scratch;
    T* dxb = scratch + n * out_size;
    T* sb = dxb + n * in_size;
    std::copy_n(dy, n * out_size, dyb);
    in_layer_context<B>(ctx, 0, 0, 0, [&] {
      layer_backward_call<B>(params, x, yb, cache, dyb, dx != nullptr ? dxb : static_cast<T*>(nullptr), dparams, sb,
                             n, ctx);
    });
    if constexpr (projected) {
      const T* pc = yb + n * out_size;
      const T* yp = pc + n * cache_size_or_zero<Pr>();
      T* dyp = sb + n * B::scratch_size;
      T* dxp = dyp + n * out_size;
      T* sp = dxp + n * in_size;
      std::copy_n(dy, n * out_size, dyp);
      in_layer_context<Pr>(ctx, state_size_of<B>(), step_stats_size_of<B>(), shared_per_row_of<B>(), [&] {
        layer_backward_call<Pr>(params + B::param_count, x, yp, pc, dyp,
                                dx != nullptr ? dxp : static_cast<T*>(nullptr), dparams + B::param_count, sp, n, ctx);
      });
      if (dx != nullptr)
        for (std::size_t i = 0; i < n * in_size; ++i) dx[i] = dxb[i] + dxp[i];
    } else if (dx != nullptr) {
      // The skip's gradient is dy itself (the shapes are equal).
      for (std::size_t i = 0; i < n * in_size; ++i) dx[i] = dxb[i] + dy[i];
    }
  }
};

/// The residual's rules: something before it, a branch that gives its input's shape (or, with a
/// projection, a projection that gives the branch's).
template <class At, class Layer, class Branch, class Projection, class In>
constexpr bool check_residual() {
  if constexpr (!check_normalisation<At, Layer, In>()) {
    return false;
  } else {
    using B = typename bind_branch<Branch, In>::type;
    if constexpr (!layer_sizes<B>) {
      return false;  // the branch's own rule has fired
    } else if constexpr (std::is_same_v<Projection, no_projection>) {
      constexpr bool same = std::is_same_v<gives_shape_t<B>, In>;
      static_assert(diag::residual_branch_changes_the_shape_of_its_input<
                    At, Layer, typename receives<In>::type, typename gives<gives_shape_t<B>, false>::type, same>::value);
      return same;
    } else {
      using Pr = typename bind_branch<Projection, In>::type;
      if constexpr (!layer_sizes<Pr>) {
        return false;
      } else {
        constexpr bool same = std::is_same_v<gives_shape_t<B>, gives_shape_t<Pr>>;
        static_assert(diag::residual_projection_does_not_give_the_branch_shape<
                      At, Layer, typename gives<gives_shape_t<B>, false>::type,
                      typename gives<gives_shape_t<Pr>, true>::type, same>::value);
        return same;
      }
    }
  }
}

}  // namespace detail

/// A residual block: y = x + Branch(x), or with a projection on the skip y = Projection(x) + Branch(x)
/// (e.g. a 1×1 `Conv2D` when the branch changes the channels). `Branch` and `Projection` are written as
/// any chain and bound to the shape the residual receives, so they may start with a normalisation, an
/// activation or a convolution:
///
///     template <std::size_t C>   // a pre-activation residual block, as in latent diffusion's autoencoder
///     using ResBlock = Residual<Seq<GroupNorm<8>, Silu, Conv2D<C, 3, 1, Same>,
///                                   GroupNorm<8>, Silu, Conv2D<C, 3, 1, Same>>>;
///
/// (Write such a branch inline or with `using`: a strong-named `struct B : Seq<GroupNorm<8>, ...> {}`
/// is a complete Seq, whose first layer must know its input.) Parameters: the branch's, then the
/// projection's. Shape rules, each a compile error naming the position and both shapes: the branch gives
/// the shape the residual receives (`residual_branch_changes_the_shape_of_its_input`), or the projection
/// gives the branch's (`residual_projection_does_not_give_the_branch_shape`). Example:
/// examples/resnet_vae_fashion_mnist.cpp.
template <class Branch, class Projection = detail::no_projection>
struct Residual {
  static constexpr const char* name = "Residual";
  template <class In>
  using bind_shape = detail::residual_layer<In, typename detail::bind_branch<Branch, In>::type,
                                            typename detail::bind_branch<Projection, In>::type>;
  template <class At, class In>
  static constexpr bool check() {
    return detail::check_residual<At, Residual, Branch, Projection, In>();
  }
};

}  // namespace latent
