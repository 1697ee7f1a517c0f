#!/usr/bin/env python3
"""El Niño example: rnn's Gaussian LSTM against the seasonal naive forecast and statsmodels'
SARIMA and ETS, on the same held-out cells. Prints one table (Markdown) on stdout.

    /usr/bin/python3 scripts/examples/make_elnino.py        # once: writes data/elnino*.csv
    /usr/bin/python3 scripts/examples/compare_elnino.py [--seeds 1,2,3] [--samples 1000]

Run from anywhere; it works in the repository root. For each seed s it trains
`node bin/rnn.js train configs/elnino.yaml --seed s --out runs/elnino-seed<s> --force --quiet` and scores
`node bin/rnn.js backtest runs/elnino-seed<s>/best.safetensors --horizon 12 --season 12
--samples 1000 --data data/elnino-test.csv --json`.

The statsmodels side reads the same file, data/elnino-test.csv, and splits each sequence as
rnn backtest does (SPEC §10): the last H = 12 rows are held out, the rows before are the history.
For each of the 49 sequences (forecast origins 2005-12 .. 2009-12) it fits on that history
  - SARIMA(2,0,1)(0,1,1)_12 (statsmodels SARIMAX; the order is the lowest AIC of a small grid
    fit on the training period 1950-1999 only, data/elnino.csv; see ORDER below), and
  - ETS(A,N,A) (statsmodels ETSModel: additive error, no trend, additive season 12),
and forecasts the 12 held-out months: the mean and its standard error, from which
  - the 80% interval is mean +- z_0.9 * se (z_0.9 = 1.2816) and coverage80 the fraction of
    held-out cells inside it,
  - crps is the closed form for a Gaussian forecast N(mean, se^2):
    se * (z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)), z = (y - mean) / se, mean over cells.
mae, rmse, smape (100 * mean 2|e|/(|y|+|yhat|)) are pooled over all 588 held-out cells; mase is,
per sequence, mean |e| over the mean in-sample |y_t - y_{t-12}| of its history, averaged over
sequences -- SPEC §10's definitions, as rnn backtest computes them. The seasonal naive forecast
is recomputed here too and must equal rnn backtest's `baseline` (a check that both sides score
the same cells). Deterministic: SARIMA/ETS fits are deterministic, rnn is a function of its seed.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.statespace.sarimax import SARIMAX

H, M = 12, 12
ORDER, SEASONAL = (2, 0, 1), (0, 1, 1, 12)
Z90 = norm.ppf(0.9)
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TEST = "data/elnino-test.csv"


def run(cmd):
    print("$ " + " ".join(cmd), file=sys.stderr)
    return subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout


def sequences():
    d = pd.read_csv(os.path.join(ROOT, TEST), dtype={"origin": str})
    for origin, g in d.groupby("origin", sort=False):
        y = g["sst"].to_numpy(float)
        yield origin, y[:-H], y[-H:]


def scores(per_seq):
    """per_seq: list of (history, actual, mean, se-or-None). SPEC §10's pooled metrics."""
    e, a, f, mase, crps, inside = [], [], [], [], [], []
    for hist, act, mean, se in per_seq:
        e.append(act - mean); a.append(act); f.append(mean)
        scale = np.mean(np.abs(hist[M:] - hist[:-M]))
        if scale != 0: mase.append(np.mean(np.abs(act - mean)) / scale)
        if se is not None:
            z = (act - mean) / se
            crps.append(se * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / math.sqrt(math.pi)))
            inside.append(np.abs(act - mean) <= Z90 * se)
    e, a, f = np.concatenate(e), np.concatenate(a), np.concatenate(f)
    den = np.abs(a) + np.abs(f)
    sm = np.where(den == 0, 0.0, 2 * np.abs(e) / np.where(den == 0, 1, den))
    out = {"mae": float(np.mean(np.abs(e))), "rmse": float(np.sqrt(np.mean(e ** 2))),
           "smape": float(100 * np.mean(sm)), "mase": float(np.mean(mase))}
    if crps:
        out["crps"] = float(np.mean(np.concatenate(crps)))
        out["coverage80"] = float(np.mean(np.concatenate(inside)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--samples", default="1000")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    warnings.filterwarnings("ignore")  # statsmodels' convergence chatter; fits are checked below

    rows, baseline = [], None
    for s in seeds:
        out = f"runs/elnino-seed{s}"
        t0 = time.time()
        run(["node", "bin/rnn.js", "train", "configs/elnino.yaml", "--seed", str(s), "--out", out, "--force", "--quiet"])
        secs = time.time() - t0
        ep = pd.read_csv(os.path.join(ROOT, out, "epochs.csv"))
        bt = json.loads(run(["node", "bin/rnn.js", "backtest", f"{out}/best.safetensors", "--horizon", str(H),
                             "--season", str(M), "--samples", args.samples, "--data", TEST, "--json"]))
        best = int(ep.loc[ep["val_loss"].idxmin(), "epoch"])
        rows.append((f"rnn LSTM gaussian, seed {s} (best epoch {best}/{len(ep)}, {secs:.0f} s)", bt))
        baseline = bt["baseline"]
        cells = bt["cells"]

    seqs = list(sequences())
    naive = scores([(h, a, np.array([h[len(h) - M + k % M] for k in range(H)]), None) for _, h, a in seqs])
    for k in naive:
        assert abs(naive[k] - baseline[k]) < 1e-9 * max(1, abs(naive[k])), (k, naive[k], baseline[k])
    assert cells == sum(len(a) for _, _, a in seqs)

    sar, ets, start, t0 = [], [], None, time.time()
    for origin, h, a in seqs:
        m = SARIMAX(h, order=ORDER, seasonal_order=SEASONAL).fit(start_params=start, disp=False, maxiter=200)
        assert m.mle_retvals["converged"], origin
        start = m.params
        fc = m.get_forecast(H)
        sar.append((h, a, fc.predicted_mean, fc.se_mean))
        # a pandas Series: statsmodels 0.13's ETS get_prediction fails on a bare ndarray
        e = ETSModel(pd.Series(h), error="add", trend=None, seasonal="add", seasonal_periods=M).fit(disp=False, maxiter=1000)
        pr = e.get_prediction(start=len(h), end=len(h) + H - 1)
        ets.append((h, a, np.asarray(pr.predicted_mean), np.sqrt(np.asarray(pr.var_pred_mean))))
    sm_secs = time.time() - t0

    med = {k: statistics.median(r[k] for _, r in rows) for k in ["mae", "rmse", "smape", "mase", "crps", "coverage80"]}
    table = rows + [(f"rnn LSTM, median of {len(seeds)} seeds", med),
                    ("seasonal naive (y[t-12])", naive),
                    (f"SARIMA{ORDER}{SEASONAL[:3]}_12 (statsmodels)", scores(sar)),
                    ("ETS(A,N,A) (statsmodels)", scores(ets))]
    print(f"El Niño 1+2 SST, {len(seqs)} forecast origins 2005-12 .. 2009-12, horizon {H} months, "
          f"{cells} held-out cells (2006-2010); rnn --samples {args.samples}; "
          f"statsmodels fits {sm_secs:.0f} s")
    print()
    print("| model | MAE °C | RMSE °C | sMAPE % | MASE | CRPS °C | coverage80 (nominal 0.80) |")
    print("|---|---|---|---|---|---|---|")
    for name, r in table:
        c = lambda k, f: (f % r[k]) if k in r else "–"
        print(f"| {name} | {c('mae', '%.3f')} | {c('rmse', '%.3f')} | {c('smape', '%.2f')} | {c('mase', '%.3f')} "
              f"| {c('crps', '%.3f')} | {c('coverage80', '%.3f')} |")


if __name__ == "__main__":
    main()
