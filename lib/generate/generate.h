// kiln generate: text from a trained language model's run dir. The model is rebuilt from the
// run's config.toml and manifest (its input shape and vocabulary; no dataset needed) and
// loaded from final.pt, or the newest step checkpoint of a run that has not finished.
// Sampling is deterministic for a seed: token i is drawn from Philox keyed on (seed, i), by
// inverting the cumulative distribution in double precision on the host.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace kiln::generate {

struct Options {
  std::filesystem::path run_dir;
  std::string prompt;        // UTF-8; its bytes are the first tokens ("" = a newline)
  int64_t tokens = 200;      // tokens to generate after the prompt
  double temperature = 1.0;  // 0 = greedy (the arg-max every time)
  int64_t top_k = 0;         // > 0: sample among the k likeliest tokens only
  uint64_t seed = 0;
  std::string device = "cpu";
};

struct Result {
  std::filesystem::path checkpoint;  // the weights used
  std::string text;                  // the prompt and what followed, as bytes
  int64_t generated = 0;
  double seconds = 0;
};

// Generates opts.tokens tokens; `emit` (when set) receives each new token's byte as it comes.
// Error::usage for a run dir that is not a byte-level language model, has no checkpoint, or
// bad options.
Result run(const Options& opts, const std::function<void(char)>& emit = {});

}  // namespace kiln::generate
