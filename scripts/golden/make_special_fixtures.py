#!/usr/bin/python3
"""Generate reference values for the probabilistic-forecast numerics (SPEC.md §10):
src/core/special.ts, src/core/crps.ts and src/core/forecast-metrics.ts.

Writes ``test/fixtures/special/<name>.json``:

- ``special.json``: for each function (lgamma, digamma, lgammaHalfShift and digammaHalfShift (the
  two halves of special.ts's lgammaHalfShift), lbeta, erf, erfc, normalCdf, normalPdf,
  normalQuantile, gammaIncP, gammaIncQ, betaInc, studentTCdf, studentTPdf, studentTQuantile) a list
  of cases ``{"args": [...], "mp": <mpmath at 50 digits, rounded to double>, "sp": <scipy>}``.
  mpmath is the truth the tests hold us to; the scipy value is kept so a test can also state how
  close we are to scipy, and this script prints scipy's own error against mpmath per function.
- ``crps.json``: closed-form CRPS of the Gaussian and Student-t (the formulas evaluated in mpmath)
  and, for each case, the defining integral ∫ (F(x) − 1{x ≥ y})² dx by scipy.integrate.quad.
- ``metrics.json``: numpy's np.quantile (default 'linear'), the O(N²) sample CRPS, and every
  ``rnn backtest`` metric (mae, rmse, smape, mase, coverage80, crps, the seasonal naive baseline)
  recomputed from SPEC §10's definitions in numpy on random sequences with zeros (smape's 0/0
  term) and a constant history (a MASE denominator of 0).

Run it from the repository root with Debian's python3-numpy, python3-scipy and python3-mpmath:

    /usr/bin/python3 scripts/golden/make_special_fixtures.py
    /usr/bin/python3 scripts/golden/make_special_fixtures.py --constants   # the tables in special.ts

It needs no torch. It is deterministic (fixed seeds; mpmath at 50 digits): running it again gives
byte-identical files. Numbers are printed round-trip (Python repr); non-finite values as the
strings "Infinity", "-Infinity", "NaN".
"""

import json
import math
import os
import sys

import mpmath as mp
import numpy as np
import scipy.integrate as integrate
import scipy.special as sc
import scipy.stats as st

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT_DIR = os.path.join(REPO, "test", "fixtures", "special")

mp.mp.dps = 50


def num(x):
    """A double for JSON: round-trip repr, or the strings of the non-finite values."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def write_json(name, obj):
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, name), "w", encoding="utf-8", newline="") as f:
        f.write(json.dumps(obj, indent=None, separators=(",", ":")) + "\n")


# ------------------------------------------------------------------ constants for special.ts

def print_constants():
    """The power-series tables of special.ts (lgamma about 2, digamma about its root)."""
    c = [1 - mp.euler] + [(-1) ** k * (mp.zeta(k) - 1) / k for k in range(2, 31)]
    print("LGAMMA2_SERIES", ", ".join(repr(float(v)) for v in c))
    x0 = mp.findroot(mp.digamma, 1.46)
    hi = float(x0)
    print("PSI_ROOT_HI", repr(hi), "PSI_ROOT_LO", repr(float(x0 - mp.mpf(hi))))
    d = [(-1) ** (n + 1) * mp.zeta(n + 1, x0) for n in range(1, 41)]
    print("PSI_ROOT_SERIES", ", ".join(repr(float(v)) for v in d))


# ------------------------------------------------------------------ special functions

def require_close(got, want, tol, what):
    """A self-check: abort unless |got − want| ≤ tol."""
    if not abs(got - want) <= tol:
        raise SystemExit(f"self-check failed: {what}: {got} vs {want}")


def mpf(x):
    """x as an mpmath number: a double exactly, an mpmath number unchanged."""
    return x if isinstance(x, mp.mpf) else mp.mpf(float(x))


def t_cdf_mp(t, nu):
    t, nu = mpf(t), mpf(nu)
    if t == 0:
        return mp.mpf(0.5)
    x = nu / (nu + t * t)
    tail = mp.betainc(nu / 2, mp.mpf(0.5), 0, x, regularized=True) / 2
    return tail if t < 0 else 1 - tail


def t_pdf_mp(t, nu):
    t, nu = mpf(t), mpf(nu)
    return (1 + t * t / nu) ** (-(nu + 1) / 2) / (mp.sqrt(nu) * mp.beta(nu / 2, mp.mpf(0.5)))


def t_ppf_mp(p, nu):
    """F⁻¹(p) by the secant method in u = log|t| on log of the nearer tail,
    started from scipy's value."""
    if p == 0.5:
        return mp.mpf(0)
    q, sign = (mpf(p), -1) if p < 0.5 else (1 - mpf(p), 1)
    guess = abs(float(st.t.ppf(float(q), float(nu))))
    g = lambda u: mp.log(t_cdf_mp(-mp.exp(u), nu)) - mp.log(q)
    u = mp.findroot(g, mp.log(guess), tol=mp.mpf(10) ** -28)
    require_close(g(u), 0, 1e-25, "t quantile residual")
    return sign * mp.exp(u)


