#!/usr/bin/python3
"""Golden fixtures for SPEC §12 (text language models), computed with PyTorch 1.13 in float64.

Each case folder under test/golden/text gets a config, its text(s), init.safetensors (the starting
weights, as a checkpoint of the same config), and the expected outputs of the commands in case.json:
`rnn train` (last.safetensors, updates.csv, epochs.csv with the validation metrics), `rnn eval --json`,
`rnn sample --temperature 0` (greedy text) and `rnn sample --probs` (the next token's distribution).

The reference is torch's own modules: nn.Embedding(V, E) -> nn.RNN/nn.LSTM/nn.GRU -> nn.Linear(H, V),
F.cross_entropy, torch.optim; the data layout is written here from SPEC §12 on its own: code points
(or word_language_model words with "<eos>"), the vocabulary sorted by code point, rows (token t,
token t+1) with the last one target-less, batchify's contiguous streams, TBPTT(k2, k1) passes each
from the state the most recent pass computed at its first step.

    /usr/bin/python3 scripts/golden/make_text_fixtures.py [--out DIR] [--only NAME]
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (REPO, checkpoint_meta, fresh_dir, num, require, run_generator,  # noqa: E402
                    write_safetensors, write_text)

torch.set_default_dtype(torch.float64)
F64 = torch.float64
EOS = "<eos>"
PY_SPACE = set("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {chr(c) for c in range(0x2000, 0x200b)}


def tokens_of(text, kind):
    """SPEC §12's tokens: code points, or each line's str.split() words then <eos>."""
    if kind == "char":
        return list(text)
    out = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    for line in lines:
        out += line.split() + [EOS]
    return out


def windows(T, k2, k1):
    """TBPTT(k2, k1) passes over T steps: (start, loss_start, end)."""
    out, prev = [], 0
    while prev < T:
        end = min(prev + k1, T)
        out.append((max(0, end - k2), prev, end))
        prev = end
    return out


class LM(nn.Module):
    def __init__(self, cell, V, E, H, L):
        super().__init__()
        self.encoder = nn.Embedding(V, E)
        kind = {"elman": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = kind(E, H, L)
        self.head = nn.Linear(H, V)
        self.cell, self.H, self.L = cell, H, L

    def zero(self, B):
        z = torch.zeros(self.L, B, self.H)
        return (z, z.clone()) if self.cell == "lstm" else z

    def step_all(self, ids, state):
        """Runs ids [T, B] one step at a time: the logits [T, B, V] and the state after every step
        (index k: after k steps; index 0 is `state`)."""
        states, logits = [state], []
        emb = self.encoder(ids)
        for t in range(ids.shape[0]):
            out, state = self.rnn(emb[t:t + 1], state)
            logits.append(self.head(out[0]))
            states.append(state)
        return torch.stack(logits), states


def detach(s):
    return tuple(x.detach() for x in s) if isinstance(s, tuple) else s.detach()


def metrics(model, ids):
    """eval's metrics of one sequence from the zero state: loss (nats), n, accuracy, perplexity, bits."""
    with torch.no_grad():
        x = torch.tensor(ids[:-1]).view(-1, 1)
        y = torch.tensor(ids[1:])
        logits, _ = model.step_all(x, model.zero(1))
        logits = logits[:, 0, :]
        loss = F.cross_entropy(logits, y).item()
        acc = (logits.argmax(1) == y).double().mean().item()
    return {"loss": loss, "n": len(ids) - 1, "accuracy": acc, "perplexity": math.exp(loss), "bits_per_token": loss / math.log(2)}


def next_probs(model, prime_ids, temperature, top_k):
    """The distribution after the prime (SPEC §12): one-hot arg-max at 0, else softmax(logits/t) over the top k."""
    with torch.no_grad():
        logits, _ = model.step_all(torch.tensor(prime_ids).view(-1, 1), model.zero(1))
        z = logits[-1, 0, :]
    V = z.shape[0]
    if temperature == 0:
        p = torch.zeros(V)
        p[int(z.argmax())] = 1.0
        return p.numpy()
    order = sorted(range(V), key=lambda j: (-float(z[j]), j))
    keep = order[:top_k] if top_k else order
    mask = torch.full((V,), -math.inf)
    mask[keep] = 0.0
    p = torch.softmax(z / temperature + mask, 0)
    return p.numpy()


def greedy(model, vocab, prime_ids, n, kind):
    """sample --temperature 0: the arg-max token n times, fed back; printed as SPEC §12 says."""
    out, state = [], model.zero(1)
    with torch.no_grad():
        logits, states = model.step_all(torch.tensor(prime_ids).view(-1, 1), state)
        state, z = states[-1], logits[-1, 0, :]
        for i in range(n):
            t = int(z.argmax())
            out.append(t)
            logits, states = model.step_all(torch.tensor([[t]]), state)
            state, z = states[-1], logits[-1, 0, :]
    if kind == "char":
        return "".join(vocab[t] for t in out)
    text, line_start = "", True
    for t in out:
        if vocab[t] == EOS:
            text += "\n"
            line_start = True
        else:
            text += vocab[t] if line_start else " " + vocab[t]
            line_start = False
    return text


