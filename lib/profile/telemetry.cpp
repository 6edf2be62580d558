// NVML sampling: dlopen("libnvidia-ml.so.1"), a sampler thread during the window. The
// function types come from nvml.h (the toolkit's or the nvidia-nvml-dev wheel's); without
// the header kiln is built with telemetry reporting "not built in".
#include "profile/telemetry.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "instrument/device_timer.h"

#ifdef KILN_HAVE_NVML_H
#include <nvml.h>
#endif

namespace kiln::profile {

double TelemetrySummary::mean(double TelemetrySample::*field) const {
  double s = 0;
  int64_t n = 0;
  for (const auto& x : samples) {
    if (x.*field >= 0) s += x.*field, ++n;
  }
  return n ? s / double(n) : -1;
}

double TelemetrySummary::max(double TelemetrySample::*field) const {
  double m = -1;
  for (const auto& x : samples) m = std::max(m, x.*field);
  return m;
}

nlohmann::json TelemetrySummary::to_json() const {
  nlohmann::json j = {{"available", available}, {"note", note}, {"samples", samples.size()}};
  if (!available || samples.empty()) return j;
  auto value = [](double v) { return v >= 0 ? nlohmann::json(v) : nlohmann::json(nullptr); };  // null: not read
  j["gpu_util_pct_mean"] = value(mean(&TelemetrySample::gpu_util_pct));
  j["mem_util_pct_mean"] = value(mean(&TelemetrySample::mem_util_pct));
  j["power_w_mean"] = value(mean(&TelemetrySample::power_w));
  j["power_w_max"] = value(max(&TelemetrySample::power_w));
  j["power_limit_w"] = value(power_limit_w);
  j["sm_clock_mhz_mean"] = value(mean(&TelemetrySample::sm_clock_mhz));
  j["mem_used_mib_max"] = value(max(&TelemetrySample::mem_used_mib));
  j["temp_c_max"] = value(max(&TelemetrySample::temp_c));
  return j;
}

#ifdef KILN_HAVE_NVML_H
struct Telemetry::Nvml {
  void* lib = nullptr;
  nvmlDevice_t dev{};
  decltype(&nvmlInit_v2) init = nullptr;
  decltype(&nvmlShutdown) shutdown = nullptr;
  decltype(&nvmlDeviceGetHandleByPciBusId_v2) by_bus = nullptr;
  decltype(&nvmlDeviceGetName) name = nullptr;
  decltype(&nvmlDeviceGetUtilizationRates) util = nullptr;
  decltype(&nvmlDeviceGetPowerUsage) power = nullptr;                // milliwatts
  decltype(&nvmlDeviceGetEnforcedPowerLimit) power_limit = nullptr;  // milliwatts
  decltype(&nvmlDeviceGetClockInfo) clock = nullptr;                 // MHz
  decltype(&nvmlDeviceGetMemoryInfo) memory = nullptr;               // bytes
  // Degrees C: nvmlDeviceGetTemperatureV (NVML 12.7 and later: its header defines
  // nvmlTemperature_v1), else the older call it replaces (typed here, since newer headers
  // mark it deprecated); a driver with neither reads no temperature.
#ifdef nvmlTemperature_v1
  decltype(&nvmlDeviceGetTemperatureV) temperature_v = nullptr;
#endif
  nvmlReturn_t (*temperature_old)(nvmlDevice_t, nvmlTemperatureSensors_t, unsigned int*) = nullptr;
  bool initialised = false;