def special_cases(rng):
    """{function: [{args, mp, sp}]}, the points chosen to hit every branch of special.ts."""
    out = {}

    def add(name, args_list, f_mp, f_sp):
        rows = []
        for args in args_list:
            args = [float(a) for a in args]
            rows.append({"args": [num(a) for a in args], "mp": num(f_mp(*args)), "sp": num(f_sp(*args))})
        out[name] = rows

    pos = [1e-300, 1e-30, 1e-10, 1e-5, 1e-3, 0.1, 0.3, 0.4999, 0.5, 0.7, 0.9, 0.99, 1 - 1e-8, 1,
           1 + 1e-8, 1.01, 1.2, 1.4, 1.4616321449683622, 1.5, 1.7, 1.99, 2 - 1e-9, 2, 2 + 1e-9, 2.01,
           2.3, 2.5, 2.5000001, 3, 3.7, 5.5, 6, 7.99, 8, 8.01, 9.99, 10, 12.5, 30, 100.3, 1e3, 1e5,
           1e10, 1e15, 1e100]
    pos += list(np.exp(rng.uniform(math.log(1e-3), math.log(1e3), 200)))
    add("lgamma", [[x] for x in pos], lambda x: mp.loggamma(mpf(x)), sc.gammaln)
    near_root = [1.4616321449683622 + d for d in (-0.39, -0.1, -1e-3, -1e-8, -1e-14, 2e-16, 1e-12, 1e-6, 0.05, 0.399)]
    add("digamma", [[x] for x in pos[:-4] + near_root + [1.06, 1.87, 1.8616]], lambda x: mp.digamma(mpf(x)), sc.psi)
    # lgammaHalfShift: lgamma(x) − lgamma(x + ½) and ψ(x) − ψ(x + ½) (Student's t at x = ν/2);
    # the difference of scipy's two values cancels, so the scipy column is the looser check here.
    half = [p for p in pos if 1e-3 <= p <= 1e15]
    add("lgammaHalfShift", [[x] for x in half], lambda x: mp.loggamma(mpf(x)) - mp.loggamma(mpf(x) + mp.mpf(0.5)),
        lambda x: sc.gammaln(x) - sc.gammaln(x + 0.5))
    add("digammaHalfShift", [[x] for x in half], lambda x: mp.digamma(mpf(x)) - mp.digamma(mpf(x) + mp.mpf(0.5)),
        lambda x: sc.psi(x) - sc.psi(x + 0.5))

    ab = [(0.5, 0.5), (0.5, 3.5), (1, 1), (2.5, 7.9), (7.9, 8.1), (8, 8), (0.5, 1e3), (0.5, 1e6),
          (3.3, 50), (20, 30), (100, 0.2), (1e4, 1e4), (1e-3, 5)]
    ab += [tuple(np.exp(rng.uniform(math.log(0.05), math.log(500), 2))) for _ in range(40)]
    add("lbeta", ab, lambda a, b: mp.log(mp.beta(mpf(a), mpf(b))), sc.betaln)

    xs = [0, 1e-300, 1e-20, 1e-8, 0.1, 0.3, 0.4999, 0.5, 0.5001, 0.56, 0.6, 0.75, 0.9375, 1, 1.5,
          2, 2.4, 2.9, 3.0, 3.05, 3.0625, 3.07, 3.5, 4, 5, 6, 8, 10, 15, 20, 25, 26.5, 27.2]
    xs += list(rng.uniform(0, 6, 150)) + list(rng.uniform(6, 27, 40))
    xs_all = xs + [-x for x in xs if x > 0]
    add("erf", [[x] for x in xs_all if abs(x) < 7], lambda x: mp.erf(mpf(x)), sc.erf)
    add("erfc", [[x] for x in xs_all], lambda x: mp.erfc(mpf(x)), sc.erfc)

    zs = [0, 1e-10, 0.5, 0.7, 0.708, 1, 1.4, 2, 3, 5, 8, 10, 20, 30, 37.5]
    zs += list(rng.uniform(-10, 10, 100)) + list(rng.uniform(-38, -10, 30))
    zs_all = zs + [-z for z in zs if z > 0]
    add("normalCdf", [[z] for z in zs_all if z < 9], lambda z: mp.ncdf(mpf(z)), sc.ndtr)
    add("normalPdf", [[z] for z in zs_all], lambda z: mp.npdf(mpf(z)), st.norm.pdf)

    ps = [1e-300, 1e-200, 1e-100, 1e-50, 1e-20, 1e-10, 1e-5, 1e-3, 0.01, 0.02425, 0.05, 0.1, 0.2,
          0.2499, 0.25, 0.2501, 0.3, 0.4, 0.45, 0.49, 0.4999999, 0.5 - 1e-12, 0.5, 0.5 + 1e-12, 0.5000001,
          0.6, 0.75, 0.7501, 0.8, 0.9, 0.975, 0.99, 0.999, 1 - 1e-8, 1 - 1e-15]
    ps += list(rng.uniform(0, 1, 100)) + list(np.exp(rng.uniform(math.log(1e-300), math.log(0.5), 40)))
    add("normalQuantile", [[p] for p in ps], lambda p: mp.sqrt(2) * mp.erfinv(2 * mpf(p) - 1)
        if 1e-10 < p < 1 - 1e-10 else mp.findroot(lambda z: mp.ncdf(z) - mpf(p), sc.ndtri(p)), sc.ndtri)

    ax = [(0.5, 0.1), (0.5, 2), (1, 1), (1, 30), (2.5, 0.01), (2.5, 3.4), (3.5, 3.5), (10, 5),
          (10, 15), (30, 28), (30, 40), (0.05, 0.001), (0.05, 1), (100, 90), (100, 120), (7.3, 1e-8)]
    ax += [(float(np.exp(rng.uniform(math.log(0.1), math.log(100)))), 0.0) for _ in range(40)]
    ax = [(a, x if x > 0 else float(a * rng.uniform(0.05, 3))) for a, x in ax]
    add("gammaIncP", ax, lambda a, x: mp.gammainc(mpf(a), 0, mpf(x), regularized=True), sc.gammainc)
    add("gammaIncQ", ax, lambda a, x: mp.gammainc(mpf(a), mpf(x), mp.inf, regularized=True), sc.gammaincc)

    abx = [(0.5, 0.5, 0.3), (1, 1, 0.7), (2.5, 0.5, 0.99), (0.5, 2.5, 1e-6), (5, 5, 0.5), (15, 0.5, 0.9),
           (0.5, 15, 0.02), (30, 40, 0.45), (0.1, 0.1, 0.5), (3.5, 0.5, 1 - 1e-9), (100, 100, 0.52)]
    abx += [(float(np.exp(rng.uniform(math.log(0.1), math.log(60)))),
             float(np.exp(rng.uniform(math.log(0.1), math.log(60)))), float(rng.uniform(0, 1))) for _ in range(60)]
    add("betaInc", abx, lambda a, b, x: mp.betainc(mpf(a), mpf(b), 0, mpf(x), regularized=True), sc.betainc)

    nus = [0.3, 1, 2.01, 2.5, 3, 7.3, 30, 1e3]
    ts = [0, 1e-8, 0.1, 0.5, 1, 2, 3.3, 10, 50, 1e3]
    tn = [(t, nu) for nu in nus for t in ts] + [(-t, nu) for nu in nus for t in ts if t > 0]
    tn += [(float(rng.uniform(-8, 8)), float(np.exp(rng.uniform(math.log(0.5), math.log(200))))) for _ in range(60)]
    tn += [(-1e160, 0.5), (-1e200, 0.3), (1e155, 0.8), (-3e154, 0.9)]  # t² overflows a double
    add("studentTCdf", tn, t_cdf_mp, lambda t, nu: st.t.cdf(t, nu))
    add("studentTPdf", tn, t_pdf_mp, lambda t, nu: st.t.pdf(t, nu))
    pn = [(p, nu) for nu in nus for p in (1e-12, 1e-6, 0.001, 0.01, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5 - 1e-9,
                                         0.5, 0.6, 0.75, 0.9, 0.99, 1 - 1e-7)]
    pn += [(float(rng.uniform(0, 1)), float(np.exp(rng.uniform(math.log(0.5), math.log(200))))) for _ in range(40)]
    add("studentTQuantile", pn, t_ppf_mp, lambda p, nu: st.t.ppf(p, nu))
    return out


