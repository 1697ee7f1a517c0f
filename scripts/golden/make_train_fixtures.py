#!/usr/bin/python3
"""Golden training fixtures for `rnn` (test/golden/train/<case>/), made by an independent PyTorch
(float64) reference of SPEC §1-§5 (/work/shared/SPEC.md).

Run from anywhere (needs Debian's python3-torch 1.13, python3-numpy, python3-yaml):

    /usr/bin/python3 scripts/golden/make_train_fixtures.py              # (re)write test/golden/train/
    /usr/bin/python3 scripts/golden/make_train_fixtures.py --out DIR    # write the cases under DIR instead
    /usr/bin/python3 scripts/golden/make_train_fixtures.py --only NAME  # one case (repeatable)

Deterministic: a second run writes byte-identical files (check with
`sha256sum test/golden/train/*/* | sha256sum` before and after, or diff a run with --out).

What it does, per case:
1. writes the inputs: config.yaml (every SPEC §3 key explicit, shuffle false, dtype float64,
   model.init: init.safetensors, output.dir: run), data.csv (and val.csv), init.safetensors;
2. re-reads those files (config + CSV + checkpoint, never the generator's arrays) and trains the
   reference on them: masked pooled loss, TBPTT(truncate, stride) windows with the carried state,
   batchify streams, shift, normalize, validation, torch.optim.SGD/Adam,
   torch.nn.utils.clip_grad_norm_/clip_grad_value_;
3. writes expected_last.safetensors, expected_updates.csv, expected_epochs.csv (and
   expected_best.safetensors, expected_eval.json, expected_predict*.csv where the case has them)
   and case.json (commands, which expected file goes with which command, tolerance, notes);
4. self-checks, and fails (exit 1) if any check fails:
   - the TBPTT window lists equal SPEC's example TBPTT(6,2) = [0,2) [0,4) [0,6) [2,8) ...;
   - the files re-read give exactly the generator's data (values, masks, sequence order);
   - every update: torch's window loss == an independent numpy forward pass (1e-12), the state the
     update started from == the numpy replay of the carried state (window after window), and
     torch's autograd gradient == central finite differences (eps 1e-5) of the numpy loss, every
     parameter component (|a-n|/max(|a|,|n|,1e-3) <= 1e-6);
   - manual Elman forward == nn.RNN + nn.Linear (tanh/relu) on the final weights;
   - eval/predict outputs == numpy forward; normalisation stats == numpy from the generator's arrays;
   - no knife edges: pre-clip norms >= 1% away from the norm threshold, gradient components >= 1e-5
     from a value threshold, relu pre-activations >= 1e-5 away from 0, arg-max gaps >= 1e-4,
     1e-12 relative gradient noise moves final weights/losses by < 1e-11 relative;
   - each case tells the reference from named mistakes (per-sequence mean loss, state reset per
     window, ...): every listed mistake moves some expected number by > 1e-6.
A case whose data/threshold trial fails a knife-edge check is regenerated with the next trial
(deterministically), so the committed fixtures are the first trial that passes.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import yaml

from common import (ACT_T, CKPT_FORMAT, REPO, CheckFailed, cell, checkpoint_meta, csv_text, fresh_dir, full_config,
                    load_modules, max_rel, normalization_json, num, param_names, param_shapes,
                    predict_header, read_safetensors, read_table, require, run_generator, torch_modules,
                    write_safetensors, write_text)

torch.set_num_threads(1)
F64 = torch.float64
DEFAULT_OUT = os.path.join(REPO, "test", "golden", "train")
TOL = 1e-9
LOG = []


def say(msg=""):
    print(msg)
    LOG.append(msg)


class TrialRejected(Exception):
    pass


def knife(cond, msg):
    if not cond:
        raise TrialRejected(msg)


# ------------------------------------------------------------------ formatting and the config file
# (num, cell, CSV / text files and safetensors: common.py)

def rounded(v, digits=6):
    return float(cell(v, digits))


YAML_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def yaml_scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        r = repr(v)
        if "e" in r:        # YAML 1.1 (PyYAML) wants a dot and a signed exponent: 1.0e-08
            mant, ex = r.split("e")
            if "." not in mant:
                mant += ".0"
            if ex[0] not in "+-":
                ex = "+" + ex
            r = mant + "e" + ex
        return r
    if isinstance(v, str):
        plain = (v and v.lower() not in YAML_WORDS and v[0].isalpha()
                 and all(c.isalnum() or c in "_-./" for c in v))
        return v if plain else json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(yaml_scalar(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k}: {yaml_scalar(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def config_yaml(cfg):
    """Block style for the sections, flow style for bptt/optimizer/clip (as in SPEC §3)."""
    out = []
    for k, v in cfg.items():
        if isinstance(v, dict):
            out.append(f"{k}:")
            for k2, v2 in v.items():
                out.append(f"  {k2}: {yaml_scalar(v2)}")
        else:
            out.append(f"{k}: {yaml_scalar(v)}")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ the model (SPEC §1, §5)

def random_init(rs, I, H, L, O, bias, scale=1.0, bias_shift=0.0, cell="elman"):
    """Uniform(-k, k), k = scale/sqrt(H) (PyTorch's default init), rounded to 1e-12 is not needed:
    the bytes are stored exactly."""
    k = scale / math.sqrt(H)
    W = {}
    for name, shp in param_shapes(I, H, L, O, bias, cell).items():
        w = rs.uniform(-k, k, size=shp)
        if name.startswith("rnn.bias") and bias_shift:
            w = w + bias_shift / 2
        W[name] = w
    return W


def cell_of(cfg):
    return cfg["model"].get("cell", "elman")


def zero_state(cell, B, H, L):
    """The state at a sequence start: per layer h [B,H] (Elman, GRU) or the pair (h, c) (LSTM)."""
    if cell == "lstm":
        return [(torch.zeros(B, H, dtype=F64), torch.zeros(B, H, dtype=F64)) for _ in range(L)]
    return [torch.zeros(B, H, dtype=F64) for _ in range(L)]


def np_zero_state(cell, B, H, L):
    if cell == "lstm":
        return [(np.zeros((B, H)), np.zeros((B, H))) for _ in range(L)]
    return [np.zeros((B, H)) for _ in range(L)]


def st_map(f, s):
    """Apply f to a layer's state: a tensor, or the LSTM pair (h, c)."""
    return tuple(f(v) for v in s) if isinstance(s, tuple) else f(s)


def st_parts(s):
    return list(s) if isinstance(s, tuple) else [s]


def t_forward_cell(P, x, h0, L, bias, cell, mut=frozenset()):
    """LSTM / GRU stack written out step by step from nn.LSTM / nn.GRU's documented equations
    (gate rows i|f|g|o and r|z|n). h0: list of L states ((h, c) pairs for LSTM). `mut`: named
    mistakes in the cell math (discrimination checks only)."""
    B, T, _ = x.shape
    seq = [x[:, t] for t in range(T)]
    per_layer = []
    for k in range(L):
        Wih, Whh = P[f"rnn.weight_ih_l{k}"], P[f"rnn.weight_hh_l{k}"]
        H = Whh.shape[1]
        st, outs = h0[k], []
        for t in range(T):
            gi = seq[t] @ Wih.T
            if bias:
                gi = gi + P[f"rnn.bias_ih_l{k}"]
            if cell == "lstm":
                h, c = st
                gh = h @ Whh.T
                if bias:
                    gh = gh + P[f"rnn.bias_hh_l{k}"]
                z = gi + gh
                ci, cf, cg, co = (z[:, j * H:(j + 1) * H] for j in range(4))
                if "gate_swap_if" in mut:
                    ci, cf = cf, ci
                if "gate_swap_go" in mut:
                    cg, co = co, cg
                i, f, g, o = torch.sigmoid(ci), torch.sigmoid(cf), torch.tanh(cg), torch.sigmoid(co)
                c = f * c + i * g
                h = o * torch.tanh(c)
                st = (h, c)
            else:
                h = st
                gh = h @ Whh.T
                if bias:
                    gh = gh + P[f"rnn.bias_hh_l{k}"]
                jr, jz = (1, 0) if "gate_swap_rz" in mut else (0, 1)
                r = torch.sigmoid(gi[:, jr * H:(jr + 1) * H] + gh[:, jr * H:(jr + 1) * H])
                u = torch.sigmoid(gi[:, jz * H:(jz + 1) * H] + gh[:, jz * H:(jz + 1) * H])
                if "gru_r_outside_bias" in mut:         # r * (h W_hn^T) + b_hn
                    hn = r * (h @ Whh[2 * H:].T)
                    if bias:
                        hn = hn + P[f"rnn.bias_hh_l{k}"][2 * H:]
                elif "gru_r_before_matmul" in mut:      # (r * h) W_hn^T + b_hn
                    hn = (r * h) @ Whh[2 * H:].T
                    if bias:
                        hn = hn + P[f"rnn.bias_hh_l{k}"][2 * H:]
                else:                                   # r * (h W_hn^T + b_hn), as nn.GRU
                    hn = r * gh[:, 2 * H:]
                n = torch.tanh(gi[:, 2 * H:] + hn)
                if "gru_z_swapped" in mut:
                    h = u * n + (1 - u) * h
                else:
                    h = (1 - u) * n + u * h
                st = h
            outs.append(st)
        per_layer.append(outs)
        seq = [s[0] if isinstance(s, tuple) else s for s in outs]
    top = torch.stack(seq, 1)
    y = top @ P["head.weight"].T
    if bias:
        y = y + P["head.bias"]
    states = [[per_layer[k][t] for k in range(L)] for t in range(T)]
    return y, states


def t_forward(P, x, h0, act, L, bias, valid=None, pre_rec=None, cell="elman", mut=frozenset()):
    """Elman stack, written out step by step. x [B,T,I]; h0: list of L [B,H].
    Returns y [B,T,O] and states[t] = list of L [B,H] (the state after step t of the window).
    pre_rec: list collecting min |pre-activation| over the valid rows (relu knife edges).
    cell lstm / gru: t_forward_cell (states are (h, c) pairs for LSTM)."""
    if cell != "elman":
        return t_forward_cell(P, x, h0, L, bias, cell, mut)
    f = ACT_T[act]
    B, T, _ = x.shape
    seq = [x[:, t] for t in range(T)]
    per_layer = []
    for k in range(L):
        Wih, Whh = P[f"rnn.weight_ih_l{k}"], P[f"rnn.weight_hh_l{k}"]
        h, out = h0[k], []
        for t in range(T):
            z = seq[t] @ Wih.T
            if bias:
                z = z + P[f"rnn.bias_ih_l{k}"]
            z = z + h @ Whh.T
            if bias:
                z = z + P[f"rnn.bias_hh_l{k}"]
            if pre_rec is not None:
                zz = z.detach().abs()
                if valid is not None:
                    zz = zz[valid[:, t]]
                if zz.numel():
                    pre_rec.append(float(zz.min()))
            h = f(z)
            out.append(h)
        per_layer.append(out)
        seq = out
    top = torch.stack(seq, 1)
    y = top @ P["head.weight"].T
    if bias:
        y = y + P["head.bias"]
    states = [[per_layer[k][t] for k in range(L)] for t in range(T)]
    return y, states


def np_act(act, z):
    if act == "tanh":
        return np.tanh(z)
    if act == "relu":
        return np.maximum(z, 0.0)
    return 1.0 / (1.0 + np.exp(-z))


def np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_forward_cell(W, x, h0, L, bias, cell):
    """Independent numpy LSTM / GRU forward (no torch), nn.LSTM / nn.GRU equations."""
    B, T, _ = x.shape
    inp = x
    layers = []
    for k in range(L):
        Wih, Whh = W[f"rnn.weight_ih_l{k}"], W[f"rnn.weight_hh_l{k}"]
        H = Whh.shape[1]
        bih = W[f"rnn.bias_ih_l{k}"] if bias else np.zeros(Whh.shape[0])
        bhh = W[f"rnn.bias_hh_l{k}"] if bias else np.zeros(Whh.shape[0])
        out, sts = np.zeros((B, T, H)), []
        if cell == "lstm":
            h, c = (np.array(v, dtype=np.float64) for v in h0[k])
            for t in range(T):
                z = inp[:, t, :].dot(Wih.T) + bih + h.dot(Whh.T) + bhh
                i, f = np_sigmoid(z[:, :H]), np_sigmoid(z[:, H:2 * H])
                g, o = np.tanh(z[:, 2 * H:3 * H]), np_sigmoid(z[:, 3 * H:])
                c = f * c + i * g
                h = o * np.tanh(c)
                out[:, t, :] = h
                sts.append((h, c))
        else:
            h = np.array(h0[k], dtype=np.float64)
            for t in range(T):
                a = inp[:, t, :].dot(Wih.T) + bih
                b = h.dot(Whh.T) + bhh
                r = np_sigmoid(a[:, :H] + b[:, :H])
                u = np_sigmoid(a[:, H:2 * H] + b[:, H:2 * H])
                n = np.tanh(a[:, 2 * H:] + r * b[:, 2 * H:])
                h = (1.0 - u) * n + u * h
                out[:, t, :] = h
                sts.append(h)
        layers.append(sts)
        inp = out
    y = np.einsum("bth,oh->bto", inp, W["head.weight"])
    if bias:
        y = y + W["head.bias"]
    states = [[layers[k][t] for k in range(L)] for t in range(T)]
    return y, states


def np_forward(W, x, h0, act, L, bias, cell="elman"):
    """Independent numpy forward (no torch). x [B,T,I], h0 [L][B,H] -> y [B,T,O], states[t][k]."""
    if cell != "elman":
        return np_forward_cell(W, x, h0, L, bias, cell)
    B, T, _ = x.shape
    inp = x
    layers = []
    for k in range(L):
        H = W[f"rnn.weight_hh_l{k}"].shape[0]
        h = np.array(h0[k], dtype=np.float64)
        out = np.zeros((B, T, H))
        for t in range(T):
            z = inp[:, t, :].dot(W[f"rnn.weight_ih_l{k}"].T) + h.dot(W[f"rnn.weight_hh_l{k}"].T)
            if bias:
                z = z + W[f"rnn.bias_ih_l{k}"] + W[f"rnn.bias_hh_l{k}"]
            h = np_act(act, z)
            out[:, t, :] = h
        layers.append(out)
        inp = out
    y = np.einsum("bth,oh->bto", inp, W["head.weight"])
    if bias:
        y = y + W["head.bias"]
    states = [[layers[k][:, t, :] for k in range(L)] for t in range(T)]
    return y, states


def np_loss(task, y, tgt, mask):
    """Pooled masked loss; mask selects supervised elements (regression) / positions (classification)."""
    if task == "regression":
        d = (y - tgt)[mask]
        return float(np.sum(d * d) / d.size)
    z = y[mask]
    lab = tgt[mask]
    zmax = z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z - zmax).sum(axis=1)) + zmax[:, 0]
    return float(np.sum(lse - z[np.arange(len(lab)), lab]) / len(lab))


