// Checkpoint save/load through torch::serialize archives, with a SHA-256 sidecar.
#include "checkpoint/checkpoint.h"

#include <torch/serialize/archive.h>

#include "repro/rng_state.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace kiln::checkpoint {
namespace fs = std::filesystem;
namespace {

fs::path sidecar(const fs::path& p) { return fs::path(p.string() + ".sha256"); }

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

void save(const fs::path& path, model::Net& net, torch::optim::Optimizer& opt, const TrainState& state,
          const WriteExtra& extra) {
  torch::serialize::OutputArchive root, m, o;
  net.save(m);
  opt.save(o);
  root.write("model", m);
  root.write("optim", o);
  root.write("step", c10::IValue(state.step));
  root.write("epoch", c10::IValue(state.epoch));
  root.write("next_batch", c10::IValue(state.next_batch));
  if (!state.classes.empty()) root.write("classes", c10::IValue(c10::List<std::string>(state.classes)));
  if (!state.preprocessing.empty()) root.write("preprocessing", c10::IValue(state.preprocessing));
  const repro::RngState rng = repro::capture_rng();
  root.write("rng_cpu", rng.cpu);
  root.write("rng_cuda_count", c10::IValue(int64_t(rng.cuda.size())));
  for (size_t i = 0; i < rng.cuda.size(); ++i) root.write("rng_cuda_" + std::to_string(i), rng.cuda[i]);
  if (extra) extra(root);
  // Archive first, then the marker: a crash between the two leaves an unmarked, ignored file.
  std::error_code ec;
  fs::remove(sidecar(path), ec);
  util::atomic_write_with(path, [&](util::OutFile& out) {
    // LibTorch's own file writer must never see a failed write: on a full disk it throws
    // from inside miniz, and then PyTorchStreamWriter's destructor (noexcept) writes the end
    // of the archive, fails again and throws: std::terminate, SIGABRT and a core dump. So
    // this sink always reports success, and the OutFile keeps the first error for check().
    root.save_to([&](const void* data, size_t n) -> size_t {
      out.write_or_defer(data, n);
      return n;
    });
    out.check();
  });
  try {
    util::atomic_write(sidecar(path), util::sha256_hex(util::read_file(path)) + "\n");
  } catch (...) {
    // Unmarked, the archive would be skipped by --resume anyway; removed, it frees the
    // space the user is about to look for.
    fs::remove(path, ec);
    throw;
  }
}

void verify(const fs::path& path) {
  if (!fs::exists(path)) throw Error::usage("checkpoint " + path.string() + " does not exist");
  if (!fs::exists(sidecar(path))) {
    throw Error::usage("checkpoint " + path.string() + " is incomplete (no " + sidecar(path).filename().string() +
                       "; the run stopped while writing it)");
  }
  const std::string want = trim(util::read_file(sidecar(path)));
  if (util::sha256_hex(util::read_file(path)) != want) {
    throw Error::usage("checkpoint " + path.string() + " is corrupt: its SHA-256 does not match " +
                       sidecar(path).filename().string());
  }
}

TrainState load(const fs::path& path, model::Net& net, torch::optim::Optimizer& opt, const ReadExtra& extra) {
  verify(path);
  torch::serialize::InputArchive root, m, o;
  try {
    root.load_from(path.string());
    root.read("model", m);
    root.read("optim", o);
    net.load(m);
    opt.load(o);
    TrainState s;
    c10::IValue v;
    root.read("step", v);
    s.step = v.toInt();
    root.read("epoch", v);
    s.epoch = v.toInt();
    root.read("next_batch", v);
    s.next_batch = v.toInt();
    if (root.try_read("classes", v)) {
      for (const c10::IValue& name : v.toListRef()) s.classes.push_back(name.toStringRef());
    }
    if (root.try_read("preprocessing", v)) s.preprocessing = v.toStringRef();
    repro::RngState rng;
    root.read("rng_cpu", rng.cpu);
    root.read("rng_cuda_count", v);
    rng.cuda.resize(size_t(v.toInt()));
    for (size_t i = 0; i < rng.cuda.size(); ++i) root.read("rng_cuda_" + std::to_string(i), rng.cuda[i]);
    repro::restore_rng(rng);
    if (extra) extra(root);
    return s;
  } catch (const c10::Error& e) {
    throw Error::usage("cannot load checkpoint " + path.string() + ": " + e.what_without_backtrace());
  }
}

namespace {

// Where the net's tensors live. Archives restore each tensor to the device it was saved from
// (a checkpoint of a CUDA run holds CUDA tensors): load_weights maps them onto the net's device
// instead, so that a GPU run's weights load on a CPU-only machine and into a net kept on the
// CPU (kiln export traces on the CPU). load() keeps the saved devices: its RNG states must stay
// CPU tensors, and a resumed run's net is on the device it was saved from.
c10::Device device_of(const model::Net& net) {
  const auto params = net.parameters();
  return params.empty() ? c10::Device(c10::kCPU) : params.front().device();
}

}  // namespace

void load_weights(const fs::path& path, model::Net& net) {
  verify(path);
  torch::serialize::InputArchive root, m;
  try {
    root.load_from(path.string(), device_of(net));
    root.read("model", m);
    net.load(m);
  } catch (const c10::Error& e) {
    throw Error::usage("cannot load the weights of checkpoint " + path.string() + ": " + e.what_without_backtrace());
  }
}

void remove(const fs::path& path) {
  std::error_code ec;
  fs::remove(sidecar(path), ec);
  fs::remove(path, ec);
}

}  // namespace kiln::checkpoint
