// Precompiled header for every kiln .cpp: the narrow LibTorch headers (not torch/torch.h).
#pragma once
#include <ATen/ATen.h>
#include <torch/cuda.h>
#include <torch/nn.h>
#include <torch/optim.h>
#include <torch/serialize.h>
#include <torch/utils.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>
