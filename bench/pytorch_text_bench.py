#!/usr/bin/python3
"""PyTorch CPU training speed on the text protocol of `rnn bench --text` (issue 21): a character
language model nn.Embedding(65, 64) -> nn.LSTM(64, 256, num_layers=2) -> nn.Linear(256, 65),
float32, batch 32 streams, TBPTT 64 (h detached between windows), F.cross_entropy (mean),
clip_grad_norm_(5), Adam(lr 0.002). Random token ids made once; sequence-first tensors.

Timing: warm-up (5 updates), then rounds of about seconds/rounds each; the figure is the median
seconds per update; tokens/s = B*T / that. Prints one JSON object on stdout:
  {"torch": version, "threads": n, "tokens_per_s": ..., "sec_per_update": ..., "rounds": [...]}

    /usr/bin/python3 bench/pytorch_text_bench.py [--threads N] [--seconds S] [--rounds R]
(`rnn bench --text` runs it with OPENBLAS_CORETYPE set as bench/compare.sh explains.)
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

V, E, H, L, B, T, WINDOWS = 65, 64, 256, 2, 32, 64, 4

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--seconds", type=float, default=6)
ap.add_argument("--rounds", type=int, default=5)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)

enc, rnn, head = nn.Embedding(V, E), nn.LSTM(E, H, L), nn.Linear(H, V)
params = [*enc.parameters(), *rnn.parameters(), *head.parameters()]
opt = torch.optim.Adam(params, lr=0.002)
ids = torch.randint(0, V, (T * WINDOWS + 1, B))
state = [None]
w = [0]


def update():
    s = w[0] % WINDOWS
    x, y = ids[s * T:(s + 1) * T], ids[s * T + 1:(s + 1) * T + 1]
    h = None if s == 0 else tuple(t.detach() for t in state[0])
    out, state[0] = rnn(enc(x), h)
    loss = F.cross_entropy(head(out).view(-1, V), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 5.0)
    opt.step()
    w[0] += 1


for _ in range(5):
    update()
t0 = time.perf_counter()
update()
per = time.perf_counter() - t0
rounds = []
for _ in range(a.rounds):
    n = max(1, round(a.seconds / a.rounds / per))
    t0 = time.perf_counter()
    for _ in range(n):
        update()
    rounds.append((time.perf_counter() - t0) / n)
sec = statistics.median(rounds)
print(json.dumps({"torch": torch.__version__, "threads": a.threads, "tokens_per_s": B * T / sec, "sec_per_update": sec, "rounds": rounds}))
