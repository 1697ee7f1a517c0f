#!/usr/bin/python3
"""Golden bidirectional-layer fixtures for `rnn` (test/golden/bidir/<case>/), made by a PyTorch
(float64) reference of SPEC §13 (/work/shared/SPEC.md).

    /usr/bin/python3 scripts/golden/make_bidir_fixtures.py              # (re)write test/golden/bidir/
    /usr/bin/python3 scripts/golden/make_bidir_fixtures.py --out DIR    # elsewhere
    /usr/bin/python3 scripts/golden/make_bidir_fixtures.py --only NAME  # one case (repeatable)

Each case (the case.json format of test/helpers/golden.ts, run by test/golden-bidir.test.ts):
1. writes config.yaml (every SPEC §3 key, model.bidirectional: true, bptt null, shuffle false,
   float64, dropout off), data.csv (sequences of unequal length, some target cells empty) and
   init.safetensors (torch's own init of nn.RNN/LSTM/GRU(bidirectional=True) + nn.Linear(2H, O));
2. trains the reference: the real torch modules on `pack_padded_sequence(enforce_sorted=False)`
   batches (the reverse direction starts at each sequence's own last step), the head on the
   padded output (targetsAt every) or on torch.cat((h_n[-2], h_n[-1]), 1) (targetsAt last); the
   loss the pooled mean over supervised elements (SPEC §1); clip_grad_norm_ / clip_grad_value_;
   torch.optim.SGD / Adam;
3. writes expected_last.safetensors, expected_updates.csv (epoch, step, loss, pre-clip
   grad_norm, lr), expected_eval.json (`rnn eval --data data.csv --json`) and
   expected_predict.csv (`rnn predict --data data.csv`: one row per sequence under targetsAt
   last);
4. self-checks (exit 1 on failure): torch's packed forward equals an independent numpy forward
   that runs each direction of each layer over each sequence's own length (every update's loss,
   the predictions), and the gradients of the first update equal central differences of that
   numpy loss.
Deterministic: a second run writes byte-identical files.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import yaml
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from common import (REPO, checkpoint_meta, csv_text, full_config, max_rel, num, predict_header, require,
                    run_generator, write_safetensors, write_text)

torch.set_num_threads(1)
F64 = torch.float64
DEFAULT_OUT = os.path.join(REPO, "test", "golden", "bidir")
TOL = 1e-9

CASES = [
    dict(name="elman-every-regression", cell="elman", activation="tanh", H=3, L=1, task="regression", at="every",
         lengths=[5, 2, 7, 1, 4], batch=3, epochs=2, opt={"name": "sgd", "lr": 0.2, "momentum": 0.0}, clip=None, seed=1),
    dict(name="lstm-last-classification", cell="lstm", activation="tanh", H=4, L=1, task="classification", at="last",
         lengths=[6, 3, 8, 2, 5, 4], batch=4, epochs=3, opt={"name": "adam", "lr": 0.05}, clip={"norm": 1.0}, seed=2),
    dict(name="gru-L2-every-classification", cell="gru", activation="tanh", H=3, L=2, task="classification", at="every",
         lengths=[4, 7, 3, 5, 6], batch=2, epochs=2, opt={"name": "sgd", "lr": 0.3, "momentum": 0.5}, clip={"value": 0.5}, seed=3),
    dict(name="elman-L2-last-regression", cell="elman", activation="relu", H=4, L=2, task="regression", at="last",
         lengths=[5, 3, 6, 2, 7, 4], batch=3, epochs=3, opt={"name": "adam", "lr": 0.02}, clip=None, seed=4),
    dict(name="lstm-L2-every-regression", cell="lstm", activation="tanh", H=3, L=2, task="regression", at="every",
         lengths=[6, 2, 5, 7], batch=4, epochs=2, opt={"name": "sgd", "lr": 0.4, "momentum": 0.0}, clip={"norm": 0.8}, seed=5),
    dict(name="gru-last-regression", cell="gru", activation="tanh", H=3, L=1, task="regression", at="last",
         lengths=[3, 6, 1, 5], batch=2, epochs=2, opt={"name": "sgd", "lr": 0.3, "momentum": 0.0}, clip=None, seed=6),
]
INPUTS = ["a", "b"]
CLASSES = ["down", "flat", "up"]


def modules(c, I, O):
    kw = dict(num_layers=c["L"], batch_first=True, bidirectional=True)
    if c["cell"] == "lstm":
        rnn = nn.LSTM(I, c["H"], **kw)
    elif c["cell"] == "gru":
        rnn = nn.GRU(I, c["H"], **kw)
    else:
        rnn = nn.RNN(I, c["H"], nonlinearity=c["activation"], **kw)
    return rnn.double(), nn.Linear(2 * c["H"], O).double()


def state_items(rnn, head):
    """The checkpoint's tensors in state_dict order: rnn.* (each layer forward, then _reverse), head.*."""
    return [(f"rnn.{k}", v.detach().clone()) for k, v in rnn.state_dict().items()] + \
           [(f"head.{k}", v.detach().clone()) for k, v in head.state_dict().items()]


