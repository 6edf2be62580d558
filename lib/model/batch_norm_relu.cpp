// batch_norm_train_cpu (see batch_norm_relu.h). Two layouts: NCHW, where a channel's values
// are N planes of H * W, and channels-last, where the activation is M = N * H * W rows of C.
// Every reduction is split into units whose bounds depend on the shape alone: channels-last,
// blocks of whole rows; NCHW, a channel's planes of a block of images (or a piece of one
// plane when a plane is large). Each unit sums in fp32, the units are added in double in
// index order, so the bits do not depend on how parallel_for splits the units.
// This file is compiled with -ffp-contract=off (CMakeLists.txt): x * a + b is a rounded
// multiply then a rounded add wherever it appears, vectorised or not, so the backward's
// recomputed ReLU mask is exactly the forward's.
#include "model/batch_norm_relu.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace kiln::model {
namespace {

// Values per reduction unit (64 KB of fp32).
constexpr int64_t kUnit = 16384;

struct Layout {
  bool channels_last;
  int64_t n, c, hw;                        // x is [n, c, hw] (NCHW) or [n * hw, c] (channels-last)
  int64_t rows() const { return n * hw; }  // values per channel
  // Channels-last: units of whole rows (at least 64, so a wide C does not make one sum a row).
  int64_t unit_rows() const { return std::max<int64_t>(64, kUnit / c); }
  int64_t row_units() const { return (rows() + unit_rows() - 1) / unit_rows(); }
  // NCHW: a unit is `images` images' planes of one channel, or, for a plane above kUnit, one
  // of `pieces` pieces of it. Unit u = (image block * c + channel) * pieces + piece.
  int64_t images() const { return std::max<int64_t>(1, kUnit / hw); }
  int64_t image_blocks() const { return (n + images() - 1) / images(); }
  int64_t pieces() const { return (hw + kUnit - 1) / kUnit; }
  int64_t piece_len() const { return std::min(hw, kUnit); }
  int64_t units() const { return channels_last ? row_units() : image_blocks() * c * pieces(); }
};

Layout layout_of(const at::Tensor& x) {
  const int64_t hw = x.size(2) * x.size(3);
  // With one value per plane both layouts are the same [N, C] memory: take the rows.
  const bool cl = x.is_contiguous(at::MemoryFormat::ChannelsLast) && (!x.is_contiguous() || hw == 1);
  return {cl, x.size(0), x.size(1), hw};
}

// NCHW unit u's channel, and fn(start, len) for each stretch of its values (x + start).
int64_t unit_channel(const Layout& l, int64_t u) { return (u / l.pieces()) % l.c; }
template <typename Fn>
void for_unit(const Layout& l, int64_t u, Fn&& fn) {
  const int64_t piece = u % l.pieces(), ch = unit_channel(l, u), block = u / (l.pieces() * l.c);
  const int64_t off = piece * l.piece_len(), len = std::min(l.piece_len(), l.hw - off);
  for (int64_t img = block * l.images(); img < std::min(l.n, (block + 1) * l.images()); ++img)
    fn((img * l.c + ch) * l.hw + off, len);
}

// 8 fixed lanes, added in a fixed order: the compiler vectorises the lanes (one accumulator
// would be a serial chain it may not reorder).
struct Lanes {
  float v[8] = {};
  float total() const { return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])); }
};

// The ReLU's input, v = x * a + b (a rounded multiply, then a rounded add: see the top).
inline float affine(float x, float a, float b) { return x * a + b; }
// The gradient reaching the ReLU's input: dy where v > 0; zero where v <= 0 (threshold_backward).
inline float relu_grad(float dy, float x, float a, float b, bool relu) {
  return relu && affine(x, a, b) <= 0.f ? 0.f : dy;
}

// --- statistics: per channel sums of d = x - k and d^2, k the channel's first value (a shift
// that keeps d^2's sum from cancelling when the mean is far from 0).

