#!/usr/bin/python3
"""Golden categorical-input fixtures for `rnn` (test/golden/categorical/<case>/), made by an independent
PyTorch (float64) reference of SPEC §11 (/work/shared/SPEC.md) on top of §1-§6.

    /usr/bin/python3 scripts/golden/make_categorical_fixtures.py              # (re)write test/golden/categorical/
    /usr/bin/python3 scripts/golden/make_categorical_fixtures.py --out DIR    # elsewhere
    /usr/bin/python3 scripts/golden/make_categorical_fixtures.py --only NAME  # one case

Deterministic (torch.manual_seed per case). Each case (the case.json format of make_train_fixtures.py,
checked by test/golden-categorical.test.ts through test/helpers/golden.ts):
1. writes config.yaml (data.categorical with several columns, some without `size`: SPEC's default
   min(50, (n + 1) // 2)), data.csv (one category cell empty: index 0 in training too), init.safetensors
   (torch's own init: nn.Embedding N(0, 1), nn.RNN / nn.LSTM / nn.GRU and nn.Linear uniform; with
   __metadata__.categories), predict.csv and eval.csv (categories training never saw, and a missing cell);
2. re-reads data.csv and finds each column's categories as SPEC §11 says, written here without rnn's
   code: the distinct (trimmed, present) cell texts of the training rows, sorted numerically when every
   one is a decimal number, else by code point; category k is index k + 1, 0 unseen or missing;
3. trains the reference: an nn.ModuleList of nn.Embedding(n_j + 1, E_j), the layer-0 input
   cat([x_normalised, embed_0(c_0), embed_1(c_1), ...], -1), torch's nn.RNN / nn.LSTM / nn.GRU run one
   step at a time (so every TBPTT window starts from the state the most recent pass computed at its
   first step), nn.Linear; the pooled masked MSE of the window's newest steps; torch.optim.SGD / Adam
   (weight_decay), clip_grad_norm_ over every parameter, the tables included;
4. writes expected_last.safetensors (embed.*, rnn.*, head.*), expected_updates.csv, expected_epochs.csv,
   trained.safetensors (= the reference's last weights, an input of predict and eval),
   expected_predict.csv and expected_eval.json (torch forward of the trained model from s_0);
5. self-checks (exit 1): every window's loss and the carried states equal an independent numpy forward
   (embedding lookups by indexing, the cell equations written out), torch's gradient of the first update
   equals central finite differences of that numpy loss for every component of every table row used,
   the categories read back are the generator's, and a table row is used in training exactly when
   some training cell has its index (row 0: only through the missing cell).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import yaml

import make_train_fixtures as mt  # the §1 reference's TBPTT schedule
from common import (CKPT_FORMAT, REPO, csv_text, fresh_dir, max_rel, num, read_csv, require, run_generator,
                    torch_modules, write_safetensors, write_text)

torch.set_num_threads(1)
F64 = torch.float64
DEFAULT_OUT = os.path.join(REPO, "test", "golden", "categorical")
TOL = 1e-9
DECIMAL = __import__("re").compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def say(msg):
    print(msg, file=sys.stderr)


# ------------------------------------------------------------------ SPEC §11 categories, written here

def sort_categories(texts):
    """SPEC §3's class order: numerically when every text is a decimal number, else by code point."""
    s = sorted(set(texts))
    if all(DECIMAL.match(t) for t in s):
        return sorted(s, key=lambda t: (float(t), t))
    return s


def read_rows(path, cfg, targets=True):
    """The data file -> sequences {id, X [T,I] float, C [T,J] category texts (None: missing), Y [T,O] (NaN: none)}."""
    d = cfg["data"]
    header, body, col = read_csv(path)
    sc = d.get("sequenceColumn")
    cats = [k["column"] for k in d["categorical"]]
    seqs = []
    for row in body:
        sid = row[col[sc]] if sc else None
        if not seqs or seqs[-1]["id"] != sid:
            seqs.append({"id": sid, "X": [], "C": [], "Y": []})
        s = seqs[-1]
        s["X"].append([float(row[col[c]]) for c in d["inputs"]])
        s["C"].append([row[col[c]].strip() or None for c in cats])
        s["Y"].append([float(row[col[c]]) if targets and row[col[c]].strip() else math.nan for c in d["targets"]])
    for s in seqs:
        s["X"], s["Y"] = np.array(s["X"]), np.array(s["Y"])
    return seqs


