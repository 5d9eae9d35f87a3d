#pragma once
/// \file
/// Models in and out of other tools: `save_weights` / `load_weights` (PyTorch state_dicts and Keras
/// layouts, as safetensors or .npz), `export_onnx`, the safetensors and .npz codecs and their named
/// tensors, and `for_each_layer`, the model visitor they share. `save`, `load` and `inspect` (latent's
/// own format) are in the lean <latent/latent.hpp> too. See docs/interchange.md.

#include "latent/interchange/layer_walk.hpp"
#include "latent/interchange/onnx.hpp"
#include "latent/interchange/saelens.hpp"
#include "latent/interchange/saelens_files.hpp"
#include "latent/interchange/save_load.hpp"
#include "latent/interchange/weights.hpp"
#include "latent/io/named_tensor.hpp"
#include "latent/io/npz.hpp"
#include "latent/io/safetensors.hpp"
