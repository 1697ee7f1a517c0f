#!/usr/bin/python3
"""Interop fixtures: checkpoints written by PyTorch (not by `rnn`) that `rnn predict` / `rnn eval` must
load and reproduce (test/golden/interop/<case>/, checked by test/interop.test.ts).

Run from anywhere (needs Debian's python3-torch 1.13 and python3-numpy):

    /usr/bin/python3 scripts/golden/make_interop_fixtures.py              # (re)write test/golden/interop/
    /usr/bin/python3 scripts/golden/make_interop_fixtures.py --out DIR    # write the cases under DIR instead
    /usr/bin/python3 scripts/golden/make_interop_fixtures.py --only NAME  # one case (repeatable)

Deterministic: a second run writes byte-identical files (fixed torch and numpy seeds, single thread;
check with `sha256sum test/golden/interop/*/* | sha256sum` before and after).

Per case it
1. builds the model directly in torch, as SPEC §5 names it:
       rnn  = nn.RNN(I, H, num_layers=L, nonlinearity=Φ, bias=…, batch_first=True)
       head = nn.Linear(H, O, bias=…)
   with random weights from torch.manual_seed (PyTorch's own init, optionally scaled), in the case's
   dtype (float32 -> F32 tensors, float64 -> F64 tensors);
2. writes ckpt.safetensors: `model.state_dict()` (names `rnn.weight_ih_l0` … `head.weight`, `head.bias`)
   and __metadata__ `format` "rnn-checkpoint/1", `config` (JSON, every SPEC §3 key), `epoch`, `step`
   (strings), `normalization` ({"<column>": {"mean": m, "std": s}} for every input and regression
   target column, when normalize is on: stats chosen by hand, NOT the data's, so a loader that
   recomputes them from the data fails) and `classes` (classification);
3. writes data.csv: the inputs picked by name from a header with extra columns in a shuffled order;
   sequence ids that need CSV quoting; some empty target cells;
4. re-reads ckpt.safetensors and data.csv (never the generator's arrays), loads the tensors with
   load_state_dict(strict=True) into fresh modules and computes, in the checkpoint's dtype,
       expected_predict.csv       = `rnn predict ckpt.safetensors --data data.csv`
       expected_predict_last.csv  = `rnn predict ckpt.safetensors --data data.csv --last`
       expected_eval.json         = `rnn eval ckpt.safetensors --data data.csv --json`
   (eval: `loss` = pooled MSE in normalised units / pooled cross-entropy over the supervised elements,
   `n` = their count; regression `mse`, `rmse`, `mae` in original units; classification `accuracy`,
   `perplexity` = exp(loss));
5. self-checks (exit 1 on failure): torch == an independent float64 numpy forward (1e-12 for F64,
   1e-5 relative for F32), nn.RNN == a step-by-step torch loop, the data read back equals the
   generator's, scripts/golden/check_torch_load.py on the written files gives the same predictions,
   classification arg-max gaps >= 1e-4 (no knife edges), the CSV column order differs from the
   config's order, the normalization metadata differs from the data's own statistics.

case.json records the commands, which expected file goes with which, the tolerance (f64 1e-9,
f32 1e-5: |got - want| <= tol * (1 + |want|)) and the columns compared exactly.
"""
import csv
import io
import json
import math
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import (CKPT_FORMAT, HERE, REPO, CheckFailed, cell, checkpoint_meta, csv_text, fresh_dir, full_config,
                    max_rel, normalization_json, num, param_names, predict_header, read_safetensors,
                    read_table, require, run_generator, torch_modules, write_safetensors, write_text)

torch.set_num_threads(1)
DEFAULT_OUT = os.path.join(REPO, "test", "golden", "interop")
TORCH_DT = {"float32": torch.float32, "float64": torch.float64}
TOL = {"float32": 1e-5, "float64": 1e-9}


# ------------------------------------------------------------------ the model

class Model(nn.Module):
    """SPEC §5's module pair; state_dict() keys are rnn.* and head.*."""

    def __init__(self, I, H, L, O, act, bias):
        super().__init__()
        self.rnn, self.head = torch_modules("elman", I, H, L, O, act, bias)

    def forward(self, x):
        return self.head(self.rnn(x)[0])


