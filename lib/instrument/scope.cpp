// KILN_SCOPE: NVTX ranges (when built with the NVTX3 headers) and spans for the active
// recorder.
#include "instrument/scope.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "instrument/recorder.h"

#ifdef KILN_HAVE_NVTX
#include <nvtx3/nvToolsExt.h>
#endif

namespace kiln::instrument {
namespace {

std::atomic<Recorder*> g_recorder{nullptr};
thread_local int64_t t_step = 0;
thread_local std::string t_name;  // set by name_this_thread; "" = unnamed

#ifdef KILN_HAVE_NVTX
// The "kiln" domain and one registered string per phase, created once (NVTX3 makes these
// no-ops returning null until a tool such as nsys injects itself).
struct NvtxHandles {
  nvtxDomainHandle_t domain;
  nvtxStringHandle_t names[kPhaseCount];
  NvtxHandles() {
    domain = nvtxDomainCreateA("kiln");
    for (int i = 0; i < kPhaseCount; ++i) names[i] = nvtxDomainRegisterStringA(domain, phase_name(Phase(i)));
  }
};
const NvtxHandles& nvtx() {
  static const NvtxHandles h;
  return h;
}

void nvtx_push(Phase p, int64_t step) {
  const auto& h = nvtx();
  nvtxEventAttributes_t a{};
  a.version = NVTX_VERSION;
  a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
  a.colorType = NVTX_COLOR_ARGB;
  a.color = phase_colour(p);
  a.payloadType = NVTX_PAYLOAD_TYPE_INT64;
  a.payload.llValue = step;
  char text[32];
  if (p == Phase::kStep || p == Phase::kEpoch) {
    // The step (epoch) number in the label itself, so nsys timelines read "step 12".
    std::snprintf(text, sizeof text, "%s %lld", phase_name(p), static_cast<long long>(step));
    a.messageType = NVTX_MESSAGE_TYPE_ASCII;
    a.message.ascii = text;
  } else {
    a.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
    a.message.registered = h.names[static_cast<int>(p)];
  }
  nvtxDomainRangePushEx(h.domain, &a);
}
void nvtx_pop() { nvtxDomainRangePop(nvtx().domain); }
#else
void nvtx_push(Phase, int64_t) {}
void nvtx_pop() {}
#endif

}  // namespace

Recorder* active_recorder() { return g_recorder.load(std::memory_order_acquire); }
void set_active_recorder(Recorder* r) { g_recorder.store(r, std::memory_order_release); }

void set_current_step(int64_t step) { t_step = step; }
int64_t current_step() { return t_step; }

void name_this_thread(const char* name) {
#ifdef KILN_HAVE_NVTX
  // NVTX initialises itself lazily on its first call, writing its function table without
  // synchronisation; nvtx()'s static initialiser makes that first call once, and every later
  // NVTX call (from any thread) happens after it.
  nvtx();
  nvtxNameOsThreadA(static_cast<uint32_t>(syscall(SYS_gettid)), name);
#endif
  t_name = name;
}

const std::string& this_thread_name() { return t_name; }

bool nvtx_compiled_in() {
#ifdef KILN_HAVE_NVTX
  return true;
#else
  return false;
#endif
}

Scope::Scope(Phase p) : phase_(p), rec_(active_recorder()) {
  nvtx_push(p, t_step);
  if (rec_) span_ = rec_->begin(p, t_step);
}

void Scope::cancel() {
  if (rec_ && span_ >= 0) rec_->discard_from(span_);
}

Scope::~Scope() {
  if (rec_) rec_->end(span_);
  nvtx_pop();
}

}  // namespace kiln::instrument
