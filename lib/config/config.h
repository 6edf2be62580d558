// RunConfig: the whole configuration of a run as a plain struct tree. The in-class
// initialisers below are the one source of defaults; `kiln train` with no config uses them.
// Every key is listed once more, with its help text, in fields.cpp (for TOML, --set, print).
// A model's own knobs are the exception: the model declares them, defaults and help together
// (config/model_table.h; lib/model/mlp.h for one).
#pragma once
#include <any>
#include <cstdint>
#include <map>
#include <string>
#include <typeinfo>
#include <vector>

namespace kiln::config {

struct DataConfig {
  std::string dataset = "fashion-mnist";                  // registered dataset name
  std::string dir = "/usr/share/datasets/fashion-mnist";  // IDX files, .gz or plain
  int64_t limit_train = 0;                                // use only the first N train samples (0 = all)
  int64_t limit_test = 0;                                 // use only the first N test samples (0 = all)
  std::vector<double> mean = {0.2860};                    // per channel, on the [0,1] scale
  std::vector<double> std = {0.3530};
  // image-folder (data/image_folder.h): data.dir holds train/<class>/* and val/ or test/.
  int64_t image_size = 224;                      // output side in pixels (square)
  int64_t channels = 3;                          // 1 (gray) or 3 (RGB); alpha is dropped
  int64_t resize_size = 0;                       // evaluation: shorter side before the centre crop (0 = size * 8 / 7)
  std::vector<double> crop_scale = {0.08, 1.0};  // training RandomResizedCrop: area share range
  std::vector<double> crop_ratio = {0.75, 4.0 / 3.0};  // and width/height range
  double val_fraction = 0;                             // > 0: no val/ folder; hold out this share of train/
  std::string on_bad_image = "error";                  // error | skip
  bool jpeg_scaling = true;  // decode JPEGs at 1/2, 1/4 or 1/8 where that still covers the crop (false: full size)
  // File sources (tokens, data/tokens.h): paths or glob patterns, several files concatenated
  // in sorted order.
  std::string train;           // training file(s)
  std::string test;            // validation file(s) ("" = hold out the end of data.train)
  int64_t seq_len = 256;       // tokens: window length the model sees (each window reads seq_len + 1 tokens)
  int64_t val_tokens = 0;      // tokens without data.test: hold out the last N tokens (0 = a tenth, at most 2^20)
  std::string dtype = "auto";  // tokens: auto | uint8 (bytes) | uint16 | uint32 (headerless .bin)
  int64_t vocab = 0;           // tokens: vocabulary size (0 = 256 for bytes, else the largest id + 1)
  // csv (data/table.h)
  std::string target;                    // the target column
  std::vector<std::string> features;     // feature columns (empty = every other numeric column)
  std::vector<std::string> categorical;  // string columns one-hot encoded
  std::string missing = "error";         // a missing cell: error | mean (the training split's)
  // npy (data/arrays.h): the .npz members holding the inputs and the targets
  std::string x = "x";
  std::string y = "y";
  // Not a config key: train.task, which sources whose targets depend on it read (a csv's
  // target is class labels for classification, numbers otherwise). build_components sets it.
  std::string task;
};

struct LoaderConfig {
  int64_t batch_size = 128;
  int64_t eval_batch_size = 1000;
  bool shuffle = true;
  bool drop_last = false;
  int64_t threads = 0;        // worker threads (0 = the machine's cores)
  int64_t prefetch = 4;       // batches prepared ahead of the training step (ring slots)
  bool gpu_normalize = true;  // CUDA: copy uint8 to the GPU and normalise there
};

struct AugmentConfig {
  int64_t crop_padding = 0;  // random crop from the image zero-padded by N pixels (0 = off)
  bool hflip = false;        // random horizontal flip
};

// A program error, not a user's: a model's knobs read as another struct than its table holds.
[[noreturn]] void throw_wrong_knobs_type(const char* wanted, const char* held);

// The keys every model shares; each model's own knobs are in its table, [model.<name>]
// (config/model_table.h), registered with the model.
struct ModelConfig {
  std::string name = "mlp";    // mlp | cnn | resnet | transformer | a registered model
  double dropout = 0.2;        // dropout before the classifier (0 = off)
  bool channels_last = false;  // conv nets: NHWC weights and input batches (faster convs in bf16/fp16)
  bool sync_bn = false;        // data-parallel jobs: BatchNorm over the job's whole batch (else each rank's)
  // Knob values by model name: the knobs struct of that model's table, holding its defaults
  // changed by what the config set. A model with no entry here has its table's defaults.
  std::map<std::string, std::any> tables;