def loop_forward(m, x, act, L, bias):
    """Step-by-step torch Elman stack (checks nn.RNN's conventions). x [T, I] -> y [T, O]."""
    f = torch.tanh if act == "tanh" else torch.relu
    seq = x
    for k in range(L):
        Wih, Whh = getattr(m.rnn, f"weight_ih_l{k}"), getattr(m.rnn, f"weight_hh_l{k}")
        h = torch.zeros(Whh.shape[0], dtype=x.dtype)
        out = []
        for t in range(seq.shape[0]):
            z = seq[t] @ Wih.T + h @ Whh.T
            if bias:
                z = z + getattr(m.rnn, f"bias_ih_l{k}") + getattr(m.rnn, f"bias_hh_l{k}")
            h = f(z)
            out.append(h)
        seq = torch.stack(out)
    y = seq @ m.head.weight.T
    return y + m.head.bias if bias else y


def np_forward(W, x, act, L, bias):
    """Independent float64 numpy forward. W: name -> float64 ndarray, x [T, I] -> y [T, O]."""
    inp = np.asarray(x, dtype=np.float64)
    for k in range(L):
        H = W[f"rnn.weight_hh_l{k}"].shape[0]
        h = np.zeros(H)
        out = np.zeros((inp.shape[0], H))
        for t in range(inp.shape[0]):
            z = W[f"rnn.weight_ih_l{k}"].dot(inp[t]) + W[f"rnn.weight_hh_l{k}"].dot(h)
            if bias:
                z = z + W[f"rnn.bias_ih_l{k}"] + W[f"rnn.bias_hh_l{k}"]
            h = np.tanh(z) if act == "tanh" else np.maximum(z, 0.0)
            out[t] = h
        inp = out
    y = inp.dot(W["head.weight"].T)
    return y + W["head.bias"] if bias else y


