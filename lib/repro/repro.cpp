// Seeding, determinism switches, weights hash and environment facts.
#include "repro/repro.h"

#include <ATen/Context.h>
#include <ATen/Version.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>
#include <unistd.h>

#ifdef KILN_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

#include <ATen/detail/CUDAHooksInterface.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "repro/cpu_libs.h"
#include "repro/rng.h"
#include "repro/vml_warmup.h"
#include "util/sha256.h"
#include "util/version.h"

namespace kiln::repro {
namespace {

// "model name" of the first CPU in /proc/cpuinfo ("" where there is none): results on the
// CPU are bit-identical on one kind of CPU, so verify names it when it differs.
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      return line.substr(line.find(':') + 2);
    }
  }
  return "";
}

}  // namespace

void seed_torch(uint64_t seed, const std::string& stream) {
  // manual_seed takes the low 64 bits; the derived seed keeps streams independent.
  torch::manual_seed(derive_seed(seed, stream));
}

void set_deterministic(bool on, bool fill_uninitialized) {
  // cuBLAS reads this once, at its first use; deterministic GEMMs need a fixed workspace.
  // cli/main.cpp sets it at start-up; this covers programs that use kiln as a library.
  if (on) setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  // MKL CNR and fixed thread teams, before MKL first runs (the model is not built yet).
  set_cpu_libs_deterministic(on);
  // MKL's vector math, first called on each intra-op thread in turn rather than all at once.
  if (on) warm_up_vml();
  auto& ctx = at::globalContext();
  // warn_only = false: an op without a deterministic implementation stops the run with
  // LibTorch's error, which names the op (cli/main.cpp prints it, exit 1).
  ctx.setDeterministicAlgorithms(on, /*warn_only=*/false);
  // Under deterministic algorithms LibTorch also fills every new tensor (at::empty) with NaN,
  // so that a kernel reading memory it never wrote gives NaN rather than whatever was there.
  // Determinism does not need it where every kernel writes what it returns, and it costs a
  // memory pass per allocation: on a 2-core EPYC the small CNN at batch 128 ran 388-393
  // samples/s with it, 402-407 without (docs/benchmarks.md, "What deterministic mode costs").
  // Off unless repro.fill_uninitialized asks for the check; the suite trains with it on and
  // off and compares the weights (CliRepro.FillingNewMemoryWithNaNChangesNothing).
  ctx.setDeterministicFillUninitializedMemory(on && fill_uninitialized);
  ctx.setDeterministicCuDNN(on);
  ctx.setBenchmarkCuDNN(!on);
  // A fixed TF32 policy: off in deterministic mode (full float32 matmuls and convolutions),
  // so results do not depend on which GPU generation ran them; LibTorch's defaults otherwise.
  if (on) {
    ctx.setAllowTF32CuBLAS(false);
    ctx.setAllowTF32CuDNN(false);
    // oneDNN (CPU convolutions, batch norm): its deterministic attribute rules out the
    // implementations that reduce with atomics, so a result does not depend on which thread
    // got there first. (Its fp32 math stays fp32: LibTorch's default matmul precision,
    // "highest", gives oneDNN no bf16 shortcut on AMX CPUs.)
    ctx.setDeterministicMkldnn(true);
  }
}

void set_cuda_tf32(bool on) {
  auto& ctx = at::globalContext();
  ctx.setAllowTF32CuBLAS(on);
  ctx.setAllowTF32CuDNN(on);
}

std::string weights_sha256(const torch::nn::Module& m) {
  std::vector<std::pair<std::string, at::Tensor>> items;
  for (const auto& p : m.named_parameters(true)) items.emplace_back("param:" + p.key(), p.value());
  for (const auto& b : m.named_buffers(true)) items.emplace_back("buffer:" + b.key(), b.value());
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  util::Sha256 h;
  for (const auto& [name, t] : items) {
    auto c = t.detach().to(at::kCPU).contiguous();
    std::string head = name + "|" + std::string(c10::toString(c.scalar_type())) + "|";
    for (auto s : c.sizes()) head += std::to_string(s) + ",";
    h.update(head);
    h.update(c.data_ptr(), c.nbytes());
  }
  return h.hex_digest();
}

nlohmann::json environment(const std::string& device) {
  char host[256] = "";
  ::gethostname(host, sizeof host - 1);
  nlohmann::json j;
  j["kiln_version"] = util::version();
  j["git_revision"] = util::git_revision();
  j["libtorch_version"] = TORCH_VERSION;
  j["cuda_available"] = torch::cuda::is_available();
  j["cuda_device_count"] = torch::cuda::device_count();
  j["device"] = device;
  j["hostname"] = host;
  j["cpu_model"] = cpu_model();
  j["cpu_capability"] = at::get_cpu_capability();  // ATen's vector kernels: AVX2, AVX512, ...
  j["intra_op_threads"] = at::get_num_threads();
  j["deterministic_algorithms"] = at::globalContext().deterministicAlgorithms();
  j["tf32_cublas"] = at::globalContext().allowTF32CuBLAS();
  j["tf32_cudnn"] = at::globalContext().allowTF32CuDNN();
  j["deterministic_onednn"] = at::globalContext().deterministicMkldnn();
  j["fill_uninitialized_memory"] =
      at::globalContext().deterministicAlgorithms() && at::globalContext().deterministicFillUninitializedMemory();
  j["cpu_libs"] = cpu_libs_facts();
  if (torch::cuda::is_available()) {
    const auto& hooks = at::detail::getCUDAHooks();
    j["cuda_runtime_version"] = hooks.versionCUDART();
    if (at::globalContext().hasCuDNN()) j["cudnn_version"] = hooks.versionCuDNN();
#ifdef KILN_HAVE_CUDA
    cudaDeviceProp prop{};
    int driver = 0;
    const int index = device.rfind("cuda:", 0) == 0 ? std::stoi(device.substr(5)) : 0;
    if (cudaGetDeviceProperties(&prop, index) == cudaSuccess) j["cuda_device_name"] = prop.name;
    if (cudaDriverGetVersion(&driver) == cudaSuccess) j["cuda_driver_version"] = driver;
#endif
  }
  return j;
}

}  // namespace kiln::repro
