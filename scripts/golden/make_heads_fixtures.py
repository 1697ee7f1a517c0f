#!/usr/bin/python3
"""Golden probabilistic-forecast fixtures for `rnn` (test/golden/heads/<case>/), made by an independent
PyTorch (float64) reference of SPEC §10 (/work/shared/SPEC.md) on top of §1-§7.

Run from anywhere (needs Debian's python3-torch 1.13, python3-numpy, python3-scipy, python3-yaml):

    /usr/bin/python3 scripts/golden/make_heads_fixtures.py              # (re)write test/golden/heads/
    /usr/bin/python3 scripts/golden/make_heads_fixtures.py --out DIR    # write the cases under DIR instead
    /usr/bin/python3 scripts/golden/make_heads_fixtures.py --only NAME  # one case (repeatable)

Deterministic: a second run writes byte-identical files (check with
`sha256sum test/golden/heads/*/* | sha256sum` before and after, or diff a run with --out).

Training cases (the case.json format of make_train_fixtures.py, checked by test/golden-heads.test.ts):
1. writes the inputs: config.yaml (every SPEC §3 key explicit plus model.likelihood and
   model.quantiles, one of them null; shuffle false, dtype float64, model.init: init.safetensors,
   output.dir: run), data.csv (and val.csv), init.safetensors (head [P·O, H]);
2. re-reads those files and trains the reference on them: torch's own nn.RNN / nn.LSTM / nn.GRU +
   nn.Linear(H, P·O) in float64, one step at a time so that every TBPTT window starts from the state
   carried to its first step; the head read parameter-major (output k·O + o is parameter k of target
   o); torch.nn.functional.softplus; the loss of a window the pooled mean over its supervised cells of
   -torch.distributions.Normal / StudentT / NegativeBinomial(...).log_prob(y), or of the pinball loss
   averaged over the quantiles, in model (normalised) units (negativeBinomial targets raw counts);
   torch.optim.SGD / Adam / AdamW; clip_grad_norm_;
3. writes expected_last.safetensors, expected_updates.csv, expected_epochs.csv (with validation data:
   val_mse,val_rmse,val_mae (when the model has a mean or a 0.5 quantile) then val_nll, val_crps
   (gaussian, studentT) or val_pinball after `seconds`), expected_best.safetensors, and
   trained.safetensors (the reference's last checkpoint, an input: `eval` and `predict` run on it,
   so they do not depend on rnn's training) with expected_eval*.json and expected_predict*.csv;
4. self-checks (exit 1 on failure):
   - the data read back equals the generator's (ids, order, inputs, target cells);
   - epoch 1: every window's loss == an independent numpy forward (make_train_fixtures.np_forward) with
     hand-written -log p (scipy.special.gammaln for lgamma) or pinball loss, every window's carried
     start state == the numpy replay, and torch's gradients == central finite differences of the numpy
     loss, every parameter component;
   - eval figures two ways: nll == -scipy.stats logpdf / logpmf in original units (== the model-unit
     -log p + log s); crps closed forms (Gaussian; Student-t as scoringRules) == numerical integration
     of (F(x) - 1{x >= y})^2; coverage80 by F^-1 == by F(y) in [0.1, 0.9]; pinball == an independent
     numpy formula; val_loss == the numpy loss;
   - no knife edges: pre-clip norms >= 1% from the threshold, every pinball residual (training windows,
     model units) >= 1e-4 from its kink, targets >= 1e-6 (relative to the scale) from an interval end or
     a quantile in coverage figures, 1e-12 relative gradient noise moves every result by < 1e-11;
   - each case's named mistakes (target-major head, sigma = exp, sigma not mapped back, NB targets
     normalised, pinball summed over q, nu without the + 2, ...) each move some expected number by > 1e-6.
   A case whose trial fails a knife-edge check is regenerated with the next trial.
Forecast cases: writes model checkpoints (torch-layout tensors + rnn's metadata) and data files, then
rolls each model out in torch (SPEC §7, §10: the mean or the 0.5 quantile fed back) into
expected_forecast_*.csv, checked against a numpy forward re-run from s_0 over the extended series.
bad-input holds configs and data `rnn train` must refuse (exit 2, stderr naming the file and the key or
column, and the `--out` folder not created: case.json check kind `absent`).
"""
import json
import math
import os
import sys
from types import SimpleNamespace

import numpy as np
import scipy.integrate
import scipy.special
import scipy.stats
import torch
import torch.nn.functional as F
import yaml
from torch.distributions import NegativeBinomial, Normal, StudentT

import make_control_fixtures as mc  # the §6/§7 reference: Net (torch modules step by step), optimizers, forecast config
import make_train_fixtures as mt    # the §1-§5 reference: config.yaml writer, TBPTT windows, numpy forward, init
from common import (CKPT_FORMAT, REPO, cell, checkpoint_meta, csv_text, fresh_dir, max_rel,
                    normalization_json, num, param_names, read_safetensors, read_table, require, run_generator,
                    write_safetensors, write_text)

torch.set_num_threads(1)
F64 = torch.float64
DEFAULT_OUT = os.path.join(REPO, "test", "golden", "heads")
TOL = 1e-9
ADAM = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
say, knife, TrialRejected = mt.say, mt.knife, mt.TrialRejected
PARAMS = {"gaussian": 2, "studentT": 3, "negativeBinomial": 2}
"""Parameters per target of each likelihood (SPEC §10's P)."""

MISTAKES = {
    "head_target_major": "head outputs read target-major (output o·P + k), not parameter-major (k·O + o)",
    "sigma_exp": "sigma = exp(a1) instead of softplus(a1)",
    "sigma_not_mapped": "sigma (and crps, coverage80, nll) left in model units, not sigma·s",
    "nll_no_log_s": "eval nll in model units (without + log s)",
    "gaussian_no_const": "the Gaussian -log p without its 0.5·log 2π",
    "nu_no_plus2": "nu = softplus(a2), without the + 2",
    "t_crps_as_gaussian": "studentT crps by the Gaussian closed form",
    "nb_targets_normalised": "negativeBinomial targets z-scored like a location-scale target (and mu mapped back)",
    "nb_alpha_as_r": "negativeBinomial total_count = alpha instead of 1/alpha",
    "pinball_sum_q": "pinball loss summed over the quantiles instead of averaged",
    "pinball_sign": "pinball residual e = yhat - y instead of y - yhat",
    "quantiles_not_mapped": "quantile outputs left in model units (not yhat·s + m)",
    "median_as_mean": "mse/rmse/mae of the mean of the quantiles instead of yhat_0.5",
    "feed_model_units": "forecast: the mean fed back as the next input without mapping it to original units first",
    "feed_first_quantile": "forecast: the first quantile fed back instead of yhat_0.5",
    "nb_feed_raw": "forecast: the negativeBinomial mean fed back as a raw count, not normalised as an input",
}


def js_str(q):
    """A quantile level as JavaScript's String(q) prints it (the reference keeps to plain decimals)."""
    r = repr(float(q))
    require("e" not in r, f"quantile {q}: not a plain decimal")
    return r[:-2] if r.endswith(".0") else r


# ------------------------------------------------------------------ the head (SPEC §10)

class Head:
    """What a config's model section says about the head: likelihood family or quantile levels, P, O."""

    def __init__(self, model, O):
        self.fam, self.qs = model.get("likelihood"), model.get("quantiles")
        require((self.fam is None) != (self.qs is None), "exactly one of likelihood / quantiles")
        self.P = len(self.qs) if self.qs else PARAMS[self.fam]
        self.O = O
        self.median = self.qs.index(0.5) if self.qs and 0.5 in self.qs else None

    def split(self, a, mut=frozenset()):
        """Raw outputs [..., P·O] -> P arrays [..., O]: parameter k of target o is output k·O + o."""
        if "head_target_major" in mut:
            return [a[..., k::self.P] for k in range(self.P)]
        return [a[..., k * self.O:(k + 1) * self.O] for k in range(self.P)]

    def dist_params(self, A, mut=frozenset()):
        """torch: raw outputs (split) -> the distribution's parameters in model units."""
        if self.fam in ("gaussian", "studentT"):
            p = {"mu": A[0], "sigma": torch.exp(A[1]) if "sigma_exp" in mut else F.softplus(A[1])}
            if self.fam == "studentT":
                p["nu"] = F.softplus(A[2]) + (0.0 if "nu_no_plus2" in mut else 2.0)
            return p
        return {"mu": F.softplus(A[0]), "alpha": F.softplus(A[1])}

    def loss(self, a, y, mask, mut=frozenset()):
        """torch: the pooled mean over the supervised cells (mask [B,T,O]) of the loss of one cell."""
        A = [t[mask] for t in self.split(a, mut)]
        yy = y[mask]
        if self.qs:
            yq = torch.stack(A, -1)
            e = (yq - yy[:, None]) if "pinball_sign" in mut else (yy[:, None] - yq)
            q = torch.tensor(self.qs, dtype=F64)
            rho = torch.maximum(q * e, (q - 1) * e)
            return (rho.sum(1) if "pinball_sum_q" in mut else rho.mean(1)).mean()
        p = self.dist_params(A, mut)
        if self.fam == "gaussian":
            lp = Normal(p["mu"], p["sigma"]).log_prob(yy)
            if "gaussian_no_const" in mut:
                lp = lp + 0.5 * math.log(2 * math.pi)
        elif self.fam == "studentT":
            lp = StudentT(p["nu"], p["mu"], p["sigma"]).log_prob(yy)
        else:
            al, mu = p["alpha"], p["mu"]
            r = al if "nb_alpha_as_r" in mut else 1 / al
            lp = NegativeBinomial(total_count=r, probs=al * mu / (1 + al * mu),
                                  validate_args="nb_targets_normalised" not in mut).log_prob(yy)
        return -lp.mean()

    def np_cell_loss(self, a, y):
        """numpy, written out (no torch): the raw outputs of N cells split by parameter (a: P arrays [N])
        and their targets y [N] -> the loss of every cell [N] (-log p, or the pinball loss averaged over
        the quantiles)."""
        if self.qs:
            e = y[:, None] - np.stack(a, -1)
            q = np.array(self.qs)
            return np.where(e >= 0, q * e, (q - 1) * e).mean(1)
        if self.fam == "negativeBinomial":
            mu, al = np_softplus(a[0]), np_softplus(a[1])
            r = 1 / al
            return -(scipy.special.gammaln(y + r) - scipy.special.gammaln(r) - scipy.special.gammaln(y + 1)
                     - r * np.log1p(al * mu) + y * (np.log(al * mu) - np.log1p(al * mu)))
        mu, sig = a[0], np_softplus(a[1])
        z = (y - mu) / sig
        if self.fam == "gaussian":
            return 0.5 * z * z + np.log(sig) + 0.5 * math.log(2 * math.pi)
        nu = 2 + np_softplus(a[2])
        return -(scipy.special.gammaln((nu + 1) / 2) - scipy.special.gammaln(nu / 2) - 0.5 * np.log(nu * math.pi)
                 - np.log(sig) - (nu + 1) / 2 * np.log1p(z * z / nu))

    def np_loss(self, a, y, mask):
        """numpy: the pooled loss of raw outputs a [B,T,P·O] against targets y [B,T,O] on mask."""
        A = [a[..., k * self.O:(k + 1) * self.O][mask] for k in range(self.P)]
        return float(np.mean(self.np_cell_loss(A, y[mask])))

    def columns(self, targets, prefix):
        """predict (prefix pred_) / forecast (prefix "") columns after t (SPEC §10)."""
        if self.qs:
            lead = [f"{prefix}{c}" for c in targets] if not prefix else []
            return lead + [f"{prefix}{c}_q{js_str(q)}" for q in self.qs for c in targets]
        extra = {"gaussian": ["sigma"], "studentT": ["sigma", "nu"], "negativeBinomial": ["alpha"]}[self.fam]
        return [f"{prefix}{c}" for c in targets] + [f"{k}_{c}" for k in extra for c in targets]