def indices(seqs, categories, cats):
    """Category texts -> indices k + 1 (0: unseen or missing), per sequence [T, J]."""
    idx = [{t: k + 1 for k, t in enumerate(categories[c])} for c in cats]
    for s in seqs:
        s["K"] = np.array([[idx[j].get(t, 0) if t is not None else 0 for j, t in enumerate(r)] for r in s["C"]], dtype=np.int64)


def stats(seqs, cols):
    """Population mean/std of present cells (SPEC §1), a constant column's std 1."""
    v = np.concatenate(seqs)
    out = []
    for c in range(v.shape[1]):
        a = v[:, c][~np.isnan(v[:, c])]
        m, sd = float(a.mean()), float(a.std())
        out.append((m, sd if sd > 0 else 1.0))
    return out


# ------------------------------------------------------------------ the torch reference

class Ref:
    """embed (nn.ModuleList of nn.Embedding) -> rnn (nn.RNN/LSTM/GRU, one step at a time) -> head (nn.Linear)."""

    def __init__(self, cfg, I, tables, O):
        m = cfg["model"]
        self.cell, self.L, self.H = m["cell"], m["layers"], m["hiddenSize"]
        self.embed = nn.ModuleList([nn.Embedding(v, e) for v, e in tables])
        self.rnn, self.head = torch_modules(self.cell, I + sum(e for _, e in tables), self.H, self.L, O, m["activation"], m["bias"])
        self.embed.double(); self.rnn.double(); self.head.double()

    def named(self):
        out = [(f"embed.{n}", p) for n, p in self.embed.named_parameters()]
        out += [(f"rnn.{n}", p) for n, p in self.rnn.named_parameters()]
        out += [(f"head.{n}", p) for n, p in self.head.named_parameters()]
        return out

    def load(self, W):
        with torch.no_grad():
            for n, p in self.named():
                p.copy_(torch.tensor(W[n], dtype=F64))

    def zero(self, B):
        z = torch.zeros(self.L, B, self.H, dtype=F64)
        return (z, z.clone()) if self.cell == "lstm" else z

    def inp(self, x, k):
        """x [B,T,I] normalised, k [B,T,J] indices -> layer 0's input [B,T,I + sum E]."""
        return torch.cat([x] + [e(k[:, :, j]) for j, e in enumerate(self.embed)], -1)

    def steps(self, x, k, st):
        """From state st over x's steps -> (outputs [B,T,O], the state after each step)."""
        z = self.inp(x, k)
        ys, states = [], []
        for t in range(z.shape[1]):
            o, st = self.rnn(z[:, t:t + 1], st)
            ys.append(self.head(o))
            states.append(st)
        return torch.cat(ys, 1), states


def detach(st):
    return tuple(s.detach() for s in st) if isinstance(st, tuple) else st.detach()


def batch_of(seqs, idx):
    B, T = len(idx), max(seqs[i]["X"].shape[0] for i in idx)
    I, J, O = seqs[idx[0]]["Xn"].shape[1], seqs[idx[0]]["K"].shape[1], seqs[idx[0]]["Yn"].shape[1]
    x, k, y = np.zeros((B, T, I)), np.zeros((B, T, J), dtype=np.int64), np.full((B, T, O), np.nan)
    for b, i in enumerate(idx):
        n = seqs[i]["X"].shape[0]
        x[b, :n], k[b, :n], y[b, :n] = seqs[i]["Xn"], seqs[i]["K"], seqs[i]["Yn"]
    return x, k, y, T


def windows(T, bptt):
    """SPEC §1's TBPTT passes (start, loss start, end): make_train_fixtures' schedule."""
    return mt.windows(T, bptt["truncate"], bptt["stride"]) if bptt else mt.windows(T, None, None)


