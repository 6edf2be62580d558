// Unit tests for the fused optimizers (fused_adamw.h, fused_sgd.h) on the CPU: 20 steps
// against LibTorch's AdamW / SGD on a small parameter set with fixed gradients, checkpoint
// round trips in both directions, lr changes, params without gradients, mixed dtypes,
// found_inf / grad_scale, and optim.fused in build().
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/serialize.h>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "optim/fused_adamw.h"
#include "optim/fused_sgd.h"
#include "optim/optimizer.h"
#include "util/error.h"

namespace kiln::optim {
namespace {

using Params = std::vector<at::Tensor>;
using Factory = std::function<std::unique_ptr<torch::optim::Optimizer>(const Params&)>;

constexpr int kSteps = 20;

// Shapes with element counts that are and are not multiples of the kernels' vector width
// (the tail loops), and a scalar-like one.
const std::vector<std::vector<int64_t>> kShapes = {{1}, {7}, {33, 5}, {4, 3, 5, 6}, {256}};

Params make_params(at::ScalarType dtype = at::kFloat, c10::Device device = c10::kCPU) {
  at::manual_seed(11);
  Params ps;
  for (const auto& s : kShapes) {
    ps.push_back(at::randn(s, at::TensorOptions().dtype(dtype)).to(device).requires_grad_(true));
  }
  return ps;
}

Params clone_params(const Params& from) {
  Params ps;
  for (const auto& p : from) ps.push_back(p.detach().clone().requires_grad_(true));
  return ps;
}

// The fixed gradients of step k (the same for every optimizer under test).
void set_grads(const Params& ps, int k) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1000 + k);
  for (const auto& p : ps) {
    p.mutable_grad() = at::randn(p.sizes(), gen, at::TensorOptions().dtype(p.scalar_type())).to(p.device());
  }
}

// lr of step k: changes every step, as kiln's schedules do (set_lr before each step).
double lr_at(int k) { return 0.01 * (1.0 + 0.5 * (k % 3)); }

void run_steps(torch::optim::Optimizer& opt, const Params& ps, int from, int to) {
  for (int k = from; k < to; ++k) {
    set_lr(opt, lr_at(k));
    set_grads(ps, k);
    opt.step();
  }
}

// Largest |a - b| over all tensors.
double max_diff(const Params& a, const Params& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, (a[i].cpu() - b[i].cpu()).abs().max().item<double>());
  return m;
}

bool bit_identical(const Params& a, const Params& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (!at::equal(a[i].cpu(), b[i].cpu())) return false;
  }
  return true;
}

std::string save(const torch::optim::Optimizer& opt) {
  torch::serialize::OutputArchive a;
  opt.save(a);
  std::ostringstream out;
  a.save_to(out);
  return out.str();
}

void load(torch::optim::Optimizer& opt, const std::string& bytes) {
  torch::serialize::InputArchive a;
  std::istringstream in(bytes);
  a.load_from(in);
  opt.load(a);
}

// ---- optimizers under test ------------------------------------------------------------

torch::optim::AdamWOptions adamw_options(bool amsgrad = false) {
  return torch::optim::AdamWOptions(0.01).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.05).amsgrad(amsgrad);
}

Factory adamw(bool fused, bool amsgrad = false) {
  return [=](const Params& ps) -> std::unique_ptr<torch::optim::Optimizer> {
    if (fused) return std::make_unique<FusedAdamW>(ps, adamw_options(amsgrad));
    return std::make_unique<torch::optim::AdamW>(ps, adamw_options(amsgrad));
  };
}

struct SgdCase {
  const char* name;
  double momentum, weight_decay;
  bool nesterov;
  bool bit_identical;  // to LibTorch's SGD (see kSgdTol)
};
const SgdCase kSgdCases[] = {
    {"plain", 0.0, 0.0, false, true},     {"weight_decay", 0.0, 1e-2, false, true},
    {"momentum", 0.9, 0.0, false, false}, {"momentum_weight_decay", 0.9, 1e-2, false, false},
    {"nesterov", 0.9, 0.0, true, false},  {"nesterov_weight_decay", 0.9, 1e-2, true, false},
};