# ------------------------------------------------------------------ data (SPEC §3, §4) from the files
# (the CSV reader, read_table: common.py)

def windows(T, trunc, stride):
    """TBPTT(truncate, stride) windows of a batch of (padded) length T: (start, prev_end, end).
    The forward pass covers [start, end), the loss [prev_end, end). trunc None = full BPTT."""
    if trunc is None:
        return [(0, 0, T)]
    ends = list(range(stride, T + 1, stride))
    if not ends or ends[-1] != T:
        ends.append(T)
    out, prev = [], 0
    for e in ends:
        out.append((max(0, e - trunc), prev, e))
        prev = e
    return out


def cut(s, a, b):
    return {"id": s["id"], "X": s["X"][a:b], "raw": s["raw"][a:b]}


def sort_classes(labels):
    def isnum(v):
        try:
            return math.isfinite(float(v))
        except ValueError:
            return False
    labels = sorted(set(labels))
    if all(isnum(v) for v in labels):
        return sorted(labels, key=float)
    return sorted(labels)          # code point order (Python str comparison)


class Prepared:
    pass


def prepare(cfg, cfg_dir, mut=frozenset()):
    """Everything the trainer needs, from config + files. `mut`: named mistakes (discrimination checks)."""
    d, task = cfg["data"], cfg["task"]
    pr = Prepared()
    pr.task, pr.long = task, d.get("sequenceColumn") is None
    train = read_table(os.path.join(cfg_dir, d["train"]), cfg)
    if d.get("validation"):
        val = read_table(os.path.join(cfg_dir, d["validation"]), cfg)
    elif d["validationSplit"] > 0:
        f = d["validationSplit"]
        cnt = len(train[0]["X"]) if pr.long else len(train)
        require(abs(f * cnt - math.floor(f * cnt) - 0.5) > 1e-9, "validationSplit lands on .5 (round differs)")
        n = max(1, int(round(f * cnt)))
        require(n < cnt, "validation takes everything")
        if pr.long:
            val, train = [cut(train[0], cnt - n, cnt)], [cut(train[0], 0, cnt - n)]
        else:
            val, train = train[cnt - n:], train[:cnt - n]
    else:
        val = []
    pr.train_seqs, pr.val_seqs = train, val
    O = len(d["targets"])

    # regression targets as floats (nan = empty); classification labels as strings (None = empty)
    def raw_targets(s):
        if task == "regression":
            return np.array([[float(v) if v != "" else np.nan for v in r] for r in s["raw"]], dtype=np.float64).reshape(-1, O)
        return [r[0] if r[0] != "" else None for r in s["raw"]]

    # classes
    pr.classes = None
    if task == "classification":
        labels = [v for s in train for v in raw_targets(s) if v is not None]
        pr.classes = sort_classes(labels)
        if "classes_first_seen" in mut:
            pr.classes = list(dict.fromkeys(labels))
        if "classes_casefold" in mut:
            pr.classes = sorted(set(labels), key=lambda v: (v.lower(), v))
        for s in val:
            for v in raw_targets(s):
                require(v is None or v in pr.classes, f"validation label {v} not in training classes")

    # normalisation: present cells of the training split (before batchify drops its remainder)
    pr.norm = None
    if d["normalize"]:
        src = list(train) + (list(val) if "stats_with_val" in mut else [])
        if "stats_after_drop" in mut and pr.long:
            nb = len(train[0]["X"]) // cfg["training"]["batchSize"]
            src = [cut(train[0], 0, nb * cfg["training"]["batchSize"])]
        ddof = 1 if "ddof1" in mut else 0
        Xall = np.concatenate([s["X"] for s in src], 0)
        im = Xall.mean(0)
        isd = Xall.std(0, ddof=ddof)
        isd = np.where(isd == 0, 1.0, isd)
        pr.norm = {"inputs": {c: (float(im[j]), float(isd[j])) for j, c in enumerate(d["inputs"])}, "targets": {}}
        pr.in_mean, pr.in_std = im, isd
        if task == "regression":
            Yall = np.concatenate([raw_targets(s) for s in src], 0)
            tm, ts = np.zeros(O), np.ones(O)
            for j in range(O):
                colv = Yall[:, j][~np.isnan(Yall[:, j])]
                tm[j] = colv.mean()
                sd = colv.std(ddof=ddof)
                ts[j] = sd if sd != 0 else 1.0
                pr.norm["targets"][d["targets"][j]] = (float(tm[j]), float(ts[j]))
            if "no_target_norm" in mut:
                tm, ts = np.zeros(O), np.ones(O)
            pr.t_mean, pr.t_std = tm, ts
        else:
            pr.t_mean, pr.t_std = None, None
    else:
        pr.in_mean = pr.in_std = pr.t_mean = pr.t_std = None

    shift = d["shift"]
    last_only = cfg["targetsAt"] == "last"
    if last_only:
        require(shift == 0, "this generator does not combine targetsAt: last with shift")

    def seq_arrays(s, do_shift=True):
        """-> X (normalised), tgt (normalised targets / class index), tgt_raw, mask."""
        X = s["X"]
        if pr.in_mean is not None:
            X = (X - pr.in_mean) / pr.in_std
        T = len(X)
        sh = shift if do_shift else 0
        if task == "regression":
            Y = raw_targets(s)
            Ys = np.full_like(Y, np.nan)
            if sh < T:
                Ys[:T - sh] = Y[sh:]
            if last_only:
                Ys[:T - 1] = np.nan
            if "rows_whole" in mut:
                Ys[np.isnan(Ys).any(1)] = np.nan
            mask = ~np.isnan(Ys)
            Yn = Ys if pr.t_mean is None else (Ys - pr.t_mean) / pr.t_std
            return X, np.nan_to_num(Yn), np.nan_to_num(Ys), mask
        lab = raw_targets(s)
        ls = [None] * T
        for t in range(T - sh):
            ls[t] = lab[t + sh]
        if last_only:
            ls = [None] * (T - 1) + [ls[T - 1]]
        idx = np.array([pr.classes.index(v) if v is not None else -1 for v in ls])
        return X, np.maximum(idx, 0), None, idx >= 0

    def pad(items, ids):
        B = len(items)
        T = max(len(it[0]) for it in items)
        I = items[0][0].shape[1]
        b = Prepared()
        b.ids, b.lengths, b.T = ids, [len(it[0]) for it in items], T
        X = np.zeros((B, T, I))
        valid = np.zeros((B, T), bool)
        if task == "regression":
            tg, tr, m = np.zeros((B, T, O)), np.zeros((B, T, O)), np.zeros((B, T, O), bool)
        else:
            tg, tr, m = np.zeros((B, T), np.int64), None, np.zeros((B, T), bool)
        for i, (x, y, yr, mk) in enumerate(items):
            n = len(x)
            X[i, :n], valid[i, :n], tg[i, :n], m[i, :n] = x, True, y, mk
            if tr is not None:
                tr[i, :n] = yr
            if "padding_counted" in mut:
                m[i, n:] = True
        b.Xn, b.tgn, b.tgr, b.maskn, b.validn = X, tg, tr, m, valid
        b.X, b.valid = torch.tensor(X), torch.tensor(valid)
        b.tgt = torch.tensor(tg)
        b.mask = torch.tensor(m)
        return b

    pr.batches = []
    B = cfg["training"]["batchSize"]
    if pr.long:
        s = train[0]
        if "shift_per_stream" in mut:
            X, tg, tr, m = seq_arrays(s, do_shift=False)
        else:
            X, tg, tr, m = seq_arrays(s)
        nb = len(X) // B
        require(nb > 0, "batchify: fewer rows than batchSize")
        streams = []
        for i in range(B):
            sl = slice(i * nb, (i + 1) * nb)
            it = [X[sl], tg[sl], tr[sl] if tr is not None else None, m[sl].copy()]
            if "shift_per_stream" in mut:    # the mistake: shift inside each stream
                sub = cut(s, i * nb, (i + 1) * nb)
                it = list(seq_arrays(sub))
            streams.append(tuple(it))
        pr.batches.append(pad(streams, [f"stream {i}" for i in range(B)]))
        pr.batchify = {"rows": len(X), "streams": B, "steps": nb, "dropped": len(X) - nb * B}
    else:
        for i in range(0, len(train), B):
            grp = train[i:i + B]
            pr.batches.append(pad([seq_arrays(s) for s in grp], [s["id"] for s in grp]))
        pr.batchify = None
    pr.val_batch = pad([seq_arrays(s) for s in val], [s["id"] for s in val]) if val else None
    pr.seq_arrays, pr.pad = seq_arrays, pad
    return pr


# ------------------------------------------------------------------ the trainer (SPEC §1)

def pooled_loss(task, y, tgt, mask, mut):
    if "per_seq_mean" in mut:
        per = []
        for b in range(y.shape[0]):
            if bool(mask[b].any()):
                per.append(pooled_loss(task, y[b:b + 1], tgt[b:b + 1], mask[b:b + 1], frozenset()))
        return torch.stack(per).mean()
    if task == "regression":
        return nn.MSELoss(reduction="mean")(y[mask], tgt[mask])
    return nn.CrossEntropyLoss(reduction="mean")(y[mask], tgt[mask])


def global_norm(params):
    """torch 1.13 clip_grad_norm_'s total norm (norm of the per-tensor 2-norms)."""
    return torch.norm(torch.stack([torch.norm(p.grad.detach(), 2.0) for p in params]), 2.0)


