#pragma once
/// \file
/// `latent::Seq<Layers...>`: layers applied one after the other; itself a layer, so it nests.

#include "latent/activations/activation.hpp"
#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/random.hpp"
#include "latent/core/shape.hpp"
#include "latent/layers/activation_layer.hpp"
#include "latent/layers/seq_rules.hpp"
#include "latent/layers/shape_layers.hpp"

#include <boost/hana/at.hpp>        // hana::at_c: the I-th layer type
#include <boost/hana/for_each.hpp>  // compile-time loops over the layers
#include <boost/hana/range.hpp>     // hana::make_range: the layer indices
#include <boost/hana/reverse.hpp>   // backward visits the layers in reverse
#include <boost/hana/tuple.hpp>     // hana::tuple_t: the type list of layers

#include <algorithm>    // std::max
#include <array>        // std::array
#include <cstddef>      // std::size_t
#include <type_traits>  // std::conditional_t
#include <utility>      // std::index_sequence

namespace latent {

namespace detail {

template <class... Ts>
struct type_list {};

/// What may stand in a `Seq`: a layer, a head, a shape head, or an activation standing alone (a layer
/// of its own with the shape of the layer before it).
template <class L>
concept seq_element = LayerSpec<L> || activation_like<L>;

// What a layer gives the next one as its shape: its `out_shape`, or `flat<out_size>`.
template <class L>
struct given_shape {
  using type = flat<L::out_size>;
};
template <shaped_output L>
struct given_shape<L> {
  using type = typename L::out_shape;
};

// A head learns its input size from the previous layer, a shape head its input shape (after its rules
// are checked with its position At; a head whose rules failed becomes a pass-through of the previous
// width, so that one broken rule does not cascade); a layer is itself.
template <class L, class Prev, class At>
struct bind_layer {
  using type = L;
};
template <class L, class Prev, class At>
  requires(Head<L> && !layer_sizes<L>)
struct bind_layer<L, Prev, At> {
  using type = typename L::template bind<Prev::out_size>;
};
// An activation standing alone: a layer of its own with the shape of the layer before it.
template <class L, class Prev, class At>
  requires(activation_like<L> && !LayerSpec<L>)
struct bind_layer<L, Prev, At> {
  using type = activation_layer<typename given_shape<Prev>::type, L>;
};
template <class L, class Prev, class At>
  requires(ShapeHead<L> && !layer_sizes<L> && !Head<L>)
struct bind_layer<L, Prev, At> {
  using in = typename given_shape<Prev>::type;
  static constexpr bool ok = L::template check<At, in>();
  using type = std::conditional_t<ok, typename L::template bind_shape<std::conditional_t<ok, in, shape<1, 1, 1>>>,
                                  pass_through<Prev::out_size>>;
};

template <class Done, class... Rest>
struct resolve_chain;
template <class... Done>
struct resolve_chain<type_list<Done...>> {
  using type = type_list<Done...>;
};
template <class... Done, class Next, class... Rest>
struct resolve_chain<type_list<Done...>, Next, Rest...> {
  using prev = typename decltype(+boost::hana::at_c<sizeof...(Done) - 1>(boost::hana::tuple_t<Done...>))::type;
  using type = typename resolve_chain<
      type_list<Done..., typename bind_layer<Next, prev, diag::layer_index<sizeof...(Done)>>::type>, Rest...>::type;
};

// The resolved layer list of Seq<Ls...>; empty when some element is not a layer (its rule has fired).
template <bool Valid, class... Ls>
struct seq_layers {
  using type = type_list<>;
};
template <class First, class... Rest>
struct seq_layers<true, First, Rest...> {
  using type = typename resolve_chain<type_list<First>, Rest...>::type;
};

template <class Is, class... Ls>
struct seq_elements_are_layers;
template <std::size_t... I, class... Ls>
struct seq_elements_are_layers<std::index_sequence<I...>, Ls...> {
  static constexpr bool value =
      (diag::seq_element_is_not_a_layer<diag::layer_index<I>, Ls, seq_element<Ls>>::value && ... && true);
};

// Rule: every element has the passes of the layer contract (for float, or for double when it is
// written for double only); checked on the elements with heads bound, so the carrier names the layer
// and its position.
template <class L>
using contract_scalar_t = std::conditional_t<layer_forward<L, float> || !layer_forward<L, double>, float, double>;
template <class Is, class List>
struct seq_members_are_complete;
template <std::size_t... I, class... Rs>
struct seq_members_are_complete<std::index_sequence<I...>, type_list<Rs...>> {
  static constexpr bool value = (check_layer_members<diag::layer_index<I>, Rs, contract_scalar_t<Rs>>() && ... && true);
};

template <class List>
struct seq_ops;

template <>
struct seq_ops<type_list<>> {
  static constexpr std::size_t count = 0, in_size = 0, out_size = 0, param_count = 0, cache_size = 0, scratch_size = 0;
  static constexpr std::size_t state_size = 0, step_stats_size = 0, shared_per_row = 0;
  static constexpr bool wired = false;
  static constexpr bool check_wiring() { return true; }
};

template <class... Rs>
struct seq_ops<type_list<Rs...>> {
  static constexpr std::size_t count = sizeof...(Rs);
  static constexpr auto layer_types = boost::hana::tuple_t<Rs...>;
  template <std::size_t I>
  using layer = typename decltype(+boost::hana::at_c<I>(layer_types))::type;