# ------------------------------------------------------------------ CRPS

def crps_gaussian_mp(y, mu, sigma):
    z = (mpf(y) - mpf(mu)) / mpf(sigma)
    return mpf(sigma) * (z * (2 * mp.ncdf(z) - 1) + 2 * mp.npdf(z) - 1 / mp.sqrt(mp.pi))


def crps_t_mp(y, mu, sigma, nu):
    z = (mpf(y) - mpf(mu)) / mpf(sigma)
    nu = mpf(nu)
    F = t_cdf_mp(z, nu)
    f = t_pdf_mp(z, nu)
    half = mp.mpf(0.5)
    return mpf(sigma) * (z * (2 * F - 1) + 2 * f * (nu + z * z) / (nu - 1)
                         - 2 * mp.sqrt(nu) * mp.beta(half, nu - half) / ((nu - 1) * mp.beta(half, nu / 2) ** 2))


def crps_integral(cdf, y, lo, hi):
    """∫ (F(x) − 1{x ≥ y})² dx by quad, split at y (the integrand's kink)."""
    left, _ = integrate.quad(lambda x: cdf(x) ** 2, -np.inf, y, epsabs=0, epsrel=1e-13, limit=500)
    right, _ = integrate.quad(lambda x: (1 - cdf(x)) ** 2, y, np.inf, epsabs=0, epsrel=1e-13, limit=500)
    return left + right