  // The chosen model's knobs (T is the knobs struct it registered; T's defaults if unset).
  template <class T>
  const T& knobs() const {
    const auto it = tables.find(name);
    if (it == tables.end()) {
      static const T defaults{};
      return defaults;
    }
    const T* t = std::any_cast<T>(&it->second);
    if (!t) throw_wrong_knobs_type(typeid(T).name(), it->second.type().name());
    return *t;
  }
  // The same, to change them in code (inserts T's defaults first).
  template <class T>
  T& knobs() {
    auto it = tables.try_emplace(name, T{}).first;
    T* t = std::any_cast<T>(&it->second);
    if (!t) throw_wrong_knobs_type(typeid(T).name(), it->second.type().name());
    return *t;
  }
};

struct OptimConfig {
  std::string name = "adamw";  // adamw | sgd
  double lr = 1e-3;
  double weight_decay = 0.0;  // decoupled for adamw, L2 for sgd
  double momentum = 0.9;      // sgd
  bool nesterov = false;      // sgd
  double beta1 = 0.9;         // adamw
  double beta2 = 0.999;       // adamw
  double eps = 1e-8;          // adamw
  // auto | true | false: ATen's fused kernel (optim/fused_*.h) or LibTorch's per-parameter one
  std::string fused = "auto";
};

struct ScheduleConfig {
  std::string name = "cosine";    // constant | step | cosine | onecycle
  int64_t warmup_steps = 0;       // linear warm-up from 0 to the schedule's lr
  int64_t step_size = 0;          // step: decay every N steps (0 = one epoch)
  double gamma = 0.1;             // step: decay factor
  double min_lr = 0.0;            // cosine: final lr
  double pct_start = 0.3;         // onecycle: share of steps spent rising
  double div_factor = 25.0;       // onecycle: initial lr = lr / div_factor
  double final_div_factor = 1e4;  // onecycle: final lr = initial lr / final_div_factor
};

struct TrainConfig {
  std::string name = "fashion";         // run name: runs/<name>-<timestamp>/
  std::string task = "classification";  // what is learned: its loss and metrics (a registered task)
  int64_t epochs = 15;
  int64_t max_steps = 0;   // optimizer-step budget (0 = epochs decide)
  int64_t eval_every = 0;  // evaluate every N optimizer steps and after the last (0 = every epoch's end)
  double label_smoothing = 0.0;
  std::string regression_loss = "mse";  // regression: mse | huber
  double huber_delta = 1.0;             // regression with huber: quadratic within, linear outside
  double grad_clip = 0.0;               // max global grad L2 norm (0 = off)
  int64_t grad_accum = 1;               // micro-batches per optimizer step
  std::string device = "auto";          // auto | cpu | cuda | cuda:N
  int64_t threads = 0;                  // LibTorch intra-op threads (0 = its default)
  std::string on_nonfinite = "stop";    // a nan/inf loss: stop | skip (the update) | ignore
  std::string precision = "fp32";       // fp32 | bf16 | fp16 (mixed: autocast, fp32 master weights)
  std::string tf32 = "auto";            // fp32 matmuls/convs in TF32 on CUDA: auto (on unless deterministic) | on | off
  // fp16's dynamic loss scale (GradScaler; PyTorch's names and defaults).
  double fp16_init_scale = 65536.0;     // the scale at the start (2^16)
  double fp16_growth_factor = 2.0;      // times this after fp16_growth_interval finite steps in a row
  double fp16_backoff_factor = 0.5;     // times this on a step with an inf/nan gradient (skipped)
  int64_t fp16_growth_interval = 2000;  // finite steps in a row before the scale grows
  // CUDA: capture the whole step (forward, loss, backward, unscale, clip, fused optimizer)
  // once as a CUDA graph and replay it every step (train/graph_step.h says what it needs).
  bool cuda_graph = false;
};

struct ReproConfig {
  uint64_t seed = 0;
  bool deterministic = true;  // deterministic algorithms (see docs/reproducibility)
  // Deterministic mode only: fill each new tensor's memory with NaN (LibTorch's check for a
  // kernel that reads memory it never wrote). A debugging aid, not needed for determinism.
  bool fill_uninitialized = false;
};

struct CheckpointConfig {
  int64_t every = 0;  // save every N optimizer steps (0 = only at the end)
  int64_t keep = 2;   // keep the newest N checkpoints
};

struct LogConfig {
  int64_t every = 50;             // console line / progress refresh every N steps
  std::string progress = "auto";  // auto (bar on a terminal, lines otherwise) | bar | lines | off
  bool tensorboard = true;        // an event file under RUN_DIR/tb/
};

struct RunConfig {
  DataConfig data;
  LoaderConfig loader;
  AugmentConfig augment;
  ModelConfig model;
  OptimConfig optim;
  ScheduleConfig schedule;
  TrainConfig train;
  ReproConfig repro;
  CheckpointConfig checkpoint;
  LogConfig log;
};

}  // namespace kiln::config
