#!/usr/bin/python3
"""Generate golden fixtures for the core stacked-RNN math (SPEC.md §1, §5): Elman, LSTM, GRU.

Each fixture ``test/fixtures/core/<case>.json`` records ONE forward + backward
pass of a stacked Elman RNN followed by a linear head over one window, computed
by PyTorch autograd in the fixture's dtype: head outputs, final states, the
pooled masked loss, the gradient of that loss for every parameter (PyTorch
names and row-major layouts of ``nn.RNN`` + ``nn.Linear``) and for the
carried-in state h0.

The recurrence is computed with an explicit per-step loop (so that sigmoid and
bias=false are covered); for tanh/relu cases the same weights are also loaded
into ``torch.nn.RNN`` + ``torch.nn.Linear`` and outputs, loss and gradients are
asserted to agree with the loop (1e-12 in float64).

LSTM / GRU cases (``"cell": "lstm" | "gru"``; files without a ``cell`` field are
Elman) follow torch.nn.LSTM / torch.nn.GRU exactly: gate order i,f,g,o and r,z,n,
parameter tensors ``rnn.weight_ih_l{k}`` [G*H, in_k], ``rnn.weight_hh_l{k}``
[G*H, H], ``rnn.bias_ih_l{k}`` / ``rnn.bias_hh_l{k}`` [G*H] (G = 4 for LSTM, 3 for
GRU), ``activation`` is "tanh" (fixed). The loop is written from the documented
equations (LSTM: gates = x W_ih^T + b_ih + h W_hh^T + b_hh split into i,f,g,o;
c' = f*c + i*g; h' = o*tanh(c'). GRU: r, z = sigmoid of the r/z rows of
x W_ih^T + b_ih + h W_hh^T + b_hh; n = tanh(x W_in^T + b_in + r*(h W_hn^T + b_hn));
h' = (1-z)*n + z*h) and checked against the modules (load_state_dict) to 1e-12
in float64, bias=False included. LSTM fixtures also hold the carried cell state
``c0`` [L*B*H] and expect ``cT`` and ``dc0`` (same layout as h0 / hT / dh0).

Run it from the repository root with Debian's PyTorch (python3-torch 1.13):

    /usr/bin/python3 scripts/golden/make_core_fixtures.py

It is deterministic (fixed seeds, one thread): running it again gives
byte-identical files. Arrays are flat, row-major; time-major for x/y/targets
(index ((t*B)+b)*I+i) and layer-major for h0/hT/dh0 (index ((l*B)+b)*H+h).
"""

import json
import os
import sys

import torch
import torch.nn as nn

from common import ACT_T, REPO, load_modules, param_names, param_shapes, torch_modules, write_text

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

OUT_DIR = os.path.join(REPO, "test", "fixtures", "core")

RELU_MARGIN = 1e-3  # no relu pre-activation may lie this close to 0


# --------------------------------------------------------------------------
# case definitions
# --------------------------------------------------------------------------

