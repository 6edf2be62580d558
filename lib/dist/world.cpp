// World from the launcher's environment (see world.h).
#include "dist/world.h"

#include <cstdlib>
#include <vector>

#include "util/error.h"

namespace kiln::dist {
namespace {

int64_t integer(const Env& env, const std::string& name, int64_t lo, int64_t hi) {
  const auto v = env(name);
  if (!v) throw Error::usage(name + " is not set", "the launcher sets it; run under torchrun, srun or kiln launch");
  size_t used = 0;
  int64_t x = 0;
  try {
    x = std::stoll(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (v->empty() || used != v->size()) throw Error::usage(name + "='" + *v + "' is not an integer");
  if (x < lo || x > hi) {
    throw Error::usage(name + "=" + *v + " is out of range (" + std::to_string(lo) + ".." + std::to_string(hi) + ")");
  }
  return x;
}

std::string nonempty(const Env& env, const std::string& name) {
  const auto v = env(name);
  if (!v || v->empty()) throw Error::usage(name + " is not set (or empty)", "the launcher sets it");
  return *v;
}

}  // namespace

Env process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

std::string first_slurm_host(const std::string& nodelist) {
  // The first entry ends at the first comma outside brackets.
  size_t end = 0;
  int depth = 0;
  for (; end < nodelist.size(); ++end) {
    const char c = nodelist[end];
    if (c == '[') ++depth;
    if (c == ']' && --depth < 0) break;
    if (c == ',' && depth == 0) break;
  }
  if (depth != 0) throw Error::usage("unbalanced brackets in the Slurm node list '" + nodelist + "'");
  std::string host = nodelist.substr(0, end);
  // Each bracket group prefix[07-09,12]suffix -> prefix07suffix: the group's first number,
  // its zero padding kept ("rack[2-3]-n[01-04]" -> "rack2-n01").
  for (size_t open = host.find('['); open != std::string::npos; open = host.find('[')) {
    const size_t close = host.find(']', open);
    std::string range = host.substr(open + 1, close - open - 1);
    range = range.substr(0, range.find_first_of(",-"));
    if (range.empty()) throw Error::usage("an empty range in the Slurm node list '" + nodelist + "'");
    host = host.substr(0, open) + range + host.substr(close + 1);
  }
  return host;
}

World from_env(const Env& env) {
  World w;
  if (env("RANK") || env("WORLD_SIZE")) {
    w.launcher = "torchrun";
    w.size = integer(env, "WORLD_SIZE", 1, 1 << 20);
    w.rank = integer(env, "RANK", 0, w.size - 1);
    w.local_rank = integer(env, "LOCAL_RANK", 0, w.size - 1);
    w.master_addr = nonempty(env, "MASTER_ADDR");
    w.master_port = int(integer(env, "MASTER_PORT", 1, 65535));
    if (const auto a = env("TORCHELASTIC_USE_AGENT_STORE")) w.agent_store = *a == "True" || *a == "true" || *a == "1";
    if (env("TORCHELASTIC_RESTART_COUNT")) w.attempt = integer(env, "TORCHELASTIC_RESTART_COUNT", 0, 1 << 20);
    return w;
  }
  if (env("SLURM_PROCID") && env("SLURM_NTASKS")) {
    w.launcher = "slurm";
    w.size = integer(env, "SLURM_NTASKS", 1, 1 << 20);
    w.rank = integer(env, "SLURM_PROCID", 0, w.size - 1);
    w.local_rank = env("SLURM_LOCALID") ? integer(env, "SLURM_LOCALID", 0, w.size - 1) : 0;
    if (const auto a = env("MASTER_ADDR"); a && !a->empty()) {
      w.master_addr = *a;
    } else if (const auto l = env("SLURM_STEP_NODELIST"); l && !l->empty()) {
      w.master_addr = first_slurm_host(*l);
    } else if (w.size > 1) {
      w.master_addr = first_slurm_host(nonempty(env, "SLURM_JOB_NODELIST"));
    }
    if (env("MASTER_PORT")) w.master_port = int(integer(env, "MASTER_PORT", 1, 65535));
    return w;
  }
  return w;
}

std::string describe(const World& w) {
  return "rank " + std::to_string(w.rank) + " of " + std::to_string(w.size) + " (" + w.launcher + ", local rank " +
         std::to_string(w.local_rank) + ", master " + w.master_addr + ":" + std::to_string(w.master_port) + ")";
}

}  // namespace kiln::dist
