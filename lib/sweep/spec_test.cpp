// Unit tests for sweep/spec: defaults, every key read, the base config forms (path, inline
// table, built-in defaults, the default looked up in parent directories), and one bad spec
// per validation rule, each a usage error naming the key and file:line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "config/config.h"
#include "sweep/objective.h"
#include "sweep/spec.h"
#include "util/error.h"

namespace kiln::sweep {
namespace {

namespace fs = std::filesystem;

#define EXPECT_HAS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "'" << (text) << "' lacks '" << (part) << "'"

// A fresh directory under the system temp dir, removed at the end of the test.
class SpecDir {
 public:
  SpecDir() {
    static int n = 0;
    path_ = fs::temp_directory_path() / ("kiln_spec_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~SpecDir() { fs::remove_all(path_); }
  fs::path write(const std::string& rel, const std::string& text) const {
    const fs::path p = path_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

const char* kSpace = "[space.\"optim.lr\"]\ntype = \"float\"\nlow = 1e-5\nhigh = 0.1\nlog = true\n";

// Loads `text` as <dir>/s.toml (with base = "" unless the text sets one) and returns the
// usage error's message and hint; fails the test when it loads.
std::string spec_error(const std::string& text) {
  SpecDir dir;
  const fs::path p = dir.write("s.toml", text);
  try {
    load_spec(p);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage) << e.what();
    return std::string(e.what()) + " | hint: " + e.hint();
  }
  ADD_FAILURE() << "spec loaded without error:\n" << text;
  return "";
}

TEST(SweepSpec, MinimalSpecGetsDefaults) {
  SpecDir dir;
  const fs::path base = dir.write("configs/fashion_cnn.toml", "[optim]\nlr = 0.01\n");
  // No base key: the default configs/fashion_cnn.toml is found in a parent directory.
  const SweepSpec s = load_spec(dir.write("sweeps/deep/lr_search.toml", kSpace));
  EXPECT_EQ(s.name, "lr_search");
  EXPECT_EQ(s.spec_path, dir.path() / "sweeps/deep/lr_search.toml");
  EXPECT_EQ(s.base_path, base);
  EXPECT_TRUE(s.base_inline.empty());
  EXPECT_EQ(s.metric, "");  // the task's default, picked by resolve_objective (objective_test.cpp)
  EXPECT_FALSE(s.direction_given);
  EXPECT_EQ(s.n_trials, 20);
  EXPECT_EQ(s.timeout_s, 0.0);
  EXPECT_EQ(s.trial_timeout_s, 0.0);
  EXPECT_EQ(s.parallel, 1);
  EXPECT_EQ(s.sampler.name, "tpe");
  EXPECT_EQ(s.sampler.seed, 0u);
  EXPECT_EQ(s.sampler.n_startup_trials, 10);
  EXPECT_EQ(s.sampler.n_ei_candidates, 24);
  EXPECT_EQ(s.pruner.name, "median");
  EXPECT_EQ(s.pruner.n_startup_trials, 5);
  EXPECT_EQ(s.pruner.n_warmup_steps, 0);
  EXPECT_EQ(s.pruner.interval_steps, 1);
  EXPECT_EQ(s.pruner.min_resource, 0);
  EXPECT_EQ(s.pruner.reduction_factor, 4);
  EXPECT_EQ(s.pruner.min_early_stopping_rate, 0);
  ASSERT_EQ(s.space.size(), 1u);
  EXPECT_EQ(s.space[0].first, "optim.lr");
}

TEST(SweepSpec, ReadsEveryKey) {
  SpecDir dir;
  dir.write("cfg/small.toml", "[train]\nepochs = 1\n");
  const SweepSpec s = load_spec(dir.write("s.toml", R"(name = "study-a"
base = "cfg/small.toml"
[objective]
metric = "test_loss"
direction = "maximize"
[budget]
n_trials = 0
timeout_s = 90.5
trial_timeout_s = 30
parallel = 3
[sampler]
name = "tpe"
seed = 42
n_startup_trials = 4
n_ei_candidates = 8
[pruner]
name = "successive_halving"
min_resource = 2
reduction_factor = 3
min_early_stopping_rate = 1
[space.model.dropout]
type = "float"
low = 0.0
high = 0.5
step = 0.1
[space.optim.name]
type = "categorical"
choices = ["adamw", "sgd"]
)"));
  EXPECT_EQ(s.name, "study-a");
  EXPECT_EQ(s.base_path, dir.path() / "cfg/small.toml");
  EXPECT_EQ(s.metric, "test_loss");
  EXPECT_EQ(s.direction, optuna::Direction::kMaximize);  // explicit beats the metric's default
  EXPECT_TRUE(s.direction_given);
  EXPECT_EQ(s.metric_at, (dir.path() / "s.toml").string() + ":4");
  EXPECT_EQ(s.n_trials, 0);  // unlimited: the timeout ends the sweep
  EXPECT_EQ(s.timeout_s, 90.5);
  EXPECT_EQ(s.trial_timeout_s, 30.0);
  EXPECT_EQ(s.parallel, 3);
  EXPECT_EQ(s.sampler.seed, 42u);
  EXPECT_EQ(s.sampler.n_startup_trials, 4);
  EXPECT_EQ(s.sampler.n_ei_candidates, 8);
  EXPECT_EQ(s.pruner.name, "successive_halving");
  EXPECT_EQ(s.pruner.min_resource, 2);
  EXPECT_EQ(s.pruner.reduction_factor, 3);
  EXPECT_EQ(s.pruner.min_early_stopping_rate, 1);
  ASSERT_EQ(s.space.size(), 2u);
  EXPECT_EQ(s.space[0].first, "model.dropout");
  EXPECT_EQ(s.space[1].first, "optim.name");
}

TEST(SweepSpec, EmptyBaseMeansBuiltInDefaults) {
  SpecDir dir;
  const SweepSpec s =
      load_spec(dir.write("s.toml", std::string("base = \"\"\n[objective]\nmetric = \"test_loss\"\n") + kSpace));
  EXPECT_EQ(s.metric, "test_loss");
  EXPECT_TRUE(s.base_path.empty());  // "" = kiln's built-in defaults
  EXPECT_TRUE(s.base_inline.empty());
}

TEST(SweepSpec, InlineBaseKeepsSpecLines) {
  SpecDir dir;
  const SweepSpec s = load_spec(dir.write("s.toml", std::string(R"(name = "x"
[base.optim]
lr = 0.003
name = "sgd"

[base.model]
channels = [16, 32]
[base.train]
epochs = 2
)") + kSpace));
  EXPECT_TRUE(s.base_path.empty());
  // The text reads back as the same sections and values, each key on its spec line.
  const toml::table t = toml::parse(s.base_inline, std::string_view("base"));
  EXPECT_EQ(t["optim"]["lr"].value<double>(), 0.003);
  EXPECT_EQ(t["optim"]["name"].value<std::string>(), "sgd");
  EXPECT_EQ(t["model"]["channels"][1].value<int64_t>(), 32);
  EXPECT_EQ(t["train"]["epochs"].value<int64_t>(), 2);
  EXPECT_EQ(t["optim"]["lr"].node()->source().begin.line, 3u);
  EXPECT_EQ(t["model"]["channels"].node()->source().begin.line, 7u);
  EXPECT_EQ(t["train"]["epochs"].node()->source().begin.line, 9u);
}

TEST(SweepSpec, GridTakesFiniteSpaces) {
  SpecDir dir;
  const SweepSpec s = load_spec(dir.write("s.toml", R"(base = ""
[sampler]
name = "grid"
[space.a]
type = "float"
low = 0.0
high = 1.0
step = 0.25
[space.b]
type = "int"
low = 1
high = 3
[space.c]
type = "categorical"
choices = [true, false]
)"));
  EXPECT_EQ(s.sampler.name, "grid");
  EXPECT_EQ(s.space.size(), 3u);
}

TEST(SweepSpec, BadSpecsNameKeyAndLine) {
  struct Case {
    std::string text;
    std::vector<std::string> parts;
  };
  const std::string sp = kSpace;
  const std::vector<Case> cases = {
      {"base = \"\"\nnmae = \"x\"\n" + sp, {"'nmae'", "s.toml:2", "did you mean 'name'"}},
      {"base = \"\"\n[budgte]\nn_trials = 3\n" + sp, {"'[budgte]'", "s.toml:2", "did you mean 'budget'"}},
      {"base = \"\"\n[budget]\nn_trial = 3\n" + sp, {"'budget.n_trial'", "s.toml:3", "did you mean 'n_trials'"}},
      {"base = \"\"\n[budget]\nn_trials = \"3\"\n" + sp, {"'budget.n_trials'", "s.toml:3", "an integer"}},
      {"base = \"\"\n[budget]\nn_trials = -1\n" + sp, {"'budget.n_trials'", "s.toml:3", ">= 0"}},
      {"base = \"\"\n[budget]\nparallel = 0\n" + sp, {"'budget.parallel'", "s.toml:3", ">= 1"}},
      {"base = \"\"\n[budget]\ntimeout_s = \"1h\"\n" + sp, {"'budget.timeout_s'", "s.toml:3", "seconds"}},
      {"base = \"\"\n[budget]\ntrial_timeout_s = -5\n" + sp, {"'budget.trial_timeout_s'", "s.toml:3", ">= 0"}},
      {"base = \"\"\n[budget]\nn_trials = 0\n" + sp, {"'budget.n_trials'", "s.toml:3", "timeout_s"}},
      {"base = \"\"\n[objective]\nmetric = 3\n" + sp, {"'objective.metric'", "s.toml:3", "a string"}},
      {"base = \"\"\n[objective]\ndirection = \"max\"\n" + sp,
       {"'objective.direction'", "s.toml:3", "maximize, minimize"}},
      {"base = \"\"\nobjective = \"test_loss\"\n" + sp, {"'objective'", "s.toml:2", "table"}},
      {"base = \"\"\n[sampler]\nname = \"cmaes\"\n" + sp, {"'sampler.name'", "s.toml:3", "grid, random, tpe"}},
      {"base = \"\"\n[sampler]\nname = \"random\"\nn_startup_trials = 3\n" + sp,
       {"'sampler.n_startup_trials'", "s.toml:4", "random"}},
      {"base = \"\"\n[sampler]\nseed = -1\n" + sp, {"'sampler.seed'", "s.toml:3", ">= 0"}},
      {"base = \"\"\n[sampler]\nn_ei_candidates = 0\n" + sp, {"'sampler.n_ei_candidates'", "s.toml:3", ">= 1"}},
      {"base = \"\"\n[pruner]\nname = \"hyperband\"\n" + sp,
       {"'pruner.name'", "s.toml:3", "none, median, successive_halving"}},
      {"base = \"\"\n[pruner]\nn_warmup_steps = 2\nreduction_factor = 3\n" + sp,
       {"'pruner.reduction_factor'", "s.toml:4", "median"}},
      {"base = \"\"\n[pruner]\nname = \"none\"\nn_warmup_steps = 2\n" + sp,
       {"'pruner.n_warmup_steps'", "s.toml:4", "none"}},
      {"base = \"\"\n[pruner]\ninterval_steps = 0\n" + sp, {"'pruner.interval_steps'", "s.toml:3", ">= 1"}},
      {"base = \"\"\n[pruner]\nname = \"successive_halving\"\nreduction_factor = 1\n" + sp,
       {"'pruner.reduction_factor'", "s.toml:4", ">= 2"}},
      {"base = \"\"\n[sampler]\nname = \"grid\"\n" + sp, {"grid", "s.toml:3", "'optim.lr'", "step"}},
      {"base = \"\"\nname = \"\"\n" + sp, {"'name'", "s.toml:2", "empty"}},
      {"base = 3\n" + sp, {"'base'", "s.toml:1", "a path"}},
      {"base = \"nowhere/x.toml\"\n" + sp, {"'base'", "s.toml:1", "nowhere/x.toml", "not found"}},
      {sp, {"configs/fashion_cnn.toml", "base = \"\""}},  // no base key and no default base anywhere up
      {"base = \"\"\n[budget]\nn_trials = 3\n", {"no [space]"}},
      {"base = \"\"\n[budget\nn_trials = 3\n" + sp, {"invalid TOML", "s.toml:2"}},
      {"base = \"\"\n[space.lr]\ntype = \"float\"\nlow = 1\nhigh = 0\n", {"'lr'", "s.toml:2", "low <= high"}},
  };
  for (const auto& c : cases) {
    const std::string msg = spec_error(c.text);
    for (const auto& part : c.parts) EXPECT_HAS(msg, part) << "\nspec:\n" << c.text;
  }
}

TEST(SweepSpec, MissingSpecFileIsUsageError) {
  SpecDir dir;
  try {
    load_spec(dir.path() / "absent.toml");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_HAS(e.what(), "absent.toml");
  }
}

TEST(SweepSpec, DescribeSummarisesTheSpec) {
  SpecDir dir;
  SweepSpec s = load_spec(dir.write("s.toml", R"(base = ""
[objective]
metric = "test_loss"
[budget]
n_trials = 7
[pruner]
name = "none"
[space."optim.lr"]
type = "float"
low = 1e-5
high = 0.1
log = true
[space.model.cnn.fc]
type = "int"
low = 32
high = 128
step = 32
[space.optim.name]
type = "categorical"
choices = ["adamw", "sgd"]
)"));
  EXPECT_HAS(describe(s), "the metric's direction: test_loss");
  resolve_objective(s, config::RunConfig{});
  const std::string d = describe(s);
  for (const char* part : {"'s'", "minimize test_loss", "7 trials", "tpe", "none", "built-in defaults", "optim.lr",
                           "1e-05", "log", "model.cnn.fc", "step 32", "\"adamw\"", "\"sgd\""}) {
    EXPECT_HAS(d, part);
  }
}

}  // namespace
}  // namespace kiln::sweep
