// What a report shows of one sweep dir, as one JSON object for the page's script: the study
// replayed from its journal by optuna::Journal (the same code the sweep itself uses), each
// trial's state, objective, params (external values), intermediate values and wall time,
// the search space, and summary.json.
#pragma once
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace kiln::report {

// A sweep dir holds study.journal (or a summary.json naming its study).
bool is_sweep_dir(const std::filesystem::path& dir);

// Throws kiln::Error::usage naming the file when the journal or summary.json cannot be read
// or holds no study.
nlohmann::json sweep_data(const std::filesystem::path& dir);

// Seconds between two journal datetimes ("YYYY-MM-DDTHH:MM:SS.ffffff", naive local time);
// negative when either does not parse.
double seconds_between(const std::string& start, const std::string& end);

}  // namespace kiln::report
