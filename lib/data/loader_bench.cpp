// Loader throughput, memcpy ceiling and H2D bandwidth (see loader_bench.h).
#include "data/loader_bench.h"

#include <torch/cuda.h>

#include <sys/resource.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "data/image_folder.h"
#include "data/loader.h"
#include "util/log.h"
#include "util/parallel.h"

#ifdef KILN_HAVE_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace kiln::data {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU seconds (user + system) this process has used, all threads.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct Measured {
  double samples_per_s = 0, mb_per_s = 0;
  double cpu_s_per_sample = 0;  // all of the process's threads
  CopyTotals copies;            // the timed epochs' host-to-device copies (CUDA)
  double batch_bytes = 0;       // host bytes of one full batch: images (uint8 on the GPU path, else float32) + labels
  int64_t samples = 0;
};

// One warm-up epoch, then `epochs` timed epochs of finished batches on the loader's device.
Measured measure(DatasetPtr ds, const LoaderOptions& o, int64_t epochs) {
  auto loader = make_loader(ds, o);
  loader->start(0, 0);
  while (loader->next()) {
  }
  Measured m;
  double bytes = 0;
  const bool cuda = o.device.is_cuda();
  if (cuda) torch::cuda::synchronize();
  const CopyTotals before = loader->copy_totals();  // the warm-up epoch's copies
  const auto t0 = Clock::now();
  const double cpu0 = cpu_seconds();
  for (int64_t e = 1; e <= epochs; ++e) {
    loader->start(e, 0);
    while (auto b = loader->next()) {
      m.samples += b->target.size(0);
      bytes += double(b->input.nbytes() + b->target.nbytes());
    }
  }
  if (cuda) torch::cuda::synchronize();  // the last copies and normalisations are done
  const double s = seconds_since(t0);
  m.cpu_s_per_sample = (cpu_seconds() - cpu0) / double(std::max<int64_t>(1, m.samples));
  m.samples_per_s = double(m.samples) / s;
  m.mb_per_s = bytes / s / 1e6;
  const CopyTotals after = loader->copy_totals();
  m.copies = {after.copies - before.copies, after.ms - before.ms, after.bytes - before.bytes};
  // The host batch's bytes as the loader writes them: images as float32 (uint8 when the device
  // normalises), any other input in its own dtype (a token window: int64), and the targets.
  const SampleSpec spec = ds->spec();
  const double input_bytes =
      double(spec.input.numel()) * double(c10::elementSize(host_input_dtype(spec, cuda && o.gpu_normalize)));
  m.batch_bytes = double(o.batch_size) * (input_bytes + double(spec.target.bytes()));
  return m;
}

// `threads` threads each memcpy their share of `batches` buffers of `bytes`: the ceiling
// for any loader that writes the same output bytes.
double memcpy_seconds(int64_t threads, int64_t batches, size_t bytes) {
  std::vector<std::thread> pool;
  const auto t0 = Clock::now();
  for (int64_t t = 0; t < threads; ++t) {
    pool.emplace_back([=] {
      std::vector<char> src(bytes, 1), dst(bytes);
      for (int64_t b = t; b < batches; b += threads) {
        std::memcpy(dst.data(), src.data(), bytes);
        src[size_t(b) % bytes] = dst[size_t(b * 7) % bytes];  // keeps the copies from being elided
      }
    });
  }
  for (auto& p : pool) p.join();
  return seconds_since(t0);
}

// An image folder's own ceiling: every sample of `epochs` epochs read and decoded (at the DCT
// scale its crop gets) on `threads` threads, and nothing else: no resampling, no batches.
double decode_samples_per_s(const ImageFolderSplit& ds, uint64_t seed, int64_t threads, int64_t epochs) {
  const auto t0 = Clock::now();
  for (int64_t e = 1; e <= epochs; ++e)
    util::parallel_for(ds.size(), int(threads), [&](int64_t i) { ds.decode(i, {seed, e}); });
  return double(ds.size() * epochs) / seconds_since(t0);
}

// GB/s of `reps` plain pinned host-to-device copies (cudaMemcpyAsync through copy_) of
// `bytes` each, timed like the loader's: CUDA events around every copy, device times summed.
double plain_h2d_gbps(c10::Device device, size_t bytes, int reps) {
#ifdef KILN_HAVE_CUDA
  auto host = at::empty({int64_t(bytes)}, at::TensorOptions().dtype(at::kByte).pinned_memory(true)).fill_(1);
  auto dev = at::empty({int64_t(bytes)}, at::TensorOptions().dtype(at::kByte).device(device));
  dev.copy_(host, true);
  torch::cuda::synchronize();
  const auto stream = c10::cuda::getCurrentCUDAStream(device.index());
  std::vector<at::cuda::CUDAEvent> start, end;  // timing on (cudaEventDefault)
  for (int i = 0; i < reps; ++i) {
    start.emplace_back(cudaEventDefault);
    end.emplace_back(cudaEventDefault);
  }
  for (int i = 0; i < reps; ++i) {
    start[size_t(i)].record(stream);
    dev.copy_(host, /*non_blocking=*/true);
    end[size_t(i)].record(stream);
  }
  end.back().synchronize();
  double ms = 0;
  for (int i = 0; i < reps; ++i) ms += start[size_t(i)].elapsed_time(end[size_t(i)]);
  return double(bytes) * reps / (ms * 1e-3) / 1e9;
#else
  (void)device, (void)bytes, (void)reps;
  return 0.0;
#endif
}

}  // namespace

