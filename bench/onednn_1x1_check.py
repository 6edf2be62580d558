"""Checks LibTorch's CPU weight gradient of a strided 1x1 convolution in channels-last, the case
kiln refuses (lib/train/components.cpp, docs/benchmarks.md "A oneDNN fault"): for each input
channel count, in a fresh process with a time limit, the fp32 channels-last gradient twice
(they must agree) and the fp64 NCHW one (the fp32 must be within rounding of it). Plain
PyTorch, nothing of kiln.
  python bench/onednn_1x1_check.py [--channels 1 2 3 4 6 8 12 20 32] [--timeout 25]
"""
import argparse
import subprocess
import sys

CHILD = r"""
import sys, torch
ic = int(sys.argv[1])
torch.manual_seed(0)
x = torch.randn(6, ic, 28, 28).contiguous(memory_format=torch.channels_last)
w = torch.randn(2 * ic, ic, 1, 1).contiguous(memory_format=torch.channels_last)
dy = torch.randn(6, 2 * ic, 14, 14)
grads = []
for mode in range(3):  # fp32 NHWC, again, fp64 NCHW
    wv = (w.double().contiguous() if mode == 2 else w.clone()).requires_grad_(True)
    xv = x.double().contiguous() if mode == 2 else x
    torch.nn.functional.conv2d(xv, wv, stride=2).backward(dy.double() if mode == 2 else dy)
    grads.append(wv.grad.double())
print((grads[0] - grads[1]).abs().max().item(), (grads[0] - grads[2]).abs().max().item(),
      grads[2].abs().max().item())
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--channels", type=int, nargs="+", default=[1, 2, 3, 4, 6, 8, 12, 20, 32])
    ap.add_argument("--timeout", type=float, default=25)
    a = ap.parse_args()
    print(f"torch {__import__('torch').__version__}")
    for ic in a.channels:
        try:
            out = subprocess.run([sys.executable, "-c", CHILD, str(ic)], capture_output=True, text=True,
                                 timeout=a.timeout)
            again, vs64, scale = map(float, out.stdout.split())
            ok = again == 0 and vs64 <= 1e-4 * scale
            print(f"{ic:3d} input channels: {'right' if ok else 'WRONG'} (run to run {again:.3g}, "
                  f"against fp64 {vs64:.3g} of {scale:.3g})")
        except subprocess.TimeoutExpired:
            print(f"{ic:3d} input channels: HUNG (no result in {a.timeout:g} s)")


if __name__ == "__main__":
    main()