Factory sgd(bool fused, const SgdCase& c) {
  return [=](const Params& ps) -> std::unique_ptr<torch::optim::Optimizer> {
    auto o = torch::optim::SGDOptions(0.01).momentum(c.momentum).weight_decay(c.weight_decay).nesterov(c.nesterov);
    if (fused) return std::make_unique<FusedSGD>(ps, o);
    return std::make_unique<torch::optim::SGD>(ps, o);
  };
}

// 20 steps of `make` from the same start; the parameters after them.
Params train(const Factory& make, at::ScalarType dtype = at::kFloat, c10::Device device = c10::kCPU) {
  Params ps = make_params(dtype, device);
  auto opt = make(ps);
  run_steps(*opt, ps, 0, kSteps);
  return ps;
}

// 5 steps with `first`, save, a fresh `second` (on parameters restored as a checkpoint
// restores them) loads the state, 15 more steps.
Params train_switching(const Factory& first, const Factory& second) {
  Params ps = make_params();
  auto a = first(ps);
  run_steps(*a, ps, 0, 5);
  const std::string bytes = save(*a);
  Params qs = clone_params(ps);
  auto b = second(qs);
  load(*b, bytes);
  run_steps(*b, qs, 5, kSteps);
  return qs;
}

// Why fused and LibTorch's differ, and by how much (float32; 20 steps of ~0.01 on weights of
// ~1, where one ulp is 1.2e-7). Measured on this CPU (Xeon, AVX-512): AdamW 1.2e-7, SGD with
// momentum 1.3e-7, SGD without momentum bit-identical; the bounds allow 3 ulp.
// - AdamW: the kernel computes each element's whole update in registers where AdamW rounds
//   after every whole-tensor op (mul_, add_, addcmul_, sqrt, div, add_, addcdiv_), and takes
//   its own vectorised sqrt, not VML's: ~0.15 % of the elements end an ulp apart.
// - SGD with momentum: only in the kernel's scalar tail (the elements past a tensor's last
//   full vector), where the compiler made buf * momentum + grad one fused multiply-add;
//   SGD's buf.mul_(momentum).add_(grad) rounds the product first, as the vector body does.
//   Tensors whose size is a multiple of 16 match bit for bit. Without momentum both compute
//   p + (-lr) * (g + wd * p) with the same roundings everywhere: bit-identical.
// In double the same differences are ~1e-16 relative.
constexpr double kAdamWTol = 4e-7;
constexpr double kSgdTol = 4e-7;
constexpr double kDoubleTol = 1e-14;

// ---- fused vs LibTorch ----------------------------------------------------------------

TEST(FusedAdamW, MatchesAdamWOverTwentySteps) {
  const Params ref = train(adamw(false));
  const Params got = train(adamw(true));
  const double d = max_diff(ref, got);
  std::cout << "[ fused AdamW vs AdamW, 20 steps: max |diff| " << d << ", bit-identical "
            << (bit_identical(ref, got) ? "yes" : "no") << " ]\n";
  EXPECT_LE(d, kAdamWTol);
  EXPECT_GT(max_diff(ref, make_params()), 0.05) << "the steps moved the weights";
}

TEST(FusedAdamW, MatchesAdamWWithAmsgrad) {
  const Params ref = train(adamw(false, true));
  const Params got = train(adamw(true, true));
  EXPECT_LE(max_diff(ref, got), kAdamWTol);
}

TEST(FusedAdamW, MatchesAdamWInDouble) {
  const Params ref = train(adamw(false), at::kDouble);
  const Params got = train(adamw(true), at::kDouble);
  EXPECT_LE(max_diff(ref, got), kDoubleTol);
}

TEST(FusedAdamW, StateMatchesAdamW) {
  Params pa = make_params(), pb = make_params();
  auto a = adamw(false)(pa);
  auto b = adamw(true)(pb);
  run_steps(*a, pa, 0, kSteps);
  run_steps(*b, pb, 0, kSteps);
  for (size_t i = 0; i < pa.size(); ++i) {
    auto& sa = static_cast<torch::optim::AdamWParamState&>(*a->state().at(pa[i].unsafeGetTensorImpl()));
    auto& sb = static_cast<torch::optim::AdamWParamState&>(*b->state().at(pb[i].unsafeGetTensorImpl()));
    EXPECT_EQ(sa.step(), kSteps);
    EXPECT_EQ(sb.step(), kSteps);
    EXPECT_TRUE(at::allclose(sa.exp_avg(), sb.exp_avg(), 1e-5, 1e-7)) << i;
    EXPECT_TRUE(at::allclose(sa.exp_avg_sq(), sb.exp_avg_sq(), 1e-5, 1e-7)) << i;
    EXPECT_FALSE(sb.max_exp_avg_sq().defined()) << "amsgrad is off";
  }
}

