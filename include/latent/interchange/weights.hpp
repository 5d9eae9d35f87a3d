#pragma once
/// \file
/// `latent::load_weights(model, path, options)` and `latent::save_weights(model, path, options)`:
/// a model's parameters and state from and to the weights files of PyTorch and Keras (safetensors,
/// NumPy .npz), with the layouts converted; `latent::read_tensors(path)` to look inside such a file;
/// `latent::weight_slots<Model>(layout)` for the tensors a model expects. See docs/weights.md.
///
/// The tensors of a file map onto the model's leaf layers with tensors in `for_each_layer` order (the
/// encoder's, then the decoder's; a `Residual`'s branch, then its projection, walked into), each layer
/// taking its tensors in the framework's order:
///
/// | latent layer | PyTorch (`weight_layout::pytorch`) | Keras (`weight_layout::keras`) |
/// |---|---|---|
/// | `Dense<In, Out>` | `Linear.weight` [Out, In], `bias` [Out] | `Dense` kernel [In, Out], bias [Out] |
/// | `Gaussian<Z>` after In | μ `Linear` [Z, In], [Z]; log σ² `Linear` [Z, In], [Z] | z_mean, z_log_var: kernel [In, Z], bias |
/// | `Conv2D<F, K>` on C | `Conv2d.weight` [F, C, K, K], `bias` [F] | kernel [K, K, C, F], bias [F] |
/// | `ConvTranspose2D<F, K>` on C | `ConvTranspose2d.weight` [C, F, K, K], `bias` [F] | kernel [K, K, F, C], bias [F] |
/// | `BatchNorm` on C | weight, bias, running_mean, running_var [C], num_batches_tracked [] int64 | gamma, beta, moving_mean, moving_variance [C] |
/// | `GroupNorm`, `LayerNorm` on C | weight, bias [C] | gamma, beta [C] |
/// | `SpatialAttention` on C | norm.weight, norm.bias [C]; q, k, v, proj_out: weight [C, C, 1, 1], bias [C] | norm.gamma, norm.beta; q, k, v, proj_out: kernel [1, 1, C, C], bias |
/// | `Residual<B, P>` | B's tensors ("branch.<j>."), then P's ("projection.<j>.") | likewise |
/// | `VectorQuantizer<K, D>` | pythae's `Quantizer.embeddings` (`nn.Embedding`): `embeddings.weight` [K, D] | `embeddings` [D, K] (keras.io's VQ-VAE) |
/// | `VectorQuantizerWith<K, D, EMA>` | pythae's `QuantizerEMA` buffers: `cluster_size` [K], `ema_embed` [K, D], `embeddings` [K, D] | the same names, [K], [D, K], [D, K] |
/// | a likelihood's parameters (`LearnedGaussian`) | one tensor [D] | one tensor [D] |
///
/// BatchNorm's running statistics and counter, and an EMA codebook (codes e, counts N, sums m), fill
/// `model.state()`, everything else `model.parameters()` (`WeightSlot::target`). An EMA quantiser's
/// update count (which varies its restarts' picks) is latent's own, in no file: loading keeps the
/// model's. Keras flattens channel-last (NHWC), latent and
/// PyTorch channel-first: with the keras layout, the rows of a Dense (or Gaussian) kernel after a
/// `Flatten` of a C × H × W shape are permuted from (h, w, c) to (c, h, w) order, and the columns and
/// bias of a Dense before a `Reshape<C, H, W>` likewise (and the vectors of a flat BatchNorm or
/// GroupNorm between them). Layers without parameters or state take no tensors.
///
/// Loading is all or nothing: every tensor is matched and checked (a missing, unused or mis-shaped
/// tensor, an integer tensor where a real one belongs or the reverse, a NaN or Inf value, a negative
/// variance, a counter that is negative or that the model's scalar type does not hold exactly, is a
/// `format_error` naming the tensor; all problems of matching are listed), the parameters and state
/// are assembled in copies, and only then copied into the model.

#include "latent/core/concepts.hpp"
#include "latent/core/error.hpp"
#include "latent/interchange/layer_walk.hpp"
#include "latent/io/named_tensor.hpp"
#include "latent/io/npz.hpp"
#include "latent/io/safetensors.hpp"
#include "latent/layers/activation_layer.hpp"
#include "latent/layers/attention.hpp"
#include "latent/layers/batch_norm.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/dropout.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/group_norm.hpp"
#include "latent/layers/residual.hpp"
#include "latent/layers/shape_layers.hpp"
#include "latent/layers/vector_quantizer.hpp"

#include <algorithm>    // std::copy
#include <cmath>        // std::isfinite
#include <cstddef>      // std::size_t
#include <cstdint>      // std::int64_t: counters
#include <functional>   // std::function: a slot's index map
#include <map>          // std::map: file tensors by name
#include <set>          // std::set: repeated names
#include <stdexcept>    // std::logic_error: a defect of the slot maps
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <type_traits>  // std::false_type, std::true_type
#include <utility>      // std::move, std::as_const
#include <vector>       // std::vector

