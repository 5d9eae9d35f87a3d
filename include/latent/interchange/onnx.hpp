#pragma once
/// \file
/// `latent::export_onnx(model, path)` and `export_onnx(model, path, onnx_part)`: a model's inference
/// graph as an ONNX file (IR version 8, opset 17), for runtimes that do not know latent.
///
/// What the file holds (docs/onnx.md has the details):
///  - input "x" [N, input_size] (N a dynamic batch), FLOAT or DOUBLE as the model's scalar type; a
///    `ConditionalVAE` has a second input "c" [N, Classes], the one-hot labels, joined to the encoder's
///    and the decoder's input exactly as the model joins them;
///  - a plain autoencoder's outputs "code" (= `encode(x)`) and "reconstruction" (= `reconstruct(x)`,
///    so probabilities for `BCEWithLogits`); a VAE's "mu", "log_var" (clamped to ±30 as the head
///    does) and "mean" (the likelihood's mean of the decoder's output at z = μ, = `reconstruct(x)`);
///  - a `VQVAE`'s encoder also gives "indices" [N, positions] (int64, = `encode_indices(x)`);
///  - `onnx_part::encoder`: input "x", outputs "code" or "mu" and "log_var"; `onnx_part::decoder`:
///    input "z" [N, code_size], output "reconstruction" or "mean" (= `decode(z)`).
/// Ops: Gemm, Relu, Sigmoid, Tanh, LeakyRelu (Mul + Max for double), Elu, Softplus, Silu (Mul,
/// Sigmoid), Gelu (Mul, Erf, Add), Clip, Conv, ConvTranspose, AveragePool, MaxPool, Reshape, Expand
/// (Upsample2D: Reshape, Expand, Reshape), BatchNormalization (eval mode, the running statistics),
/// GroupNorm and LayerNorm decomposed (Reshape, ReduceMean, Sub, Mul, Add, Sqrt, Div), Add (Residual),
/// MatMul, Transpose and Softmax (SpatialAttention), Identity (to name an output); Concat for a
/// conditional model; VectorQuantizer: MatMul, ReduceSum, Mul, Sub, ArgMin, Gather (and Transpose,
/// Reshape on a grid), with a further output "indices" [N, positions] (int64) of the encoder's codes.
/// Dropout is the identity (eval mode).
/// A layer, activation or loss without an export rule (a user's own) does not compile: the first
/// lines name it (`onnx_export_has_no_rule_for_layer<Layer>`, ...).
///
/// Why a hand-written protobuf writer rather than libprotobuf: latent is header-only and its users
/// link nothing but Boost, xsimd and xtensor; libprotobuf would add a compiled library, a `protoc`
/// step and generated sources whose version must match the runtime library's (Debian's libprotobuf
/// and a user's own often differ). An exporter only ever writes, and only the wire format's three
/// encodings are needed (varints, length-delimited fields, fixed 32-bit floats), for eleven messages
/// of onnx.proto3, whose field numbers are frozen by protobuf's compatibility rules. The writer is a
/// hundred lines, it emits the fields in field-number order, as libprotobuf does, and the same model
/// always gives the same bytes. It is checked against onnx's own parser and checker (tests/onnx).

#include "latent/activations/elu.hpp"
#include "latent/activations/gelu.hpp"
#include "latent/activations/identity.hpp"
#include "latent/activations/leaky_relu.hpp"
#include "latent/activations/relu.hpp"
#include "latent/activations/silu.hpp"
#include "latent/activations/sigmoid.hpp"
#include "latent/activations/softplus.hpp"
#include "latent/activations/tanh.hpp"
#include "latent/core/error.hpp"
#include "latent/core/shape.hpp"
#include "latent/io/atomic_file.hpp"
#include "latent/interchange/layer_walk.hpp"
#include "latent/layers/activation_layer.hpp"
#include "latent/layers/attention.hpp"
#include "latent/layers/batch_norm.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/dropout.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/group_norm.hpp"
#include "latent/layers/resample.hpp"
#include "latent/layers/residual.hpp"
#include "latent/layers/shape_layers.hpp"
#include "latent/layers/vector_quantizer.hpp"
#include "latent/losses/bce.hpp"
#include "latent/losses/bce_with_logits.hpp"
#include "latent/losses/bernoulli.hpp"
#include "latent/losses/learned_gaussian.hpp"
#include "latent/losses/mse.hpp"
#include "latent/losses/unit_gaussian.hpp"
#include "latent/models/detail/model_base.hpp"  // condition_plane: how a conditional encoder takes labels
#include "latent/version.hpp"

#include <array>        // std::array: a ConvTranspose's pads (see there)
#include <bit>          // std::bit_cast: IEEE bits of floats, written little-endian
#include <cstddef>      // std::size_t
#include <cstdint>      // std::int64_t, std::uint64_t, std::uint32_t
#include <string>       // std::string: message bytes, names
#include <string_view>  // std::string_view
#include <type_traits>  // std::is_same_v, std::true_type
#include <utility>      // std::move
#include <vector>       // std::vector: nodes, initializers