def np_softplus(x):
    """torch.nn.functional.softplus (beta 1, threshold 20) in numpy."""
    return np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20))))


def original(hd, a, m, s, mut=frozenset()):
    """Raw outputs a [..., P·O] (torch) -> numpy parameters in original units, each [..., O]: mean (mu or
    yhat_0.5), sigma, nu, alpha, q (a list of Q arrays); m, s the targets' mean / std (0 / 1 for NB)."""
    A = hd.split(a, mut)
    if hd.qs:
        qn = [x.numpy() for x in A]
        qo = qn if "quantiles_not_mapped" in mut else [x * s + m for x in qn]
        return {"q": qo, "mean": None if hd.median is None else qo[hd.median]}
    p = {k: v.numpy() for k, v in hd.dist_params(A, mut).items()}
    out = {"mean": p["mu"] * s + m}
    if "sigma" in p:
        out["sigma"] = p["sigma"] if "sigma_not_mapped" in mut else p["sigma"] * s
    for k in ("nu", "alpha"):
        if k in p:
            out[k] = p[k]
    return out


def row_values(hd, par, t, forecast=False):
    """The numbers of one output row (step t) after t, in Head.columns order."""
    if hd.qs:
        lead = [par["mean"][t]] if forecast else []
        return np.concatenate(lead + [par["q"][k][t] for k in range(hd.P)])
    extra = {"gaussian": ["sigma"], "studentT": ["sigma", "nu"], "negativeBinomial": ["alpha"]}[hd.fam]
    return np.concatenate([par["mean"][t]] + [par[k][t] for k in extra])


# ------------------------------------------------------------------ scores (original units)

def t_crps(z, nu):
    """CRPS of the standard Student-t (nu > 1) at z (scoringRules' closed form)."""
    B = scipy.special.beta
    return (z * (2 * scipy.stats.t.cdf(z, nu) - 1) + 2 * scipy.stats.t.pdf(z, nu) * (nu + z * z) / (nu - 1)
            - 2 * np.sqrt(nu) * B(0.5, nu - 0.5) / ((nu - 1) * B(0.5, nu / 2) ** 2))


def n_crps(z):
    """CRPS of the standard normal at z."""
    return z * (2 * scipy.stats.norm.cdf(z) - 1) + 2 * scipy.stats.norm.pdf(z) - 1 / math.sqrt(math.pi)