CASES = [
    dict(name="tanh-1layer-mse", seed=101, activation="tanh", layers=1, bias=True,
         task="regression", O=2, h0="zero", lengths=None, lossStart=0,
         targetMask="none"),
    dict(name="tanh-2layer-mse-carried", seed=102, activation="tanh", layers=2, bias=True,
         task="regression", O=2, h0="carried", lengths=None, lossStart=2,
         targetMask="random"),
    dict(name="relu-1layer-mse-carried", seed=103, activation="relu", layers=1, bias=True,
         task="regression", O=2, h0="carried", lengths=None, lossStart=0,
         targetMask="none"),
    dict(name="relu-2layer-ce", seed=104, activation="relu", layers=2, bias=True,
         task="classification", O=3, h0="zero", lengths=None, lossStart=0,
         targetMask="random"),
    dict(name="sigmoid-2layer-mse-nobias", seed=105, activation="sigmoid", layers=2, bias=False,
         task="regression", O=2, h0="carried", lengths=None, lossStart=0,
         targetMask="none"),
    dict(name="tanh-2layer-ce-padded-carried", seed=106, activation="tanh", layers=2, bias=True,
         task="classification", O=3, h0="carried", lengths=[5, 2, 4], lossStart=0,
         targetMask="none"),
    dict(name="tanh-1layer-ce-nobias-last", seed=107, activation="tanh", layers=1, bias=False,
         task="classification", O=3, h0="zero", lengths=[5, 3, 4], lossStart=0,
         targetMask="last"),
    # extra: padding + lossStart where one sequence (length 2) has no supervised
    # element in [lossStart, T) and contributes nothing to the pooled mean.
    dict(name="tanh-1layer-mse-padded-lossstart", seed=108, activation="tanh", layers=1, bias=True,
         task="regression", O=2, h0="carried", lengths=[5, 2, 4], lossStart=3,
         targetMask="random"),
    # extra: relu, padded, lossStart, classification with carried state
    dict(name="relu-2layer-ce-padded-lossstart", seed=109, activation="relu", layers=2, bias=False,
         task="classification", O=3, h0="carried", lengths=[4, 5, 3], lossStart=1,
         targetMask="random"),
    # float32 copies
    dict(name="tanh-2layer-mse-carried-f32", seed=102, activation="tanh", layers=2, bias=True,
         task="regression", O=2, h0="carried", lengths=None, lossStart=2,
         targetMask="random", dtype="float32"),
    dict(name="relu-2layer-ce-f32", seed=104, activation="relu", layers=2, bias=True,
         task="classification", O=3, h0="zero", lengths=None, lossStart=0,
         targetMask="random", dtype="float32"),
    # LSTM / GRU (these files carry "cell"; the ones above are Elman and have no such field)
    dict(name="lstm-1layer-mse-carried", seed=201, cell="lstm", activation="tanh", layers=1, bias=True,
         task="regression", O=2, h0="carried", lengths=None, lossStart=2,
         targetMask="random"),
    dict(name="lstm-2layer-ce-padded-carried", seed=202, cell="lstm", activation="tanh", layers=2, bias=True,
         task="classification", O=3, h0="carried", lengths=[5, 2, 4], lossStart=0,
         targetMask="none"),
    dict(name="lstm-2layer-mse-nobias", seed=203, cell="lstm", activation="tanh", layers=2, bias=False,
         task="regression", O=2, h0="carried", lengths=None, lossStart=1,
         targetMask="none"),
    dict(name="gru-1layer-mse-carried", seed=204, cell="gru", activation="tanh", layers=1, bias=True,
         task="regression", O=2, h0="carried", lengths=None, lossStart=0,
         targetMask="random"),
    dict(name="gru-2layer-ce-padded-carried", seed=205, cell="gru", activation="tanh", layers=2, bias=True,
         task="classification", O=3, h0="carried", lengths=[4, 5, 2], lossStart=0,
         targetMask="random"),
    dict(name="gru-1layer-ce-nobias-last", seed=206, cell="gru", activation="tanh", layers=1, bias=False,
         task="classification", O=3, h0="zero", lengths=[5, 3, 4], lossStart=0,
         targetMask="last"),
    # float32 copies
    dict(name="lstm-1layer-mse-carried-f32", seed=201, cell="lstm", activation="tanh", layers=1, bias=True,
         task="regression", O=2, h0="carried", lengths=None, lossStart=2,
         targetMask="random", dtype="float32"),
    dict(name="gru-2layer-ce-padded-carried-f32", seed=205, cell="gru", activation="tanh", layers=2, bias=True,
         task="classification", O=3, h0="carried", lengths=[4, 5, 2], lossStart=0,
         targetMask="random", dtype="float32"),
]

I_SIZE, H_SIZE, T_LEN, B_SIZE = 3, 4, 5, 3
W_SCALE = 0.5


# --------------------------------------------------------------------------
# data generation (always in float64, rounded to the case dtype afterwards)
# --------------------------------------------------------------------------