namespace latent {

/// Which graph `export_onnx` writes: the whole model (encoder and decoder), or one part.
enum class onnx_part { model, encoder, decoder };

namespace diag {
/// export_onnx meets a leaf layer it has no ONNX rule for (a user's own layer).
template <class Layer, bool Known>
struct onnx_export_has_no_rule_for_layer {
  static_assert(Known, "latent: export_onnx has no ONNX rule for this layer (a user's own layer?): it knows Dense, "
                       "Gaussian, SpatialGaussian, Conv2D, ConvTranspose2D, AvgPool2D, MaxPool2D, Upsample2D, BatchNorm, "
                       "GroupNorm, LayerNorm, Dropout, a standalone activation, Residual, SpatialAttention, Input, "
                       "Flatten and Reshape");
  static constexpr bool value = true;  // the assertion above has spoken: no second error
};
/// export_onnx meets an activation it has no ONNX rule for.
template <class Layer, class Activation, bool Known>
struct onnx_export_has_no_rule_for_activation {
  static_assert(Known, "latent: export_onnx has no ONNX rule for this layer's activation: it knows Identity, Relu, "
                       "LeakyRelu, Sigmoid, Tanh, Elu, Softplus, Silu and Gelu");
  static constexpr bool value = true;  // the assertion above has spoken: no second error
};
/// export_onnx does not know what a loss's or likelihood's `to_mean` does to the decoder's output.
template <class LossOrLikelihood, bool Known>
struct onnx_export_does_not_know_the_mean_of_this_loss {
  static_assert(Known, "latent: export_onnx does not know the reconstruction (to_mean) of this loss or likelihood: it "
                       "knows MSE, BCE, BCEWithLogits, Bernoulli, UnitGaussian and LearnedGaussian");
  static constexpr bool value = true;  // the assertion above has spoken: no second error
};
}  // namespace diag

namespace detail::onnx {

// ---- protobuf's wire format (protobuf.dev/programming-guides/encoding) -------------------------------

/// One protobuf message under construction: fields are appended as they are written.
class message {
 public:
  /// A base-128 varint, low 7 bits first, the high bit set on every byte but the last.
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      bytes_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    bytes_.push_back(static_cast<char>(v));
  }
  /// A field's key: (field number << 3) | wire type (0 varint, 2 length-delimited, 5 fixed 32-bit).
  void key(int field, int wire) { varint(static_cast<std::uint64_t>(field) << 3 | static_cast<std::uint64_t>(wire)); }
  /// An int32, int64 or enum field (negative values as ten-byte two's complement, as protobuf does).
  message& integer(int field, std::int64_t v) {
    key(field, 0);
    varint(static_cast<std::uint64_t>(v));
    return *this;
  }
  /// A string, bytes or embedded-message field: the length, then the bytes.
  message& bytes(int field, std::string_view b) {
    key(field, 2);
    varint(b.size());
    bytes_.append(b);
    return *this;
  }
  message& sub(int field, const message& m) { return bytes(field, m.bytes_); }
  /// A float field (fixed 32-bit, little-endian).
  message& real(int field, float f) {
    key(field, 5);
    append_little_endian(bytes_, std::bit_cast<std::uint32_t>(f), 4);
    return *this;
  }
  /// A repeated int64 field, packed (proto3's default encoding): one length-delimited run of varints.
  message& packed(int field, const std::vector<std::int64_t>& values) {
    message run;
    for (const std::int64_t v : values) run.varint(static_cast<std::uint64_t>(v));
    return bytes(field, run.bytes_);
  }
  const std::string& str() const noexcept { return bytes_; }

  static void append_little_endian(std::string& out, std::uint64_t bits, int count) {
    for (int i = 0; i < count; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
  }

 private:
  std::string bytes_;
};

// Field numbers of onnx.proto3 (onnx/onnx.proto3, IR version 8).
namespace field {
inline constexpr int model_ir_version = 1, model_producer_name = 2, model_producer_version = 3, model_doc = 6,
                     model_graph = 7, model_opset_import = 8;
inline constexpr int opset_domain = 1, opset_version = 2;
inline constexpr int graph_node = 1, graph_name = 2, graph_initializer = 5, graph_doc = 10, graph_input = 11,
                     graph_output = 12;
inline constexpr int node_input = 1, node_output = 2, node_name = 3, node_op_type = 4, node_attribute = 5;
inline constexpr int attr_name = 1, attr_f = 2, attr_i = 3, attr_ints = 8, attr_type = 20;
inline constexpr int tensor_dims = 1, tensor_data_type = 2, tensor_name = 8, tensor_raw_data = 9;
inline constexpr int value_info_name = 1, value_info_type = 2;
inline constexpr int type_tensor_type = 1, type_tensor_elem_type = 1, type_tensor_shape = 2;
inline constexpr int shape_dim = 1, dim_value = 1, dim_param = 2;
}  // namespace field
// AttributeProto.AttributeType and TensorProto.DataType values.
inline constexpr int attr_float = 1, attr_int = 2, attr_int_list = 7;
inline constexpr int elem_float = 1, elem_int64 = 7, elem_double = 11;
inline constexpr std::int64_t ir_version = 8, opset = 17;

template <class T>
inline constexpr int elem_type_v = std::is_same_v<T, double> ? elem_double : elem_float;

/// A node attribute.
inline message attribute_int(std::string_view name, std::int64_t v) {
  message a;
  a.bytes(field::attr_name, name).integer(field::attr_i, v).integer(field::attr_type, attr_int);
  return a;
}
inline message attribute_float(std::string_view name, float v) {
  message a;
  a.bytes(field::attr_name, name).real(field::attr_f, v).integer(field::attr_type, attr_float);
  return a;
}
inline message attribute_ints(std::string_view name, const std::vector<std::int64_t>& v) {
  message a;
  a.bytes(field::attr_name, name).packed(field::attr_ints, v).integer(field::attr_type, attr_int_list);
  return a;
}

/// A graph's input or output: a tensor of `elem` with dims `dims` (a negative dim is the batch "N").
inline message value_info(std::string_view name, int elem, const std::vector<std::int64_t>& dims) {
  message shape;
  for (const std::int64_t d : dims) {
    message dim;
    if (d < 0)
      dim.bytes(field::dim_param, "N");
    else
      dim.integer(field::dim_value, d);
    shape.sub(field::shape_dim, dim);
  }
  message tensor;
  tensor.integer(field::type_tensor_elem_type, elem).sub(field::type_tensor_shape, shape);
  message type;
  type.sub(field::type_tensor_type, tensor);
  message v;
  v.bytes(field::value_info_name, name).sub(field::value_info_type, type);
  return v;
}

/// A value in the graph being built: its name and, when it is channel-first images, their shape
/// (else it is flat rows [N, size]).
struct value {
  std::string name;
  std::size_t size = 0;
  bool shaped = false;
  std::size_t c = 0, h = 0, w = 0;
};

/// A graph under construction for scalar type `T`: nodes in order, initializers (the weights).
template <class T>
class graph {
 public:
  /// An initializer of `T` values in row-major order with dims `dims`; returns its name.
  std::string tensor(std::string name, const std::vector<std::int64_t>& dims, const T* values) {
    std::size_t count = 1;
    for (const std::int64_t d : dims) count *= static_cast<std::size_t>(d);
    std::string raw;
    raw.reserve(count * sizeof(T));
    for (std::size_t i = 0; i < count; ++i) {
      if constexpr (std::is_same_v<T, double>)
        message::append_little_endian(raw, std::bit_cast<std::uint64_t>(values[i]), 8);
      else
        message::append_little_endian(raw, std::bit_cast<std::uint32_t>(values[i]), 4);
    }
    add_initializer(name, dims, elem_type_v<T>, raw);
    return name;
  }
  /// A scalar (rank-0) initializer of `T`.
  std::string scalar(std::string name, T v) { return tensor(std::move(name), {}, &v); }
  /// A 1-D int64 initializer (shapes).
  std::string int64s(std::string name, const std::vector<std::int64_t>& v) {
    std::string raw;
    for (const std::int64_t i : v) message::append_little_endian(raw, static_cast<std::uint64_t>(i), 8);
    add_initializer(name, {static_cast<std::int64_t>(v.size())}, elem_int64, raw);
    return name;
  }