def csv_field(s):
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\r\n') else s


def probs_csv(vocab, p):
    rows = ["token,p"] + [f"{csv_field(chr(92) + 'n' if v == chr(10) else v)},{num(q)}" for v, q in zip(vocab, p) if q > 0]
    return "\n".join(rows) + "\n"


def state_tensors(model):
    """The model's tensors under SPEC §5/§12 names (encoder, rnn, head), as float64 numpy."""
    return [(k, v.detach().numpy().copy()) for k, v in model.state_dict().items()]


TEXT_A = ("Höhe über Öl: naïve café, 5€ — ça va? 😀 ok.\nThe cat sat; the bat ran.\n"
          "日本語 and ASCII mix, 😀 again!\nA cab, a bat and a crab.\nÜber alles, über mich.\n")
TEXT_W = ("the cat sat on the mat\nthe dog sat on the log\n\na cat and a dog ran\n"
          "the  mat\tand the log , said the cat\nthe dog ran on\n")
VAL_W = "the cat ran on the log\nthe dog sat\n"
TEXT_E = "abcab cabbage, a bad cab. bad dab; a cab.\nabba\n" * 3
OTHER_E = "a bad cab\nabba cab.\n"

CASES = [
    {"name": "char-lstm2-unicode-split", "text": TEXT_A, "tokens": "char", "cell": "lstm", "L": 2, "H": 6, "E": 4,
     "B": 3, "bptt": (7, 7), "split": 0.15, "epochs": 2, "opt": {"name": "adam", "lr": 0.02}, "clip": None,
     "prime": "Üb", "probs": (0.7, 3), "seed": 5},
    {"name": "word-gru-valfile-clip", "text": TEXT_W, "val": VAL_W, "tokens": "word", "cell": "gru", "L": 1, "H": 5, "E": 3,
     "B": 2, "bptt": (4, 4), "split": 0, "epochs": 2, "opt": {"name": "sgd", "lr": 0.5, "momentum": 0.7}, "clip": 0.8,
     "prime": "the dog", "probs": (1.0, None), "seed": 6},
    {"name": "char-elman-data", "text": TEXT_E, "other": OTHER_E, "tokens": "char", "cell": "elman", "L": 1, "H": 7, "E": 7,
     "B": 4, "bptt": (6, 6), "split": 0, "epochs": 1, "opt": {"name": "adam", "lr": 0.01}, "clip": None,
     "prime": None, "probs": (0, None), "seed": 7},
]


def config_of(c):
    data = {"text": "input.txt", "tokens": c["tokens"]}
    if "val" in c:
        data["validation"] = "val.txt"
    else:
        data["validationSplit"] = c["split"]
    opt = dict(c["opt"])
    model = {"cell": c["cell"], "hiddenSize": c["H"], "layers": c["L"], "init": "init.safetensors"}
    if c["E"] != c["H"]:
        model["embedding"] = c["E"]
    return {"seed": c["seed"], "data": data, "model": model,
            "training": {"epochs": c["epochs"], "batchSize": c["B"], "shuffle": False, "dtype": "float64",
                         "bptt": {"truncate": c["bptt"][0], "stride": c["bptt"][1]}, "optimizer": opt,
                         "clip": None if c["clip"] is None else {"norm": c["clip"]}},
            "output": {"dir": "run"}}


