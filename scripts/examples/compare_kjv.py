#!/usr/bin/python3
"""The text example: rnn's character LSTM on the King James Version beside the same model trained
by PyTorch on this CPU, one epoch each. Prints a Markdown table on stdout.

    apt-get install bible-kjv && scripts/examples/make_kjv.sh      # once: data/kjv.txt
    /usr/bin/python3 scripts/examples/compare_kjv.py

rnn: `node bin/rnn.js train configs/kjv.yaml --force --quiet` (its epochs.csv gives val_bits_per_token).
PyTorch 1.13, written here from SPEC §12 on its own: the text's code points, the vocabulary sorted by
code point, the last round(0.05 N) characters held out, rows (char t, char t+1) cut into 32 contiguous
streams, nn.Embedding(V, 64) -> nn.LSTM(64, 256, 2) -> nn.Linear(256, V), float32, TBPTT 64 with
the state carried (detached) and the short last window reaching back 64 steps, F.cross_entropy,
clip_grad_norm_(5), Adam(lr 0.002), torch's default init; then the held-out text as one sequence
from the zero state, bits per character = mean cross-entropy / ln 2. Torch runs with 1 intra-op
thread and OpenBLAS on 2 (its faster setting on this machine: bench/pytorch_bench.py).
"""
import json
import math
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
if "OPENBLAS_CORETYPE" not in os.environ:
    cpu = open("/proc/cpuinfo").read()
    os.environ["OPENBLAS_CORETYPE"] = "SkylakeX" if " avx512f" in cpu else "Haswell"
import torch  # noqa: E402  (after the BLAS variables)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(1)
B, T, E, H, L, LR, CLIP, SPLIT = 32, 64, 64, 256, 2, 0.002, 5.0, 0.05


def torch_run(text):
    vocab = sorted(set(text))  # Python orders str by code point
    index = {c: i for i, c in enumerate(vocab)}
    toks = [index[c] for c in text]
    k = max(1, round(SPLIT * len(toks)))
    train, val = toks[:-k], toks[-k:]
    N, n = len(train), len(train) // B
    data = torch.tensor(train + [-1])
    X = torch.stack([data[b * n:(b + 1) * n] for b in range(B)], 1)
    Y = torch.stack([data[b * n + 1:(b + 1) * n + 1] for b in range(B)], 1)
    V = len(vocab)
    enc, rnn, head = nn.Embedding(V, E), nn.LSTM(E, H, L), nn.Linear(H, V)
    params = [*enc.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=LR)
    t0 = time.time()
    states, prev = {0: None}, 0
    while prev < n:
        end = min(prev + T, n)
        start = max(0, end - T)
        h = states[start]
        out, hn = rnn(enc(X[start:end]), h)
        # The next window starts from the state this pass computed at its first step: the end
        # state, or (before the short last window, which reaches back T steps) one inside it.
        if end < n:
            s2 = max(0, min(end + T, n) - T)
            if s2 == end:
                states[s2] = tuple(t.detach() for t in hn)
            else:
                with torch.no_grad():
                    _, hs = rnn(enc(X[start:s2]), h)
                states[s2] = tuple(t.detach() for t in hs)
        logits = head(out[prev - start:])
        y = Y[prev:end].reshape(-1)
        keep = y >= 0
        loss = F.cross_entropy(logits.reshape(-1, V)[keep], y[keep])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        prev = end
    seconds = time.time() - t0
    with torch.no_grad():
        out, _ = rnn(enc(torch.tensor(val[:-1]).view(-1, 1)))
        nll = F.cross_entropy(head(out[:, 0]), torch.tensor(val[1:])).item()
    return seconds, nll / math.log(2)


def rnn_run():
    t0 = time.time()
    subprocess.run(["node", "bin/rnn.js", "train", "configs/kjv.yaml", "--force", "--quiet"], cwd=ROOT, check=True)
    wall = time.time() - t0
    rows = open(os.path.join(ROOT, "runs/kjv/epochs.csv")).read().strip().split("\n")
    head, last = rows[0].split(","), rows[-1].split(",")
    r = dict(zip(head, last))
    return float(r["seconds"]), wall, float(r["val_bits_per_token"])


def main():
    text = open(os.path.join(ROOT, "data/kjv.txt"), encoding="utf-8").read()
    rs, rwall, rbits = rnn_run()
    ts, tbits = torch_run(text)
    print(f"| | rnn | PyTorch {torch.__version__} |")
    print("|---|---|---|")
    print(f"| one epoch ({len(text):,} characters), seconds | {rs:.0f} | {ts:.0f} |")
    print(f"| validation bits per character | {rbits:.3f} | {tbits:.3f} |")
    print(json.dumps({"rnn_seconds": rs, "rnn_wall": rwall, "rnn_bits": rbits, "torch_seconds": ts, "torch_bits": tbits}), file=sys.stderr)


if __name__ == "__main__":
    main()
