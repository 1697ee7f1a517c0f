#!/usr/bin/env python3
"""The reference for `bench/data-scale.sh`: what `rnn train` does on a one-series CSV, with
pandas.read_csv and PyTorch — Elman (nn.RNN, tanh) H 32, inputs = targets = every column,
shift 1, normalised with the training split's mean/std, 5% held out, the series cut into
B = 64 streams (word-language-model batchify), TBPTT 50 with the state carried, MSE, Adam
lr 0.005, clip 5, float32, one epoch, then the validation loss. Prints one JSON line:
load_s, train_s (the epoch), total_s, peak_rss_mb."""
import json, resource, sys, time

t_start = time.perf_counter()
import pandas as pd
import torch

torch.manual_seed(7)
torch.set_num_threads(1)
path = sys.argv[1]
t0 = time.perf_counter()
df = pd.read_csv(path, dtype="float64")
load_s = time.perf_counter() - t0

data = torch.from_numpy(df.to_numpy())
n = data.shape[0]
k = max(1, round(0.05 * n))
train, val = data[: n - k], data[n - k :]
mean, std = train.mean(0), train.std(0, unbiased=False)
std[std == 0] = 1
train = ((train - mean) / std).float()
val = ((val - mean) / std).float()
C, H, B, T = data.shape[1], 32, 64, 50

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.RNN(C, H, batch_first=False)
        self.out = torch.nn.Linear(H, C)
    def forward(self, x, h):
        y, h = self.rnn(x, h)
        return self.out(y), h

net = Net()
opt = torch.optim.Adam(net.parameters(), lr=0.005)
steps = (train.shape[0] - 1) // B
xs = train[: steps * B].reshape(B, steps, C).transpose(0, 1)        # [steps, B, C]
ys = train[1 : steps * B + 1].reshape(B, steps, C).transpose(0, 1)  # next row
t1 = time.perf_counter()
h = torch.zeros(1, B, H)
for s in range(0, steps, T):
    h = h.detach()
    opt.zero_grad()
    y, h = net(xs[s : s + T], h)
    loss = torch.nn.functional.mse_loss(y, ys[s : s + T])
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
    opt.step()
train_s = time.perf_counter() - t1
with torch.no_grad():
    y, _ = net(val[:-1].unsqueeze(1), torch.zeros(1, 1, H))
    val_loss = torch.nn.functional.mse_loss(y.squeeze(1), val[1:]).item()
print(json.dumps({"rows": n, "load_s": load_s, "train_s": train_s, "total_s": time.perf_counter() - t_start,
                  "val_loss": val_loss, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
