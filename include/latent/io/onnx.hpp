#pragma once
/// \file
/// Moved: `export_onnx` needs models, so it lives in latent/interchange/onnx.hpp (io/ holds the codecs
/// only). This path keeps old code compiling; new code includes <latent/interchange.hpp>.

#include "latent/interchange/onnx.hpp"