def build(c, out):
    d = fresh_dir(out, c["name"])
    toks = tokens_of(c["text"], c["tokens"])
    vtoks = tokens_of(c["val"], c["tokens"]) if "val" in c else []
    vocab = sorted(set(toks) | set(vtoks))
    index = {t: i for i, t in enumerate(vocab)}
    ids = [index[t] for t in toks]
    if "val" in c:
        train, val = ids, [index[t] for t in vtoks]
    elif c["split"] > 0:
        k = max(1, round(c["split"] * len(ids)))
        train, val = ids[:-k], ids[-k:]
    else:
        train, val = ids, None
    V, E, H, L, B = len(vocab), c["E"], c["H"], c["L"], c["B"]
    require(len(train) >= 2 * B, "enough tokens")
    cfg = config_of(c)
    write_text(os.path.join(d, "input.txt"), c["text"])
    if "val" in c:
        write_text(os.path.join(d, "val.txt"), c["val"])
    if "other" in c:
        write_text(os.path.join(d, "other.txt"), c["other"])
    write_text(os.path.join(d, "config.json"), json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")

    torch.manual_seed(c["seed"])
    model = LM(c["cell"], V, E, H, L)
    meta = checkpoint_meta(cfg, 0, 0)
    meta["vocab"] = json.dumps(vocab, ensure_ascii=False)
    write_safetensors(os.path.join(d, "init.safetensors"), state_tensors(model), meta, "F64")

    # Rows (token t, token t+1), the last target-less, cut into B contiguous streams of n steps.
    N, n = len(train), len(train) // B
    X = torch.tensor([[train[b * n + t] for b in range(B)] for t in range(n)])
    Y = torch.tensor([[train[b * n + t + 1] if b * n + t + 1 < N else -1 for b in range(B)] for t in range(n)])
    o = c["opt"]
    params = list(model.parameters())
    opt = (torch.optim.Adam(params, lr=o["lr"]) if o["name"] == "adam"
           else torch.optim.SGD(params, lr=o["lr"], momentum=o.get("momentum", 0)))
    k2, k1 = c["bptt"]
    updates, epochs, step = [], [], 0
    for epoch in range(1, c["epochs"] + 1):
        carried = {0: model.zero(B)}
        losses = []
        for (s, ls, e) in windows(n, k2, k1):
            logits, states = model.step_all(X[s:e], detach(carried[s]))
            for k in range(1, e - s + 1):
                carried[s + k] = detach(states[k])
            y = Y[ls:e].reshape(-1)
            z = logits[ls - s:].reshape(-1, V)
            keep = y >= 0
            if not bool(keep.any()):
                continue
            loss = F.cross_entropy(z[keep], y[keep])
            opt.zero_grad()
            loss.backward()
            norm = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
            if c["clip"] is not None:
                torch.nn.utils.clip_grad_norm_(params, c["clip"])
            opt.step()
            step += 1
            losses.append(loss.item())
            updates.append(f"{epoch},{step},{num(loss.item())},{num(norm)},{num(o['lr'])}")
        row = {"epoch": str(epoch), "train_loss": num(sum(losses) / len(losses)), "val_loss": ""}
        if val is not None:
            m = metrics(model, val)
            row.update(val_loss=num(m["loss"]), val_accuracy=num(m["accuracy"]), val_perplexity=num(m["perplexity"]),
                       val_bits_per_token=num(m["bits_per_token"]))
        epochs.append(row)
    write_text(os.path.join(d, "expected_updates.csv"), "epoch,step,loss,grad_norm,lr\n" + "\n".join(updates) + "\n")
    cols = list(epochs[0].keys())
    write_text(os.path.join(d, "expected_epochs.csv"), ",".join(cols[:3] + ["seconds"] + cols[3:]) + "\n"
               + "".join(",".join([r[k] for k in cols[:3]] + ["0"] + [r[k] for k in cols[3:]]) + "\n" for r in epochs))
    meta = checkpoint_meta(cfg, c["epochs"], step)
    meta["vocab"] = json.dumps(vocab, ensure_ascii=False)
    write_safetensors(os.path.join(d, "expected_last.safetensors"), state_tensors(model), meta, "F64")

    commands = [["train", "config.json", "--out", "run"]]
    checks = [
        {"command": 0, "kind": "checkpoint", "file": "run/last.safetensors", "expected": "expected_last.safetensors",
         "metadata": {"epoch": str(c["epochs"]), "step": str(step), "normalization": "absent", "vocab": vocab}},
        {"command": 0, "kind": "updates", "file": "run/updates.csv", "expected": "expected_updates.csv"},
        {"command": 0, "kind": "epochs", "file": "run/epochs.csv", "expected": "expected_epochs.csv", "header": True},
    ]
    evals = ([("other.txt", [index[t] for t in tokens_of(c["other"], c["tokens"])])] if "other" in c else []) \
        + ([(None, val)] if val is not None else [])
    for data, seq in evals:
        commands.append(["eval", "run/last.safetensors", "--json"] + (["--data", data] if data else []))
        name = f"expected_eval{'_' + data.split('.')[0] if data else ''}.json"
        write_text(os.path.join(d, name), json.dumps(metrics(model, seq), indent=2) + "\n")
        checks.append({"command": len(commands) - 1, "kind": "json", "stdout": True, "expected": name, "exact": ["n"]})
    prime_ids = [index[t] for t in tokens_of(c["prime"], c["tokens"])] if c["prime"] else [0]
    if c["prime"] and c["tokens"] == "word":
        prime_ids = [index[t] for t in c["prime"].split()]
    prime_args = ["--prime", c["prime"]] if c["prime"] else []
    commands.append(["sample", "run/last.safetensors", *prime_args, "--length", "30", "--temperature", "0"])
    write_text(os.path.join(d, "expected_sample.txt"), greedy(model, vocab, prime_ids, 30, c["tokens"]))
    checks.append({"command": len(commands) - 1, "kind": "text", "stdout": True, "expected": "expected_sample.txt"})
    t, k = c["probs"]
    commands.append(["sample", "run/last.safetensors", *prime_args, "--probs", "--temperature", str(t)] + (["--top-k", str(k)] if k else []))
    write_text(os.path.join(d, "expected_probs.csv"), probs_csv(vocab, next_probs(model, prime_ids, t, k)))
    checks.append({"command": len(commands) - 1, "kind": "csv", "stdout": True, "expected": "expected_probs.csv", "keys": ["token"]})
    write_text(os.path.join(d, "case.json"), json.dumps({"name": c["name"], "commands": commands, "checks": checks, "tol": 1e-9},
                                                        indent=2, ensure_ascii=False) + "\n")
    return c["name"]


if __name__ == "__main__":
    sys.exit(run_generator(sys.argv[1:], __doc__.split("\n")[0], os.path.join(REPO, "test", "golden", "text"),
                           CASES, lambda c: c["name"], build))