def crps_cases(rng):
    g = [(0, 0, 1), (1, 0, 1), (-2.5, 0.3, 0.7), (10, 1, 2), (3, 3, 1e-3), (-40, 2, 5)]
    g += [(float(rng.normal(0, 3)), float(rng.normal(0, 1)), float(np.exp(rng.normal(0, 1)))) for _ in range(20)]
    gauss = [{"args": [num(a) for a in c], "mp": num(crps_gaussian_mp(*c)),
              "quad": num(crps_integral(lambda x, c=c: st.norm.cdf(x, c[1], c[2]), c[0], None, None))} for c in g]
    t = [(0, 0, 1, 2.5), (1, 0, 1, 1.5), (-2.5, 0.3, 0.7, 3), (10, 1, 2, 4.2), (0.4, 0, 1, 30), (5, 0, 1, 1e3),
         (-3, 1, 0.5, 2.01), (2, 1, 1, 1.1)]
    t += [(float(rng.normal(0, 3)), float(rng.normal(0, 1)), float(np.exp(rng.normal(0, 1))),
           float(2 + np.exp(rng.normal(0, 1.5)))) for _ in range(20)]
    stud = [{"args": [num(a) for a in c], "mp": num(crps_t_mp(*c)),
             "quad": num(crps_integral(lambda x, c=c: st.t.cdf(x, c[3], c[1], c[2]), c[0], None, None))} for c in t]
    return {"gaussian": gauss, "studentT": stud}


# ------------------------------------------------------------------ forecast metrics

def crps_pairs(xs, y):
    """E|X − y| − ½E|X − X′| over the N samples, all N² pairs (the definition, O(N²))."""
    xs = np.asarray(xs, dtype=np.float64)
    return float(np.mean(np.abs(xs - y)) - 0.5 * np.mean(np.abs(xs[:, None] - xs[None, :])))


def seasonal_naive(hist, h, m):
    n = len(hist)
    return np.array([hist[n + k - m * math.ceil((k + 1) / m)] for k in range(h)])


def backtest_reference(seqs, O, m, with_samples):
    """SPEC §10's backtest metrics, straight from the definitions, pooled over the cells of `seqs`."""
    def point_metrics(forecast_of):
        e_all, y_all, f_all, mase_terms = [], [], [], []
        for s in seqs:
            for o in range(O):
                y = s["actual"][:, o]
                f = forecast_of(s, o)
                e = y - f
                e_all += list(e); y_all += list(y); f_all += list(f)
                hist = s["history"][:, o]
                den = np.mean(np.abs(hist[m:] - hist[:-m]))
                if den != 0:
                    mase_terms.append(np.mean(np.abs(e)) / den)
        e, y, f = np.array(e_all), np.array(y_all), np.array(f_all)
        den = np.abs(y) + np.abs(f)
        terms = np.where(den == 0, 0.0, 2 * np.abs(e) / np.where(den == 0, 1, den))
        return {"mae": float(np.mean(np.abs(e))), "rmse": float(np.sqrt(np.mean(e * e))),
                "smape": float(100 * np.mean(terms)),
                "mase": float(np.mean(mase_terms)) if mase_terms else None}

    out = point_metrics(lambda s, o: s["point"][:, o])
    out["sequences"] = len(seqs)
    if with_samples:
        crps, inside, cells = 0.0, 0, 0
        for s in seqs:
            h = s["actual"].shape[0]
            for k in range(h):
                for o in range(O):
                    xs = s["samples"][:, k, o]
                    y = s["actual"][k, o]
                    crps += crps_pairs(xs, y)
                    lo, hi = np.quantile(xs, [0.1, 0.9])
                    inside += int(lo <= y <= hi)
                    cells += 1
        out["crps"] = crps / cells
        out["coverage80"] = inside / cells
    out["baseline"] = point_metrics(lambda s, o: seasonal_naive(s["history"][:, o], s["actual"].shape[0], m))
    return out


