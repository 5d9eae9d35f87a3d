#pragma once
/// \file
/// `latent::load_weights(model, path, options)` and `latent::save_weights(model, path, options)`:
/// a model's parameters from and to the weights files of PyTorch and Keras (safetensors, NumPy .npz),
/// with the layouts converted; `latent::read_tensors(path)` to look inside such a file;
/// `latent::weight_slots<Model>(layout)` for the tensors a model expects. See docs/weights.md.
///
/// The tensors of a file map onto the model's parameterised leaf layers in `for_each_layer` order
/// (the encoder's, then the decoder's), each layer taking its tensors in the framework's order:
///
/// | latent layer | PyTorch (`weight_layout::pytorch`) | Keras (`weight_layout::keras`) |
/// |---|---|---|
/// | `Dense<In, Out>` | `Linear.weight` [Out, In], `bias` [Out] | `Dense` kernel [In, Out], bias [Out] |
/// | `Gaussian<Z>` after In | μ `Linear` [Z, In], [Z]; log σ² `Linear` [Z, In], [Z] (fc21, fc22) | z_mean kernel [In,
/// Z], bias; z_log_var kernel, bias | | `Conv2D<F, K>` on C | `Conv2d.weight` [F, C, K, K], `bias` [F] | `Conv2D`
/// kernel [K, K, C, F], bias [F] | | `ConvTranspose2D<F, K>` on C | `ConvTranspose2d.weight` [C, F, K, K], `bias` [F] |
/// `Conv2DTranspose` kernel [K, K, F, C], bias [F] | | a likelihood's parameters (`LearnedGaussian`) | one tensor [D] |
/// one tensor [D] |
///
/// Keras flattens channel-last (NHWC), latent and PyTorch channel-first: with the keras layout, the
/// rows of a Dense (or Gaussian) kernel right after a `Flatten` of a C × H × W shape are permuted from
/// (h, w, c) to (c, h, w) order, and the columns and bias of a Dense right before a `Reshape<C, H, W>`
/// likewise. Layers without parameters take no tensors.
///
/// Loading is all or nothing: every tensor is matched and checked (a missing, unused or mis-shaped
/// tensor, or a NaN or Inf value, is a `format_error` naming the tensor and both shapes; all problems
/// are listed), the parameters are assembled in a copy, and only then copied into the model.

#include "latent/core/error.hpp"
#include "latent/interchange/layer_walk.hpp"
#include "latent/io/named_tensor.hpp"
#include "latent/io/npz.hpp"
#include "latent/io/safetensors.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/shape_layers.hpp"

#include <algorithm>    // std::copy
#include <cmath>        // std::isfinite
#include <cstddef>      // std::size_t
#include <functional>   // std::function: a slot's index map
#include <map>          // std::map: file tensors by name
#include <set>          // std::set: repeated names
#include <stdexcept>    // std::logic_error: a defect of the slot maps
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <type_traits>  // std::false_type, std::true_type
#include <utility>      // std::move
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

