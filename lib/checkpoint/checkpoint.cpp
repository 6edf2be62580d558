// Checkpoint save/load through torch::serialize archives.
#include "checkpoint/checkpoint.h"

#include <torch/serialize/archive.h>

#include "util/error.h"
#include "util/fs.h"

namespace kiln::checkpoint {

void save(const std::filesystem::path& path, model::Net& net, torch::optim::Optimizer& opt, const TrainState& state) {
  torch::serialize::OutputArchive root, m, o;
  net.save(m);
  opt.save(o);
  root.write("model", m);
  root.write("optim", o);
  root.write("step", c10::IValue(state.step));
  root.write("epoch", c10::IValue(state.epoch));
  root.write("next_batch", c10::IValue(state.next_batch));
  util::atomic_write_with(path, [&](const std::filesystem::path& tmp) { root.save_to(tmp.string()); });
}

TrainState load(const std::filesystem::path& path, model::Net& net, torch::optim::Optimizer& opt) {
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
    return s;
  } catch (const c10::Error& e) {
    throw Error::usage("cannot load checkpoint " + path.string() + ": " + e.what_without_backtrace());
  }
}

}  // namespace kiln::checkpoint