TEST(FusedSGD, MatchesSGDOverTwentySteps) {
  for (const SgdCase& c : kSgdCases) {
    const Params ref = train(sgd(false, c));
    const Params got = train(sgd(true, c));
    const double d = max_diff(ref, got);
    std::cout << "[ fused SGD vs SGD (" << c.name << "), 20 steps: max |diff| " << d << ", bit-identical "
              << (bit_identical(ref, got) ? "yes" : "no") << " ]\n";
    EXPECT_LE(d, kSgdTol) << c.name;
    if (c.bit_identical) EXPECT_TRUE(bit_identical(ref, got)) << c.name;
  }
}

TEST(FusedSGD, MatchesSGDInDouble) {
  for (const SgdCase& c : kSgdCases) {
    EXPECT_LE(max_diff(train(sgd(false, c), at::kDouble), train(sgd(true, c), at::kDouble)), kDoubleTol) << c.name;
  }
}

// model.channels_last: 4-D weights are NHWC-strided, and so their gradients (autograd lays a
// gradient out as its parameter). The kernels walk memory element by element, so the same
// values in another dense layout give bit-identical results, whether the gradient comes in
// channels-last or contiguous (then as a copy in the parameter's layout, written back after);
// state saved from a contiguous run loads into channels-last parameters.
Params to_channels_last(const Params& ps) {
  Params out;
  for (const auto& p : ps) {
    out.push_back(p.dim() == 4 ? p.detach().contiguous(at::MemoryFormat::ChannelsLast).requires_grad_(true) : p);
  }
  return out;
}

TEST(FusedOptim, ChannelsLastParametersGiveTheContiguousResults) {
  const SgdCase& momentum = kSgdCases[3];
  for (const auto& [name, make] : std::vector<std::pair<std::string, Factory>>{
           {"adamw", adamw(true)}, {"adamw_amsgrad", adamw(true, true)}, {"sgd_momentum", sgd(true, momentum)}}) {
    const Params ref = train(make);
    for (const bool cl_grads : {false, true}) {
      Params ps = to_channels_last(make_params());
      ASSERT_TRUE(ps[3].is_contiguous(at::MemoryFormat::ChannelsLast));
      auto opt = make(ps);
      for (int k = 0; k < kSteps; ++k) {
        set_lr(*opt, lr_at(k));
        set_grads(ps, k);
        if (cl_grads) ps[3].mutable_grad() = ps[3].grad().contiguous(at::MemoryFormat::ChannelsLast);
        opt->step();
      }
      EXPECT_TRUE(ps[3].is_contiguous(at::MemoryFormat::ChannelsLast)) << name << ": the layout is kept";
      EXPECT_TRUE(bit_identical(ref, ps)) << name << (cl_grads ? ", channels-last grads" : ", contiguous grads");
    }
    // 5 contiguous steps, saved; loaded into channels-last parameters; 15 more.
    Params ps = make_params();
    auto a = make(ps);
    run_steps(*a, ps, 0, 5);
    const std::string bytes = save(*a);
    Params qs = to_channels_last(clone_params(ps));
    auto b = make(qs);
    load(*b, bytes);
    run_steps(*b, qs, 5, kSteps);
    EXPECT_TRUE(bit_identical(ref, qs)) << name << ": resumed into channels-last";
  }
}

// kiln's train.threads changes speed, never results (resume treats it as harmless): the
// fused kernels split tensors across intra-op threads without changing any element's maths.
TEST(FusedOptim, ResultsDoNotDependOnTheThreadCount) {
  const int threads = at::get_num_threads();
  auto big = [](const Factory& make) {
    at::manual_seed(3);
    Params ps = {at::randn({100003}).requires_grad_(true), at::randn({165}).requires_grad_(true)};
    auto opt = make(ps);
    run_steps(*opt, ps, 0, 5);
    return ps;
  };
  const SgdCase momentum{"momentum", 0.9, 1e-2, false, false};
  for (const Factory& make : {adamw(true), sgd(true, momentum)}) {
    at::set_num_threads(1);
    const Params one = big(make);
    for (int n : {2, 3}) {
      at::set_num_threads(n);
      EXPECT_TRUE(bit_identical(big(make), one)) << n << " threads";
    }
  }
  at::set_num_threads(threads);
}

