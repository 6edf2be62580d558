// Antialiased bilinear resampling in fixed point; see resample.h.
#include "image/resample.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// The ifunc resolver behind target_clones runs while the loader relocates the binary, before
// TSan's runtime is up, and crashes there (seen: kiln_tests segfaulted in the resolver): TSan
// builds get the one default version.
#if defined(__SANITIZE_THREAD__)
#define KILN_AVX2_CLONE
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KILN_AVX2_CLONE
#endif
#endif
#ifndef KILN_AVX2_CLONE
#define KILN_AVX2_CLONE __attribute__((target_clones("avx2", "default")))
#endif

namespace kiln::image {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // room for 8-bit pixels times weights, summed, with sign

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

uint8_t clip8(int32_t v) {
  v >>= kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

}  // namespace

void compute_taps(double in0, double in1, int in_size, int out_size, Taps& t) {
  const double scale = (in1 - in0) / out_size;
  const double filter_scale = std::max(scale, 1.0);  // downscaling widens the filter
  const double support = 1.0 * filter_scale;         // the triangle's half-width is 1 source pixel
  t.ksize = int(std::ceil(support)) * 2 + 1;
  t.first.assign(size_t(out_size), 0);
  t.count.assign(size_t(out_size), 0);
  t.coeff.assign(size_t(out_size) * size_t(t.ksize), 0);
  std::vector<double>& k = t.real;
  k.assign(size_t(t.ksize), 0.0);
  for (int o = 0; o < out_size; ++o) {
    const double center = in0 + (o + 0.5) * scale;
    // int() truncates as C casts do; the 0.5 rounds the window's edges to pixel centres.
    const int lo = std::max(int(center - support + 0.5), 0);
    const int n = std::min(int(center + support + 0.5), in_size) - lo;
    double sum = 0;
    // Times the reciprocal, not divided by the scale: the same doubles as Pillow's weights.
    const double inv = 1.0 / filter_scale;
    for (int i = 0; i < n; ++i) sum += k[size_t(i)] = triangle((i + lo - center + 0.5) * inv);
    t.first[size_t(o)] = lo;
    t.count[size_t(o)] = n;
    for (int i = 0; i < n; ++i) {
      const double w = (sum != 0 ? k[size_t(i)] / sum : 0) * (1 << kPrecisionBits);
      t.coeff[size_t(o) * t.ksize + size_t(i)] = int32_t(w < 0 ? w - 0.5 : w + 0.5);
    }
  }
}

namespace {

// One output pixel of the horizontal pass for C channels at once (C a compile-time constant,
// so the accumulators stay in registers).
// `in` is the row's pixel `shift` columns left of the view's first (shift <= first[0]).
template <int C>
void horizontal_row(const uint8_t* in, int shift, const Taps& t, int out_w, uint8_t* row) {
  for (int x = 0; x < out_w; ++x) {
    const int32_t* k = t.coeff.data() + size_t(x) * size_t(t.ksize);
    const uint8_t* p = in + size_t(t.first[size_t(x)] - shift) * C;
    int32_t acc[C];
    for (int c = 0; c < C; ++c) acc[c] = 1 << (kPrecisionBits - 1);  // rounds to nearest on the shift
    const int n = t.count[size_t(x)];
    for (int i = 0; i < n; ++i) {
      for (int c = 0; c < C; ++c) acc[c] += p[i * C + c] * k[i];
    }
    for (int c = 0; c < C; ++c) row[x * C + c] = clip8(acc[c]);
  }
}

void horizontal_row_any(const uint8_t* in, int shift, const Taps& t, int out_w, int C, uint8_t* row) {
  switch (C) {
    case 1:
      return horizontal_row<1>(in, shift, t, out_w, row);
    case 2:
      return horizontal_row<2>(in, shift, t, out_w, row);
    case 3:
      return horizontal_row<3>(in, shift, t, out_w, row);
    default:
      return horizontal_row<4>(in, shift, t, out_w, row);
  }
}

#if defined(__x86_64__)
// The horizontal pass for two RGB rows at once with AVX2 (the same sums as horizontal_row<3>,
// so the same bytes): per tap, each row's pixel is loaded as 4 bytes (RGB + the next pixel's
// R, a lane whose sum is dropped), widened to 32 bits, times the weight. The fourth byte may
// lie one past the row: the caller keeps these rows off the buffer's last.
__attribute__((target("avx2"))) void horizontal_rows2_rgb(const uint8_t* in0, const uint8_t* in1, int shift,
                                                          const Taps& t, int out_w, uint8_t* row0, uint8_t* row1) {
  const __m256i round = _mm256_set1_epi32(1 << (kPrecisionBits - 1));
  for (int x = 0; x < out_w; ++x) {
    const int32_t* k = t.coeff.data() + size_t(x) * size_t(t.ksize);
    const size_t off = size_t(t.first[size_t(x)] - shift) * 3;
    const uint8_t *p0 = in0 + off, *p1 = in1 + off;
    __m256i acc = round;
    const int n = t.count[size_t(x)];
    for (int i = 0; i < n; ++i) {
      int32_t a, b;
      std::memcpy(&a, p0 + 3 * i, 4);
      std::memcpy(&b, p1 + 3 * i, 4);
      const __m128i px = _mm_unpacklo_epi32(_mm_cvtsi32_si128(a), _mm_cvtsi32_si128(b));
      acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(px), _mm256_set1_epi32(k[i])));
    }
    acc = _mm256_srai_epi32(acc, kPrecisionBits);
    // Saturating packs clip to 0..255 as clip8 does: [r0 g0 b0 - r1 g1 b1 -] as bytes.
    const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    const __m128i b8 = _mm_packus_epi16(w16, w16);
    const uint32_t v0 = uint32_t(_mm_cvtsi128_si32(b8)), v1 = uint32_t(_mm_extract_epi32(b8, 1));
    std::memcpy(row0 + 3 * x, &v0, 3);
    std::memcpy(row1 + 3 * x, &v1, 3);
  }
}

