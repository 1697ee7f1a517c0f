#!/usr/bin/python3
"""ONNX fixtures: models exported to ONNX by PyTorch's own exporter (torch.onnx.export), with the same
weights as a checkpoint that `rnn export` turns into ONNX (test/golden/onnx/<case>/, checked by
test/export/torch-onnx.test.ts, which runs both files in onnxruntime; the tests never need PyTorch).

Run from anywhere (needs Debian's python3-torch 1.13 and python3-numpy):

    /usr/bin/python3 scripts/golden/make_onnx_fixtures.py              # (re)write test/golden/onnx/
    /usr/bin/python3 scripts/golden/make_onnx_fixtures.py --out DIR    # write the cases under DIR instead
    /usr/bin/python3 scripts/golden/make_onnx_fixtures.py --only NAME  # one case (repeatable)

Deterministic: fixed torch and numpy seeds, single thread (check with
`sha256sum test/golden/onnx/*/* | sha256sum` before and after a rerun).

Per case it
1. builds SPEC §5's module pair in torch (nn.RNN / nn.LSTM / nn.GRU with batch_first=True, then
   nn.Linear), float32, PyTorch's own initialisation from torch.manual_seed, scaled so that the gates
   are far from linear;
2. writes ckpt.safetensors: the state_dict under SPEC §5 names with `format`, `config` (every SPEC §3
   key; data.csv as training and validation data), `epoch`, `step`, `normalization` (hand-picked stats,
   not the data's) and `classes` metadata, and data.csv (sequence column `id`, equal-length sequences);
3. wraps the pair in the model SPEC §8 describes — x raw → (x − mean) / std → rnn(·, h0[, c0]) → head →
   y · std + mean (regression) or softmax (classification), returning (y | p, hn[, cn]) — and exports it
   with torch.onnx.export (opset 14, dynamic batch and time axes) as torch.onnx: PyTorch's own gate
   permutation, bias layout and linear_before_reset, independent of rnn's;
4. writes io.safetensors: x [B, T, I] (data.csv's sequences, float32), a random non-zero h0 (and c0)
   [L, B, H], torch's outputs from that state (y or p, hn, cn) and from zero state (y0 or p0);
5. self-checks (exit 1 on failure): the module pair re-read from ckpt.safetensors with
   load_state_dict(strict=True) gives the same outputs; the wrapper equals an explicit step-by-step
   forward of the same equations written here; the non-zero state changes the outputs.

case.json records what each file is and the tolerance (1e-5: |got − want| ≤ tol · (1 + |want|)).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

from common import (REPO, cell, checkpoint_meta, csv_text, fresh_dir, full_config, load_modules,
                    max_rel, normalization_json, param_names, read_safetensors, require, run_generator,
                    torch_modules, write_safetensors, write_text)

torch.set_num_threads(1)
DEFAULT_OUT = os.path.join(REPO, "test", "golden", "onnx")
TOL = 1e-5
OPSET = 14


class Exported(nn.Module):
    """SPEC §8's model around SPEC §5's modules: raw x in, original units (or probabilities) out."""

    def __init__(self, rnn, head, cell_kind, in_stats, out_stats, classification):
        super().__init__()
        self.rnn, self.head, self.lstm, self.classification = rnn, head, cell_kind == "lstm", classification
        self.register_buffer("in_mean", torch.tensor([m for m, _ in in_stats], dtype=torch.float32))
        self.register_buffer("in_std", torch.tensor([s for _, s in in_stats], dtype=torch.float32))
        self.register_buffer("out_mean", torch.tensor([m for m, _ in out_stats], dtype=torch.float32))
        self.register_buffer("out_std", torch.tensor([s for _, s in out_stats], dtype=torch.float32))

    def forward(self, x, h0, c0=None):
        xn = (x - self.in_mean) / self.in_std
        if self.lstm:
            seq, (hn, cn) = self.rnn(xn, (h0, c0))
        else:
            seq, hn = self.rnn(xn, h0)
        out = self.head(seq)
        out = torch.softmax(out, dim=-1) if self.classification else out * self.out_std + self.out_mean
        return (out, hn, cn) if self.lstm else (out, hn)


def step_forward(sd, cell_kind, act, L, bias, x, h0, c0, in_stats, out_stats, classification):
    """The same model written out step by step from PyTorch's documented equations (independent of nn.*)."""
    x = (x - torch.tensor([m for m, _ in in_stats])) / torch.tensor([s for _, s in in_stats])
    B, T, _ = x.shape
    hs, cs = [], []
    seq = x
    for k in range(L):
        Wi, Wh = sd[f"rnn.weight_ih_l{k}"], sd[f"rnn.weight_hh_l{k}"]
        bi = sd[f"rnn.bias_ih_l{k}"] if bias else torch.zeros(Wi.shape[0])
        bh = sd[f"rnn.bias_hh_l{k}"] if bias else torch.zeros(Wi.shape[0])
        h, c = h0[k], (c0[k] if c0 is not None else None)
        outs = []
        for t in range(T):
            gi, gh = seq[:, t] @ Wi.T + bi, h @ Wh.T + bh
            if cell_kind == "lstm":
                i, f, g, o = gi.add(gh).chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            elif cell_kind == "gru":
                ir, iz, inn = gi.chunk(3, 1)
                hr, hz, hnn = gh.chunk(3, 1)
                r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
                n = torch.tanh(inn + r * hnn)
                h = (1 - z) * n + z * h
            else:
                h = torch.tanh(gi + gh) if act == "tanh" else torch.relu(gi + gh)
            outs.append(h)
        seq = torch.stack(outs, 1)
        hs.append(h)
        cs.append(c)
    out = seq @ sd["head.weight"].T + (sd["head.bias"] if bias else 0)
    if classification:
        out = torch.softmax(out, -1)
    else:
        out = out * torch.tensor([s for _, s in out_stats]) + torch.tensor([m for m, _ in out_stats])
    return out, torch.stack(hs), (torch.stack(cs) if c0 is not None else None)