// ---- checkpoints: fused and unfused load each other's state ---------------------------

TEST(FusedAdamW, CheckpointsInterchangeWithAdamW) {
  const Params unfused = train(adamw(false));
  const Params fused = train(adamw(true));
  // Resuming with the same kind is exact.
  EXPECT_TRUE(bit_identical(train_switching(adamw(true), adamw(true)), fused));
  EXPECT_TRUE(bit_identical(train_switching(adamw(false), adamw(false)), unfused));
  // Switching kind matches either run that never switched within the same tolerance.
  EXPECT_LE(max_diff(train_switching(adamw(true), adamw(false)), unfused), kAdamWTol);
  EXPECT_LE(max_diff(train_switching(adamw(false), adamw(true)), unfused), kAdamWTol);
  EXPECT_LE(max_diff(train_switching(adamw(false), adamw(true)), fused), kAdamWTol);
}

TEST(FusedAdamW, LoadedStepCountDrivesTheBiasCorrection) {
  // After 5 unfused steps a fused AdamW that loads the state takes step 6 (bias corrections
  // 1 - beta^6), not step 1: it must equal the unfused sixth step, not restart.
  Params pa = make_params();
  auto a = adamw(false)(pa);
  run_steps(*a, pa, 0, 5);
  const std::string bytes = save(*a);
  Params pb = clone_params(pa);
  auto b = adamw(true)(pb);
  load(*b, bytes);
  run_steps(*a, pa, 5, 6);
  run_steps(*b, pb, 5, 6);
  EXPECT_LE(max_diff(pa, pb), kAdamWTol);
  auto& s = static_cast<torch::optim::AdamWParamState&>(*b->state().at(pb[0].unsafeGetTensorImpl()));
  EXPECT_EQ(s.step(), 6);
}

TEST(FusedSGD, CheckpointsInterchangeWithSGD) {
  for (const SgdCase& c : kSgdCases) {
    const Params unfused = train(sgd(false, c));
    const Params fused = train(sgd(true, c));
    EXPECT_TRUE(bit_identical(train_switching(sgd(true, c), sgd(true, c)), fused)) << c.name;
    EXPECT_TRUE(bit_identical(train_switching(sgd(false, c), sgd(false, c)), unfused)) << c.name;
    EXPECT_LE(max_diff(train_switching(sgd(true, c), sgd(false, c)), unfused), kSgdTol) << c.name;
    EXPECT_LE(max_diff(train_switching(sgd(false, c), sgd(true, c)), unfused), kSgdTol) << c.name;
    if (c.bit_identical) EXPECT_TRUE(bit_identical(train_switching(sgd(true, c), sgd(false, c)), unfused)) << c.name;
  }
}

// ---- lr, missing gradients, dtypes ----------------------------------------------------

TEST(FusedOptim, LrChangesTakeEffect) {
  // lr 0 (no weight decay): nothing moves; then a step with lr 0.1 moves every weight.
  const SgdCase momentum{"momentum", 0.9, 0.0, false, false};
  for (const Factory& make : {adamw(true), sgd(true, momentum)}) {
    Params ps = make_params();
    auto opt = make(ps);
    run_steps(*opt, ps, 0, 3);
    const Params before = clone_params(ps);
    for (auto& g : opt->param_groups()) {
      if (auto* o = dynamic_cast<torch::optim::AdamWOptions*>(&g.options())) o->weight_decay(0.0);
    }
    set_lr(*opt, 0.0);
    set_grads(ps, 3);
    opt->step();
    EXPECT_TRUE(bit_identical(ps, before));
    set_lr(*opt, 0.1);
    set_grads(ps, 4);
    opt->step();
    for (size_t i = 0; i < ps.size(); ++i) EXPECT_TRUE(at::all(ps[i] != before[i]).item<bool>()) << i;
  }
}

