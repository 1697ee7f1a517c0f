"""Helpers shared by the PyTorch fixture scripts in scripts/golden/ (make_core_fixtures.py,
make_train_fixtures.py, make_interop_fixtures.py, check_torch_load.py).

Imported as `common` (each script's folder is on sys.path when it runs as a script). Needs Debian's
python3-torch 1.13 and python3-numpy. What each script keeps is its own: the cases, its reference
computation (each forward pass is written independently on purpose), its self-checks and output layout.

Contents:
- paths: HERE (this folder), REPO (the repository root);
- self-checks: CheckFailed, require;
- numbers as the fixtures print them: num (round trip), cell (a data cell rounded to some decimals);
- files: write_text, csv_text, read_csv, read_table (sequences of a data CSV, missing cells optional);
- safetensors: write_safetensors, read_safetensors (SafetensorsError);
- SPEC §3/§5 layouts: full_config, checkpoint_meta, normalization_json, predict_header;
- the model's names and shapes: GATES, param_names, param_shapes, ACT_T;
- torch modules: torch_modules (nn.RNN/LSTM/GRU + nn.Linear), load_modules;
- comparisons: max_rel;
- generator plumbing: out_only_args (--out/--only), fresh_dir.
"""
import argparse
import csv
import io
import json
import math
import os
import shutil
import sys
import struct

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
"""scripts/golden/, the folder of the fixture scripts (absolute)."""
REPO = os.path.dirname(os.path.dirname(HERE))
"""The repository root (absolute)."""

CKPT_FORMAT = "rnn-checkpoint/1"
"""The `format` metadata value of every checkpoint (SPEC §5)."""


# ------------------------------------------------------------------ self-checks

class CheckFailed(Exception):
    """A generator's self-check failed (the scripts exit 1 on it)."""


def require(cond, msg):
    """Raise CheckFailed(msg) unless `cond` holds."""
    if not cond:
        raise CheckFailed(msg)


# ------------------------------------------------------------------ numbers

def num(x):
    """Round-trip (shortest) decimal form of a float: Python repr. A non-finite number is a
    CheckFailed."""
    x = float(x)
    require(math.isfinite(x), f"non-finite number {x}")
    return repr(x)


def cell(v, digits=6):
    """A data cell: the value rounded to `digits` decimals, printed round-trip (-0.0 printed as 0.0)."""
    r = round(float(v), digits)
    if r == 0:
        r = 0.0
    return repr(r)


def max_rel(a, b):
    """max |a - b| / (1 + |b|) over two arrays of the same shape, as a float."""
    return float(np.max(np.abs(a - b) / (1 + np.abs(b))))


# ------------------------------------------------------------------ text and CSV files

