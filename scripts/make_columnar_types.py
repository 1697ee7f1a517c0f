#!/usr/bin/env python3
"""Writes the Parquet and Arrow IPC fixtures of test/robustness/columnar.test.ts (issue 24) with
pyarrow, an independent writer, into test/fixtures/columnar/types/:
- types.parquet, types.arrow (lz4), types-zstd.arrow, types-plain.arrow: one column per type the
  readers can meet, 4 rows, with a null in each; types.json says what each column must read as:
  {"values": [double or null], "text": [exact text or null]} for a number column (text only where
  the double is not the value: int64 past 2^53, decimals), {"text": [...]} for a text column,
  {"refused": "<words of the message>"} for a type rnn refuses by name;
- bigids.parquet, bigids.arrow: 20 sequences whose int64 ids differ past 2^53 (as doubles they
  are equal), 3 rows each; columns id, x, y;
- nested.parquet, nested.arrow: x, y and a struct and a list column;
- rows.parquet: 37 rows of x, y in one row group (the hostile tests patch its footer's counts).
Needs pyarrow and numpy (a venv: python3 -m venv /work/venv-pa && /work/venv-pa/bin/pip install
pyarrow numpy). Run: /work/venv-pa/bin/python scripts/make_columnar_types.py"""
import datetime
import decimal
import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "columnar", "types")
os.makedirs(OUT, exist_ok=True)
D = decimal.Decimal
decimal.getcontext().prec = 80
BIG = 2**60

def num(values, exact=False):
    """Expected reading of a number column: each value as the nearest double, and its exact text."""
    e = {"values": [None if v is None else float(v) for v in values]}
    if exact:
        e["text"] = [None if v is None else str(v) for v in values]
    return e

cols = {}  # name: (pyarrow array, expected)
for bits in (8, 16, 32, 64):
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    v = [lo, -1, None, hi]
    cols[f"int{bits}"] = (pa.array(v, getattr(pa, f"int{bits}")()), num(v, bits == 64))
    uv = [0, 1, None, 2**bits - 1]
    cols[f"uint{bits}"] = (pa.array(uv, getattr(pa, f"uint{bits}")()), num(uv, bits == 64))
h = [0.001344, -2.5, None, 65504.0]
cols["float16"] = (pa.array([None if x is None else np.float16(x) for x in h], pa.float16()),
                   {"values": [None if x is None else float(np.float16(x)) for x in h]})
f32 = [0.1, -1e-7, None, 3.4e38]
cols["float32"] = (pa.array(f32, pa.float32()), {"values": [None if x is None else float(np.float32(x)) for x in f32]})
f64 = [0.1, -1e-300, None, 1.7976931348623157e308]
cols["float64"] = (pa.array(f64, pa.float64()), num(f64))
for name, typ, vals in (
    ("decimal128_6", pa.decimal128(10, 6), [D("0.001344"), D("-12.500000"), None, D("9999.999999")]),
    ("decimal128_0", pa.decimal128(20, 0), [D(2**60 + 1), D(-7), None, D(10**19)]),
    ("decimal128_30", pa.decimal128(38, 30), [D("1.000000000000000000000000000001"), D("-0.5"), None, D("0")]),
    ("decimal256_4", pa.decimal256(40, 4), [D("123456789012345678901234567890.1234"), D("-0.0001"), None, D("1")]),
):
    q = [None if v is None else v.quantize(D(1).scaleb(-typ.scale)) for v in vals]
    cols[name] = (pa.array(q, typ), {"values": [None if v is None else float(v) for v in q], "text": [None if v is None else format(v, "f") for v in q]})
s = ["a", "héllo", None, ""]
cols["string"] = (pa.array(s, pa.string()), {"text": s})
cols["large_string"] = (pa.array(s, pa.large_string()), {"text": s})
cols["dictionary"] = (pa.array(["b", "a", None, "b"]).dictionary_encode(), {"text": ["b", "a", None, "b"]})
cols["bool"] = (pa.array([True, False, None, True]), {"text": ["true", "false", None, "true"]})
cols["null"] = (pa.nulls(4), {"values": [None] * 4})
t0 = datetime.datetime(2024, 1, 2, 3, 4, 5)
for name, arr in (
    ("date32", pa.array([datetime.date(2024, 1, 1), None, datetime.date(1970, 1, 1), datetime.date(2000, 2, 29)], pa.date32())),
    ("timestamp_ms", pa.array([t0, None, t0, t0], pa.timestamp("ms"))),
    ("timestamp_us_tz", pa.array([t0, None, t0, t0], pa.timestamp("us", tz="UTC"))),
    ("time64_us", pa.array([datetime.time(1, 2), None, datetime.time(0), datetime.time(23, 59)], pa.time64("us"))),
):
    cols[name] = (arr, {"refused": "date/time"})
cols["duration_s"] = (pa.array([1, None, 2, 3], pa.duration("s")), {"refused": "date/time"})
cols["binary"] = (pa.array([b"\x00\xff", b"a", None, b""], pa.binary()), {"refused": "binary"})
cols["fixed_binary"] = (pa.array([b"ab", b"cd", None, b"ef"], pa.binary(2)), {"refused": "binary"})
cols["struct"] = (pa.array([{"a": 1}, {"a": 2}, None, {"a": 3}], pa.struct([("a", pa.int32())])), {"refused": "nested"})
cols["list"] = (pa.array([[1.0], [], None, [2.0, 3.0]], pa.list_(pa.float64())), {"refused": "nested"})

table = pa.table({k: a for k, (a, _) in cols.items()})
# Parquet stores durations as plain int64 (pyarrow keeps the type in its own schema metadata only):
# a reader without that metadata reads the numbers, so that is what is expected of it there.
expected = {"columns": {k: e for k, (_, e) in cols.items()}}
expected["columns"]["duration_s"] = {"refused": "date/time", "parquet": {"values": [1.0, None, 2.0, 3.0]}}
pq.write_table(table, os.path.join(OUT, "types.parquet"), store_schema=False)
feather.write_feather(table, os.path.join(OUT, "types.arrow"))  # lz4
feather.write_feather(table, os.path.join(OUT, "types-zstd.arrow"), compression="zstd")
feather.write_feather(table, os.path.join(OUT, "types-plain.arrow"), compression="uncompressed")
with open(os.path.join(OUT, "types.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")

ids = [BIG + k for k in range(20) for _ in range(3)]
big = pa.table({"id": pa.array(ids, pa.int64()), "x": [float(i % 7) / 7 for i in range(60)], "y": [float(i % 5) for i in range(60)]})
pq.write_table(big, os.path.join(OUT, "bigids.parquet"))
feather.write_feather(big, os.path.join(OUT, "bigids.arrow"))

nested = pa.table({"x": [0.5, 1.0, 1.5, 2.0], "y": [1.0, 2.0, 3.0, 4.0],
                   "s": cols["struct"][0], "l": cols["list"][0]})
pq.write_table(nested, os.path.join(OUT, "nested.parquet"))
feather.write_feather(nested, os.path.join(OUT, "nested.arrow"))

rows = pa.table({"x": [float(i) / 37 for i in range(37)], "y": [float(i % 3) for i in range(37)]})
pq.write_table(rows, os.path.join(OUT, "rows.parquet"), compression="none", write_statistics=False)
