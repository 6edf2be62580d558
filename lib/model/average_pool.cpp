#include "model/average_pool.h"

#include <ATen/ATen.h>

namespace kiln::model {
namespace {

// [to, from]: row i averages adaptive pooling's window i (its entries sum to 1).
at::Tensor averaging_matrix(int64_t from, int64_t to, const at::TensorOptions& options) {
  at::Tensor m = at::zeros({to, from}, at::TensorOptions().dtype(at::kDouble));
  for (int64_t i = 0; i < to; ++i) {
    const int64_t lo = i * from / to, hi = ((i + 1) * from + to - 1) / to;
    m[i].slice(0, lo, hi).fill_(1.0 / static_cast<double>(hi - lo));
  }
  return m.to(options);
}

}  // namespace

at::Tensor average_pool(const at::Tensor& x, int64_t h, int64_t w) {
  const int64_t H = x.size(-2), W = x.size(-1);
  if (H % h == 0 && W % w == 0) return at::avg_pool2d(x, {H / h, W / w});
  return averaging_matrix(H, h, x.options()).matmul(x).matmul(averaging_matrix(W, w, x.options()).t());
}

}  // namespace kiln::model