def model_dims(cfg, pr):
    m = cfg["model"]
    return m["layers"], m["hiddenSize"], m["activation"], m["bias"]


def train(cfg, pr, W0, mut=frozenset(), grad_noise=0.0, record=False):
    L, H, act, bias = model_dims(cfg, pr)
    cell = cell_of(cfg)
    tr = cfg["training"]
    names = param_names(L, bias)
    P = {n: torch.tensor(W0[n], dtype=F64).requires_grad_(True) for n in names}
    params = [P[n] for n in names]
    o = tr["optimizer"]

    def make_opt():
        if o["name"] == "sgd":
            mom = 0.0 if "no_momentum" in mut else o["momentum"]
            return torch.optim.SGD(params, lr=o["lr"], momentum=mom)
        return torch.optim.Adam(params, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"])
    opt = make_opt()
    bp = tr["bptt"]
    trunc, stride = (None, None) if bp is None else (bp["truncate"], bp["stride"])
    clip = tr["clip"]
    noise_rs = np.random.RandomState(4242)
    res = Prepared()
    res.updates, res.epochs, res.records, res.snapshots = [], [], [], {}
    res.pre_min, res.val_pre_min = math.inf, math.inf
    res.windows = []
    step = 0
    for epoch in range(1, tr["epochs"] + 1):
        if "adam_reset_epoch" in mut and epoch > 1:
            opt = make_opt()
        losses = []
        for bi, b in enumerate(pr.batches):
            Bn, T = b.X.shape[:2]
            zero = zero_state(cell, Bn, H, L)
            states = {0: zero}
            for (a, p, e) in windows(T, trunc, stride):
                h0 = zero if "reset_state" in mut else states[a]
                if "c_reset_per_window" in mut:      # LSTM: h carried, c zero at every window start
                    h0 = [(hc[0], torch.zeros_like(hc[1])) for hc in h0]
                if "h_reset_per_window" in mut:      # LSTM: c carried, h zero at every window start
                    h0 = [(torch.zeros_like(hc[0]), hc[1]) for hc in h0]
                pre = [] if act == "relu" and cell == "elman" else None
                y, st = t_forward(P, b.X[:, a:e], h0, act, L, bias, valid=b.valid[:, a:e], pre_rec=pre,
                                  cell=cell, mut=mut)
                if pre:
                    res.pre_min = min(res.pre_min, min(pre))
                m = b.mask[:, p:e]
                has = bool(m.any())
                if not has and "empty_window_skipped" in mut:
                    st = [h0] * (e - a)  # the mistake: the state does not move through the window
                if st is not None:
                    for j in range(e - a):
                        if "first_pass_state" in mut and (a + j + 1) in states:
                            continue
                        states[a + j + 1] = [st_map(lambda v: v.detach(), h) for h in st[j]]
                rec = {"epoch": epoch, "batch": bi, "a": a, "p": p, "e": e, "update": False,
                       "W": {n: P[n].detach().numpy().copy() for n in names} if record else None,
                       "h0": [st_map(lambda v: v.numpy().copy(), h) for h in h0] if record else None}
                res.windows.append((epoch, bi, a, p, e, has))
                short = bp is not None and (e - p) < stride
                if not has and "zero_update_on_empty" in mut:
                    opt.zero_grad()
                    for q in params:
                        q.grad = torch.zeros_like(q)
                    opt.step()
                    step += 1
                    res.updates.append((epoch, step, 0.0, 0.0, o["lr"]))
                if not has or ("no_short_update" in mut and short):
                    if record:
                        res.records.append(rec)
                    continue
                loss = pooled_loss(pr.task, y[:, p - a:], b.tgt[:, p:e], m, mut)
                opt.zero_grad()
                loss.backward()
                if grad_noise:
                    with torch.no_grad():
                        for q in params:
                            q.grad.mul_(1 + grad_noise * torch.tensor(noise_rs.uniform(-1, 1, q.shape)))
                if record:
                    rec["grad"] = {n: P[n].grad.detach().numpy().copy() for n in names}
                gnorm = float(global_norm(params))
                clipped = 0
                if clip is not None and "clip_ignored" not in mut:
                    if clip.get("norm") is not None:
                        c = clip["norm"]
                        if "clip_per_tensor" in mut:
                            for q in params:
                                torch.nn.utils.clip_grad_norm_([q], c)
                        elif "pure_clip" in mut:
                            if gnorm > c:
                                with torch.no_grad():
                                    for q in params:
                                        q.grad.mul_(c / gnorm)
                        else:
                            tn = float(torch.nn.utils.clip_grad_norm_(params, c))
                            require(tn == gnorm, "clip_grad_norm_ total norm differs from the logged norm")
                        clipped = int(gnorm > c)
                        rec["margin"] = abs(gnorm - c) / c
                    else:
                        c = clip["value"]
                        g = torch.cat([q.grad.reshape(-1) for q in params]).abs()
                        clipped = int((g > c).sum())
                        rec["margin"] = float((g - c).abs().min())
                        torch.nn.utils.clip_grad_value_(params, c)
                opt.step()
                step += 1
                lv = float(loss)
                losses.append(lv)
                res.updates.append((epoch, step, lv, gnorm, opt.param_groups[0]["lr"]))
                rec.update(update=True, loss=lv, gnorm=gnorm, clipped=clipped, step=step)
                res.records.append(rec)
        require(losses, f"epoch {epoch} made no update")
        vl = None
        if pr.val_batch is not None:
            ev = evaluate(cfg, pr, P, pr.val_batch)
            vl = ev["loss"]
            res.val_pre_min = min(res.val_pre_min, ev["pre_min"])
        res.epochs.append((epoch, sum(losses) / len(losses), vl))
        res.snapshots[epoch] = ({n: P[n].detach().numpy().copy() for n in names}, step)
    res.P = P
    res.W = {n: P[n].detach().numpy().copy() for n in names}
    res.names = names
    return res


def evaluate(cfg, pr, P, b):
    """Pooled loss over every supervised element, each sequence from s_0, no truncation."""
    L, H, act, bias = model_dims(cfg, pr)
    cell = cell_of(cfg)
    Bn = b.X.shape[0]
    pre = [] if act == "relu" and cell == "elman" else None
    with torch.no_grad():
        y, _ = t_forward(P, b.X, zero_state(cell, Bn, H, L), act, L, bias,
                         valid=b.valid, pre_rec=pre, cell=cell)
        loss = float(pooled_loss(pr.task, y, b.tgt, b.mask, frozenset()))
    out = {"loss": loss, "n": int(b.mask.sum()), "y": y.numpy(), "pre_min": min(pre) if pre else math.inf}
    if pr.task == "regression":
        pred = y.numpy()
        if pr.t_mean is not None:
            pred = pred * pr.t_std + pr.t_mean
        d = (pred - b.tgr)[b.maskn]
        mse = float(np.mean(d * d))
        out.update(mse=mse, rmse=math.sqrt(mse), mae=float(np.mean(np.abs(d))))
    else:
        z = y.numpy()[b.maskn]
        acc = float(np.mean(z.argmax(1) == b.tgn[b.maskn]))
        srt = np.sort(torch.softmax(torch.tensor(z), -1).numpy(), 1)
        out.update(accuracy=acc, perplexity=math.exp(loss), gap=float((srt[:, -1] - srt[:, -2]).min()))
    return out


def predict(cfg, pr, P, path, last=False):
    """rnn predict: every sequence of the file from s_0; header and rows as SPEC §2."""
    d = cfg["data"]
    L, H, act, bias = model_dims(cfg, pr)
    cell = cell_of(cfg)
    seqs = read_table(path, cfg, targets=False)
    sc = d.get("sequenceColumn")
    if sc is None:
        require(len(seqs) == 1, "one long sequence")
    header = predict_header(sc, pr.task, d["targets"], pr.classes)
    rows, gap, pre_min, ys = [], math.inf, math.inf, []
    for s in seqs:
        X = s["X"] if pr.in_mean is None else (s["X"] - pr.in_mean) / pr.in_std
        pre = [] if act == "relu" and cell == "elman" else None
        with torch.no_grad():
            y, _ = t_forward(P, torch.tensor(X)[None], zero_state(cell, 1, H, L),
                             act, L, bias, pre_rec=pre, cell=cell)
        y = y[0]
        ys.append((X, y.numpy()))
        if pre:
            pre_min = min(pre_min, min(pre))
        for t in range(len(X)):
            if last and t != len(X) - 1:
                continue
            key = ([s["id"]] if sc else []) + [str(t)]
            if pr.task == "regression":
                v = y[t].numpy()
                if pr.t_mean is not None:
                    v = v * pr.t_std + pr.t_mean
                rows.append(key + [num(u) for u in v])
            else:
                p = torch.softmax(y[t], -1).numpy()
                srt = np.sort(p)
                gap = min(gap, float(srt[-1] - srt[-2]))
                rows.append(key + [pr.classes[int(np.argmax(p))]] + [num(u) for u in p])
    return header, rows, {"gap": gap, "pre_min": pre_min, "ys": ys}


# ------------------------------------------------------------------ self-checks of the reference

def check_windows():
    got = [(a, e) for a, p, e in windows(14, 6, 2)]
    require(got[:4] == [(0, 2), (0, 4), (0, 6), (2, 8)], f"TBPTT(6,2) windows {got}")
    require(got == [(0, 2), (0, 4), (0, 6), (2, 8), (4, 10), (6, 12), (8, 14)], f"TBPTT(6,2) windows {got}")
    require([(a, e) for a, p, e in windows(14, 5, 3)] == [(0, 3), (1, 6), (4, 9), (7, 12), (9, 14)], "TBPTT(5,3)")
    require([(p, e) for a, p, e in windows(10, 4, 4)] == [(0, 4), (4, 8), (8, 10)], "TBPTT(4,4) short last")
    require(windows(7, None, None) == [(0, 0, 7)], "bptt null")
    say("windows: TBPTT(6,2) on 14 steps = [0,2) [0,4) [0,6) [2,8) [4,10) [6,12) [8,14) as SPEC §1; "
        "TBPTT(5,3) = [0,3) [1,6) [4,9) [7,12) [9,14); short last windows kept")


def check_replay(cfg, pr, res):
    """Numpy replay of every window: the carried start state, the window loss, and the gradient
    (central finite differences of the numpy loss, every parameter component)."""
    L, H, act, bias = model_dims(cfg, pr)
    cell = cell_of(cfg)
    task = pr.task
    max_h0 = max_loss = max_fd = 0.0
    n_fd = 0
    cur = None
    for r in res.records:
        b = pr.batches[r["batch"]]
        key = (r["epoch"], r["batch"])
        if key != cur:
            cur = key
            states = {0: np_zero_state(cell, b.X.shape[0], H, L)}
        a, p, e = r["a"], r["p"], r["e"]
        h0 = states[a]
        max_h0 = max(max_h0, max(float(np.abs(u - v).max()) for k in range(L)
                                 for u, v in zip(st_parts(h0[k]), st_parts(r["h0"][k]))))
        x = b.Xn[:, a:e]
        y, st = np_forward(r["W"], x, h0, act, L, bias, cell)
        for j in range(e - a):
            states[a + j + 1] = st[j]
        if not r["update"]:
            continue
        m = b.maskn[:, a:e].copy()
        m[:, :p - a] = False
        tg = b.tgn[:, a:e]
        lo = np_loss(task, y, tg, m)
        max_loss = max(max_loss, abs(lo - r["loss"]) / max(1.0, abs(lo)))
        eps = 1e-5      # round-off ~1e-16*loss/eps, truncation ~eps^2: both far below 1e-6 here
        for n, w in r["W"].items():
            g = r["grad"][n]
            for idx in np.ndindex(w.shape):
                Wp = dict(r["W"])
                wp = w.copy()
                wp[idx] += eps
                Wp[n] = wp
                lp = np_loss(task, np_forward(Wp, x, h0, act, L, bias, cell)[0], tg, m)
                wm = w.copy()
                wm[idx] -= eps
                Wp[n] = wm
                lm = np_loss(task, np_forward(Wp, x, h0, act, L, bias, cell)[0], tg, m)
                fd = (lp - lm) / (2 * eps)
                an = float(g[idx])
                err = abs(an - fd) / max(abs(an), abs(fd), 1e-3)
                max_fd = max(max_fd, err)
                n_fd += 1
    require(max_h0 < 1e-12, f"carried state differs from the numpy replay by {max_h0}")
    require(max_loss < 1e-12, f"window loss differs from numpy by {max_loss}")
    require(max_fd < 1e-6, f"autograd vs finite differences: max rel error {max_fd}")
    return {"max_h0_diff": max_h0, "max_loss_rel_diff": max_loss, "fd_max_rel_err": max_fd, "fd_components": n_fd}


def check_against_nn_rnn(cfg, pr, W):
    """The manual Elman forward equals nn.RNN + nn.Linear loaded with load_state_dict(strict=True)."""
    L, H, act, bias = model_dims(cfg, pr)
    cell = cell_of(cfg)
    if cell == "elman" and act not in ("tanh", "relu"):
        return None
    I, O = W["rnn.weight_ih_l0"].shape[1], W["head.weight"].shape[0]
    rnn, head = torch_modules(cell, I, H, L, O, act, bias)
    rnn, head = rnn.double(), head.double()
    P = {n: torch.tensor(v) for n, v in W.items()}
    load_modules(rnn, head, P)
    worst = 0.0
    for b in pr.batches + ([pr.val_batch] if pr.val_batch is not None else []):
        with torch.no_grad():
            ref = head(rnn(b.X)[0])
            mine, _ = t_forward(P, b.X, zero_state(cell, b.X.shape[0], H, L), act, L, bias, cell=cell)
        worst = max(worst, float((ref - mine).abs().max()))
    if cell != "elman":
        # and from a carried (nonzero) state, the final states too: (h, c) for LSTM
        b = pr.batches[0]
        g = torch.Generator().manual_seed(7)
        st0 = [st_map(lambda v: torch.randn(v.shape, generator=g, dtype=F64) * 0.5, s)
               for s in zero_state(cell, b.X.shape[0], H, L)]
        with torch.no_grad():
            if cell == "lstm":
                out, (hT, cT) = rnn(b.X, (torch.stack([s[0] for s in st0]), torch.stack([s[1] for s in st0])))
                refT = [hT, cT]
            else:
                out, hT = rnn(b.X, torch.stack(st0))
                refT = [hT]
            ref = head(out)
            mine, sts = t_forward(P, b.X, st0, act, L, bias, cell=cell)
        worst = max(worst, float((ref - mine).abs().max()))
        for j, r in enumerate(refT):
            mT = torch.stack([st_parts(s)[j] for s in sts[-1]])
            worst = max(worst, float((r - mT).abs().max()))
    require(worst < 1e-12, f"manual forward vs nn.{type(rnn).__name__}: {worst}")
    return worst


def fingerprint(res):
    """Every number the case's expected files hold (weights, update rows, epoch rows)."""
    vals = [res.W[n].ravel() for n in res.names]
    vals.append(np.array([u[2] for u in res.updates] + [u[3] for u in res.updates]))
    vals.append(np.array([e[1] for e in res.epochs] + [e[2] for e in res.epochs if e[2] is not None]))
    return np.concatenate(vals), [(u[0], u[1]) for u in res.updates]


def differs(res_a, res_b):
    fa, ka = fingerprint(res_a)
    fb, kb = fingerprint(res_b)
    if ka != kb or fa.shape != fb.shape:
        return math.inf
    return max_rel(fa, fb)


# ------------------------------------------------------------------ case assembly

def base_config(**kw):
    """A case's config: every SPEC §3 key (common.full_config), with this generator's fixed choices
    (train data.csv, init.safetensors, shuffle false, float64, output run) and defaults."""
    return full_config(
        seed=kw.get("seed", 1), train="data.csv", validation=kw.get("validation"),
        validationSplit=kw.get("validationSplit", 0), sequenceColumn=kw.get("sequenceColumn"),
        inputs=kw["inputs"], targets=kw["targets"], shift=kw.get("shift", 0), normalize=kw.get("normalize", False),
        task=kw.get("task", "regression"), targetsAt=kw.get("targetsAt", "every"),
        cell=kw.get("cell", "elman"), hiddenSize=kw["hidden"], layers=kw.get("layers", 1),
        activation=kw.get("activation", "tanh"), bias=kw.get("bias", True), init="init.safetensors",
        epochs=kw.get("epochs", 2), batchSize=kw["batchSize"], shuffle=False, dtype="float64", bptt=kw["bptt"],
        optimizer=kw["optimizer"], clip=kw["clip"], out_dir="run")


def ckpt_meta(cfg, pr, epoch, step, with_norm=True):
    meta = checkpoint_meta(cfg, epoch, step)
    if pr is not None and pr.classes is not None:
        meta["classes"] = json.dumps(pr.classes)
    if with_norm and pr is not None and pr.norm is not None:
        # per column (SPEC §5: "JSON of the per-column mean/std")
        meta["normalization"] = normalization_json([*pr.norm["inputs"].items(), *pr.norm["targets"].items()])
    return meta


def run_case(spec, out_root):
    """spec: a generator function(trial) -> case dict. Tries trials until the knife-edge checks pass."""
    last_err = None
    for trial in range(40):
        try:
            case = spec(trial)
            result = build_case(case, out_root)
            say(f"  trial {trial} accepted")
            return result
        except TrialRejected as ex:
            last_err = ex
            say(f"  trial {trial} rejected: {ex}")
    raise CheckFailed(f"{spec.__name__}: no trial passed the knife-edge checks ({last_err})")


def build_case(case, out_root):
    name = case["name"]
    d = fresh_dir(out_root, name)
    cfg = case["config"]
    write_text(os.path.join(d, "config.yaml"), config_yaml(cfg))
    for fn, (header, rows) in case["files"].items():
        write_text(os.path.join(d, fn), csv_text(header, rows))
    W0 = case["init"]
    L, bias = cfg["model"]["layers"], cfg["model"]["bias"]
    names = param_names(L, bias)
    # init metadata as SPEC §5 asks of any checkpoint: format, config, epoch/step 0, and classes /
    # normalization (the training split's, as the reference computes them from the files) when the
    # config has them; `model.init` takes the weights only.
    init_meta = ckpt_meta(cfg, prepare(cfg, d), 0, 0)
    write_safetensors(os.path.join(d, "init.safetensors"), [(n, W0[n]) for n in names], init_meta)

    # ---- the reference, from the files only
    with open(os.path.join(d, "config.yaml"), encoding="utf-8") as f:
        rcfg = yaml.safe_load(f)
    require(rcfg == cfg, "config.yaml does not read back as written")
    Wf, meta = read_safetensors(os.path.join(d, "init.safetensors"))
    Wf = {n: w.astype(np.float64) for n, w in Wf.items()}
    require(list(Wf) == names and all(np.array_equal(Wf[n], W0[n]) for n in names), "init.safetensors round trip")
    pr = prepare(rcfg, d)
    case["check_data"](pr)          # the files give exactly the generator's data
    res = train(rcfg, pr, Wf, record=True)
    notes = {}
    rep = check_replay(rcfg, pr, res)
    notes["selfcheck"] = {k: (float(f"{v:.3g}") if isinstance(v, float) else v) for k, v in rep.items()}
    nnr = check_against_nn_rnn(rcfg, pr, res.W)
    if nnr is not None:
        mod = {"elman": "RNN", "lstm": "LSTM", "gru": "GRU"}[cell_of(rcfg)]
        notes["selfcheck"][f"manual_vs_nn_{mod}"] = float(f"{nnr:.3g}")

    # ---- knife edges
    clip = rcfg["training"]["clip"]
    ups = [r for r in res.records if r["update"]]
    if clip is not None:
        margin = min(r["margin"] for r in ups)
        if "norm" in clip:
            knife(margin >= 0.01, f"a pre-clip norm is within {margin:.2e} (relative) of the threshold")
            act = sum(r["clipped"] for r in ups)
            knife(act >= case.get("min_clipped", 0) * len(ups), f"clip active on only {act}/{len(ups)} updates")
            notes["clip"] = {"threshold": clip["norm"], "active_updates": act, "updates": len(ups),
                             "min_relative_distance_of_norm_to_threshold": float(f"{margin:.3g}")}
        else:
            knife(margin >= 1e-5, f"a gradient component is within {margin:.2e} of the value threshold")
            act = sum(1 for r in ups if r["clipped"])
            knife(act >= case.get("min_clipped", 0) * len(ups), f"value clip active on only {act}/{len(ups)} updates")
            notes["clip"] = {"threshold": clip["value"], "updates_with_clipped_components": act, "updates": len(ups),
                             "clipped_components": sum(r["clipped"] for r in ups),
                             "min_distance_of_a_component_to_threshold": float(f"{margin:.3g}")}
    if rcfg["model"]["activation"] == "relu":
        knife(res.pre_min >= 1e-5, f"relu pre-activation {res.pre_min:.2e} near 0 (training)")
        knife(res.val_pre_min >= 1e-5, f"relu pre-activation {res.val_pre_min:.2e} near 0 (validation)")
        notes["relu_min_abs_preactivation"] = float(f"{min(res.pre_min, res.val_pre_min):.3g}")
    noisy = train(rcfg, pr, Wf, grad_noise=1e-12)
    sens = differs(noisy, res)
    knife(sens < 1e-11, f"1e-12 gradient noise moves the results by {sens:.2e}")
    notes["sensitivity_to_1e-12_gradient_noise"] = float(f"{sens:.3g}")

    # ---- named mistakes must show
    told = {}
    for mname in case["mistakes"]:
        prm = prepare(rcfg, d, frozenset([mname]))
        resm = train(rcfg, prm, Wf, mut=frozenset([mname]))
        diff = differs(resm, res)
        told[mname] = "different update rows" if diff == math.inf else float(f"{diff:.3g}")
        knife(diff > 1e-6, f"mistake {mname} is not visible ({diff:.2e})")
    notes["mistakes_told_apart"] = told

    # ---- expected outputs
    E = rcfg["training"]["epochs"]
    files = {}
    write_safetensors(os.path.join(d, "expected_last.safetensors"), [(n, res.W[n]) for n in names],
                      ckpt_meta(rcfg, pr, E, res.updates[-1][1]))
    files["last"] = "expected_last.safetensors"
    write_text(os.path.join(d, "expected_updates.csv"),
               csv_text(["epoch", "step", "loss", "grad_norm", "lr"],
                        [[str(e), str(s), num(lo), num(g), num(lr)] for e, s, lo, g, lr in res.updates]))
    write_text(os.path.join(d, "expected_epochs.csv"),
               csv_text(["epoch", "train_loss", "val_loss", "seconds"],
                        [[str(e), num(tl), "" if vl is None else num(vl), ""] for e, tl, vl in res.epochs]))
    def meta_expect(epoch, step):
        me = {"format": CKPT_FORMAT, "epoch": str(epoch), "step": str(step),
              "normalization": "present" if pr.norm is not None else "absent"}
        if pr.classes is not None:
            me["classes"] = pr.classes
        return me
    checks = [
        {"command": 0, "file": "run/last.safetensors", "expected": "expected_last.safetensors", "kind": "checkpoint",
         "metadata": meta_expect(E, res.updates[-1][1])},
        {"command": 0, "file": "run/updates.csv", "expected": "expected_updates.csv", "kind": "updates"},
        {"command": 0, "file": "run/epochs.csv", "expected": "expected_epochs.csv", "kind": "epochs"},
    ]
    if pr.val_batch is not None:
        vls = [e[2] for e in res.epochs]
        best = min(range(len(vls)), key=lambda i: vls[i])
        srt = sorted(vls)
        knife(len(vls) < 2 or (srt[1] - srt[0]) / srt[0] > 1e-6, "validation losses tie")
        Wb, stb = res.snapshots[best + 1]
        write_safetensors(os.path.join(d, "expected_best.safetensors"), [(n, Wb[n]) for n in names],
                          ckpt_meta(rcfg, pr, best + 1, stb))
        checks.append({"command": 0, "file": "run/best.safetensors", "expected": "expected_best.safetensors",
                       "kind": "checkpoint", "metadata": meta_expect(best + 1, stb),
                       "note": f"lowest val_loss: epoch {best + 1}"})
    commands = [["train", "config.yaml", "--out", "run"]]
    P = {n: torch.tensor(res.W[n]) for n in names}
    for ev in case.get("evals", []):
        if ev.get("data"):
            dpr = prepare_eval_data(rcfg, d, pr, ev["data"])
            cmd = ["eval", "run/last.safetensors", "--data", ev["data"], "--json"]
        else:
            dpr = pr.val_batch
            cmd = ["eval", "run/last.safetensors", "--json"]
        out = evaluate(rcfg, pr, P, dpr)
        js = {"loss": out["loss"], "n": out["n"]}
        if pr.task == "regression":
            js.update(mse=out["mse"], rmse=out["rmse"], mae=out["mae"])
            # independent: numpy forward, un-normalised by hand
            yv, _ = np_forward(res.W, dpr.Xn, np_zero_state(cell_of(rcfg), dpr.Xn.shape[0],
                                                            rcfg["model"]["hiddenSize"], L),
                               rcfg["model"]["activation"], L, bias, cell_of(rcfg))
            require(abs(np_loss("regression", yv, dpr.tgn, dpr.maskn) - out["loss"]) < 1e-12, "eval loss vs numpy")
        else:
            js.update(accuracy=out["accuracy"], perplexity=out["perplexity"])
            knife(out["gap"] >= 1e-4, f"eval arg-max gap {out['gap']:.2e}")
            yv, _ = np_forward(res.W, dpr.Xn, np_zero_state(cell_of(rcfg), dpr.Xn.shape[0],
                                                            rcfg["model"]["hiddenSize"], L),
                               rcfg["model"]["activation"], L, bias, cell_of(rcfg))
            require(abs(np_loss("classification", yv, dpr.tgn, dpr.maskn) - out["loss"]) < 1e-12, "eval loss vs numpy")
        if rcfg["model"]["activation"] == "relu":
            knife(out["pre_min"] >= 1e-5, "relu pre-activation near 0 (eval)")
        fn = ev["file"]
        write_text(os.path.join(d, fn), json.dumps(js, indent=2) + "\n")
        commands.append(cmd)
        checks.append({"command": len(commands) - 1, "stdout": True, "expected": fn, "kind": "json",
                       "exact": ["n"]})
    for pv in case.get("predicts", []):
        header, rows, info = predict(rcfg, pr, P, os.path.join(d, pv["data"]), last=pv.get("last", False))
        for X, y in info["ys"]:
            yn, _ = np_forward(res.W, X[None], np_zero_state(cell_of(rcfg), 1, rcfg["model"]["hiddenSize"], L),
                               rcfg["model"]["activation"], L, bias, cell_of(rcfg))
            require(np.abs(yn[0] - y).max() < 1e-12, "predict vs numpy forward")
        if pr.task == "classification":
            knife(info["gap"] >= 1e-4, f"predict arg-max gap {info['gap']:.2e}")
        if rcfg["model"]["activation"] == "relu":
            knife(info["pre_min"] >= 1e-5, "relu pre-activation near 0 (predict)")
        write_text(os.path.join(d, pv["file"]), csv_text(header, rows))
        cmd = ["predict", "run/last.safetensors", "--data", pv["data"]] + (["--last"] if pv.get("last") else [])
        commands.append(cmd)
        keys = header[:2] if rcfg["data"]["sequenceColumn"] else header[:1]
        if pr.task == "classification":
            keys = keys + [header[len(keys)]]
        checks.append({"command": len(commands) - 1, "stdout": True, "expected": pv["file"], "kind": "csv",
                       "keys": keys})

    # ---- notes and case.json
    notes["updates_per_epoch"] = [sum(1 for u in res.updates if u[0] == e) for e in range(1, E + 1)]
    notes["windows"] = describe_windows(rcfg, pr, res)
    if pr.batchify:
        notes["batchify"] = pr.batchify
    if pr.norm is not None:
        notes["normalization"] = {k: {c: {"mean": m, "std": s} for c, (m, s) in v.items()}
                                  for k, v in pr.norm.items() if v}
    if pr.classes is not None:
        notes["classes"] = pr.classes
    if pr.val_batch is not None:
        notes["validation"] = {"sequences": [i if i is not None else "tail of the series" for i in pr.val_batch.ids],
                               "lengths": pr.val_batch.lengths,
                               "supervised_elements": int(pr.val_batch.mask.sum())}
    notes.update(case.get("notes", {}))
    cj = {"name": name, "about": case["about"], "commands": commands, "checks": checks, "tol": TOL,
          "compare": "numbers: |got - expected| <= tol * (1 + |expected|); epoch, step, t, n, ids and class "
                     "names exactly; checkpoint: every expected rnn.*/head.* tensor (F64, same shape), no other "
                     "rnn.*/head.* tensor, metadata format/epoch/step (and classes); epochs.csv seconds not compared",
          "notes": notes}
    write_text(os.path.join(d, "case.json"), json.dumps(cj, indent=2) + "\n")
    say(f"  {name}: {len(res.updates)} updates, windows/epoch {notes['updates_per_epoch']}, "
        f"fd max rel err {rep['fd_max_rel_err']:.2e} over {rep['fd_components']} components, "
        f"noise sensitivity {sens:.1e}")
    for k, v in told.items():
        say(f"    mistake {k}: moves results by {v}")
    return cj


def prepare_eval_data(cfg, d, pr, fn):
    """rnn eval --data FILE: every sequence of FILE from s_0 with the checkpoint's stats/classes."""
    seqs = read_table(os.path.join(d, fn), cfg)
    if cfg["data"].get("sequenceColumn") is None:
        require(len(seqs) == 1, "one sequence")
    return pr.pad([pr.seq_arrays(s) for s in seqs], [s["id"] for s in seqs])


def describe_windows(cfg, pr, res):
    out = []
    for (epoch, bi, a, p, e, has) in res.windows:
        if epoch != 1:
            continue
        b = pr.batches[bi]
        ids = ", ".join(str(i) for i in b.ids)
        s = f"batch {bi + 1} ({ids}; padded length {b.T}): forward [{a},{e}), loss [{p},{e})"
        if not has:
            s += " - no supervised element: forward only, no update, no row"
        out.append(s)
    return out


# ------------------------------------------------------------------ the cases

def seq_rows(header, seqs, cols):
    """seqs: list of dict(col -> list of cell strings). -> CSV rows in `header` order."""
    rows = []
    for s in seqs:
        T = len(next(iter(s.values())))
        for t in range(T):
            rows.append([s[c][t] for c in header])
    return rows


def check_seq_data(pr, expect_train, expect_val, inputs, targets, task="regression"):
    """The files, re-read, hold the generator's sequences (ids, order, inputs, targets/empties)."""
    def same(seqs, exp):
        require([s["id"] for s in seqs] == [e["id"] for e in exp], "sequence ids/order")
        for s, e in zip(seqs, exp):
            require(np.array_equal(s["X"], np.array(e["X"])), f"inputs of {e['id']}")
            require(s["raw"] == e["raw"], f"targets of {e['id']}")
    same(pr.train_seqs, expect_train)
    same(pr.val_seqs, expect_val)


def case1(trial):
    """sgd-momentum-normclip"""
    rs = np.random.RandomState(101 + 7 * trial)
    ids = ["k7", "b2", "q11", "a5", "m3", "z1", "c9"]
    lens = [9, 5, 12, 7, 10, 6, 8]
    clips = [0.5, 0.4, 0.6, 0.3, 0.8]
    clip = clips[trial % len(clips)]
    header = ["temp", "unit", "g2", "flow", "noise", "g1", "volt"]
    inputs, targets = ["volt", "temp", "flow"], ["g1", "g2"]
    seqs = []
    for sid, T in zip(ids, lens):
        volt, temp, flow = rs.normal(0, 1, T), rs.normal(0.3, 0.8, T), rs.uniform(-1, 1, T)
        g1, g2, a = np.zeros(T), np.zeros(T), 0.0
        for t in range(T):
            a = 0.6 * a + 0.5 * volt[t] - 0.3 * flow[t]
            g1[t] = a + 0.05 * rs.normal()
            g2[t] = math.tanh(temp[t] + 0.5 * (volt[t - 1] if t else 0.0)) + 0.05 * rs.normal()
        cols = {"unit": [sid] * T, "volt": [cell(v) for v in volt], "temp": [cell(v) for v in temp],
                "flow": [cell(v) for v in flow], "noise": [cell(v, 3) for v in rs.normal(0, 9, T)],
                "g1": [cell(v) for v in g1], "g2": [cell(v) for v in g2]}
        for t in range(T):                       # element-wise empty target cells
            for c in targets:
                if rs.uniform() < 0.12:
                    cols[c][t] = ""
        seqs.append({"id": sid, "cols": cols})
    # batch 2 = (a5, m3, z1), lengths 7, 10, 6, padded 10: steps 4..7 without any target
    for s in seqs[3:6]:
        for t in range(4, min(8, len(s["cols"]["g1"]))):
            s["cols"]["g1"][t] = s["cols"]["g2"][t] = ""
    rows = seq_rows(header, [s["cols"] for s in seqs], header)
    exp = [{"id": s["id"], "X": [[float(s["cols"][c][t]) for c in inputs] for t in range(len(s["cols"]["g1"]))],
            "raw": [[s["cols"][c][t] for c in targets] for t in range(len(s["cols"]["g1"]))]} for s in seqs]
    cfg = base_config(sequenceColumn="unit", inputs=inputs, targets=targets, hidden=4, batchSize=3,
                      bptt={"truncate": 4, "stride": 4}, optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9},
                      clip={"norm": clip}, seed=11)
    W0 = random_init(rs, 3, 4, 1, 2, True)
    return {
        "name": "sgd-momentum-normclip",
        "about": "7 variable-length sequences (ids not sorted, kept in file order) in batches of 3, 3, 1, padded "
                 "and masked; 2 targets with empty cells masked element by element; batch 2's window [4,8) has no "
                 "target at all (forward only: the state moves on, no update, no row); TBPTT truncate = stride = 4 "
                 "with the state carried across windows; batch 2's short last window runs forward over the last 4 steps [6,10) "
                 "from the state the target-less pass computed at step 6, loss on [8,10); pooled masked MSE; SGD "
                 "lr 0.1 momentum 0.9 (state kept across batches and epochs); clip_grad_norm_ active on most "
                 "updates; input columns picked by name from a CSV with an unused column; 2 epochs",
        "config": cfg, "files": {"data.csv": (header, rows)}, "init": W0, "min_clipped": 0.6,
        "check_data": lambda pr: check_seq_data(pr, exp, [], inputs, targets),
        "mistakes": ["per_seq_mean", "reset_state", "no_short_update", "rows_whole", "padding_counted",
                     "clip_per_tensor", "no_momentum", "empty_window_skipped", "zero_update_on_empty", "pure_clip"],
    }