def generate(case, attempt):
    """Random draw for one case; float64 tensors + python-side targets."""
    g = torch.Generator().manual_seed(case["seed"] * 1000 + attempt)
    L, I, H, O, T, B = case["layers"], I_SIZE, H_SIZE, case["O"], T_LEN, B_SIZE
    names = param_names(L, case["bias"])
    shapes = param_shapes(I, H, L, O, case["bias"], case.get("cell", "elman"))
    params = {}
    for n in names:
        params[n] = torch.randn(shapes[n], generator=g, dtype=torch.float64) * W_SCALE
    lengths = list(case["lengths"]) if case["lengths"] is not None else [T] * B
    x = torch.randn(T, B, I, generator=g, dtype=torch.float64)
    for b in range(B):
        x[lengths[b]:, b, :] = 0.0
    if case["h0"] == "carried":
        h0 = torch.randn(L, B, H, generator=g, dtype=torch.float64) * 0.5
        if case["activation"] == "sigmoid":
            h0 = torch.sigmoid(h0 * 2.0)  # a plausible carried sigmoid state in (0,1)
        elif case["activation"] == "relu":
            h0 = h0.abs()  # carried relu states are >= 0
    else:
        h0 = torch.zeros(L, B, H, dtype=torch.float64)
    c0 = None
    if case.get("cell") == "lstm":
        # a carried LSTM cell state is unbounded; the draw comes after h0's (Elman draws unchanged)
        if case["h0"] == "carried":
            c0 = torch.randn(L, B, H, generator=g, dtype=torch.float64) * 1.2
        else:
            c0 = torch.zeros(L, B, H, dtype=torch.float64)

    # target presence mask (before padding / lossStart) -------------------
    if case["task"] == "regression":
        tvals = torch.randn(T, B, O, generator=g, dtype=torch.float64)
        present = torch.ones(T, B, O, dtype=torch.bool)
        if case["targetMask"] == "random":
            present = torch.rand(T, B, O, generator=g, dtype=torch.float64) >= 0.3
        elif case["targetMask"] == "last":
            present[:] = False
            for b in range(B):
                present[lengths[b] - 1, b, :] = True
        for b in range(B):
            present[lengths[b]:, b, :] = False
        targets = []
        for t in range(T):
            for b in range(B):
                for o in range(O):
                    targets.append(float(tvals[t, b, o]) if present[t, b, o] else None)
    else:
        labels = torch.randint(0, O, (T, B), generator=g)
        present = torch.ones(T, B, dtype=torch.bool)
        if case["targetMask"] == "random":
            present = torch.rand(T, B, generator=g, dtype=torch.float64) >= 0.3
        elif case["targetMask"] == "last":
            present[:] = False
            for b in range(B):
                present[lengths[b] - 1, b] = True
        for b in range(B):
            present[lengths[b]:, b] = False
        targets = [int(labels[t, b]) if present[t, b] else -1 for t in range(T) for b in range(B)]
    return params, x, h0, c0, lengths, targets


# --------------------------------------------------------------------------
# the computation
# --------------------------------------------------------------------------

def lstm_gru_forward(case, P, x, h0, c0):
    """Explicit per-step stacked LSTM / GRU (nn.LSTM / nn.GRU's documented equations)
    + linear head. Returns y [T,B,O], hT [L,B,H], cT [L,B,H] (LSTM) or None."""
    L, T, H = case["layers"], x.shape[0], H_SIZE
    cell, bias = case["cell"], case["bias"]
    inp = [x[t] for t in range(T)]
    finals_h, finals_c = [], []
    for k in range(L):
        W_ih, W_hh = P[f"rnn.weight_ih_l{k}"], P[f"rnn.weight_hh_l{k}"]
        h = h0[k]
        c = c0[k] if cell == "lstm" else None
        outs = []
        for t in range(T):
            gi = inp[t] @ W_ih.t()
            if bias:
                gi = gi + P[f"rnn.bias_ih_l{k}"]
            gh = h @ W_hh.t()
            if bias:
                gh = gh + P[f"rnn.bias_hh_l{k}"]
            if cell == "lstm":
                gates = gi + gh                      # x W_ih^T + b_ih + h W_hh^T + b_hh
                i = torch.sigmoid(gates[:, 0 * H:1 * H])
                f = torch.sigmoid(gates[:, 1 * H:2 * H])
                gg = torch.tanh(gates[:, 2 * H:3 * H])
                o = torch.sigmoid(gates[:, 3 * H:4 * H])
                c = f * c + i * gg
                h = o * torch.tanh(c)
            else:
                r = torch.sigmoid(gi[:, 0 * H:1 * H] + gh[:, 0 * H:1 * H])
                z = torch.sigmoid(gi[:, 1 * H:2 * H] + gh[:, 1 * H:2 * H])
                n = torch.tanh(gi[:, 2 * H:3 * H] + r * gh[:, 2 * H:3 * H])   # r * (h W_hn^T + b_hn)
                h = (1 - z) * n + z * h
            outs.append(h)
        finals_h.append(h)
        finals_c.append(c)
        inp = outs
    top = torch.stack(inp)  # [T,B,H]
    y = top @ P["head.weight"].t()
    if bias:
        y = y + P["head.bias"]
    return y, torch.stack(finals_h), (torch.stack(finals_c) if cell == "lstm" else None)


