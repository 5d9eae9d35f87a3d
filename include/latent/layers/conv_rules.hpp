#pragma once
/// \file
/// The rules of the convolutions and of pooling, one carrier each (see core/diagnostics.hpp), checked
/// with the layer's position when a `Seq` binds it to its input shape: layers/conv.hpp asserts them for
/// `Conv2D` and `ConvTranspose2D`, layers/resample.hpp for `AvgPool2D` and `Upsample2D`. The shape
/// arithmetic they check is in core/shape.hpp.

#include "latent/core/diagnostics.hpp"

#include <cstddef>  // std::size_t

namespace latent::diag {

/// A convolution needs at least one filter, a kernel of at least 1 and a stride of at least 1.
template <class At, class Layer, class Filters, class Kernel, class Stride>
struct conv_layer_has_a_zero_size;
template <class At, class Layer, std::size_t F, std::size_t K, std::size_t S>
struct conv_layer_has_a_zero_size<At, Layer, filters<F>, kernel<K>, stride<S>> {
  static_assert(F > 0 && K > 0 && S > 0,
                "latent: a convolution needs at least one filter, a kernel of at least 1 and a stride of at least 1");
  static constexpr bool value = true;
};

/// A convolution takes a shaped input (C × H × W): the layer before it must give one.
template <class At, class Layer, class Receives>
struct conv_layer_has_no_shape_before_it {
  static_assert(dependent_false<Receives>,
                "latent: a convolution needs a shaped input (channels x height x width): start the Seq with "
                "Input<C, H, W>, or put Reshape<C, H, W> before it");
  static constexpr bool value = true;
};

/// A convolution's kernel must fit inside its padded input (height and width).
template <class At, class Layer, class Kernel, class Padded, class Input, bool Fits>
struct conv_kernel_is_larger_than_its_padded_input {
  static_assert(Fits, "latent: a convolution's kernel must fit inside its padded input (height and width)");
  static constexpr bool value = true;
};

/// With `Exact<Padding>`, the stride must divide (padded input − kernel): no row or column is dropped.
template <class At, class Layer, class Padded, class Kernel, class Stride, bool Divides>
struct conv_stride_drops_input_rows_or_columns {
  static_assert(Divides, "latent: Exact padding: (padded input - kernel) must be a multiple of the stride, or the last "
                         "rows or columns of the input are silently dropped");
  static constexpr bool value = true;
};

/// A transposed convolution's output_padding must be smaller than its stride (PyTorch's rule), and
/// Conv2D has none.
template <class At, class Layer, class OutputPadding, class Stride, bool Ok>
struct output_padding_is_not_smaller_than_the_stride {
  static_assert(Ok, "latent: output_padding (the second argument of Pad<P, OP>) must be smaller than the stride, and "
                    "only ConvTranspose2D has one");
  static constexpr bool value = true;
};

/// A transposed convolution whose padding crops its whole output.
template <class At, class Layer, class Input, bool NonEmpty>
struct transposed_conv_output_is_empty {
  static_assert(NonEmpty, "latent: a transposed convolution's padding must leave at least one output row and column");
  static constexpr bool value = true;
};

/// The padding argument of a convolution must be Valid, Same, Pad<P> / Pad<P, OP>, or Exact<one of those>.
template <class Layer, class Given, bool IsPadding>
struct conv_padding_is_not_a_padding {
  static_assert(IsPadding, "latent: a convolution's padding must be Valid, Same, Pad<P>, Pad<P, OP> or Exact<...>");
  static constexpr bool value = true;
};

}  // namespace latent::diag