  static constexpr std::array<std::size_t, count> ins{Rs::in_size...};
  static constexpr std::array<std::size_t, count> outs{Rs::out_size...};
  static constexpr std::array<std::size_t, count> params{Rs::param_count...};
  static constexpr std::array<std::size_t, count> caches{Rs::cache_size...};
  static constexpr std::array<std::size_t, count> scratches{Rs::scratch_size...};

  static constexpr std::size_t in_size = ins[0];
  static constexpr std::size_t out_size = outs[count - 1];

  static constexpr bool wired = [] {
    for (std::size_t i = 1; i < count; ++i)
      if (ins[i] != outs[i - 1]) return false;
    return true;
  }();

  // Rule (a): one carrier per adjacent pair; the failing one names the position and both sizes (and,
  // after Flatten, the flattened shape; for a Reshape, the shape it gives).
  template <std::size_t I>
  static constexpr bool check_pair() {
    using next = layer<I + 1>;
    using prev = layer<I>;
    if constexpr (is_reshape_v<next>) {
      using to = typename next::out_shape;
      return diag::reshape_changes_the_element_count<
          diag::layer_index<I + 1>, next, diag::reshape_to<to::channels, to::height, to::width>,
          diag::reshape_size<ins[I + 1]>, diag::receives_outputs<outs[I]>>::value;
    } else if constexpr (flattens_a_shape<prev>) {
      using from = typename prev::flattened_from;
      return diag::layer_input_size_does_not_match_flattened_shape<
          diag::layer_index<I + 1>, next, diag::expects_inputs<ins[I + 1]>,
          diag::flattened_shape<from::channels, from::height, from::width>, diag::flattened_size<outs[I]>>::value;
    } else {
      return diag::layer_input_size_does_not_match_previous_output<
          diag::layer_index<I + 1>, next, diag::expects_inputs<ins[I + 1]>, diag::receives_outputs<outs[I]>>::value;
    }
  }
  template <std::size_t... I>
  static constexpr bool check_pairs(std::index_sequence<I...>) {
    return (check_pair<I>() && ... && true);
  }
  static constexpr bool check_wiring() { return check_pairs(std::make_index_sequence<count - 1>{}); }

  static constexpr std::array<std::size_t, count> param_offsets = [] {
    std::array<std::size_t, count> o{};
    for (std::size_t i = 1; i < count; ++i) o[i] = o[i - 1] + params[i - 1];
    return o;
  }();
  static constexpr std::size_t param_count = param_offsets[count - 1] + params[count - 1];

  // Per-sample workspace: [cache 0][output 0][cache 1][output 1] ... [cache N−1]; the last output is the
  // Seq's own output. Offsets are per sample: a batch of n multiplies them by n.
  struct layout {
    std::array<std::size_t, count> cache{};
    std::array<std::size_t, count> out{};
    std::size_t total = 0;
  };
  static constexpr layout cache_layout = [] {
    layout l;
    for (std::size_t i = 0; i < count; ++i) {
      l.cache[i] = l.total;
      l.total += caches[i];
      if (i + 1 < count) {
        l.out[i] = l.total;
        l.total += outs[i];
      }
    }
    return l;
  }();
  static constexpr std::size_t cache_size = cache_layout.total;