  /// Appends a node `op` on `inputs` with `attributes`; its output is `output` or a fresh name.
  std::string node(std::string_view op, const std::vector<std::string>& inputs,
                   const std::vector<message>& attributes = {}, std::string output = {}) {
    if (output.empty()) output = fresh(op);
    message n;
    for (const std::string& i : inputs) n.bytes(field::node_input, i);
    n.bytes(field::node_output, output);
    n.bytes(field::node_name, output);  // a node is named after its one output: unique
    n.bytes(field::node_op_type, op);
    for (const message& a : attributes) n.sub(field::node_attribute, a);
    nodes_.push_back(std::move(n));
    return output;
  }
  /// A name no other value has: the stem and a counter.
  std::string fresh(std::string_view stem) { return std::string(stem) + "_" + std::to_string(counter_++); }

  /// The value as flat rows [N, size].
  value flat(const value& v) {
    if (!v.shaped) return v;
    const std::string shape = int64s(fresh("shape"), {0, static_cast<std::int64_t>(v.size)});
    return value{node("Reshape", {v.name, shape}), v.size};
  }
  /// The value as channel-first images [N, C, H, W]. (Reshape's 0 copies the batch dimension, so the
  /// shape inference keeps the symbolic N.)
  template <class S>
  value images(const value& v) {
    if (v.shaped && v.c == S::channels && v.h == S::height && v.w == S::width) return v;
    const std::string shape =
        int64s(fresh("shape"), {0, static_cast<std::int64_t>(S::channels), static_cast<std::int64_t>(S::height),
                                static_cast<std::int64_t>(S::width)});
    return value{node("Reshape", {v.name, shape}), S::size, true, S::channels, S::height, S::width};
  }

  void input(std::string_view name, std::size_t width) {
    inputs_.push_back(value_info(name, elem_type_v<T>, {-1, static_cast<std::int64_t>(width)}));
  }
  /// Makes `v` the graph output `name` (flat rows), through an Identity node when it has another name.
  void output(const value& v, const std::string& name) {
    const value f = flat(v);
    if (f.name != name) node("Identity", {f.name}, {}, name);
    outputs_.push_back(value_info(name, elem_type_v<T>, {-1, static_cast<std::int64_t>(f.size)}));
  }
  /// Makes the int64 rows [N, width] named `v` the graph output `name` (through an Identity node).
  void output_int64(const std::string& v, const std::string& name, std::size_t width) {
    if (v != name) node("Identity", {v}, {}, name);
    outputs_.push_back(value_info(name, elem_int64, {-1, static_cast<std::int64_t>(width)}));
  }

  /// The ModelProto's bytes.
  std::string model_bytes(std::string_view name, std::string_view doc) const {
    message g;
    for (const message& n : nodes_) g.sub(field::graph_node, n);
    g.bytes(field::graph_name, name);
    for (const message& t : initializers_) g.sub(field::graph_initializer, t);
    g.bytes(field::graph_doc, doc);
    for (const message& i : inputs_) g.sub(field::graph_input, i);
    for (const message& o : outputs_) g.sub(field::graph_output, o);
    message opset_id;
    opset_id.bytes(field::opset_domain, "").integer(field::opset_version, opset);
    message m;
    m.integer(field::model_ir_version, ir_version)
        .bytes(field::model_producer_name, "latent")
        .bytes(field::model_producer_version, latent::version)
        .bytes(field::model_doc, doc)
        .sub(field::model_graph, g)
        .sub(field::model_opset_import, opset_id);
    return m.str();
  }