TEST(FusedOptim, SkipsParamsWithoutGrad) {
  const SgdCase momentum{"momentum", 0.9, 0.0, false, false};
  for (const Factory& make : {adamw(true), sgd(true, momentum)}) {
    Params ps = make_params();
    auto opt = make(ps);
    const at::Tensor frozen = ps[2].detach().clone();
    set_grads(ps, 0);
    ps[2].mutable_grad() = at::Tensor();
    opt->step();
    EXPECT_TRUE(at::equal(ps[2], frozen));
    EXPECT_EQ(opt->state().count(ps[2].unsafeGetTensorImpl()), 0u);
    EXPECT_EQ(opt->state().count(ps[0].unsafeGetTensorImpl()), 1u);
  }
}

TEST(FusedOptim, MixedDtypesGoToSeparateCalls) {
  // float and double parameters in one optimizer: each matches LibTorch's on its own.
  Params ref = make_params(), got = make_params();
  Params ref64 = make_params(at::kDouble), got64 = make_params(at::kDouble);
  Params ref_all = ref, got_all = got;
  ref_all.insert(ref_all.end(), ref64.begin(), ref64.end());
  got_all.insert(got_all.end(), got64.begin(), got64.end());
  torch::optim::AdamW a(ref_all, adamw_options());
  FusedAdamW b(got_all, adamw_options());
  run_steps(a, ref_all, 0, kSteps);
  run_steps(b, got_all, 0, kSteps);
  EXPECT_LE(max_diff(ref, got), kAdamWTol);
  EXPECT_LE(max_diff(ref64, got64), kDoubleTol);
}

// ---- found_inf and grad_scale ---------------------------------------------------------

at::Tensor flag(float v, c10::Device device = c10::kCPU) {
  return at::full({1}, v, at::TensorOptions().dtype(at::kFloat).device(device));
}

TEST(FusedAdamW, FoundInfSkipsTheUpdateAndTheStepCount) {
  Params pa = make_params(), pb = make_params();
  auto a = adamw(true)(pa);
  FusedAdamW b(pb, adamw_options());
  run_steps(*a, pa, 0, 3);
  run_steps(b, pb, 0, 3);
  const Params before = clone_params(pb);
  set_grads(pb, 99);
  b.step_scaled({std::nullopt, flag(1)});  // skipped
  EXPECT_TRUE(bit_identical(pb, before));
  for (int k = 3; k < 6; ++k) {  // found_inf 0: ordinary steps
    set_lr(b, lr_at(k));
    set_grads(pb, k);
    b.step_scaled({std::nullopt, flag(0)});
  }
  run_steps(*a, pa, 3, 6);
  EXPECT_TRUE(bit_identical(pa, pb)) << "the skipped step left no trace";
  // The saved state counts 6 steps, not 7.
  FusedAdamW c(clone_params(pb), adamw_options());
  load(c, save(b));
  auto& s = static_cast<torch::optim::AdamWParamState&>(*c.state().begin()->second);
  EXPECT_EQ(s.step(), 6);
}

TEST(FusedAdamW, GradScaleUnscalesInPlace) {
  // Gradients scaled by 2^10 with grad_scale 2^10 give the unscaled step exactly (a power of
  // two divides without rounding), and the gradients are left unscaled.
  Params pa = make_params(), pb = make_params();
  FusedAdamW a(pa, adamw_options()), b(pb, adamw_options());
  for (int k = 0; k < 4; ++k) {
    set_grads(pa, k);
    set_grads(pb, k);
    for (auto& p : pb) p.mutable_grad().mul_(1024);
    a.step();
    b.step_scaled({flag(1024), std::nullopt});
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(at::equal(pa[i].grad(), pb[i].grad())) << i;
  }
  EXPECT_TRUE(bit_identical(pa, pb));
}

