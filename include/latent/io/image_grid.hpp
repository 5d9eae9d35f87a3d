#pragma once
/// \file
/// Moved: `image_grid` is a picture, not persistence, and lives in latent/plot/image_grid.hpp. This
/// header forwards there so that old includes keep compiling; include the new path in new code.

#include "latent/plot/image_grid.hpp"