  // Backward keeps each inner boundary's gradient in its own buffer (boundary i, between layers i and
  // i + 1, is outs[i] wide), and gives each layer scratch of its own after them, so that a layer that
  // defers its weight gradient (see `Context::deferred`) finds its dz intact when the step ends, even
  // inside a nested Seq.
  static constexpr std::array<std::size_t, count> boundary_offsets = [] {
    std::array<std::size_t, count> o{};
    for (std::size_t i = 1; i < count; ++i) o[i] = o[i - 1] + outs[i - 1];
    return o;
  }();
  static constexpr std::size_t boundaries_size = boundary_offsets[count - 1];
  static constexpr std::array<std::size_t, count> scratch_offsets = [] {
    std::array<std::size_t, count> o{};
    o[0] = boundaries_size;
    for (std::size_t i = 1; i < count; ++i) o[i] = o[i - 1] + scratches[i - 1];
    return o;
  }();
  static constexpr std::size_t scratch_size = scratch_offsets[count - 1] + scratches[count - 1];

  // State, statistics and shared memory (see the layer contract in core/concepts.hpp): the layers',
  // packed in order, each layer's at its offset.
  static constexpr std::array<std::size_t, count> states{state_size_of<Rs>()...};
  static constexpr std::array<std::size_t, count> statss{step_stats_size_of<Rs>()...};
  static constexpr std::array<std::size_t, count> shareds{shared_per_row_of<Rs>()...};
  static constexpr auto offsets_of(const std::array<std::size_t, count>& sizes) {
    std::array<std::size_t, count> o{};
    for (std::size_t i = 1; i < count; ++i) o[i] = o[i - 1] + sizes[i - 1];
    return o;
  }
  static constexpr std::array<std::size_t, count> state_offsets = offsets_of(states);
  static constexpr std::array<std::size_t, count> stats_offsets = offsets_of(statss);
  static constexpr std::array<std::size_t, count> shared_offsets = offsets_of(shareds);
  static constexpr std::size_t state_size = state_offsets[count - 1] + states[count - 1];
  static constexpr std::size_t step_stats_size = stats_offsets[count - 1] + statss[count - 1];
  static constexpr std::size_t shared_per_row = shared_offsets[count - 1] + shareds[count - 1];

  template <class T>
  static void init_state(T* state) {
    boost::hana::for_each(boost::hana::make_range(boost::hana::size_c<0>, boost::hana::size_c<count>), [&](auto i) {
      using L = layer<decltype(i)::value>;
      if constexpr (stateful<L>) L::init_state(state + state_offsets[i]);
    });
  }
  template <class T>
  static void update_state(T* state, const T* stats) {
    boost::hana::for_each(boost::hana::make_range(boost::hana::size_c<0>, boost::hana::size_c<count>), [&](auto i) {
      using L = layer<decltype(i)::value>;
      if constexpr (stateful<L>) L::update_state(state + state_offsets[i], stats + stats_offsets[i]);
    });
  }

  template <class T>
  static void init(T* p, Rng& rng) {
    boost::hana::for_each(boost::hana::make_range(boost::hana::size_c<0>, boost::hana::size_c<count>),
                          [&](auto i) { layer<decltype(i)::value>::init(p + param_offsets[i], rng); });
  }

  template <class T>
  static const T* input_of(std::size_t i, const T* x, const T* cache, std::size_t n) noexcept {
    return i == 0 ? x : cache + cache_layout.out[i - 1] * n;
  }

  template <class T>
  static void forward(const T* p, const T* x, T* y, T* cache, std::size_t n, Context<T>& ctx) {
    boost::hana::for_each(boost::hana::make_range(boost::hana::size_c<0>, boost::hana::size_c<count>), [&](auto i) {
      constexpr std::size_t I = decltype(i)::value;
      T* out = I + 1 == count ? y : cache + cache_layout.out[I] * n;
      in_layer_context<layer<I>>(ctx, state_offsets[I], stats_offsets[I], shared_offsets[I], [&] {
        layer<I>::forward(p + param_offsets[I], input_of<T>(I, x, cache, n), out, cache + cache_layout.cache[I] * n, n,
                          ctx);
      });
    });
  }

  // Layers [0, I) have no parameters: below layer I, only the Seq's own input gradient is wanted.
  static constexpr std::array<bool, count> nothing_to_learn_before = [] {
    std::array<bool, count> a{};
    std::size_t before = 0;
    for (std::size_t i = 0; i < count; ++i) {
      a[i] = before == 0;
      before += params[i];
    }
    return a;
  }();

