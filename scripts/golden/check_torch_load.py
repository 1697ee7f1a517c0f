#!/usr/bin/python3
"""Load a checkpoint written by `rnn` into plain PyTorch modules and print predictions in the layout
of `rnn predict`, to diff by hand against `rnn predict` (SPEC §2, §5).

    /usr/bin/python3 scripts/golden/check_torch_load.py <ckpt.safetensors> <data.csv> [<config>] [--last]

- The checkpoint is read with the shared safetensors reader of scripts/golden/common.py
  (F64/F32/F16/BF16), then
      rnn  = nn.RNN(inputs, hidden, num_layers=L, nonlinearity=Φ, bias=…, batch_first=True)
             (nn.LSTM / nn.GRU when model.cell is lstm / gru)
      head = nn.Linear(hidden, outputs, bias=…)
  get the `rnn.*` / `head.*` tensors with load_state_dict(strict=True): a missing, extra, misnamed or
  misshaped tensor is an error (exit 1). `optim.*` and other tensors are ignored. The modules run in
  the checkpoint's dtype.
- <config> (YAML or JSON) gives sequenceColumn, inputs, targets, task and activation; without it the
  checkpoint's `config` metadata is used. `classes` and `normalization` come from the metadata.
  The normalization metadata layout is the team's; common layouts are recognised (per column
  {mean, std} under the column name, optionally under inputs/targets; or mean/std lists in config
  order). If normalize is on and the stats are not found, they are recomputed from the config's
  training data with the golden-fixture reference (scripts/golden/make_train_fixtures.py), and a
  note says so on stderr.
- Every sequence (rows with one id, in file order; the whole file when the model has no sequence
  column) runs from s_0; output: sequence column (if any), t, pred_<target>… (regression, original
  units) or pred_<label column>, p_<class>… (classification). Numbers are Python repr (round trip),
  so compare numerically (e.g. at 1e-9), not byte for byte.
- sigmoid is not an nn.RNN nonlinearity: such a checkpoint is refused (exit 2).
"""
import csv
import json
import os
import sys

import numpy as np
import torch
import yaml

from common import GATES, SafetensorsError, load_modules, predict_header, read_csv, read_safetensors, torch_modules


def die(msg, code=2):
    print(f"check_torch_load: {msg}", file=sys.stderr)
    sys.exit(code)


def read_checkpoint(path):
    """-> (tensors {name: torch tensor in its stored precision, BF16 as float32}, metadata, the dtype
    to run in: float64 when an rnn.* / head.* tensor is F64 (or there is none), else float32)."""
    try:
        arrays, meta = read_safetensors(path)
    except SafetensorsError as ex:
        die(str(ex))
    tensors = {name: torch.tensor(a) for name, a in arrays.items()}
    model = [a for name, a in arrays.items() if name.startswith(("rnn.", "head."))]
    f64 = not model or any(a.dtype == np.float64 for a in model)
    return tensors, meta, (torch.float64 if f64 else torch.float32)


MEAN_KEYS = ("mean", "mu", "avg", "center")
STD_KEYS = ("std", "sd", "sigma", "scale", "stdev")


def pick(d, keys):
    for k in keys:
        if isinstance(d, dict) and k in d:
            return d[k]
    return None


def find_stats(norm, group, cols, all_cols):
    """-> list of (mean, std) for `cols`, or None. group: 'inputs' | 'targets'."""
    def from_container(c):
        if not isinstance(c, dict):
            return None
        # {col: {mean, std}}
        if all(isinstance(c.get(col), dict) and pick(c[col], MEAN_KEYS) is not None for col in cols):
            return [(float(pick(c[col], MEAN_KEYS)), float(pick(c[col], STD_KEYS))) for col in cols]
        m, s = pick(c, MEAN_KEYS), pick(c, STD_KEYS)
        if isinstance(m, dict) and isinstance(s, dict) and all(col in m and col in s for col in cols):
            return [(float(m[col]), float(s[col])) for col in cols]
        if isinstance(m, list) and isinstance(s, list):
            if len(m) == len(cols):
                return [(float(a), float(b)) for a, b in zip(m, s)]
            if len(m) == len(all_cols):
                return [(float(m[all_cols.index(col)]), float(s[all_cols.index(col)])) for col in cols]
        if "columns" in c and isinstance(c["columns"], list):
            by = {x.get("name", x.get("column")): x for x in c["columns"] if isinstance(x, dict)}
            if all(col in by for col in cols):
                return [(float(pick(by[col], MEAN_KEYS)), float(pick(by[col], STD_KEYS))) for col in cols]
        return None
    if isinstance(norm, dict):
        for key in (group, group[:-1]):
            if key in norm:
                r = from_container(norm[key])
                if r is not None:
                    return r
        return from_container(norm)
    if isinstance(norm, list):
        return from_container({"columns": norm})
    return None


def load_config(path, meta):
    if path:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f), os.path.dirname(os.path.abspath(path))
    if "config" not in meta:
        die("no <config> given and no config metadata in the checkpoint")
    return json.loads(meta["config"]), os.getcwd()