bool have_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif

// Vertical pass: a whole row of accumulators, one tap (source row) at a time, so the inner
// loop runs over contiguous bytes and vectorises (with AVX2 where the CPU has it: the clone
// is picked at load time); then clipped and written planar (CHW).
KILN_AVX2_CLONE void vertical_pass(const uint8_t* rows_in, const Taps& t, int y_first, int out_w, int out_h, int C,
                                   int32_t* acc, uint8_t* out) {
  const size_t row_len = size_t(out_w) * size_t(C);
  const size_t plane = size_t(out_h) * size_t(out_w);
  for (int y = 0; y < out_h; ++y) {
    const int32_t* k = t.coeff.data() + size_t(y) * size_t(t.ksize);
    const uint8_t* rows = rows_in + size_t(t.first[size_t(y)] - y_first) * row_len;
    std::fill(acc, acc + row_len, int32_t(1) << (kPrecisionBits - 1));
    for (int i = 0; i < t.count[size_t(y)]; ++i) {
      const uint8_t* r = rows + size_t(i) * row_len;
      const int32_t w = k[i];
      for (size_t j = 0; j < row_len; ++j) acc[j] += r[j] * w;
    }
    for (int c = 0; c < C; ++c) {
      uint8_t* o = out + size_t(c) * plane + size_t(y) * size_t(out_w);
      for (int x = 0; x < out_w; ++x) o[x] = clip8(acc[size_t(x) * size_t(C) + size_t(c)]);
    }
  }
}

}  // namespace

Rect Resampler::plan(const View& view, const Box& box, int out_w, int out_h) {
  compute_taps(box.x0, box.x1, view.width, out_w, h_);
  compute_taps(box.y0, box.y1, view.height, out_h, v_);
  view_ = view;
  out_w_ = out_w;
  out_h_ = out_h;
  // Windows move right (down) with the output pixel, so the first and last bound them all.
  const int x0 = h_.first.front(), x1 = h_.first.back() + h_.count.back();
  const int y0 = v_.first.front(), y1 = v_.first.back() + v_.count.back();
  return {view.x + x0, view.y + y0, x1 - x0, y1 - y0};
}

void Resampler::execute(const Pixels& src, uint8_t* out) {
  const int C = src.channels, out_w = out_w_, out_h = out_h_;
  // Only the source rows some output row reads go through the horizontal pass.
  const int y_first = v_.first.front();
  const int y_last = v_.first.back() + v_.count.back();
  const int shift = src.x - view_.x;  // the view's columns before src's first
  const size_t row_len = size_t(out_w) * size_t(C);
  rows_.resize(size_t(y_last - y_first) * row_len);
  auto source_row = [&](int y) {
    return src.data.data() + size_t(y + view_.y - src.y) * size_t(src.width) * size_t(C);
  };
  auto row = [&](int y) { return rows_.data() + size_t(y - y_first) * row_len; };
  int y = y_first;
#if defined(__x86_64__)
  // Pairs of RGB rows with AVX2, while the second is not the source's last row (see there).
  if (C == 3 && have_avx2()) {
    for (; y + 1 < y_last && y + 1 + view_.y - src.y < src.height - 1; y += 2) {
      horizontal_rows2_rgb(source_row(y), source_row(y + 1), shift, h_, out_w, row(y), row(y + 1));
    }
  }
#endif
  for (; y < y_last; ++y) horizontal_row_any(source_row(y), shift, h_, out_w, C, row(y));
  acc_.resize(row_len);
  vertical_pass(rows_.data(), v_, y_first, out_w, out_h, C, acc_.data(), out);
}

}  // namespace kiln::image