def np_forward(W, cfg, tables, x, k, st0):
    """numpy, written out: the embeddings by row indexing, the cell's equations, the head. -> outputs, states."""
    m = cfg["model"]
    H, L, cell = m["hiddenSize"], m["layers"], m["cell"]
    sg = lambda v: 1 / (1 + np.exp(-v))
    z = np.concatenate([x] + [W[f"embed.{j}.weight"][k[:, :, j]] for j in range(len(tables))], -1)
    h = [st0[0][l] if cell == "lstm" else st0[l] for l in range(L)]
    c = [st0[1][l] for l in range(L)] if cell == "lstm" else None
    ys, states = [], []
    b = lambda n: W.get(n, 0.0)
    for t in range(z.shape[1]):
        inp = z[:, t]
        for l in range(L):
            gi = inp @ W[f"rnn.weight_ih_l{l}"].T + b(f"rnn.bias_ih_l{l}")
            gh = h[l] @ W[f"rnn.weight_hh_l{l}"].T + b(f"rnn.bias_hh_l{l}")
            if cell == "elman":
                h[l] = np.tanh(gi + gh)
            elif cell == "gru":
                r, u = sg(gi[:, :H] + gh[:, :H]), sg(gi[:, H:2 * H] + gh[:, H:2 * H])
                nn_ = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
                h[l] = (1 - u) * nn_ + u * h[l]
            else:
                g = gi + gh
                i_, f_, g_, o_ = sg(g[:, :H]), sg(g[:, H:2 * H]), np.tanh(g[:, 2 * H:3 * H]), sg(g[:, 3 * H:])
                c[l] = f_ * c[l] + i_ * g_
                h[l] = o_ * np.tanh(c[l])
            inp = h[l]
        ys.append(inp @ W["head.weight"].T + b("head.bias"))
        states.append((np.stack(h), np.stack(c)) if cell == "lstm" else np.stack(h))
    return np.stack(ys, 1), states


def np_loss(W, cfg, tables, x, k, y, st0, lo):
    out, _ = np_forward(W, cfg, tables, x, k, st0)
    a, t = out[:, lo:], y[:, lo:]
    mask = ~np.isnan(t)
    return float(((a - np.nan_to_num(t)) ** 2)[mask].mean())


def as_np(st):
    return tuple(s.detach().numpy() for s in st) if isinstance(st, tuple) else st.detach().numpy()


def train(cfg, seqs, tables, W0):
    """The reference run -> (final weights, update rows, epoch rows)."""
    t = cfg["training"]
    I, O = seqs[0]["Xn"].shape[1], seqs[0]["Yn"].shape[1]
    ref = Ref(cfg, I, tables, O)
    ref.load(W0)
    params = [p for _, p in ref.named()]
    o = t["optimizer"]
    if o["name"] == "sgd":
        opt = torch.optim.SGD(params, lr=o["lr"], momentum=o.get("momentum", 0), weight_decay=o.get("weightDecay", 0))
    else:
        opt = torch.optim.Adam(params, lr=o["lr"], weight_decay=o.get("weightDecay", 0))
    updates, epochs, step, checked = [], [], 0, False
    for epoch in range(1, t["epochs"] + 1):
        losses = []
        for b0 in range(0, len(seqs), t["batchSize"]):
            idx = list(range(b0, min(b0 + t["batchSize"], len(seqs))))
            x, k, y, T = batch_of(seqs, idx)
            xt, kt, yt = torch.tensor(x), torch.tensor(k), torch.tensor(y)
            carried = {0: ref.zero(len(idx))}
            for start, lo, end in windows(T, t["bptt"]):
                st0 = carried[start]
                out, states = ref.steps(xt[:, start:end], kt[:, start:end], st0)
                for s, st in enumerate(states):
                    carried[start + s + 1] = detach(st)
                tgt = yt[:, lo:end]
                mask = ~torch.isnan(tgt)
                if not mask.any():
                    continue
                loss = ((out[:, lo - start:] - torch.nan_to_num(tgt)) ** 2)[mask].mean()
                W = {n: p.detach().numpy().copy() for n, p in ref.named()}
                npl = np_loss(W, cfg, tables, x[:, start:end], k[:, start:end], y[:, start:end], as_np(st0), lo - start)
                require(abs(npl - loss.item()) <= 1e-12 * (1 + abs(npl)), f"window loss torch {loss.item()} vs numpy {npl}")
                opt.zero_grad()
                loss.backward()
                if not checked:  # central differences of the numpy loss, every component of every parameter
                    for n, p in ref.named():
                        g = p.grad.numpy().ravel()
                        for i in range(g.size):
                            Wp = {kk: v.copy() for kk, v in W.items()}; Wm = {kk: v.copy() for kk, v in W.items()}
                            Wp[n].ravel()[i] += 1e-6; Wm[n].ravel()[i] -= 1e-6
                            fd = (np_loss(Wp, cfg, tables, x[:, start:end], k[:, start:end], y[:, start:end], as_np(st0), lo - start)
                                  - np_loss(Wm, cfg, tables, x[:, start:end], k[:, start:end], y[:, start:end], as_np(st0), lo - start)) / 2e-6
                            require(abs(fd - g[i]) <= 1e-6 * max(1.0, abs(fd)), f"{n}[{i}]: torch {g[i]} vs finite difference {fd}")
                    checked = True
                norm = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
                if t.get("clip") and "norm" in t["clip"]:
                    c = t["clip"]["norm"]
                    require(abs(norm - c) > 0.01 * c, f"pre-clip norm {norm} too close to {c}")
                    torch.nn.utils.clip_grad_norm_(params, c)
                opt.step()
                step += 1
                updates.append([epoch, step, loss.item(), norm, o["lr"]])
                losses.append(loss.item())
        epochs.append([epoch, sum(losses) / len(losses)])
    return ref, updates, epochs


