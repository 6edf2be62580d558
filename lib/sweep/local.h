// The local Backend: a study file in Optuna's journal format with kiln's native sampler and
// pruner. Python Optuna workers may share the file; everything goes through the journal's
// lock-replay-append, so numbers and decisions agree with what they write.
#pragma once
#include <filesystem>
#include <memory>

#include "optuna/pruner.h"
#include "optuna/sampler.h"
#include "sweep/backend.h"
#include "sweep/spec.h"

namespace kiln::sweep {

// The sampler and pruner a spec asks for.
std::unique_ptr<optuna::Sampler> make_sampler(const SweepSpec& spec);
std::unique_ptr<optuna::Pruner> make_pruner(const SweepSpec& spec);

// Opens (or creates) the spec's study in `study_file`. user_attrs go on a new study only.
// Trials this machine's kiln sweeps left RUNNING (their process is gone: the sweep was
// killed) are marked FAIL "interrupted"; their budget is asked again. Every trial it asks
// carries the user attr "kiln_worker" = "<host>:<pid>" for that check.
std::unique_ptr<Backend> make_local_backend(const std::filesystem::path& study_file, const SweepSpec& spec,
                                            const nlohmann::json& user_attrs);

}  // namespace kiln::sweep
