// `kiln generate RUN_DIR --prompt "..." --tokens N --temperature T --seed S`: text from a
// trained byte-level language model, streamed to stdout as it is sampled.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "generate/generate.h"

namespace kiln::cli {
namespace {

struct GenerateArgs {
  generate::Options o;
  std::string run_dir;
  bool json = false;
};

int run_generate(GenerateArgs& a, const Globals& g) {
  a.o.run_dir = a.run_dir;
  // Without --json the text goes out as it comes (prompt first); with it, one JSON object.
  if (!a.json) std::fwrite(a.o.prompt.data(), 1, a.o.prompt.size(), stdout);
  const generate::Result r = generate::run(a.o, [&](char c) {
    if (a.json) return;
    std::fputc(c, stdout);
    std::fflush(stdout);
  });
  if (a.json) {
    // Bytes that are not valid UTF-8 become U+FFFD in the JSON string.
    const nlohmann::json j = {
        {"run_dir", a.run_dir}, {"checkpoint", r.checkpoint.string()},
        {"text", r.text},       {"tokens", r.generated},
        {"seed", a.o.seed},     {"temperature", a.o.temperature},
        {"top_k", a.o.top_k},   {"tokens_per_s", r.seconds > 0 ? double(r.generated) / r.seconds : 0.0}};
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  } else {
    std::fputc('\n', stdout);
  }
  if (!g.quiet) {
    std::fprintf(stderr, "kiln generate: %lld tokens from %s in %.2f s\n", (long long)r.generated,
                 r.checkpoint.string().c_str(), r.seconds);
  }
  return 0;
}

}  // namespace

void add_generate_command(CLI::App& app, const Globals& g, Runner& run) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "Sample text from a trained language model's run dir");
  cmd->footer(
      "Rebuilds the model from RUN_DIR's config.toml and manifest.json, loads final.pt (or the\n"
      "newest complete step checkpoint) and samples --tokens bytes after the prompt, each from\n"
      "the model's distribution over the last context-length bytes. The same seed gives the same\n"
      "text. --temperature 0 always takes the likeliest byte. Byte-level (vocab 256) runs only.");
  cmd->add_option("run_dir", args->run_dir, "a run directory of a language model (train.task = language-model)")
      ->required()
      ->check(user_path());
  cmd->add_option("-p,--prompt", args->o.prompt, "text the sample continues (default: a newline)");
  cmd->add_option("-n,--tokens", args->o.tokens, "tokens (bytes) to generate (default 200)")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}));
  cmd->add_option("-t,--temperature", args->o.temperature, "softmax temperature; 0 = greedy (default 1)")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("-k,--top-k", args->o.top_k, "sample among the k likeliest tokens only (0 = all)")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}));
  cmd->add_option("--seed", args->o.seed, "sampling seed (default 0)");
  cmd->add_option("--device", args->o.device, "cpu (default), cuda, cuda:N or auto");
  cmd->add_flag("--json", args->json, "print one JSON object (text, checkpoint, tokens/s) instead of the text");
  cmd->callback([&run, &g, args] { run = [args, &g] { return run_generate(*args, g); }; });
}

}  // namespace kiln::cli
