// A plain parallel loop on std::threads for work LibTorch's pool must not run (file I/O,
// decoding on kiln's own threads), without LibTorch so util/ stays torch-free.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>

namespace kiln::util {

// Runs work(i) for every i in [0, n) on `threads` threads (the caller's among them), items
// handed out one at a time. The first exception stops the handing out and is rethrown after
// every thread joined. `done`, when given, counts finished items (for a progress line).
void parallel_for(int64_t n, int threads, const std::function<void(int64_t)>& work,
                  std::atomic<int64_t>* done = nullptr);

}  // namespace kiln::util