/// One tensor a model expects: where it goes and the shape it has in the file's layout.
struct WeightSlot {
  std::string name;                ///< the default name, e.g. "encoder.0.weight"
  std::string layer;               ///< the layer it belongs to, e.g. "layer 0 (Dense<784,400,Relu>) weight"
  std::vector<std::size_t> shape;  ///< in the file's layout
  std::size_t count = 0;           ///< product of `shape`
  /// The index in `model.parameters()` of the file tensor's element i (row-major).
  std::function<std::size_t(std::size_t)> index;
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

// What the slot builder needs to know about one leaf layer, gathered in one walk.
struct leaf_facts {
  enum kind_t { none, dense, gaussian, conv, conv_transpose, unknown } kind = none;
  std::string text;  // "layer 0 (Dense<784,400,Relu>)"
  std::string part;  // "encoder" / "decoder"
  std::size_t index_in_part = 0, offset = 0, params = 0;
  std::size_t in = 0, out = 0;                              // Dense: In, Out; Gaussian: In, Z
  std::size_t c = 0, f = 0, k = 0;                          // convolutions: input channels, filters, kernel
  std::size_t flat_c = 0, flat_h = 0, flat_w = 0;           // a Flatten of a shape: that shape (else 0)
  std::size_t reshape_c = 0, reshape_h = 0, reshape_w = 0;  // a Reshape: its shape (else 0)
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

template <class Model>
std::vector<leaf_facts> model_leaves() {
  std::vector<leaf_facts> leaves;
  for_each_layer<Model>([&](auto slot) {
    using L = typename decltype(slot)::layer;
    leaf_facts f;
    f.text = layer_text<L>(slot.index);
    f.part = slot.part == model_part::encoder ? "encoder" : "decoder";
    f.index_in_part = slot.index_in_part;
    f.offset = slot.offset;
    f.params = L::param_count;
    if constexpr (is_dense_v<L>) {
      f.kind = leaf_facts::dense, f.in = L::in_size, f.out = L::out_size;
    } else if constexpr (is_gaussian_head_layer<L>::value) {
      f.kind = leaf_facts::gaussian, f.in = L::in_size, f.out = L::code_size;
    } else if constexpr (is_conv2d_layer<L>::value) {
      f.kind = leaf_facts::conv, f.c = L::C, f.f = L::out_shape::channels, f.k = is_conv2d_layer<L>::kernel;
    } else if constexpr (is_conv_transpose2d_layer<L>::value) {
      f.kind = leaf_facts::conv_transpose, f.c = L::C, f.f = L::out_shape::channels,
      f.k = is_conv_transpose2d_layer<L>::kernel;
    } else if constexpr (L::param_count > 0) {
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
    leaves.push_back(std::move(f));
  });
  return leaves;
}

// Keras's channel-last position (h·W + w)·C + c of latent's channel-first position c·H·W + h·W + w.
struct channel_last {
  std::size_t c = 0, h = 0, w = 0;  // all 0: no permutation
  std::size_t to_latent(std::size_t keras) const noexcept {
    if (c == 0) return keras;
    const std::size_t ch = keras % c, hw = keras / c;
    return ch * h * w + hw;
  }
};

}  // namespace detail

/// The tensors `Model` expects in a file of layout `layout`, in order (see the table in this file's
/// comment). A layer with parameters of an unknown layout (a user's layer) is an `option_error`.
template <class Model>
std::vector<WeightSlot> weight_slots(weight_layout layout) {
  using detail::leaf_facts;
  const bool keras = layout == weight_layout::keras;
  const std::vector<leaf_facts> leaves = detail::model_leaves<Model>();
  std::vector<WeightSlot> slots;
  auto add = [&](const leaf_facts& l, const std::string& role, std::vector<std::size_t> shape,
                 std::function<std::size_t(std::size_t)> index) {
    WeightSlot s;
    s.name = l.part + "." + std::to_string(l.index_in_part) + "." + role;
    s.layer = l.text + " " + role;
    s.shape = std::move(shape);
    detail::element_count(s.shape, s.count);
    s.index = std::move(index);
    slots.push_back(std::move(s));
  };
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    const leaf_facts& l = leaves[i];
    const std::size_t o = l.offset;
    // Keras: rows after a Flatten of a shape, columns before a Reshape, are channel-last there.
    detail::channel_last rows, cols;
    if (keras && i > 0 && leaves[i - 1].flat_c != 0)
      rows = {leaves[i - 1].flat_c, leaves[i - 1].flat_h, leaves[i - 1].flat_w};
    if (keras && i + 1 < leaves.size() && leaves[i + 1].reshape_c != 0)
      cols = {leaves[i + 1].reshape_c, leaves[i + 1].reshape_h, leaves[i + 1].reshape_w};
    switch (l.kind) {
      case leaf_facts::none: break;
      case leaf_facts::unknown:
        throw option_error("weights: " + l.text + " has " + std::to_string(l.params) +
                           " parameters of no known layout (Dense, Gaussian, Conv2D and ConvTranspose2D have one)");
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

/// Sets `model`'s parameters from `tensors` (see `load_weights`); `context` starts the messages.
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
    } else if (chosen[i]->shape != s.shape) {
      problems.push_back("tensor '" + detail::escape_bytes(chosen[i]->name) + "' for " + s.layer + ": expected " +
                         detail::shape_string(s.shape) + ", found " + detail::shape_string(chosen[i]->shape));
    }
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
  // Assemble in a copy: a NaN found late leaves the model as it was.
  std::vector<T> params(model.parameters().begin(), model.parameters().end());
  std::vector<bool> written(params.size(), false);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const WeightSlot& s = slots[i];
    const NamedTensor& t = *chosen[i];
    for (std::size_t e = 0; e < s.count; ++e) {
      const T v = static_cast<T>(t.values[e]);
      if (!std::isfinite(v))
        throw format_error(context + ": tensor '" + detail::escape_bytes(t.name) + "' for " + s.layer +
                           ": expected finite values, found " + std::to_string(t.values[e]) + " at element " +
                           std::to_string(e) + " (nothing was loaded)");
      params[s.index(e)] = v;
      written[s.index(e)] = true;
    }
  }
  for (std::size_t p = 0; p < written.size(); ++p)
    if (!written[p])  // a defect of the slot maps, not of the file
      throw std::logic_error("latent: load_weights: parameter " + std::to_string(p) + " is in no tensor");
  std::copy(params.begin(), params.end(), model.parameters().begin());
}

/// Loads `model`'s parameters from the weights file `path` (safetensors or NumPy .npz, from PyTorch's
/// `state_dict` or Keras's `get_weights()`, see docs/weights.md). All or nothing: any missing, unused
/// or mis-shaped tensor, or a NaN or Inf value, is a `format_error` that names the tensor and both
/// shapes ("expected [400, 784], found [784, 400]"), and the model is left unchanged. F64 values load
/// into a float model rounded; F16 and BF16 exactly.
template <class Model>
void load_weights(Model& model, const std::string& path, const WeightOptions& options = {}) {
  const weight_format format = detail::weight_format_of(path, options.format, "load_weights");
  const std::vector<NamedTensor> tensors = read_tensors(path, format);
  assign_weights(model, tensors, options, "load_weights: " + path);
}

/// `model`'s parameters as the tensors of a weights file of `options.layout`, named by
/// `options.names` or by default ("encoder.0.weight", ...; see `weight_slots`).
template <class Model>
std::vector<NamedTensor> weight_tensors(const Model& model, const WeightOptions& options = {}) {
  const std::vector<WeightSlot> slots = weight_slots<Model>(options.layout);
  if (!options.names.empty() && options.names.size() != slots.size())
    throw option_error("save_weights: expected " + std::to_string(slots.size()) +
                       " names in WeightOptions::names (one per tensor the model takes), found " +
                       std::to_string(options.names.size()));
  const auto params = model.parameters();
  std::vector<NamedTensor> tensors;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    NamedTensor t;
    t.name = options.names.empty() ? slots[i].name : options.names[i];
    t.shape = slots[i].shape;
    t.values.resize(slots[i].count);
    for (std::size_t e = 0; e < slots[i].count; ++e) t.values[e] = static_cast<double>(params[slots[i].index(e)]);
    tensors.push_back(std::move(t));
  }
  return tensors;
}

/// Writes `model`'s parameters to `path` as a safetensors or .npz file that PyTorch (or Keras, with
/// `.layout = weight_layout::keras`) loads, atomically; F32 for a float model, F64 for a double one.
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