 private:
  void add_initializer(const std::string& name, const std::vector<std::int64_t>& dims, int elem,
                       const std::string& raw) {
    message t;
    t.packed(field::tensor_dims, dims).integer(field::tensor_data_type, elem).bytes(field::tensor_name, name);
    t.bytes(field::tensor_raw_data, raw);
    initializers_.push_back(std::move(t));
  }
  std::vector<message> nodes_, initializers_, inputs_, outputs_;
  std::size_t counter_ = 0;
};

// ---- the rules: one per activation, layer and reconstruction ------------------------------------------

template <auto N, std::intmax_t D>
std::true_type is_leaky_relu_test(const LeakyReluWith<N, D>*);
std::false_type is_leaky_relu_test(...);
template <class Act>
inline constexpr bool is_leaky_relu_v = decltype(is_leaky_relu_test(static_cast<const Act*>(nullptr)))::value;

template <class Act>
inline constexpr bool known_activation_v =
    std::is_same_v<Act, Identity> || std::is_same_v<Act, Relu> || std::is_same_v<Act, Sigmoid> ||
    std::is_same_v<Act, Tanh> || std::is_same_v<Act, Elu> || std::is_same_v<Act, Softplus> ||
    std::is_same_v<Act, Silu> || std::is_same_v<Act, Gelu> || is_leaky_relu_v<Act>;

/// The activation `Act` of layer `L` on `x`.
template <class L, class Act, class T>
std::string activation(graph<T>& g, const std::string& x) {
  static_assert(diag::onnx_export_has_no_rule_for_activation<L, Act, known_activation_v<Act>>::value);
  if constexpr (!known_activation_v<Act> || std::is_same_v<Act, Identity>) {
    return x;
  } else if constexpr (std::is_same_v<Act, Relu>) {
    return g.node("Relu", {x});
  } else if constexpr (std::is_same_v<Act, Sigmoid>) {
    return g.node("Sigmoid", {x});
  } else if constexpr (std::is_same_v<Act, Tanh>) {
    return g.node("Tanh", {x});
  } else if constexpr (std::is_same_v<Act, Elu>) {
    return g.node("Elu", {x}, {attribute_float("alpha", 1.0f)});
  } else if constexpr (std::is_same_v<Act, Softplus>) {
    return g.node("Softplus", {x});
  } else if constexpr (std::is_same_v<Act, Silu>) {
    return g.node("Mul", {x, g.node("Sigmoid", {x})});  // x·σ(x)
  } else if constexpr (std::is_same_v<Act, Gelu>) {
    // x·Φ(x) = x·½·(1 + erf(x/√2)); the constants in the model's type.
    const std::string e = g.node("Erf", {g.node("Mul", {x, g.scalar(g.fresh("inv_sqrt2"), static_cast<T>(0.70710678118654752440))})});
    const std::string cdf = g.node("Mul", {g.node("Add", {e, g.scalar(g.fresh("one"), T(1))}), g.scalar(g.fresh("half"), T(0.5))});
    return g.node("Mul", {x, cdf});
  } else if constexpr (std::is_same_v<T, float>) {
    return g.node("LeakyRelu", {x}, {attribute_float("alpha", static_cast<float>(Act::slope))});
  } else {
    // LeakyRelu's alpha is a float attribute: a double model's slope would be rounded to float. For a
    // slope in [0, 1), max(x, slope·x) is the same function, with the slope in the model's type.
    const std::string slope = g.scalar(g.fresh("slope"), static_cast<T>(Act::slope));
    return g.node("Max", {x, g.node("Mul", {x, slope})});
  }
}

template <class L>
struct layer_rule {
  static constexpr bool known = false;
};
template <std::size_t In, std::size_t Out, class Act>
struct layer_rule<Dense<In, Out, Act>> {
  static constexpr bool known = true;
  template <class T>
  static value emit(graph<T>& g, const value& x, const T* p, const T*, const std::string& prefix) {
    const std::string w = g.tensor(prefix + ".weight", {In, Out}, p);
    const std::string b = g.tensor(prefix + ".bias", {Out}, p + In * Out);
    const std::string y = g.node("Gemm", {g.flat(x).name, w, b});
    return value{activation<Dense<In, Out, Act>, Act>(g, y), Out};
  }
};
template <class In, std::size_t F, std::size_t K, std::size_t S, class Padding, class Act>
struct layer_rule<conv2d_layer<In, F, K, S, Padding, Act>> {
  using L = conv2d_layer<In, F, K, S, Padding, Act>;
  static constexpr bool known = true;
  template <class T>
  static value emit(graph<T>& g, const value& x, const T* p, const T*, const std::string& prefix) {
    const std::string w = g.tensor(prefix + ".weight", {F, In::channels, K, K}, p);
    const std::string b = g.tensor(prefix + ".bias", {F}, p + L::weight_count);
    // Keras's Same pads one more after than before when the total is odd: pads are explicit.
    const std::string y =
        g.node("Conv", {g.template images<In>(x).name, w, b},
               {attribute_ints("kernel_shape", {K, K}), attribute_ints("strides", {S, S}),
                attribute_ints("pads", {L::rows.before, L::cols.before, L::rows.after, L::cols.after}),
                attribute_ints("dilations", {1, 1}), attribute_int("group", 1)});
    return value{activation<L, Act>(g, y), L::out_size, true, F, L::OH, L::OW};
  }
};
/// ConvTranspose's pads crop its full (N − 1)·S + K outputs: `before` from the start (latent's
/// `axis::before`), and from the end whatever makes latent's output size; when latent's output is
/// longer than the full one less `before` (Same with K < S, Pad<P, OP>), the end is extended by
/// output_padding instead (zeros before the bias, as latent's scatter leaves them).
struct transpose_axis {
  std::int64_t before, after, extra;
};
constexpr transpose_axis transpose_pads(const axis& a) {
  const std::int64_t full = static_cast<std::int64_t>((a.in - 1) * a.stride + a.kernel);
  const std::int64_t kept = full - static_cast<std::int64_t>(a.before), out = static_cast<std::int64_t>(a.out);
  return kept >= out ? transpose_axis{static_cast<std::int64_t>(a.before), kept - out, 0}
                     : transpose_axis{static_cast<std::int64_t>(a.before), 0, out - kept};
}
template <class In, std::size_t F, std::size_t K, std::size_t S, class Padding, class Act>
struct layer_rule<conv_transpose2d_layer<In, F, K, S, Padding, Act>> {
  using L = conv_transpose2d_layer<In, F, K, S, Padding, Act>;
  static constexpr bool known = true;
  template <class T>
  static value emit(graph<T>& g, const value& x, const T* p, const T*, const std::string& prefix) {
    const std::string w = g.tensor(prefix + ".weight", {In::channels, F, K, K}, p);
    const std::string b = g.tensor(prefix + ".bias", {F}, p + L::weight_count);
    constexpr transpose_axis r = transpose_pads(L::rows), c = transpose_pads(L::cols);
    // The pads through an array in static storage, not a braced list of the four constants: g++ 12.2
    // with AVX-512VL at -O3 builds a std::vector<std::int64_t>{a, a, 0, 0} of constants as {a, a, a, a}
    // (its SLP vectoriser drops the zeros; docs/design.md has the reproducer), which is exactly the
    // pads of Pad<P, OP> with nothing cropped at the end.
    static constexpr std::array<std::int64_t, 4> pads = {r.before, c.before, r.after, c.after};
    const std::string y = g.node("ConvTranspose", {g.template images<In>(x).name, w, b},
                                 {attribute_ints("kernel_shape", {K, K}), attribute_ints("strides", {S, S}),
                                  attribute_ints("pads", std::vector<std::int64_t>(pads.begin(), pads.end())),
                                  attribute_ints("output_padding", {r.extra, c.extra}),
                                  attribute_ints("dilations", {1, 1}), attribute_int("group", 1)});
    return value{activation<L, Act>(g, y), L::out_size, true, F, L::OH, L::OW};
  }
};
template <class In, std::size_t K, std::size_t S>
struct layer_rule<avg_pool2d_layer<In, K, S>> {
  using L = avg_pool2d_layer<In, K, S>;
  static constexpr bool known = true;
  template <class T>
  static value emit(graph<T>& g, const value& x, const T*, const T*, const std::string&) {
    const std::string y = g.node("AveragePool", {g.template images<In>(x).name},
                                 {attribute_ints("kernel_shape", {K, K}), attribute_ints("strides", {S, S}),
                                  attribute_ints("pads", {0, 0, 0, 0})});
    return value{y, L::out_size, true, In::channels, L::OH, L::OW};
  }
};
/// Nearest-neighbour upsampling as a copy: [N, C, H, W] → [N, C, H, 1, W, 1], expanded to
/// [N, C, H, F, W, F] (output (i, j) reads input (i / F, j / F)) → [N, C, H·F, W·F]. Not Resize: its
/// shape inference in onnx 1.12 loses the symbolic batch size N (it multiplies N by a float scale),
/// and an exact copy leaves no coordinate rule for a runtime to read differently.
template <class In, std::size_t F>
struct layer_rule<upsample2d_layer<In, F>> {
  using L = upsample2d_layer<In, F>;
  static constexpr bool known = true;
  template <class T>
  static value emit(graph<T>& g, const value& x, const T*, const T*, const std::string& prefix) {
    constexpr auto c = static_cast<std::int64_t>(In::channels), h = static_cast<std::int64_t>(In::height),
                   w = static_cast<std::int64_t>(In::width), f = static_cast<std::int64_t>(F);
    const std::string x6 =
        g.node("Reshape", {g.template images<In>(x).name, g.int64s(prefix + ".split", {0, c, h, 1, w, 1})});
    const std::string big = g.node("Expand", {x6, g.int64s(prefix + ".repeat", {1, 1, 1, f, 1, f})});
    const std::string y = g.node("Reshape", {big, g.int64s(prefix + ".join", {0, c, h * f, w * f})});
    return value{y, L::out_size, true, In::channels, L::OH, L::OW};
  }
};
// Rows pass through Input, Flatten and Reshape unchanged: the next layer reshapes them as it needs
// (a convolution to its input shape, a Dense to flat rows), and so do the graph's outputs.
template <std::size_t C, std::size_t H, std::size_t W>
struct layer_rule<Input<C, H, W>> {
  static constexpr bool known = true;
  template <class T>
  static value emit(graph<T>&, const value& x, const T*, const T*, const std::string&) {
    return x;
  }
};
template <class In>
struct layer_rule<Flatten::bound<In>> : layer_rule<Input<1, 1, 1>> {};
template <std::size_t C, std::size_t H, std::size_t W>
struct layer_rule<Reshape<C, H, W>> : layer_rule<Input<1, 1, 1>> {};

/// What initializers of a layer are named after ("Dense", ...; Input, Flatten and Reshape have none).
template <class L>
const char* layer_name() {
  if constexpr (requires { L::name; })
    return L::name;
  else
    return "layer";
}

/// The head: μ and log σ² by two Gemms over the halves of W's columns, log σ² clamped to ±30 as
/// latent's forward pass clamps it (inference then passes μ on).
template <std::size_t In, std::size_t Z>
struct layer_rule<GaussianHead<In, Z>> {
  using L = GaussianHead<In, Z>;
  static constexpr bool known = true;
  template <class T>
  static value emit(graph<T>& g, const value& x, const T* p, const T*, const std::string& prefix, value* log_var) {
    std::vector<T> wm(In * Z), wl(In * Z);
    for (std::size_t i = 0; i < In; ++i)
      for (std::size_t j = 0; j < Z; ++j) wm[i * Z + j] = p[i * 2 * Z + j], wl[i * Z + j] = p[i * 2 * Z + Z + j];
    const std::string xf = g.flat(x).name;
    const std::string mu = g.node("Gemm", {xf, g.tensor(prefix + ".mu.weight", {In, Z}, wm.data()),
                                           g.tensor(prefix + ".mu.bias", {Z}, p + L::weight_count)});
    const std::string lv = g.node("Gemm", {xf, g.tensor(prefix + ".log_var.weight", {In, Z}, wl.data()),
                                           g.tensor(prefix + ".log_var.bias", {Z}, p + L::weight_count + Z)});
    const T limit = static_cast<T>(L::log_variance_limit);
    *log_var = value{
        g.node("Clip", {lv, g.scalar(prefix + ".log_var.min", -limit), g.scalar(prefix + ".log_var.max", limit)}), Z};
    return value{mu, Z};
  }
};

/// The spatial head: μ and log σ² by two 1×1 `Conv`s over the halves of the map's filters (channels
/// 0..Z−1 are μ, Z..2Z−1 log σ²), log σ² clamped as the head clamps it; both stay Z × H × W images,
/// flattened channel-first where they become outputs (latent's order of the code).
template <class In, std::size_t Z>
struct layer_rule<spatial_gaussian_head<In, Z>> {
  using L = spatial_gaussian_head<In, Z>;
  static constexpr bool known = true;
  template <class T>
  static value emit(graph<T>& g, const value& x, const T* p, const T*, const std::string& prefix, value* log_var) {
    constexpr std::size_t C = In::channels;
    const std::string xi = g.template images<In>(x).name;
    const auto conv1 = [&](const std::string& half, std::size_t at) {
      const std::string w = g.tensor(prefix + "." + half + ".weight", {Z, C, 1, 1}, p + at * C);
      const std::string b = g.tensor(prefix + "." + half + ".bias", {Z}, p + L::weight_count + at);
      return g.node("Conv", {xi, w, b},
                    {attribute_ints("kernel_shape", {1, 1}), attribute_ints("strides", {1, 1}),
                     attribute_ints("pads", {0, 0, 0, 0}), attribute_ints("dilations", {1, 1}),
                     attribute_int("group", 1)});
    };
    const std::string mu = conv1("mu", 0), lv = conv1("log_var", Z);
    const T limit = static_cast<T>(L::log_variance_limit);
    *log_var = value{
        g.node("Clip", {lv, g.scalar(prefix + ".log_var.min", -limit), g.scalar(prefix + ".log_var.max", limit)}),
        L::code_size, true, Z, In::height, In::width};
    return value{mu, L::code_size, true, Z, In::height, In::width};
  }
};

/// A value in the form a layer bound to `In` takes it: images for a shape, flat rows otherwise.
template <class In, class T>
value as_input(graph<T>& g, const value& x) {
  if constexpr (is_shape_v<In>)
    return g.template images<In>(x);
  else
    return g.flat(x);
}
/// `v`'s name as a value of the same form as `like` (same shape or flatness, other name).
inline value renamed(const value& like, std::string name) {
  value v = like;
  v.name = std::move(name);
  return v;
}

/// MaxPool2D: `MaxPool` over K × K windows, no padding (latent's windows lie inside the input).
template <class In, std::size_t K, std::size_t S>
struct layer_rule<max_pool2d_layer<In, K, S>> {
  using L = max_pool2d_layer<In, K, S>;
  static constexpr bool known = true;
  template <class T>
  static value emit(graph<T>& g, const value& x, const T*, const T*, const std::string&) {
    const std::string y = g.node("MaxPool", {g.template images<In>(x).name},
                                 {attribute_ints("kernel_shape", {K, K}), attribute_ints("strides", {S, S}),
                                  attribute_ints("pads", {0, 0, 0, 0})});
    return value{y, L::out_size, true, In::channels, L::OH, L::OW};
  }
};

/// An activation standing alone in a `Seq`: its node(s) on the value, whatever its form.
template <class In, class A>
struct layer_rule<activation_layer<In, A>> {
  static constexpr bool known = true;
  template <class T>
  static value emit(graph<T>& g, const value& x, const T*, const T*, const std::string&) {
    return renamed(x, activation<activation_layer<In, A>, A>(g, x.name));
  }
};

/// Dropout: the identity in eval mode, which is what a graph of inference computes.
template <class In, std::intmax_t N, std::intmax_t D>
struct layer_rule<dropout_layer<In, N, D>> : layer_rule<Input<1, 1, 1>> {};

/// BatchNorm in eval mode: `BatchNormalization` with γ, β and the running statistics from the model's
/// state ([N, C] after a flat layer, [N, C, H, W] after a shaped one). ε is a float attribute (for a
/// double model, BatchNorm's ε rounded to float: a relative change of 1e-13 of the output at most for
/// variances ≥ ε).
template <class In, class M, class E>
struct layer_rule<batch_norm_layer<In, M, E>> {
  using L = batch_norm_layer<In, M, E>;
  static constexpr bool known = true;
  template <class T>
  static value emit(graph<T>& g, const value& x, const T* p, const T* s, const std::string& prefix) {
    constexpr std::size_t C = L::C;
    const value in = as_input<In>(g, x);
    const std::string y = g.node("BatchNormalization",
                                 {in.name, g.tensor(prefix + ".weight", {C}, p), g.tensor(prefix + ".bias", {C}, p + C),
                                  g.tensor(prefix + ".running_mean", {C}, s),
                                  g.tensor(prefix + ".running_var", {C}, s + C)},
                                 {attribute_float("epsilon", static_cast<float>(L::epsilon))});
    return renamed(in, y);
  }
};

/// GroupNorm decomposed (opset 17 has no GroupNormalization): [N, G, M] (M = C/G · positions), mean
/// and biased variance over M by `ReduceMean`, (x − mean) / √(var + ε) with ε in the model's type,
/// back to the input's form, then · γ + β per channel ([C, 1, 1] broadcast over positions).
template <class In, class T>
std::string group_norm_nodes(graph<T>& g, const value& in, std::size_t groups, double epsilon, const T* p,
                             const std::string& prefix) {
  constexpr std::size_t C = channels_of<In>::channels, P = channels_of<In>::positions;
  const auto i64 = [](std::size_t v) { return static_cast<std::int64_t>(v); };
  const std::string r =
      g.node("Reshape", {in.name, g.int64s(prefix + ".groups", {0, i64(groups), i64(C / groups * P)})});
  const std::vector<message> over_group = {attribute_ints("axes", {2}), attribute_int("keepdims", 1)};
  const std::string d = g.node("Sub", {r, g.node("ReduceMean", {r}, over_group)});
  const std::string var = g.node("ReduceMean", {g.node("Mul", {d, d})}, over_group);
  const std::string sd = g.node("Sqrt", {g.node("Add", {var, g.scalar(prefix + ".epsilon", static_cast<T>(epsilon))})});
  std::vector<std::int64_t> back = {0, i64(C)}, per_channel = {i64(C)};
  if constexpr (is_shape_v<In>) back = {0, i64(C), i64(In::height), i64(In::width)}, per_channel = {i64(C), 1, 1};
  const std::string nx = g.node("Reshape", {g.node("Div", {d, sd}), g.int64s(prefix + ".shape", back)});
  const std::string scaled = g.node("Mul", {nx, g.tensor(prefix + ".weight", per_channel, p)});
  return g.node("Add", {scaled, g.tensor(prefix + ".bias", per_channel, p + C)});
}
template <class In, std::size_t G, class E>
struct layer_rule<group_norm_layer<In, G, E>> {
  using L = group_norm_layer<In, G, E>;
  static constexpr bool known = true;
  template <class T>
  static value emit(graph<T>& g, const value& x, const T* p, const T*, const std::string& prefix) {
    const value in = as_input<In>(g, x);
    return renamed(in, group_norm_nodes<In>(g, in, G, L::epsilon, p, prefix));
  }
};

/// SpatialAttention: GroupNorm; q, k, v as 1×1 `Conv`s; scores = `MatMul`(qᵀ [N, HW, C], k [N, C, HW])
/// · 1/√C; `Softmax` over the last axis (the positions j); o = `MatMul`(v [N, C, HW], aᵀ); the output
/// projection (a 1×1 `Conv`) and the skip (`Add`).
template <class In, std::size_t G, class E>
struct layer_rule<attention_layer<In, G, E>> {
  using L = attention_layer<In, G, E>;
  static constexpr bool known = true;
  template <class T>
  static value emit(graph<T>& g, const value& x, const T* p, const T*, const std::string& prefix) {
    constexpr std::size_t C = L::C, N = L::N;
    const auto i64 = [](std::size_t v) { return static_cast<std::int64_t>(v); };
    const value in = g.template images<In>(x);
    const std::string h = group_norm_nodes<In>(g, in, G, L::norm::epsilon, p, prefix + ".norm");
    const auto conv1 = [&](const std::string& name, std::size_t at, const std::string& from) {
      const std::string w = g.tensor(prefix + "." + name + ".weight", {C, C, 1, 1}, p + at);
      const std::string b = g.tensor(prefix + "." + name + ".bias", {C}, p + at + C * C);
      return g.node("Conv", {from, w, b},
                    {attribute_ints("kernel_shape", {1, 1}), attribute_ints("strides", {1, 1}),
                     attribute_ints("pads", {0, 0, 0, 0}), attribute_ints("dilations", {1, 1}),
                     attribute_int("group", 1)});
    };
    const std::string rows = g.int64s(prefix + ".positions", {0, i64(C), i64(N)});
    const auto flat3 = [&](const std::string& v) { return g.node("Reshape", {v, rows}); };
    const std::vector<message> swap = {attribute_ints("perm", {0, 2, 1})};
    const std::string q = flat3(conv1("q", L::q_at, h)), k = flat3(conv1("k", L::k_at, h)),
                      v = flat3(conv1("v", L::v_at, h));
    const std::string scores =
        g.node("Mul", {g.node("MatMul", {g.node("Transpose", {q}, swap), k}),
                       g.scalar(prefix + ".scale", static_cast<T>(1.0 / std::sqrt(static_cast<double>(C))))});
    const std::string a = g.node("Softmax", {scores}, {attribute_int("axis", 2)});
    const std::string o = g.node("MatMul", {v, g.node("Transpose", {a}, swap)});
    const std::string o4 =
        g.node("Reshape", {o, g.int64s(prefix + ".images", {0, i64(C), i64(In::height), i64(In::width)})});
    return renamed(in, g.node("Add", {conv1("proj_out", L::out_at, o4), in.name}));
  }
};

/// VectorQuantizer: each position's vector z [N, P, D] (a grid's channel-first [N, D, H, W] reshaped
/// and transposed; flat rows [N, D]) against the codebook E [K, D] (its parameters, or the EMA state's
/// codes): d = ‖e_k‖² − 2 z·e_k (`ReduceSum` of E·E over D, `MatMul` by Eᵀ; the squared distance less
/// ‖z‖², which is the same for every code), the nearest code k = `ArgMin` over the codes (the first on
/// a tie, as latent's lowest index), z_q = `Gather`(E, k), back in the input's form. The codes k
/// [N, P] (int64) go to `*indices` when asked for (the encoder's "indices" output).
template <class In, std::size_t Codes, std::size_t Dim, class S>
struct layer_rule<vector_quantizer_layer<In, Codes, Dim, S>> {
  using L = vector_quantizer_layer<In, Codes, Dim, S>;
  static constexpr bool known = true;
  template <class T>
  static value emit(graph<T>& g, const value& x, const T* p, const T* s, const std::string& prefix,
                    std::string* indices = nullptr) {
    constexpr auto K = static_cast<std::int64_t>(Codes), D = static_cast<std::int64_t>(Dim),
                   P = static_cast<std::int64_t>(L::positions);
    const std::string book = g.tensor(prefix + ".embeddings", {K, D}, L::ema ? s : p);
    const std::vector<message> swap = {attribute_ints("perm", {0, 2, 1})};
    std::string z;
    if constexpr (is_shape_v<In>) {
      const std::string rows = g.node("Reshape", {g.template images<In>(x).name, g.int64s(prefix + ".grid", {0, D, P})});
      z = g.node("Transpose", {rows}, swap);  // [N, P, D]
    } else {
      z = g.flat(x).name;  // [N, D]
    }
    const std::string norms = g.node("ReduceSum", {g.node("Mul", {book, book}), g.int64s(prefix + ".over_dim", {1})},
                                     {attribute_int("keepdims", 0)});  // ‖e_k‖² [K]
    const std::string dots = g.node("MatMul", {z, g.node("Transpose", {book}, {attribute_ints("perm", {1, 0})})});
    const std::string d = g.node("Sub", {norms, g.node("Mul", {dots, g.scalar(prefix + ".two", T(2))})});
    const std::string k = g.node("ArgMin", {d}, {attribute_int("axis", -1), attribute_int("keepdims", 0)});
    const std::string zq = g.node("Gather", {book, k}, {attribute_int("axis", 0)});
    if (indices != nullptr)
      *indices = is_shape_v<In> ? k : g.node("Reshape", {k, g.int64s(prefix + ".column", {0, 1})});
    if constexpr (is_shape_v<In>) {
      const std::string back = g.node("Transpose", {zq}, swap);  // [N, D, P]
      const std::string y = g.node(
          "Reshape", {back, g.int64s(prefix + ".images", {0, D, static_cast<std::int64_t>(In::height),
                                                          static_cast<std::int64_t>(In::width)})});
      return value{y, L::out_size, true, Dim, In::height, In::width};
    } else {
      return value{zq, L::out_size};
    }
  }
};

/// A leaf of `L` on `x` (a layer that holds chains emits them through this too); `p` and `s` are its
/// parameters and state.
template <class L, class T>
value emit_leaf(graph<T>& g, const value& x, const T* p, const T* s, const std::string& prefix);

/// The leaves of `Chain` (a bound chain or one layer) in order, named "<prefix>.<i>.<Layer>".
template <class Chain, class T>
value emit_chain(graph<T>& g, value x, const T* p, const T* s, const std::string& prefix);

/// Residual: the branch's nodes from the block's input, the projection's (or the input itself), both in
/// the form of the block's output, then `Add`.
template <class In, class B, class Pr>
struct layer_rule<residual_layer<In, B, Pr>> {
  using L = residual_layer<In, B, Pr>;
  static constexpr bool known = true;
  template <class T>
  static value emit(graph<T>& g, const value& x, const T* p, const T* s, const std::string& prefix) {
    const auto conform = [&](const value& v) {
      if constexpr (shaped_output<L>)
        return g.template images<typename L::out_shape>(v);
      else
        return g.flat(v);
    };
    const value b = conform(emit_chain<B>(g, x, p, s, prefix + ".branch"));
    value skip = x;
    if constexpr (L::projected)
      skip = emit_chain<Pr>(g, x, p + B::param_count, s + state_size_of<B>(), prefix + ".projection");
    skip = conform(skip);
    return renamed(b, g.node("Add", {b.name, skip.name}));
  }
};

template <class L, class T>
value emit_leaf(graph<T>& g, const value& x, const T* p, const T* s, const std::string& prefix) {
  static_assert(diag::onnx_export_has_no_rule_for_layer<L, layer_rule<L>::known>::value);
  if constexpr (layer_rule<L>::known)
    return layer_rule<L>::emit(g, x, p, s, prefix);
  else
    return x;
}
template <class Chain, class T>
value emit_chain(graph<T>& g, value x, const T* p, const T* s, const std::string& prefix) {
  for_each_layer_of<Chain>([&]<class M>(const layer_slot<M>& slot) {
    x = emit_leaf<M>(g, x, p + slot.offset, s + slot.state_offset,
                     prefix + "." + std::to_string(slot.index) + "." + layer_name<M>());
  });
  return x;
}

/// The reconstruction a loss or likelihood makes of the decoder's output (its `to_mean`).
template <class L>
inline constexpr bool sigmoid_mean_v = std::is_same_v<L, BCEWithLogits> || std::is_same_v<L, Bernoulli>;
template <class L>
inline constexpr bool identity_mean_v = std::is_same_v<L, MSE> || std::is_same_v<L, BCE> ||
                                        std::is_same_v<L, UnitGaussian> || std::is_same_v<L, LearnedGaussian>;

/// The loss (plain autoencoders) or likelihood (the VAE family) whose `to_mean` makes the reconstruction.
template <class Model, bool Variational = requires { typename Model::likelihood_type; }>
struct objective_of {
  using type = typename Model::loss_type;
};
template <class Model>
struct objective_of<Model, true> {
  using type = typename Model::likelihood_type;
};

/// Builds the graph of `part` of `model`.
template <class Model>
class exporter {
  using T = typename Model::scalar_type;
  using Enc = typename Model::encoder_type;
  using objective = typename objective_of<Model>::type;
  static constexpr bool variational = requires { typename Model::likelihood_type; };
  static constexpr std::size_t classes = Model::condition_size;
  static constexpr bool known_mean = sigmoid_mean_v<objective> || identity_mean_v<objective>;
  static_assert(diag::onnx_export_does_not_know_the_mean_of_this_loss<objective, known_mean>::value);