def case_config(dtype, seq_col, inputs, targets, task, H, L, act, bias, normalize):
    """An interop case's config: every SPEC §3 key (common.full_config), as rnn's resolved config has them."""
    return full_config(
        seed=0, train="data.csv", validation=None, validationSplit=0, sequenceColumn=seq_col, inputs=inputs,
        targets=targets, shift=0, normalize=normalize, task=task, targetsAt="every", cell="elman", hiddenSize=H,
        layers=L, activation=act, bias=bias, init=None, epochs=1, batchSize=4, shuffle=False, dtype=dtype,
        bptt=None, optimizer={"name": "adam", "lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-08},
        clip=None, out_dir=None)


# ------------------------------------------------------------------ case definitions

def shuffled_header(rs, cols, config_order):
    """A permutation of `cols` in which the config's columns do not appear in config order."""
    for _ in range(100):
        h = [cols[i] for i in rs.permutation(len(cols))]
        pos = [h.index(c) for c in config_order]
        if pos != sorted(pos):
            return h
    raise CheckFailed("could not shuffle the header")


def case_f32_regression():
    rs = np.random.RandomState(101)
    inputs, targets, sc = ["x0", "x1", "x2"], ["y1", "y2"], "series"
    ids = ["a,1", 'say "hi"', "007", "b", "c d", "z"]
    lens = [7, 5, 9, 1, 6, 4]
    stats = {"x0": (9.5, 3.25), "x1": (-5.2, 0.4), "x2": (48.0, 30.0), "y1": (4.0, 2.5), "y2": (-3.0, 1.5)}
    rows = []
    for sid, n in zip(ids, lens):
        for _ in range(n):
            r = {sc: sid, "x0": cell(rs.normal(10, 3)), "x1": cell(rs.normal(-5, 0.5)), "x2": cell(rs.uniform(0, 100)),
                 "y1": cell(rs.normal(4.5, 2.0)), "y2": cell(rs.normal(-2.5, 1.2)),
                 "note": rs.choice(["ok", "check, later", "n/a"]), "z_unused": cell(rs.normal())}
            rows.append(r)
    # empty target cells: y1 only, y2 only, both
    for i in (2, 11, 20):
        rows[i]["y1"] = ""
    for i in (4, 15, 26):
        rows[i]["y2"] = ""
    rows[8]["y1"] = rows[8]["y2"] = ""
    header = shuffled_header(rs, [sc, *inputs, *targets, "note", "z_unused"], inputs + targets)
    return dict(name="f32-regression-normalized", dtype="float32", seed=11, I=3, H=6, L=2, O=2, act="relu",
                bias=True, scale=1.6, task="regression", seq_col=sc, inputs=inputs, targets=targets,
                normalize=True, stats=stats, header=header, rows=rows, epoch=3, step=27,
                about="F32 tensors, relu, 2 layers, bias, normalize with hand-picked stats from the metadata "
                      "(not the data's), two targets with empty cells (masked element by element), string ids "
                      "that need CSV quoting ('a,1', 'say \"hi\"') and '007' kept verbatim, a 1-step sequence, "
                      "inputs picked by name from a shuffled header with extra columns; torch ran in float32")


def case_f64_classification():
    rs = np.random.RandomState(202)
    inputs, targets, sc = ["f_a", "f_b"], ["animal"], "clip"
    classes = ["cat", "dog", "emu"]
    ids = ["k1", "k,2", "k3", "k4"]
    lens = [8, 6, 10, 5]
    rows = []
    for sid, n in zip(ids, lens):
        for _ in range(n):
            rows.append({sc: sid, "f_a": cell(rs.normal(0, 1.5)), "f_b": cell(rs.uniform(-2, 2)),
                         "animal": classes[rs.randint(3)], "weight": cell(rs.uniform(1, 9)),
                         "comment": rs.choice(["", "seen", "maybe, twice"])})
    for i in (3, 9, 17, 28):
        rows[i]["animal"] = ""
    header = shuffled_header(rs, ["comment", sc, *inputs, "animal", "weight"], inputs)
    return dict(name="f64-classification-nobias", dtype="float64", seed=22, I=2, H=5, L=1, O=3, act="tanh",
                bias=False, scale=2.5, task="classification", seq_col=sc, inputs=inputs, targets=targets,
                normalize=False, classes=classes, header=header, rows=rows, epoch=5, step=40,
                about="F64, tanh, 1 layer, no bias tensors at all, classes [cat, dog, emu] (code-point order, "
                      "head row k = class k) from the metadata, string labels with a few empty cells (masked), "
                      "p_<class> softmax columns, an id needing quotes ('k,2')")


def case_f64_series():
    rs = np.random.RandomState(303)
    inputs, targets = ["u", "v"], ["w"]
    rows = []
    for t in range(60):
        rows.append({"u": cell(math.sin(0.3 * t) + rs.normal(0, 0.1)), "v": cell(rs.uniform(-1, 1)),
                     "w": cell(math.cos(0.3 * t) + rs.normal(0, 0.1)), "stamp": f"2024-01-{1 + t // 24:02d}T{t % 24:02d}",
                     "id": str(rs.randint(3))})
    for i in (0, 17, 42):
        rows[i]["w"] = ""
    header = shuffled_header(rs, ["stamp", *inputs, "w", "id"], inputs)
    return dict(name="f64-series-no-sequence-column", dtype="float64", seed=33, I=2, H=4, L=1, O=1, act="tanh",
                bias=True, scale=1.5, task="regression", seq_col=None, inputs=inputs, targets=targets,
                normalize=False, header=header, rows=rows, epoch=1, step=12,
                about="F64, tanh, 1 layer, no sequence column: the whole 60-row file is one sequence from s_0 "
                      "(output t, pred_w; --last gives one row t=59), normalize off (no normalization "
                      "metadata), a column named 'id' that is not a sequence column, 3 empty target cells")


CASES = [case_f32_regression, case_f64_classification, case_f64_series]


# ------------------------------------------------------------------ reading back and the expected outputs

def expected_outputs(d):
    """From the files only: ckpt.safetensors + data.csv -> predict rows, predict --last rows, eval dict."""
    tensors, meta = read_safetensors(os.path.join(d, "ckpt.safetensors"))
    tensors = {k: torch.tensor(v) for k, v in tensors.items()}
    require(meta["format"] == CKPT_FORMAT, "format")
    cfg = json.loads(meta["config"])
    dc, mc, task = cfg["data"], cfg["model"], cfg["task"]
    dtype = TORCH_DT[cfg["training"]["dtype"]]
    require(all(t.dtype == dtype for t in tensors.values()), "tensor dtype != config dtype")
    I, H, L = len(dc["inputs"]), mc["hiddenSize"], mc["layers"]
    classes = json.loads(meta["classes"]) if task == "classification" else None
    O = len(classes) if classes else len(dc["targets"])
    m = Model(I, H, L, O, mc["activation"], mc["bias"]).to(dtype)
    m.load_state_dict(tensors, strict=True)
    m.eval()
    norm = json.loads(meta["normalization"]) if dc["normalize"] else None
    sc = dc["sequenceColumn"]

    def stat(cols):
        if norm is None:
            return (torch.zeros(len(cols), dtype=dtype), torch.ones(len(cols), dtype=dtype))
        return (torch.tensor([norm[c]["mean"] for c in cols], dtype=dtype),
                torch.tensor([norm[c]["std"] for c in cols], dtype=dtype))

    in_m, in_s = stat(dc["inputs"])
    out_m, out_s = stat(dc["targets"]) if task == "regression" else (None, None)
    header = predict_header(sc, task, dc["targets"], classes)
    pred_rows, last_rows = [], []
    ys, tgts, masks, labels = [], [], [], []      # eval pieces, all sequences
    diag = {"max_rel_numpy": 0.0, "max_rel_loop": 0.0, "min_argmax_gap": None}
    W64 = {k: v.double().numpy() for k, v in tensors.items()}
    for s in read_table(os.path.join(d, "data.csv"), cfg):
        sid, X, raw = s["id"], s["X"], s["raw"]
        x = (torch.tensor(X, dtype=dtype) - in_m) / in_s          # in the checkpoint's dtype
        with torch.no_grad():
            y = m(x[None])[0]                                     # [T, O], dtype
            yl = loop_forward(m, x, mc["activation"], L, mc["bias"])
        yn = np_forward(W64, ((X - in_m.double().numpy()) / in_s.double().numpy()), mc["activation"], L, mc["bias"])
        diag["max_rel_numpy"] = max(diag["max_rel_numpy"], max_rel(y.double().numpy(), yn))
        diag["max_rel_loop"] = max(diag["max_rel_loop"], max_rel(y.double().numpy(), yl.double().numpy()))
        key = lambda t: ([sid] if sc else []) + [str(t)]
        if task == "regression":
            p = y * out_s + out_m                                 # original units, in dtype
            for t in range(len(X)):
                pred_rows.append(key(t) + [num(v) for v in p[t].tolist()])
            tv = torch.tensor([[float(v) if v != "" else math.nan for v in r] for r in raw], dtype=dtype)
            ys.append(y)
            tgts.append(tv)
            masks.append(~torch.isnan(tv))
        else:
            pr = torch.softmax(y, -1)
            for t in range(len(X)):
                srt = torch.sort(y[t], descending=True).values
                gap = float(srt[0] - srt[1])
                diag["min_argmax_gap"] = gap if diag["min_argmax_gap"] is None else min(diag["min_argmax_gap"], gap)
                pred_rows.append(key(t) + [classes[int(torch.argmax(y[t]))]] + [num(v) for v in pr[t].tolist()])
            ys.append(y)
            labels.append(torch.tensor([classes.index(r[0]) if r[0] != "" else -1 for r in raw]))
        last_rows.append(pred_rows[-1])

    Y = torch.cat(ys)
    if task == "regression":
        T, M = torch.cat(tgts), torch.cat(masks)
        Tn = (T - out_m) / out_s
        loss = F.mse_loss(Y[M], Tn[M], reduction="mean")          # normalised units, pooled over elements
        P = Y * out_s + out_m
        dd = P[M] - T[M]
        ev = {"loss": float(loss), "n": int(M.sum()), "mse": float((dd * dd).mean()),
              "rmse": float(torch.sqrt((dd * dd).mean())), "mae": float(dd.abs().mean())}
    else:
        lab = torch.cat(labels)
        sel = lab >= 0
        loss = F.cross_entropy(Y[sel], lab[sel], reduction="mean")
        acc = float((torch.argmax(Y[sel], -1) == lab[sel]).double().mean())
        ev = {"loss": float(loss), "n": int(sel.sum()), "accuracy": acc, "perplexity": float(torch.exp(loss.double()))}
    return header, pred_rows, last_rows, ev, diag, cfg


# ------------------------------------------------------------------ building a case

def build_case(spec, out_root):
    c = spec()
    name, dtype = c["name"], c["dtype"]
    tdt = TORCH_DT[dtype]
    d = fresh_dir(out_root, name)
    print(f"{name}:")

    # 1. the model, in torch, PyTorch's own init scaled
    torch.manual_seed(c["seed"])
    m = Model(c["I"], c["H"], c["L"], c["O"], c["act"], c["bias"])
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(c["scale"])
    m = m.to(tdt)
    state = m.state_dict()
    require(sorted(state) == sorted(param_names(c["L"], c["bias"])), f"state_dict keys {list(state)}")

    # 2. the checkpoint
    cfg = case_config(dtype, c["seq_col"], c["inputs"], c["targets"], c["task"], c["H"], c["L"], c["act"],
                      c["bias"], c["normalize"])
    meta = checkpoint_meta(cfg, c["epoch"], c["step"])
    if c["normalize"]:
        meta["normalization"] = normalization_json(c["stats"].items())
    if c["task"] == "classification":
        meta["classes"] = json.dumps(c["classes"])
        require(c["classes"] == sorted(c["classes"]), "classes not in code-point order")
    write_safetensors(os.path.join(d, "ckpt.safetensors"), state.items(), meta)

    # 3. the data
    rows = [[r[h] for h in c["header"]] for r in c["rows"]]
    write_text(os.path.join(d, "data.csv"), csv_text(c["header"], rows))

    # 4. expected outputs, from the files
    header, pred_rows, last_rows, ev, diag, rcfg = expected_outputs(d)
    require(rcfg == cfg, "config metadata does not read back as written")
    back = read_table(os.path.join(d, "data.csv"), rcfg)
    require(sum(len(s["X"]) for s in back) == len(c["rows"]), "row count")
    flat = np.concatenate([s["X"] for s in back])
    gen = np.array([[float(r[col]) for col in c["inputs"]] for r in c["rows"]])
    require(np.array_equal(flat, gen), "data.csv inputs do not read back")
    write_text(os.path.join(d, "expected_predict.csv"), csv_text(header, pred_rows))
    write_text(os.path.join(d, "expected_predict_last.csv"), csv_text(header, last_rows))
    write_text(os.path.join(d, "expected_eval.json"), json.dumps(ev, indent=2) + "\n")

    # 5. self-checks
    tol_np = 1e-5 if dtype == "float32" else 1e-12
    require(diag["max_rel_numpy"] <= tol_np, f"torch vs numpy forward: {diag['max_rel_numpy']:.3e}")
    require(diag["max_rel_loop"] <= tol_np, f"nn.RNN vs step loop: {diag['max_rel_loop']:.3e}")
    if diag["min_argmax_gap"] is not None:
        require(diag["min_argmax_gap"] >= 1e-4, f"arg-max gap {diag['min_argmax_gap']:.3e}")
    if c["normalize"]:
        for col in c["inputs"] + c["targets"]:
            vals = np.array([float(r[col]) for r in c["rows"] if r[col] != ""])
            mu, sd = c["stats"][col]
            require(abs(vals.mean() - mu) > 1e-3 * sd and abs(vals.std() - sd) > 1e-3 * sd,
                    f"{col}: hand-picked stats equal the data's")
    ref = subprocess.run([sys.executable, os.path.join(HERE, "check_torch_load.py"),
                          os.path.join(d, "ckpt.safetensors"), os.path.join(d, "data.csv")],
                         capture_output=True, text=True)
    require(ref.returncode == 0, f"check_torch_load.py failed: {ref.stderr}")
    got = list(csv.reader(io.StringIO(ref.stdout)))
    require(got[0] == header and len(got) == len(pred_rows) + 1, "check_torch_load.py: header/rows differ")
    worst = 0.0
    keys = len(header) - (len(c["targets"]) if c["task"] == "regression" else len(c["classes"]))
    for g, w in zip(got[1:], pred_rows):
        require(g[:keys] == w[:keys], f"check_torch_load.py key columns {g[:keys]} != {w[:keys]}")
        for a, b in zip(g[keys:], w[keys:]):
            worst = max(worst, abs(float(a) - float(b)) / (1 + abs(float(b))))
    require(worst <= TOL[dtype], f"check_torch_load.py predictions differ by {worst:.3e}")

    exact = ([c["seq_col"]] if c["seq_col"] else []) + ["t"] + \
        ([f"pred_{c['targets'][0]}"] if c["task"] == "classification" else [])
    case = {
        "name": name,
        "about": c["about"],
        "dtype": dtype,
        "tol": TOL[dtype],
        "inputs": ["ckpt.safetensors", "data.csv"],
        "exactColumns": exact,
        "evalKeys": list(ev),
        "exactEvalKeys": ["n"],
        "runs": [
            {"args": ["predict", "ckpt.safetensors", "--data", "data.csv"], "expected": "expected_predict.csv", "kind": "csv"},
            {"args": ["predict", "ckpt.safetensors", "--data", "data.csv", "--last"], "expected": "expected_predict_last.csv", "kind": "csv"},
            {"args": ["eval", "ckpt.safetensors", "--data", "data.csv", "--json"], "expected": "expected_eval.json", "kind": "json"},
        ],
        "selfCheck": {"torchVsNumpyMaxRel": diag["max_rel_numpy"], "nnRnnVsLoopMaxRel": diag["max_rel_loop"],
                      "checkTorchLoadMaxRel": worst, "minArgmaxGap": diag["min_argmax_gap"]},
    }
    write_text(os.path.join(d, "case.json"), json.dumps(case, indent=2) + "\n")
    print(f"  {len(c['rows'])} rows, {len(last_rows)} sequence(s), eval {json.dumps(ev)}")
    print(f"  self-checks: torch vs numpy {diag['max_rel_numpy']:.2e}, nn.RNN vs loop {diag['max_rel_loop']:.2e}, "
          f"check_torch_load {worst:.2e}" + (f", min arg-max gap {diag['min_argmax_gap']:.3g}"
                                            if diag["min_argmax_gap"] is not None else ""))


README = """# Interop cases: checkpoints written by PyTorch, loaded by `rnn`

Generated by `scripts/golden/make_interop_fixtures.py` (PyTorch 1.13); do not edit by hand, rerun
`/usr/bin/python3 scripts/golden/make_interop_fixtures.py` (deterministic, byte-identical on a rerun).
Checked by `test/interop.test.ts`.

Each folder: `ckpt.safetensors` (the `state_dict()` of `nn.RNN(..., batch_first=True)` + `nn.Linear` under
SPEC §5 names, with `format`/`config`/`epoch`/`step`/`normalization`/`classes` metadata), `data.csv` (inputs
picked by name from a shuffled header with extra columns), and what torch computes for
`rnn predict ckpt.safetensors --data data.csv` (`expected_predict.csv`), the same with `--last`
(`expected_predict_last.csv`) and `rnn eval ckpt.safetensors --data data.csv --json`
(`expected_eval.json`). `case.json`: the commands, the tolerance (`|got - want| <= tol * (1 + |want|)`;
f64 1e-9, f32 1e-5), the columns compared exactly and the generator's self-check figures.
"""


def main(argv):
    return run_generator(argv, __doc__.split("\n")[0], DEFAULT_OUT, CASES, lambda s: s()["name"], build_case,
                         lambda out, _: write_text(os.path.join(out, "README.md"), README))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