def predict(ref, seqs):
    """Each sequence from s_0 -> outputs [T, O] in model units."""
    out = []
    with torch.no_grad():
        for s in seqs:
            y, _ = ref.steps(torch.tensor(s["Xn"])[None], torch.tensor(s["K"])[None], ref.zero(1))
            out.append(y[0].numpy())
    return out


# ------------------------------------------------------------------ cases

STORES = ["kiosk", "Mall", "depot", "Outlet"]
SIZES = ["2", "10", "33"]  # numeric texts: sorted 2, 10, 33 (not by code point)


def make_data(rs, ids, lens, missing_at=None, stores=STORES, sizes=SIZES):
    rows = []
    for sid, n in zip(ids, lens):
        store = stores[rs.integers(len(stores))]
        for t in range(n):
            temp = round(float(rs.normal(15, 5)), 3)
            promo = int(rs.integers(2))
            size = sizes[rs.integers(len(sizes))]
            day = str(t % 7)
            if rs.random() < 0.3:
                store = stores[rs.integers(len(stores))]
            sales = round(0.1 * temp + promo + 0.5 * SIZES.index(size if size in SIZES else "2") + rs.normal(0, 0.3), 4)
            rows.append([sid, store, size, day, num(temp), str(promo), num(sales)])
    if missing_at is not None:
        rows[missing_at][1] = ""
    return rows


HEADER = ["series", "store", "size", "weekday", "temp", "promo", "sales"]

CASES = [
    {
        "name": "gru-three-columns-adam",
        "about": "GRU H 5, inputs [temp, promo] normalised; categorical store (size 3), size (numeric texts, default size), series = the sequence column (default size); a missing store cell; Adam with weight decay; clip norm; TBPTT 4; 2 epochs",
        "cell": "gru", "H": 5, "L": 1, "seed": 11,
        "categorical": [{"column": "store", "size": 3}, {"column": "size"}, {"column": "series"}],
        "optimizer": {"name": "adam", "lr": 0.02, "weightDecay": 0.01}, "clip": {"norm": 0.8},
        "bptt": {"truncate": 4, "stride": 4}, "ids": ["s3", "s10", "s1", "s7", "s2"], "lens": [7, 9, 5, 6, 8],
    },
    {
        "name": "lstm2-weekday-sgd",
        "about": "2-layer LSTM H 3; categorical weekday (default size 4) and store (default size); SGD momentum; full BPTT; 2 epochs",
        "cell": "lstm", "H": 3, "L": 2, "seed": 12,
        "categorical": [{"column": "weekday"}, {"column": "store"}],
        "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.6}, "clip": None,
        "bptt": None, "ids": ["a", "c", "b", "d"], "lens": [8, 6, 9, 7],
    },
]