def loop_forward(case, P, x, h0):
    """Explicit per-step stacked Elman RNN + linear head. Returns y [T,B,O],
    hT [L,B,H], and every pre-activation (for the relu margin check)."""
    L, T = case["layers"], x.shape[0]
    inp = [x[t] for t in range(T)]
    finals, preacts = [], []
    for k in range(L):
        W_ih, W_hh = P[f"rnn.weight_ih_l{k}"], P[f"rnn.weight_hh_l{k}"]
        s = h0[k]
        outs = []
        for t in range(T):
            # x_t W_ih^T + b_ih + s_{t-1} W_hh^T + b_hh, summed left to right
            z = inp[t] @ W_ih.t()
            if case["bias"]:
                z = z + P[f"rnn.bias_ih_l{k}"]
            z = z + s @ W_hh.t()
            if case["bias"]:
                z = z + P[f"rnn.bias_hh_l{k}"]
            preacts.append(z)
            s = ACT_T[case["activation"]](z)
            outs.append(s)
        finals.append(s)
        inp = outs
    top = torch.stack(inp)  # [T,B,H]
    y = top @ P["head.weight"].t()
    if case["bias"]:
        y = y + P["head.bias"]
    return y, torch.stack(finals), preacts


def selection(case, lengths, targets, T, B, O):
    """Boolean mask of supervised elements: [T,B,O] (regression) or [T,B]."""
    k = case["lossStart"]
    if case["task"] == "regression":
        m = torch.zeros(T, B, O, dtype=torch.bool)
        for t in range(T):
            for b in range(B):
                for o in range(O):
                    v = targets[(t * B + b) * O + o]
                    m[t, b, o] = t >= k and t < lengths[b] and v is not None
    else:
        m = torch.zeros(T, B, dtype=torch.bool)
        for t in range(T):
            for b in range(B):
                m[t, b] = t >= k and t < lengths[b] and targets[t * B + b] >= 0
    return m


def loss_of(case, y, targets, mask, dtype):
    T, B, O = y.shape
    if case["task"] == "regression":
        tv = torch.tensor([0.0 if v is None else v for v in targets], dtype=dtype).view(T, B, O)
        return nn.MSELoss(reduction="mean")(y[mask], tv[mask])
    lab = torch.tensor(targets, dtype=torch.long).view(T, B)
    return nn.CrossEntropyLoss(reduction="mean")(y[mask], lab[mask])


def module_check(case, P, x, h0, targets, mask, dtype, y_ref, hT_ref, loss_ref, grads_ref, dh0_ref):
    """Same weights in nn.RNN + nn.Linear; outputs, loss and grads must agree."""
    L, I, H, O = case["layers"], I_SIZE, H_SIZE, case["O"]
    rnn, head = torch_modules("elman", I, H, L, O, case["activation"], case["bias"])
    rnn, head = rnn.to(dtype), head.to(dtype)
    load_modules(rnn, head, {n: P[n].detach().clone() for n in P})
    h0m = h0.detach().clone().requires_grad_(True)
    out, hT = rnn(x.transpose(0, 1).contiguous(), h0m)  # [B,T,H]
    y = head(out).transpose(0, 1)  # [T,B,O]
    loss = loss_of(case, y, targets, mask, dtype)
    loss.backward()
    tol = 1e-12 if dtype == torch.float64 else 2e-5

    def close(a, b, what):
        err = (a - b).abs().max().item() if a.numel() else 0.0
        scale = max(1.0, b.abs().max().item() if b.numel() else 0.0)
        assert err <= tol * scale, f"{case['name']}: nn.RNN disagrees on {what}: {err}"

    close(y.detach(), y_ref, "y")
    close(hT.detach(), hT_ref, "hT")
    close(loss.detach(), loss_ref, "loss")
    mods = {"rnn": rnn, "head": head}
    for n, gref in grads_ref.items():
        mod, attr = n.split(".", 1)
        close(getattr(mods[mod], attr).grad, gref, f"grad {n}")
    close(h0m.grad, dh0_ref, "dh0")