void row_moments(const float* __restrict x, const float* __restrict k, float* __restrict s1, float* __restrict s2,
                 int64_t c) {
  for (int64_t i = 0; i < c; ++i) {
    const float d = x[i] - k[i];
    s1[i] += d, s2[i] += d * d;
  }
}

void span_moments(const float* __restrict x, int64_t len, float k, Lanes& s1, Lanes& s2) {
  int64_t i = 0;
  for (; i + 8 <= len; i += 8)
    for (int j = 0; j < 8; ++j) {
      const float d = x[i + j] - k;
      s1.v[j] += d, s2.v[j] += d * d;
    }
  for (int j = 0; i + j < len; ++j) {
    const float d = x[i + j] - k;
    s1.v[j] += d, s2.v[j] += d * d;
  }
}

// Per channel mean and biased variance, in double.
void channel_moments(const float* x, const Layout& l, std::vector<double>& mean, std::vector<double>& var) {
  std::vector<float> k(l.c);
  for (int64_t ch = 0; ch < l.c; ++ch) k[ch] = l.channels_last ? x[ch] : x[ch * l.hw];
  const int64_t units = l.units();
  std::vector<double> s1(l.c, 0.0), s2(l.c, 0.0);
  if (l.channels_last) {
    std::vector<float> part(2 * units * l.c);  // [unit][s1 | s2][c]
    at::parallel_for(0, units, 1, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        float* p1 = &part[2 * u * l.c];
        float* p2 = p1 + l.c;
        std::fill(p1, p1 + 2 * l.c, 0.f);
        for (int64_t r = u * l.unit_rows(); r < std::min(l.rows(), (u + 1) * l.unit_rows()); ++r)
          row_moments(x + r * l.c, k.data(), p1, p2, l.c);
      }
    });
    for (int64_t u = 0; u < units; ++u)
      for (int64_t ch = 0; ch < l.c; ++ch) s1[ch] += part[2 * u * l.c + ch], s2[ch] += part[(2 * u + 1) * l.c + ch];
  } else {
    std::vector<float> part(2 * units);
    at::parallel_for(0, units, 1, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        Lanes a, b;
        const float kc = k[unit_channel(l, u)];
        for_unit(l, u, [&](int64_t start, int64_t len) { span_moments(x + start, len, kc, a, b); });
        part[2 * u] = a.total(), part[2 * u + 1] = b.total();
      }
    });
    for (int64_t u = 0; u < units; ++u) {
      s1[unit_channel(l, u)] += part[2 * u];
      s2[unit_channel(l, u)] += part[2 * u + 1];
    }
  }
  const double m = double(l.rows());
  for (int64_t ch = 0; ch < l.c; ++ch) {
    mean[ch] = double(k[ch]) + s1[ch] / m;
    var[ch] = std::max(0.0, (s2[ch] - s1[ch] * s1[ch] / m) / m);
  }
}

// --- y = relu?(x * a[c] + b[c]); ReLU as LibTorch's: NaN passes through.

void row_normalise(const float* __restrict x, float* __restrict y, const float* __restrict a, const float* __restrict b,
                   int64_t c, bool relu) {
  if (relu) {
    for (int64_t i = 0; i < c; ++i) {
      const float v = affine(x[i], a[i], b[i]);
      y[i] = v < 0.f ? 0.f : v;
    }
  } else {
    for (int64_t i = 0; i < c; ++i) y[i] = affine(x[i], a[i], b[i]);
  }
}

void span_normalise(const float* __restrict x, float* __restrict y, int64_t len, float a, float b, bool relu) {
  if (relu) {
    for (int64_t i = 0; i < len; ++i) {
      const float v = affine(x[i], a, b);
      y[i] = v < 0.f ? 0.f : v;
    }
  } else {
    for (int64_t i = 0; i < len; ++i) y[i] = affine(x[i], a, b);
  }
}