CASES = [
    dict(name="lstm-l2-regression-normalized", cell="lstm", act="tanh", I=3, H=5, L=2, bias=True,
         task="regression", normalize=True, B=3, T=8, seed=31, scale=2.0,
         about="LSTM, 2 layers, bias, two regression targets, normalisation of inputs and targets"),
    dict(name="gru-l2-classification", cell="gru", act="tanh", I=3, H=4, L=2, bias=True,
         task="classification", normalize=False, B=3, T=8, seed=32, scale=2.0,
         about="GRU, 2 layers, bias, 3 classes (softmax), no normalisation"),
    dict(name="elman-relu-l3-nobias", cell="elman", act="relu", I=3, H=4, L=3, bias=False,
         task="regression", normalize=True, B=2, T=9, seed=33, scale=1.5,
         about="Elman relu, 3 layers, no bias tensors, normalised regression"),
    dict(name="elman-tanh-l1-classification-normalized", cell="elman", act="tanh", I=3, H=6, L=1, bias=True,
         task="classification", normalize=True, B=4, T=6, seed=34, scale=2.0,
         about="Elman tanh, 1 layer, bias, 3 classes, normalised inputs"),
]
INPUTS = ["a", "b", "c"]
TARGETS = ["u", "v"]
CLASSES = ["down", "flat", "up"]
IN_STATS = [(3.0, 2.0), (-2.0, 0.5), (0.5, 4.0)]
OUT_STATS = [(10.0, 3.0), (-1.0, 0.2)]


