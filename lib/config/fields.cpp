// The one list of config keys, their help texts and ranges (defaults live in config.h).
#include "config/fields.h"

#include <algorithm>
#include <iterator>
#include <set>

#include "config/model_table.h"

namespace kiln::config {

Field num(std::string key, FieldPtr p, std::string help, std::optional<double> min, std::optional<double> max,
          bool min_exclusive, std::string why) {
  return Field{std::move(key), p, std::move(help), min, max, min_exclusive, {}, std::move(why)};
}

Field str(std::string key, std::string* p, std::string help, std::vector<std::string> choices) {
  return Field{std::move(key), p, std::move(help), {}, {}, false, std::move(choices), {}};
}

Field strs(std::string key, std::vector<std::string>* p, std::string help) {
  return Field{std::move(key), p, std::move(help), {}, {}, false, {}, {}};
}

bool takes_bool(const Field& f) {
  const auto has = [&](const char* c) { return std::find(f.choices.begin(), f.choices.end(), c) != f.choices.end(); };
  return std::holds_alternative<std::string*>(f.ptr) && has("true") && has("false");
}

Field nonempty(Field f, std::string item) {
  f.min_items = 1;
  f.item = std::move(item);
  return f;
}

namespace {

// Upper bounds for values that are surely mistakes (a typo, a missing exponent sign, a
// shell variable holding something else), each with the reason the message gives. They sit
// far above anything a real run uses, so they never get in the way of one.
constexpr double kMaxSteps = 1e9;
const char* const kStepsWhy = "10^9 optimizer steps would take over 11 days even at 1 ms a step";
constexpr double kMaxSamples = 1e9;
const char* const kSamplesWhy = "no dataset kiln holds in memory has 10^9 samples";
constexpr double kMaxTokens = 1e13;
const char* const kTokensWhy = "10^13 tokens is over 20 TB of uint16 shards";
constexpr double kMaxBatch = 1 << 20;
const char* const kBatchWhy = "a batch of over 2^20 samples does not fit in memory for any model kiln builds";
constexpr double kMaxLr = 10;
const char* const kLrWhy =
    "the largest learning rates in use (SGD scaled linearly with huge batches) stay below 10; above it the first step "
    "diverges";

// The shared keys; fields() adds the chosen model's knobs after model.sync_bn.
std::vector<Field> shared_fields(RunConfig& c) {
  return {
      str("data.dataset", &c.data.dataset,
          "registered dataset name: fashion-mnist, image-folder, tokens, csv, npy, or one a program registers"),
      str("data.dir", &c.data.dir,
          "fashion-mnist: the IDX files (gzipped or plain); image-folder: train/<class>/* and val/ or test/"),
      num("data.limit_train", &c.data.limit_train, "use only the first N training samples (0 = all)", 0, kMaxSamples,
          false, kSamplesWhy),
      num("data.limit_test", &c.data.limit_test, "use only the first N test samples (0 = all)", 0, kMaxSamples, false,
          kSamplesWhy),
      num("data.mean", &c.data.mean, "per-channel mean for normalisation, on the [0,1] scale", 0, 1),
      num("data.std", &c.data.std, "per-channel standard deviation for normalisation", 0, {}, true),
      num("data.image_size", &c.data.image_size, "image-folder: side of the square images the model sees, pixels", 1,
          4096, false, "a batch of 4096 x 4096 images is far beyond what any model kiln builds takes"),
      num("data.channels", &c.data.channels, "image-folder: 1 (gray) or 3 (RGB) channels; alpha is dropped", 1, 3),
      num("data.resize_size", &c.data.resize_size,
          "image-folder evaluation: shorter side resized to this before the centre crop (0 = image_size * 8 / 7)", 0,
          8192, false, "twice the largest data.image_size"),
      num("data.crop_scale", &c.data.crop_scale, "image-folder training: RandomResizedCrop area share [low, high]", 0,
          1, true),
      num("data.crop_ratio", &c.data.crop_ratio, "image-folder training: RandomResizedCrop width/height [low, high]", 0,
          {}, true),
      num("data.val_fraction", &c.data.val_fraction,
          "image-folder without val/ or test/: hold out this share of train/, split by the seed (0 = use the folder); "
          "csv, npy without data.test: the share of rows held out (0 = a fifth)",
          0, 0.9),
      str("data.on_bad_image", &c.data.on_bad_image,
          "image-folder: a file that is not a readable JPEG/PNG stops the run (error) or is left out and listed (skip)",
          {"error", "skip"}),
      num("data.jpeg_scaling", &c.data.jpeg_scaling,
          "image-folder: decode a large JPEG at 1/2, 1/4 or 1/8 scale where that still covers its crop (faster); "
          "false: always full size, byte-identical to torchvision on PIL"),
      str("data.train", &c.data.train,
          "tokens, csv, npy: the training file (npy: an .npz; tokens: or a glob pattern for several, concatenated "
          "in sorted order)"),
      str("data.test", &c.data.test,
          "tokens, csv, npy: the validation file(s), as data.train (\"\" = tokens: the last data.val_tokens of "
          "data.train; csv, npy: a seeded data.val_fraction of its rows)"),
      num("data.seq_len", &c.data.seq_len, "tokens: tokens per window the model sees (each window reads seq_len + 1)",
          1, 1 << 20, false, "a window of over 2^20 tokens is far beyond any attention kiln builds"),
      num("data.val_tokens", &c.data.val_tokens,
          "tokens without data.test: hold out the last N tokens of data.train (0 = a tenth, at most 1048576)", 0,
          kMaxTokens, false, kTokensWhy),
      str("data.dtype", &c.data.dtype,
          "tokens: auto (an llm.c header tells; other .bin files need uint16/uint32; any other file is UTF-8 "
          "bytes), uint8 (bytes), uint16 or uint32 (headerless shards, as nanoGPT writes them)",
          {"auto", "uint8", "uint16", "uint32"}),
      num("data.vocab", &c.data.vocab,
          "tokens: vocabulary size (0 = 256 for bytes, else the largest token id in the files + 1)", 0, 1 << 24, false,
          "a vocabulary over 2^24 ids is far beyond any tokenizer's"),
      str("data.target", &c.data.target,
          "csv: the target column (class labels for train.task = classification, numbers for regression)"),
      strs("data.features", &c.data.features, "csv: the feature columns ([] = every other numeric column)"),
      strs("data.categorical", &c.data.categorical, "csv: string columns to one-hot encode (also features)"),
      str("data.missing", &c.data.missing,
          "csv: a missing cell (empty, NA, NaN, null) stops the run naming it (error) or takes the training "
          "split's mean (mean)",
          {"error", "mean"}),
      str("data.x", &c.data.x, "npy: the .npz array of inputs, [N, ...] uint8, float16 or float32"),
      str("data.y", &c.data.y, "npy: the .npz array of targets, int64 [N] class labels or float32 [N] / [N, K]"),

      num("loader.batch_size", &c.loader.batch_size, "training batch size (samples per micro-batch)", 1, kMaxBatch,
          false, kBatchWhy),
      num("loader.eval_batch_size", &c.loader.eval_batch_size, "evaluation batch size", 1, kMaxBatch, false, kBatchWhy),
      num("loader.shuffle", &c.loader.shuffle, "shuffle the training set every epoch"),
      num("loader.drop_last", &c.loader.drop_last, "drop the last incomplete training batch"),
      num("loader.threads", &c.loader.threads, "loader worker threads (0 = the machine's cores)", 0, 256),
      num("loader.prefetch", &c.loader.prefetch, "batches prepared ahead of the training step", 1, 1024),
      num("loader.gpu_normalize", &c.loader.gpu_normalize,
          "CUDA: copy uint8 pixels to the GPU and normalise there (4x fewer bytes over PCIe)"),

      num("augment.crop_padding", &c.augment.crop_padding,
          "training: random crop from the image zero-padded by N pixels per side (0 = off)", 0, 64),
      num("augment.hflip", &c.augment.hflip, "training: random horizontal flip (probability 1/2)"),

      str("model.name", &c.model.name,
          "model: mlp | cnn | resnet | transformer | a registered model; its knobs are in [model.<name>]"),
      num("model.dropout", &c.model.dropout, "dropout probability before the classifier (0 = off)", 0, 1),
      num("model.channels_last", &c.model.channels_last,
          "conv nets: channels-last (NHWC) weights and input batches: NHWC conv kernels (faster in bf16/fp16, and "
          "in fp32 on the CPU: docs/benchmarks.md)"),
      num("model.sync_bn", &c.model.sync_bn,
          "data-parallel jobs: BatchNorm normalises over the job's whole batch (PyTorch's SyncBatchNorm; two "
          "all-reduces per layer forward and backward); off: each rank's own batch"),

      str("optim.name", &c.optim.name, "optimizer", {"adamw", "sgd"}),
      num("optim.lr", &c.optim.lr, "learning rate (peak lr for schedules)", 0, kMaxLr, true, kLrWhy),
      num("optim.weight_decay", &c.optim.weight_decay, "weight decay (decoupled for adamw, L2 for sgd)", 0, 10, false,
          "decay above 10 drives every weight to zero within a few steps (typical: 1e-4 to 0.1)"),
      num("optim.momentum", &c.optim.momentum, "sgd: momentum", 0, 1),
      num("optim.nesterov", &c.optim.nesterov, "sgd: Nesterov momentum (needs momentum > 0)"),
      num("optim.beta1", &c.optim.beta1, "adamw: beta1", 0, 1),
      num("optim.beta2", &c.optim.beta2, "adamw: beta2", 0, 1),
      num("optim.eps", &c.optim.eps, "adamw: epsilon", 0, 1, true,
          "an epsilon above 1 swamps the gradient statistics it guards (typical: 1e-8)"),
      str("optim.fused", &c.optim.fused,
          "true: ATen's fused kernel, one call a step; false: LibTorch's per-parameter one; auto: fused if available",
          {"auto", "true", "false"}),

      str("schedule.name", &c.schedule.name, "lr schedule", {"constant", "step", "cosine", "onecycle"}),
      num("schedule.warmup_steps", &c.schedule.warmup_steps, "linear warm-up steps from 0 to the schedule's lr", 0,
          kMaxSteps, false, kStepsWhy),
      num("schedule.step_size", &c.schedule.step_size, "step: multiply lr by gamma every N steps (0 = one epoch)", 0,
          kMaxSteps, false, kStepsWhy),
      num("schedule.gamma", &c.schedule.gamma, "step: decay factor", 0, 1, true),
      num("schedule.min_lr", &c.schedule.min_lr, "cosine: lr at the last step", 0, kMaxLr, false, kLrWhy),
      num("schedule.pct_start", &c.schedule.pct_start, "onecycle: share of steps spent rising", 0, 1),
      num("schedule.div_factor", &c.schedule.div_factor, "onecycle: initial lr = lr / div_factor", 1, 1e12, false,
          "a factor over 1e12 makes the lr vanish below float precision"),
      num("schedule.final_div_factor", &c.schedule.final_div_factor,
          "onecycle: final lr = initial lr / final_div_factor", 1, 1e12, false,
          "a factor over 1e12 makes the lr vanish below float precision"),

      str("train.name", &c.train.name, "run name: the run dir is runs/<name>-<timestamp>"),
      str("train.task", &c.train.task,
          "what the model learns, its loss and metrics: classification | regression | language-model | a registered "
          "task"),
      num("train.epochs", &c.train.epochs, "epochs to train", 1, 1e6, false,
          "10^6 passes over the data is far beyond any run (the default is 15)"),
      num("train.max_steps", &c.train.max_steps, "stop after N optimizer steps (0 = epochs decide)", 0, kMaxSteps,
          false, kStepsWhy),
      num("train.eval_every", &c.train.eval_every,
          "evaluate every N optimizer steps and after the last one (0 = at the end of every epoch)", 0, kMaxSteps,
          false, kStepsWhy),
      num("train.label_smoothing", &c.train.label_smoothing, "label smoothing for the training loss", 0, 1),
      str("train.regression_loss", &c.train.regression_loss,
          "regression: the training loss, mse (mean squared error) | huber (squared within huber_delta, linear "
          "beyond: robust to outliers)",
          {"mse", "huber"}),
      num("train.huber_delta", &c.train.huber_delta, "regression with huber: where the loss turns linear", 0, 1e12,
          true, "a delta over 1e12 never turns linear: that is train.regression_loss = \"mse\""),
      num("train.grad_clip", &c.train.grad_clip, "clip the global gradient L2 norm to this (0 = off)", 0, 1e12, false,
          "a clip norm over 1e12 never clips; use 0 for off"),
      num("train.grad_accum", &c.train.grad_accum, "micro-batches accumulated per optimizer step", 1, 1 << 16, false,
          "over 65536 micro-batches per step is a typo (the effective batch would exceed any dataset)"),
      str("train.device", &c.train.device, "auto (CUDA if available) | cpu | cuda | cuda:N"),
      num("train.threads", &c.train.threads, "LibTorch intra-op threads (0 = LibTorch's default)", 0, 1024),
      str("train.on_nonfinite", &c.train.on_nonfinite,
          "a nan/inf training loss: stop (exit 4, last good checkpoint kept) | skip (that step's update; "
          "checks every step, a host sync on GPUs) | ignore",
          {"stop", "skip", "ignore"}),
      str("train.precision", &c.train.precision,
          "fp32 | bf16 | fp16: mixed precision (autocast over forward and loss, fp32 weights and optimizer "
          "state; fp16 with a dynamic loss scale)",
          {"fp32", "bf16", "fp16"}),
      str("train.tf32", &c.train.tf32,
          "CUDA: fp32 matmuls and convolutions in TF32 on Ampere and later: auto (on unless repro.deterministic) | "
          "on | off",
          {"auto", "on", "off"}),
      num("train.fp16_init_scale", &c.train.fp16_init_scale, "fp16: the loss scale at the start", 0, 1e30, true,
          "the scale multiplies the loss in float32: above 1e30 it overflows at once"),
      num("train.fp16_growth_factor", &c.train.fp16_growth_factor,
          "fp16: the loss scale grows by this after train.fp16_growth_interval finite steps in a row", 1, 1e3, true,
          "it must grow (> 1); by more than 1000x at a time it overflows within a few growths"),
      num("train.fp16_backoff_factor", &c.train.fp16_backoff_factor,
          "fp16: the loss scale shrinks by this on a step with an inf/nan gradient (the step is skipped)", 0, 1, true,
          "it must shrink (in (0, 1))"),
      num("train.fp16_growth_interval", &c.train.fp16_growth_interval,
          "fp16: finite steps in a row before the loss scale grows", 1, 2147483647, false,
          "the scaler counts good steps in an int32 tensor"),
      num("train.cuda_graph", &c.train.cuda_graph,
          "CUDA: capture the whole step once as a CUDA graph and replay it each step (needs loader.drop_last, a "
          "fused optimizer and one process)"),

      num("repro.seed", &c.repro.seed, "the one seed every random stream derives from"),
      num("repro.deterministic", &c.repro.deterministic, "use deterministic algorithms only"),
      num("repro.fill_uninitialized", &c.repro.fill_uninitialized,
          "with repro.deterministic: fill new tensors with NaN to catch a kernel reading memory it never wrote "
          "(a debugging aid; slower)"),

      num("checkpoint.every", &c.checkpoint.every, "save a checkpoint every N optimizer steps (0 = end only)", 0,
          kMaxSteps, false, kStepsWhy),
      num("checkpoint.keep", &c.checkpoint.keep, "keep the newest N checkpoints", 1, 1e5, false,
          "over 10^5 checkpoint files would fill the disk"),

      num("log.every", &c.log.every, "console log line every N steps", 1, kMaxSteps, false, kStepsWhy),
      str("log.progress", &c.log.progress, "auto (bar on a terminal, lines otherwise) | bar | lines | off",
          {"auto", "bar", "lines", "off"}),
      num("log.tensorboard", &c.log.tensorboard,
          "write TensorBoard scalars and text to RUN_DIR/tb/ (tensorboard --logdir RUN_DIR)"),
  };
}

}  // namespace

std::vector<Field> fields(RunConfig& c) {
  auto out = shared_fields(c);
  const auto after = std::find_if(out.begin(), out.end(), [](const Field& f) { return f.key == "model.sync_bn"; }) + 1;
  auto knobs = table_fields(c, c.model.name);
  out.insert(after, std::make_move_iterator(knobs.begin()), std::make_move_iterator(knobs.end()));
  return out;
}

std::optional<Field> find_field(RunConfig& c, const std::string& key) {
  // Model and knob names are bare keys (no dots), so "model.<model>.<knob>" splits one way.
  if (key.rfind("model.", 0) == 0 && std::count(key.begin(), key.end(), '.') == 2) {
    const std::string model = key.substr(6, key.find('.', 6) - 6);
    for (auto& f : table_fields(c, model)) {
      if (f.key == key) return f;
    }
    return std::nullopt;
  }
  for (auto& f : shared_fields(c)) {
    if (f.key == key) return f;
  }
  return std::nullopt;
}

std::vector<std::string> all_keys() {
  RunConfig c;
  std::vector<std::string> keys;
  for (const auto& f : shared_fields(c)) keys.push_back(f.key);
  for (const auto& model : model_table_names()) {
    for (const auto& f : table_fields(c, model)) keys.push_back(f.key);
  }
  return keys;
}

std::vector<std::string> all_sections() {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& k : all_keys()) {
    const std::string s = k.substr(0, k.find('.'));
    if (seen.insert(s).second) out.push_back(s);
  }
  return out;
}

std::string type_name(const FieldPtr& ptr) {
  struct V {
    std::string operator()(bool*) const { return "boolean"; }
    std::string operator()(int64_t*) const { return "integer"; }
    std::string operator()(uint64_t*) const { return "non-negative integer"; }
    std::string operator()(double*) const { return "number"; }
    std::string operator()(std::string*) const { return "string"; }
    std::string operator()(std::vector<int64_t>*) const { return "array of integers"; }
    std::string operator()(std::vector<double>*) const { return "array of numbers"; }
    std::string operator()(std::vector<std::string>*) const { return "array of strings"; }
  };
  return std::visit(V{}, ptr);
}

}  // namespace kiln::config