def label_str(v):
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e21):
        return str(int(v))
    return repr(v)


def main(argv):
    last = "--last" in argv
    args = [a for a in argv if a != "--last"]
    if len(args) not in (2, 3):
        die("usage: check_torch_load.py <ckpt.safetensors> <data.csv> [<config>] [--last]")
    ckpt, data_path = args[0], args[1]
    tensors, meta, dtype = read_checkpoint(ckpt)
    cfg, cfg_dir = load_config(args[2] if len(args) == 3 else None, meta)
    d, m = cfg["data"], cfg.get("model", {})
    task = cfg.get("task", "regression")
    cell = m.get("cell", "elman")
    act = m.get("activation", "tanh")
    L = sum(1 for k in tensors if k.startswith("rnn.weight_ih_l"))
    if L == 0 or "head.weight" not in tensors:
        die(f"{ckpt}: no rnn.weight_ih_l0 / head.weight", 1)
    gates = GATES[cell]
    H = tensors["rnn.weight_hh_l0"].shape[1]
    I = tensors["rnn.weight_ih_l0"].shape[1]
    O = tensors["head.weight"].shape[0]
    bias = "rnn.bias_ih_l0" in tensors
    head_bias = "head.bias" in tensors
    if tensors["rnn.weight_hh_l0"].shape[0] != gates * H:
        die(f"{ckpt}: rnn.weight_hh_l0 shape {list(tensors['rnn.weight_hh_l0'].shape)} does not fit cell {cell}", 1)
    if cell == "elman" and act not in ("tanh", "relu"):
        die(f"activation {act} has no nn.RNN equivalent")
    rnn, head = torch_modules(cell, I, H, L, O, act, bias, head_bias=head_bias)
    rnn, head = rnn.to(dtype), head.to(dtype)
    try:
        load_modules(rnn, head, {k: v.to(dtype) for k, v in tensors.items() if k.startswith(("rnn.", "head."))})
    except RuntimeError as ex:
        die(f"{ckpt}: load_state_dict(strict=True) failed: {ex}", 1)
    if I != len(d["inputs"]):
        die(f"{ckpt}: {I} inputs in the weights, config lists {len(d['inputs'])}", 1)

    classes = None
    if task == "classification":
        if "classes" not in meta:
            die(f"{ckpt}: classification checkpoint without classes metadata", 1)
        classes = [label_str(c) for c in json.loads(meta["classes"])]
        if len(classes) != O:
            die(f"{ckpt}: {len(classes)} classes, head has {O} rows", 1)

    in_stats = out_stats = None
    if d.get("normalize"):
        norm = json.loads(meta["normalization"]) if "normalization" in meta else None
        all_cols = list(d["inputs"]) + (list(d["targets"]) if task == "regression" else [])
        in_stats = find_stats(norm, "inputs", d["inputs"], all_cols) if norm is not None else None
        out_stats = (find_stats(norm, "targets", d["targets"], all_cols)
                     if norm is not None and task == "regression" else None)
        if in_stats is None or (task == "regression" and out_stats is None):
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import make_train_fixtures as ref
            pr = ref.prepare(cfg, cfg_dir)
            in_stats = [pr.norm["inputs"][c] for c in d["inputs"]]
            if task == "regression":
                out_stats = [pr.norm["targets"][c] for c in d["targets"]]
            print("check_torch_load: normalization metadata not recognised "
                  f"({meta.get('normalization', 'absent')[:200]}); stats recomputed from the config's training data",
                  file=sys.stderr)

    sc = d.get("sequenceColumn")
    header, body, col = read_csv(data_path)
    for c in list(d["inputs"]) + ([sc] if sc else []):
        if c not in col:
            die(f"{data_path}: no column {c}")
    seqs = []
    for r, row in enumerate(body, start=2):
        sid = row[col[sc]] if sc else None
        if not seqs or seqs[-1][0] != sid:
            seqs.append((sid, []))
        try:
            x = [float(row[col[c]]) for c in d["inputs"]]
        except ValueError:
            die(f"{data_path}:{r}: non-numeric input")
        seqs[-1][1].append(x)

    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(predict_header(sc, task, d["targets"], classes))
    for sid, xs in seqs:
        X = np.array(xs, dtype=np.float64)
        if in_stats is not None:
            X = (X - np.array([s[0] for s in in_stats])) / np.array([s[1] for s in in_stats])
        with torch.no_grad():
            y = head(rnn(torch.tensor(X, dtype=dtype)[None])[0])[0].double().numpy()
        for t in range(len(X)):
            if last and t != len(X) - 1:
                continue
            key = ([sid] if sc else []) + [str(t)]
            if task == "regression":
                v = y[t]
                if out_stats is not None:
                    v = v * np.array([s[1] for s in out_stats]) + np.array([s[0] for s in out_stats])
                out.writerow(key + [repr(float(u)) for u in v])
            else:
                p = torch.softmax(torch.tensor(y[t]), -1).numpy()
                out.writerow(key + [classes[int(np.argmax(p))]] + [repr(float(u)) for u in p])
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:          # e.g. piped into head
        sys.stderr.close()
        sys.exit(0)