  ~Nvml() {
    if (initialised) shutdown();
    if (lib) dlclose(lib);
  }
  template <class F>
  bool sym(F& f, const char* n) {
    f = reinterpret_cast<F>(dlsym(lib, n));
    return f != nullptr;
  }
  // Returns "" on success, else why telemetry is unavailable.
  std::string open(int cuda_index) {
    const char* env = std::getenv("KILN_NVML_LIBRARY");
    const std::string path = env && *env ? env : "libnvidia-ml.so.1";
    lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) return "NVML not found (" + path + "): no GPU telemetry";
    if (!sym(init, "nvmlInit_v2") || !sym(shutdown, "nvmlShutdown") ||
        !sym(by_bus, "nvmlDeviceGetHandleByPciBusId_v2") || !sym(name, "nvmlDeviceGetName") ||
        !sym(util, "nvmlDeviceGetUtilizationRates") || !sym(power, "nvmlDeviceGetPowerUsage") ||
        !sym(power_limit, "nvmlDeviceGetEnforcedPowerLimit") || !sym(clock, "nvmlDeviceGetClockInfo") ||
        !sym(memory, "nvmlDeviceGetMemoryInfo")) {
      return path + " lacks an NVML function kiln needs: no GPU telemetry";
    }
#ifdef nvmlTemperature_v1
    if (!sym(temperature_v, "nvmlDeviceGetTemperatureV"))
#endif
      sym(temperature_old, "nvmlDeviceGetTemperature");
    if (init() != NVML_SUCCESS) return "nvmlInit failed: no GPU telemetry";
    initialised = true;
    // NVML numbers devices differently from CUDA (CUDA_VISIBLE_DEVICES, ordering): match
    // them through the PCI bus id.
    const std::string bus = instrument::cuda_pci_bus_id(cuda_index);
    if (bus.empty() || by_bus(bus.c_str(), &dev) != NVML_SUCCESS) {
      return "NVML has no device at PCI bus id '" + bus + "': no GPU telemetry";
    }
    return "";
  }
  TelemetrySample sample(double t) {
    TelemetrySample s;
    s.t_s = t;
    nvmlUtilization_t u{};
    if (util(dev, &u) == NVML_SUCCESS) s.gpu_util_pct = u.gpu, s.mem_util_pct = u.memory;
    unsigned int v = 0;
    if (power(dev, &v) == NVML_SUCCESS) s.power_w = v / 1000.0;
    if (clock(dev, NVML_CLOCK_SM, &v) == NVML_SUCCESS) s.sm_clock_mhz = v;
    nvmlMemory_t m{};
    if (memory(dev, &m) == NVML_SUCCESS) s.mem_used_mib = double(m.used) / (1024.0 * 1024.0);
#ifdef nvmlTemperature_v1
    nvmlTemperature_t temp{};
    temp.version = nvmlTemperature_v1;
    temp.sensorType = NVML_TEMPERATURE_GPU;
    if (temperature_v && temperature_v(dev, &temp) == NVML_SUCCESS) s.temp_c = temp.temperature;
#endif
    if (s.temp_c < 0 && temperature_old && temperature_old(dev, NVML_TEMPERATURE_GPU, &v) == NVML_SUCCESS) s.temp_c = v;
    return s;
  }
};

Telemetry::Telemetry(int cuda_index, double period_s, bool keep_history) {
  if (cuda_index < 0) {
    summary_.note = "CPU run: no GPU telemetry";
    return;
  }
  nvml_ = std::make_unique<Nvml>();
  summary_.note = nvml_->open(cuda_index);
  if (!summary_.note.empty()) {
    nvml_.reset();
    return;
  }
  char name[96] = {0};
  if (nvml_->name(nvml_->dev, name, sizeof name) == NVML_SUCCESS) summary_.note = name;
  unsigned int limit = 0;
  if (nvml_->power_limit(nvml_->dev, &limit) == NVML_SUCCESS) summary_.power_limit_w = limit / 1000.0;
  summary_.available = true;
  thread_ = std::thread([this, period_s, keep_history] {
    const auto t0 = std::chrono::steady_clock::now();
    while (!stop_.load(std::memory_order_acquire)) {
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const TelemetrySample s = nvml_->sample(t);
      if (keep_history) summary_.samples.push_back(s);
      std::lock_guard<std::mutex> lock(mu_);
      latest_ = s;
      std::this_thread::sleep_for(std::chrono::duration<double>(period_s));
    }
  });
}
#else
struct Telemetry::Nvml {};
Telemetry::Telemetry(int cuda_index, double, bool) {
  summary_.note = cuda_index < 0 ? "CPU run: no GPU telemetry" : "kiln was built without nvml.h: no GPU telemetry";
}
#endif

Telemetry::~Telemetry() { stop(); }

std::optional<TelemetrySample> Telemetry::latest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_;
}

TelemetrySummary Telemetry::stop() {
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
  return summary_;
}

}  // namespace kiln::profile