  template <class T>
  static void backward(const T* p, const T* x, const T* y, const T* cache, T* dy, T* dx, T* dp, T* scratch,
                       std::size_t n, Context<T>& ctx) {
    T* current_dy = dy;
    // When the Seq's input gradient is not wanted, the backward pass stops at the first layer that has
    // parameters (an Input or Reshape in front of a convolution needs no gradient).
    bool done = false;
    constexpr auto indices = boost::hana::make_range(boost::hana::size_c<0>, boost::hana::size_c<count>);
    boost::hana::for_each(boost::hana::reverse(boost::hana::to_tuple(indices)), [&](auto i) {
      constexpr std::size_t I = decltype(i)::value;
      if (done) return;
      const T* out = I + 1 == count ? y : cache + cache_layout.out[I] * n;
      // Layer I's input gradient is boundary I − 1's (layer I − 1's output gradient).
      T* layer_dx = dx;
      if constexpr (I > 0) {
        if (dx != nullptr || !nothing_to_learn_before[I])
          layer_dx = scratch + boundary_offsets[I - 1] * n;
        else
          done = true;
      }
      in_layer_context<layer<I>>(ctx, state_offsets[I], stats_offsets[I], shared_offsets[I], [&] {
        layer_backward_call<layer<I>>(p + param_offsets[I], input_of<T>(I, x, cache, n), out,
                                      cache + cache_layout.cache[I] * n, current_dy, layer_dx, dp + param_offsets[I],
                                      scratch + scratch_offsets[I] * n, n, ctx);
      });
      current_dy = layer_dx;
    });
  }
};

}  // namespace detail

/// True when `Seq<Ls...>`'s adjacent sizes agree (the predicate behind rule (a)); false when an element
/// is not a layer.
namespace detail {
template <class... Ls>
constexpr bool seq_is_wired() {
  if constexpr (sizeof...(Ls) == 0 || !(seq_element<Ls> && ...)) {
    return false;
  } else {
    using first = typename decltype(+boost::hana::at_c<0>(boost::hana::tuple_t<Ls...>))::type;
    if constexpr (!layer_sizes<first>)
      return false;  // a head cannot start a chain
    else
      return seq_ops<typename seq_layers<true, Ls...>::type>::wired;
  }
}
}  // namespace detail

template <class... Ls>
inline constexpr bool seq_is_wired_v = detail::seq_is_wired<Ls...>();

/// Layers applied one after the other: y = L_{N−1}(... L_1(L_0(x))). A `Seq` is itself a layer, so
/// it nests (`Seq<Seq<A, B>, C>`), and it can end in a head such as `Gaussian<Z>`, whose input size it
/// infers from the layer before.
///
/// Shape rules, checked when the type is used (each names the position, counted from 0, and both sizes
/// in the first lines of g++'s diagnostic): every element is a layer (`seq_element_is_not_a_layer`);
/// layer I's input size equals layer I−1's output size (`layer_input_size_does_not_match_previous_output`);
/// the first layer knows its input size. Give it a strong name for shorter diagnostics:
///
///     struct Encoder : Seq<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>> {};
///
/// Parameters are the layers' parameters packed in order. Example: examples/keras_seed.cpp.
namespace detail {
// The first element of a chain knows its input size (a head or a shape head cannot start one).
template <class... Ls>
constexpr bool seq_first_knows_input() {
  if constexpr (sizeof...(Ls) == 0)
    return false;
  else
    return layer_sizes<typename decltype(+boost::hana::at_c<0>(boost::hana::tuple_t<Ls...>))::type>;
}

// A Seq's in_shape and out_shape: its first layer's input shape and its last layer's output shape,
// when they have them.
template <class List>
struct seq_shapes {};
template <class R0, class... Rs>
  requires(shaped_input<R0> &&
           !shaped_output<typename decltype(+boost::hana::at_c<sizeof...(Rs)>(boost::hana::tuple_t<R0, Rs...>))::type>)
struct seq_shapes<type_list<R0, Rs...>> {
  using in_shape = typename R0::in_shape;
};
template <class R0, class... Rs>
  requires(!shaped_input<R0> &&
           shaped_output<typename decltype(+boost::hana::at_c<sizeof...(Rs)>(boost::hana::tuple_t<R0, Rs...>))::type>)
struct seq_shapes<type_list<R0, Rs...>> {
  using out_shape =
      typename decltype(+boost::hana::at_c<sizeof...(Rs)>(boost::hana::tuple_t<R0, Rs...>))::type::out_shape;
};
template <class R0, class... Rs>
  requires(shaped_input<R0> &&
           shaped_output<typename decltype(+boost::hana::at_c<sizeof...(Rs)>(boost::hana::tuple_t<R0, Rs...>))::type>)
struct seq_shapes<type_list<R0, Rs...>> {
  using in_shape = typename R0::in_shape;
  using out_shape =
      typename decltype(+boost::hana::at_c<sizeof...(Rs)>(boost::hana::tuple_t<R0, Rs...>))::type::out_shape;
};
}  // namespace detail

namespace detail {
/// The body of a chain of resolved layers (`List`: heads bound, activations wrapped): what `Seq` is, and
/// what a `Seq` bound to its input's shape inside a branch (`bound_seq`) is too.
template <class List>
struct seq_body : seq_shapes<List> {
 public:
  /// The layers with heads bound to their input sizes, as `detail::type_list<...>`.
  using layers = List;
  using ops = seq_ops<layers>;
  static_assert(ops::check_wiring());
  static_assert(seq_members_are_complete<std::make_index_sequence<ops::count>, layers>::value);

