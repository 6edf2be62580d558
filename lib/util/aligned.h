// A std::allocator that aligns every block to a 64-byte cache line (LibTorch's own CPU
// allocator does the same). Batch memory handed to MKL/oneDNN must have one fixed
// alignment: their kernels peel a different number of leading elements for another
// alignment, which changes the rounding, and malloc's alignment of a reused block depends on
// timing.
#pragma once
#include <cstddef>
#include <new>

namespace kiln::util {

template <class T, std::size_t Align = 64>
struct AlignedAllocator {
  using value_type = T;
  template <class U>
  struct rebind {
    using other = AlignedAllocator<U, Align>;
  };
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U, Align>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(Align))); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t(Align)); }
  template <class U>
  bool operator==(const AlignedAllocator<U, Align>&) const {
    return true;
  }
  template <class U>
  bool operator!=(const AlignedAllocator<U, Align>&) const {
    return false;
  }
};

}  // namespace kiln::util
