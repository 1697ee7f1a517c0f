#!/usr/bin/python3
"""Golden training-control and forecasting fixtures for `rnn` (test/golden/control/<case>/), made by an
independent PyTorch (float64) reference of SPEC §6 and §7 (/work/shared/SPEC.md).

Run from anywhere (needs Debian's python3-torch 1.13, python3-numpy, python3-yaml):

    /usr/bin/python3 scripts/golden/make_control_fixtures.py              # (re)write test/golden/control/
    /usr/bin/python3 scripts/golden/make_control_fixtures.py --out DIR    # write the cases under DIR instead
    /usr/bin/python3 scripts/golden/make_control_fixtures.py --only NAME  # one case (repeatable)

Deterministic: a second run writes byte-identical files (check with
`sha256sum test/golden/control/*/* | sha256sum` before and after, or diff a run with --out).

Training cases (the case.json format of make_train_fixtures.py, checked by test/golden-control.test.ts):
1. writes the inputs: config.yaml (every SPEC §3 key explicit plus the §6 keys the case is about,
   shuffle false, dtype float64, model.init: init.safetensors, output.dir: run), data.csv (and
   val.csv), init.safetensors;
2. re-reads those files (config, with the case's `--set` overrides applied as SPEC §6 reads them;
   CSV with data.missing; checkpoint) and trains the reference on them: the model is torch's own
   nn.RNN / nn.LSTM / nn.GRU + nn.Linear in float64, run one step at a time so that every TBPTT
   window starts from the state carried to its first step; torch.optim.SGD / Adam (weight_decay) /
   AdamW; torch.optim.lr_scheduler.StepLR / CosineAnnealingLR / ReduceLROnPlateau (the real
   classes, stepped once after each epoch's validation, the optimizer's lr set by them);
   Keras-style early stopping; missing input cells filled (ffill / mean / zero) before normalising;
3. writes expected_last.safetensors, expected_updates.csv, expected_epochs.csv (with
   val_mse,val_rmse,val_mae or val_accuracy after `seconds` when there is validation data),
   expected_best.safetensors, expected_eval*.json, expected_predict*.csv, and case.json;
4. self-checks (exit 1 on failure):
   - the data read back equals the generator's, and the filled inputs equal an independent
     vectorised fill of the generator's arrays (training means of the present training cells);
   - epoch 1: every window's loss and carried start state == make_train_fixtures' numpy forward,
     torch's gradients == central finite differences of it (make_train_fixtures.check_replay);
   - every update: the weights torch.optim wrote == a numpy replay of SPEC §6's formulas from the
     clipped gradient and the logged lr (SGD/Adam: g + wd·p; AdamW: p·(1 − lr·wd) first);
   - the lr of every epoch == the closed forms (StepLR, cosine) / an own ReduceLROnPlateau;
     early stopping == a second formulation (Keras' counter order); validation figures == numpy;
   - no knife edges: pre-clip norms >= 1% from the norm threshold, components >= 1e-5 from a value
     threshold, every plateau / early-stopping comparison and the best epoch >= 1e-6 (relative) from a
     tie, arg-max gaps >= 1e-6, 1e-12 relative gradient noise moves every result by < 1e-11;
   - each case's scenario holds (the schedule reduces, early stopping fires before the last epoch, ...)
     and each named mistake (decay before clipping, coupled AdamW, scheduler off by one, no cooldown,
     no minDelta, mean over validation rows too, ...) moves some expected number by > 1e-6.
   A case whose trial fails a knife-edge or scenario check is regenerated with the next trial.
Forecast cases: writes model.safetensors (torch-layout tensors + rnn's metadata, as
make_interop_fixtures.py does) and data.csv, then rolls the model out in torch (SPEC §7) into
expected_forecast*.csv, checked against a numpy forward re-run from s_0 over the extended series;
forecast-refused holds models `rnn forecast` must refuse (exit 2).
"""
import json
import math
import os
import re
import sys
import warnings
from types import SimpleNamespace

import numpy as np
import torch
import yaml

import make_train_fixtures as mt  # the §1-§5 reference: config.yaml writer, TBPTT windows, numpy forward, init
from common import (CKPT_FORMAT, REPO, CheckFailed, cell, checkpoint_meta, csv_text, fresh_dir, full_config,
                    load_modules, max_rel, normalization_json, num, param_names, predict_header,
                    read_safetensors, read_table, require, run_generator, torch_modules, write_safetensors, write_text)

torch.set_num_threads(1)
warnings.filterwarnings("ignore", message=re.escape("Detected call of `lr_scheduler.step()` before"))  # sched_early
F64 = torch.float64
DEFAULT_OUT = os.path.join(REPO, "test", "golden", "control")
TOL = 1e-9
MISSING = ["", "NA", "NaN"]
ADAM = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
say, knife, TrialRejected = mt.say, mt.knife, mt.TrialRejected

MISTAKES = {
    "wd_ignored": "weightDecay left out",
    "wd_before_clip": "sgd/adam: weightDecay·p added to the gradient before clipping",
    "adam_decoupled": "adam's weightDecay applied as AdamW's decoupled decay",
    "adamw_coupled": "adamw as adam with L2 (weightDecay·p added to the gradient)",
    "adamw_no_lr": "adamw: p·(1 − weightDecay), without lr",
    "adamw_decay_after": "adamw: the decay applied after the Adam step",
    "no_schedule": "the schedule left out",
    "sched_early": "the scheduler stepped before the first epoch too (rates one epoch early)",
    "cosine_clamped": "cosine held at etaMin past tMax (torch's goes up again)",
    "plateau_no_cooldown": "plateau without its cooldown",
    "plateau_abs": "plateau threshold absolute instead of relative",
    "plateau_patience_ge": "plateau reduces after patience bad epochs instead of more than patience",
    "plateau_fed_train": "plateau fed train_loss although there is validation data",
    "plateau_min_lr_ignored": "plateau without its minLr",
    "es_no_min_delta": "early stopping with minDelta 0",
    "es_patience_plus1": "early stopping after patience + 1 epochs without improvement",
    "ffill_first_zero": "ffill: 0 (not the training mean) before a sequence's first present cell",
    "fill_mean_with_val": "training mean taken over the validation rows too",
    "stats_after_fill": "normalisation stats taken over the filled inputs, not the present cells",
    "zero_raw": "zero: 0 in original units, then normalised",
    "zero_as_mean": "zero: the training mean (normalize off)",
    "set_ignored": "the --set overrides left out",
    "feed_by_position": "forecast: input j fed the forecast of target j (not of the input's own column)",
}


# ------------------------------------------------------------------ config

def control_config(missing=None, schedule=None, earlyStopping=None, **kw):
    """A case's config: make_train_fixtures.base_config's (every SPEC §3 key, shuffle false, float64,
    init.safetensors, output run) plus the SPEC §6 keys the case uses."""
    cfg = mt.base_config(**kw)
    if missing is not None:
        cfg["data"]["missing"] = missing
    if schedule is not None:
        cfg["training"]["schedule"] = schedule
    if earlyStopping is not None:
        cfg["training"]["earlyStopping"] = earlyStopping
    return cfg


def apply_set(cfg, assignments):
    """`--set key=value` (SPEC §6): the value read as YAML, put at the key's dotted path."""
    cfg = json.loads(json.dumps(cfg))
    for a in assignments:
        key, _, text = a.partition("=")
        *path, last = key.split(".")
        node = cfg
        for k in path:
            node = node[k]
        require(last in node, f"--set {key}: not a key of the config")
        node[last] = yaml.safe_load(text)
    return cfg


def decay_of(o):
    """SPEC §6: weightDecay defaults to 0, adamw's to 0.01."""
    return o.get("weightDecay", 0.01 if o["name"] == "adamw" else 0.0)


# ------------------------------------------------------------------ data (SPEC §3, §4, §6 missing values)

def load_data(cfg, d, mut=frozenset()):
    """The training / validation sequences from the files, missing inputs filled, normalised, batched."""
    dc, task = cfg["data"], cfg["task"]
    require(dc["sequenceColumn"] and dc["shift"] == 0 and cfg["targetsAt"] == "every",
            "this generator trains on sequence files, shift 0, targetsAt every")
    miss = dc.get("missing")
    D = SimpleNamespace(task=task, inputs=dc["inputs"], targets=dc["targets"], normalize=dc["normalize"],
                        texts=miss["values"] if miss else None, how=miss["inputs"] if miss else "error",
                        mut=mut, cfg=cfg)
    train = read_table(os.path.join(d, dc["train"]), cfg, missing=D.texts)
    if dc["validation"]:
        val = read_table(os.path.join(d, dc["validation"]), cfg, missing=D.texts)
    elif dc["validationSplit"] > 0:
        f, cnt = dc["validationSplit"], len(train)
        require(abs(f * cnt - math.floor(f * cnt) - 0.5) > 1e-9, "validationSplit lands on .5")
        n = max(1, int(round(f * cnt)))
        require(n < cnt, "validation takes everything")
        train, val = train[:cnt - n], train[cnt - n:]
    else:
        val = []
    D.train_seqs, D.val_seqs = train, val
    I, O = len(D.inputs), len(D.targets)

    # the training mean of an input column: the mean of its present cells in the training split
    src = train + (val if "fill_mean_with_val" in mut else [])
    X = np.concatenate([s["X"] for s in src])
    present = ~np.isnan(X)
    require(present.any(0).all(), "an input column has no present training cell")
    D.fill_mean = np.array([X[present[:, j], j].mean() for j in range(I)])
    D.in_mean, D.in_std = np.zeros(I), np.ones(I)
    D.t_mean, D.t_std = np.zeros(O), np.ones(O)
    D.classes, D.norm = None, None
    if task == "classification":
        D.classes = mt.sort_classes([r[0] for s in train for r in s["raw"] if r[0] != ""])
    if D.normalize:
        Xs = np.concatenate([fill_inputs(D, s["X"]) for s in train]) if "stats_after_fill" in mut else X
        cols = [Xs[~np.isnan(Xs[:, j]), j] for j in range(I)]
        D.in_mean = np.array([c.mean() for c in cols])
        D.in_std = np.array([c.std() or 1.0 for c in cols])
        D.norm = {"inputs": {c: (float(D.in_mean[j]), float(D.in_std[j])) for j, c in enumerate(D.inputs)},
                  "targets": {}}
        if task == "regression":
            for j, c in enumerate(D.targets):
                v = np.array([float(r[j]) for s in train for r in s["raw"] if r[j] != ""])
                D.t_mean[j], D.t_std[j] = v.mean(), v.std() or 1.0
                D.norm["targets"][c] = (float(D.t_mean[j]), float(D.t_std[j]))
    B = cfg["training"]["batchSize"]
    D.batches = [batch_of(D, train[i:i + B]) for i in range(0, len(train), B)]
    D.val_batch = batch_of(D, val) if val else None
    return D


