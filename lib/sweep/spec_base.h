// The base config of a sweep spec (the `base` key; see spec.h): a file path, an inline table
// turned into TOML text that keeps the spec's line numbers, or the default base found upward
// from the spec's directory. Used by load_spec (spec.cpp).
#pragma once
#include <string>

#include <toml++/toml.h>

#include "sweep/spec.h"

namespace kiln::sweep {

// Sets s.base_path or s.base_inline (or neither, for base = "") from `root`'s `base` key.
// s.spec_path must already be set: a relative path is taken from its directory. Throws
// kiln::Error::usage naming `file`:line for a wrong type or a missing file.
void read_base(const toml::table& root, const std::string& file, SweepSpec& s);

}  // namespace kiln::sweep