nlohmann::json bench_loader(const config::RunConfig& cfg, const std::string& device, const LoaderBenchOptions& bo) {
  config::DataConfig data_cfg = cfg.data;
  data_cfg.task = cfg.train.task;
  Splits splits = load_splits(data_cfg);
  LoaderOptions o = loader_options(cfg, device, /*train=*/true);
  if (o.threads <= 0) o.threads = std::max<int64_t>(1, std::thread::hardware_concurrency());  // reported

  auto say = [&](const std::string& s) {
    if (bo.progress) log::info(s);
  };
  say("loader bench: " + std::to_string(splits.train->size()) + " samples, batch " + std::to_string(o.batch_size) +
      ", " + std::to_string(o.threads) + " threads, prefetch " + std::to_string(o.prefetch) + ", device " + device +
      ", 1 warm-up + " + std::to_string(bo.epochs) + " measured epochs per variant");
  const Measured aug = measure(splits.train, o, bo.epochs);
  say("  as configured:    " + std::to_string(int64_t(aug.samples_per_s)) + " samples/s");
  LoaderOptions plain = o;
  plain.augment = {};
  const Measured noaug = measure(splits.train, plain, bo.epochs);
  say("  no augmentation:  " + std::to_string(int64_t(noaug.samples_per_s)) + " samples/s");

  // The ceiling writes the host output bytes of the configured variant (float32 on the CPU).
  const int64_t batches = aug.samples / std::max<int64_t>(1, o.batch_size);
  const auto host_batch_bytes = static_cast<size_t>(aug.batch_bytes);
  const double mc_s = memcpy_seconds(o.threads, batches, host_batch_bytes);
  const double ceiling = double(batches * o.batch_size) / mc_s;
  say("  memcpy ceiling:   " + std::to_string(int64_t(ceiling)) + " samples/s");

  // An image folder: decoding alone, the ceiling of its loader.
  double decode_ceiling = 0;
  if (const auto* folder = dynamic_cast<const ImageFolderSplit*>(splits.train.get())) {
    decode_ceiling = decode_samples_per_s(*folder, o.seed, o.threads, bo.epochs);
    say("  decode ceiling:   " + std::to_string(int64_t(decode_ceiling)) + " samples/s");
  }

  nlohmann::json j;
  j["bench"] = "loader";
  j["device"] = device;
  j["samples"] = splits.train->size();
  j["batch_size"] = o.batch_size;
  j["threads"] = o.threads;
  j["prefetch"] = o.prefetch;
  j["epochs"] = bo.epochs;
  j["augment"] = {{"crop_padding", o.augment.crop_padding}, {"hflip", o.augment.hflip}};
  j["samples_per_s"] = aug.samples_per_s;
  j["mb_per_s"] = aug.mb_per_s;
  j["no_augment_samples_per_s"] = noaug.samples_per_s;
  j["no_augment_mb_per_s"] = noaug.mb_per_s;
  j["memcpy_samples_per_s"] = ceiling;
  j["memcpy_gb_per_s"] = double(batches) * double(host_batch_bytes) / mc_s / 1e9;
  j["share_of_memcpy"] = aug.samples_per_s / ceiling;
  j["cpu_s_per_sample"] = aug.cpu_s_per_sample;
  if (decode_ceiling > 0) {
    j["decode_samples_per_s"] = decode_ceiling;
    j["share_of_decode"] = aug.samples_per_s / decode_ceiling;
  }
  if (o.device.is_cuda()) {
    j["gpu_normalize"] = o.gpu_normalize;
    const CopyTotals& c = aug.copies;
    const double per_copy = c.copies ? c.bytes / double(c.copies) : aug.batch_bytes;
    j["h2d_copies"] = c.copies;
    j["h2d_bytes_per_copy"] = per_copy;
    j["h2d_mean_copy_ms"] = c.copies ? c.ms / double(c.copies) : 0.0;
    j["h2d_gbps"] = c.ms > 0 ? c.bytes / (c.ms * 1e-3) / 1e9 : 0.0;
    j["plain_h2d_gbps"] = plain_h2d_gbps(o.device, size_t(per_copy), 200);
    say("  H2D: loader " + std::to_string(j["h2d_gbps"].get<double>()) + " GB/s, plain pinned copy " +
        std::to_string(j["plain_h2d_gbps"].get<double>()) + " GB/s");
  }
  return j;
}

}  // namespace kiln::data
