"""configs/tabular_weather.toml's run in plain PyTorch, for bench/tabular_vs_pytorch.sh: read
seattle-weather.csv with the csv module, hold out a seeded fifth of the rows, one-hot the
weather column, standardise by the training rows, then a TensorDataset + DataLoader (batch 32,
shuffled) into an MLP 64-64 with AdamW (lr 1e-3) on a cosine schedule, MSE, 30 epochs,
evaluating R^2 after each. Prints one JSON line: the train time at which R^2 first reached
--target, the final R^2 and MAE, the total time. Shares no code with kiln.
"""
import argparse
import csv
import json
import math
import time

import torch
import torch.nn as nn

t_start = time.perf_counter()
ap = argparse.ArgumentParser()
ap.add_argument("--csv", default="/usr/lib/python3/dist-packages/vega_datasets/_data/seattle-weather.csv")
ap.add_argument("--target", type=float, default=0.8)
ap.add_argument("--epochs", type=int, default=30)
a = ap.parse_args()
torch.manual_seed(0)

with open(a.csv, newline="") as f:
    rows = list(csv.DictReader(f))
kinds = sorted({r["weather"] for r in rows})
x = torch.tensor([[float(r["precipitation"]), float(r["temp_min"]), float(r["wind"])] +
                  [1.0 if r["weather"] == k else 0.0 for k in kinds] for r in rows])
y = torch.tensor([[float(r["temp_max"])] for r in rows])
perm = torch.randperm(len(rows))
held = round(0.2 * len(rows))
test_idx, train_idx = perm[:held], perm[held:]
mean, std = x[train_idx, :3].mean(0), x[train_idx, :3].std(0, unbiased=False)
x[:, :3] = (x[:, :3] - mean) / std
train = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[train_idx], y[train_idx]), batch_size=32,
                                    shuffle=True)
xt, yt = x[test_idx], y[test_idx]
model = nn.Sequential(nn.Linear(x.shape[1], 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
steps = a.epochs * len(train)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
train_s, reached = 0.0, None
for epoch in range(a.epochs):
    t0 = time.perf_counter()
    for xb, yb in train:
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        opt.step()
        sched.step()
    train_s += time.perf_counter() - t0
    with torch.no_grad():
        p = model(xt)
        r2 = 1 - ((p - yt) ** 2).sum().item() / ((yt - yt.mean()) ** 2).sum().item()
        mae = (p - yt).abs().mean().item()
    if reached is None and r2 >= a.target:
        reached = {"epoch": epoch + 1, "train_s": train_s}
print(json.dumps({"r2": r2, "mae": mae, "reached": reached, "train_s": train_s,
                  "total_s": time.perf_counter() - t_start, "threads": torch.get_num_threads()}))