def module_check_cell(case, P, x, h0, c0, targets, mask, dtype, y_ref, hT_ref, cT_ref, loss_ref, grads_ref,
                      dh0_ref, dc0_ref):
    """Same weights in nn.LSTM / nn.GRU + nn.Linear; outputs, states, loss and grads must agree."""
    L, I, H, O = case["layers"], I_SIZE, H_SIZE, case["O"]
    rnn, head = torch_modules(case["cell"], I, H, L, O, case["activation"], case["bias"])
    rnn, head = rnn.to(dtype), head.to(dtype)
    load_modules(rnn, head, {n: P[n].detach().clone() for n in P})
    cls = type(rnn)
    h0m = h0.detach().clone().requires_grad_(True)
    if case["cell"] == "lstm":
        c0m = c0.detach().clone().requires_grad_(True)
        out, (hT, cT) = rnn(x.transpose(0, 1).contiguous(), (h0m, c0m))
    else:
        out, hT = rnn(x.transpose(0, 1).contiguous(), h0m)
    y = head(out).transpose(0, 1)  # [T,B,O]
    loss = loss_of(case, y, targets, mask, dtype)
    loss.backward()
    tol = 1e-12 if dtype == torch.float64 else 2e-5
    worst = [0.0]

    def close(a, b, what):
        err = (a - b).abs().max().item() if a.numel() else 0.0
        scale = max(1.0, b.abs().max().item() if b.numel() else 0.0)
        assert err <= tol * scale, f"{case['name']}: nn.{cls.__name__} disagrees on {what}: {err}"
        worst[0] = max(worst[0], err / scale)

    close(y.detach(), y_ref, "y")
    close(hT.detach(), hT_ref, "hT")
    close(loss.detach(), loss_ref, "loss")
    mods = {"rnn": rnn, "head": head}
    for n, gref in grads_ref.items():
        mod, attr = n.split(".", 1)
        close(getattr(mods[mod], attr).grad, gref, f"grad {n}")
    close(h0m.grad, dh0_ref, "dh0")
    if case["cell"] == "lstm":
        close(cT.detach(), cT_ref, "cT")
        close(c0m.grad, dc0_ref, "dc0")
    return worst[0]


def run_cell_case(case):
    """An LSTM / GRU case: explicit loop, checked against nn.LSTM / nn.GRU."""
    dtype = torch.float32 if case.get("dtype", "float64") == "float32" else torch.float64
    T, B, O, L = T_LEN, B_SIZE, case["O"], case["layers"]
    lstm = case["cell"] == "lstm"
    attempt = 0
    while True:
        params64, x64, h064, c064, lengths, targets = generate(case, attempt)
        P = {n: v.to(dtype) for n, v in params64.items()}
        x, h0 = x64.to(dtype), h064.to(dtype)
        c0 = c064.to(dtype) if lstm else None
        if dtype == torch.float32 and case["task"] == "regression":
            targets = [None if v is None else float(torch.tensor(v, dtype=torch.float32)) for v in targets]
        mask = selection(case, lengths, targets, T, B, O)
        if mask.any().item():
            break
        attempt += 1
        assert attempt < 1000, case["name"]

    for v in P.values():
        v.requires_grad_(True)
    h0.requires_grad_(True)
    if lstm:
        c0.requires_grad_(True)
    y, hT, cT = lstm_gru_forward(case, P, x, h0, c0)
    loss = loss_of(case, y, targets, mask, dtype)
    loss.backward()
    grads = {n: P[n].grad.detach().clone() for n in P}
    dh0 = h0.grad.detach().clone()
    dc0 = c0.grad.detach().clone() if lstm else None

    worst = module_check_cell(case, P, x.detach(), h0.detach(), c0.detach() if lstm else None, targets, mask,
                              dtype, y.detach(), hT.detach(), cT.detach() if lstm else None, loss.detach(),
                              grads, dh0, dc0)

    flat = lambda t: t.detach().reshape(-1).tolist()
    names = list(P.keys())
    fx = {
        "name": case["name"],
        "dtype": "float32" if dtype == torch.float32 else "float64",
        "cell": case["cell"],
        "activation": case["activation"],
        "layers": L, "inputSize": I_SIZE, "hiddenSize": H_SIZE, "outputSize": O,
        "bias": case["bias"],
        "task": case["task"],
        "T": T, "B": B,
        "lossStart": case["lossStart"],
        "lengths": lengths,
        "x": flat(x),
        "h0": flat(h0),
    }
    if lstm:
        fx["c0"] = flat(c0)
    fx.update({
        "targets": targets,
        "params": {n: flat(P[n]) for n in names},
        "shapes": {n: list(P[n].shape) for n in names},
    })
    exp = {"y": flat(y), "hT": flat(hT)}
    if lstm:
        exp["cT"] = flat(cT)
    exp.update({"loss": loss.item(), "supervised": int(mask.sum().item()),
                "grads": {n: flat(grads[n]) for n in names}, "dh0": flat(dh0)})
    if lstm:
        exp["dc0"] = flat(dc0)
    fx["expected"] = exp
    return fx, worst


