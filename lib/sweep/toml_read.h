// Small helpers shared by the sweep's TOML readers (spec.cpp, spec_base.cpp, space_toml.cpp):
// what kind of value a node holds and where it sits, as their error messages say it.
#pragma once
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "util/toml_kind.h"

namespace kiln::sweep {

// "a string", "an integer", ...: the "got ..." part of a wrong-type message (shared with config).
using util::toml_kind;

// "file:line" of a region, or just `file` when the region has no position.
std::string toml_where(const std::string& file, const toml::source_region& r);

// "a, b, c": the valid keys or values listed in a hint.
std::string join_names(const std::vector<std::string>& names);

}  // namespace kiln::sweep
