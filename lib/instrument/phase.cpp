// Phase names and NVTX colours.
#include "instrument/phase.h"

namespace kiln::instrument {
namespace {
struct PhaseInfo {
  const char* name;
  uint32_t colour;
};
// Colours: data in reds, compute in greens/blues, bookkeeping in greys, so a starved GPU
// shows up as red in an nsys timeline.
constexpr PhaseInfo kPhases[kPhaseCount] = {
    {"epoch", 0xFF9E9E9E},      {"step", 0xFF607D8B},       {"data_wait", 0xFFE53935}, {"h2d_copy", 0xFFFF9800},
    {"forward", 0xFF43A047},    {"backward", 0xFF1E88E5},   {"optimizer", 0xFF8E24AA}, {"eval", 0xFF00ACC1},
    {"checkpoint", 0xFF795548}, {"load_batch", 0xFFF06292}, {"comm", 0xFFFFD54F},
};
}  // namespace

const char* phase_name(Phase p) { return kPhases[static_cast<int>(p)].name; }
uint32_t phase_colour(Phase p) { return kPhases[static_cast<int>(p)].colour; }

}  // namespace kiln::instrument