def run_case(case):
    if case.get("cell", "elman") != "elman":
        return run_cell_case(case)
    dtype = torch.float32 if case.get("dtype", "float64") == "float32" else torch.float64
    T, B, O, L = T_LEN, B_SIZE, case["O"], case["layers"]
    attempt = 0
    while True:
        params64, x64, h064, _, lengths, targets = generate(case, attempt)
        # round inputs to the working dtype first
        P = {n: v.to(dtype) for n, v in params64.items()}
        x, h0 = x64.to(dtype), h064.to(dtype)
        if dtype == torch.float32 and case["task"] == "regression":
            targets = [None if v is None else float(torch.tensor(v, dtype=torch.float32)) for v in targets]
        mask = selection(case, lengths, targets, T, B, O)
        ok = mask.any().item()
        if ok and case["activation"] == "relu":
            # The same acceptance test whatever the case's dtype, so a float64
            # case and its float32 twin accept the same draw: pre-activations
            # of the float64 data in float64, and of the float32-rounded data
            # in float32 and in float64, all away from the relu kink.
            variants = [(params64, x64, h064, torch.float64),
                        ({n: v.float() for n, v in params64.items()}, x64.float(), h064.float(), torch.float32),
                        ({n: v.float() for n, v in params64.items()}, x64.float(), h064.float(), torch.float64)]
            for pv, xv, hv, dt in variants:
                with torch.no_grad():
                    _, _, pre = loop_forward(case, {n: v.to(dt) for n, v in pv.items()}, xv.to(dt), hv.to(dt))
                z = torch.stack(pre)
                ok = ok and (z.abs().min().item() > RELU_MARGIN
                             and (z < 0).any().item() and (z > 0).any().item())
        if ok:
            break
        attempt += 1
        assert attempt < 1000, case["name"]

    for v in P.values():
        v.requires_grad_(True)
    h0.requires_grad_(True)
    y, hT, _ = loop_forward(case, P, x, h0)
    loss = loss_of(case, y, targets, mask, dtype)
    loss.backward()
    grads = {n: P[n].grad.detach().clone() for n in P}
    dh0 = h0.grad.detach().clone()

    if case["activation"] in ("tanh", "relu"):
        module_check(case, P, x.detach(), h0.detach(), targets, mask, dtype,
                     y.detach(), hT.detach(), loss.detach(), grads, dh0)

    flat = lambda t: t.detach().reshape(-1).tolist()
    names = list(P.keys())
    return {
        "name": case["name"],
        "dtype": "float32" if dtype == torch.float32 else "float64",
        "activation": case["activation"],
        "layers": L, "inputSize": I_SIZE, "hiddenSize": H_SIZE, "outputSize": O,
        "bias": case["bias"],
        "task": case["task"],
        "T": T, "B": B,
        "lossStart": case["lossStart"],
        "lengths": lengths,
        "x": flat(x),
        "h0": flat(h0),
        "targets": targets,
        "params": {n: flat(P[n]) for n in names},
        "shapes": {n: list(P[n].shape) for n in names},
        "expected": {
            "y": flat(y),
            "hT": flat(hT),
            "loss": loss.item(),
            "supervised": int(mask.sum().item()),
            "grads": {n: flat(grads[n]) for n in names},
            "dh0": flat(dh0),
        },
    }


# --------------------------------------------------------------------------
# output: objects indented, flat arrays on one line; numbers by the json module
# --------------------------------------------------------------------------

def dumps(obj, indent=0):
    pad = "  " * (indent + 1)
    if isinstance(obj, dict):
        items = [f"{pad}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        return "[\n" + ",\n".join(pad + dumps(v, indent + 1) for v in obj) + "\n" + "  " * indent + "]"
    return json.dumps(obj, allow_nan=False, separators=(", ", ": "))


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for case in CASES:
        fx = run_case(case)
        extra = ""
        if isinstance(fx, tuple):
            fx, worst = fx
            extra = f"  vs nn.{case['cell'].upper()}: max rel diff {worst:.2e}"
        path = os.path.join(OUT_DIR, case["name"] + ".json")
        write_text(path, dumps(fx) + "\n")
        print(f"wrote {os.path.relpath(path, REPO)}  loss={fx['expected']['loss']!r}{extra}", file=sys.stderr)
    print(f"torch {torch.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
