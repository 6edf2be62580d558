// Training FLOPs per sample of a model, counted from the shapes of its convolutions and
// matrix products in one forward (a zero sample: only shapes matter). 2 FLOPs per
// multiply-add; a training step is counted as 3 forwards (the backward computes the input's
// and the weights' gradients, each as costly as the forward). Attention inside fused
// scaled_dot_product kernels, norms, activations and the optimizer are not counted: this is
// the conv + linear work, the same convention as the usual MFU figures.
#pragma once
#include "data/dataset.h"
#include "model/registry.h"

namespace kiln::profile {

// -1 when nothing countable ran. Runs the net once in eval mode without gradients on its own
// device, then puts it back in training mode; draws no random numbers.
double train_flops_per_sample(model::Net& net, const data::SampleSpec& spec);

}  // namespace kiln::profile