def build(case, out_root):
    d = fresh_dir(out_root, case["name"])
    rs = np.random.default_rng(case["seed"])
    torch.manual_seed(case["seed"])
    rows = make_data(rs, case["ids"], case["lens"], missing_at=3)
    write_text(os.path.join(d, "data.csv"), csv_text(HEADER, rows))
    cfg = {
        "seed": case["seed"],
        "data": {"train": "data.csv", "sequenceColumn": "series", "inputs": ["temp", "promo"], "targets": ["sales"],
                 "normalize": True, "categorical": case["categorical"]},
        "task": "regression",
        "model": {"cell": case["cell"], "hiddenSize": case["H"], "layers": case["L"], "init": "init.safetensors"},
        "training": {"epochs": 2, "batchSize": 2, "shuffle": False, "dtype": "float64", "bptt": case["bptt"],
                     "optimizer": case["optimizer"], "clip": case["clip"]},
        "output": {"dir": "run"},
    }
    cfg["model"]["activation"], cfg["model"]["bias"] = "tanh", True
    write_text(os.path.join(d, "config.yaml"), yaml.safe_dump(cfg, sort_keys=False))
    seqs = read_rows(os.path.join(d, "data.csv"), cfg)
    cats = [k["column"] for k in cfg["data"]["categorical"]]
    categories = {c: sort_categories(t for s in seqs for r in s["C"] for t in [r[j]] if t is not None) for j, c in enumerate(cats)}
    if "size" in categories:
        require(categories["size"] == ["2", "10", "33"], f"numeric categories sorted numerically: {categories['size']}")
    if "series" in categories:
        require(categories["series"] == sorted(case["ids"]), "series by code point")
    indices(seqs, categories, cats)
    tables = [(len(categories[k["column"]]) + 1, k.get("size") or min(50, (len(categories[k["column"]]) + 1) // 2)) for k in cfg["data"]["categorical"]]
    sx, sy = stats([s["X"] for s in seqs], 2), stats([s["Y"] for s in seqs], 1)
    for s in seqs:
        s["Xn"] = (s["X"] - [m for m, _ in sx]) / [v for _, v in sx]
        s["Yn"] = (s["Y"] - [m for m, _ in sy]) / [v for _, v in sy]
    norm = json.dumps({c: {"mean": m, "std": v} for c, (m, v) in zip(["temp", "promo", "sales"], sx + sy)}, separators=(",", ":"))
    ref0 = Ref(cfg, 2, tables, 1)
    W0 = {n: p.detach().numpy().copy() for n, p in ref0.named()}
    meta = lambda e, s: {"format": CKPT_FORMAT, "config": json.dumps(cfg, separators=(",", ":")), "epoch": str(e), "step": str(s),
                         "categories": json.dumps(categories, separators=(",", ":"))}
    write_safetensors(os.path.join(d, "init.safetensors"), list(W0.items()), {**meta(0, 0), "normalization": norm}, "F64")
    # Which table rows training reads: exactly the indices of its cells (row 0 through the missing cell).
    used = [set(int(v) for s in seqs for v in s["K"][:, j]) for j in range(len(cats))]
    require(0 in used[cats.index("store")], "the missing store cell reads row 0")
    ref, updates, epochs = train(cfg, seqs, tables, W0)
    Wt = {n: p.detach().numpy().copy() for n, p in ref.named()}
    for j in range(len(cats)):
        moved = {r for r in range(tables[j][0]) if np.any(Wt[f"embed.{j}.weight"][r] != W0[f"embed.{j}.weight"][r])}
        require(moved == used[j] or case["optimizer"].get("weightDecay"), f"embed.{j}: rows moved {moved}, used {used[j]}")
    write_safetensors(os.path.join(d, "expected_last.safetensors"), list(Wt.items()), {**meta(2, len(updates)), "normalization": norm}, "F64")
    write_safetensors(os.path.join(d, "trained.safetensors"), list(Wt.items()), {**meta(2, len(updates)), "normalization": norm}, "F64")
    write_text(os.path.join(d, "expected_updates.csv"), csv_text(["epoch", "step", "loss", "grad_norm", "lr"],
                                                                 [[str(a), str(b), num(c), num(e), num(f)] for a, b, c, e, f in updates]))
    write_text(os.path.join(d, "expected_epochs.csv"), csv_text(["epoch", "train_loss", "val_loss", "seconds"],
                                                                [[str(a), num(b), "", "0"] for a, b in epochs]))
    # predict and eval on other series: unseen stores and sizes (index 0), a missing store cell, unseen series ids.
    prs = np.random.default_rng(case["seed"] + 100)
    other = make_data(prs, ["p2", "p1"], [6, 5], missing_at=2, stores=STORES + ["airport"], sizes=SIZES + ["7"])
    other[0][1], other[4][1], other[7][2] = "airport", "airport", "7"  # some cells training never saw, for sure
    unseen = sum(1 for r in other for j, c in enumerate(cats) if r[HEADER.index(c)] not in categories[c] and r[HEADER.index(c)] != "")
    require(unseen >= 2, "predict data has unseen categories")
    write_text(os.path.join(d, "predict.csv"), csv_text([h for h in HEADER if h != "sales"], [[v for h, v in zip(HEADER, r) if h != "sales"] for r in other]))
    write_text(os.path.join(d, "eval.csv"), csv_text(HEADER, other))
    ps = read_rows(os.path.join(d, "eval.csv"), cfg)
    indices(ps, categories, cats)
    for s in ps:
        s["Xn"] = (s["X"] - [m for m, _ in sx]) / [v for _, v in sx]
    outs = predict(ref, ps)
    my, sdy = sy[0]
    prow, err = [], []
    for s, o in zip(ps, outs):
        Xn, Kn = s["Xn"], s["K"]
        npo, _ = np_forward(Wt, cfg, tables, Xn[None], Kn[None], as_np(ref.zero(1)))
        require(max_rel(npo[0], o) < 1e-12, "predict: torch vs numpy")
        for t in range(len(o)):
            prow.append([s["id"], str(t), num(o[t, 0] * sdy + my)])
            err.append((o[t, 0] * sdy + my - s["Y"][t, 0], o[t, 0] - (s["Y"][t, 0] - my) / sdy))
    write_text(os.path.join(d, "expected_predict.csv"), csv_text(["series", "t", "pred_sales"], prow))
    e = np.array(err)
    ev = {"loss": float((e[:, 1] ** 2).mean()), "n": len(err), "mse": float((e[:, 0] ** 2).mean()),
          "rmse": math.sqrt(float((e[:, 0] ** 2).mean())), "mae": float(np.abs(e[:, 0]).mean())}
    write_text(os.path.join(d, "expected_eval.json"), json.dumps(ev) + "\n")
    checks = [
        {"command": 0, "kind": "checkpoint", "file": "run/last.safetensors", "expected": "expected_last.safetensors",
         "metadata": {"epoch": "2", "step": str(len(updates)), "normalization": "present", "categories": categories}},
        {"command": 0, "kind": "updates", "file": "run/updates.csv", "expected": "expected_updates.csv"},
        {"command": 0, "kind": "epochs", "file": "run/epochs.csv", "expected": "expected_epochs.csv"},
        {"command": 1, "kind": "csv", "stdout": True, "expected": "expected_predict.csv", "keys": ["series", "t"]},
        {"command": 1, "kind": "stderr", "includes": [f"{unseen} categorical cells held a category training never saw"]},
        {"command": 2, "kind": "json", "stdout": True, "expected": "expected_eval.json", "exact": ["n"]},
        {"command": 3, "kind": "json", "stdout": True, "expected": "expected_gradcheck.json", "exact": ["ok"]},
    ]
    write_text(os.path.join(d, "expected_gradcheck.json"), json.dumps({"ok": True}) + "\n")
    c = {"name": case["name"], "about": case["about"], "tol": TOL, "checks": checks, "commands": [
        ["train", "config.yaml", "--out", "run"], ["predict", "trained.safetensors", "--data", "predict.csv"],
        ["eval", "trained.safetensors", "--data", "eval.csv", "--json"], ["grad-check", "config.yaml", "--json"]]}
    write_text(os.path.join(d, "case.json"), json.dumps(c, indent=2) + "\n")
    say(f"  {case['name']}: {len(updates)} updates, categories {categories}, tables {tables}")
    return case["name"]


if __name__ == "__main__":
    sys.exit(run_generator(sys.argv[1:], "golden categorical-input fixtures (SPEC §11)", DEFAULT_OUT, CASES,
                           lambda c: c["name"], build, say=say))