def make_case(root, c):
    torch.manual_seed(c["seed"])
    rs = np.random.RandomState(c["seed"])
    classification = c["task"] == "classification"
    O = len(CLASSES) if classification else len(TARGETS)
    rnn, head = torch_modules(c["cell"], c["I"], c["H"], c["L"], O, c["act"], c["bias"])
    with torch.no_grad():
        for p in list(rnn.parameters()) + list(head.parameters()):
            p.mul_(c["scale"])
    names = param_names(c["L"], c["bias"])
    sd = {**{f"rnn.{k}": v for k, v in rnn.state_dict().items()}, **{f"head.{k}": v for k, v in head.state_dict().items()}}
    require(sorted(sd) == sorted(names), f"{c['name']}: tensor names {sorted(sd)}")

    d = fresh_dir(root, c["name"])
    # data.csv: B sequences of T rows, inputs around the stats, targets/labels present (never read here).
    B, T = c["B"], c["T"]
    X = np.array([[[m + s * rs.uniform(-2, 2) for m, s in IN_STATS] for _ in range(T)] for _ in range(B)])
    X = np.vectorize(lambda v: float(cell(v, 4)))(X)
    rows = []
    for b in range(B):
        for t in range(T):
            lab = CLASSES[rs.randint(3)]
            rows.append([f"s{b}", *[cell(v, 4) for v in X[b, t]], cell(rs.normal(10, 3)), cell(rs.normal(-1, 0.2)), lab])
    write_text(os.path.join(d, "data.csv"), csv_text(["id", *INPUTS, *TARGETS, "label"], rows))

    targets = ["label"] if classification else TARGETS
    cfg = full_config(
        seed=0, train="data.csv", validation="data.csv", validationSplit=0, sequenceColumn="id", inputs=INPUTS,
        targets=targets, shift=0, normalize=c["normalize"], task=c["task"], targetsAt="every", cell=c["cell"],
        hiddenSize=c["H"], layers=c["L"], activation=c["act"], bias=c["bias"], init=None, epochs=1, batchSize=4,
        shuffle=False, dtype="float32", bptt=None,
        optimizer={"name": "adam", "lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-08}, clip=None, out_dir=None)
    meta = checkpoint_meta(cfg, 2, 14)
    in_stats = IN_STATS if c["normalize"] else [(0.0, 1.0)] * len(INPUTS)
    out_stats = OUT_STATS if c["normalize"] and not classification else [(0.0, 1.0)] * O
    if c["normalize"]:
        cols = list(zip(INPUTS, IN_STATS)) + ([] if classification else list(zip(TARGETS, OUT_STATS)))
        meta["normalization"] = normalization_json(cols)
    if classification:
        meta["classes"] = json.dumps(CLASSES)
    write_safetensors(os.path.join(d, "ckpt.safetensors"), [(n, sd[n]) for n in names], meta, dtype="F32")

    # The model re-read from the checkpoint, as a loader would.
    state, _ = read_safetensors(os.path.join(d, "ckpt.safetensors"))
    rnn2, head2 = torch_modules(c["cell"], c["I"], c["H"], c["L"], O, c["act"], c["bias"])
    load_modules(rnn2, head2, {k: torch.from_numpy(v.copy()) for k, v in state.items()})
    model = Exported(rnn2, head2, c["cell"], in_stats, out_stats, classification).eval()

    lstm = c["cell"] == "lstm"
    x = torch.tensor(X, dtype=torch.float32)
    h0 = torch.tensor(rs.uniform(-1, 1, (c["L"], B, c["H"])), dtype=torch.float32)
    c0 = torch.tensor(rs.uniform(-1, 1, (c["L"], B, c["H"])), dtype=torch.float32) if lstm else None
    z = torch.zeros(c["L"], B, c["H"])
    with torch.no_grad():
        got = model(x, h0, c0) if lstm else model(x, h0)
        zero = model(x, z, z) if lstm else model(x, z)
        orig = Exported(rnn, head, c["cell"], in_stats, out_stats, classification).eval()
        again = orig(x, h0, c0) if lstm else orig(x, h0)
        ref = step_forward({k: torch.from_numpy(v.copy()) for k, v in state.items()}, c["cell"], c["act"], c["L"],
                           c["bias"], x, h0, c0, in_stats, out_stats, classification)
    err_reload = max(max_rel(a.numpy(), b.numpy()) for a, b in zip(got, again))
    require(err_reload == 0, f"{c['name']}: re-read checkpoint differs from the module ({err_reload})")
    err_step = max(max_rel(got[i].numpy(), ref[i].numpy()) for i in range(len(got)))
    require(err_step < 1e-5, f"{c['name']}: nn module vs step-by-step forward {err_step}")
    state_effect = float(np.max(np.abs(got[0].numpy() - zero[0].numpy())))
    require(state_effect > 1e-3, f"{c['name']}: the initial state barely changes the outputs ({state_effect})")

    out_name = "p" if classification else "y"
    in_names = ["x", "h0", "c0"] if lstm else ["x", "h0"]
    out_names = [out_name, "hn", "cn"] if lstm else [out_name, "hn"]
    axes = {"x": {0: "batch", 1: "time"}, out_name: {0: "batch", 1: "time"}}
    for n in in_names[1:] + out_names[1:]:
        axes[n] = {1: "batch"}
    torch.onnx.export(model, (x, h0, c0) if lstm else (x, h0), os.path.join(d, "torch.onnx"),
                      input_names=in_names, output_names=out_names, opset_version=OPSET, dynamic_axes=axes)

    io_tensors = [("x", x), ("h0", h0)] + ([("c0", c0)] if lstm else [])
    io_tensors += [(n, t) for n, t in zip(out_names, got)] + [(out_name + "0", zero[0])]
    write_safetensors(os.path.join(d, "io.safetensors"), io_tensors, {"about": "inputs and torch's outputs"}, dtype="F32")
    case = {
        "name": c["name"], "about": c["about"], "cell": c["cell"], "task": c["task"], "layers": c["L"],
        "hiddenSize": c["H"], "inputs": in_names, "outputs": out_names, "zeroStateOutput": out_name + "0",
        "tol": TOL, "opset": OPSET, "torch": torch.__version__,
        "files": {"ckpt.safetensors": "the checkpoint rnn exports", "torch.onnx": "torch.onnx.export of the same weights",
                  "io.safetensors": "x, h0[, c0] and torch's outputs from them; <output>0 from zero state",
                  "data.csv": "x's sequences as CSV (ids s0, s1, ...), the checkpoint's data"},
        "selfCheck": {"stepByStepMaxRel": err_step, "stateEffect": state_effect},
    }
    write_text(os.path.join(d, "case.json"), json.dumps(case, indent=2) + "\n")
    print(f"{c['name']}: ok (step-by-step max rel {err_step:.1e})")


def main(argv):
    return run_generator(argv, "Write the ONNX export fixtures (PyTorch's exporter).", DEFAULT_OUT, CASES, lambda c: c["name"],
                         lambda c, out: make_case(out, c), lambda out, _: write_text(os.path.join(out, "README.md"), README))


README = """# ONNX cases: PyTorch's exporter against `rnn export`

Generated by `scripts/golden/make_onnx_fixtures.py` (PyTorch 1.13, `torch.onnx.export`, opset 14); do not
edit by hand, rerun `/usr/bin/python3 scripts/golden/make_onnx_fixtures.py`. Checked by
`test/export/torch-onnx.test.ts` in onnxruntime (no PyTorch needed).

Each folder: `ckpt.safetensors` (SPEC §5 checkpoint: the module pair's `state_dict()` with rnn's metadata),
`torch.onnx` (PyTorch's export of the same weights wrapped in SPEC §8's model: normalisation, head, softmax
or un-normalisation, h0/c0 in, hn/cn out), `io.safetensors` (x, a random h0/c0, torch's outputs from them,
and the main output from zero state) and `data.csv` (x as CSV). `case.json` says which is which.
"""

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