  static constexpr const char* name = "Seq";
  /// A Seq gives every inner boundary gradient and every layer's scratch a buffer of its own, so it
  /// keeps the promise of `Context::deferred` for the layers inside it that opt in.
  static constexpr bool defers_weight_gradients = true;

  static constexpr std::size_t layer_count = ops::count;
  static constexpr std::size_t in_size = ops::in_size;
  static constexpr std::size_t out_size = ops::out_size;
  static constexpr std::size_t param_count = ops::param_count;
  static constexpr std::size_t cache_size = ops::cache_size;
  /// The layers' state, statistics and shared memory, packed in order (0 when none has any).
  static constexpr std::size_t state_size = ops::state_size;
  static constexpr std::size_t step_stats_size = ops::step_stats_size;
  static constexpr std::size_t shared_per_row = ops::shared_per_row;
  static constexpr std::size_t scratch_size = ops::scratch_size;
  /// The sum of the layers' forward FLOPs per sample (see `detail::forward_flops`).
  static constexpr double forward_flops = [] {
    return []<class... Rs>(type_list<Rs...>) { return (detail::forward_flops<Rs>() + ... + 0.0); }(layers{});
  }();

  template <class T>
  static void init(T* params, Rng& rng) {
    ops::init(params, rng);
  }
  template <class T>
  static void init_state(T* state) {
    ops::init_state(state);
  }
  template <class T>
  static void update_state(T* state, const T* stats) {
    ops::update_state(state, stats);
  }
  template <class T>
  static void forward(const T* params, const T* x, T* y, T* cache, std::size_t n, Context<T>& ctx) {
    ops::forward(params, x, y, cache, n, ctx);
  }
  template <class T>
  static void backward(const T* params, const T* x, const T* y, const T* cache, T* dy, T* dx, T* dparams, T* scratch,
                       std::size_t n, Context<T>& ctx) {
    ops::backward(params, x, y, cache, dy, dx, dparams, scratch, n, ctx);
  }
};

// What a Seq's elements make of it: the resolved layers when every element is one, the first knows its
// input size and a shape head first passes its rules; else an empty list (a rule has fired).
template <class... Ls>
struct seq_plan {
  static constexpr bool all_layers = (seq_element<Ls> && ...) && sizeof...(Ls) != 0;
  template <class First, class...>
  struct first_of {
    using type = First;
  };
  using first = typename first_of<Ls..., void>::type;
  // A shape head first (a convolution with nothing before it) says so in its own rule.
  static constexpr bool first_is_shape_head = [] {
    if constexpr (all_layers)
      return !layer_sizes<first> && !Head<first> && ShapeHead<first>;
    else
      return false;
  }();
  static constexpr bool first_shape_rules = [] {
    if constexpr (first_is_shape_head)
      return first::template check<diag::layer_index<0>, diag::receives_nothing>();
    else
      return true;
  }();
  static constexpr bool first_knows_input = [] {
    if constexpr (all_layers)
      return layer_sizes<first>;
    else
      return true;
  }();
  using layers = typename seq_layers<all_layers && first_knows_input && first_shape_rules, Ls...>::type;
};
}  // namespace detail

template <class... Ls>
struct Seq : detail::seq_body<typename detail::seq_plan<Ls...>::layers> {
  static_assert(diag::seq_has_no_layers<sizeof...(Ls)>::value);
  static_assert(detail::seq_elements_are_layers<std::index_sequence_for<Ls...>, Ls...>::value);
  static_assert(diag::first_layer_does_not_know_its_input_size<
                diag::layer_index<0>, typename detail::seq_plan<Ls...>::first,
                (detail::seq_plan<Ls...>::first_knows_input || detail::seq_plan<Ls...>::first_is_shape_head)>::value);
};

}  // namespace latent