namespace latent {

/// Whose tensor layouts a weights file holds.
enum class weight_layout {
  pytorch,  ///< `Linear.weight` out × in, `Conv2d.weight` [F][C][K][K], channel-first flattening
  keras     ///< `Dense` kernel in × out, `Conv2D` kernel [K][K][C][F], channel-last flattening
};

/// A weights file's format.
enum class weight_format {
  from_extension,  ///< ".safetensors" or ".npz" (any other extension is an `option_error`)
  safetensors,
  npz
};

/// How `load_weights` and `save_weights` map a file onto a model.
struct WeightOptions {
  weight_layout layout = weight_layout::pytorch;  ///< for both formats (Keras users say `keras`)
  weight_format format = weight_format::from_extension;
  /// Empty: the file's tensors in the file's order (safetensors: the header's order; .npz: the
  /// archive's order) fill the model's slots in order, and `save_weights` names them
  /// "encoder.<i>.weight", ... (see `weight_slots`). Otherwise, one file tensor name per slot, in the
  /// slots' order: loading takes those tensors by name (any others are unused: an error), saving
  /// writes these names.
  std::vector<std::string> names = {};
};

/// Which of a model's arrays a tensor fills.
enum class weight_target {
  parameters,  ///< `model.parameters()`: what training changes
  state        ///< `model.state()`: BatchNorm's running statistics and counter
};

/// What a tensor's values must be to load.
enum class weight_kind {
  value,     ///< finite real numbers
  variance,  ///< finite real numbers ≥ 0 (BatchNorm's running variance)
  count,     ///< finite real numbers ≥ 0 (an EMA codebook's moving counts of assignments)
  counter    ///< an int64 tensor (I64, <i8) of whole numbers ≥ 0 that the model's scalar type holds exactly
};

/// One tensor a model expects: where it goes and the shape it has in the file's layout.
struct WeightSlot {
  std::string name;                ///< the default name, e.g. "encoder.0.weight"
  std::string layer;               ///< the layer it belongs to, e.g. "layer 0 (Dense<784,400,Relu>) weight"
  std::vector<std::size_t> shape;  ///< in the file's layout
  std::size_t count = 0;           ///< product of `shape`
  /// The index in `model.parameters()` (or `model.state()`, by `target`) of the file tensor's element
  /// i (row-major).
  std::function<std::size_t(std::size_t)> index;
  weight_target target = weight_target::parameters;  ///< the array `index` points into
  weight_kind kind = weight_kind::value;             ///< what the values must be
};

namespace detail {

template <class L>
struct is_gaussian_head_layer : std::false_type {};
template <std::size_t In, std::size_t Z>
struct is_gaussian_head_layer<GaussianHead<In, Z>> : std::true_type {};
template <class L>
struct is_conv2d_layer : std::false_type {};
template <class In, std::size_t F, std::size_t K, std::size_t S, class P, class A>
struct is_conv2d_layer<conv2d_layer<In, F, K, S, P, A>> : std::true_type {
  static constexpr std::size_t kernel = K;
};
template <class L>
struct is_conv_transpose2d_layer : std::false_type {};
template <class In, std::size_t F, std::size_t K, std::size_t S, class P, class A>
struct is_conv_transpose2d_layer<conv_transpose2d_layer<In, F, K, S, P, A>> : std::true_type {
  static constexpr std::size_t kernel = K;
};
template <class L>
struct is_batch_norm_layer : std::false_type {};
template <class In, class M, class E>
struct is_batch_norm_layer<batch_norm_layer<In, M, E>> : std::true_type {};
template <class L>
struct is_group_norm_layer : std::false_type {};
template <class In, std::size_t G, class E>
struct is_group_norm_layer<group_norm_layer<In, G, E>> : std::true_type {};
template <class L>
struct is_attention_layer : std::false_type {};
template <class In, std::size_t G, class E>
struct is_attention_layer<attention_layer<In, G, E>> : std::true_type {};

/// A layer on flat rows whose outputs are its inputs' features in their order (a flat BatchNorm,
/// GroupNorm, standalone activation or Dropout): Keras's channel-last order after a `Flatten` runs
/// through it.
template <class L>
struct keeps_feature_order : std::false_type {};
template <class In, class A>
struct keeps_feature_order<activation_layer<In, A>> : std::bool_constant<!is_shape_v<In>> {};
template <class In, std::intmax_t N, std::intmax_t D>
struct keeps_feature_order<dropout_layer<In, N, D>> : std::bool_constant<!is_shape_v<In>> {};
template <class In, class M, class E>
struct keeps_feature_order<batch_norm_layer<In, M, E>> : std::bool_constant<!is_shape_v<In>> {};
template <class In, std::size_t G, class E>
struct keeps_feature_order<group_norm_layer<In, G, E>> : std::bool_constant<!is_shape_v<In>> {};

// Keras's channel-last position (h·W + w)·C + c of latent's channel-first position c·H·W + h·W + w.
struct channel_last {
  std::size_t c = 0, h = 0, w = 0;  // all 0: no permutation
  std::size_t to_latent(std::size_t keras) const noexcept {
    if (c == 0) return keras;
    const std::size_t ch = keras % c, hw = keras / c;
    return ch * h * w + hw;
  }
};

// What the slot builder needs to know about one leaf layer, gathered in one walk.
struct leaf_facts {
  enum kind_t {
    none, dense, gaussian, conv, conv_transpose, batch_norm, group_norm, attention, vector_quantizer, unknown
  } kind = none;
  std::string text;    // "layer 0 (Dense<784,400,Relu>)", "layer 4 (Residual) branch layer 2 (Conv2D<...>)"
  std::string prefix;  // the default names' start: "encoder.0", "encoder.4.branch.2"
  std::size_t offset = 0, state_offset = 0, params = 0, state = 0;
  std::size_t in = 0, out = 0;                              // Dense: In, Out; Gaussian: In, Z
  std::size_t c = 0, f = 0, k = 0;                          // convolutions: input channels, filters, kernel;
                                                            // normalisations, attention: channels
  bool ema = false;                                         // VectorQuantizer: its codebook is state
  std::size_t flat_c = 0, flat_h = 0, flat_w = 0;           // a Flatten of a shape: that shape (else 0)
  std::size_t reshape_c = 0, reshape_h = 0, reshape_w = 0;  // a Reshape: its shape (else 0)
  bool keeps_features = false;                              // see keeps_feature_order
  std::size_t chain = 0;  // the leaves of one chain share it (Keras's orders run along a chain)
  channel_last rows, cols;  // Keras: the order of its input and output features (set by keras_orders)
};

template <class L>
std::string layer_text(std::size_t index) {
  std::string s = "layer " + std::to_string(index) + " (";
  if constexpr (requires { L::signature(); })
    s += L::signature();
  else if constexpr (requires { L::name; })
    s += L::name;
  else
    s += "unnamed";
  return s + ")";
}

// A leaf as the messages name it; a layer that holds chains by its name alone (its chains' leaves are
// named after it: "layer 4 (Residual) branch layer 2 (Conv2D<...>)").
template <class L>
std::string leaf_text(std::size_t index) {
  if constexpr (holds_branches_v<L>)
    return "layer " + std::to_string(index) + " (" + L::name + ")";
  else
    return layer_text<L>(index);
}

template <class L>
leaf_facts facts_of(const layer_slot<L>& slot, std::string prefix, std::string text, std::size_t chain) {
  leaf_facts f;
  f.text = std::move(text);
  f.prefix = std::move(prefix);
  f.chain = chain;
  f.offset = slot.offset;
  f.state_offset = slot.state_offset;
  f.params = L::param_count;
  f.state = state_size_of<L>();
  f.keeps_features = keeps_feature_order<L>::value;
  if constexpr (is_dense_v<L>) {
    f.kind = leaf_facts::dense, f.in = L::in_size, f.out = L::out_size;
  } else if constexpr (is_gaussian_head_layer<L>::value) {
    f.kind = leaf_facts::gaussian, f.in = L::in_size, f.out = L::code_size;
  } else if constexpr (is_conv2d_layer<L>::value) {
    f.kind = leaf_facts::conv, f.c = L::C, f.f = L::out_shape::channels, f.k = is_conv2d_layer<L>::kernel;
  } else if constexpr (is_conv_transpose2d_layer<L>::value) {
    f.kind = leaf_facts::conv_transpose, f.c = L::C, f.f = L::out_shape::channels,
    f.k = is_conv_transpose2d_layer<L>::kernel;
  } else if constexpr (is_batch_norm_layer<L>::value) {
    f.kind = leaf_facts::batch_norm, f.c = L::C;
  } else if constexpr (is_group_norm_layer<L>::value) {
    f.kind = leaf_facts::group_norm, f.c = L::C;
  } else if constexpr (is_attention_layer<L>::value) {
    f.kind = leaf_facts::attention, f.c = L::C;
  } else if constexpr (vector_quantizer_layer_type<L>) {
    f.kind = leaf_facts::vector_quantizer, f.c = L::codes, f.f = L::code_dim, f.ema = L::ema;
  } else if constexpr (holds_branches_v<L>) {
    f.kind = leaf_facts::none;  // its chains' leaves follow it
  } else if constexpr (L::param_count > 0 || state_size_of<L>() > 0) {
    f.kind = leaf_facts::unknown;
  }
  if constexpr (flattens_a_shape<L>) {
    using S = typename L::flattened_from;
    f.flat_c = S::channels, f.flat_h = S::height, f.flat_w = S::width;
  }
  if constexpr (is_reshape_v<L>) {
    using S = typename L::out_shape;
    f.reshape_c = S::channels, f.reshape_h = S::height, f.reshape_w = S::width;
  }
  return f;
}

// The facts of leaf `slot` and, for a layer that holds chains, of their leaves after it (each chain
// a chain of its own, named "<prefix>.<branch>.<j>").
template <class L>
void gather_leaf(std::vector<leaf_facts>& out, std::size_t& chains, const layer_slot<L>& slot,
                 const std::string& prefix, const std::string& text, std::size_t chain) {
  out.push_back(facts_of(slot, prefix, text, chain));
  if constexpr (holds_branches_v<L>) {
    for_each_branch<L>([&](auto branch) {
      using Chain = typename decltype(branch)::chain;
      const std::size_t id = chains++;
      const std::string at = prefix + "." + branch.name, said = text + " " + branch.name;
      for_each_layer_of<Chain>(
          [&]<class M>(const layer_slot<M>& inner) {
            gather_leaf(out, chains, inner, at + "." + std::to_string(inner.index),
                        said + " " + leaf_text<M>(inner.index), id);
          },
          slot.part, slot.offset + branch.offset, slot.state_offset + branch.state_offset);
    });
  }
}

template <class Model>
std::vector<leaf_facts> model_leaves() {
  std::vector<leaf_facts> leaves;
  std::size_t chains = 1;  // chain 0: the model's encoder and decoder, one after the other
  for_each_layer<Model>([&]<class L>(const layer_slot<L>& slot) {
    gather_leaf(leaves, chains, slot,
                std::string(slot.part == model_part::encoder ? "encoder." : "decoder.") +
                    std::to_string(slot.index_in_part),
                leaf_text<L>(slot.index), 0);
  });
  return leaves;
}

// Keras: the order of each leaf's input features (after a Flatten of a shape, through layers that keep
// the features' order) and output features (before a Reshape to a shape, likewise), along each chain.
inline void keras_orders(std::vector<leaf_facts>& leaves) {
  std::map<std::size_t, std::vector<std::size_t>> chains;
  for (std::size_t i = 0; i < leaves.size(); ++i) chains[leaves[i].chain].push_back(i);
  for (const auto& [id, members] : chains) {
    channel_last order;
    for (const std::size_t i : members) {
      leaves[i].rows = order;
      if (leaves[i].flat_c != 0)
        order = {leaves[i].flat_c, leaves[i].flat_h, leaves[i].flat_w};
      else if (!leaves[i].keeps_features)
        order = {};
    }
    order = {};
    for (auto it = members.rbegin(); it != members.rend(); ++it) {
      leaves[*it].cols = order;
      if (leaves[*it].reshape_c != 0)
        order = {leaves[*it].reshape_c, leaves[*it].reshape_h, leaves[*it].reshape_w};
      else if (!leaves[*it].keeps_features)
        order = {};
    }
  }
}


// The state values no weights file holds: each EMA quantiser's update count.
template <class Model>
std::vector<std::size_t> unfiled_state() {
  std::vector<std::size_t> out;
  for (const leaf_facts& l : model_leaves<Model>())
    if (l.kind == leaf_facts::vector_quantizer && l.ema) out.push_back(l.state_offset + 2 * l.c * l.f + l.c);
  return out;
}

}  // namespace detail

/// The tensors `Model` expects in a file of layout `layout`, in order (see the table in this file's
/// comment). A layer with parameters or state of an unknown layout (a user's layer) is an
/// `option_error`.
template <class Model>
std::vector<WeightSlot> weight_slots(weight_layout layout) {
  using detail::leaf_facts;
  const bool keras = layout == weight_layout::keras;
  std::vector<leaf_facts> leaves = detail::model_leaves<Model>();
  if (keras) detail::keras_orders(leaves);
  std::vector<WeightSlot> slots;
  auto add = [&](const leaf_facts& l, const std::string& role, std::vector<std::size_t> shape,
                 std::function<std::size_t(std::size_t)> index, weight_target target = weight_target::parameters,
                 weight_kind kind = weight_kind::value) {
    WeightSlot s;
    s.name = l.prefix + "." + role;
    s.layer = l.text + " " + role;
    s.shape = std::move(shape);
    detail::element_count(s.shape, s.count);
    s.index = std::move(index);
    s.target = target;
    s.kind = kind;
    slots.push_back(std::move(s));
  };
  // A vector of C per-channel values at `at` (a flat layer's features in Keras's order when permuted).
  auto vector = [&](const leaf_facts& l, const std::string& role, std::size_t at,
                    weight_target target = weight_target::parameters, weight_kind kind = weight_kind::value) {
    const detail::channel_last order = l.rows.c != 0 ? l.rows : l.cols;
    add(l, role, {l.c}, [=](std::size_t e) { return at + order.to_latent(e); }, target, kind);
  };
  for (const leaf_facts& l : leaves) {
    const std::size_t o = l.offset;
    // Keras: rows after a Flatten of a shape, columns before a Reshape, are channel-last there.
    const detail::channel_last rows = l.rows, cols = l.cols;
    switch (l.kind) {
      case leaf_facts::none: break;
      case leaf_facts::unknown:
        throw option_error("weights: " + l.text + " has " + std::to_string(l.params) + " parameters" +
                           (l.state > 0 ? " and " + std::to_string(l.state) + " values of state" : std::string()) +
                           " of no known layout (Dense, Gaussian, Conv2D, ConvTranspose2D, BatchNorm, GroupNorm, "
                           "SpatialAttention and VectorQuantizer have one)");
      case leaf_facts::dense: {
        const std::size_t in = l.in, out = l.out;
        if (keras)
          add(l, "kernel", {in, out},
              [=](std::size_t e) { return o + rows.to_latent(e / out) * out + cols.to_latent(e % out); });
        else
          add(l, "weight", {out, in}, [=](std::size_t e) { return o + (e % in) * out + e / in; });
        add(l, "bias", {out}, [=](std::size_t e) { return o + in * out + cols.to_latent(e); });
        break;
      }
      case leaf_facts::gaussian: {
        const std::size_t in = l.in, z = l.out;
        for (std::size_t half = 0; half < 2; ++half) {
          const std::string head = half == 0 ? "mu" : "log_var";
          const std::size_t shift = half * z;
          if (keras)
            add(l, head + ".kernel", {in, z},
                [=](std::size_t e) { return o + rows.to_latent(e / z) * 2 * z + shift + e % z; });
          else
            add(l, head + ".weight", {z, in}, [=](std::size_t e) { return o + (e % in) * 2 * z + shift + e / in; });
          add(l, head + ".bias", {z}, [=](std::size_t e) { return o + in * 2 * z + shift + e; });
        }
        break;
      }
      case leaf_facts::conv:
      case leaf_facts::conv_transpose: {
        // latent: Conv2D [F][C][K][K], ConvTranspose2D [C][F][K][K]; Keras: [K][K][C][F], [K][K][F][C].
        const std::size_t k = l.k, f = l.f, c = l.c;
        const bool transposed = l.kind == leaf_facts::conv_transpose;
        const std::size_t a = transposed ? c : f, b = transposed ? f : c;  // latent's outer two axes
        if (keras)
          add(l, "kernel", {k, k, b, a}, [=](std::size_t e) {
            const std::size_t ia = e % a, ib = (e / a) % b, kj = (e / (a * b)) % k, ki = e / (a * b * k);
            return o + ((ia * b + ib) * k + ki) * k + kj;
          });
        else
          add(l, "weight", {a, b, k, k}, [=](std::size_t e) { return o + e; });
        add(l, "bias", {f}, [=](std::size_t e) { return o + c * f * k * k + e; });
        break;
      }
      case leaf_facts::batch_norm: {
        // Parameters γ, β; state running mean, running variance, batches tracked (PyTorch's buffers, in
        // its state_dict's order; Keras has no counter).
        const std::size_t c = l.c, s = l.state_offset;
        vector(l, keras ? "gamma" : "weight", o);
        vector(l, keras ? "beta" : "bias", o + c);
        vector(l, keras ? "moving_mean" : "running_mean", s, weight_target::state);
        vector(l, keras ? "moving_variance" : "running_var", s + c, weight_target::state, weight_kind::variance);
        if (!keras)
          add(l, "num_batches_tracked", {}, [=](std::size_t) { return s + 2 * c; }, weight_target::state,
              weight_kind::counter);
        break;
      }
      case leaf_facts::group_norm:
        vector(l, keras ? "gamma" : "weight", o);
        vector(l, keras ? "beta" : "bias", o + l.c);
        break;
      case leaf_facts::attention: {
        // GroupNorm's γ, β, then q, k, v and the output projection: each a C × C weight [out][in]
        // (PyTorch's Conv2d 1×1 order) and C biases.
        const std::size_t c = l.c;
        vector(l, keras ? "norm.gamma" : "norm.weight", o);
        vector(l, keras ? "norm.beta" : "norm.bias", o + c);
        const char* names[4] = {"q", "k", "v", "proj_out"};
        for (std::size_t j = 0; j < 4; ++j) {
          const std::size_t w = o + 2 * c + j * (c * c + c);
          const std::string n = names[j];
          if (keras)  // [1][1][in][out]
            add(l, n + ".kernel", {1, 1, c, c}, [=](std::size_t e) { return w + (e % c) * c + e / c; });
          else
            add(l, n + ".weight", {c, c, 1, 1}, [=](std::size_t e) { return w + e; });
          add(l, n + ".bias", {c}, [=](std::size_t e) { return w + c * c + e; });
        }
        break;
      }
      case leaf_facts::vector_quantizer: {
        // latent: the codebook [K][D] (parameters, or state e [K][D], N [K], m [K][D], the update count);
        // pythae's names, in its buffers' order; Keras's embeddings are [D, K].
        const std::size_t k = l.c, d = l.f;
        const auto book = [=](std::size_t at, std::size_t e) { return keras ? at + (e % k) * d + e / k : at + e; };
        const std::vector<std::size_t> shape = keras ? std::vector<std::size_t>{d, k} : std::vector<std::size_t>{k, d};
        if (!l.ema) {
          add(l, keras ? "embeddings" : "embeddings.weight", shape, [=](std::size_t e) { return book(o, e); });
          break;
        }
        const std::size_t s = l.state_offset;
        add(l, "cluster_size", {k}, [=](std::size_t e) { return s + k * d + e; }, weight_target::state,
            weight_kind::count);
        add(l, "ema_embed", shape, [=](std::size_t e) { return book(s + k * d + k, e); }, weight_target::state);
        add(l, "embeddings", shape, [=](std::size_t e) { return book(s, e); }, weight_target::state);
        break;
      }
    }
  }
  constexpr std::size_t extra = Model::param_count - likelihood_offset_v<Model>;
  if constexpr (extra > 0) {
    WeightSlot s;
    s.name = "likelihood.parameters";
    s.layer = "the likelihood's parameters (a LearnedGaussian's log-variances)";
    s.shape = {extra};
    s.count = extra;
    s.index = [](std::size_t e) { return likelihood_offset_v<Model> + e; };
    slots.push_back(std::move(s));
  }
  return slots;
}

namespace detail {

inline weight_format weight_format_of(const std::string& path, weight_format format, const std::string& who) {
  if (format != weight_format::from_extension) return format;
  auto ends = [&](std::string_view ext) {
    return path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
  };
  if (ends(".safetensors")) return weight_format::safetensors;
  if (ends(".npz")) return weight_format::npz;
  throw option_error(who + ": " + path +
                     ": expected a name ending in .safetensors or .npz, or WeightOptions::format, found neither");
}

}  // namespace detail

/// The tensors of a weights file (safetensors or .npz, by extension unless `format` says), in the
/// file's order, for inspection.
inline std::vector<NamedTensor> read_tensors(const std::string& path,
                                             weight_format format = weight_format::from_extension) {
  return detail::weight_format_of(path, format, "read_tensors") == weight_format::safetensors ? read_safetensors(path)
                                                                                              : read_npz(path);
}

namespace detail {

/// The text of a counter's problem, or empty when `v` is a count that `T` holds exactly.
template <class T>
std::string counter_problem(std::int64_t v) {
  if (v < 0) return "expected a count of at least 0, found " + std::to_string(v);
  const T t = static_cast<T>(v);
  // 2^63 is exact in float and double; a value that rounds up to it is out of int64's range.
  if (static_cast<double>(t) >= 9223372036854775808.0 || static_cast<std::int64_t>(t) != v)
    return std::string("expected a count that the model's ") + (sizeof(T) == 8 ? "double" : "float") +
           " holds exactly (every whole number up to 2^" + (sizeof(T) == 8 ? "53" : "24") + "), found " +
           std::to_string(v);
  return {};
}

}  // namespace detail

/// Sets `model`'s parameters and state from `tensors` (see `load_weights`); `context` starts the
/// messages.
template <class Model>
void assign_weights(Model& model, const std::vector<NamedTensor>& tensors, const WeightOptions& options = {},
                    const std::string& context = "load_weights") {
  using T = typename Model::scalar_type;
  const std::vector<WeightSlot> slots = weight_slots<Model>(options.layout);
  if (!options.names.empty() && options.names.size() != slots.size())
    throw option_error(context + ": expected " + std::to_string(slots.size()) +
                       " names in WeightOptions::names (one per tensor the model takes), found " +
                       std::to_string(options.names.size()));
  if (const std::set<std::string> distinct(options.names.begin(), options.names.end());
      distinct.size() != options.names.size())
    throw option_error(context + ": expected distinct names in WeightOptions::names, found one twice");
  std::vector<const NamedTensor*> chosen(slots.size(), nullptr);
  std::vector<bool> used(tensors.size(), false);
  if (options.names.empty()) {
    for (std::size_t i = 0; i < slots.size() && i < tensors.size(); ++i) chosen[i] = &tensors[i], used[i] = true;
  } else {
    std::map<std::string, std::size_t> by_name;
    for (std::size_t i = 0; i < tensors.size(); ++i) by_name.emplace(tensors[i].name, i);
    for (std::size_t i = 0; i < slots.size(); ++i)
      if (const auto it = by_name.find(options.names[i]); it != by_name.end() && !used[it->second])
        chosen[i] = &tensors[it->second], used[it->second] = true;
  }
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const WeightSlot& s = slots[i];
    const std::string quoted = "'" + detail::escape_bytes(options.names.empty() ? s.name : options.names[i]) + "'";
    if (chosen[i] == nullptr) {
      problems.push_back("missing tensor " + (options.names.empty() ? "#" + std::to_string(i) : quoted) + " for " +
                         s.layer + ": expected " + detail::shape_string(s.shape) + ", found none");
      continue;
    }
    const std::string tensor = "tensor '" + detail::escape_bytes(chosen[i]->name) + "' for " + s.layer;
    const bool whole = detail::is_int64_dtype(chosen[i]->dtype);
    if (chosen[i]->shape != s.shape)
      problems.push_back(tensor + ": expected " + detail::shape_string(s.shape) + ", found " +
                         detail::shape_string(chosen[i]->shape));
    else if (const std::size_t given = whole && !chosen[i]->integers.empty() ? chosen[i]->integers.size()
                                                                             : chosen[i]->values.size();
             given != s.count)  // a tensor made by hand whose values do not fill its shape
      problems.push_back(tensor + ": expected " + std::to_string(s.count) + " values for " +
                         detail::shape_string(s.shape) + ", found " + std::to_string(given));
    // PyTorch stores its batch counter as int64: a real number there (or an integer where a real
    // belongs) is a file that was converted or mismatched.
    if (s.kind == weight_kind::counter && !whole)
      problems.push_back(tensor + ": expected an int64 count (I64 or <i8, as PyTorch saves num_batches_tracked), found " +
                         (chosen[i]->dtype.empty() ? std::string("no dtype") : detail::escape_bytes(chosen[i]->dtype)));
    if (s.kind != weight_kind::counter && whole)
      problems.push_back(tensor + ": expected real numbers, found the integer type " +
                         detail::escape_bytes(chosen[i]->dtype));
  }
  for (std::size_t i = 0; i < tensors.size(); ++i)
    if (!used[i])
      problems.push_back("unused tensor '" + detail::escape_bytes(tensors[i].name) + "' " +
                         detail::shape_string(tensors[i].shape) + ": expected no more tensors (the model takes " +
                         std::to_string(slots.size()) + "), found " + std::to_string(tensors.size()) + " in the file");
  if (!problems.empty()) {
    std::string message = context + ": ";
    for (std::size_t i = 0; i < problems.size(); ++i) {
      if (i != 0) message += "; ";
      message += problems[i];
    }
    throw format_error(message + " (nothing was loaded)");
  }
  // Assemble in copies: a NaN found late leaves the model as it was.
  std::vector<T> params(model.parameters().begin(), model.parameters().end());
  const auto current_state = std::as_const(model).state();
  std::vector<T> state(current_state.begin(), current_state.end());
  std::vector<bool> written(params.size(), false), state_written(state.size(), false);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const WeightSlot& s = slots[i];
    const NamedTensor& t = *chosen[i];
    std::vector<T>& target = s.target == weight_target::state ? state : params;
    std::vector<bool>& marks = s.target == weight_target::state ? state_written : written;
    const std::string where = context + ": tensor '" + detail::escape_bytes(t.name) + "' for " + s.layer;
    if (s.kind == weight_kind::counter) {
      const std::vector<std::int64_t> counts = detail::int64_values(t, context);
      for (std::size_t e = 0; e < s.count; ++e) {
        if (const std::string problem = detail::counter_problem<T>(counts.at(e)); !problem.empty())
          throw format_error(where + ": " + problem + (s.count > 1 ? " at element " + std::to_string(e) : "") +
                             " (nothing was loaded)");
        target[s.index(e)] = static_cast<T>(counts[e]);
        marks[s.index(e)] = true;
      }
      continue;
    }
    for (std::size_t e = 0; e < s.count; ++e) {
      const T v = static_cast<T>(t.values[e]);
      const bool nonnegative = s.kind == weight_kind::variance || s.kind == weight_kind::count;
      if (!std::isfinite(v) || (nonnegative && v < T(0)))
        throw format_error(where +
                           (s.kind == weight_kind::variance ? ": expected finite values of at least 0 (a variance), found "
                            : s.kind == weight_kind::count  ? ": expected finite values of at least 0 (counts), found "
                                                            : ": expected finite values, found ") +
                           std::to_string(t.values[e]) + " at element " + std::to_string(e) + " (nothing was loaded)");
      target[s.index(e)] = v;
      marks[s.index(e)] = true;
    }
  }
  for (std::size_t p = 0; p < written.size(); ++p)
    if (!written[p])  // a defect of the slot maps, not of the file
      throw std::logic_error("latent: load_weights: parameter " + std::to_string(p) + " is in no tensor");
  // (Keras has no BatchNorm counter: with its layout, the counters keep their values. No file has an
  // EMA quantiser's update count: it keeps its value.)
  for (const std::size_t p : detail::unfiled_state<Model>()) state_written[p] = true;
  if (options.layout == weight_layout::pytorch)
    for (std::size_t p = 0; p < state_written.size(); ++p)
      if (!state_written[p])
        throw std::logic_error("latent: load_weights: state value " + std::to_string(p) + " is in no tensor");
  std::copy(params.begin(), params.end(), model.parameters().begin());
  if (!state.empty()) std::copy(state.begin(), state.end(), model.state().begin());
}