void normalise(const float* x, float* y, const float* a, const float* b, const Layout& l, bool relu) {
  if (l.channels_last) {
    at::parallel_for(0, l.rows(), l.unit_rows(), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) row_normalise(x + r * l.c, y + r * l.c, a, b, l.c, relu);
    });
    return;
  }
  at::parallel_for(0, l.n * l.c, std::max<int64_t>(1, kUnit / l.hw), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) span_normalise(x + p * l.hw, y + p * l.hw, l.hw, a[p % l.c], b[p % l.c], relu);
  });
}

// --- backward sums: per channel sum g and sum g * (x - mean), g the ReLU's input gradient.

void row_grad_sums(const float* __restrict dy, const float* __restrict x, const float* __restrict a,
                   const float* __restrict b, const float* __restrict mean, float* __restrict s, float* __restrict sx,
                   int64_t c, bool relu) {
  for (int64_t i = 0; i < c; ++i) {
    const float g = relu_grad(dy[i], x[i], a[i], b[i], relu);
    s[i] += g, sx[i] += g * (x[i] - mean[i]);
  }
}

// Relu a template argument: with a run-time flag in the lane loop GCC leaves it scalar.
template <bool Relu>
void span_grad_sums(const float* __restrict dy, const float* __restrict x, int64_t len, float a, float b, float mean,
                    Lanes& s, Lanes& sx) {
  int64_t i = 0;
  for (; i + 8 <= len; i += 8)
    for (int j = 0; j < 8; ++j) {
      const float g = relu_grad(dy[i + j], x[i + j], a, b, Relu);
      s.v[j] += g, sx.v[j] += g * (x[i + j] - mean);
    }
  for (int j = 0; i + j < len; ++j) {
    const float g = relu_grad(dy[i + j], x[i + j], a, b, Relu);
    s.v[j] += g, sx.v[j] += g * (x[i + j] - mean);
  }
}

void grad_sums(const float* dy, const float* x, const float* a, const float* b, const float* mean, const Layout& l,
               bool relu, std::vector<double>& sg, std::vector<double>& sgx) {
  const int64_t units = l.units();
  if (l.channels_last) {
    std::vector<float> part(2 * units * l.c);  // [unit][sg | sgx][c]
    at::parallel_for(0, units, 1, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        float* s = &part[2 * u * l.c];
        float* sx = s + l.c;
        std::fill(s, s + 2 * l.c, 0.f);
        for (int64_t r = u * l.unit_rows(); r < std::min(l.rows(), (u + 1) * l.unit_rows()); ++r)
          row_grad_sums(dy + r * l.c, x + r * l.c, a, b, mean, s, sx, l.c, relu);
      }
    });
    for (int64_t u = 0; u < units; ++u)
      for (int64_t ch = 0; ch < l.c; ++ch) sg[ch] += part[2 * u * l.c + ch], sgx[ch] += part[(2 * u + 1) * l.c + ch];
    return;
  }
  std::vector<float> part(2 * units);
  at::parallel_for(0, units, 1, [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; ++u) {
      Lanes s, sx;
      const int64_t ch = unit_channel(l, u);
      for_unit(l, u, [&](int64_t start, int64_t len) {
        (relu ? span_grad_sums<true> : span_grad_sums<false>)(dy + start, x + start, len, a[ch], b[ch], mean[ch], s,
                                                              sx);
      });
      part[2 * u] = s.total(), part[2 * u + 1] = sx.total();
    }
  });
  for (int64_t u = 0; u < units; ++u) {
    sg[unit_channel(l, u)] += part[2 * u];
    sgx[unit_channel(l, u)] += part[2 * u + 1];
  }
}

// --- dx = k1 * (g - k2 - (x - mean) * k3), per channel constants (see backward_cpu).

struct GradConsts {
  const float *a, *b, *mean, *k1, *k2, *k3;
};