def write_text(path, text):
    """Write `text` as UTF-8, line ends exactly as given (no newline translation)."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def csv_text(header, rows):
    """A CSV file's text: the header row then `rows`, csv-module quoting (RFC 4180), "\\n" line ends."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def read_csv(path):
    """A whole CSV file (UTF-8, csv-module parsing) -> (header, body rows, {column name: index})."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    return header, body, {h: i for i, h in enumerate(header)}


def read_table(path, cfg, targets=True, missing=None):
    """Data CSV -> list of sequences {id, X [T,I] float64, raw [T][O] target cell strings}: the rows
    of one id (contiguous) in file order, inputs / targets picked by name as cfg["data"] lists them.
    Without sequenceColumn the file is one sequence (id None). targets=False: no target columns
    needed (raw rows empty). CheckFailed on a missing column, a ragged row, an id that reappears
    after another id, or a non-finite input. missing: None, or the cell texts that mean "missing"
    (SPEC §6 data.missing.values): such an input cell reads as NaN, such a target cell as ""."""
    d = cfg["data"]
    header, body, col = read_csv(path)
    sc = d.get("sequenceColumn")
    for c in d["inputs"] + (d["targets"] if targets else []) + ([sc] if sc else []):
        require(c in col, f"{path}: no column {c}")
    seqs, seen = [], set()
    for r, row in enumerate(body, start=2):
        require(len(row) == len(header), f"{path}:{r}: ragged row")
        sid = row[col[sc]] if sc else None
        if not seqs or seqs[-1]["id"] != sid:
            require(sid not in seen, f"{path}:{r}: id {sid} reappears")
            seen.add(sid)
            seqs.append({"id": sid, "X": [], "raw": []})
        x = []
        for c in d["inputs"]:
            if missing is not None and row[col[c]] in missing:
                x.append(math.nan)
                continue
            v = float(row[col[c]])
            require(math.isfinite(v), f"{path}:{r}: bad input")
            x.append(v)
        seqs[-1]["X"].append(x)
        gone = missing if missing is not None else ()
        seqs[-1]["raw"].append(["" if row[col[c]] in gone else row[col[c]] for c in d["targets"]] if targets else [])
    for s in seqs:
        s["X"] = np.array(s["X"], dtype=np.float64)
    return seqs


# ------------------------------------------------------------------ safetensors

ST_NUMPY = {"F64": "<f8", "F32": "<f4", "F16": "<f2"}
"""safetensors dtype -> little-endian numpy dtype (BF16 is widened by hand in read_safetensors)."""
ST_NATIVE = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.float32}
"""safetensors dtype -> the numpy dtype read_safetensors returns it in."""


class SafetensorsError(Exception):
    """A safetensors file read_safetensors cannot read (too short, a dtype it does not support)."""


def write_safetensors(path, tensors, metadata, dtype=None):
    """Write a safetensors file. tensors: (name, array) pairs in file order, each a numpy array, an
    array-like or a torch tensor, stored little-endian back to back. dtype "F64" / "F32": every tensor
    stored in it; None: each tensor's own (float32 -> F32, float64 -> F64). metadata: written under
    __metadata__ as str(key) -> str(value). The header is compact JSON (keys in insertion order:
    __metadata__ first) padded with spaces to a multiple of 8 bytes."""
    header = {"__metadata__": {str(k): str(v) for k, v in metadata.items()}}
    blobs, off = [], 0
    for name, arr in tensors:
        if isinstance(arr, torch.Tensor):
            arr = arr.detach().cpu().numpy()
        st = dtype or {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64"}[np.asarray(arr).dtype]
        b = np.ascontiguousarray(np.asarray(arr, dtype=ST_NUMPY[st])).tobytes()
        header[name] = {"dtype": st, "shape": list(np.shape(arr)), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Read a safetensors file -> (tensors, metadata): tensors = {name: numpy array} in header order,
    each a fresh native-endian array in its stored precision (F64 -> float64, F32 -> float32,
    F16 -> float16, BF16 -> widened exactly to float32); metadata = the __metadata__ dict ({} when
    absent or null). SafetensorsError when the file is too short or a dtype is not one of those."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise SafetensorsError(f"{path}: too short")
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        s, e = info["data_offsets"]
        dt = info["dtype"]
        if dt == "BF16":
            u = np.frombuffer(data[s:e], dtype="<u2").astype(np.uint32) << 16
            out[name] = u.view(np.float32).reshape(info["shape"])
        elif dt in ST_NUMPY:
            out[name] = np.frombuffer(data[s:e], dtype=ST_NUMPY[dt]).astype(ST_NATIVE[dt]).reshape(info["shape"])
        else:
            raise SafetensorsError(f"{path}: tensor {name}: dtype {dt} not supported")
    return out, meta


# ------------------------------------------------------------------ SPEC §3 / §5 layouts

def full_config(*, seed, train, validation, validationSplit, sequenceColumn, inputs, targets, shift, normalize,
                task, targetsAt, cell, hiddenSize, layers, activation, bias, init,
                epochs, batchSize, shuffle, dtype, bptt, optimizer, clip, out_dir):
    """A config with every SPEC §3 key written out, sections and keys in the order rnn's resolved
    config has them (seed, data, task, targetsAt, model, training, output)."""
    return {
        "seed": seed,
        "data": {
            "train": train,
            "validation": validation,
            "validationSplit": validationSplit,
            "sequenceColumn": sequenceColumn,
            "inputs": inputs,
            "targets": targets,
            "shift": shift,
            "normalize": normalize,
        },
        "task": task,
        "targetsAt": targetsAt,
        "model": {
            "cell": cell,
            "hiddenSize": hiddenSize,
            "layers": layers,
            "activation": activation,
            "bias": bias,
            "init": init,
        },
        "training": {
            "epochs": epochs,
            "batchSize": batchSize,
            "shuffle": shuffle,
            "dtype": dtype,
            "bptt": bptt,
            "optimizer": optimizer,
            "clip": clip,
        },
        "output": {"dir": out_dir},
    }


def checkpoint_meta(cfg, epoch, step):
    """The metadata every checkpoint starts with (SPEC §5): format, config (compact JSON), epoch and
    step (strings). Callers add normalization / classes in their own order."""
    return {"format": CKPT_FORMAT, "config": json.dumps(cfg, separators=(",", ":")),
            "epoch": str(epoch), "step": str(step)}


def normalization_json(stats):
    """The `normalization` metadata: stats = (column, (mean, std)) pairs -> compact JSON
    {"<column>": {"mean": m, "std": s}, ...} in that order."""
    return json.dumps({c: {"mean": m, "std": s} for c, (m, s) in stats}, separators=(",", ":"))


def predict_header(seq_col, task, targets, classes):
    """The header of `rnn predict`'s output (SPEC §2): the sequence column (if any), t, then
    pred_<target>... (regression) or pred_<label column>, p_<class>... (classification)."""
    header = ([seq_col] if seq_col else []) + ["t"]
    if task == "regression":
        return header + [f"pred_{c}" for c in targets]
    return header + [f"pred_{targets[0]}"] + [f"p_{c}" for c in classes]


# ------------------------------------------------------------------ the model's tensors (SPEC §5)

GATES = {"elman": 1, "lstm": 4, "gru": 3}
"""Rows per hidden unit in the rnn.* tensors: Elman 1, LSTM 4 (i|f|g|o), GRU 3 (r|z|n)."""

ACT_T = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}
"""Elman activation name -> torch function."""


def param_names(L, bias):
    """The checkpoint's tensor names for L layers, in nn.RNN/nn.LSTM/nn.GRU + nn.Linear state_dict
    order: per layer rnn.weight_ih_l{k}, rnn.weight_hh_l{k} (+ rnn.bias_ih_l{k}, rnn.bias_hh_l{k}),
    then head.weight (+ head.bias)."""
    names = []
    for k in range(L):
        names += [f"rnn.weight_ih_l{k}", f"rnn.weight_hh_l{k}"]
        if bias:
            names += [f"rnn.bias_ih_l{k}", f"rnn.bias_hh_l{k}"]
    names.append("head.weight")
    if bias:
        names.append("head.bias")
    return names


def param_shapes(I, H, L, O, bias, cell="elman"):
    """{name: shape tuple} in param_names order: rnn.weight_ih_l{k} [G*H, I (layer 0) or H],
    rnn.weight_hh_l{k} [G*H, H], biases [G*H], head.weight [O, H], head.bias [O]; G = GATES[cell]."""
    G = GATES[cell]
    shp = {}
    for k in range(L):
        shp[f"rnn.weight_ih_l{k}"] = (G * H, I if k == 0 else H)
        shp[f"rnn.weight_hh_l{k}"] = (G * H, H)
        if bias:
            shp[f"rnn.bias_ih_l{k}"] = (G * H,)
            shp[f"rnn.bias_hh_l{k}"] = (G * H,)
    shp["head.weight"] = (O, H)
    if bias:
        shp["head.bias"] = (O,)
    return shp


# ------------------------------------------------------------------ torch modules

def torch_modules(cell, I, H, L, O, activation="tanh", bias=True, head_bias=None):
    """SPEC §5's module pair, freshly built (float32, PyTorch's own init from torch's global RNG, rnn
    first, then head): rnn = nn.RNN(I, H, num_layers=L, nonlinearity=activation, bias=bias,
    batch_first=True), or nn.LSTM / nn.GRU (same sizes and bias) for cell lstm / gru; head =
    nn.Linear(H, O, bias=head_bias, default: bias). -> (rnn, head)."""
    if cell == "lstm":
        rnn = nn.LSTM(I, H, num_layers=L, bias=bias, batch_first=True)
    elif cell == "gru":
        rnn = nn.GRU(I, H, num_layers=L, bias=bias, batch_first=True)
    else:
        rnn = nn.RNN(I, H, num_layers=L, nonlinearity=activation, bias=bias, batch_first=True)
    head = nn.Linear(H, O, bias=bias if head_bias is None else head_bias)
    return rnn, head


def load_modules(rnn, head, state):
    """Load state's rnn.* tensors into `rnn` and its head.* tensors into `head` (prefix stripped),
    load_state_dict(strict=True) each (RuntimeError on a missing, extra or misshaped tensor); other
    names (optim.*, ...) are ignored."""
    rnn.load_state_dict({k[len("rnn."):]: v for k, v in state.items() if k.startswith("rnn.")}, strict=True)
    head.load_state_dict({k[len("head."):]: v for k, v in state.items() if k.startswith("head.")}, strict=True)


# ------------------------------------------------------------------ generator plumbing

def out_only_args(argv, description, default_out):
    """Parse a generator's command line: --out DIR (default `default_out`) and --only NAME
    (repeatable, default none); create DIR. -> the argparse namespace (.out, .only)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--out", default=default_out)
    ap.add_argument("--only", action="append", default=[])
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    return args


def run_generator(argv, description, default_out, cases, name_of, build, finish=None, say=None):
    """The fixture scripts' shared main: parse --out/--only, refuse an unknown case name (2), build
    each chosen case with build(case, out) in order, stop at a failed self-check (1), then, when
    every case was built, finish(out, results). `say` prints progress (default: stderr).
    -> the exit code."""
    say = say or (lambda msg: print(msg, file=sys.stderr))
    args = out_only_args(argv, description, default_out)
    names = [name_of(c) for c in cases]
    unknown = sorted(set(args.only) - set(names))
    if unknown:
        say(f"unknown case(s): {', '.join(unknown)}; the cases: {', '.join(names)}")
        return 2
    say(f"writing {args.out}")
    try:
        results = [build(c, args.out) for c, n in zip(cases, names) if not args.only or n in args.only]
    except CheckFailed as ex:
        say(f"CHECK FAILED: {ex}")
        return 1
    if finish is not None and not args.only:
        finish(args.out, results)
    say(f"ok: {len(results)} case(s)")
    return 0


def fresh_dir(root, name):
    """root/name, emptied: removed with its contents if it exists, then created. -> its path."""
    d = os.path.join(root, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    return d