def make_data(c, rng):
    """Sequences {id, X [len, I], y [len, O] (NaN: empty cell) or labels [len]} with cells as printed."""
    seqs = []
    for i, n in enumerate(c["lengths"]):
        X = np.round(rng.normal(size=(n, len(INPUTS))), 6)
        if c["task"] == "regression":
            y = np.round(rng.normal(size=(n, 2)), 6)
            if c["at"] == "every":
                y[rng.uniform(size=(n, 2)) < 0.15] = math.nan
            seqs.append({"id": f"s{i + 1}", "X": X, "y": y})
        else:
            seqs.append({"id": f"s{i + 1}", "X": X, "labels": rng.integers(0, len(CLASSES), size=n)})
    return seqs


def data_csv(c, seqs):
    if c["task"] == "regression":
        header = ["seq", "a", "b", "y1", "y2"]
        rows = [[s["id"], num(x[0]), num(x[1])] + ["" if math.isnan(v) else num(v) for v in y]
                for s in seqs for x, y in zip(s["X"], s["y"])]
    else:
        header = ["seq", "a", "b", "label"]
        rows = [[s["id"], num(x[0]), num(x[1]), CLASSES[l]] for s in seqs for x, l in zip(s["X"], s["labels"])]
    return csv_text(header, rows)


def torch_outputs(c, rnn, head, seqs):
    """Head outputs: targetsAt every [B, T, O] (padded), last [B, O]."""
    lengths = [len(s["X"]) for s in seqs]
    T = max(lengths)
    x = torch.zeros(len(seqs), T, len(INPUTS), dtype=F64)
    for b, s in enumerate(seqs):
        x[b, :lengths[b]] = torch.tensor(s["X"])
    packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    out, hn = rnn(packed)
    if c["at"] == "last":
        h = hn[0] if c["cell"] == "lstm" else hn
        return head(torch.cat((h[-2], h[-1]), 1))
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    return head(out)


def supervised(c, seqs):
    """(b, t, target) of every supervised element: per output for regression, per row for classification."""
    els = []
    for b, s in enumerate(seqs):
        steps = [len(s["X"]) - 1] if c["at"] == "last" else range(len(s["X"]))
        for t in steps:
            if c["task"] == "regression":
                els += [(b, t, o, s["y"][t, o]) for o in range(2) if not math.isnan(s["y"][t, o])]
            else:
                els.append((b, t, None, int(s["labels"][t])))
    return els


def loss_of(c, y, seqs):
    """The pooled mean of SPEC §1 (and its count) from the head outputs."""
    els = supervised(c, seqs)
    terms = []
    for b, t, o, v in els:
        row = y[b] if c["at"] == "last" else y[b, t]
        if c["task"] == "regression":
            terms.append((row[o] - v) ** 2)
        else:
            terms.append(-torch.log_softmax(row, 0)[v])
    return torch.stack(terms).mean(), len(els)


# ---- the independent numpy forward: each direction over each sequence's own steps

def sig(z):
    return 1 / (1 + np.exp(-z))


