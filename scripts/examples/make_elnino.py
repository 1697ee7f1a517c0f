#!/usr/bin/env python3
"""Writes the El Niño example's data files into data/ (see data/README.md, docs/forecasting-example.md).

Source: statsmodels' bundled data set `statsmodels.datasets.elnino` -- monthly mean sea surface
temperature (deg C) of the Niño 1+2 region (0-10 deg S, 80-90 deg W), January 1950 to December
2010 (732 months), NOAA Climate Prediction Center, ERSST.V3B; public domain. It ships with
statsmodels (Debian: python3-statsmodels), so this script runs offline:

    /usr/bin/python3 scripts/examples/make_elnino.py

Deterministic (no random numbers): rerunning it rewrites byte-identical files.

Every file has the columns `origin,date,month_sin,month_cos,sst`: `date` is YYYY-MM (not read by
the model), `month_sin`/`month_cos` are sin/cos(2*pi*(month-1)/12) of the row's own calendar month
(known in advance: covariates), `sst` the temperature, the value forecast. Split by time:

  data/elnino.csv          training:   one sequence (`origin` = "train"), 1950-01 .. 1999-12 (600 rows)
  data/elnino-val.csv      validation: one sequence ("val"), 2000-01 .. 2005-12 (72 rows)
  data/elnino-test.csv     test: rolling origins over the held-out years 2006-01 .. 2010-12. Sequence
                           `origin` = "YYYY-MM" is the whole series from 1950-01 through that month
                           plus the 12 months after it (the last 12 rows: what `rnn backtest
                           --horizon 12` holds out and forecasts from the rows before). Origins
                           2005-12 .. 2009-12, every month: 49 sequences, 588 held-out cells, each
                           forecast 1..12 months ahead; the forecast targets all lie in 2006-2010.
  data/elnino-forecast.csv the input of the fan chart: the ten years 1999-01 .. 2008-12 with sst
                           (a short history keeps the chart readable; the network starts from s_0
                           there, as it does on the validation years), then 24 rows 2009-01 ..
                           2010-12 with the month given and sst empty (to forecast).
"""
import math
import os

from statsmodels.datasets import elnino

HORIZON = 12
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.normpath(os.path.join(here, "..", "..", "data"))

raw = elnino.load_pandas().data
series = []  # (year, month 1..12, sst)
for _, r in raw.iterrows():
    for m, name in enumerate(MONTHS, start=1):
        series.append((int(r["YEAR"]), m, float(r[name])))
assert len(series) == 732 and series[0][:2] == (1950, 1) and series[-1][:2] == (2010, 12)


def index_of(year, month):
    return (year - 1950) * 12 + (month - 1)


def row(origin, k, value=True):
    y, m, v = series[k]
    a = 2 * math.pi * (m - 1) / 12
    cell = f"{v:.2f}" if value else ""
    return f"{origin},{y:04d}-{m:02d},{math.sin(a):.6f},{math.cos(a):.6f},{cell}\n"


def write(name, rows):
    with open(os.path.join(out, name), "w", newline="") as f:
        f.write("origin,date,month_sin,month_cos,sst\n")
        f.writelines(rows)
    print(f"{name}: {len(rows)} rows")


write("elnino.csv", [row("train", k) for k in range(index_of(1950, 1), index_of(1999, 12) + 1)])
write("elnino-val.csv", [row("val", k) for k in range(index_of(2000, 1), index_of(2005, 12) + 1)])

test = []
first, last = index_of(2005, 12), index_of(2009, 12)  # the last history month of each origin
for o in range(first, last + 1):
    y, m, _ = series[o]
    name = f"{y:04d}-{m:02d}"
    test += [row(name, k) for k in range(0, o + HORIZON + 1)]
write("elnino-test.csv", test)

end = index_of(2008, 12)
write("elnino-forecast.csv", [row("2008-12", k) for k in range(index_of(1999, 1), end + 1)]
      + [row("2008-12", k, value=False) for k in range(end + 1, end + 25)])