def fill_inputs(D, X):
    """SPEC §6 missing.inputs on one sequence's raw inputs (NaN = missing), in original units."""
    X = X.copy()
    for t, j in zip(*np.nonzero(np.isnan(X))):     # row-major: a row's predecessor is filled first
        require(D.how != "error", "a missing input cell under missing.inputs: error")
        if D.how == "ffill":
            X[t, j] = X[t - 1, j] if t > 0 else (0.0 if "ffill_first_zero" in D.mut else D.fill_mean[j])
        elif D.how == "mean":
            X[t, j] = D.fill_mean[j]
        elif D.normalize and "zero_raw" not in D.mut:
            X[t, j] = D.in_mean[j]                       # zero after normalisation: the mean
        else:
            X[t, j] = D.fill_mean[j] if "zero_as_mean" in D.mut else 0.0
    return X


def batch_of(D, seqs):
    """Sequences padded to the longest and masked: X [B,T,I] normalised; regression targets
    normalised (tgn) and raw (tgr) [B,T,O] with a per-element mask; classification class indices."""
    B, T, I, O = len(seqs), max(len(s["X"]) for s in seqs), len(D.inputs), len(D.targets)
    b = SimpleNamespace(ids=[s["id"] for s in seqs], lengths=[len(s["X"]) for s in seqs], T=T, B=B)
    b.Xn = np.zeros((B, T, I))
    reg = D.task == "regression"
    b.tgn = np.zeros((B, T, O)) if reg else np.zeros((B, T), np.int64)
    b.tgr = np.zeros((B, T, O)) if reg else None
    b.maskn = np.zeros((B, T, O) if reg else (B, T), bool)
    for i, s in enumerate(seqs):
        n = len(s["X"])
        b.Xn[i, :n] = (fill_inputs(D, s["X"]) - D.in_mean) / D.in_std
        if reg:
            Y = np.array([[float(v) if v != "" else np.nan for v in r] for r in s["raw"]]).reshape(n, O)
            b.maskn[i, :n] = ~np.isnan(Y)
            b.tgr[i, :n] = np.nan_to_num(Y)
            b.tgn[i, :n] = np.nan_to_num((Y - D.t_mean) / D.t_std)
        else:
            lab = [r[0] for r in s["raw"]]
            b.maskn[i, :n] = [v != "" for v in lab]
            b.tgn[i, :n] = [D.classes.index(v) if v != "" else 0 for v in lab]
    b.X, b.tgt, b.mask = torch.tensor(b.Xn), torch.tensor(b.tgn), torch.tensor(b.maskn)
    return b


def file_batch(D, path):
    """`rnn eval --data FILE`: every sequence of FILE, filled and normalised with the training split's figures."""
    return batch_of(D, read_table(path, D.cfg, missing=D.texts))


# ------------------------------------------------------------------ the model: torch's own modules

def detach(st):
    return tuple(v.detach() for v in st) if isinstance(st, tuple) else st.detach()


class Net:
    """SPEC §5's modules (common.torch_modules) in float64, holding the weights being trained."""

    def __init__(self, cfg, W):
        m = cfg["model"]
        self.cell, self.L, self.H, self.act, self.bias = m["cell"], m["layers"], m["hiddenSize"], m["activation"], m["bias"]
        I, O = W["rnn.weight_ih_l0"].shape[1], W["head.weight"].shape[0]
        rnn, head = torch_modules(self.cell, I, self.H, self.L, O, self.act, self.bias)
        self.rnn, self.head = rnn.double(), head.double()
        load_modules(self.rnn, self.head, {k: torch.tensor(v, dtype=F64) for k, v in W.items()})
        named = {f"rnn.{k}": p for k, p in self.rnn.named_parameters()}
        named.update({f"head.{k}": p for k, p in self.head.named_parameters()})
        self.names = param_names(self.L, self.bias)
        self.params = [named[n] for n in self.names]

    def zero(self, B):
        z = torch.zeros(self.L, B, self.H, dtype=F64)
        return (z, z.clone()) if self.cell == "lstm" else z

    def window(self, x, st):
        """One step at a time from state st -> y [B,T,O], the state after every step."""
        outs, sts = [], []
        for t in range(x.shape[1]):
            o, st = self.rnn(x[:, t:t + 1], st)
            outs.append(o)
            sts.append(st)
        return self.head(torch.cat(outs, 1)), sts

    def full(self, x):
        """Every sequence from s_0 in one call (validation, eval, predict)."""
        with torch.no_grad():
            return self.head(self.rnn(x, self.zero(x.shape[0]))[0])

    def weights(self):
        return {n: p.detach().numpy().copy() for n, p in zip(self.names, self.params)}

    def np_state(self, st):
        """A torch state -> make_train_fixtures' numpy layout: per layer h, or the pair (h, c)."""
        if isinstance(st, tuple):
            return [(st[0][k].numpy().copy(), st[1][k].numpy().copy()) for k in range(self.L)]
        return [st[k].numpy().copy() for k in range(self.L)]


def pooled_loss(task, y, tgt, mask):
    if task == "regression":
        return torch.nn.MSELoss(reduction="mean")(y[mask], tgt[mask])
    return torch.nn.CrossEntropyLoss(reduction="mean")(y[mask], tgt[mask])


def evaluate(net, D, b):
    """Validation / eval: every sequence from s_0, pooled loss and the task's metrics (original units)."""
    y = net.full(b.X)
    loss = float(pooled_loss(D.task, y, b.tgt, b.mask))
    out = {"loss": loss, "n": int(b.mask.sum()), "y": y.numpy()}
    if D.task == "regression":
        d = (y.numpy() * D.t_std + D.t_mean - b.tgr)[b.maskn]
        mse = float(np.mean(d * d))
        out["metrics"] = {"mse": mse, "rmse": math.sqrt(mse), "mae": float(np.mean(np.abs(d)))}
    else:
        z = y.numpy()[b.maskn]
        srt = np.sort(torch.softmax(torch.tensor(z), -1).numpy(), 1)
        out["gap"] = float((srt[:, -1] - srt[:, -2]).min())
        out["metrics"] = {"accuracy": float(np.mean(z.argmax(1) == b.tgn[b.maskn]))}
        out["perplexity"] = math.exp(loss)
    return out


# ------------------------------------------------------------------ optimizer and schedule (torch's own classes)