def np_direction(c, W, x, sfx):
    H = c["H"]
    wih, whh, bih, bhh = (W[f"rnn.{n}_{sfx}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    h, cc, out = np.zeros(H), np.zeros(H), []
    for xt in x:
        gi, gh = wih @ xt + bih, whh @ h + bhh
        if c["cell"] == "elman":
            h = np.tanh(gi + gh) if c["activation"] == "tanh" else np.maximum(gi + gh, 0)
        elif c["cell"] == "lstm":
            g = gi + gh
            i, f, gg, o = sig(g[:H]), sig(g[H:2 * H]), np.tanh(g[2 * H:3 * H]), sig(g[3 * H:])
            cc = f * cc + i * gg
            h = o * np.tanh(cc)
        else:
            r, z = sig(gi[:H] + gh[:H]), sig(gi[H:2 * H] + gh[H:2 * H])
            n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
            h = (1 - z) * n + z * h
        out.append(h)
    return np.array(out)


def np_outputs(c, W, s):
    """One sequence: head rows [len, O] (every) or [1, O] (last)."""
    inp = s["X"]
    for k in range(c["L"]):
        f = np_direction(c, W, inp, f"l{k}")
        r = np_direction(c, W, inp[::-1], f"l{k}_reverse")[::-1]
        inp = np.concatenate([f, r], 1)
    if c["at"] == "last":
        inp = inp[-1:].copy()
        inp[0, c["H"]:] = r[0]
    return inp @ W["head.weight"].T + W["head.bias"]


def np_loss(c, W, seqs):
    terms = []
    for b, t, o, v in supervised(c, seqs):
        y = np_outputs(c, W, seqs[b])
        row = y[0] if c["at"] == "last" else y[t]
        if c["task"] == "regression":
            terms.append((row[o] - v) ** 2)
        else:
            m = row.max()
            terms.append(m + math.log(np.exp(row - m).sum()) - row[v])
    return float(np.mean(terms))


def build(c, out):
    d = os.path.join(out, c["name"])
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(100 + c["seed"])
    torch.manual_seed(c["seed"])
    seqs = make_data(c, rng)
    regression = c["task"] == "regression"
    targets = ["y1", "y2"] if regression else ["label"]
    O = 2 if regression else len(CLASSES)
    cfg = full_config(seed=c["seed"], train="data.csv", validation=None, validationSplit=0, sequenceColumn="seq",
                      inputs=INPUTS, targets=targets, shift=0, normalize=False, task=c["task"], targetsAt=c["at"],
                      cell=c["cell"], hiddenSize=c["H"], layers=c["L"], activation=c["activation"], bias=True,
                      init="init.safetensors", epochs=c["epochs"], batchSize=c["batch"], shuffle=False,
                      dtype="float64", bptt=None, optimizer=c["opt"], clip=c["clip"], out_dir="run")
    cfg["model"]["bidirectional"] = True
    write_text(os.path.join(d, "config.yaml"), yaml.safe_dump(cfg, sort_keys=False))
    write_text(os.path.join(d, "data.csv"), data_csv(c, seqs))
    rnn, head = modules(c, len(INPUTS), O)
    meta = checkpoint_meta(cfg, 0, 0)
    if not regression:
        meta["classes"] = json.dumps(CLASSES)
    write_safetensors(os.path.join(d, "init.safetensors"), state_items(rnn, head), meta, "F64")

    params = list(rnn.parameters()) + list(head.parameters())
    o = c["opt"]
    opt = torch.optim.SGD(params, lr=o["lr"], momentum=o.get("momentum", 0.0)) if o["name"] == "sgd" \
        else torch.optim.Adam(params, lr=o["lr"])
    updates, step = [], 0
    for epoch in range(1, c["epochs"] + 1):
        for i in range(0, len(seqs), c["batch"]):
            batch = seqs[i:i + c["batch"]]
            opt.zero_grad()
            loss, _ = loss_of(c, torch_outputs(c, rnn, head, batch), batch)
            W = {k: v.numpy() for k, v in state_items(rnn, head)}
            require(abs(np_loss(c, W, batch) - loss.item()) <= 1e-12 * max(1, abs(loss.item())),
                    f"{c['name']}: torch's packed loss differs from the numpy forward")
            loss.backward()
            if step == 0:
                fd_check(c, rnn, head, W, batch)
            norm = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
            if c["clip"] and "norm" in c["clip"]:
                torch.nn.utils.clip_grad_norm_(params, c["clip"]["norm"])
            elif c["clip"]:
                torch.nn.utils.clip_grad_value_(params, c["clip"]["value"])
            opt.step()
            step += 1
            updates.append([str(epoch), str(step), num(loss.item()), num(norm), num(o["lr"])])
    write_text(os.path.join(d, "expected_updates.csv"), csv_text(["epoch", "step", "loss", "grad_norm", "lr"], updates))
    meta = checkpoint_meta(cfg, c["epochs"], step)
    if not regression:
        meta["classes"] = json.dumps(CLASSES)
    write_safetensors(os.path.join(d, "expected_last.safetensors"), state_items(rnn, head), meta, "F64")

    with torch.no_grad():
        y = torch_outputs(c, rnn, head, seqs)
        loss, n = loss_of(c, y, seqs)
    W = {k: v.numpy() for k, v in state_items(rnn, head)}
    ev = {"loss": loss.item(), "n": n}
    els = supervised(c, seqs)
    rows = []
    if regression:
        errs = np.array([(y[b] if c["at"] == "last" else y[b, t])[o].item() - v for b, t, o, v in els])
        ev.update(mse=float(np.mean(errs ** 2)), rmse=math.sqrt(float(np.mean(errs ** 2))), mae=float(np.mean(np.abs(errs))))
    else:
        right = sum(int(torch.argmax(y[b] if c["at"] == "last" else y[b, t]).item() == v) for b, t, _, v in els)
        ev.update(accuracy=right / n, perplexity=math.exp(loss.item()))
    for b, s in enumerate(seqs):
        ys = np_outputs(c, W, s)
        steps = [len(s["X"]) - 1] if c["at"] == "last" else range(len(s["X"]))
        for j, t in enumerate(steps):
            row = (y[b] if c["at"] == "last" else y[b, t]).numpy()
            require(max_rel(row, ys[j]) <= 1e-12, f"{c['name']}: predict row differs from the numpy forward")
            if regression:
                rows.append([s["id"], str(t)] + [num(v) for v in row])
            else:
                p = torch.softmax(torch.tensor(row), 0).numpy()
                rows.append([s["id"], str(t), CLASSES[int(np.argmax(row))]] + [num(v) for v in p])
    write_text(os.path.join(d, "expected_eval.json"), json.dumps(ev) + "\n")
    write_text(os.path.join(d, "expected_predict.csv"),
               csv_text(predict_header("seq", c["task"], targets, CLASSES), rows))
    case = {
        "name": c["name"],
        "about": f"SPEC §13: {c['L']}-layer bidirectional {c['cell']} (H {c['H']}), targetsAt {c['at']}, {c['task']}, "
                 f"sequences of lengths {c['lengths']} in batches of {c['batch']}, {o['name']}, clip {c['clip']}; "
                 f"the reference is torch with pack_padded_sequence",
        "commands": [["train", "config.yaml", "--out", "run"],
                     ["eval", "run/last.safetensors", "--data", "data.csv", "--json"],
                     ["predict", "run/last.safetensors", "--data", "data.csv"]],
        "checks": [
            {"command": 0, "file": "run/last.safetensors", "expected": "expected_last.safetensors", "kind": "checkpoint",
             "metadata": {"epoch": str(c["epochs"]), "step": str(step), "normalization": "absent",
                          **({} if regression else {"classes": CLASSES}),
                          "config": {"model.bidirectional": True, "targetsAt": c["at"]}}},
            {"command": 0, "file": "run/updates.csv", "expected": "expected_updates.csv", "kind": "updates", "header": True},
            {"command": 1, "stdout": True, "expected": "expected_eval.json", "kind": "json", "exact": ["n"]},
            {"command": 2, "stdout": True, "expected": "expected_predict.csv", "kind": "csv", "keys": ["seq", "t"]},
        ],
        "tol": TOL,
    }
    write_text(os.path.join(d, "case.json"), json.dumps(case, indent=2) + "\n")
    return c["name"]


def fd_check(c, rnn, head, W, batch):
    """torch's gradient of the first update == central differences of the numpy loss, every component."""
    worst = 0.0
    grads = {f"rnn.{k}": p.grad.numpy() for k, p in rnn.named_parameters()}
    grads.update({f"head.{k}": p.grad.numpy() for k, p in head.named_parameters()})
    for name, g in grads.items():
        w = W[name].copy()
        flat = w.reshape(-1)
        for i in range(flat.size):
            e = 1e-6
            orig = flat[i]
            flat[i] = orig + e
            lp = np_loss(c, {**W, name: w}, batch)
            flat[i] = orig - e
            lm = np_loss(c, {**W, name: w}, batch)
            flat[i] = orig
            fd, a = (lp - lm) / (2 * e), g.reshape(-1)[i]
            worst = max(worst, abs(a - fd) / max(abs(a), abs(fd), 1e-3))
    require(worst <= 1e-6, f"{c['name']}: torch's gradient differs from finite differences ({worst:.2e})")


if __name__ == "__main__":
    sys.exit(run_generator(sys.argv[1:], "bidirectional golden fixtures", DEFAULT_OUT, CASES, lambda c: c["name"], build))