def case2(trial):
    """adam-valueclip-overlap"""
    rs = np.random.RandomState(202 + 13 * trial)
    tr_ids, tr_lens = ["t4", "t1", "t9", "t3", "t7"], [13, 8, 11, 9, 12]
    va_ids, va_lens = ["v2", "v1", "v3"], [7, 10, 6]
    header = ["trace", "a", "b", "r"]
    inputs, targets = ["a", "b"], ["r"]

    def make(sid, T, blanks):
        a, b = rs.uniform(0, 1.5, T), rs.uniform(-1, 1, T)
        r, acc = np.zeros(T), 0.0
        for t in range(T):
            acc = 0.5 * acc + a[t] * (1 + 0.5 * b[t])
            r[t] = acc + 0.05 * rs.normal()
        cols = {"trace": [sid] * T, "a": [cell(v) for v in a], "b": [cell(v) for v in b], "r": [cell(v) for v in r]}
        for t in range(T):
            if rs.uniform() < blanks:
                cols["r"][t] = ""
        return cols
    tr = [make(i, T, 0.1) for i, T in zip(tr_ids, tr_lens)]
    va = [make(i, T, 0.1) for i, T in zip(va_ids, va_lens)]

    def exp(cs):
        return [{"id": c["trace"][0], "X": [[float(c[k][t]) for k in inputs] for t in range(len(c["a"]))],
                 "raw": [[c["r"][t]] for t in range(len(c["a"]))]} for c in cs]
    cfg = base_config(sequenceColumn="trace", inputs=inputs, targets=targets, hidden=5, layers=2,
                      activation="relu", batchSize=3, validation="val.csv",
                      bptt={"truncate": 6, "stride": 2},
                      optimizer={"name": "adam", "lr": 0.02, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
                      clip={"value": 0.05}, seed=5)
    W0 = random_init(rs, 2, 5, 2, 1, True, bias_shift=0.3)
    ex_tr, ex_va = exp(tr), exp(va)
    return {
        "name": "adam-valueclip-overlap",
        "about": "2-layer relu Elman (H 5) on 5 sequences in batches of 3 and 2 with overlapping TBPTT "
                 "(truncate 6, stride 2: windows [0,2) [0,4) [0,6) [2,8) [4,10) [6,12) [7,13), loss on the newest "
                 "2 steps, each pass starting from the state the most recent pass computed at that step, "
                 "detached); Adam lr 0.02 (torch defaults, state kept across epochs); clip_grad_value_ 0.05 "
                 "(active); validation data in val.csv (data.validation): val_loss in epochs.csv, best.safetensors, "
                 "and `rnn eval run/last.safetensors --json` without --data evaluates val.csv; relu "
                 "pre-activations kept >= 1e-5 away from 0",
        "config": cfg, "files": {"data.csv": (header, seq_rows(header, tr, header)),
                                 "val.csv": (header, seq_rows(header, va, header))},
        "init": W0, "min_clipped": 0.5,
        "check_data": lambda pr: check_seq_data(pr, ex_tr, ex_va, inputs, targets),
        "evals": [{"file": "expected_eval.json"}],
        "mistakes": ["per_seq_mean", "reset_state", "first_pass_state", "clip_ignored", "adam_reset_epoch",
                     "no_short_update"],
    }


def case3(trial):
    """sigmoid-nobias-full"""
    rs = np.random.RandomState(303 + 17 * trial)
    ids, lens = ["p3", "p1", "p2", "p5", "p4"], [6, 9, 4, 7, 5]
    header = ["seq", "u", "v", "w"]
    inputs, targets = ["u", "v"], ["w"]
    seqs = []
    for sid, T in zip(ids, lens):
        u, v = rs.normal(0, 1, T), rs.uniform(-1, 1, T)
        w, acc = np.zeros(T), 0.0
        for t in range(T):
            acc = 0.7 * acc + 0.4 * u[t] - 0.2 * v[t]
            w[t] = 1 / (1 + math.exp(-acc)) + 0.03 * rs.normal()
        cols = {"seq": [sid] * T, "u": [cell(x) for x in u], "v": [cell(x) for x in v], "w": [cell(x) for x in w]}
        for t in range(T):
            if rs.uniform() < 0.1:
                cols["w"][t] = ""
        seqs.append(cols)
    ex = [{"id": c["seq"][0], "X": [[float(c[k][t]) for k in inputs] for t in range(len(c["u"]))],
           "raw": [[c["w"][t]] for t in range(len(c["u"]))]} for c in seqs]
    cfg = base_config(sequenceColumn="seq", inputs=inputs, targets=targets, hidden=3, activation="sigmoid",
                      bias=False, batchSize=2, bptt=None, optimizer={"name": "sgd", "lr": 0.5, "momentum": 0.0},
                      clip=None, seed=3)
    W0 = random_init(rs, 2, 3, 1, 1, False, scale=1.5)
    return {
        "name": "sigmoid-nobias-full",
        "about": "sigmoid Elman (H 3) without any bias (model.bias false: no bias tensors in the checkpoint, none "
                 "in the math: s_t = sigmoid(x_t W_x + s_{t-1} W_s), y_t = s_t W_y); full BPTT (bptt null: one "
                 "window per batch); 5 sequences in batches of 2, 2, 1; empty target cells; SGD lr 0.5 without "
                 "momentum; no clipping (grad_norm is still logged)",
        "config": cfg, "files": {"data.csv": (header, seq_rows(header, seqs, header))}, "init": W0,
        "check_data": lambda pr: check_seq_data(pr, ex, [], inputs, targets),
        "mistakes": ["per_seq_mean", "padding_counted"],
    }


def case4(trial):
    """batchify-normalize-shift"""
    rs = np.random.RandomState(404 + 19 * trial)
    N = 104
    t = np.arange(N)
    x = 5 + 2 * np.sin(0.35 * t) + 0.3 * rs.normal(0, 1, N)
    xs = np.array([rounded(v, 4) for v in x])
    y = np.array([rounded(20 + 3 * v + 0.5 * v * v, 4) for v in xs])
    header = ["time", "x", "y"]
    rows = []
    for i in range(N):
        rows.append([str(i), cell(xs[i], 4), "" if i < 2 else cell(y[i], 4)])
    cfg = base_config(inputs=["x"], targets=["y"], hidden=4, batchSize=4, validationSplit=0.1, shift=2,
                      normalize=True, bptt={"truncate": 5, "stride": 5},
                      optimizer={"name": "adam", "lr": 0.05, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
                      clip={"norm": 1.0}, seed=4)
    W0 = random_init(rs, 1, 4, 1, 1, True)
    ntr = 94

    def check(pr):
        require(pr.long and len(pr.train_seqs[0]["X"]) == ntr and len(pr.val_seqs[0]["X"]) == N - ntr, "split sizes")
        require(np.array_equal(pr.train_seqs[0]["X"][:, 0], xs[:ntr]), "train x")
        # stats by hand: present cells of rows 0..93 (y's first two cells are empty)
        mx, sx = xs[:ntr].mean(), xs[:ntr].std()
        my, sy = y[2:ntr].mean(), y[2:ntr].std()
        require(abs(pr.norm["inputs"]["x"][0] - mx) < 1e-12 and abs(pr.norm["inputs"]["x"][1] - sx) < 1e-12, "x stats")
        require(abs(pr.norm["targets"]["y"][0] - my) < 1e-12 and abs(pr.norm["targets"]["y"][1] - sy) < 1e-12, "y stats")
        b = pr.batches[0]
        require(b.X.shape == (4, 23, 1), "batchify shape")
        for i in range(4):      # stream i = rows [23i, 23i+23); target of row r = y[r+2]
            r = np.arange(23 * i, 23 * i + 23)
            require(np.allclose(b.Xn[i, :, 0], (xs[r] - mx) / sx, rtol=0, atol=1e-14), "stream inputs")
            require(b.maskn[i].all(), "every training step has a target (rows 92, 93 dropped)")
            require(np.allclose(b.tgr[i, :, 0], y[r + 2], rtol=0, atol=0), "shifted targets")
        v = pr.val_batch
        require(v.maskn[0, :, 0].tolist() == [True] * 8 + [False] * 2, "validation: last 2 steps have no target")
        require(np.array_equal(v.tgr[0, :8, 0], y[96:104]), "validation targets")
    return {
        "name": "batchify-normalize-shift",
        "about": "one long series (no sequenceColumn, 104 rows of a noisy sine x, y = 20 + 3x + x^2/2 with its "
                 "first 2 cells empty): validationSplit 0.1 holds out the last round(10.4) = 10 rows as one "
                 "validation sequence; normalize: z-score x and y with mean / population std of the 94 training "
                 "rows' present cells (before batchify drops 94 - 4*23 = 2 rows); shift 2 (input at t, target y "
                 "at t+2); batchify into 4 streams of 23 steps trained as one batch with the state carried across "
                 "windows (TBPTT 5/5; the short last window runs forward over [18,23), loss on [20,23)), s_0 at each epoch start; Adam lr 0.05; clip norm "
                 "1.0; losses in normalised units; eval (held-out tail, no --data) with mse/rmse/mae in y's units; "
                 "predict over the whole file as one sequence from s_0 (t = row index, pred_y in y's units)",
        "config": cfg, "files": {"data.csv": (header, rows)}, "init": W0, "min_clipped": 0.2,
        "check_data": check,
        "evals": [{"file": "expected_eval.json"}],
        "predicts": [{"file": "expected_predict.csv", "data": "data.csv"}],
        "mistakes": ["ddof1", "stats_after_drop", "stats_with_val", "shift_per_stream", "reset_state",
                     "no_short_update", "no_target_norm"],
        "notes": {"readings": [
            "the shift pairs rows within the training split and within the held-out tail; rows 92-93 (whose "
            "targets would be rows 94-95) are batchify's dropped remainder, so pairing across the split "
            "boundary gives the same data",
            "y stats: y's present cells of rows 0..93 = y[2..93] = exactly the shifted targets of the training "
            "split, so 'column cells' and 'shifted targets' give the same stats",
            "the validation tail rows 94..103: targets y[96..103] for its first 8 steps, none for the last 2 (n 8)"]},
    }


def case5(trial):
    """classify-strings"""
    rs = np.random.RandomState(505 + 23 * trial)
    ids, lens = ["ann", "lot 4, b", "cy", "bo", "dee", "al"], [8, 6, 10, 7, 9, 5]
    header = ["who", "p", "q", "level"]
    seqs = []
    for sid, T in zip(ids, lens):
        p, q = rs.normal(0, 1, T), rs.normal(0, 1, T)
        cols = {"who": [sid] * T, "p": [cell(v) for v in p], "q": [cell(v) for v in q], "level": []}
        z = 0.0
        for t in range(T):
            z = 0.6 * z + 0.8 * (p[t] - q[t]) + 0.3 * rs.normal()
            cols["level"].append("low" if z < -0.5 else ("high" if z > 0.5 else "mid"))
            if rs.uniform() < 0.12:
                cols["level"][t] = ""
        seqs.append(cols)
    labels = [v for c in seqs for v in c["level"] if v]
    ex = [{"id": c["who"][0], "X": [[float(c[k][t]) for k in ["p", "q"]] for t in range(len(c["p"]))],
           "raw": [[c["level"][t]] for t in range(len(c["p"]))]} for c in seqs]
    knife(list(dict.fromkeys(labels)) != ["high", "low", "mid"], "first-appearance order equals sorted order")
    clips = [1.0, 0.7, 1.4, 0.5]
    cfg = base_config(sequenceColumn="who", inputs=["p", "q"], targets=["level"], task="classification", hidden=4,
                      layers=2, batchSize=3, bptt={"truncate": 3, "stride": 3},
                      optimizer={"name": "sgd", "lr": 0.2, "momentum": 0.5}, clip={"norm": clips[trial % 4]}, seed=9)
    W0 = random_init(rs, 2, 4, 2, 3, True, scale=1.2)

    def check(pr):
        check_seq_data(pr, ex, [], ["p", "q"], ["level"])
        require(pr.classes == ["high", "low", "mid"], f"classes {pr.classes}")
    return {
        "name": "classify-strings",
        "about": "classification with string labels low/mid/high: classes sorted by code point = [high, low, mid] "
                 "(not first appearance), head row k = class k, classes in the checkpoint metadata; targetsAt "
                 "every with empty label cells masked; pooled cross-entropy; 2-layer tanh (H 4); 6 sequences in "
                 "batches of 3 (ids not sorted, one id with a comma and a space: RFC 4180 quoting in data.csv and "
                 "predict's output); TBPTT 3/3; SGD lr 0.2 momentum 0.5; clip norm; eval --data data.csv "
                 "(accuracy, perplexity = exp(loss)); predict with pred_level and p_high, p_low, p_mid",
        "config": cfg, "files": {"data.csv": (header, seq_rows(header, seqs, header))}, "init": W0,
        "min_clipped": 0.3,
        "check_data": check,
        "evals": [{"file": "expected_eval.json", "data": "data.csv"}],
        "predicts": [{"file": "expected_predict.csv", "data": "data.csv"}],
        "mistakes": ["classes_first_seen", "per_seq_mean", "reset_state", "clip_per_tensor", "padding_counted"],
    }


def case6(trial):
    """seqsplit-normalize-shift"""
    rs = np.random.RandomState(606 + 29 * trial)
    ids, lens = ["r10", "07", "r2", "r31", "x5", "r4", "q8", "r6"], [7, 5, 9, 6, 8, 4, 6, 7]
    header = ["run", "s1", "s2", "out"]
    seqs = []
    for sid, T in zip(ids, lens):
        s1, s2 = 50 + 10 * rs.normal(0, 1, T), -3 + 0.2 * rs.normal(0, 1, T)
        o, acc = np.zeros(T), 0.0
        for t in range(T):
            acc = 0.5 * acc + 0.1 * (s1[t] - 50) + 5 * (s2[t] + 3)
            o[t] = 100 + 4 * acc + 0.5 * rs.normal()
        cols = {"run": [sid] * T, "s1": [cell(v, 3) for v in s1], "s2": [cell(v, 4) for v in s2],
                "out": [cell(v, 3) for v in o]}
        cols["out"][0] = ""          # the first cell: no input pairs with it under shift 1
        for t in range(1, T):
            if rs.uniform() < 0.08:
                cols["out"][t] = ""
        seqs.append(cols)
    ex = [{"id": c["run"][0], "X": [[float(c[k][t]) for k in ["s1", "s2"]] for t in range(len(c["s1"]))],
           "raw": [[c["out"][t]] for t in range(len(c["s1"]))]} for c in seqs]
    cfg = base_config(sequenceColumn="run", inputs=["s1", "s2"], targets=["out"], hidden=3, batchSize=4,
                      validationSplit=0.25, shift=1, normalize=True, bptt={"truncate": 3, "stride": 3},
                      optimizer={"name": "sgd", "lr": 0.05, "momentum": 0.3}, clip={"value": 0.2}, seed=6)
    W0 = random_init(rs, 2, 3, 1, 1, True)

    def check(pr):
        check_seq_data(pr, ex[:6], ex[6:], ["s1", "s2"], ["out"])
        X = np.concatenate([np.array(e["X"]) for e in ex[:6]])
        require(np.allclose([pr.norm["inputs"]["s1"][0], pr.norm["inputs"]["s2"][0]], X.mean(0), rtol=0, atol=1e-12)
                and np.allclose([pr.norm["inputs"]["s1"][1], pr.norm["inputs"]["s2"][1]], X.std(0), rtol=0, atol=1e-12),
                "input stats")
        Y = np.array([float(v[0]) for e in ex[:6] for v in e["raw"] if v[0] != ""])
        require(abs(pr.norm["targets"]["out"][0] - Y.mean()) < 1e-12 and abs(pr.norm["targets"]["out"][1] - Y.std()) < 1e-12,
                "target stats")
    return {
        "name": "seqsplit-normalize-shift",
        "about": "validationSplit over sequences: round(0.25 * 8) = 2 last sequences (q8, r6) held out; "
                 "normalize with the 6 training sequences' stats; shift 1 inside each sequence (its last step has "
                 "no target; each sequence's first target cell is empty so column stats = shifted-target stats); "
                 "ids kept verbatim (07 stays 07, not 7) and in file order; batches of 4 and 2; TBPTT 3/3; SGD lr "
                 "0.05 momentum 0.3; clip value 0.2; eval without --data (the held-out sequences, mse/rmse/mae in "
                 "original units); predict --last (each sequence's final step only)",
        "config": cfg, "files": {"data.csv": (header, seq_rows(header, seqs, header))}, "init": W0,
        "min_clipped": 0.3,
        "check_data": check,
        "evals": [{"file": "expected_eval.json"}],
        "predicts": [{"file": "expected_predict.csv", "data": "data.csv"},
                     {"file": "expected_predict_last.csv", "data": "data.csv", "last": True}],
        "mistakes": ["stats_with_val", "ddof1", "per_seq_mean", "reset_state", "clip_ignored", "no_target_norm"],
    }


def case7(trial):
    """lstm-adam-normclip"""
    rs = np.random.RandomState(707 + 31 * trial)
    tr_ids, tr_lens = ["s5", "s2", "s8", "s1", "s9", "s4"], [11, 7, 13, 9, 6, 10]
    va_ids, va_lens = ["v7", "v3"], [9, 6]
    header = ["sid", "u", "w", "y1", "y2"]
    inputs, targets = ["u", "w"], ["y1", "y2"]

    def make(sid, T):
        u, w = rs.normal(0, 1, T), rs.uniform(-1, 1, T)
        y1, y2, mem = np.zeros(T), np.zeros(T), 0.0
        for t in range(T):
            mem = 0.8 * mem + (0.6 * u[t] if w[t] > 0 else 0.0)     # a gated memory
            y1[t] = mem + 0.05 * rs.normal()
            y2[t] = (u[t - 2] if t >= 2 else 0.0) * 0.7 + 0.05 * rs.normal()   # a lag-2 copy
        cols = {"sid": [sid] * T, "u": [cell(v) for v in u], "w": [cell(v) for v in w],
                "y1": [cell(v) for v in y1], "y2": [cell(v) for v in y2]}
        for t in range(T):                       # element-wise empty target cells
            for c in targets:
                if rs.uniform() < 0.1:
                    cols[c][t] = ""
        return cols
    tr = [make(i, T) for i, T in zip(tr_ids, tr_lens)]
    va = [make(i, T) for i, T in zip(va_ids, va_lens)]
    # batch 2 = (s1, s9, s4), padded 10: steps 3..5 without any target, so the window [1,6) (loss
    # [3,6)) is forward-only: (h, c) move on, no update
    for c in tr[3:6]:
        for t in range(3, 6):
            c["y1"][t] = c["y2"][t] = ""

    def exp(cs):
        return [{"id": c["sid"][0], "X": [[float(c[k][t]) for k in inputs] for t in range(len(c["u"]))],
                 "raw": [[c[k][t] for k in targets] for t in range(len(c["u"]))]} for c in cs]
    clips = [0.5, 0.3, 0.8, 0.4, 1.0]
    cfg = base_config(sequenceColumn="sid", inputs=inputs, targets=targets, cell="lstm", hidden=4, layers=2,
                      batchSize=3, validation="val.csv", bptt={"truncate": 5, "stride": 3},
                      optimizer={"name": "adam", "lr": 0.03, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
                      clip={"norm": clips[trial % len(clips)]}, seed=17)
    W0 = random_init(rs, 2, 4, 2, 2, True, cell="lstm")
    ex_tr, ex_va = exp(tr), exp(va)
    return {
        "name": "lstm-adam-normclip",
        "about": "2-layer LSTM (model.cell lstm, H 4; nn.LSTM layout: rnn.weight_ih_l0 [16, 2], weight_hh [16, 4], "
                 "both biases [16], gate rows i|f|g|o) on 6 variable-length sequences in batches of 3, padded and "
                 "masked, 2 targets with empty cells masked element by element; overlapping TBPTT truncate 5 "
                 "stride 3 (windows [0,3) [1,6) [4,9) [7,12) [8,13) for length 13, loss on the newest 3 steps): "
                 "each pass starts from the (h, c) pair the most recent pass computed at its first step, both "
                 "detached, both zero at a sequence start; batch 2's window [1,6) has no target (forward only: "
                 "(h, c) move on, no update, no row); Adam lr 0.03; clip_grad_norm_ active; validation data in "
                 "val.csv: val_loss, best.safetensors, `rnn eval` without --data (val.csv, from zero (h, c)); "
                 "predict over val.csv",
        "config": cfg, "files": {"data.csv": (header, seq_rows(header, tr, header)),
                                 "val.csv": (header, seq_rows(header, va, header))},
        "init": W0, "min_clipped": 0.4,
        "check_data": lambda pr: check_seq_data(pr, ex_tr, ex_va, inputs, targets),
        "evals": [{"file": "expected_eval.json"}],
        "predicts": [{"file": "expected_predict.csv", "data": "val.csv"}],
        "mistakes": ["per_seq_mean", "reset_state", "c_reset_per_window", "h_reset_per_window",
                     "first_pass_state", "gate_swap_if", "gate_swap_go", "no_short_update", "padding_counted",
                     "rows_whole", "clip_per_tensor", "adam_reset_epoch", "empty_window_skipped"],
        "notes": {"readings": [
            "LSTM state: per layer the pair (h, c); a window starts from the pair the most recent pass "
            "computed at its first step, both detached (no gradient into the carried pair); (0, 0) at a "
            "sequence start and for eval/predict",
            "gate rows of weight_ih / weight_hh / biases: [0,H) input i, [H,2H) forget f, [2H,3H) cell g, "
            "[3H,4H) output o (torch.nn.LSTM); c' = f*c + i*g, h' = o*tanh(c'); activation stays tanh"]},
    }


def case8(trial):
    """gru-sgd-valueclip"""
    rs = np.random.RandomState(808 + 37 * trial)
    ids, lens = ["g3", "g10", "g1", "g7", "g2", "g5", "g4"], [9, 6, 11, 7, 10, 5, 8]
    header = ["run", "a", "b", "trend"]
    seqs = []
    for sid, T in zip(ids, lens):
        a, b = rs.normal(0, 1, T), rs.normal(0, 1, T)
        cols = {"run": [sid] * T, "a": [cell(v) for v in a], "b": [cell(v) for v in b], "trend": []}
        z = 0.0
        for t in range(T):
            z = 0.7 * z + 0.9 * (a[t] - 0.5 * b[t]) + 0.3 * rs.normal()
            cols["trend"].append("Up" if z > 0.6 else ("down" if z < -0.6 else "flat"))
            if rs.uniform() < 0.12:
                cols["trend"][t] = ""
        seqs.append(cols)
    labels = [v for c in seqs for v in c["trend"] if v]
    ex = [{"id": c["run"][0], "X": [[float(c[k][t]) for k in ["a", "b"]] for t in range(len(c["a"]))],
           "raw": [[c["trend"][t]] for t in range(len(c["a"]))]} for c in seqs]
    knife(sorted(set(labels)) == ["Up", "down", "flat"], "all three classes present")
    knife(list(dict.fromkeys(labels)) != ["Up", "down", "flat"], "first-appearance order equals sorted order")
    clips = [0.05, 0.08, 0.03, 0.1]
    cfg = base_config(sequenceColumn="run", inputs=["a", "b"], targets=["trend"], task="classification",
                      cell="gru", hidden=5, layers=1, batchSize=3, bptt={"truncate": 4, "stride": 4},
                      optimizer={"name": "sgd", "lr": 0.3, "momentum": 0.7}, clip={"value": clips[trial % 4]},
                      seed=8)
    W0 = random_init(rs, 2, 5, 1, 3, True, cell="gru")

    def check(pr):
        check_seq_data(pr, ex, [], ["a", "b"], ["trend"])
        require(pr.classes == ["Up", "down", "flat"], f"classes {pr.classes}")
    return {
        "name": "gru-sgd-valueclip",
        "about": "1-layer GRU (model.cell gru, H 5; nn.GRU layout: rnn.weight_ih_l0 [15, 2], weight_hh [15, 5], "
                 "both biases [15], gate rows r|z|n; n = tanh(x W_in^T + b_in + r*(h W_hn^T + b_hn)), "
                 "h' = (1-z)*n + z*h) classifying string labels Up/down/flat: classes by code point = [Up, down, "
                 "flat] (not case-folded, not first appearance); empty label cells masked; 7 sequences in "
                 "batches of 3, 3, 1 (padded 11, 10, 8); TBPTT truncate = stride = 4 (the short last windows "
                 "run forward over the last 4 steps, loss on the rest); SGD lr 0.3 momentum 0.7; "
                 "clip_grad_value_ active; eval --data data.csv; predict with pred_trend and p_Up, p_down, p_flat",
        "config": cfg, "files": {"data.csv": (header, seq_rows(header, seqs, header))}, "init": W0,
        "min_clipped": 0.5,
        "check_data": check,
        "evals": [{"file": "expected_eval.json", "data": "data.csv"}],
        "predicts": [{"file": "expected_predict.csv", "data": "data.csv"}],
        "mistakes": ["classes_first_seen", "classes_casefold", "per_seq_mean", "reset_state",
                     "gru_r_outside_bias", "gru_r_before_matmul", "gru_z_swapped", "gate_swap_rz",
                     "clip_ignored", "no_momentum", "padding_counted", "no_short_update"],
        "notes": {"readings": [
            "gate rows of weight_ih / weight_hh / biases: [0,H) reset r, [H,2H) update z, [2H,3H) new n "
            "(torch.nn.GRU); r multiplies (h W_hn^T + b_hn), bias included; activation stays tanh"]},
    }



def case9(trial):
    """gru-adam-normclip"""
    rs = np.random.RandomState(909 + 41 * trial)
    tr_ids, tr_lens = ["m4", "m12", "m7", "m1", "m9", "m3"], [10, 7, 11, 9, 13, 6]
    va_ids, va_lens = ["e5", "e2", "e8"], [8, 11, 5]
    header = ["trip", "p", "q", "z1", "z2"]
    inputs, targets = ["p", "q"], ["z1", "z2"]

    def make(sid, T):
        p, q = rs.normal(0, 1, T), rs.uniform(-1, 1, T)
        z1, z2, lvl = np.zeros(T), np.zeros(T), 0.0
        for t in range(T):
            keep = 1 / (1 + math.exp(-3 * q[t]))                 # a GRU-like gated level
            lvl = keep * lvl + (1 - keep) * math.tanh(p[t])
            z1[t] = lvl + 0.05 * rs.normal()
            z2[t] = 0.6 * (p[t - 1] if t >= 1 else 0.0) - 0.3 * q[t] + 0.05 * rs.normal()   # a lag-1 mix
        cols = {"trip": [sid] * T, "p": [cell(v) for v in p], "q": [cell(v) for v in q],
                "z1": [cell(v) for v in z1], "z2": [cell(v) for v in z2]}
        for t in range(T):                       # element-wise empty target cells; z1 is kept at the
            for c in targets:                    # last step (so the short last windows are supervised)
                if rs.uniform() < 0.1 and (t < T - 1 or c == "z2"):
                    cols[c][t] = ""
        return cols
    tr = [make(i, T) for i, T in zip(tr_ids, tr_lens)]
    va = [make(i, T) for i, T in zip(va_ids, va_lens)]
    # batch 2 = (m1, m9, m3), padded 13: steps 6..8 without any target, so the window [4,9) (loss
    # [6,9)) is forward-only: h moves on, no update; the next window [7,12) starts from the state
    # that forward-only pass computed at step 7
    for c in tr[3:6]:
        for t in range(6, min(9, len(c["z1"]))):
            c["z1"][t] = c["z2"][t] = ""

    def exp(cs):
        return [{"id": c["trip"][0], "X": [[float(c[k][t]) for k in inputs] for t in range(len(c["p"]))],
                 "raw": [[c[k][t] for k in targets] for t in range(len(c["p"]))]} for c in cs]
    clips = [0.4, 0.6, 0.3, 0.8, 0.5]
    cfg = base_config(sequenceColumn="trip", inputs=inputs, targets=targets, cell="gru", hidden=4, layers=2,
                      batchSize=3, validation="val.csv", bptt={"truncate": 5, "stride": 3},
                      optimizer={"name": "adam", "lr": 0.03, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
                      clip={"norm": clips[trial % len(clips)]}, seed=19)
    W0 = random_init(rs, 2, 4, 2, 2, True, cell="gru")
    ex_tr, ex_va = exp(tr), exp(va)

    def check(pr):
        check_seq_data(pr, ex_tr, ex_va, inputs, targets)
        b = pr.batches[1]
        require(b.T == 13 and not b.maskn[:, 6:9].any(), "batch 2: no target on steps 6..8")
        require(pr.batches[0].T == 11, "batch 1 padded to 11")
        for bt in pr.batches:                    # the short last window [.., T) has a target
            require(bt.maskn[:, -1].any(), "a batch's last step has no target")
    return {
        "name": "gru-adam-normclip",
        "about": "2-layer GRU (model.cell gru, H 4; nn.GRU layout: rnn.weight_ih_l0 [12, 2], weight_ih_l1 [12, 4], "
                 "weight_hh [12, 4], both biases [12], gate rows r|z|n; n = tanh(x W_in^T + b_in + r*(h W_hn^T + "
                 "b_hn)), h' = (1-z)*n + z*h) on 6 variable-length sequences in batches of 3 (padded 11 and 13), "
                 "masked, 2 targets with empty cells masked element by element; overlapping TBPTT truncate 5 "
                 "stride 3 (length 11: [0,3) [1,6) [4,9) [6,11) loss [9,11); length 13: [0,3) [1,6) [4,9) [7,12) "
                 "[8,13) loss [12,13)): each pass starts from the h the most recent pass computed at its first "
                 "step, detached, zero at a sequence start; batch 2's window [4,9) has no target (forward only: h "
                 "moves on, no update, no row; [7,12) starts from its state at step 7); Adam lr 0.03 (torch "
                 "defaults); clip_grad_norm_ active on some updates; validation data in val.csv: val_loss, "
                 "best.safetensors, `rnn eval` without --data (val.csv, from zero h); predict over val.csv",
        "config": cfg, "files": {"data.csv": (header, seq_rows(header, tr, header)),
                                 "val.csv": (header, seq_rows(header, va, header))},
        "init": W0, "min_clipped": 0.3,
        "check_data": check,
        "evals": [{"file": "expected_eval.json"}],
        "predicts": [{"file": "expected_predict.csv", "data": "val.csv"}],
        "mistakes": ["per_seq_mean", "reset_state", "first_pass_state", "gru_r_outside_bias",
                     "gru_r_before_matmul", "gru_z_swapped", "gate_swap_rz", "no_short_update", "padding_counted",
                     "rows_whole", "clip_per_tensor", "clip_ignored", "adam_reset_epoch", "empty_window_skipped",
                     "zero_update_on_empty"],
        "notes": {"readings": [
            "GRU state: per layer h; a window starts from the h the most recent pass computed at its first "
            "step, detached; zero at a sequence start and for eval/predict",
            "gate rows of weight_ih / weight_hh / biases: [0,H) reset r, [H,2H) update z, [2H,3H) new n "
            "(torch.nn.GRU); r multiplies (h W_hn^T + b_hn), bias included; activation stays tanh"]},
    }


CASES = [case1, case2, case3, case4, case5, case6, case7, case8, case9]


README_HEAD = """# Golden training cases (`rnn train`, `eval`, `predict` against PyTorch)

Generated by `scripts/golden/make_train_fixtures.py` (an independent PyTorch 1.13 float64 reference of
SPEC §1-§5); do not edit by hand, rerun the script (`/usr/bin/python3 scripts/golden/make_train_fixtures.py`;
deterministic, byte-identical on a rerun).

Each folder holds the inputs (`config.yaml`, `data.csv`, sometimes `val.csv`, `init.safetensors`) and
what `rnn` must produce, and `case.json`:

- `commands`: the `rnn` argument lists, run in the case folder (a copy of it), in order:
  always `["train","config.yaml","--out","run"]` first;
- `checks`: which output goes with which expected file: `{"command": i, "file": "run/..."}` (a file the
  command writes) or `{"command": i, "stdout": true}` (what it prints), and `expected`, `kind`
  (`checkpoint` | `updates` | `epochs` | `json` | `csv`), `keys` (CSV columns compared exactly),
  `exact` (JSON keys compared exactly), `metadata` (checkpoint metadata: `format`, `epoch`, `step`
  as strings, `classes`, and whether `normalization` is present);
- `tol`: numbers compare as `|got - expected| <= tol * (1 + |expected|)`; epoch, step, t, n, ids and
  class names exactly; `seconds` in epochs.csv is not compared (empty in the expected file); an empty
  `val_loss` means none;
- `notes`: what the reference computed on the way (windows of epoch 1, updates per epoch, clip activity
  and the distance of every norm / component from the threshold, normalisation stats, classes, the
  validation set, the self-check figures, and how far each named mistake moves the results) so a failing
  test can tell which stage is wrong.

Expected files: `expected_last.safetensors` (weights after the last epoch; F64; metadata format,
config, epoch, step, classes, normalization), `expected_best.safetensors` (cases with validation data:
the epoch with the lowest val_loss), `expected_updates.csv` (`epoch,step,loss,grad_norm,lr`, one row
per update, grad_norm before clipping), `expected_epochs.csv` (`epoch,train_loss,val_loss,seconds`),
`expected_eval.json` (`rnn eval ... --json`), `expected_predict*.csv` (`rnn predict ...`). Numbers are
printed round-trip (Python repr). Only `rnn.*` / `head.*` tensors of the checkpoints are meant to be
compared (plus metadata `format`, `epoch`, `step`, `classes`); the expected files store
`normalization` as `{"<column>": {"mean": m, "std": s}, ...}` (inputs and regression targets).

Every case: `shuffle: false`, `dtype: float64`, 2 epochs, `model.init: init.safetensors`, every config
key written out (`validation: null`, `sequenceColumn: null` where unused).

`scripts/golden/check_torch_load.py <ckpt> <data.csv> [<config>]` loads a checkpoint written by `rnn`
into `nn.RNN` + `nn.Linear` (`load_state_dict(strict=True)`) and prints predictions in `rnn predict`'s
layout, to diff by hand against `rnn predict`.

## Readings of SPEC the reference makes

- TBPTT(truncate k2, stride k1): updates end at k1, 2k1, ... and at the padded batch length; the
  window of the update ending at e is [max(0, e-k2), e), started from the state the most recent pass
  computed at its first step (detached); the loss covers [previous end, e); a window without a
  supervised element runs forward (its states replace the carried ones) and makes no update, no row.
  So a short last window also runs over the last k2 steps, even when k1 == k2 (SPEC: "a forward pass
  over the last truncate steps"): `sgd-momentum-normclip` batch 2 (length 10, k1 = k2 = 4) ends with
  forward [6,10), loss [8,10), from the state at step 6 left by the target-less pass [4,8). (The
  conformance kit reads it the same way; the `h = h.detach()` recipe would run [8,10) from step 8.)
- Norm clipping is torch's g * min(1, c/(norm + 1e-6)); the pure Pascanu g * c/norm moves the
  results by about 1e-6 here (see `mistakes_told_apart.pure_clip`), so it fails these cases.
- Loss: one pooled mean over every present target cell (regression: each cell of each target column is
  its own element) / present label of the batch's window. Padding is masked.
- `grad_norm`: torch 1.13 `clip_grad_norm_`'s total norm over every parameter, logged also with
  `clip: null` or `clip: {value}`; norm clipping multiplies by min(1, c/(norm+1e-6)).
- Normalisation stats: per input / target column, mean and population std of the column's present
  cells in the rows of the training split (validation held out first; before batchify drops its
  remainder); the cases are built so that "raw column cells" and "cells used as (shifted) targets" are
  the same set, and so that pairing the shift across the split boundary or not gives the same data.
- `shift`: applied inside each sequence (the held-out tail of a long series is its own sequence).
- Classes: from the training split's labels, sorted numerically when all are numbers, else by code
  point; `n` in eval = the number of supervised elements (the cases with eval have one target, so
  positions = elements).
- eval/predict use the checkpoint's normalisation; eval mse/rmse/mae and predict in original units,
  `loss` in normalised units.
- `model.cell: lstm | gru`: `torch.nn.LSTM` / `torch.nn.GRU` equations and tensor layouts (gate rows
  i|f|g|o and r|z|n, both biases); the LSTM carries the pair (h, c) from window to window exactly as the
  Elman state (the most recent pass's, both detached), (0, 0) at a sequence start and in eval/predict.

## Cases
"""


def write_readme(out_root, results):
    parts = [README_HEAD]
    for cj in results:
        n = cj["notes"]
        parts.append(f"### `{cj['name']}`\n\n{cj['about']}.\n")
        parts.append("Commands: " + "; ".join("`rnn " + " ".join(c) + "`" for c in cj["commands"]) + ".\n")
        facts = [f"updates per epoch {n['updates_per_epoch']}"]
        if "clip" in n:
            facts.append("clip " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in n["clip"].items()))
        if "classes" in n:
            facts.append(f"classes {n['classes']}")
        if "batchify" in n:
            facts.append(f"batchify {n['batchify']}")
        facts.append("named mistakes told apart: " + ", ".join(n["mistakes_told_apart"]))
        parts.append("Facts: " + "; ".join(facts) + ".\n")
    write_text(os.path.join(out_root, "README.md"), "\n".join(parts))


def main(argv):
    say(f"torch {torch.__version__}, numpy {np.__version__}")
    check_windows()

    def build(spec, out):
        say(f"case {spec.__doc__.strip()}")
        return run_case(spec, out)
    return run_generator(argv, __doc__.split("\n")[0], DEFAULT_OUT, CASES, lambda s: s.__doc__.strip(), build, write_readme, say)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
