#!/usr/bin/env python3
"""Multi-series (panel) data for docs/categorical.md, "Real data: one model over many series".

    /usr/bin/python3 scripts/examples/make_panel.py      # writes data/fertility*.csv, data/synth-panel*.csv

Deterministic (no randomness in the real set; the synthetic set uses numpy's default_rng(20)).

1. REAL: the World Bank's total fertility rate (births per woman) of 219 countries, 1960-2013
   (World Development Indicators, indicator SP.DYN.TFRT.IN; the copy bundled with statsmodels,
   `statsmodels.datasets.fertility`, read offline from Debian's python3-statsmodels). Kept: the
   countries with every year 1960-2011 present (2012-2013 are empty for almost all). One series
   per country; the series id is the ISO code (`country`, a categorical input), and `region` is a
   second categorical field: the country's fertility band in 1960 (`high` >= 6, `mid` 4-6,
   `low` < 4), a static label known before the forecast period.
   Task: one step ahead -- from this year's rate, next year's (`fert_next` is `fert` of the
   following year, written into the row, so the configs use shift 0 and an empty `fert_next` is a
   masked target).
     data/fertility-train.csv   rows 1960-2001; targets 1961-2001 (row 2001's target is empty)
     data/fertility-test.csv    rows 1960-2010, the same countries; targets only on rows 2001-2010,
                                i.e. the 10 held-out years 2002-2011 (the model reads the whole
                                history first: eval scores only those cells)
     data/fertility-onehot-{train,test}.csv   the same rows with `country` and `region` also one-hot
                                as 0/1 columns c_<ISO> and r_<band> (the one-hot configs' inputs)
2. SYNTHETIC (clearly labelled: data/synth-panel*.csv): 2000 series x 30 steps, a categorical series
   id `series` (s0000..s1999) and a categorical group label `group` (g00..g19). Series i of group g:
   y_t = mu_i + x_t, x_t = phi_g x_(t-1) + e_t, e_t ~ N(0, 0.3^2), mu_i = m_g + N(0, 1),
   m_g ~ U(-3, 3), phi_g ~ U(0.2, 0.9); y_next = y_(t+1).
     data/synth-panel-train.csv    steps 0-24 (targets 1-24)
     data/synth-panel-test.csv     steps 0-29, targets only on steps 24-28 (the 5 held-out steps 25-29)
     data/synth-panel-unseen.csv   3 series whose ids (n0000..n0002) training never saw, groups g00..g02
"""
import os

import numpy as np
import pandas as pd
import statsmodels.datasets as smd

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DATA = os.path.join(ROOT, "data")
FIRST, LAST_TRAIN, LAST = 1960, 2001, 2011


def write(df, name):
    path = os.path.join(DATA, name)
    df.to_csv(path, index=False, float_format="%.6g")
    print(f"wrote {os.path.relpath(path, ROOT)}: {len(df)} rows")


def fertility():
    raw = smd.fertility.load_pandas().data
    years = [str(y) for y in range(FIRST, LAST + 1)]
    raw = raw.dropna(subset=years).sort_values("Country Code")
    rows = []
    for _, r in raw.iterrows():
        v = r[years].astype(float).to_numpy()
        band = "high" if v[0] >= 6 else ("mid" if v[0] >= 4 else "low")
        for k, y in enumerate(range(FIRST, LAST)):          # rows 1960..2010, target = next year
            rows.append((r["Country Code"], band, y, v[k], v[k + 1]))
    d = pd.DataFrame(rows, columns=["country", "region", "year", "fert", "fert_next"])
    train = d[d.year <= LAST_TRAIN].copy()
    train.loc[train.year == LAST_TRAIN, "fert_next"] = np.nan
    test = d.copy()
    test.loc[test.year < LAST_TRAIN, "fert_next"] = np.nan
    write(train, "fertility-train.csv")
    write(test, "fertility-test.csv")
    codes = sorted(d.country.unique())
    bands = sorted(d.region.unique())
    for part, df in (("train", train), ("test", test)):
        cols = {"c_" + c: (df.country == c).astype(int) for c in codes}
        cols.update({"r_" + b: (df.region == b).astype(int) for b in bands})
        oh = pd.concat([df, pd.DataFrame(cols, index=df.index)], axis=1)
        write(oh, f"fertility-onehot-{part}.csv")
    print(f"fertility: {len(codes)} countries, bands {dict(d.groupby('region').country.nunique())}")
    return codes


def synthetic():
    rng = np.random.default_rng(20)
    G, N, T = 20, 2000, 30
    m = rng.uniform(-3, 3, G)
    phi = rng.uniform(0.2, 0.9, G)
    rows = []

    def series(sid, g):
        mu = m[g] + rng.normal(0, 1)
        x = rng.normal(0, 0.3 / np.sqrt(1 - phi[g] ** 2))
        ys = []
        for _ in range(T + 1):
            ys.append(mu + x)
            x = phi[g] * x + rng.normal(0, 0.3)
        return [(sid, f"g{g:02d}", t, ys[t], ys[t + 1]) for t in range(T)]

    for i in range(N):
        rows += series(f"s{i:04d}", i % G)
    d = pd.DataFrame(rows, columns=["series", "group", "t", "y", "y_next"])
    train = d[d.t <= 24].copy()
    train.loc[train.t == 24, "y_next"] = np.nan
    test = d.copy()
    test.loc[test.t < 24, "y_next"] = np.nan
    test.loc[test.t == 29, "y_next"] = np.nan
    unseen = pd.DataFrame([r for j in range(3) for r in series(f"n{j:04d}", j)],
                          columns=d.columns)
    write(train, "synth-panel-train.csv")
    write(test, "synth-panel-test.csv")
    write(unseen, "synth-panel-unseen.csv")


if __name__ == "__main__":
    os.makedirs(DATA, exist_ok=True)
    fertility()
    synthetic()
