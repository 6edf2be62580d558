// Logging on stderr through spdlog, behind plain functions. Why a wrapper: the torch wheel
// ships fmt 12 headers that shadow Debian's fmt 9, which spdlog is built against, so
// spdlog is only ever compiled in log.cpp, in a target that does not see torch's includes.
#pragma once
#include <string>

namespace kiln::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void set_level(Level level);
void debug(const std::string& msg);
void info(const std::string& msg);
void warn(const std::string& msg);
void error(const std::string& msg);

}  // namespace kiln::log
