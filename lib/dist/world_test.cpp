// dist::World from launcher environments: torchrun's five variables, Slurm's with the master
// from the node list, none (a world of one), and bad values refused naming the variable.
#include "dist/world.h"

#include <gtest/gtest.h>

#include <map>

#include "util/error.h"

namespace kiln::dist {
namespace {

Env env_of(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    const auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

std::string usage_message(const std::map<std::string, std::string>& m) {
  try {
    from_env(env_of(m));
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

const std::map<std::string, std::string> kTorchrun = {
    {"RANK", "1"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "10.0.0.5"}, {"MASTER_PORT", "29601"}};

TEST(DistWorld, NoLauncherIsAWorldOfOne) {
  const World w = from_env(env_of({}));
  EXPECT_FALSE(w.distributed());
  EXPECT_EQ(w.rank, 0);
  EXPECT_EQ(w.size, 1);
  EXPECT_EQ(w.launcher, "none");
}

TEST(DistWorld, TorchrunsVariables) {
  const World w = from_env(env_of(kTorchrun));
  EXPECT_TRUE(w.distributed());
  EXPECT_EQ(w.rank, 1);
  EXPECT_EQ(w.size, 2);
  EXPECT_EQ(w.local_rank, 1);
  EXPECT_EQ(w.master_addr, "10.0.0.5");
  EXPECT_EQ(w.master_port, 29601);
  EXPECT_EQ(w.launcher, "torchrun");
  EXPECT_EQ(describe(w), "rank 1 of 2 (torchrun, local rank 1, master 10.0.0.5:29601)");
}

TEST(DistWorld, TorchrunsElasticAgentStoreAndAttempt) {
  EXPECT_FALSE(from_env(env_of(kTorchrun)).agent_store);  // kiln launch, or by hand: rank 0 serves
  auto m = kTorchrun;
  m["TORCHELASTIC_USE_AGENT_STORE"] = "True";
  m["TORCHELASTIC_RESTART_COUNT"] = "3";
  const World w = from_env(env_of(m));
  EXPECT_TRUE(w.agent_store);
  EXPECT_EQ(w.attempt, 3);
  m["TORCHELASTIC_USE_AGENT_STORE"] = "False";
  EXPECT_FALSE(from_env(env_of(m)).agent_store);
  m["TORCHELASTIC_RESTART_COUNT"] = "-1";
  EXPECT_NE(usage_message(m).find("TORCHELASTIC_RESTART_COUNT=-1 is out of range"), std::string::npos);
}

TEST(DistWorld, TorchrunWinsInsideASlurmAllocation) {
  auto m = kTorchrun;
  m["SLURM_PROCID"] = "0";
  m["SLURM_NTASKS"] = "1";
  EXPECT_EQ(from_env(env_of(m)).launcher, "torchrun");
}

TEST(DistWorld, BadTorchrunValuesNameTheVariable) {
  auto m = kTorchrun;
  m["RANK"] = "2";
  EXPECT_NE(usage_message(m).find("RANK=2 is out of range (0..1)"), std::string::npos);
  m = kTorchrun;
  m["WORLD_SIZE"] = "two";
  EXPECT_NE(usage_message(m).find("WORLD_SIZE='two' is not an integer"), std::string::npos);
  m = kTorchrun;
  m["MASTER_PORT"] = "70000";
  EXPECT_NE(usage_message(m).find("MASTER_PORT=70000 is out of range"), std::string::npos);
  m = kTorchrun;
  m.erase("MASTER_ADDR");
  EXPECT_NE(usage_message(m).find("MASTER_ADDR is not set"), std::string::npos);
  m = kTorchrun;
  m["LOCAL_RANK"] = "1x";
  EXPECT_NE(usage_message(m).find("LOCAL_RANK='1x' is not an integer"), std::string::npos);
}

TEST(DistWorld, SlurmTakesTheMasterFromTheNodeList) {
  const World w = from_env(env_of({{"SLURM_PROCID", "3"},
                                   {"SLURM_NTASKS", "8"},
                                   {"SLURM_LOCALID", "1"},
                                   {"SLURM_JOB_NODELIST", "gpu[07-09,12],cpu1"},
                                   {"SLURM_STEP_NODELIST", "gpu[08-09]"}}));
  EXPECT_EQ(w.launcher, "slurm");
  EXPECT_EQ(w.rank, 3);
  EXPECT_EQ(w.size, 8);
  EXPECT_EQ(w.local_rank, 1);
  EXPECT_EQ(w.master_addr, "gpu08") << "the step's node list, which srun ran on";
  EXPECT_EQ(w.master_port, 29500);
  const World v = from_env(env_of({{"SLURM_PROCID", "0"},
                                   {"SLURM_NTASKS", "2"},
                                   {"SLURM_JOB_NODELIST", "a1,b2"},
                                   {"MASTER_ADDR", "head"},
                                   {"MASTER_PORT", "1234"}}));
  EXPECT_EQ(v.master_addr, "head");
  EXPECT_EQ(v.master_port, 1234);
  EXPECT_EQ(v.local_rank, 0);
  EXPECT_FALSE(from_env(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}})).distributed());
}

TEST(DistWorld, FirstSlurmHost) {
  EXPECT_EQ(first_slurm_host("node[07-09,12],gpu3"), "node07");
  EXPECT_EQ(first_slurm_host("a,b"), "a");
  EXPECT_EQ(first_slurm_host("gpu-[1-4]"), "gpu-1");
  EXPECT_EQ(first_slurm_host("rack[2-3]-n[01-04]"), "rack2-n01");
  EXPECT_EQ(first_slurm_host("solo"), "solo");
  EXPECT_THROW(first_slurm_host("n[1-2"), Error);
}

}  // namespace
}  // namespace kiln::dist
