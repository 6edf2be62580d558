"""torchvision's side of the GPU image-folder check (bench/gpu_checks.sh, stage images):
ImageFolder + DataLoader feeding a torchvision ResNet-18 training step on CUDA. Shares no
code with kiln.

usage: image_folder_train_reference.py DIR [--batch 256] [--steps 60] [--warmup 10] [--workers N]
Training transform: RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize
(ImageNet's), PIL decode, pin_memory, persistent workers (default: every core). The step:
SGD (momentum 0.9) on cross-entropy, fp32. After `warmup` steps, `steps` timed ones: images/s
and the data-wait share (time blocked in the loader's next() over the wall time). One JSON line.
"""
import argparse
import json
import os
import time

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, models, transforms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    a = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tf = transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
                             transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    ds = datasets.ImageFolder(os.path.join(a.dir, "train"), tf)
    loader = DataLoader(ds, batch_size=a.batch, shuffle=True, num_workers=a.workers, pin_memory=device.type == "cuda",
                        persistent_workers=a.workers > 0, drop_last=True)
    model = models.resnet18(num_classes=len(ds.classes)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    done, wait, images, start = 0, 0.0, 0, None
    while done < a.warmup + a.steps:
        it = iter(loader)
        while done < a.warmup + a.steps:
            if done == a.warmup:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start, wait, images = time.perf_counter(), 0.0, 0
            t0 = time.perf_counter()
            try:
                x, y = next(it)
            except StopIteration:
                break
            wait += time.perf_counter() - t0
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            opt.step()
            images += x.shape[0]
            done += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    print(json.dumps({"bench": "torchvision_resnet18_step", "device": str(device), "batch": a.batch, "steps": a.steps,
                      "workers": a.workers, "images_per_s": images / wall, "data_wait_share": wait / wall}))


if __name__ == "__main__":
    main()