TEST(FusedSGD, FoundInfOnTheFirstStepLeavesAFreshBuffer) {
  // A skipped first step creates a zero momentum buffer; the next step must equal a first
  // step (buf = grad), so the whole run matches one that never saw the skip.
  for (const SgdCase& c : kSgdCases) {
    Params pa = make_params(), pb = make_params();
    auto a = sgd(true, c)(pa);
    auto b = sgd(true, c)(pb);
    auto& fb = dynamic_cast<FusedSGD&>(*b);
    set_grads(pb, 99);
    fb.step_scaled({std::nullopt, flag(1)});
    EXPECT_TRUE(bit_identical(pb, make_params())) << c.name;
    for (int k = 0; k < 5; ++k) {
      set_lr(fb, lr_at(k));
      set_grads(pb, k);
      fb.step_scaled({flag(1), flag(0)});
    }
    run_steps(*a, pa, 0, 5);
    EXPECT_TRUE(bit_identical(pa, pb)) << c.name;
  }
}

// ---- CUDA (bench/gpu_checks.sh cuda_tests runs *Cuda*; skipped without a GPU) -------------

TEST(FusedCuda, MatchesLibTorchAndSkipsOnFoundInf) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const c10::Device cuda(c10::kCUDA, 0);
  EXPECT_TRUE(fused_available("adamw", c10::DeviceType::CUDA));
  EXPECT_TRUE(fused_available("sgd", c10::DeviceType::CUDA));
  const Params ref = train(adamw(false), at::kFloat, cuda);
  const Params got = train(adamw(true), at::kFloat, cuda);
  std::cout << "[ CUDA fused AdamW vs AdamW, 20 steps: max |diff| " << max_diff(ref, got) << " ]\n";
  EXPECT_LE(max_diff(ref, got), kAdamWTol);
  EXPECT_LE(max_diff(got, train(adamw(true))), kAdamWTol) << "CUDA against CPU";
  for (const SgdCase& c : kSgdCases) {
    EXPECT_LE(max_diff(train(sgd(false, c), at::kFloat, cuda), train(sgd(true, c), at::kFloat, cuda)), kSgdTol)
        << c.name;
  }
  // found_inf read on the device: the skipped step leaves weights and step count alone.
  Params ps = make_params(at::kFloat, cuda);
  FusedAdamW opt(ps, adamw_options());
  run_steps(opt, ps, 0, 3);
  const Params before = clone_params(ps);
  set_grads(ps, 99);
  opt.step_scaled({flag(1, cuda), flag(1, cuda)});
  EXPECT_TRUE(bit_identical(ps, before));
  FusedAdamW loaded(clone_params(ps), adamw_options());
  load(loaded, save(opt));
  EXPECT_EQ(static_cast<torch::optim::AdamWParamState&>(*loaded.state().begin()->second).step(), 3);
}

// ---- build() and optim.fused ----------------------------------------------------------

// ---- the CUDA-graph mode's host side: device lr, initial state, device step counts ------

// The calls a captured step makes, run eagerly here: init_state() before the first step,
// the lr from a float32 tensor filled before each step, found_inf always passed. The same
// 20 steps as the ordinary run, bit for bit, and a checkpoint taken after them holds the
// device's step count. The device lr is float32, as CUDA's kernels read it; an lr that is
// no float32 number would differ by its rounding (AdamW: 1 ulp of the weights, measured), so
// both runs take lrs that are.
TEST(FusedOptim, DeviceLrAndInitialStateGiveTheOrdinaryRun) {
  const std::vector<std::pair<const char*, Factory>> cases = {{"adamw", adamw(true)},
                                                              {"adamw_amsgrad", adamw(true, true)},
                                                              {"sgd_momentum", sgd(true, kSgdCases[3])},
                                                              {"sgd_nesterov", sgd(true, kSgdCases[5])}};
  auto lr_f = [](int k) { return double(float(lr_at(k))); };
  for (const auto& [name, make] : cases) {
    Params ordinary = make_params();
    {
      auto o = make(ordinary);
      for (int k = 0; k < kSteps; ++k) {
        set_lr(*o, lr_f(k));
        set_grads(ordinary, k);
        o->step();
      }
    }
    Params ps = make_params();
    auto opt = make(ps);
    auto* fused = dynamic_cast<FusedStep*>(opt.get());
    ASSERT_NE(fused, nullptr) << name;
    fused->init_state();
    const at::Tensor lr = at::zeros({}, at::kFloat);
    fused->use_device_lr(lr);
    const at::Tensor no_inf = at::zeros({}, at::kFloat);
    for (int k = 0; k < kSteps; ++k) {
      set_lr(*opt, 123.0);  // ignored: the tensor rules
      lr.fill_(lr_f(k));
      set_grads(ps, k);
      fused->step_scaled({std::nullopt, no_inf});
    }
    EXPECT_TRUE(bit_identical(ps, ordinary)) << name << ": max diff " << max_diff(ps, ordinary);
    if (std::string(name).rfind("adamw", 0) == 0) {
      // A fresh AdamW loading the checkpoint takes step 21 next: the saved count is 20.
      Params qs = clone_params(ps);
      auto b = make(qs);
      load(*b, save(*opt));
      auto& st = static_cast<torch::optim::AdamWParamState&>(*b->state().at(qs[0].unsafeGetTensorImpl()));
      EXPECT_EQ(st.step(), kSteps) << name;
    }
  }
}