 public:
  exporter(const Model& model, onnx_part part)
      : params_(model.parameters().data()), state_(model.state().data()), part_(part) {}

  std::string bytes() {
    const bool encoder = part_ != onnx_part::decoder, decoder = part_ != onnx_part::encoder;
    if (encoder) {
      g_.input("x", Model::input_size);
      current_ = value{"x", Model::input_size};
    } else {
      g_.input("z", Model::code_size);
      current_ = value{"z", Model::code_size};
    }
    if constexpr (classes > 0) {
      g_.input("c", classes);
      if (encoder) current_ = join_encoder(current_);
    }
    for_each_layer<Model>([&]<class L>(const layer_slot<L>& slot) {
      if (slot.part == model_part::decoder && slot.index_in_part == 0) {
        if (encoder) finish_encoder();
        if (!decoder) return;
        if constexpr (classes > 0) current_ = join_flat(current_);
      }
      if ((slot.part == model_part::encoder && encoder) || (slot.part == model_part::decoder && decoder)) emit<L>(slot);
    });
    if (decoder) finish_decoder();
    const char* what = part_ == onnx_part::model ? "model" : (encoder ? "encoder" : "decoder");
    return g_.model_bytes(std::string("latent ") + what, Model::architecture());
  }

 private:
  template <class L>
  void emit(const layer_slot<L>& slot) {
    const std::string prefix = std::string(slot.part == model_part::encoder ? "encoder." : "decoder.") +
                               std::to_string(slot.index_in_part) + "." + layer_name<L>();
    if constexpr (is_gaussian_head_v<L>)
      current_ = layer_rule<L>::emit(g_, current_, params_ + slot.offset, state_ + slot.state_offset, prefix, &log_var_);
    else if constexpr (vector_quantizer_layer_type<L>)
      current_ = layer_rule<L>::emit(g_, current_, params_ + slot.offset, state_ + slot.state_offset, prefix,
                                     slot.part == model_part::encoder ? &indices_ : nullptr),
      positions_ = L::positions;
    else
      current_ = emit_leaf<L>(g_, current_, params_ + slot.offset, state_ + slot.state_offset, prefix);
  }
  void finish_encoder() {
    if constexpr (variational) {
      g_.output(current_, "mu");
      g_.output(log_var_, "log_var");
      current_ = value{"mu", Model::code_size};
    } else {
      g_.output(current_, "code");
      if (!indices_.empty()) g_.output_int64(indices_, "indices", positions_);
      current_ = value{"code", Model::code_size};
    }
  }
  void finish_decoder() {
    value y = g_.flat(current_);
    if constexpr (sigmoid_mean_v<objective>) y.name = g_.node("Sigmoid", {y.name});
    g_.output(y, variational ? "mean" : "reconstruction");
  }
  // A conditional model's labels after the decoder's input (and a flat encoder's): [N, width + classes].
  value join_flat(const value& v) {
    const value f = g_.flat(v);
    return value{g_.node("Concat", {f.name, "c"}, {attribute_int("axis", 1)}), f.size + classes};
  }
  // ... and after a shaped encoder's image channels, one constant plane of H × W per class.
  value join_encoder(const value& x) {
    constexpr std::size_t plane = condition_plane<Enc>();
    if constexpr (plane == 1) {
      return join_flat(x);
    } else {
      const auto i64 = [](std::size_t v) { return static_cast<std::int64_t>(v); };
      const std::string c3 = g_.node("Reshape", {"c", g_.int64s(g_.fresh("shape"), {0, i64(classes), 1})});
      const std::string planes = g_.node("Expand", {c3, g_.int64s(g_.fresh("shape"), {1, i64(classes), i64(plane)})});
      const std::string rows = g_.node("Reshape", {planes, g_.int64s(g_.fresh("shape"), {0, i64(classes * plane)})});
      return value{g_.node("Concat", {x.name, rows}, {attribute_int("axis", 1)}), x.size + classes * plane};
    }
  }

