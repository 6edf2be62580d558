// The report page: one self-contained HTML file (no network: its style and script are
// inline, its plots are SVG drawn by that script) with the data embedded as JSON in a
// <script type="application/json"> block.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace kiln::report {

// `data` as JSON text that is safe inside a <script> element: every '<' is written as the
// JSON escape \u003c, so no string in it (a config value "</script>...") can end the element
// or open a comment. JSON.parse reads it back unchanged.
std::string script_safe_json(const nlohmann::json& data);

// The whole page for run_data() or sweep_data() output (data["kind"] picks the layout).
std::string render_page(const nlohmann::json& data);

}  // namespace kiln::report
