// One serialised first call of each VML function LibTorch uses, on every intra-op thread.
//
// Found on an Intel Xeon (family 6 model 207, 2 threads): in about 1 of 150 fresh processes,
// AdamW's exp_avg_sq.sqrt() came out of one of the two intra-op threads with errors of up to
// ~3.7e-4 relative (VML's HA mode is within 1 ulp), over exactly that thread's half of the
// tensor, while the gradients were bit-identical; the weights then differed from step 1 on.
// MKL CNR (MKL_CBWR) did not prevent it. The functions are looked up at run time, like the
// CNR controls in cpu_libs.cpp, so a LibTorch without MKL simply warms nothing.
#include "repro/vml_warmup.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <vector>

namespace kiln::repro {
namespace {

// The functions ATen/cpu/vml.h routes to MKL (vms*/vmd* take n, in, out and a mode).
constexpr const char* kFunctions[] = {"Acos", "Asin",  "Atan", "Cos",  "Erf", "Erfc", "ErfInv", "Exp",
                                      "Ln",   "Log10", "Sin",  "Sqrt", "Tan", "Tanh", "Trunc",  "Log2"};
// VML_HA | VML_FTZDAZ_OFF | VML_ERRMODE_IGNORE, the mode ATen passes (mkl_vml_defines.h).
constexpr int64_t kMode = 0x00000002 | 0x00140000 | 0x00000100;

using FloatFn = void (*)(int, const float*, float*, int64_t);
using DoubleFn = void (*)(int, const double*, double*, int64_t);

struct Table {
  std::vector<FloatFn> f;
  std::vector<DoubleFn> d;
};

Table lookup() {
  Table t;
  for (const char* name : kFunctions) {
    const std::string s = name;
    if (auto fn = reinterpret_cast<FloatFn>(::dlsym(RTLD_DEFAULT, ("vms" + s).c_str()))) t.f.push_back(fn);
    if (auto fn = reinterpret_cast<DoubleFn>(::dlsym(RTLD_DEFAULT, ("vmd" + s).c_str()))) t.d.push_back(fn);
  }
  return t;
}

void call_all(const Table& t) {
  // In (0, 1): inside every function's domain (acos, erfinv, log).
  constexpr int kN = 64;
  std::array<float, kN> fin{}, fout{};
  std::array<double, kN> din{}, dout{};
  for (int i = 0; i < kN; ++i) din[i] = fin[i] = 0.05f + 0.9f * float(i) / kN;
  for (auto fn : t.f) fn(kN, fin.data(), fout.data(), kMode);
  for (auto fn : t.d) fn(kN, din.data(), dout.data(), kMode);
}

}  // namespace

int warm_up_vml() {
  static const Table table = lookup();
  if (table.f.empty() && table.d.empty()) return 0;
  call_all(table);  // this thread first, alone
  // Then every intra-op thread, one after another (the mutex), so no first call races.
  const int threads = at::get_num_threads();
  std::mutex m;
  at::parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      std::lock_guard<std::mutex> lock(m);
      call_all(table);
    }
  });
  return int(table.f.size() + table.d.size());
}

}  // namespace kiln::repro
