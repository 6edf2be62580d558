// kiln generate: rebuild, load, sample.
#include "generate/generate.h"

#include <ATen/ops/softmax.h>
#include <ATen/ops/tensor.h>
#include <torch/autograd.h>

#include <chrono>
#include <limits>

#include "checkpoint/checkpoint.h"
#include "model/transformer.h"
#include "repro/repro.h"
#include "repro/rng.h"
#include "run/run_model.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/fs.h"

namespace kiln::generate {
namespace {

namespace fs = std::filesystem;

// final.pt, else the newest complete step checkpoint (a run still training, or stopped).
fs::path pick_checkpoint(const run::RunDir& dir) {
  std::vector<fs::path> candidates;
  if (fs::exists(dir.final_checkpoint())) candidates.push_back(dir.final_checkpoint());
  for (const auto& p : dir.step_checkpoints()) candidates.push_back(p);
  for (const auto& p : candidates) {
    try {
      checkpoint::verify(p);
      return p;
    } catch (const Error&) {
      continue;  // incomplete (killed while writing) or damaged: try the next one
    }
  }
  throw Error::usage(dir.root.string() + " holds no complete checkpoint",
                     "train it (kiln train), or let a running one reach its first checkpoint");
}

// The index whose cumulative probability first exceeds u (u in [0, 1)), on the host in
// double precision: the same pick for the same probabilities on every machine.
int64_t invert_cdf(const at::Tensor& probs, double u) {
  const auto p = probs.to(at::kDouble).contiguous();
  const double* v = p.data_ptr<double>();
  const int64_t n = p.numel();
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += v[i];
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) {
    acc += v[i];
    if (u * total < acc) return i;
  }
  return n - 1;
}

}  // namespace

Result run(const Options& o, const std::function<void(char)>& emit) {
  if (o.tokens < 0) throw Error::usage("--tokens must be 0 or more");
  if (o.temperature < 0) throw Error::usage("--temperature must be 0 (greedy) or more");
  if (o.top_k < 0) throw Error::usage("--top-k must be 0 (off) or more");
  const run::RunModel rm = run::read_run_model(o.run_dir);
  const run::RunDir& dir = rm.dir;
  const config::RunConfig& cfg = rm.cfg;
  if (cfg.train.task != "language-model") {
    throw Error::usage(
        o.run_dir.string() + " trained train.task = \"" + cfg.train.task + "\"; kiln generate needs a language model",
        "train one with train.task = \"language-model\" (configs/lm_bytes.toml)");
  }
  const int64_t vocab = rm.input.outputs;
  if (vocab != 256) {
    throw Error::usage("the run's vocabulary has " + std::to_string(vocab) +
                           " ids (a tokenizer's); kiln generate writes and reads UTF-8 bytes (vocab 256) only",
                       "train on text (data.dtype = \"uint8\" or a text file) to sample text");
  }
  const model::InputSpec& input = rm.input;
  const auto& knobs = cfg.model.knobs<model::TransformerKnobs>();
  const int64_t context = cfg.model.name == "transformer" && knobs.seq_len > 0 ? knobs.seq_len : input.shape.at(0);

  Result r;
  r.checkpoint = pick_checkpoint(dir);
  const std::string device = train::resolve_device(o.device);
  repro::set_deterministic(true);
  auto net = rm.build();
  checkpoint::load_weights(r.checkpoint, *net);
  net->to(c10::Device(device));
  net->eval();
  torch::NoGradGuard no_grad;

  std::vector<int64_t> ids(o.prompt.begin(), o.prompt.end());
  for (int64_t& t : ids) t &= 0xff;  // char may be signed
  if (ids.empty()) ids.push_back('\n');
  r.text.assign(o.prompt);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < o.tokens; ++i) {
    const int64_t from = std::max<int64_t>(0, int64_t(ids.size()) - context);
    const std::vector<int64_t> window(ids.begin() + from, ids.end());
    const at::Tensor x = at::tensor(window, at::kLong).view({1, -1}).to(c10::Device(device));
    at::Tensor logits = net->forward(x).select(1, -1).squeeze(0).to(at::kCPU).to(at::kDouble);  // [vocab]
    int64_t next;
    if (o.temperature == 0) {
      next = logits.argmax().item<int64_t>();
    } else {
      if (o.top_k > 0 && o.top_k < vocab) {
        const double kth = std::get<0>(logits.topk(o.top_k)).min().item<double>();
        logits = logits.masked_fill(logits < kth, -std::numeric_limits<double>::infinity());
      }
      const at::Tensor probs = at::softmax(logits / o.temperature, 0);
      const uint64_t bits = repro::philox_u64(o.seed, uint64_t(i), 0x67656e6572617465ull);  // "generate"
      next = invert_cdf(probs, double(bits >> 11) / double(1ull << 53));
    }
    ids.push_back(next);
    r.text.push_back(char(next));
    if (emit) emit(char(next));
  }
  r.generated = o.tokens;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace kiln::generate