// What a replay does to the host: nothing. The device count still advances, and save()
// must read it (not the host's, which stopped at the captured call).
TEST(FusedAdamW, DeviceCountsAreSavedAfterStepsTheHostNeverSaw) {
  Params ps = make_params();
  auto opt = adamw(true)(ps);
  auto& f = dynamic_cast<FusedAdamW&>(*opt);
  f.init_state();
  f.use_device_lr(at::full({}, 0.01, at::kFloat));
  set_grads(ps, 0);
  f.step_scaled({std::nullopt, at::zeros({}, at::kFloat)});  // the "captured" call: host count 1
  // Two more updates, then the host counts wound back to 1 by hand: what two replays leave
  // (the device counts at 3, the host's where the captured call left them).
  for (int k = 1; k < 3; ++k) {
    set_grads(ps, k);
    f.step_scaled({std::nullopt, at::zeros({}, at::kFloat)});
  }
  for (auto& [key, st] : f.state()) static_cast<torch::optim::AdamWParamState&>(*st).step(1);
  Params qs = clone_params(ps);
  auto b = adamw(false)(qs);
  load(*b, save(*opt));
  EXPECT_EQ(static_cast<torch::optim::AdamWParamState&>(*b->state().at(qs[0].unsafeGetTensorImpl())).step(), 3);
}

TEST(FusedBuild, FusedKernelsExistOnCpu) {
  EXPECT_TRUE(fused_available("adamw", c10::DeviceType::CPU));
  EXPECT_TRUE(fused_available("sgd", c10::DeviceType::CPU));
  EXPECT_FALSE(fused_available("rmsprop", c10::DeviceType::CPU));
  EXPECT_FALSE(fused_available("adamw", c10::DeviceType::Meta));
}

TEST(FusedBuild, OptimFusedPicksTheImplementation) {
  for (const char* name : {"adamw", "sgd"}) {
    config::OptimConfig cfg;
    cfg.name = name;
    cfg.fused = "true";
    auto fused = build(cfg, make_params());
    EXPECT_NE(dynamic_cast<FusedStep*>(fused.get()), nullptr) << name;
    cfg.fused = "false";
    auto plain = build(cfg, make_params());
    EXPECT_EQ(dynamic_cast<FusedStep*>(plain.get()), nullptr) << name;
    // Still what the rest of kiln (and the older tests) expect.
    if (std::string(name) == "adamw") {
      EXPECT_NE(dynamic_cast<torch::optim::AdamW*>(fused.get()), nullptr);
    } else {
      EXPECT_NE(dynamic_cast<torch::optim::SGD*>(fused.get()), nullptr);
    }
    // auto: fused on the CPU too, where it was measured 1.2-4.4x faster (docs/benchmarks.md).
    cfg.fused = "auto";
    EXPECT_TRUE(use_fused(cfg, c10::Device(c10::kCPU))) << name;
    EXPECT_NE(dynamic_cast<FusedStep*>(build(cfg, make_params()).get()), nullptr) << name;
  }
}

TEST(FusedBuild, FusedTrueWithoutAKernelIsUsageError) {
  config::OptimConfig cfg;
  cfg.fused = "true";
  try {
    use_fused(cfg, c10::Device(c10::kMeta));
    FAIL() << "no throw";
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), kiln::ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("optim.fused = true"), std::string::npos) << e.what();
  }
  cfg.fused = "auto";
  EXPECT_FALSE(use_fused(cfg, c10::Device(c10::kMeta)));
}

}  // namespace
}  // namespace kiln::optim