def crps_by_integration(cdf, y):
    """integral of (F(x) - 1{x >= y})^2 dx, numerically (the CRPS self-check)."""
    lo = scipy.integrate.quad(lambda x: cdf(x) ** 2, -np.inf, y, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
    hi = scipy.integrate.quad(lambda x: (1 - cdf(x)) ** 2, y, np.inf, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
    return lo + hi


def scores(hd, D, a, b, mut=frozenset()):
    """eval's figures after loss and n (SPEC §10), in original units, from raw outputs a [B,T,P·O]
    (torch) of batch b; -> (dict, smallest knife-edge margin)."""
    mask = b.maskn
    sh = a.shape[:2] + (hd.O,)
    m, s = np.broadcast_to(D.t_mean, sh)[mask], np.broadcast_to(D.t_std, sh)[mask]
    par = original(hd, a, np.broadcast_to(D.t_mean, sh), np.broadcast_to(D.t_std, sh), mut)
    par = {k: ([x[mask] for x in v] if k == "q" else v[mask]) for k, v in par.items() if v is not None}
    y = b.tgr[mask]
    out, margin = {}, math.inf
    if hd.qs:
        yq = np.stack(par["q"], -1)
        e = (yq - y[:, None]) if "pinball_sign" in mut else (y[:, None] - yq)
        q = np.array(hd.qs)
        rho = np.maximum(q * e, (q - 1) * e)
        out["pinball"] = float(np.mean(rho.sum(1) if "pinball_sum_q" in mut else rho.mean(1)))
        if not mut:   # an independent formula: s times the pinball loss of the normalised residual
            alt = []
            for i in range(len(y)):
                per = []
                for k, qq in enumerate(hd.qs):
                    zz = (y[i] - m[i]) / s[i] - (yq[i, k] - m[i]) / s[i]
                    per.append(s[i] * (qq * zz if zz >= 0 else (qq - 1) * zz))
                alt.append(sum(per) / len(per))
            alt = float(np.mean(alt))
            require(abs(alt - out["pinball"]) < 1e-12 * (1 + out["pinball"]), "pinball two ways")
        out["coverage"] = {js_str(qq): float(np.mean(y <= yq[:, k])) for k, qq in enumerate(hd.qs)}
        margin = float(np.min(np.abs(y[:, None] - yq) / s[:, None]))
        if hd.median is not None:
            mean = yq.mean(1) if "median_as_mean" in mut else yq[:, hd.median]
            d = mean - y
            out.update(mse=float(np.mean(d * d)), rmse=math.sqrt(float(np.mean(d * d))), mae=float(np.mean(np.abs(d))))
        return out, margin
    mu = par["mean"]
    if hd.fam == "negativeBinomial":
        al = par["alpha"]
        nll = -scipy.stats.nbinom.logpmf(y, 1 / al, 1 / (1 + al * mu))
    else:
        sig = par["sigma"]
        dist = (scipy.stats.norm(mu, sig) if hd.fam == "gaussian" else scipy.stats.t(par["nu"], mu, sig))
        nll = -dist.logpdf(y)
        if "nll_no_log_s" in mut:
            nll = nll - np.log(s)
    out["nll"] = float(np.mean(nll))
    d = mu - y
    out.update(mse=float(np.mean(d * d)), rmse=math.sqrt(float(np.mean(d * d))), mae=float(np.mean(np.abs(d))))
    if hd.fam == "negativeBinomial":
        return out, margin
    z = (y - mu) / sig
    if hd.fam == "gaussian" or "t_crps_as_gaussian" in mut:
        crps = sig * n_crps(z)
    else:
        crps = sig * t_crps(z, par["nu"])
    out["crps"] = float(np.mean(crps))
    lo, hi = dist.ppf(0.1), dist.ppf(0.9)
    out["coverage80"] = float(np.mean((lo <= y) & (y <= hi)))
    margin = float(np.min(np.minimum(np.abs(y - lo), np.abs(y - hi)) / sig))
    if not mut:
        cdf = dist.cdf(y)
        require(float(np.mean((cdf >= 0.1) & (cdf <= 0.9))) == out["coverage80"], "coverage80 by F(y)")
        for i in range(len(y)):
            one = (scipy.stats.norm(mu[i], sig[i]) if hd.fam == "gaussian"
                   else scipy.stats.t(par["nu"][i], mu[i], sig[i]))
            num_crps = crps_by_integration(one.cdf, y[i])
            require(abs(num_crps - crps[i]) < 1e-8 * (1 + abs(crps[i])), f"crps closed form {crps[i]} vs integral {num_crps}")
    return out, margin


# ------------------------------------------------------------------ data (SPEC §1, §3, §4, §10)

def whole_count(v):
    x = float(v)
    return math.isfinite(x) and x >= 0 and x == math.floor(x)


def load_data(cfg, d, mut=frozenset()):
    """The training / validation sequences from the files: inputs normalised with the training split's
    figures; regression targets too, except negativeBinomial counts (never normalised); shift applied."""
    dc = cfg["data"]
    require(dc["sequenceColumn"] and cfg["targetsAt"] == "every" and cfg["task"] == "regression",
            "this generator trains regression on sequence files, targetsAt every")
    hd = Head(cfg["model"], len(dc["targets"]))
    D = SimpleNamespace(cfg=cfg, hd=hd, inputs=dc["inputs"], targets=dc["targets"], shift=dc["shift"])
    train = read_table(os.path.join(d, dc["train"]), cfg)
    if dc["validation"]:
        val = read_table(os.path.join(d, dc["validation"]), cfg)
    elif dc["validationSplit"] > 0:
        f, cnt = dc["validationSplit"], len(train)
        require(abs(f * cnt - math.floor(f * cnt) - 0.5) > 1e-9, "validationSplit lands on .5")
        n = max(1, int(round(f * cnt)))
        train, val = train[:cnt - n], train[cnt - n:]
    else:
        val = []
    D.train_seqs, D.val_seqs = train, val
    I, O = len(D.inputs), len(D.targets)
    counts = hd.fam == "negativeBinomial"
    if counts:
        for s in train + val:
            require(all(v == "" or whole_count(v) for r in s["raw"] for v in r), "a count that is not whole")
    D.in_mean, D.in_std, D.t_mean, D.t_std, D.norm = np.zeros(I), np.ones(I), np.zeros(O), np.ones(O), None
    if dc["normalize"]:
        X = np.concatenate([s["X"] for s in train])
        D.in_mean, D.in_std = X.mean(0), np.where(X.std(0) == 0, 1.0, X.std(0))
        D.norm = [(c, (float(D.in_mean[j]), float(D.in_std[j]))) for j, c in enumerate(D.inputs)]
        if not counts or "nb_targets_normalised" in mut:
            for j, c in enumerate(D.targets):
                v = np.array([float(r[j]) for s in train for r in s["raw"] if r[j] != ""])
                D.t_mean[j], D.t_std[j] = v.mean(), v.std() or 1.0
                if not counts:
                    D.norm.append((c, (float(D.t_mean[j]), float(D.t_std[j]))))
    B = cfg["training"]["batchSize"]
    D.batches = [batch_of(D, train[i:i + B]) for i in range(0, len(train), B)]
    D.val_batch = batch_of(D, val) if val else None
    return D


def batch_of(D, seqs):
    """Sequences padded to the longest and masked: Xn [B,T,I] normalised, targets shifted, in model
    units (yn) and original units (tgr) [B,T,O], maskn [B,T,O] the supervised cells."""
    B, T, I, O = len(seqs), max(len(s["X"]) for s in seqs), len(D.inputs), len(D.targets)
    b = SimpleNamespace(ids=[s["id"] for s in seqs], lengths=[len(s["X"]) for s in seqs], T=T, B=B)
    b.Xn, b.yn, b.tgr, b.maskn = np.zeros((B, T, I)), np.zeros((B, T, O)), np.zeros((B, T, O)), np.zeros((B, T, O), bool)
    for i, s in enumerate(seqs):
        n, sh = len(s["X"]), D.shift
        b.Xn[i, :n] = (s["X"] - D.in_mean) / D.in_std
        Y = np.array([[float(v) if v != "" else np.nan for v in r] for r in s["raw"]]).reshape(n, O)
        Ys = np.full_like(Y, np.nan)
        Ys[:n - sh] = Y[sh:]
        b.maskn[i, :n] = ~np.isnan(Ys)
        b.tgr[i, :n] = np.nan_to_num(Ys)
        b.yn[i, :n] = np.nan_to_num((Ys - D.t_mean) / D.t_std)
    b.X, b.y, b.mask = torch.tensor(b.Xn), torch.tensor(b.yn), torch.tensor(b.maskn)
    return b


def file_batch(D, path):
    """`rnn eval --data FILE`: every sequence of FILE, normalised with the training split's figures."""
    return batch_of(D, read_table(path, D.cfg))


# ------------------------------------------------------------------ the trainer

def train(cfg, D, W0, mut=frozenset(), noise=0.0, record=False):
    tr, hd = cfg["training"], D.hd
    clip = tr["clip"]
    net = mc.Net(cfg, W0)
    P = net.params
    opt = mc.make_optimizer(tr["optimizer"], P, frozenset())
    trunc, stride = (None, None) if tr["bptt"] is None else (tr["bptt"]["truncate"], tr["bptt"]["stride"])
    noise_rs = np.random.RandomState(4242)
    R = SimpleNamespace(updates=[], epochs=[], records=[], snapshots={}, clip_margin=math.inf, clipped=0,
                        kink=math.inf, amax=0.0)
    step = 0
    for epoch in range(1, tr["epochs"] + 1):
        losses = []
        for bi, b in enumerate(D.batches):
            states = {0: net.zero(b.B)}
            for a, p, e in mt.windows(b.T, trunc, stride):
                h0 = states[a]
                y, sts = net.window(b.X[:, a:e], h0)
                for j, st in enumerate(sts):
                    states[a + j + 1] = mc.detach(st)
                m = b.mask[:, p:e]
                rec = {"epoch": epoch, "batch": bi, "a": a, "p": p, "e": e, "update": bool(m.any())}
                if record:
                    rec.update(W=net.weights(), h0=net.np_state(h0))
                    R.records.append(rec)
                if not rec["update"]:
                    continue
                yw = y[:, p - a:]
                R.amax = max(R.amax, float(yw.detach().abs().max()))
                if hd.qs:
                    yq = torch.stack([t[m] for t in hd.split(yw.detach(), mut)], -1)
                    R.kink = min(R.kink, float((b.y[:, p:e][m][:, None] - yq).abs().min()))
                loss = hd.loss(yw, b.y[:, p:e], m, mut)
                opt.zero_grad()
                loss.backward()
                with torch.no_grad():
                    if noise:
                        for q in P:
                            q.grad.mul_(1 + noise * torch.tensor(noise_rs.uniform(-1, 1, q.shape)))
                    if record:
                        rec["grad"] = {n: q.grad.numpy().copy() for n, q in zip(net.names, P)}
                    gnorm = float(mt.global_norm(P))
                    if clip:
                        require("norm" in clip, "this generator clips by norm")
                        R.clip_margin = min(R.clip_margin, abs(gnorm - clip["norm"]) / clip["norm"])
                        R.clipped += gnorm > clip["norm"]
                        torch.nn.utils.clip_grad_norm_(P, clip["norm"])
                    lr = opt.param_groups[0]["lr"]
                    opt.step()
                step += 1
                losses.append(float(loss))
                R.updates.append((epoch, step, float(loss), gnorm, lr))
                if record:
                    rec["loss"] = float(loss)
        require(losses, f"epoch {epoch} made no update")
        ev = evaluate(net, D, D.val_batch, mut) if D.val_batch is not None else None
        R.epochs.append((epoch, sum(losses) / len(losses), ev))
        R.snapshots[epoch] = (net.weights(), step)
    R.net, R.W, R.names = net, net.weights(), net.names
    return R


def evaluate(net, D, b, mut=frozenset()):
    """Validation / eval over batch b, every sequence from s_0: loss (model units), n, the scores."""
    a = net.full(b.X)
    loss = float(D.hd.loss(a, b.y, b.mask, mut))
    sc, margin = scores(D.hd, D, a, b, mut)
    return {"loss": loss, "n": int(b.maskn.sum()), "scores": sc, "margin": margin, "a": a.numpy()}


def val_names(hd):
    """epochs.csv's columns after seconds (validation data): as eval names them, with val_."""
    names = ["mse", "rmse", "mae"] if (hd.fam or hd.median is not None) else []
    names += ["pinball"] if hd.qs else ["nll"] + (["crps"] if hd.fam != "negativeBinomial" else [])
    return names


# ------------------------------------------------------------------ independent checks

def check_replay(cfg, D, R):
    """Epoch 1 in numpy: the carried start state of every window, the window loss (hand-written -log p /
    pinball), and the gradient by central finite differences of that loss, every component."""
    mdl = cfg["model"]
    L, H, act, bias, cl = mdl["layers"], mdl["hiddenSize"], mdl["activation"], mdl["bias"], mdl["cell"]
    hd = D.hd
    max_h0 = max_loss = max_fd = 0.0
    n_fd, cur = 0, None
    for r in [r for r in R.records if r["epoch"] == 1]:
        b = D.batches[r["batch"]]
        if r["batch"] != cur:
            cur, states = r["batch"], {0: mt.np_zero_state(cl, b.B, H, L)}
        a, p, e = r["a"], r["p"], r["e"]
        h0 = states[a]
        max_h0 = max(max_h0, max(float(np.abs(u - v).max()) for k in range(L)
                                 for u, v in zip(mt.st_parts(h0[k]), mt.st_parts(r["h0"][k]))))
        x = b.Xn[:, a:e]
        y, st = mt.np_forward(r["W"], x, h0, act, L, bias, cl)
        for j in range(e - a):
            states[a + j + 1] = st[j]
        if not r["update"]:
            continue
        msk = b.maskn[:, a:e].copy()
        msk[:, :p - a] = False
        tg = b.yn[:, a:e]
        lo = hd.np_loss(y, tg, msk)
        max_loss = max(max_loss, abs(lo - r["loss"]) / max(1.0, abs(lo)))
        eps = 1e-5
        for n, w in r["W"].items():
            for idx in np.ndindex(w.shape):
                Wp = dict(r["W"])
                lf = []
                for sgn in (1, -1):
                    wp = w.copy()
                    wp[idx] += sgn * eps
                    Wp[n] = wp
                    lf.append(hd.np_loss(mt.np_forward(Wp, x, h0, act, L, bias, cl)[0], tg, msk))
                fd = (lf[0] - lf[1]) / (2 * eps)
                an = float(r["grad"][n][idx])
                max_fd = max(max_fd, abs(an - fd) / max(abs(an), abs(fd), 1e-3))
                n_fd += 1
    require(max_h0 < 1e-12, f"carried state differs from the numpy replay by {max_h0}")
    require(max_loss < 1e-12, f"window loss differs from numpy by {max_loss}")
    require(max_fd < 1e-6, f"autograd vs finite differences: max rel error {max_fd}")
    return {"max_h0_diff": max_h0, "max_loss_rel_diff": max_loss, "fd_max_rel_err": max_fd, "fd_components": n_fd}


def np_outputs(cfg, W, Xn):
    m = cfg["model"]
    return mt.np_forward(W, Xn, mt.np_zero_state(m["cell"], Xn.shape[0], m["hiddenSize"], m["layers"]),
                         m["activation"], m["layers"], m["bias"], m["cell"])[0]


def check_eval(cfg, D, W, b, ev):
    """The eval / validation loss by the numpy forward; nll == the model-unit -log p + log s."""
    a = np_outputs(cfg, W, b.Xn)
    require(np.abs(a - ev["a"]).max() < 1e-12, "eval outputs vs numpy forward")
    lo = D.hd.np_loss(a, b.yn, b.maskn)
    require(abs(lo - ev["loss"]) < 1e-12 * max(1, abs(lo)), f"eval loss {ev['loss']} vs numpy {lo}")
    hd = D.hd
    if hd.fam:
        A = [a[..., k * hd.O:(k + 1) * hd.O][b.maskn] for k in range(hd.P)]
        s = np.broadcast_to(D.t_std, b.maskn.shape)[b.maskn]
        nll = float(np.mean(hd.np_cell_loss(A, b.yn[b.maskn]) + np.log(s)))
        require(abs(nll - ev["scores"]["nll"]) < 1e-11 * (1 + abs(nll)), f"nll {ev['scores']['nll']} vs {nll}")
    return abs(lo - ev["loss"])


# ------------------------------------------------------------------ a training case

def heads_config(likelihood=None, quantiles=None, **kw):
    """A case's config: make_train_fixtures.base_config's (every SPEC §3 key, shuffle false, float64,
    init.safetensors, output run) plus model.likelihood and model.quantiles (one of them null)."""
    cfg = mt.base_config(**kw)
    cfg["model"]["likelihood"] = likelihood
    cfg["model"]["quantiles"] = quantiles
    return cfg


def ckpt_meta(cfg, D, epoch, step):
    meta = checkpoint_meta(cfg, epoch, step)
    if D.norm is not None:
        meta["normalization"] = normalization_json(D.norm)
    return meta


def meta_expect(D, epoch, step, cfg):
    return {"format": CKPT_FORMAT, "epoch": str(epoch), "step": str(step),
            "normalization": "present" if D.norm is not None else "absent",
            "config": {"model.likelihood": cfg["model"]["likelihood"], "model.quantiles": cfg["model"]["quantiles"]}}


def predict_rows(cfg, D, R, path, mut=frozenset()):
    """rnn predict over a file: every sequence from s_0; -> (header, rows, the numbers)."""
    hd = D.hd
    sc = cfg["data"]["sequenceColumn"]
    header = [sc, "t"] + hd.columns(D.targets, "pred_")
    rows, values = [], []
    for s in read_table(path, cfg, targets=False):
        x = (s["X"] - D.in_mean) / D.in_std
        a = R.net.full(torch.tensor(x)[None])[0]
        if not mut:
            require(np.abs(np_outputs(cfg, R.W, x[None])[0] - a.numpy()).max() < 1e-12, "predict vs numpy forward")
        par = original(hd, a, D.t_mean, D.t_std, mut)
        for t in range(len(x)):
            v = row_values(hd, par, t)
            rows.append([s["id"], str(t)] + [num(u) for u in v])
            values.append(v)
    return header, rows, np.concatenate(values)


def outputs(cfg, D, R, case, d, mut=frozenset()):
    """Every number the case's expected files hold, in a fixed order, plus the files' contents."""
    out = SimpleNamespace(evals=[], predicts=[])
    vals = [R.W[n].ravel() for n in R.names]
    vals.append(np.array([u[k] for u in R.updates for k in (2, 3)]))
    for _, tl, ev in R.epochs:
        vals.append(np.array([tl] + ([] if ev is None else [ev["loss"]] + [ev["scores"][k] for k in val_names(D.hd)])))
    for spec in case.get("evals", []):
        b = file_batch(D, os.path.join(d, spec["data"])) if spec.get("data") else D.val_batch
        ev = evaluate(R.net, D, b, mut)
        js = {"loss": ev["loss"], "n": ev["n"], **ev["scores"]}
        out.evals.append((spec, js, ev, b))
        vals.append(np.array([ev["loss"]] + [v for k, x in ev["scores"].items()
                                             for v in (x.values() if isinstance(x, dict) else [x])]))
    for spec in case.get("predicts", []):
        header, rows, v = predict_rows(cfg, D, R, os.path.join(d, spec["data"]), mut)
        out.predicts.append((spec, header, rows))
        vals.append(v)
    out.fingerprint = np.concatenate(vals)
    out.keys = [(u[0], u[1]) for u in R.updates]
    return out


def build_training(case, out_root):
    name = case["name"]
    d = fresh_dir(out_root, name)
    cfg = case["config"]
    write_text(os.path.join(d, "config.yaml"), mt.config_yaml(cfg))
    for fn, (header, rows) in case["files"].items():
        write_text(os.path.join(d, fn), csv_text(header, rows))
    names = param_names(cfg["model"]["layers"], cfg["model"]["bias"])
    write_safetensors(os.path.join(d, "init.safetensors"), [(n, case["init"][n]) for n in names],
                      ckpt_meta(cfg, load_data(cfg, d), 0, 0))

    # ---- the reference, from the files only
    with open(os.path.join(d, "config.yaml"), encoding="utf-8") as f:
        fcfg = yaml.safe_load(f)
    require(fcfg == cfg, "config.yaml does not read back as written")
    Wf = {n: w.astype(np.float64) for n, w in read_safetensors(os.path.join(d, "init.safetensors"))[0].items()}
    require(list(Wf) == names and all(np.array_equal(Wf[n], case["init"][n]) for n in names), "init round trip")
    D = load_data(fcfg, d)
    case["check_data"](D)
    R = train(fcfg, D, Wf, record=True)
    rep = check_replay(fcfg, D, R)
    notes = {"selfcheck": {k: (float(f"{v:.3g}") if isinstance(v, float) else v) for k, v in rep.items()}}
    notes["selfcheck"]["epoch1_replay"] = "carried states, window losses (numpy -log p / pinball) and finite-difference gradients"
    worst = 0.0
    for e, _, ev in R.epochs:
        if ev is not None:
            worst = max(worst, check_eval(fcfg, D, R.snapshots[e][0], D.val_batch, ev))
    notes["selfcheck"]["val_loss_vs_numpy"] = float(f"{worst:.3g}")
    Out = outputs(fcfg, D, R, case, d)
    for spec, js, ev, b in Out.evals:
        check_eval(fcfg, D, R.W, b, ev)
    notes["selfcheck"]["scores"] = ("nll == -scipy logpdf/logpmf (original units) == numpy -log p + log s; crps closed "
                                    "form == numerical integral; coverage80 by F^-1 == by F(y); pinball two ways")

    # ---- knife edges
    clip = fcfg["training"]["clip"]
    ups = len(R.updates)
    if clip:
        knife(R.clip_margin >= 1e-2, f"clip margin {R.clip_margin:.2e}")
        knife(R.clipped >= case.get("min_clipped", 0) * ups, f"clip active on {R.clipped}/{ups} updates")
        notes["clip"] = {"threshold": clip, "updates_clipped": int(R.clipped), "updates": ups}
    if D.hd.qs:
        knife(R.kink >= 1e-4, f"a pinball residual {R.kink:.2e} from its kink")
        notes["smallest_training_pinball_residual"] = float(f"{R.kink:.3g}")
    knife(abs(R.amax - 20) > 1e-3, "a raw output at softplus' threshold")
    margins = [ev["margin"] for _, _, ev in R.epochs if ev is not None] + [ev["margin"] for _, _, ev, _ in Out.evals]
    if margins:
        knife(min(margins) >= 1e-6, f"a target {min(margins):.2e} from an interval end / quantile")
    Rn = train(fcfg, D, Wf, noise=1e-12)
    On = outputs(fcfg, D, Rn, case, d)
    sens = max_rel(On.fingerprint, Out.fingerprint)
    knife(sens < 1e-11, f"1e-12 gradient noise moves the results by {sens:.2e}")
    notes["sensitivity_to_1e-12_gradient_noise"] = float(f"{sens:.3g}")
    told = {}
    for mname in case["mistakes"]:
        mut = frozenset([mname])
        Dm = load_data(fcfg, d, mut)
        Rm = train(fcfg, Dm, Wf, mut=mut)
        Om = outputs(fcfg, Dm, Rm, case, d, mut)
        diff = (math.inf if Om.keys != Out.keys or Om.fingerprint.shape != Out.fingerprint.shape
                else max_rel(Om.fingerprint, Out.fingerprint))
        diff = diff if math.isfinite(diff) else math.inf      # NaN: a mistake that breaks the numbers
        told[mname] = "different shape or non-finite" if diff == math.inf else float(f"{diff:.3g}")
        knife(diff > 1e-6, f"mistake {mname} is not visible ({diff:.2e})")
    notes["mistakes_told_apart"] = told

    # ---- expected outputs
    last_epoch, last_step = R.epochs[-1][0], R.updates[-1][1]
    commands, checks = [["train", "config.yaml", "--out", "run"]], []
    for fn in ("expected_last.safetensors", "trained.safetensors"):
        write_safetensors(os.path.join(d, fn), [(n, R.W[n]) for n in names], ckpt_meta(fcfg, D, last_epoch, last_step))
    checks.append({"command": 0, "file": "run/last.safetensors", "expected": "expected_last.safetensors",
                   "kind": "checkpoint", "metadata": meta_expect(D, last_epoch, last_step, fcfg)})
    write_text(os.path.join(d, "expected_updates.csv"),
               csv_text(["epoch", "step", "loss", "grad_norm", "lr"],
                        [[str(e), str(s), num(lo), num(g), num(lr)] for e, s, lo, g, lr in R.updates]))
    checks.append({"command": 0, "file": "run/updates.csv", "expected": "expected_updates.csv", "kind": "updates",
                   "header": True})
    vn = val_names(D.hd) if D.val_batch is not None else []
    write_text(os.path.join(d, "expected_epochs.csv"),
               csv_text(["epoch", "train_loss", "val_loss", "seconds"] + [f"val_{k}" for k in vn],
                        [[str(e), num(tl), "" if ev is None else num(ev["loss"]), ""] +
                         [num(ev["scores"][k]) for k in vn] for e, tl, ev in R.epochs]))
    checks.append({"command": 0, "file": "run/epochs.csv", "expected": "expected_epochs.csv", "kind": "epochs",
                   "header": True})
    if D.val_batch is not None:
        vls = [ev["loss"] for _, _, ev in R.epochs]
        srt = sorted(vls)
        knife(len(vls) < 2 or (srt[1] - srt[0]) / abs(srt[0]) > 1e-6, "validation losses tie")
        be = 1 + vls.index(srt[0])
        Wb, sb = R.snapshots[be]
        write_safetensors(os.path.join(d, "expected_best.safetensors"), [(n, Wb[n]) for n in names],
                          ckpt_meta(fcfg, D, be, sb))
        checks.append({"command": 0, "file": "run/best.safetensors", "expected": "expected_best.safetensors",
                       "kind": "checkpoint", "metadata": meta_expect(D, be, sb, fcfg),
                       "note": f"lowest val_loss: epoch {be}"})
        notes["best_epoch"] = be
    for spec, js, ev, b in Out.evals:
        write_text(os.path.join(d, spec["file"]), json.dumps(js, indent=2) + "\n")
        commands.append(["eval", "trained.safetensors"] + (["--data", spec["data"]] if spec.get("data") else []) + ["--json"])
        checks.append({"command": len(commands) - 1, "stdout": True, "expected": spec["file"], "kind": "json",
                       "exact": ["n"]})
    for spec, header, rows in Out.predicts:
        write_text(os.path.join(d, spec["file"]), csv_text(header, rows))
        commands.append(["predict", "trained.safetensors", "--data", spec["data"]])
        checks.append({"command": len(commands) - 1, "stdout": True, "expected": spec["file"], "kind": "csv",
                       "keys": header[:2]})
    exits = [0] * len(commands)
    for spec in case.get("refused", []):
        commands.append(spec["args"])
        exits.append(2)
        checks.append({"command": len(commands) - 1, "kind": "stderr", "includes": spec["stderr"]})

    # ---- notes and case.json
    notes["updates_per_epoch"] = [sum(1 for u in R.updates if u[0] == e) for e, _, _ in R.epochs]
    notes["windows_epoch1"] = [f"batch {r['batch'] + 1} ({', '.join(D.batches[r['batch']].ids)}): forward [{r['a']},{r['e']}), "
                               f"loss on [{r['p']},{r['e']})" + ("" if r["update"] else " - no supervised cell, no update")
                               for r in R.records if r["epoch"] == 1]
    if D.norm is not None:
        notes["normalization"] = {c: {"mean": m, "std": s} for c, (m, s) in D.norm}
    if D.val_batch is not None:
        notes["validation"] = {"sequences": D.val_batch.ids, "supervised_cells": int(D.val_batch.maskn.sum())}
    notes.update(case.get("notes", {}))
    cj = {"name": name, "about": case["about"], "commands": commands, "checks": checks, "tol": TOL,
          "compare": COMPARE, "notes": notes}
    if any(exits):
        cj["exit"] = exits
    write_text(os.path.join(d, "case.json"), json.dumps(cj, indent=2) + "\n")
    say(f"  {name}: {ups} updates over {len(R.epochs)} epochs, fd max rel err {rep['fd_max_rel_err']:.1e} "
        f"({rep['fd_components']} components), noise sensitivity {sens:.1e}")
    for k, v in told.items():
        say(f"    mistake {k}: {v}")
    return cj


COMPARE = ("numbers: |got - expected| <= tol * (1 + |expected|) (nested objects such as eval's coverage key by key); "
           "epoch, step, t, n and ids exactly; checkpoint: every expected rnn.*/head.* tensor (F64, same shape), no "
           "other rnn.*/head.* tensor, metadata format/epoch/step and config model.likelihood / model.quantiles; "
           "updates.csv / epochs.csv / predict / forecast header lines exactly; epochs.csv seconds not compared")


# ------------------------------------------------------------------ forecasting (SPEC §7, §10)

def forecast_reference(ckpt, data, h, mut=frozenset()):
    """`rnn forecast ckpt --horizon h --data data` from the files: torch's modules roll each sequence
    out, feeding back the mean (quantile models: yhat_0.5) in original units, normalised as an input;
    -> (header, rows, the numbers, worst relative difference to a numpy re-run over the extended series)."""
    tensors, meta = read_safetensors(ckpt)
    cfg = json.loads(meta["config"])
    dc, sc = cfg["data"], cfg["data"]["sequenceColumn"]
    require(cfg["task"] == "regression" and dc["shift"] == 1 and set(dc["inputs"]) <= set(dc["targets"]),
            "not an autoregressive model")
    hd = Head(cfg["model"], len(dc["targets"]))
    require(hd.fam or hd.median is not None, "a quantile model without 0.5")
    norm = json.loads(meta["normalization"]) if dc["normalize"] else {}
    counts = hd.fam == "negativeBinomial"

    def stats(cols, targets):
        if not norm or (targets and counts):
            return np.zeros(len(cols)), np.ones(len(cols))
        return np.array([norm[c]["mean"] for c in cols]), np.array([norm[c]["std"] for c in cols])
    in_m, in_s = stats(dc["inputs"], False)
    out_m, out_s = stats(dc["targets"], True)
    if "nb_feed_raw" in mut:
        in_m, in_s = np.zeros(len(dc["inputs"])), np.ones(len(dc["inputs"]))
    W = {k: v.astype(np.float64) for k, v in tensors.items()}
    net = mc.Net(cfg, W)
    feed = [dc["targets"].index(c) for c in dc["inputs"]]
    rows, values, worst = [], [], 0.0

    def step_out(o):
        par = original(hd, net.head(o)[None], out_m, out_s, mut)
        if "feed_first_quantile" in mut:
            par["mean"] = par["q"][0]
        if "feed_model_units" in mut:
            par["mean"] = (par["mean"] - out_m) / out_s
        return par
    with torch.no_grad():
        for s in read_table(data, cfg, targets=False):
            x, n = (s["X"] - in_m) / in_s, len(s["X"])
            out, st = net.rnn(torch.tensor(x)[None], net.zero(1))
            pars = [step_out(out[0, -1])]
            for _ in range(1, h):
                out, st = net.rnn(torch.tensor((pars[-1]["mean"][0][feed] - in_m) / in_s)[None, None], st)
                pars.append(step_out(out[0, 0]))
            fed = np.array([p["mean"][0] for p in pars])
            ext = np.concatenate([x, (fed[:-1].reshape(-1, hd.O)[:, feed] - in_m) / in_s])
            if not mut:
                a_np = np_outputs(cfg, W, ext[None])[0][n - 1:]
                par_np = original(hd, torch.tensor(a_np), out_m, out_s)
                worst = max(worst, max_rel(np.array([row_values(hd, p, 0, forecast=True) for p in pars]),
                                           np.array([row_values(hd, par_np, k, forecast=True) for k in range(h)])))
            for k, p in enumerate(pars):
                v = row_values(hd, p, 0, forecast=True)
                rows.append(([s["id"]] if sc else []) + [str(n + k)] + [num(u) for u in v])
                values.append(v)
    require(worst < 1e-12, f"forecast roll-out vs numpy re-run from s_0: {worst:.2e}")
    header = ([sc] if sc else []) + ["t"] + hd.columns(dc["targets"], "")
    return header, rows, np.concatenate(values), worst


def forecast_model_config(seq_col, inputs, targets, cell_name, H, L, likelihood=None, quantiles=None):
    cfg = mc.forecast_config(seq_col, inputs, targets, True, cell_name, H, L)
    cfg["model"]["likelihood"] = likelihood
    cfg["model"]["quantiles"] = quantiles
    return cfg


def build_forecast(case, out_root):
    name = case["name"]
    d = fresh_dir(out_root, name)
    for fn, table in case["files"].items():
        write_text(os.path.join(d, fn), csv_text(*table))
    commands, checks = [], []
    for m in case["models"]:
        cfg = m["config"]
        meta = checkpoint_meta(cfg, 3, 24)
        meta["normalization"] = normalization_json(m["stats"].items())
        names = param_names(cfg["model"]["layers"], True)
        write_safetensors(os.path.join(d, m["file"]), [(n, m["W"][n]) for n in names], meta)
        require(json.loads(read_safetensors(os.path.join(d, m["file"]))[1]["config"]) == cfg, "config metadata")
        h = m.get("horizon", 5)
        commands.append(["forecast", m["file"], "--horizon", str(h), "--data", m["data"]])
        ckpt, data = os.path.join(d, m["file"]), os.path.join(d, m["data"])
        header, rows, values, worst = forecast_reference(ckpt, data, h)
        fn = f"expected_forecast_{m['file'].split('.')[0]}.csv"
        write_text(os.path.join(d, fn), csv_text(header, rows))
        checks.append({"command": len(commands) - 1, "stdout": True, "expected": fn, "kind": "csv",
                       "keys": header[:header.index("t") + 1]})
        for mname in m.get("mistakes", []):
            diff = max_rel(forecast_reference(ckpt, data, h, frozenset([mname]))[2], values)
            require(diff > 1e-6, f"forecast mistake {mname} not visible ({diff:.2e})")
            say(f"    {m['file']}: forecast mistake {mname}: {diff:.3g}")
        say(f"  {name}: {m['file']} horizon {h}: {len(rows)} rows, numpy re-run {worst:.1e}")
    cj = {"name": name, "about": case["about"], "commands": commands, "checks": checks, "tol": TOL,
          "compare": COMPARE}
    write_text(os.path.join(d, "case.json"), json.dumps(cj, indent=2) + "\n")
    return cj


# ------------------------------------------------------------------ bad input (exit 2, nothing written)

def build_refusals(case, out_root):
    name = case["name"]
    d = fresh_dir(out_root, name)
    for fn, table in case["files"].items():
        write_text(os.path.join(d, fn), csv_text(*table))
    commands, checks = [], []
    for r in case["configs"]:
        write_text(os.path.join(d, r["file"]), mt.config_yaml(r["config"]))
        with open(os.path.join(d, r["file"]), encoding="utf-8") as f:
            require(yaml.safe_load(f) == r["config"], f"{r['file']} does not read back")
        out = "run-" + r["file"].split(".")[0]
        commands.append(["train", r["file"], "--out", out])
        checks.append({"command": len(commands) - 1, "kind": "stderr", "includes": r["stderr"], "why": r["why"]})
        checks.append({"command": len(commands) - 1, "kind": "absent", "file": out})
    cj = {"name": name, "about": case["about"], "commands": commands, "checks": checks, "tol": TOL,
          "compare": "exit 2 for every command; stderr holds the listed strings; the --out folder is not created",
          "exit": [2] * len(commands)}
    write_text(os.path.join(d, "case.json"), json.dumps(cj, indent=2) + "\n")
    say(f"  {name}: {len(commands)} refusals")
    return cj


# ------------------------------------------------------------------ data of the cases

def affine(seqs, col, scale, shift):
    """Re-scale one generated column (cell texts) in place, empty cells kept."""
    for c in seqs:
        c[col] = [v if v == "" else cell(shift + scale * float(v)) for v in c[col]]


def count_system(rs, ids, lens, seq_col, inputs, targets, loc, scale, blank=0.1):
    """Sequences of count targets: a leaky state driven by the inputs sets each target's mean
    exp(0.9 + 0.7·state); counts drawn negative-binomially around it (whole numbers >= 0); inputs
    N(loc, scale); target cells empty with probability `blank`."""
    I, O = len(inputs), len(targets)
    A = rs.uniform(-1.0, 1.0, (O, I))
    out = []
    for sid, T in zip(ids, lens):
        U = rs.normal(0, 1, (T, I))
        s, cols = np.zeros(O), {seq_col: [sid] * T}
        Y = []
        for t in range(T):
            s = 0.6 * s + np.tanh(A @ U[t])
            mean = np.exp(0.9 + 0.7 * s)
            Y.append([int(rs.negative_binomial(3, 3 / (3 + mu))) for mu in mean])
        for j, c in enumerate(inputs):
            cols[c] = [cell(loc[j] + scale[j] * v) for v in U[:, j]]
        for j, c in enumerate(targets):
            cols[c] = ["" if rs.uniform() < blank else str(Y[t][j]) for t in range(T)]
        out.append(cols)
    return out


def heads_case(rs, name, about, ids, lens, seq_col, inputs, targets, held_out=0, in_file=False, data=None,
               counts=False, series=None, mu_bias=0.0, **cfg_kw):
    """A training case: mc.system() data (count_system with `counts`; `series`: a function making the
    columns itself) over `ids`, the last `held_out` sequences validation data (val.csv, or with in_file
    the tail of data.csv the config's validationSplit holds out); initial weights drawn from rs after
    the data, the head [P·O, H] (mu_bias added to the bias of the first O outputs)."""
    data = data or {}
    if series is not None:
        seqs = series(rs)
    elif counts:
        seqs = count_system(rs, ids, lens, seq_col, inputs, targets, **data)
    else:
        post = data.pop("affine", {})
        seqs = mc.system(rs, ids, lens, seq_col, inputs, targets, **data)
        for col, (a, b) in post.items():
            affine(seqs, col, a, b)
    tr, va = seqs[:len(seqs) - held_out], seqs[len(seqs) - held_out:]
    header = [seq_col] + list(dict.fromkeys(inputs + targets))
    files = {"data.csv": mc.table(seqs if in_file else tr, header)}
    if held_out and not in_file:
        files["val.csv"] = mc.table(va, header)
        cfg_kw["validation"] = "val.csv"
    cfg = heads_config(sequenceColumn=seq_col, inputs=inputs, targets=targets, **cfg_kw)
    m = cfg["model"]
    hd = Head(m, len(targets))
    W = mt.random_init(rs, len(inputs), m["hiddenSize"], m["layers"], hd.P * hd.O, True, cell=m["cell"])
    W["head.bias"][:hd.O] += mu_bias
    ex_tr, ex_va = mc.expected(tr, seq_col, inputs, targets), mc.expected(va, seq_col, inputs, targets)
    return {"name": name, "about": about, "config": cfg, "files": files, "init": W,
            "check_data": lambda D: mc.check_seqs(D, ex_tr, ex_va)}


def sgd(lr, momentum=0.0):
    return {"name": "sgd", "lr": lr, "momentum": momentum}


def case_gaussian(trial):
    """gaussian-lstm-val"""
    return {**heads_case(
        mc.trial_rs(4101, trial), "gaussian-lstm-val",
        "model.likelihood gaussian: a 1-layer LSTM (H 4) with head [2·O, H] = [4, 4] read parameter-major "
        "(outputs 0-1 mu of y1, y2; 2-3 the raw sigma parameters), sigma = softplus(a1), the loss the pooled "
        "mean of -Normal(mu, sigma).log_prob(y) over the supervised cells in normalised units; normalize on "
        "(targets y1 ~ 10 ± 4 and y2 ~ -2 ± 1.2 on different scales, empty target cells masked and left out of "
        "the stats); 4 sequences (11, 7, 9, 6) in batches of 2: TBPTT truncate = stride = 4, passes [0,4) [4,8) "
        "[7,11) and [0,4) [4,8) [5,9) (short last windows reaching back 4 steps); SGD lr 0.1; validation data "
        "val.csv: epochs.csv adds val_mse,val_rmse,val_mae,val_nll,val_crps; eval without --data (val.csv): "
        "loss, n, nll (original units: + log s), mse/rmse/mae of mu·s + m, crps (closed form, sigma·s), "
        "coverage80; predict over val.csv: pred_y1,pred_y2,sigma_y1,sigma_y2",
        ["b3", "b1", "b4", "b2", "v1", "v2"], [11, 7, 9, 6, 8, 6], "buoy", ["p", "q"], ["y1", "y2"],
        held_out=2, data=dict(loc=[3, -1], scale=[2, 0.5], t_loc=10, t_scale=4, blank=0.1,
                              affine={"y2": (0.3, -5.0)}),
        likelihood="gaussian", normalize=True, cell="lstm", hidden=4, batchSize=2, bptt={"truncate": 4, "stride": 4},
        optimizer=sgd(0.1), clip=None, epochs=2, seed=41),
        "evals": [{"file": "expected_eval.json"}],
        "predicts": [{"file": "expected_predict.csv", "data": "val.csv"}],
        "mistakes": ["head_target_major", "sigma_exp", "sigma_not_mapped", "nll_no_log_s", "gaussian_no_const"]}


def case_student(trial):
    """studentt-elman2-clip"""
    c = [0.5, 0.4, 0.7, 0.3, 0.6][trial % 5]
    return {**heads_case(
        mc.trial_rs(4202, trial), "studentt-elman2-clip",
        f"model.likelihood studentT: a 2-layer tanh Elman (H 3), head [3, 3]: mu = a0, sigma = softplus(a1), "
        f"nu = 2 + softplus(a2); the loss -StudentT(nu, mu, sigma).log_prob(y); normalize on (target ~ 20 ± 5); "
        f"Adam lr 0.02 with clip norm {c} (active on many updates); TBPTT 5/5; validationSplit 0.25 holds out the "
        f"last 2 of 8 sequences (epochs.csv: val_mse,val_rmse,val_mae,val_nll,val_crps); eval --data data.csv: "
        f"nll, mse/rmse/mae, crps (scoringRules' Student-t closed form), coverage80 (t quantiles); predict over "
        f"data.csv: pred_y,sigma_y,nu_y",
        ["e4", "e1", "e7", "e3", "e9", "e2", "e8", "e5"], [9, 7, 10, 6, 8, 9, 7, 6], "series", ["u", "v"], ["y"],
        held_out=2, in_file=True, validationSplit=0.25, data=dict(loc=[0, 5], scale=[1, 3], t_loc=20, t_scale=5),
        likelihood="studentT", normalize=True, hidden=3, layers=2, batchSize=3, bptt={"truncate": 5, "stride": 5},
        optimizer={"name": "adam", "lr": 0.02, **ADAM}, clip={"norm": c}, epochs=2, seed=42),
        "min_clipped": 0.3,
        "evals": [{"file": "expected_eval.json", "data": "data.csv"}],
        "predicts": [{"file": "expected_predict.csv", "data": "data.csv"}],
        "mistakes": ["sigma_exp", "nu_no_plus2", "sigma_not_mapped", "nll_no_log_s", "t_crps_as_gaussian"]}


def case_negbin(trial):
    """negbin-gru-counts"""
    return {**heads_case(
        mc.trial_rs(4303, trial), "negbin-gru-counts",
        "model.likelihood negativeBinomial: a GRU (H 4), head [4, 4]: mu = softplus(a0), alpha = softplus(a1) of "
        "targets visits, orders (parameter-major); the loss -NegativeBinomial(total_count = 1/alpha, probs = "
        "alpha·mu/(1 + alpha·mu)).log_prob(y) on the raw counts (whole numbers >= 0, never normalised, empty cells "
        "masked) while normalize z-scores the inputs temp, promo; Adam lr 0.03; TBPTT 4/4; validation data "
        "val.csv (epochs.csv: val_mse,val_rmse,val_mae,val_nll; no crps); eval --data data.csv: loss, n, nll, "
        "mse/rmse/mae of mu; predict over val.csv: pred_visits,pred_orders,alpha_visits,alpha_orders (no target "
        "stats in the checkpoint's normalization)",
        ["s2", "s5", "s1", "s6", "s3", "s4", "t1", "t2"], [9, 7, 8, 6, 10, 7, 8, 7], "store", ["temp", "promo"],
        ["visits", "orders"], held_out=2, counts=True, data=dict(loc=[15, 0.5], scale=[6, 0.3]),
        mu_bias=2.0, likelihood="negativeBinomial", normalize=True, cell="gru", hidden=4, batchSize=3,
        bptt={"truncate": 4, "stride": 4}, optimizer={"name": "adam", "lr": 0.03, **ADAM}, clip=None, epochs=2,
        seed=43),
        "evals": [{"file": "expected_eval.json", "data": "data.csv"}],
        "predicts": [{"file": "expected_predict.csv", "data": "val.csv"}],
        "mistakes": ["head_target_major", "nb_targets_normalised", "nb_alpha_as_r"]}


def case_quantiles(trial):
    """quantiles-lstm-adamw"""
    return {**heads_case(
        mc.trial_rs(4404, trial), "quantiles-lstm-adamw",
        "model.quantiles [0.1, 0.5, 0.9]: an LSTM (H 4), head [Q·O, H] = [6, 4], output k·O + o the q_k quantile "
        "of target o; the loss of a cell the pinball loss max(q·e, (q - 1)·e), e = y - yhat_q, averaged over the "
        "3 quantiles, pooled over the supervised cells (normalised units); normalize on (y1, y2 on different "
        "scales, empty cells); AdamW lr 0.03, weightDecay 0.1; overlapping TBPTT truncate 4 stride 2; validation "
        "data val.csv (epochs.csv: val_mse,val_rmse,val_mae of yhat_0.5, then val_pinball); eval --data "
        "data.csv: loss, n, pinball (original units), coverage {\"0.1\", \"0.5\", \"0.9\"}, mse/rmse/mae; "
        "predict over val.csv: pred_y1_q0.1,pred_y2_q0.1,pred_y1_q0.5,... (quantile-major)",
        ["k4", "k2", "k6", "k1", "k5", "k3", "m1", "m2"], [8, 9, 6, 7, 10, 5, 8, 9], "unit", ["a", "b"], ["y1", "y2"],
        held_out=2, data=dict(loc=[-4, 2], scale=[1.5, 2.5], t_loc=5, t_scale=2, blank=0.1,
                              affine={"y2": (3.0, 40.0)}),
        quantiles=[0.1, 0.5, 0.9], normalize=True, cell="lstm", hidden=4, batchSize=3,
        bptt={"truncate": 4, "stride": 2}, optimizer={"name": "adamw", "lr": 0.03, **ADAM, "weightDecay": 0.1},
        clip=None, epochs=2, seed=44),
        "evals": [{"file": "expected_eval.json", "data": "data.csv"}],
        "predicts": [{"file": "expected_predict.csv", "data": "val.csv"}],
        "mistakes": ["head_target_major", "pinball_sum_q", "pinball_sign", "quantiles_not_mapped", "median_as_mean"]}


def level_series(ids, lens, rs):
    """One column `level` per sequence: a noisy wave (the autoregressive cases' data)."""
    return [{"site": [sid] * T, "level": mc.wave(rs, T, 0.9 * k, 30, 6, noise=0.2)}
            for k, (sid, T) in enumerate(zip(ids, lens))]


def case_no_median(trial):
    """quantiles-no-median-ar"""
    ids, lens = ["r3", "r1", "r5", "r2", "r4"], [10, 8, 12, 9, 7]
    return {**heads_case(
        mc.trial_rs(4505, trial), "quantiles-no-median-ar",
        "model.quantiles [0.25, 0.75] (no 0.5): an autoregressive tanh Elman (H 3) trained with shift 1, input "
        "level = target level, normalize on; SGD lr 0.1 momentum 0.5; TBPTT 4/4; validationSplit 0.2 holds out "
        "the last sequence (epochs.csv: val_pinball only, no val_mse); eval --data data.csv: loss, n, pinball, "
        "coverage {\"0.25\", \"0.75\"} and no mse/rmse/mae; predict: pred_level_q0.25,pred_level_q0.75; "
        "rnn forecast refuses the model (exit 2): it has no 0.5 quantile to feed back",
        ids, lens, "site", ["level"], ["level"], held_out=1, in_file=True, validationSplit=0.2,
        series=lambda rs: level_series(ids, lens, rs), shift=1,
        quantiles=[0.25, 0.75], normalize=True, hidden=3, batchSize=2, bptt={"truncate": 4, "stride": 4},
        optimizer=sgd(0.1, 0.5), clip=None, epochs=2, seed=45),
        "evals": [{"file": "expected_eval.json", "data": "data.csv"}],
        "predicts": [{"file": "expected_predict.csv", "data": "data.csv"}],
        "refused": [{"args": ["forecast", "trained.safetensors", "--horizon", "3", "--data", "data.csv"],
                     "stderr": ["0.5"]}],
        "mistakes": ["pinball_sum_q", "pinball_sign", "quantiles_not_mapped"]}


def forecast_heads():
    """forecast-heads"""
    rs = np.random.RandomState(4606)
    ids, lens = ["n2", "n10", "n1"], [7, 4, 9]
    rows = []
    for k, (sid, T) in enumerate(zip(ids, lens)):
        a, b = mc.wave(rs, T, 0.8 * k, 10, 2), mc.wave(rs, T, 0.8 * k + 1.5, -3, 0.5)
        rows += [[sid, a[t], b[t]] for t in range(T)]
    crow = []
    for k, (sid, T) in enumerate(zip(ids, lens)):
        crow += [[sid, str(int(rs.poisson(4 + 2 * math.sin(0.6 * t + k))))] for t in range(T)]
    st = {"a": (9.5, 2.2), "b": (-2.9, 0.6)}
    Wq = mt.random_init(rs, 2, 3, 1, 6, True, scale=1.5, cell="gru")
    Wq["head.bias"] += np.repeat([-1.5, 0.0, 1.5], 2)       # quantiles in order (q0.1 < q0.5 < q0.9)
    Wn = mt.random_init(rs, 1, 3, 1, 2, True, scale=1.5, cell="gru")
    Wn["head.bias"][0] += 3.5                                # mu = softplus(a0) near the counts' level
    return {
        "name": "forecast-heads",
        "about": "rnn forecast --horizon 5 (no --samples: the point roll-out feeds back the mean) on 3 sequences "
                 "(7, 4, 9 rows) with normalize on and the checkpoints' own stats: gaussian.safetensors (LSTM H 4, "
                 "inputs = targets [a, b]) prints site,t,a,b,sigma_a,sigma_b (mu·s + m fed back, normalised as an "
                 "input); studentt.safetensors (tanh Elman H 4, [a]) site,t,a,sigma_a,nu_a; quantiles.safetensors "
                 "(GRU H 3, quantiles [0.1, 0.5, 0.9], inputs [b, a], targets [a, b]: fed by name) feeds back "
                 "yhat_0.5 and prints site,t,a,b,a_q0.1,b_q0.1,a_q0.5,b_q0.5,a_q0.9,b_q0.9; negbin.safetensors "
                 "(GRU H 3, input = target count over counts.csv: the input normalised with the checkpoint's stats "
                 "of count, the target never) feeds back mu (not rounded) and prints site,t,count,alpha_count",
        "files": {"data.csv": (["site", "a", "b"], rows), "counts.csv": (["site", "count"], crow)},
        "models": [
            {"file": "gaussian.safetensors", "data": "data.csv", "stats": st,
             "config": forecast_model_config("site", ["a", "b"], ["a", "b"], "lstm", 4, 1, likelihood="gaussian"),
             "W": mt.random_init(rs, 2, 4, 1, 4, True, scale=1.5, cell="lstm"),
             "mistakes": ["feed_model_units", "sigma_not_mapped", "head_target_major"]},
            {"file": "studentt.safetensors", "data": "data.csv", "stats": {"a": st["a"]},
             "config": forecast_model_config("site", ["a"], ["a"], "elman", 4, 1, likelihood="studentT"),
             "W": mt.random_init(rs, 1, 4, 1, 3, True, scale=1.5),
             "mistakes": ["feed_model_units", "nu_no_plus2"]},
            {"file": "quantiles.safetensors", "data": "data.csv", "stats": {"b": st["b"], "a": st["a"]},
             "config": forecast_model_config("site", ["b", "a"], ["a", "b"], "gru", 3, 1, quantiles=[0.1, 0.5, 0.9]),
             "W": Wq, "mistakes": ["feed_first_quantile", "head_target_major", "quantiles_not_mapped"]},
            {"file": "negbin.safetensors", "data": "counts.csv", "stats": {"count": (4.2, 1.9)},
             "config": forecast_model_config("site", ["count"], ["count"], "gru", 3, 1, likelihood="negativeBinomial"),
             "W": Wn, "mistakes": ["nb_feed_raw"]},
        ],
    }


def bad_input():
    """bad-input"""
    rs = np.random.RandomState(4707)
    vals = [["s1" if t < 6 else "s2", cell(rs.normal()), cell(rs.normal(5, 2))] for t in range(12)]
    labels = [["s1" if t < 6 else "s2", cell(rs.normal()), ["lo", "hi"][t % 3 == 0]] for t in range(12)]
    cnt = [["s1" if t < 6 else "s2", cell(rs.normal()), str(int(rs.poisson(3)))] for t in range(12)]
    neg, frac = [list(r) for r in cnt], [list(r) for r in cnt]
    neg[7][2], frac[4][2] = "-1", "2.5"       # CSV lines 9 and 6

    def config(train, targets, likelihood=None, quantiles=None, task="regression"):
        c = heads_config(sequenceColumn="seq", inputs=["x"], targets=targets, task=task, likelihood=likelihood,
                         quantiles=quantiles, normalize=True, hidden=3, batchSize=2, bptt=None, optimizer=sgd(0.1),
                         clip=None)
        c["data"]["train"] = train
        c["model"]["init"] = None
        return c
    cfgs = [
        ("classification.yaml", "likelihood with task classification", ["classification.yaml", "model.likelihood"],
         config("labels.csv", ["regime"], likelihood="gaussian", task="classification")),
        ("both.yaml", "likelihood and quantiles both given", ["both.yaml", "model.quantiles"],
         config("values.csv", ["y"], likelihood="gaussian", quantiles=[0.1, 0.5, 0.9])),
        ("decreasing.yaml", "quantiles not strictly increasing", ["decreasing.yaml", "model.quantiles"],
         config("values.csv", ["y"], quantiles=[0.5, 0.25, 0.75])),
        ("repeated.yaml", "a quantile repeated", ["repeated.yaml", "model.quantiles"],
         config("values.csv", ["y"], quantiles=[0.1, 0.5, 0.5])),
        ("one.yaml", "a quantile equal to 1 (outside the open interval)", ["one.yaml", "model.quantiles"],
         config("values.csv", ["y"], quantiles=[0.5, 1.0])),
        ("zero.yaml", "a quantile equal to 0", ["zero.yaml", "model.quantiles"],
         config("values.csv", ["y"], quantiles=[0.0, 0.5])),
        ("negative-count.yaml", "a negative count (-1, line 9, column visits)", ["negative-count.csv", "visits"],
         config("negative-count.csv", ["visits"], likelihood="negativeBinomial")),
        ("fractional-count.yaml", "a fractional count (2.5, line 6, column visits)", ["fractional-count.csv", "visits"],
         config("fractional-count.csv", ["visits"], likelihood="negativeBinomial")),
    ]
    return {
        "name": "bad-input",
        "about": "configs and data rnn train must refuse with exit 2 and a one-line message naming the file and "
                 "the key (or the column), writing nothing (the --out folder is not created): "
                 + "; ".join(f"{fn}: {why}" for fn, why, _, _ in cfgs),
        "files": {"values.csv": (["seq", "x", "y"], vals), "labels.csv": (["seq", "x", "regime"], labels),
                  "negative-count.csv": (["seq", "x", "visits"], neg),
                  "fractional-count.csv": (["seq", "x", "visits"], frac)},
        "configs": [{"file": fn, "why": why, "stderr": inc, "config": c} for fn, why, inc, c in cfgs],
    }


TRAINING = [case_gaussian, case_student, case_negbin, case_quantiles, case_no_median]
FORECAST = [forecast_heads]
REFUSALS = [bad_input]


README_HEAD = """# Golden cases for probabilistic forecasts (SPEC §10)

Generated by `scripts/golden/make_heads_fixtures.py` (an independent PyTorch 1.13 float64 reference,
written from SPEC alone); do not edit by hand, rerun `/usr/bin/python3 scripts/golden/make_heads_fixtures.py`
(deterministic: byte-identical on a rerun; `--only NAME` for one case, `--out DIR` to write elsewhere).
Checked by `test/golden-heads.test.ts` through `test/helpers/golden.ts` (the format of `test/golden/train`).

`case.json`: `commands` (run in a copy of the folder, in order), `exit` (when present: the exit code each
command must end with; otherwise 0), `checks` (which output goes with which expected file; `header: true`
compares the CSV header line exactly, predict and forecast headers are always compared exactly; `kind:
stderr` lists strings the command's stderr must contain; `kind: absent` names a path the command must not
have created; a checkpoint's `metadata.config` lists config values, by dotted path, the checkpoint's
`config` metadata must hold; a json check compares nested objects key by key), `tol` (|got - expected| <=
tol * (1 + |expected|)), `notes` (windows, normalisation stats, self-check figures, and how far each named
mistake moves the results).

`eval` and `predict` run on `trained.safetensors`, the reference's own last checkpoint (the same tensors and
metadata as `expected_last.safetensors`), so they check §10's outputs apart from rnn's training.

## Readings of SPEC the reference makes

- Head outputs are parameter-major: output k·O + o is parameter k of target o (quantiles: k is the
  quantile's index). softplus is torch's (beta 1, threshold 20). gaussian: mu = a0, sigma = softplus(a1);
  studentT: nu = 2 + softplus(a2); negativeBinomial: mu = softplus(a0), alpha = softplus(a1),
  NegativeBinomial(total_count = 1/alpha, probs = alpha·mu/(1 + alpha·mu)).
- The loss of a window (and `loss`, `train_loss`, `val_loss`) is the pooled mean over supervised
  cells (present and inside the sequence; with shift, the last steps have none) of -log p, or of the
  pinball loss averaged over the quantiles, in model units: normalised targets for gaussian, studentT
  and quantiles; raw counts for negativeBinomial (never normalised; its inputs are). The
  negativeBinomial checkpoints' `normalization` holds the inputs only.
- Original units: mu·s + m, sigma·s, yhat_q·s + m; nu, alpha and the NB mean are not mapped.
- predict, after t: likelihoods `pred_<target>` (the mean: mu) for each target, then `sigma_<target>`
  (gaussian, studentT) for each target, then `nu_<target>` (studentT) or `alpha_<target>`
  (negativeBinomial); quantiles `pred_<target>_q<q>`, all targets for q1, then q2, ... (q as JavaScript's
  String(q): 0.1 -> "0.1").
- eval --json: `loss` (model units), `n` = the number of supervised cells (target elements; with two
  targets a step can count twice), then likelihoods `nll` (mean -log p in original units: for gaussian and
  studentT with normalisation, -log p_model(z) + log s of the cell's target), `mse`, `rmse`, `mae` of the
  mean; gaussian and studentT also `crps` (mean over cells, original units; Gaussian
  sigma·[z(2Φ(z) - 1) + 2φ(z) - 1/√π], Student-t scoringRules' sigma·[z(2F_nu(z) - 1) +
  2f_nu(z)(nu + z²)/(nu - 1) - 2√nu·B(1/2, nu - 1/2)/((nu - 1)·B(1/2, nu/2)²)]) and `coverage80` (fraction
  of cells with F^-1(0.1) <= y <= F^-1(0.9)); negativeBinomial has no crps / coverage80. Quantile models:
  `loss`, `n`, `pinball` (original units: the pinball loss of y - (yhat_q·s + m) averaged over q, pooled),
  `coverage` (an object, key String(q): fraction of cells with y <= yhat_q), and `mse`, `rmse`, `mae`
  of yhat_0.5 only when 0.5 is a quantile.
- epochs.csv after `epoch,train_loss,val_loss,seconds` (validation data only): likelihoods
  `val_mse,val_rmse,val_mae,val_nll` and for gaussian / studentT `val_crps`; quantiles
  `val_mse,val_rmse,val_mae` when 0.5 is a quantile, then `val_pinball`. coverage is not a column.
- forecast (no --samples): each step feeds back the mean (quantiles: yhat_0.5) in original units,
  normalised as the input of the same name; prints `<target>` (the value fed back) for each target,
  then the other parameters as predict names them without `pred_` (`sigma_<target>`, `nu_<target>`,
  `alpha_<target>`; quantile models `<target>_q<q>` for every q, 0.5 included, quantile-major). A
  negativeBinomial mean is fed back as it is (not rounded to a count). A quantile model without 0.5
  is refused (exit 2).
- Bad input is refused before anything is written: the `--out` folder does not exist afterwards. A
  config error names the file and the key (`model.likelihood` for a likelihood with classification,
  `model.quantiles` for both keys given or a bad list); a bad count names the data file and the column.

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
            facts = [f"updates per epoch {n['updates_per_epoch']}"]
            if "best_epoch" in n:
                facts.append(f"best epoch {n['best_epoch']}")
            facts.append("named mistakes told apart: " + ", ".join(n["mistakes_told_apart"]))
            parts.append("Facts: " + "; ".join(facts) + ".\n")
    parts.append("## Named mistakes\n\n" + "\n".join(f"- `{k}`: {v}" for k, v in MISTAKES.items()) + "\n")
    write_text(os.path.join(out_root, "README.md"), "\n".join(parts))


def build(spec, out_root):
    say(f"case {spec.__doc__.strip()}")
    if spec in TRAINING:
        return mc.run_trials(spec, build_training, out_root)
    return build_forecast(spec(), out_root) if spec in FORECAST else build_refusals(spec(), out_root)


def main(argv):
    say(f"torch {torch.__version__}, numpy {np.__version__}, scipy {scipy.__version__}")
    return run_generator(argv, __doc__.split("\n")[0], DEFAULT_OUT, TRAINING + FORECAST + REFUSALS,
                         lambda s: s.__doc__.strip(), build, write_readme, say)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
