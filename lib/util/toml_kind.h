// What kind of value a TOML node holds, worded for the "got ..." part of a wrong-type error:
// the one wording that the config loader and the sweep spec readers both use.
#pragma once
#include <string>

#include <toml++/toml.h>

namespace kiln::util {

// "a string", "an integer", "a float", "a boolean", "an array", "a table" or "a date/time".
inline std::string toml_kind(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date/time";
  }
}

}  // namespace kiln::util