def metric_cases(rng):
    quant = []
    for n in (1, 2, 3, 7, 10, 101, 1000):
        xs = np.sort(rng.normal(0, 2, n))
        if n == 7:
            xs[2:5] = xs[2]  # ties
        qs = [0, 0.1, 0.25, 0.5, 0.9, 0.975, 1, float(rng.uniform())]
        quant.append({"sorted": [num(v) for v in xs], "q": qs, "want": [num(v) for v in np.quantile(xs, qs)]})

    crps = []
    for n in (1, 2, 5, 50, 400):
        xs = rng.standard_t(3, n) * 1.5 + 0.2
        for y in (float(rng.normal()), float(np.median(xs)), 100.0):
            crps.append({"samples": [num(v) for v in xs], "y": num(y), "want": num(crps_pairs(xs, y))})

    naive = []
    for n, h, m in ((5, 3, 1), (5, 7, 1), (8, 5, 3), (12, 13, 4), (7, 2, 7), (24, 30, 12)):
        hist = rng.integers(0, 50, n).astype(float)
        naive.append({"history": [num(v) for v in hist], "h": h, "m": m,
                      "want": [num(v) for v in seasonal_naive(hist, h, m)]})

    backtests = []
    for case, (O, m, h, N, n_seq) in enumerate(((1, 1, 3, 0, 4), (2, 1, 4, 64, 5), (2, 3, 5, 200, 6), (3, 2, 2, 31, 3))):
        seqs = []
        for j in range(n_seq):
            n = int(rng.integers(m + 1, m + 15))
            hist = np.round(rng.normal(5, 3, (n, O)), 3)
            actual = np.round(rng.normal(5, 3, (h, O)), 3)
            point = np.round(actual + rng.normal(0, 1, (h, O)), 3)
            if j == 0:
                hist[:, 0] = 2.5  # a constant history: MASE denominator 0 for target 0
                actual[0, 0] = 0.0; point[0, 0] = 0.0  # smape's 0/0 term
            if j == 1:
                actual[1, :] = 0.0  # y = 0, ŷ ≠ 0: smape term 2
            s = {"history": hist, "actual": actual, "point": point}
            if N:
                s["samples"] = np.round(point[None, :, :] + rng.normal(0, 1.3, (N, h, O)), 4)
            seqs.append(s)
        if case == 0:
            for s in seqs:
                s["history"][:, 0] = s["history"][0, 0]  # no pair qualifies: mase null
        want = backtest_reference(seqs, O, m, N > 0)
        backtests.append({
            "targets": O, "season": m, "horizon": h, "samples": N,
            "sequences": [{k: [num(v) for v in np.asarray(s[k]).ravel()] for k in s} for s in seqs],
            "want": want,
        })
    return {"quantile": quant, "crps": crps, "seasonalNaive": naive, "backtest": backtests}


def rel_err(a, b):
    if a == b:
        return 0.0
    if isinstance(a, str) or isinstance(b, str):
        return float("inf")
    return abs(a - b) / max(abs(b), 1e-300)


def main():
    if "--constants" in sys.argv:
        print_constants()
        return
    special = special_cases(np.random.default_rng(20240610))
    for name, rows in special.items():
        worst = max(rel_err(r["sp"], r["mp"]) for r in rows)
        print(f"{name:18s} {len(rows):4d} cases, scipy vs mpmath: max relative error {worst:.2e}")
    write_json("special.json", special)
    crps = crps_cases(np.random.default_rng(7))
    for name, rows in crps.items():
        worst = max(rel_err(r["quad"], r["mp"]) for r in rows)
        print(f"crps {name:13s} {len(rows):4d} cases, quad vs closed form: max relative error {worst:.2e}")
        assert worst < 1e-8, name
    write_json("crps.json", crps)
    write_json("metrics.json", metric_cases(np.random.default_rng(11)))
    print("wrote", OUT_DIR)


if __name__ == "__main__":
    main()
