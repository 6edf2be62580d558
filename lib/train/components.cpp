// build_components: the setup half of a run, before anything is written.
#include "train/components.h"

#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <torch/nn/modules/conv.h>

#include <algorithm>
#include <string>

#include "data/layout.h"
#include "model/batch_norm.h"
#include "optim/optimizer.h"
#include "repro/repro.h"
#include "repro/rng.h"
#include "train/graph_step.h"
#include "train/precision.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/log.h"

namespace kiln::train {
namespace {

// model.channels_last: the conv weights ([out, in, kh, kw]) in NHWC memory format, as the
// loader's batches; convolutions then take oneDNN's / cuDNN's NHWC kernels throughout.
// data::channels_last, not contiguous(ChannelsLast): that one leaves a 1-input-channel
// weight NCHW-strided (data/layout.h). The clone owns its memory (not a view of the old).
void to_channels_last(model::Net& net, const std::string& name) {
  torch::NoGradGuard no_grad;
  int64_t converted = 0;
  for (auto& p : net.parameters()) {
    if (p.dim() != 4) continue;
    p.set_data(data::channels_last(p.data()).clone(at::MemoryFormat::Preserve));
    ++converted;
  }
  if (converted == 0) log::warn("model.channels_last has no effect on model '" + name + "' (it has no conv weights)");
}

// oneDNN's AVX2 kernel for the weight gradient of a 1x1 stride-2 convolution with 2 to 7 input
// channels in NHWC (jit_avx2_1x1_convolution_bwd_weights, LibTorch 2.11) hung for good or gave
// other wrong values from run to run on a 2-core AMD EPYC, in PyTorch 2.11 alike; 1, 8, 12, 20
// and more channels were right, and so was NCHW (docs/benchmarks.md, "A oneDNN fault").
// A ResNet of model.resnet.width 2 to 7 has such shortcut convs. Refused on every CPU: other
// CPUs were not checked, and a hang cannot be interrupted (no checkpoint is written).
void check_channels_last_convs(torch::nn::Module& net, const std::string& device) {
  if (device != "cpu") return;
  for (const auto& m : net.modules(/*include_self=*/false)) {
    const auto* conv = m->as<torch::nn::Conv2dImpl>();
    if (!conv) continue;
    const auto& o = conv->options;
    const int64_t in = o.in_channels();
    const bool one_by_one = (*o.kernel_size())[0] == 1 && (*o.kernel_size())[1] == 1;
    const bool strided = (*o.stride())[0] > 1 || (*o.stride())[1] > 1;
    if (one_by_one && strided && in >= 2 && in <= 7) {
      throw Error::usage("model.channels_last = true on the CPU with a strided 1x1 convolution of " +
                             std::to_string(in) +
                             " input channels: LibTorch's oneDNN kernel for its gradient hangs or returns wrong "
                             "values with 2 to 7 channels",
                         "set model.channels_last = false, or give the model 8 or more channels there "
                         "(model.resnet.width >= 8)");
    }
  }
}

}  // namespace

Components build_components(const config::RunConfig& cfg, const dist::World& world, std::chrono::milliseconds timeout) {
  Components c;
  c.world = world;
  c.device = resolve_device(cfg.train.device);
  if (world.distributed() && (cfg.train.device == "auto" || cfg.train.device == "cuda") && c.device != "cpu") {
    // One GPU per rank, as torchrun's LOCAL_RANK numbers them on each machine.
    c.device = resolve_device("cuda:" + std::to_string(world.local_rank));
  }
  if (cfg.train.threads > 0) at::set_num_threads(static_cast<int>(cfg.train.threads));
  repro::set_deterministic(cfg.repro.deterministic, cfg.repro.fill_uninitialized);
  repro::set_cuda_tf32(cfg.train.tf32 == "on" || (cfg.train.tf32 == "auto" && !cfg.repro.deterministic));
  check_precision(parse_precision(cfg.train.precision), c.device);
  config::DataConfig data_cfg = cfg.data;
  data_cfg.task = cfg.train.task;  // a csv's target: class labels or numbers
  c.splits = data::load_splits(data_cfg);
  c.task = task::build(cfg);
  const data::SampleSpec spec = c.splits.train->spec();
  c.task->check(spec, cfg.data.dataset);
  const model::InputSpec input{spec.input.shape, c.task->outputs(spec)};
  repro::seed_torch(cfg.repro.seed, "model_init");
  c.net = model::build(cfg.model, input);
  c.net->to(c10::Device(c.device));
  if (cfg.model.channels_last) {
    check_channels_last_convs(*c.net, c.device);
    to_channels_last(*c.net, cfg.model.name);
  }
  c.optimizer = optim::build(cfg.optim, c.net->parameters());
  // fp16's 5 exponent bits underflow small gradients: scale the loss up, unscale before the update.
  if (parse_precision(cfg.train.precision) == Precision::kFp16) {
    GradScalerOptions so;
    so.init_scale = cfg.train.fp16_init_scale;
    so.growth_factor = cfg.train.fp16_growth_factor;
    so.backoff_factor = cfg.train.fp16_backoff_factor;
    so.growth_interval = cfg.train.fp16_growth_interval;
    c.scaler = std::make_unique<GradScaler>(so, c10::Device(c.device));
  }
  data::LoaderOptions train_opts = data::loader_options(cfg, c.device, true);
  train_opts.shard = world.rank;
  train_opts.shards = world.size;
  c.train_loader = data::make_loader(c.splits.train, train_opts);
  // A job shards the evaluation too (each rank a contiguous part of the split, the task's sums
  // added up across ranks) when the task can and every rank gets a sample.
  data::LoaderOptions test_opts = data::loader_options(cfg, c.device, false);
  c.eval_sharded = world.distributed() && c.task->sharded_evaluation() && c.splits.test->size() >= world.size;
  if (c.eval_sharded) {
    test_opts.part = world.rank;
    test_opts.parts = world.size;
  }
  c.test_loader = data::make_loader(c.splits.test, test_opts);
  const int64_t batches = c.train_loader->batches_per_epoch();
  if (batches == 0) {
    if (world.distributed()) {
      throw Error::usage("the training set (" + std::to_string(c.splits.train->size()) +
                         " samples) has no full global batch of " + std::to_string(cfg.loader.batch_size) + " x " +
                         std::to_string(world.size) + " ranks");
    }
    throw Error::usage("the training set (" + std::to_string(c.splits.train->size()) +
                       " samples) has no full batch of " + std::to_string(cfg.loader.batch_size) +
                       " with loader.drop_last = true");
  }
  c.steps_per_epoch = (batches + cfg.train.grad_accum - 1) / cfg.train.grad_accum;
  c.total_steps = c.steps_per_epoch * cfg.train.epochs;
  if (cfg.train.max_steps > 0) c.total_steps = std::min(c.total_steps, cfg.train.max_steps);
  check_cuda_graph(cfg, c);
  if (world.distributed()) {
    // Every input check above passed on every rank alike (same config, same data): only now
    // wait for the others, so a bad config exits 2 at once instead of at the timeout.
    c.group = std::make_unique<dist::Group>(world, c10::Device(c.device), timeout);
    if (cfg.model.sync_bn && model::sync_batch_norms(*c.net, c.group.get()) == 0) {
      log::warn("model.sync_bn has no effect on model '" + cfg.model.name + "' (it has no BatchNorm)");
    }
  }
  // Dropout and any other draw during training; rank 0 draws what a single process does.
  repro::seed_torch(cfg.repro.seed, world.rank == 0 ? "train" : "train/rank" + std::to_string(world.rank));
  return c;
}

void start_grad_sync(Components& c, int64_t batch_size) {
  if (!c.group) return;
  std::vector<at::Tensor> trainable;
  for (const auto& p : c.net->parameters()) {
    if (p.requires_grad()) trainable.push_back(p);
  }
  c.grad_sync.reset();  // a new one hooks into the parameters as they are now
  c.grad_sync = std::make_unique<dist::GradSync>(*c.group, trainable, c.net->buffers());
  log::info(dist::describe(c.world) + ": " + std::to_string(c.grad_sync->buckets()) +
            " gradient buckets; global batch " + std::to_string(batch_size * c.world.size));
}

}  // namespace kiln::train