/// Loads `model`'s parameters and state from the weights file `path` (safetensors or NumPy .npz, from
/// PyTorch's `state_dict` or Keras's `get_weights()`, see docs/weights.md). All or nothing: any
/// missing, unused or mis-shaped tensor, a tensor of the wrong kind (a real counter, an integer
/// weight), a NaN or Inf value, a negative variance or a counter the scalar type cannot hold, is a
/// `format_error` that names the tensor (and both shapes: "expected [400, 784], found [784, 400]"),
/// and the model is left unchanged. F64 values load into a float model rounded; F16 and BF16 exactly.
template <class Model>
void load_weights(Model& model, const std::string& path, const WeightOptions& options = {}) {
  const weight_format format = detail::weight_format_of(path, options.format, "load_weights");
  const std::vector<NamedTensor> tensors = read_tensors(path, format);
  assign_weights(model, tensors, options, "load_weights: " + path);
}

/// `model`'s parameters and state as the tensors of a weights file of `options.layout`, named by
/// `options.names` or by default ("encoder.0.weight", ...; see `weight_slots`). A BatchNorm counter is
/// an int64 tensor (dtype "I64", its value in `integers`), the others real (dtype empty: the writer's).
template <class Model>
std::vector<NamedTensor> weight_tensors(const Model& model, const WeightOptions& options = {}) {
  const std::vector<WeightSlot> slots = weight_slots<Model>(options.layout);
  if (!options.names.empty() && options.names.size() != slots.size())
    throw option_error("save_weights: expected " + std::to_string(slots.size()) +
                       " names in WeightOptions::names (one per tensor the model takes), found " +
                       std::to_string(options.names.size()));
  const auto params = model.parameters();
  const auto state = model.state();
  std::vector<NamedTensor> tensors;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const WeightSlot& s = slots[i];
    NamedTensor t;
    t.name = options.names.empty() ? s.name : options.names[i];
    t.shape = s.shape;
    t.values.resize(s.count);
    for (std::size_t e = 0; e < s.count; ++e)
      t.values[e] = static_cast<double>(s.target == weight_target::state ? state[s.index(e)] : params[s.index(e)]);
    if (s.kind == weight_kind::counter) {
      t.dtype = "I64";
      for (const double v : t.values) {
        // The model's counter is a whole number ≥ 0 unless its state was written by hand.
        if (!(v >= 0 && v < 9223372036854775808.0) || v != static_cast<double>(static_cast<std::int64_t>(v)))
          throw format_error("save_weights: " + s.layer + ": expected a count (a whole number of at least 0), found " +
                             std::to_string(v));
        t.integers.push_back(static_cast<std::int64_t>(v));
      }
    }
    tensors.push_back(std::move(t));
  }
  return tensors;
}

/// Writes `model`'s parameters and state to `path` as a safetensors or .npz file that PyTorch (or
/// Keras, with `.layout = weight_layout::keras`) loads, atomically; F32 for a float model, F64 for a
/// double one, int64 for a BatchNorm's counter (as PyTorch's).
/// A safetensors file of the PyTorch layout carries the metadata {"format": "pt"}, as PyTorch's own.
template <class Model>
void save_weights(const Model& model, const std::string& path, const WeightOptions& options = {}) {
  const weight_format format = detail::weight_format_of(path, options.format, "save_weights");
  const std::vector<NamedTensor> tensors = weight_tensors(model, options);
  constexpr bool wide = sizeof(typename Model::scalar_type) == 8;
  if (format == weight_format::safetensors)
    // {"format": "pt"} is what safetensors.torch writes, and what Hugging Face's loaders look for.
    write_safetensors(path, tensors, wide ? "F64" : "F32",
                      options.layout == weight_layout::pytorch
                          ? std::vector<std::pair<std::string, std::string>>{{"format", "pt"}}
                          : std::vector<std::pair<std::string, std::string>>{});
  else
    write_npz(path, tensors, wide ? "<f8" : "<f4");
}

}  // namespace latent
