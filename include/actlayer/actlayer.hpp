// actlayer/actlayer.hpp — everything of actlayer's host API in one include.
// (ops.cuh, the device functors, is included separately from CUDA sources.)
#pragma once

#include "actlayer/activation.hpp"
#include "actlayer/buffer.hpp"
#include "actlayer/cpu.hpp"
#include "actlayer/cuda.hpp"
#include "actlayer/element.hpp"
#include "actlayer/layers.hpp"
#include "actlayer/reference.hpp"
#include "actlayer/version.hpp"