  const T* params_;
  const T* state_;  // BatchNorm's running statistics
  onnx_part part_;
  graph<T> g_;
  value current_;
  value log_var_;
  std::string indices_;  // a quantiser's codes (int64 [N, positions]): the encoder's "indices" output
  std::size_t positions_ = 0;
};

}  // namespace detail::onnx

/// Writes `part` of `model` (by default the whole model) to `path` as an ONNX model (IR version 8,
/// opset 17): input "x" [N, input_size] (the decoder's "z" [N, code_size]; a conditional model's
/// one-hot labels "c" [N, Classes] too), outputs "code" and "reconstruction" (plain autoencoders) or
/// "mu", "log_var" and "mean" (the VAE family), equal to what `encode`, `reconstruct` and `decode`
/// return, and for a `VQVAE` "indices" (int64, `encode_indices`); see the file comment and docs/onnx.md. Written atomically (io/atomic_file.hpp); a path
/// that cannot be written is an `io_error`. A layer, activation or loss without an ONNX rule does not
/// compile. Example: tests/test_onnx.cpp.
template <class Model>
void export_onnx(const Model& model, const std::string& path, onnx_part part = onnx_part::model) {
  detail::onnx::exporter<Model> e(model, part);
  detail::write_file_atomically(path, e.bytes(), "export_onnx");
}

}  // namespace latent