void row_input_grad(const float* __restrict dy, const float* __restrict x, float* __restrict dx, GradConsts k,
                    int64_t c, bool relu) {
  const float* __restrict a = k.a;
  const float* __restrict b = k.b;
  const float* __restrict mean = k.mean;
  const float* __restrict k1 = k.k1;
  const float* __restrict k2 = k.k2;
  const float* __restrict k3 = k.k3;
  for (int64_t i = 0; i < c; ++i) {
    const float g = relu_grad(dy[i], x[i], a[i], b[i], relu);
    dx[i] = k1[i] * (g - k2[i] - (x[i] - mean[i]) * k3[i]);
  }
}

void span_input_grad(const float* __restrict dy, const float* __restrict x, float* __restrict dx, int64_t len,
                     const GradConsts& k, int64_t ch, bool relu) {
  const float a = k.a[ch], b = k.b[ch], mean = k.mean[ch], k1 = k.k1[ch], k2 = k.k2[ch], k3 = k.k3[ch];
  for (int64_t i = 0; i < len; ++i) {
    const float g = relu_grad(dy[i], x[i], a, b, relu);
    dx[i] = k1 * (g - k2 - (x[i] - mean) * k3);
  }
}

void input_grad(const float* dy, const float* x, float* dx, const GradConsts& k, const Layout& l, bool relu) {
  if (l.channels_last) {
    at::parallel_for(0, l.rows(), l.unit_rows(), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) row_input_grad(dy + r * l.c, x + r * l.c, dx + r * l.c, k, l.c, relu);
    });
    return;
  }
  at::parallel_for(0, l.n * l.c, std::max<int64_t>(1, kUnit / l.hw), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      span_input_grad(dy + p * l.hw, x + p * l.hw, dx + p * l.hw, l.hw, k, p % l.c, relu);
  });
}

at::Tensor vector_of(const std::vector<double>& v) {
  at::Tensor t = at::empty({int64_t(v.size())}, at::kFloat);
  float* p = t.mutable_data_ptr<float>();
  for (size_t i = 0; i < v.size(); ++i) p[i] = float(v[i]);
  return t;
}

struct Forward {
  at::Tensor y, mean, var, invstd, a, b;  // a, b: the per channel scale and shift, [C]
};

Forward forward_cpu(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps, bool relu) {
  const Layout l = layout_of(x);
  std::vector<double> mean(l.c), var(l.c), invstd(l.c), a(l.c), b(l.c);
  channel_moments(x.const_data_ptr<float>(), l, mean, var);
  const at::Tensor w = weight.contiguous(), bi = bias.contiguous();
  const float *wp = w.const_data_ptr<float>(), *bp = bi.const_data_ptr<float>();
  for (int64_t ch = 0; ch < l.c; ++ch) {
    invstd[ch] = 1.0 / std::sqrt(var[ch] + eps);
    a[ch] = double(wp[ch]) * invstd[ch];
    b[ch] = double(bp[ch]) - mean[ch] * a[ch];
  }
  Forward f{at::empty_like(x), vector_of(mean), vector_of(var), vector_of(invstd), vector_of(a), vector_of(b)};
  normalise(x.const_data_ptr<float>(), f.y.mutable_data_ptr<float>(), f.a.const_data_ptr<float>(),
            f.b.const_data_ptr<float>(), l, relu);
  return f;
}