def make_optimizer(o, params, mut):
    wd = 0.0 if mut & {"wd_ignored", "wd_before_clip"} else decay_of(o)
    name = {"adamw_coupled": "adam", "adam_decoupled": "adamw"}.get(next(iter(mut & {"adamw_coupled", "adam_decoupled"}), ""),
                                                                     o["name"])
    if name == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"], weight_decay=wd)
    kw = dict(lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"])
    if name == "adam":
        return torch.optim.Adam(params, weight_decay=wd, **kw)
    return torch.optim.AdamW(params, weight_decay=0.0 if mut & {"adamw_no_lr", "adamw_decay_after"} else wd, **kw)


class ClampedCosine:
    """The mistake cosine_clamped: the closed form, held at etaMin after tMax."""

    def __init__(self, opt, tmax, eta):
        self.opt, self.tmax, self.eta, self.base, self.t = opt, tmax, eta, opt.param_groups[0]["lr"], 0

    def step(self):
        self.t += 1
        e = min(self.t, self.tmax)
        self.opt.param_groups[0]["lr"] = self.eta + (self.base - self.eta) * (1 + math.cos(math.pi * e / self.tmax)) / 2


def make_schedule(s, opt, epochs, mut):
    if s is None or "no_schedule" in mut:
        return None
    sl = torch.optim.lr_scheduler
    if s["name"] == "step":
        sch = sl.StepLR(opt, step_size=s["stepSize"], gamma=s["gamma"])
    elif s["name"] == "cosine":
        tmax = s.get("tMax", epochs)
        sch = (ClampedCosine(opt, tmax, s["etaMin"]) if "cosine_clamped" in mut
               else sl.CosineAnnealingLR(opt, T_max=tmax, eta_min=s["etaMin"]))
    else:
        return sl.ReduceLROnPlateau(
            opt, mode="min", factor=s["factor"], patience=s["patience"] - ("plateau_patience_ge" in mut),
            threshold=s["threshold"], threshold_mode="abs" if "plateau_abs" in mut else "rel",
            cooldown=0 if "plateau_no_cooldown" in mut else s["cooldown"],
            min_lr=0.0 if "plateau_min_lr_ignored" in mut else s["minLr"])
    if "sched_early" in mut:
        sch.step()
    return sch


# ------------------------------------------------------------------ the trainer

def train(cfg, D, W0, mut=frozenset(), noise=0.0, record=False):
    tr = cfg["training"]
    o, task, es, clip = tr["optimizer"], cfg["task"], tr.get("earlyStopping"), tr["clip"]
    net = Net(cfg, W0)
    P = net.params
    opt = make_optimizer(o, P, mut)
    sch = make_schedule(tr.get("schedule"), opt, tr["epochs"], mut)
    plateau = isinstance(sch, torch.optim.lr_scheduler.ReduceLROnPlateau)
    wd = decay_of(o)
    trunc, stride = (None, None) if tr["bptt"] is None else (tr["bptt"]["truncate"], tr["bptt"]["stride"])
    noise_rs = np.random.RandomState(4242)
    R = SimpleNamespace(updates=[], epochs=[], records=[], snapshots={}, stopped=None, val_gap=math.inf,
                        margins={"clip": [], "plateau": [], "es": []}, clipped=0, metrics_fed=[])
    step, best, wait = 0, math.inf, 0
    for epoch in range(1, tr["epochs"] + 1):
        losses = []
        for bi, b in enumerate(D.batches):
            states = {0: net.zero(b.B)}
            for a, p, e in mt.windows(b.T, trunc, stride):
                h0 = states[a]
                y, sts = net.window(b.X[:, a:e], h0)
                for j, s in enumerate(sts):
                    states[a + j + 1] = detach(s)
                m = b.mask[:, p:e]
                rec = {"epoch": epoch, "batch": bi, "a": a, "p": p, "e": e, "update": bool(m.any())}
                if record:
                    rec.update(W=net.weights(), h0=net.np_state(h0))
                    R.records.append(rec)
                if not rec["update"]:
                    continue
                loss = pooled_loss(task, y[:, p - a:], b.tgt[:, p:e], m)
                opt.zero_grad()
                loss.backward()
                with torch.no_grad():
                    if noise:
                        for q in P:
                            q.grad.mul_(1 + noise * torch.tensor(noise_rs.uniform(-1, 1, q.shape)))
                    if record:
                        rec["grad"] = {n: q.grad.numpy().copy() for n, q in zip(net.names, P)}
                    gnorm = float(mt.global_norm(P))
                    if "wd_before_clip" in mut:
                        for q in P:
                            q.grad.add_(q, alpha=wd)
                    if clip and "norm" in clip:
                        R.margins["clip"].append(abs(gnorm - clip["norm"]) / clip["norm"])
                        R.clipped += gnorm > clip["norm"]
                        torch.nn.utils.clip_grad_norm_(P, clip["norm"])
                    elif clip:
                        g = torch.cat([q.grad.reshape(-1) for q in P]).abs()
                        R.margins["clip"].append(float((g - clip["value"]).abs().min()))
                        R.clipped += bool((g > clip["value"]).any())
                        torch.nn.utils.clip_grad_value_(P, clip["value"])
                    lr = opt.param_groups[0]["lr"]
                    if record:
                        rec["clipped_grad"] = {n: q.grad.numpy().copy() for n, q in zip(net.names, P)}
                    if "adamw_no_lr" in mut:
                        for q in P:
                            q.mul_(1 - wd)
                    opt.step()
                    if "adamw_decay_after" in mut:
                        for q in P:
                            q.mul_(1 - lr * wd)
                step += 1
                losses.append(float(loss))
                R.updates.append((epoch, step, float(loss), gnorm, lr))
                if record:
                    rec.update(loss=float(loss), lr=lr, W_after=net.weights())
        require(losses, f"epoch {epoch} made no update")
        ev = evaluate(net, D, D.val_batch) if D.val_batch is not None else None
        if ev is not None and "gap" in ev:
            R.val_gap = min(R.val_gap, ev["gap"])
        tl = sum(losses) / len(losses)
        R.epochs.append((epoch, tl, ev))
        R.snapshots[epoch] = (net.weights(), step)
        if sch is not None:          # once per epoch, after validation
            if plateau:
                metric = ev["loss"] if ev is not None and "plateau_fed_train" not in mut else tl
                if math.isfinite(sch.best):
                    R.margins["plateau"].append(abs(metric - sch.best * (1 - sch.threshold)) / abs(sch.best))
                R.metrics_fed.append(metric)
                sch.step(metric)
            else:
                sch.step()
        if es:
            require(ev is not None, "earlyStopping needs validation data")
            md = 0.0 if "es_no_min_delta" in mut else es["minDelta"]
            vl = ev["loss"]
            if math.isfinite(best):
                R.margins["es"].append(abs(vl - (best - md)) / abs(best))
            if vl < best - md:
                best, wait = vl, 0
            else:
                wait += 1
            if wait >= es["patience"] + ("es_patience_plus1" in mut):
                R.stopped = epoch
                break
    R.net, R.W, R.names = net, net.weights(), net.names
    return R


def epoch_lrs(R):
    """The lr each epoch's updates used (one per epoch; every update of an epoch uses the same)."""
    out = {}
    for e, _, _, _, lr in R.updates:
        require(out.setdefault(e, lr) == lr, f"epoch {e}: the lr changed inside the epoch")
    return [out[e] for e in sorted(out)]


def fingerprint(R):
    vals = [R.W[n].ravel() for n in R.names]
    vals.append(np.array([u[k] for u in R.updates for k in (2, 3, 4)]))
    for _, tl, ev in R.epochs:
        vals.append(np.array([tl] + ([] if ev is None else [ev["loss"], *ev["metrics"].values()])))
    return np.concatenate(vals), [(u[0], u[1]) for u in R.updates]


def differs(a, b):
    fa, ka = fingerprint(a)
    fb, kb = fingerprint(b)
    return math.inf if ka != kb or fa.shape != fb.shape else max_rel(fa, fb)


# ------------------------------------------------------------------ independent checks of §6

def check_optimizer(cfg, R):
    """Every update: torch.optim's new weights == SPEC §6's formulas in numpy, from the clipped
    gradient and the logged lr. -> the largest relative difference."""
    o = cfg["training"]["optimizer"]
    wd, worst, state = decay_of(o), 0.0, {}
    for t, r in enumerate([r for r in R.records if r["update"]], start=1):
        for n, p in r["W"].items():
            g, lr = r["clipped_grad"][n], r["lr"]
            if o["name"] == "sgd":
                d = g + wd * p
                buf = state[n] = d if n not in state or not o["momentum"] else o["momentum"] * state[n] + d
                new = p - lr * buf
            else:
                if o["name"] == "adamw":
                    p = p * (1 - lr * wd)
                else:
                    g = g + wd * p
                m, v = state.get(n, (0.0, 0.0))
                m, v = o["beta1"] * m + (1 - o["beta1"]) * g, o["beta2"] * v + (1 - o["beta2"]) * g * g
                state[n] = (m, v)
                mh, vh = m / (1 - o["beta1"] ** t), v / (1 - o["beta2"] ** t)
                new = p - lr * mh / (np.sqrt(vh) + o["eps"])
            worst = max(worst, max_rel(new, r["W_after"][n]))
    require(worst < 1e-13, f"torch.optim vs the SPEC §6 formulas: {worst:.2e}")
    return worst


class Plateau:
    """ReduceLROnPlateau (mode min, threshold_mode rel) written out from its documented rules."""

    def __init__(self, s, lr):
        self.s, self.lr, self.best, self.bad, self.cool = s, lr, math.inf, 0, 0

    def step(self, x):
        if x < self.best * (1 - self.s["threshold"]):
            self.best, self.bad = x, 0
        else:
            self.bad += 1
        if self.cool > 0:
            self.cool -= 1
            self.bad = 0
        if self.bad > self.s["patience"]:
            new = max(self.lr * self.s["factor"], self.s["minLr"])
            if self.lr - new > 1e-8:
                self.lr = new
            self.cool, self.bad = self.s["cooldown"], 0


def check_schedule(cfg, R):
    """The lr of every epoch == the closed form (step, cosine) / Plateau above; -> the lrs."""
    tr = cfg["training"]
    s, lr0, lrs = tr.get("schedule"), tr["optimizer"]["lr"], epoch_lrs(R)
    if s is None:
        want = [lr0] * len(lrs)
    elif s["name"] == "step":
        want = [lr0 * s["gamma"] ** ((e - 1) // s["stepSize"]) for e in range(1, len(lrs) + 1)]
    elif s["name"] == "cosine":
        T = s.get("tMax", tr["epochs"])
        want = [s["etaMin"] + (lr0 - s["etaMin"]) * (1 + math.cos(math.pi * (e - 1) / T)) / 2
                for e in range(1, len(lrs) + 1)]
    else:
        pl, want = Plateau(s, lr0), [lr0]
        for x in R.metrics_fed[:len(lrs) - 1]:
            pl.step(x)
            want.append(pl.lr)
    worst = max(abs(a - b) / b for a, b in zip(lrs, want))
    require(worst < 1e-12, f"lr per epoch {lrs} vs {want}")
    return lrs


def check_early_stop(cfg, R):
    """Keras' EarlyStopping counter order (wait += 1 first, reset on an improvement) stops at the same epoch."""
    es = cfg["training"].get("earlyStopping")
    if not es:
        return
    best, wait, stop = math.inf, 0, None
    for e, _, ev in R.epochs:
        wait += 1
        if ev["loss"] + es["minDelta"] < best:          # Keras negates min_delta in mode min
            best, wait = ev["loss"], 0
        if wait >= es["patience"]:
            stop = e
            break
    require(stop == R.stopped, f"early stopping: {R.stopped} vs Keras' order {stop}")


def np_outputs(cfg, W, Xn):
    """make_train_fixtures' numpy forward of a batch [B,T,I] from s_0 -> y [B,T,O]."""
    m = cfg["model"]
    return mt.np_forward(W, Xn, mt.np_zero_state(m["cell"], Xn.shape[0], m["hiddenSize"], m["layers"]),
                         m["activation"], m["layers"], m["bias"], m["cell"])[0]


def np_eval(cfg, D, W, b):
    """The pooled loss of a batch by the numpy forward."""
    return mt.np_loss(D.task, np_outputs(cfg, W, b.Xn), b.tgn, b.maskn)


def check_validation(cfg, D, R):
    worst = 0.0
    for e, _, ev in R.epochs:
        if ev is not None:
            lo = np_eval(cfg, D, R.snapshots[e][0], D.val_batch)
            worst = max(worst, abs(lo - ev["loss"]) / abs(lo))
    require(worst < 1e-12, f"val_loss vs numpy {worst:.2e}")
    return worst


# ------------------------------------------------------------------ building a training case

def run_trials(spec, build, out_root):
    last = None
    for trial in range(40):
        try:
            result = build(spec(trial), out_root)
            say(f"  trial {trial} accepted")
            return result
        except TrialRejected as ex:
            last = ex
            say(f"  trial {trial} rejected: {ex}")
    raise CheckFailed(f"{spec.__name__}: no trial passed ({last})")


def metric_names(D):
    return ["mse", "rmse", "mae"] if D.task == "regression" else ["accuracy"]


def meta_expect(D, epoch, step, config=None):
    me = {"format": CKPT_FORMAT, "epoch": str(epoch), "step": str(step),
          "normalization": "present" if D.norm is not None else "absent"}
    if D.classes is not None:
        me["classes"] = D.classes
    if config:
        me["config"] = config
    return me


def build_training(case, out_root):
    name = case["name"]
    d = fresh_dir(out_root, name)
    cfg = case["config"]
    write_text(os.path.join(d, "config.yaml"), mt.config_yaml(cfg))
    for fn, (header, rows) in case["files"].items():
        write_text(os.path.join(d, fn), csv_text(header, rows))
    names = param_names(cfg["model"]["layers"], cfg["model"]["bias"])
    write_safetensors(os.path.join(d, "init.safetensors"), [(n, case["init"][n]) for n in names],
                      mt.ckpt_meta(cfg, load_data(cfg, d), 0, 0))

    # ---- the reference, from the files only
    with open(os.path.join(d, "config.yaml"), encoding="utf-8") as f:
        fcfg = yaml.safe_load(f)
    require(fcfg == cfg, "config.yaml does not read back as written")
    sets = [a for s in case.get("set", []) for a in ("--set", s)]
    rcfg = apply_set(fcfg, case.get("set", []))
    Wf = {n: w.astype(np.float64) for n, w in read_safetensors(os.path.join(d, "init.safetensors"))[0].items()}
    require(list(Wf) == names and all(np.array_equal(Wf[n], case["init"][n]) for n in names), "init round trip")
    D = load_data(rcfg, d)
    case["check_data"](D)
    R = train(rcfg, D, Wf, record=True)
    rep = mt.check_replay(rcfg, D, SimpleNamespace(records=[r for r in R.records if r["epoch"] == 1]))
    notes = {"selfcheck": {k: (float(f"{v:.3g}") if isinstance(v, float) else v) for k, v in rep.items()}}
    notes["selfcheck"]["epoch1_replay"] = "carried states, window losses and finite-difference gradients"
    notes["selfcheck"]["optimizer_vs_formulas"] = float(f"{check_optimizer(rcfg, R):.3g}")
    lrs = check_schedule(rcfg, R)
    check_early_stop(rcfg, R)
    notes["selfcheck"]["val_loss_vs_numpy"] = float(f"{check_validation(rcfg, D, R):.3g}")

    # ---- knife edges and the scenario
    clip = rcfg["training"]["clip"]
    ups = len(R.updates)
    if clip:
        margin = min(R.margins["clip"])
        knife(margin >= (1e-2 if "norm" in clip else 1e-5), f"clip margin {margin:.2e} (norm: relative; value: absolute)")
        knife(R.clipped >= case.get("min_clipped", 0) * ups, f"clip active on {R.clipped}/{ups} updates")
        notes["clip"] = {"threshold": clip, "updates_clipped": int(R.clipped), "updates": ups}
    for k in ("plateau", "es"):
        if R.margins[k]:
            knife(min(R.margins[k]) >= 1e-6, f"{k} decision within {min(R.margins[k]):.2e} of a tie")
            notes[f"{k}_min_relative_margin"] = float(f"{min(R.margins[k]):.3g}")
    knife(R.val_gap >= 1e-6, f"validation arg-max gap {R.val_gap:.2e}")
    sens = differs(train(rcfg, D, Wf, noise=1e-12), R)
    knife(sens < 1e-11, f"1e-12 gradient noise moves the results by {sens:.2e}")
    notes["sensitivity_to_1e-12_gradient_noise"] = float(f"{sens:.3g}")
    case.get("scenario", lambda R, lrs: None)(R, lrs)
    told = {}
    for mname in case["mistakes"]:
        mut = frozenset([mname])
        mcfg = fcfg if mname == "set_ignored" else rcfg          # the --set overrides left out
        diff = differs(train(mcfg, load_data(mcfg, d, mut), Wf, mut=mut), R)
        told[mname] = "different update rows" if diff == math.inf else float(f"{diff:.3g}")
        knife(diff > 1e-6, f"mistake {mname} is not visible ({diff:.2e})")
    notes["mistakes_told_apart"] = told

    # ---- expected outputs
    last_epoch, last_step = R.epochs[-1][0], R.updates[-1][1]
    cmd0 = ["train", "config.yaml", "--out", "run", *sets]
    commands, checks = [cmd0], []
    write_safetensors(os.path.join(d, "expected_last.safetensors"), [(n, R.W[n]) for n in names],
                      mt.ckpt_meta(rcfg, D, last_epoch, last_step))
    checks.append({"command": 0, "file": "run/last.safetensors", "expected": "expected_last.safetensors",
                   "kind": "checkpoint", "metadata": meta_expect(D, last_epoch, last_step, case.get("config_check"))})
    write_text(os.path.join(d, "expected_updates.csv"),
               csv_text(["epoch", "step", "loss", "grad_norm", "lr"],
                        [[str(e), str(s), num(lo), num(g), num(lr)] for e, s, lo, g, lr in R.updates]))
    checks.append({"command": 0, "file": "run/updates.csv", "expected": "expected_updates.csv", "kind": "updates",
                   "header": True})
    mn = metric_names(D) if D.val_batch is not None else []
    write_text(os.path.join(d, "expected_epochs.csv"),
               csv_text(["epoch", "train_loss", "val_loss", "seconds"] + [f"val_{k}" for k in mn],
                        [[str(e), num(tl), "" if ev is None else num(ev["loss"]), ""] +
                         [num(ev["metrics"][k]) for k in mn] for e, tl, ev in R.epochs]))
    checks.append({"command": 0, "file": "run/epochs.csv", "expected": "expected_epochs.csv", "kind": "epochs",
                   "header": True})
    if D.val_batch is not None:
        vls = [ev["loss"] for _, _, ev in R.epochs]
        srt = sorted(vls)
        knife(len(vls) < 2 or (srt[1] - srt[0]) / srt[0] > 1e-6, "validation losses tie")
        be = 1 + vls.index(srt[0])
        Wb, sb = R.snapshots[be]
        write_safetensors(os.path.join(d, "expected_best.safetensors"), [(n, Wb[n]) for n in names],
                          mt.ckpt_meta(rcfg, D, be, sb))
        checks.append({"command": 0, "file": "run/best.safetensors", "expected": "expected_best.safetensors",
                       "kind": "checkpoint", "metadata": meta_expect(D, be, sb), "note": f"lowest val_loss: epoch {be}"})
        notes["best_epoch"] = be
    for ev in case.get("evals", []):
        b = file_batch(D, os.path.join(d, ev["data"])) if ev.get("data") else D.val_batch
        out = evaluate(R.net, D, b)
        require(abs(np_eval(rcfg, D, R.W, b) - out["loss"]) < 1e-12 * max(1, out["loss"]), "eval vs numpy")
        js = {"loss": out["loss"], "n": out["n"], **out["metrics"]}
        if D.task == "classification":
            knife(out["gap"] >= 1e-4, f"eval arg-max gap {out['gap']:.2e}")
            js["perplexity"] = out["perplexity"]
        require(D.task == "classification" or len(D.targets) == 1, "eval cases have one target (n = positions)")
        write_text(os.path.join(d, ev["file"]), json.dumps(js, indent=2) + "\n")
        commands.append(["eval", "run/last.safetensors"] + (["--data", ev["data"]] if ev.get("data") else []) + ["--json"])
        checks.append({"command": len(commands) - 1, "stdout": True, "expected": ev["file"], "kind": "json",
                       "exact": ["n"]})
    for pv in case.get("predicts", []):
        header, rows = predict_rows(rcfg, D, R, os.path.join(d, pv["data"]))
        write_text(os.path.join(d, pv["file"]), csv_text(header, rows))
        commands.append(["predict", "run/last.safetensors", "--data", pv["data"]])
        checks.append({"command": len(commands) - 1, "stdout": True, "expected": pv["file"], "kind": "csv",
                       "keys": header[:2] + ([header[2]] if D.task == "classification" else [])})

    # ---- notes and case.json
    notes["updates_per_epoch"] = [sum(1 for u in R.updates if u[0] == e) for e, _, _ in R.epochs]
    notes["lr_per_epoch"] = lrs
    if R.stopped:
        notes["early_stopping"] = f"stopped after epoch {R.stopped} of {rcfg['training']['epochs']}"
    if D.norm is not None:
        notes["normalization"] = {k: {c: {"mean": m, "std": s} for c, (m, s) in v.items()} for k, v in D.norm.items() if v}
    if D.how != "error":
        notes["training_mean_of_inputs"] = {c: float(D.fill_mean[j]) for j, c in enumerate(D.inputs)}
    if D.classes is not None:
        notes["classes"] = D.classes
    if D.val_batch is not None:
        notes["validation"] = {"sequences": D.val_batch.ids, "supervised_elements": int(D.val_batch.mask.sum())}
    notes.update(case.get("notes", {}))
    cj = {"name": name, "about": case["about"], "commands": commands, "checks": checks, "tol": TOL,
          "compare": COMPARE, "notes": notes}
    write_text(os.path.join(d, "case.json"), json.dumps(cj, indent=2) + "\n")
    say(f"  {name}: {ups} updates over {len(R.epochs)} epochs, lr per epoch {[float(f'{x:.4g}') for x in lrs]}, "
        f"fd max rel err {rep['fd_max_rel_err']:.1e}, noise sensitivity {sens:.1e}")
    for k, v in told.items():
        say(f"    mistake {k}: {v}")
    return cj


COMPARE = ("numbers: |got - expected| <= tol * (1 + |expected|); epoch, step, t, n, ids and class names exactly; "
           "checkpoint: every expected rnn.*/head.* tensor (F64, same shape), no other rnn.*/head.* tensor, metadata "
           "format/epoch/step (and classes, and the config values listed); updates.csv / epochs.csv header lines "
           "exactly; epochs.csv seconds not compared")


def predict_rows(cfg, D, R, path):
    """rnn predict over a file: every sequence from s_0, missing inputs filled as in training."""
    seqs = read_table(path, cfg, targets=False, missing=D.texts)
    header = predict_header(cfg["data"]["sequenceColumn"], D.task, D.targets, D.classes)
    rows = []
    for s in seqs:
        x = (fill_inputs(D, s["X"]) - D.in_mean) / D.in_std
        y = R.net.full(torch.tensor(x)[None])[0].numpy()
        require(np.abs(np_outputs(cfg, R.W, x[None])[0] - y).max() < 1e-12, "predict vs numpy forward")
        for t in range(len(x)):
            if D.task == "regression":
                rows.append([s["id"], str(t)] + [num(v) for v in y[t] * D.t_std + D.t_mean])
            else:
                p = torch.softmax(torch.tensor(y[t]), -1).numpy()
                srt = np.sort(p)
                knife(srt[-1] - srt[-2] >= 1e-4, "predict arg-max gap")
                rows.append([s["id"], str(t), D.classes[int(np.argmax(p))]] + [num(v) for v in p])
    return header, rows


# ------------------------------------------------------------------ forecasting (SPEC §7)

def forecast_config(seq_col, inputs, targets, normalize, cell_name, H, L, shift=1):
    """A forecasting checkpoint's config: every SPEC §3 key (common.full_config)."""
    return full_config(
        seed=0, train="data.csv", validation=None, validationSplit=0, sequenceColumn=seq_col, inputs=inputs,
        targets=targets, shift=shift, normalize=normalize, task="regression", targetsAt="every", cell=cell_name,
        hiddenSize=H, layers=L, activation="tanh", bias=True, init=None, epochs=4, batchSize=2, shuffle=False,
        dtype="float64", bptt=None, optimizer={"name": "adam", "lr": 0.001, **ADAM}, clip=None, out_dir=None)


def forecast_reference(ckpt, data, h, mut=frozenset()):
    """`rnn forecast ckpt --horizon h --data data` from the files: torch's modules roll each sequence
    out; -> (header, rows, worst relative difference to a numpy re-run over the extended series)."""
    tensors, meta = read_safetensors(ckpt)
    cfg = json.loads(meta["config"])
    dc, sc = cfg["data"], cfg["data"]["sequenceColumn"]
    require(cfg["task"] == "regression" and dc["shift"] == 1 and set(dc["inputs"]) <= set(dc["targets"]),
            "not an autoregressive model")
    norm = json.loads(meta["normalization"]) if dc["normalize"] else None

    def stats(cols):
        if norm is None:
            return np.zeros(len(cols)), np.ones(len(cols))
        return np.array([norm[c]["mean"] for c in cols]), np.array([norm[c]["std"] for c in cols])
    in_m, in_s = stats(dc["inputs"])
    out_m, out_s = stats(dc["targets"])
    W = {k: v.astype(np.float64) for k, v in tensors.items()}
    net = Net(cfg, W)
    feed = list(range(len(dc["inputs"]))) if "feed_by_position" in mut else [dc["targets"].index(c) for c in dc["inputs"]]
    rows, values, worst = [], [], 0.0
    with torch.no_grad():
        for s in read_table(data, cfg, targets=False):
            x, n = (s["X"] - in_m) / in_s, len(s["X"])
            out, st = net.rnn(torch.tensor(x)[None], net.zero(1))
            fc = [net.head(out[0, -1]).numpy() * out_s + out_m]            # the forecast of row n
            for _ in range(1, h):                                          # fed back in original units, normalised
                out, st = net.rnn(torch.tensor((fc[-1][feed] - in_m) / in_s)[None, None], st)
                fc.append(net.head(out[0, 0]).numpy() * out_s + out_m)
            ext = np.concatenate([x, (np.array(fc[:-1]).reshape(-1, len(fc[0]))[:, feed] - in_m) / in_s])
            yn = np_outputs(cfg, W, ext[None])[0][n - 1:] * out_s + out_m
            worst = max(worst, max_rel(np.array(fc), yn))
            rows += [([s["id"]] if sc else []) + [str(n + k)] + [num(v) for v in fc[k]] for k in range(h)]
            values += fc
    require(worst < 1e-12, f"forecast roll-out vs numpy re-run from s_0: {worst:.2e}")
    return ([sc] if sc else []) + ["t"] + dc["targets"], rows, np.array(values), worst


def build_forecast(case, out_root):
    name = case["name"]
    d = fresh_dir(out_root, name)
    write_text(os.path.join(d, "data.csv"), csv_text(*case["data"]))
    commands, checks, exits = [], [], []
    for m in case["models"]:
        cfg = m["config"]
        meta = checkpoint_meta(cfg, 3, 24)
        if cfg["data"]["normalize"]:
            meta["normalization"] = normalization_json(m["stats"].items())
        names = param_names(cfg["model"]["layers"], True)
        write_safetensors(os.path.join(d, m["file"]), [(n, m["W"][n]) for n in names], meta)
        require(json.loads(read_safetensors(os.path.join(d, m["file"]))[1]["config"]) == cfg, "config metadata")
        for h in m.get("horizons", [5]):
            commands.append(["forecast", m["file"], "--horizon", str(h), "--data", "data.csv"])
            exits.append(m.get("exit", 0))
            if m.get("exit"):
                if m.get("stderr"):
                    checks.append({"command": len(commands) - 1, "kind": "stderr", "includes": m["stderr"]})
                continue
            ckpt, data = os.path.join(d, m["file"]), os.path.join(d, "data.csv")
            header, rows, values, worst = forecast_reference(ckpt, data, h)
            fn = f"expected_forecast{'' if h == 5 else f'_h{h}'}.csv"
            write_text(os.path.join(d, fn), csv_text(header, rows))
            checks.append({"command": len(commands) - 1, "stdout": True, "expected": fn, "kind": "csv",
                           "keys": header[:header.index("t") + 1]})
            for mname in m.get("mistakes", []):
                diff = max_rel(forecast_reference(ckpt, data, h, frozenset([mname]))[2], values)
                require(diff > 1e-6, f"forecast mistake {mname} not visible ({diff:.2e})")
                say(f"    forecast mistake {mname}: {diff:.3g}")
            say(f"  {name}: {m['file']} horizon {h}: {len(rows)} rows, numpy re-run {worst:.1e}")
    cj = {"name": name, "about": case["about"], "commands": commands, "checks": checks, "tol": TOL,
          "compare": COMPARE}
    if any(exits):
        cj["exit"] = exits
    write_text(os.path.join(d, "case.json"), json.dumps(cj, indent=2) + "\n")
    return cj


# ------------------------------------------------------------------ data of the cases

def system(rs, ids, lens, seq_col, inputs, targets, loc=0.0, scale=1.0, t_loc=0.0, t_scale=1.0, labels=None,
           blank=0.1, texts=("",)):
    """Sequences {column: [cell texts]} of a small nonlinear system: the targets follow a leaky state
    driven by the inputs and their lag; inputs N(loc, scale) per column; regression targets
    t_loc + t_scale * state; labels (low, mid, high): the first state cut in three. Target cells are
    missing (one of `texts`) with probability `blank`."""
    I, O = len(inputs), len(targets)
    loc, scale = np.broadcast_to(loc, (I,)), np.broadcast_to(scale, (I,))
    A, Bl = rs.uniform(-1.2, 1.2, (O, I)), rs.uniform(-0.8, 0.8, (O, I))
    out = []
    for sid, T in zip(ids, lens):
        U = rs.normal(0, 1, (T, I))
        s, Y = np.zeros(O), np.zeros((T, O))
        for t in range(T):
            s = 0.6 * s + np.tanh(A @ U[t] + (Bl @ U[t - 1] if t else 0))
            Y[t] = s + 0.05 * rs.normal(size=O)
        cols = {seq_col: [sid] * T}
        for j, c in enumerate(inputs):
            cols[c] = [cell(loc[j] + scale[j] * v) for v in U[:, j]]
        for j, c in enumerate(targets):
            cols[c] = ([labels[int(v > -0.3) + int(v > 0.3)] for v in Y[:, 0]] if labels
                       else [cell(t_loc + t_scale * v) for v in Y[:, j]])
            for t in range(T):
                if rs.uniform() < blank:
                    cols[c][t] = texts[rs.randint(len(texts))]
        out.append(cols)
    return out


def blank_inputs(rs, seqs, inputs, rate):
    """Missing input cells (texts of MISSING): at random, plus seqs[0] starting with two missing cells
    of inputs[0] (ffill: the training mean, twice) and a run of two in seqs[1]'s inputs[-1]."""
    for c in seqs:
        for k in inputs:
            for t in range(len(c[k])):
                if rs.uniform() < rate:
                    c[k][t] = MISSING[rs.randint(len(MISSING))]
    seqs[0][inputs[0]][0:2] = ["NA", ""]
    seqs[1][inputs[-1]][2:4] = ["NaN", "NA"]


def table(seqs, header):
    return header, mt.seq_rows(header, seqs, header)


def expected(seqs, seq_col, inputs, targets, texts=("",)):
    """What the files must read back as: ids, inputs (NaN = missing), target texts ("" = missing)."""
    return [{"id": c[seq_col][0],
             "X": np.array([[math.nan if c[k][t] in texts else float(c[k][t]) for k in inputs]
                            for t in range(len(c[seq_col]))]),
             "raw": [["" if c[k][t] in texts else c[k][t] for k in targets] for t in range(len(c[seq_col]))]}
            for c in seqs]


def check_seqs(D, ex_train, ex_val):
    for got, want in ((D.train_seqs, ex_train), (D.val_seqs, ex_val)):
        require([s["id"] for s in got] == [w["id"] for w in want], "sequence ids / order")
        for s, w in zip(got, want):
            require(np.array_equal(s["X"], w["X"], equal_nan=True) and s["raw"] == w["raw"], f"data of {w['id']}")


def check_fill(D, ex_train, ex_val, others=()):
    """The reference's filled inputs == a vectorised fill of the generator's arrays (training means
    and normalisation stats over the present cells of the training split)."""
    check_seqs(D, ex_train, ex_val)
    Xtr = np.concatenate([w["X"] for w in ex_train])
    means = np.nanmean(Xtr, 0)
    require(max_rel(D.fill_mean, means) < 1e-15, "training means")
    if D.normalize:
        require(max_rel(D.in_mean, means) < 1e-15 and max_rel(D.in_std, np.nanstd(Xtr, 0)) < 1e-14, "input stats")
    for w in list(ex_train) + list(ex_val) + list(others):
        X = w["X"]
        T, I = X.shape
        gone = np.isnan(X)
        if D.how == "ffill":
            last = np.maximum.accumulate(np.where(gone, -1, np.arange(T)[:, None]), axis=0)
            want = np.where(last >= 0, X[np.maximum(last, 0), np.arange(I)], means)
        elif D.how == "mean" or D.normalize:
            want = np.where(gone, means, X)
        else:
            want = np.where(gone, 0.0, X)
        require(max_rel(fill_inputs(D, X), want) < 1e-15, f"filled inputs of {w['id']}")
    require(np.isnan(ex_train[0]["X"][0, 0]), "the first sequence starts with a missing input")


def sequence_case(rs, name, about, ids, lens, seq_col, inputs, targets, held_out=0, in_file=False, data=None,
                  missing_inputs=0.0, **cfg_kw):
    """The usual training case: system() data over `ids` (`data`: its keyword arguments), the last
    `held_out` sequences validation data (val.csv, or with in_file the tail of data.csv that the case's
    validationSplit holds out); missing_inputs > 0: input cells missing too (blank_inputs, and the first
    held-out sequence starts with one); the config control_config(**cfg_kw); initial weights drawn
    from rs after the data. -> the case dict without its mistakes / evals / predicts."""
    data = data or {}
    seqs = system(rs, ids, lens, seq_col, inputs, targets, **data)
    tr, va = seqs[:len(ids) - held_out], seqs[len(ids) - held_out:]
    if missing_inputs:
        blank_inputs(rs, seqs, inputs, missing_inputs)
        va[0][inputs[0]][0] = "NaN"
    header = [seq_col] + inputs + targets
    files = {"data.csv": table(seqs if in_file else tr, header)}
    if held_out and not in_file:
        files["val.csv"] = table(va, header)
        cfg_kw["validation"] = "val.csv"
    cfg = control_config(sequenceColumn=seq_col, inputs=inputs, targets=targets, **cfg_kw)
    m, texts = cfg["model"], data.get("texts", ("",))
    ex_tr, ex_va = expected(tr, seq_col, inputs, targets, texts), expected(va, seq_col, inputs, targets, texts)
    O = len(data["labels"]) if "labels" in data else len(targets)
    return {"name": name, "about": about, "config": cfg, "files": files,
            "init": mt.random_init(rs, len(inputs), m["hiddenSize"], m["layers"], O, True, cell=m["cell"]),
            "check_data": (lambda D: check_fill(D, ex_tr, ex_va)) if missing_inputs else
                          (lambda D: check_seqs(D, ex_tr, ex_va))}


def adam(lr, **kw):
    return {"name": "adam", "lr": lr, **ADAM, **kw}


def trial_rs(base, trial):
    return np.random.RandomState(base + 7 * trial)


# ------------------------------------------------------------------ the training cases

def case_adamw(trial):
    """adamw-lstm-val"""
    return {**sequence_case(
        trial_rs(1101, trial), "adamw-lstm-val",
        "optimizer adamw (torch.optim.AdamW: p <- p*(1 - lr*weightDecay), then the Adam step) with "
        "weightDecay 0.2 on every tensor, biases included; 2-layer LSTM (H 3), normalize on, 6 sequences "
        "in batches of 3, TBPTT 4/4; validation data val.csv: epochs.csv gets val_mse,val_rmse,val_mae "
        "(original units) after seconds, best.safetensors; eval without --data (val.csv); predict over val.csv",
        ["w3", "w1", "w4", "w9", "w2", "w6", "v2", "v1", "v5"], [8, 6, 9, 7, 5, 8, 7, 9, 6], "sid", ["p", "q"], ["y"],
        held_out=3, data=dict(loc=[3, -1], scale=[2, 0.5], t_loc=10, t_scale=4),
        normalize=True, cell="lstm", hidden=3, layers=2, batchSize=3, bptt={"truncate": 4, "stride": 4},
        optimizer={"name": "adamw", "lr": 0.03, **ADAM, "weightDecay": 0.2}, clip=None, epochs=3, seed=21),
        "evals": [{"file": "expected_eval.json"}],
        "predicts": [{"file": "expected_predict.csv", "data": "val.csv"}],
        "mistakes": ["adamw_coupled", "adamw_no_lr", "adamw_decay_after", "wd_ignored"]}


def case_sgd_wd(trial):
    """sgd-momentum-wd-gru"""
    clip = [0.5, 0.4, 0.7, 0.3, 0.6][trial % 5]
    return {**sequence_case(
        trial_rs(1202, trial), "sgd-momentum-wd-gru",
        "sgd with momentum 0.9 and weightDecay 0.05 (torch.optim.SGD weight_decay: the step uses "
        "g + weightDecay*p, g being the clipped gradient, before the momentum buffer); clip_grad_norm_ "
        "active on most updates (so decay before clipping shows); GRU (H 4), 7 sequences in batches of 3, "
        "2 targets with empty cells; no validation data (epochs.csv: empty val_loss, no metric columns)",
        ["g5", "g2", "g8", "g1", "g7", "g3", "g4"], [9, 6, 11, 7, 10, 5, 8], "run", ["a", "b", "c"], ["y1", "y2"],
        cell="gru", hidden=4, batchSize=3, bptt={"truncate": 5, "stride": 5},
        optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9, "weightDecay": 0.05}, clip={"norm": clip}, epochs=3,
        seed=22),
        "min_clipped": 0.4, "mistakes": ["wd_ignored", "wd_before_clip"]}


def case_adam_l2(trial):
    """adam-l2-elman"""
    clip = [0.05, 0.08, 0.03, 0.1][trial % 4]
    return {**sequence_case(
        trial_rs(1303, trial), "adam-l2-elman",
        "adam with weightDecay 0.05 (torch.optim.Adam weight_decay: coupled L2, g + weightDecay*p "
        "added to the clipped gradient inside the step; not AdamW's decoupled decay); clip_grad_value_ "
        "active; 2-layer tanh Elman (H 4), overlapping TBPTT truncate 4 stride 2; validationSplit 0.25 "
        "holds out the last 2 of 8 sequences: val metrics in epochs.csv, best.safetensors, eval without --data",
        ["e4", "e1", "e7", "e3", "e9", "e2", "e8", "e5"], [9, 7, 10, 6, 8, 9, 7, 6], "series", ["x1", "x2"], ["y"],
        held_out=2, in_file=True, validationSplit=0.25, hidden=4, layers=2, batchSize=3,
        bptt={"truncate": 4, "stride": 2}, optimizer=adam(0.02, weightDecay=0.05), clip={"value": clip}, epochs=3,
        seed=23),
        "min_clipped": 0.5, "evals": [{"file": "expected_eval.json"}],
        "mistakes": ["wd_ignored", "wd_before_clip", "adam_decoupled"]}


def case_step(trial):
    """schedule-step-elman"""
    return {**sequence_case(
        trial_rs(1404, trial), "schedule-step-elman",
        "schedule step (StepLR stepSize 2, gamma 0.5) stepped once after each epoch: every update of "
        "epochs 1-2 uses lr 0.1, of epochs 3-4 0.05, of epoch 5 0.025 (updates.csv lr column); SGD "
        "momentum 0.5 (its buffer carries across the rate changes); tanh Elman (H 5); no validation data",
        ["s1", "s2", "s3", "s4", "s5", "s6"], [7, 9, 6, 8, 7, 5], "seq", ["u"], ["y"],
        hidden=5, batchSize=3, bptt={"truncate": 4, "stride": 4}, optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.5},
        clip=None, epochs=5, schedule={"name": "step", "stepSize": 2, "gamma": 0.5}, seed=24),
        "mistakes": ["no_schedule", "sched_early"]}


def case_cosine(trial):
    """schedule-cosine-gru"""
    return {**sequence_case(
        trial_rs(1505, trial), "schedule-cosine-gru",
        "schedule cosine (torch.optim.lr_scheduler.CosineAnnealingLR, tMax 3, etaMin 0.004, stepped once "
        "per epoch in torch 1.13's recursive form) over 7 epochs: the rate falls to etaMin at epoch 4 "
        "and, past tMax, rises again (epoch 7 back at 0.02), as torch's does; AdamW (weightDecay 0.05, "
        "so the decay follows the scheduled lr); GRU (H 4), 6 sequences in batches of 2",
        ["c2", "c5", "c1", "c6", "c3", "c4"], [6, 8, 7, 5, 9, 6], "seq", ["a", "b"], ["y"],
        cell="gru", hidden=4, batchSize=2, bptt={"truncate": 5, "stride": 5},
        optimizer={"name": "adamw", "lr": 0.02, **ADAM, "weightDecay": 0.05}, clip=None, epochs=7,
        schedule={"name": "cosine", "tMax": 3, "etaMin": 0.004}, seed=25),
        "mistakes": ["no_schedule", "sched_early", "cosine_clamped", "adamw_coupled"]}


def reductions(least, floor=None):
    """The plateau scenario: at least `least` reductions (and the rate ending at minLr `floor`)."""
    def scenario(R, lrs):
        knife(len(set(lrs)) - 1 >= least, f"the plateau schedule reduced {len(set(lrs)) - 1} times (< {least})")
        knife(floor is None or lrs[-1] == floor, f"the rate ends at {lrs[-1]}, not at minLr {floor}")
    return scenario


def case_plateau_val(trial):
    """schedule-plateau-val-lstm"""
    thr = [0.1, 0.15, 0.2, 0.08][trial % 4]
    return {**sequence_case(
        trial_rs(1606, trial), "schedule-plateau-val-lstm",
        f"schedule plateau (ReduceLROnPlateau mode min, threshold_mode rel, factor 0.5, patience 1, "
        f"threshold {thr}, cooldown 2, minLr 0.02) fed each epoch's val_loss after validation: the rate "
        f"is reduced twice, 0.05 -> 0.025 -> 0.02 (minLr clamps 0.0125; a later reduction changes "
        f"nothing), the cooldown changes when; Adam lr 0.05; LSTM (H 4); validation data val.csv (val "
        f"metrics in epochs.csv)",
        ["p3", "p1", "p6", "p2", "p5", "p4", "q1", "q2"], [8, 6, 9, 7, 8, 6, 9, 7], "seq", ["a", "b"], ["y"],
        held_out=2, data=dict(t_scale=0.5), cell="lstm", hidden=4, batchSize=3, bptt={"truncate": 4, "stride": 4},
        optimizer=adam(0.05), clip=None, epochs=12, seed=26,
        schedule={"name": "plateau", "factor": 0.5, "patience": 1, "threshold": thr, "cooldown": 2, "minLr": 0.02}),
        "scenario": reductions(2, floor=0.02),
        "mistakes": ["plateau_no_cooldown", "plateau_abs", "plateau_patience_ge", "plateau_fed_train",
                     "plateau_min_lr_ignored"]}


def case_plateau_train(trial):
    """schedule-plateau-train-elman"""
    thr = [0.2, 0.25, 0.3, 0.15][trial % 4]
    return {**sequence_case(
        trial_rs(1707, trial), "schedule-plateau-train-elman",
        f"schedule plateau without validation data: fed each epoch's train_loss (the mean of its update "
        f"losses); factor 0.3, patience 1, threshold {thr} (relative), cooldown 1; reductions happen; SGD lr "
        f"0.3 without momentum; tanh Elman (H 4)",
        ["r1", "r2", "r3", "r4", "r5", "r6"], [7, 8, 6, 9, 7, 8], "seq", ["u", "v"], ["y"],
        data=dict(t_scale=0.5), hidden=4, batchSize=3, bptt={"truncate": 4, "stride": 4},
        optimizer={"name": "sgd", "lr": 0.3, "momentum": 0.0}, clip=None, epochs=10, seed=27,
        schedule={"name": "plateau", "factor": 0.3, "patience": 1, "threshold": thr, "cooldown": 1, "minLr": 0.0}),
        "scenario": reductions(2), "mistakes": ["plateau_no_cooldown", "plateau_abs", "plateau_patience_ge"]}


def case_early(trial):
    """early-stopping-gru"""
    md, lr, E = [0.006, 0.004, 0.01, 0.003][trial % 4], [0.01, 0.015, 0.008][trial % 3], 20

    def scenario(R, lrs):
        knife(R.stopped is not None and 4 <= R.stopped < E, f"early stopping at {R.stopped}")
    return {**sequence_case(
        trial_rs(1808, trial), "early-stopping-gru",
        f"earlyStopping patience 2, minDelta {md}: an epoch improves when val_loss < best - minDelta, best "
        f"being the val_loss of the last improving epoch (Keras' EarlyStopping); training stops after 2 "
        f"epochs in a row without improvement, well before epochs {E} (exit 0): epochs.csv and "
        f"updates.csv end there, last.safetensors is that epoch's; best.safetensors is the epoch with the "
        f"lowest val_loss, here an epoch that improved by less than minDelta; GRU (H 5), Adam lr {lr}, "
        f"validation data val.csv",
        ["k4", "k2", "k6", "k1", "k5", "k3", "m1", "m2"], [8, 7, 9, 6, 8, 7, 8, 9], "seq", ["a", "b"], ["y"],
        held_out=2, cell="gru", hidden=5, batchSize=3, bptt={"truncate": 4, "stride": 4}, optimizer=adam(lr),
        clip=None, epochs=E, seed=28, earlyStopping={"patience": 2, "minDelta": md}),
        "scenario": scenario, "mistakes": ["es_no_min_delta", "es_patience_plus1"]}


def case_classify(trial):
    """classify-val-lstm"""
    case = sequence_case(
        trial_rs(1909, trial), "classify-val-lstm",
        "classification with validation data (validationSplit 0.3: the last round(2.4) = 2 of 8 "
        "sequences): epochs.csv gets val_accuracy after seconds; classes [hi, lo, mid] by code point; "
        "LSTM (H 4), SGD momentum with weightDecay 0.01; eval without --data (accuracy, perplexity)",
        ["t3", "t8", "t1", "t5", "t2", "t7", "t4", "t6"], [9, 7, 10, 8, 6, 9, 8, 7], "trip", ["p", "q"], ["regime"],
        held_out=2, in_file=True, data=dict(labels=["lo", "mid", "hi"]), validationSplit=0.3,
        task="classification", cell="lstm", hidden=4, batchSize=3, bptt={"truncate": 3, "stride": 3},
        optimizer={"name": "sgd", "lr": 0.3, "momentum": 0.5, "weightDecay": 0.01}, clip={"norm": 2.0}, epochs=3,
        seed=29)
    same = case["check_data"]

    def check(D):
        same(D)
        require(D.classes == ["hi", "lo", "mid"], f"classes {D.classes}")
    return {**case, "check_data": check, "evals": [{"file": "expected_eval.json"}], "mistakes": ["wd_ignored"]}


def missing_case(trial, base, name, how, cell_name, normalize, mistakes, about, validation="file"):
    in_file = validation != "file"
    case = sequence_case(
        trial_rs(base, trial), name,
        f"data.missing {{values: ['', NA, NaN], inputs: {how}}}: {about}; missing target cells (any of the "
        f"three texts) masked; normalize {'on' if normalize else 'off'}; sequence n2 starts with two "
        f"missing u cells; {cell_name} (H 3), Adam lr 0.03; "
        + ("validationSplit 0.25 holds out h1, h2 (not part of the training mean)" if in_file
           else "validation data val.csv (its first sequence starts with a missing u)")
        + "; eval --json and predict over data.csv, whose cells are missing too",
        ["n2", "n5", "n1", "n4", "n3", "n6", "h1", "h2"], [8, 7, 9, 6, 8, 7, 7, 8], "unit", ["u", "v"], ["y"],
        held_out=2, in_file=in_file, missing_inputs=0.1,
        data=dict(loc=[5, -2], scale=[2, 1], t_loc=3, t_scale=2, blank=0.12, texts=MISSING),
        **({"validationSplit": 0.25} if in_file else {}),
        normalize=normalize, cell=cell_name, hidden=3, batchSize=3, bptt={"truncate": 4, "stride": 4},
        optimizer=adam(0.03), clip=None, epochs=3, seed=30, missing={"values": MISSING, "inputs": how})
    return {**case, "evals": [{"file": "expected_eval.json", "data": "data.csv"}] +
                             ([] if in_file else [{"file": "expected_eval_val.json"}]),
            "predicts": [{"file": "expected_predict.csv", "data": "data.csv"}],
            "mistakes": mistakes,
            "notes": {"readings": [
                "training mean of an input column = the mean of its present (non-missing) cells in the training "
                "split (validation held out); normalisation stats over the same present cells (before any fill)",
                "ffill = the previous row's value after filling, i.e. the last present value of the sequence, or "
                "the training mean while there is none yet; zero with normalize on = normalised 0 = the training "
                "mean"]}}


def case_ffill(trial):
    """missing-ffill-lstm"""
    return missing_case(trial, 2010, "missing-ffill-lstm", "ffill", "lstm", True,
                        ["ffill_first_zero", "fill_mean_with_val", "stats_after_fill"],
                        "a missing input cell takes the same column's previous value in its sequence, the "
                        "training mean at a sequence's first row")


def case_mean(trial):
    """missing-mean-gru"""
    return missing_case(trial, 2111, "missing-mean-gru", "mean", "gru", True,
                        ["fill_mean_with_val", "stats_after_fill"],
                        "a missing input cell takes the column's training mean", validation="split")


def case_zero(trial):
    """missing-zero-elman"""
    return missing_case(trial, 2212, "missing-zero-elman", "zero", "elman", True, ["zero_raw"],
                        "a missing input cell is 0 after normalisation (= the training mean in original units)")


def case_zero_raw(trial):
    """missing-zero-raw-elman"""
    return missing_case(trial, 2313, "missing-zero-raw-elman", "zero", "elman", False, ["zero_as_mean"],
                        "a missing input cell is 0 (normalize off)")


def case_set(trial):
    """set-override"""
    return {**sequence_case(
        trial_rs(2414, trial), "set-override",
        "`rnn train config.yaml --out run --set training.epochs=3 --set training.optimizer.lr=0.05` over a "
        "config saying epochs 5, lr 0.2: 3 epochs at lr 0.05 (values read as YAML), and the checkpoint's "
        "config records epochs 3 and lr 0.05; tanh Elman (H 3), SGD momentum 0.5",
        ["o1", "o2", "o3", "o4", "o5"], [7, 6, 8, 5, 7], "seq", ["u"], ["y"],
        hidden=3, batchSize=2, bptt={"truncate": 4, "stride": 4}, optimizer={"name": "sgd", "lr": 0.2, "momentum": 0.5},
        clip=None, epochs=5, seed=31),
        "set": ["training.epochs=3", "training.optimizer.lr=0.05"],
        "config_check": {"training.epochs": 3, "training.optimizer.lr": 0.05},
        "mistakes": ["set_ignored"]}


# ------------------------------------------------------------------ the forecasting cases

def wave(rs, T, phase, loc, amp, noise=0.05):
    return [cell(loc + amp * math.sin(0.45 * t + phase) + noise * amp * rs.normal()) for t in range(T)]


def forecast_series():
    """forecast-elman-series"""
    rs = np.random.RandomState(3001)
    a, b = wave(rs, 40, 0.0, 10, 2), wave(rs, 40, 1.3, -3, 0.5)
    rows = [[f"2024-03-{1 + t // 24:02d}T{t % 24:02d}", a[t], b[t]] for t in range(40)]
    cfg = forecast_config(None, ["a", "b"], ["a", "b"], True, "elman", 5, 1)
    return {
        "name": "forecast-elman-series",
        "about": "rnn forecast on one long series (no sequenceColumn: the whole 40-row file is one sequence): tanh "
                 "Elman (H 5) with shift 1, inputs [a, b] = targets [a, b], normalize on with the checkpoint's "
                 "hand-picked stats (not the data's); t = 40..44 (--horizon 5) and t = 40 alone (--horizon 1); "
                 "a column `time` that is not an input",
        "data": (["time", "a", "b"], rows),
        "models": [{"file": "model.safetensors", "config": cfg, "stats": {"a": (9.0, 2.5), "b": (-2.8, 0.6)},
                    "W": mt.random_init(rs, 2, 5, 1, 2, True, scale=1.5), "horizons": [5, 1]}],
    }


def forecast_sequences():
    """forecast-lstm-sequences"""
    rs = np.random.RandomState(3002)
    ids, lens = ["u2", "u10", "u1", "u7"], [7, 3, 10, 1]
    rows = []
    for k, (sid, T) in enumerate(zip(ids, lens)):
        a, b = wave(rs, T, 0.7 * k, 0.2, 0.8), wave(rs, T, 0.7 * k + 2.0, -0.1, 0.6)
        rows += [[sid, a[t], b[t]] for t in range(T)]
    cfg = forecast_config("unit", ["a", "b"], ["a", "b"], False, "lstm", 4, 2)
    return {
        "name": "forecast-lstm-sequences",
        "about": "rnn forecast per sequence: 2-layer LSTM (H 4), shift 1, inputs = targets [a, b], normalize off; 4 "
                 "sequences of 7, 3, 10 and 1 rows (ids in file order, not sorted), each run from s_0 = (0, 0) over "
                 "its rows, then 5 steps fed its own forecasts: t = n..n+4 under each id",
        "data": (["unit", "a", "b"], rows),
        "models": [{"file": "model.safetensors", "config": cfg, "W": mt.random_init(rs, 2, 4, 2, 2, True, scale=1.5, cell="lstm")}],
    }


def forecast_normalized():
    """forecast-gru-normalize"""
    rs = np.random.RandomState(3003)
    ids, lens = ["north", "east,2", "south"], [6, 9, 4]
    rows = []
    for k, (sid, T) in enumerate(zip(ids, lens)):
        lv, fl, tp = wave(rs, T, k, 52, 9), wave(rs, T, k + 1.1, 3.2, 1.4), wave(rs, T, 0.5 * k, 12, 3)
        rows += [[sid, tp[t], lv[t], fl[t]] for t in range(T)]
    cfg = forecast_config("site", ["flow", "level"], ["level", "flow", "temp"], True, "gru", 4, 1)
    return {
        "name": "forecast-gru-normalize",
        "about": "rnn forecast with normalize on: GRU (H 4), shift 1, inputs [flow, level] (not in the targets' "
                 "order) and targets [level, flow, temp]: every input is a target, so the model is autoregressive; "
                 "each forecast is mapped to original units, then the flow and level forecasts are normalised "
                 "again as the inputs flow, level (by name, not position); temp is forecast but not fed; output "
                 "columns site, t, level, flow, temp; an id needing CSV quotes (east,2)",
        "data": (["site", "temp", "level", "flow"], rows),
        "models": [{"file": "model.safetensors", "config": cfg,
                    "stats": {"flow": (3.0, 1.5), "level": (50.0, 10.0), "temp": (12.5, 4.0)},
                    "W": mt.random_init(rs, 2, 4, 1, 3, True, scale=1.5, cell="gru"), "mistakes": ["feed_by_position"]}],
    }


def forecast_refused():
    """forecast-refused"""
    rs = np.random.RandomState(3004)
    lv, rn = wave(rs, 10, 0.0, 4, 1), wave(rs, 10, 2.0, 1, 0.5)
    return {
        "name": "forecast-refused",
        "about": "models rnn forecast must refuse with exit 2: inputs [level, rainfall] with targets [level] "
                 "(rainfall is not a target; the message names it), and inputs = targets [level] trained with shift 0",
        "data": (["level", "rainfall"], [[lv[t], rn[t]] for t in range(10)]),
        "models": [
            {"file": "not-autoregressive.safetensors", "exit": 2, "stderr": ["rainfall"],
             "config": forecast_config(None, ["level", "rainfall"], ["level"], False, "elman", 3, 1),
             "W": mt.random_init(rs, 2, 3, 1, 1, True), "horizons": [3]},
            {"file": "shift0.safetensors", "exit": 2,
             "config": forecast_config(None, ["level"], ["level"], False, "elman", 3, 1, shift=0),
             "W": mt.random_init(rs, 1, 3, 1, 1, True), "horizons": [3]},
        ],
    }


TRAINING = [case_adamw, case_sgd_wd, case_adam_l2, case_step, case_cosine, case_plateau_val, case_plateau_train,
            case_early, case_classify, case_ffill, case_mean, case_zero, case_zero_raw, case_set]
FORECAST = [forecast_series, forecast_sequences, forecast_normalized, forecast_refused]


README_HEAD = """# Golden cases for training control and forecasting (SPEC §6, §7)

Generated by `scripts/golden/make_control_fixtures.py` (an independent PyTorch 1.13 float64 reference);
do not edit by hand, rerun `/usr/bin/python3 scripts/golden/make_control_fixtures.py` (deterministic:
byte-identical on a rerun; `--only NAME` for one case, `--out DIR` to write elsewhere). Checked by
`test/golden-control.test.ts` through `test/helpers/golden.ts` (the format of `test/golden/train`).

`case.json`: `commands` (run in a copy of the folder, in order), `exit` (when present: the exit code each
command must end with; otherwise 0), `checks` (which output goes with which expected file, as in
test/golden/train; `header: true` compares the CSV header line exactly; `kind: stderr` lists strings the
command's stderr must contain; a checkpoint's `metadata.config` lists config values, by dotted path,
the checkpoint's `config` metadata must hold), `tol` (|got - expected| <= tol * (1 + |expected|)), `notes`
(lr per epoch, updates per epoch, early stop, normalisation stats and training means, self-check
figures, and how far each named mistake moves the results).

The training cases use the reference's torch modules (nn.RNN / nn.LSTM / nn.GRU + nn.Linear, float64),
torch.optim.SGD / Adam / AdamW and torch.optim.lr_scheduler.StepLR / CosineAnnealingLR /
ReduceLROnPlateau themselves; every config key is written out (shuffle false, float64,
model.init: init.safetensors, output.dir: run).

## Readings of SPEC the reference makes

- Schedules are stepped once after each epoch's validation (and after the early-stopping test is
  fed the same val_loss); the `lr` of an update is `param_groups[0]["lr"]` when it steps, so every update
  of epoch e shows the rate set after epoch e-1. cosine is torch 1.13's CosineAnnealingLR stepped
  without an epoch argument (its recursive form); past tMax it rises again (period 2*tMax), it is not
  held at etaMin. plateau is ReduceLROnPlateau(mode min, threshold_mode rel) with torch's eps 1e-8
  (a reduction smaller than 1e-8 is skipped; minLr clamps).
- weightDecay: sgd / adam add weightDecay*p to the (clipped) gradient inside the step; adamw scales
  p by (1 - lr*weightDecay) with the update's (scheduled) lr, then takes the Adam step. grad_norm in
  updates.csv is the norm of the loss gradient before clipping, without the decay term.
- Early stopping (Keras): best starts at +inf; an epoch improves when val_loss < best - minDelta, and
  then best = its val_loss; after `patience` epochs in a row without improvement training stops after
  that epoch (its rows, its last.safetensors). best.safetensors is, as without early stopping, the
  epoch with the lowest val_loss. With minDelta > 0 that can be an epoch that did not count as an
  improvement (early-stopping-gru: see its note `best_epoch`); Keras' restore_best_weights would take
  the last improving epoch instead.
- Missing values: a cell whose text is in missing.values is missing (inputs and targets; the
  sequence column is never). The training mean of an input column is the mean of its present cells
  in the training split (validation held out first: data.validation or validationSplit); with
  normalize the stats are over those same present cells, before any fill. ffill takes the previous
  row's (filled) value of the sequence, so the last present value, or the training mean while there
  is none yet; mean the training mean; zero 0 in normalised units (= the training mean in original
  units) with normalize, 0 without. Missing target cells are masked. eval, predict (and forecast)
  fill with the checkpoint's training means.
- `eval` `n` counts supervised positions; every case with an eval has one target, so positions =
  elements.
- `--set key=value`: the value is read as YAML and replaces the key at its dotted path before
  anything else; the checkpoint's config records the result.
- Forecast (SPEC §7): each sequence runs from s_0 over its n rows; the output after row n-1
  (un-normalised) is row n's forecast; for k >= 1 each input column is fed the forecast of the target
  of the same name (original units, then normalised with that column's stats), so targets that are not
  inputs are forecast but not fed back. t counts from n. A model with shift != 1, or an input that is
  not a target, is refused (exit 2).

## Cases
"""


def write_readme(out_root, results):
    parts = [README_HEAD]
    for cj in results:
        parts.append(f"### `{cj['name']}`\n\n{cj['about']}.\n")
        cmds = cj["commands"]
        codes = cj.get("exit", [0] * len(cmds))
        parts.append("Commands: " + "; ".join("`rnn " + " ".join(c) + "`" + (f" (exit {x})" if x else "")
                                               for c, x in zip(cmds, codes)) + ".\n")
        n = cj.get("notes")
        if n:
            facts = [f"updates per epoch {n['updates_per_epoch']}",
                     "lr per epoch " + ", ".join(num(x) for x in n["lr_per_epoch"])]
            for k in ("early_stopping", "best_epoch", "classes"):
                if k in n:
                    facts.append(f"{k.replace('_', ' ')} {n[k]}")
            facts.append("named mistakes told apart: " + ", ".join(n["mistakes_told_apart"]))
            parts.append("Facts: " + "; ".join(facts) + ".\n")
    parts.append("## Named mistakes\n\n" + "\n".join(f"- `{k}`: {v}" for k, v in MISTAKES.items()) + "\n")
    write_text(os.path.join(out_root, "README.md"), "\n".join(parts))


def build(spec, out_root):
    say(f"case {spec.__doc__.strip()}")
    return run_trials(spec, build_training, out_root) if spec in TRAINING else build_forecast(spec(), out_root)


def main(argv):
    say(f"torch {torch.__version__}, numpy {np.__version__}")
    return run_generator(argv, __doc__.split("\n")[0], DEFAULT_OUT, TRAINING + FORECAST, lambda s: s.__doc__.strip(),
                         build, write_readme, say)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