// With xhat = (x - mean) * invstd and g the gradient at the ReLU's input (y's gradient where
// there is no ReLU), over the M = N * H * W values of a channel:
//   dbias = sum g, dweight = sum g * xhat,
//   dx = weight * invstd * (g - sum g / M - (x - mean) * invstd^2 * sum g * (x - mean) / M).
std::array<at::Tensor, 3> backward_cpu(const at::Tensor& grad, const at::Tensor& x, const at::Tensor& weight,
                                       const Forward& f, bool relu) {
  const Layout l = layout_of(x);
  const at::Tensor dy =
      grad.contiguous(l.channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
  const float *a = f.a.const_data_ptr<float>(), *b = f.b.const_data_ptr<float>();
  const float* mean = f.mean.const_data_ptr<float>();
  std::vector<double> sg(l.c, 0.0), sgx(l.c, 0.0);
  grad_sums(dy.const_data_ptr<float>(), x.const_data_ptr<float>(), a, b, mean, l, relu, sg, sgx);
  const at::Tensor w = weight.contiguous();
  const float* wp = w.const_data_ptr<float>();
  const float* is = f.invstd.const_data_ptr<float>();
  const double m = double(l.rows());
  std::vector<double> dweight(l.c), k1(l.c), k2(l.c), k3(l.c);
  for (int64_t ch = 0; ch < l.c; ++ch) {
    const double invstd = is[ch];
    dweight[ch] = sgx[ch] * invstd;
    k1[ch] = double(wp[ch]) * invstd;
    k2[ch] = sg[ch] / m;
    k3[ch] = invstd * invstd * sgx[ch] / m;
  }
  const at::Tensor t1 = vector_of(k1), t2 = vector_of(k2), t3 = vector_of(k3);
  at::Tensor dx = at::empty_like(x);
  input_grad(dy.const_data_ptr<float>(), x.const_data_ptr<float>(), dx.mutable_data_ptr<float>(),
             {a, b, mean, t1.const_data_ptr<float>(), t2.const_data_ptr<float>(), t3.const_data_ptr<float>()}, l, relu);
  return {dx, vector_of(dweight), vector_of(sg)};
}

class BatchNormTrainFn : public torch::autograd::Function<BatchNormTrainFn> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                                                const at::Tensor& weight, const at::Tensor& bias, double eps,
                                                bool relu) {
    Forward f = forward_cpu(x, weight, bias, eps, relu);
    ctx->save_for_backward({x, weight});
    // The backward's own copies: the mean and variance returned may be changed by the caller.
    ctx->saved_data["mean"] = f.mean;
    ctx->saved_data["invstd"] = f.invstd;
    ctx->saved_data["a"] = f.a;
    ctx->saved_data["b"] = f.b;
    ctx->saved_data["relu"] = relu;
    at::Tensor mean = f.mean.clone(), var = f.var;
    ctx->mark_non_differentiable({mean, var});
    return {f.y, mean, var};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    if (!grads[0].defined()) return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    Forward f;
    f.mean = ctx->saved_data["mean"].toTensor();
    f.invstd = ctx->saved_data["invstd"].toTensor();
    f.a = ctx->saved_data["a"].toTensor();
    f.b = ctx->saved_data["b"].toTensor();
    auto [dx, dweight, dbias] = backward_cpu(grads[0], saved[0], saved[1], f, ctx->saved_data["relu"].toBool());
    return {dx, dweight, dbias, at::Tensor(), at::Tensor()};
  }
};

bool fp32_cpu_vector(const at::Tensor& t, int64_t c) {
  return t.defined() && t.device().is_cpu() && t.scalar_type() == at::kFloat && t.dim() == 1 && t.numel() == c;
}

}  // namespace

bool batch_norm_train_cpu_takes(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (x.dim() != 4 || !x.device().is_cpu() || x.scalar_type() != at::kFloat) return false;
  if (!fp32_cpu_vector(weight, x.size(1)) || !fp32_cpu_vector(bias, x.size(1))) return false;
  // One value per channel has no variance: LibTorch's own batch norm raises its error.
  if (x.size(0) * x.size(2) * x.size(3) < 2 || x.size(1) == 0) return false;
  return x.is_contiguous() || x.is_contiguous(at::MemoryFormat::ChannelsLast);
}

std::array<at::Tensor, 3> batch_norm_train_cpu(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                               double eps, bool relu) {
  TORCH_CHECK(batch_norm_train_cpu_takes(x, weight, bias),
              "kiln's batch norm kernel takes a [N, C, H, W] fp32 CPU tensor, NCHW or channels-last, with fp32 "
              "CPU weight and bias of [C], and more than one value per channel");
  const auto out = BatchNormTrainFn::apply(x, weight, bias, eps, relu);
  return {out[0], out[1], out[2]};
}

}  // namespace kiln::model
