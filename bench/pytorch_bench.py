#!/usr/bin/env python3
"""PyTorch CPU reference benchmark for Elman RNN training (the baseline `rnn` is compared to).

Purpose
-------
Measures how fast PyTorch trains a 1-layer tanh Elman RNN (``nn.RNN``) plus a
linear read-out (``nn.Linear``) on the CPU, on the three standard workloads:

    small   I=8    H=64    O=8    B=32  T=64
    medium  I=32   H=256   O=32   B=32  T=64
    large   I=128  H=1024  O=128  B=64  T=32

One *update* is exactly what the TypeScript trainer does per TBPTT window:
forward over T steps from the hidden state carried over from the previous
window (``h = h.detach()``), ``nn.MSELoss()`` (mean), ``loss.backward()``,
``clip_grad_norm_(params, 5.0)``, ``SGD(lr=0.01).step()``, ``zero_grad()``.
Data is random (x ~ N(0,1), targets ~ N(0,1)), made once in memory, and a few
batches are cycled. Tensors are sequence-first (T, B, F), ``nn.RNN``'s native
layout (batch_first would only add transposes).

Timing protocol: warm-up until 5 updates or >= 0.5 s (whichever first, at
least one update), then at least ``--seconds`` of wall time split into >= 5
rounds (each round at least one update); the figure reported is the MEDIAN
seconds per update over the rounds.

    steps/s  = B*T / sec_per_update
    GFLOP/s  = 3 * forward_flops / sec_per_update / 1e9
    forward_flops = 2*B*T*(I*H + H*H + H*O)

Thread settings (each run in a fresh subprocess of this script, because BLAS
environment variables only take effect if set before ``import torch``):

    a  torch.set_num_threads(1), OPENBLAS_NUM_THREADS=2
    b  torch.set_num_threads(1), OPENBLAS_NUM_THREADS=1
    c  torch.set_num_threads(2), OPENBLAS_NUM_THREADS left as the environment has it

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are passed through unchanged unless
``--unset-coretype`` is given, which removes both from the child environment.
The OPENBLAS_* variables only matter if the BLAS library torch actually loads
is OpenBLAS; the note printed first says which library was loaded (read from
/proc/self/maps of the child), so check it before reading anything into a/b
differences. ``--blas-dir DIR`` prepends DIR to the child's LD_LIBRARY_PATH so a
different libblas.so.3 (e.g. an OpenBLAS extracted from a .deb without
installing it) can be measured without touching the system's alternatives.

How to run
----------
    /usr/bin/python3 bench/pytorch_bench.py                      # all workloads, settings a,b,c
    /usr/bin/python3 bench/pytorch_bench.py --workload small,medium --seconds 3 --json > out.json
    /usr/bin/python3 bench/pytorch_bench.py --workload large --settings b,c --unset-coretype

Flags: --workload small|medium|large (repeatable or comma list; default all),
--seconds S (timed wall time per setting, default 3), --settings a,b,c,
--json, --unset-coretype, --blas-dir DIR, --cell elman|lstm|gru (nn.RNN, nn.LSTM, nn.GRU;
the GFLOP/s count G gate blocks: 4 LSTM, 3 GRU), --reference OUT (write the float64 reference
bench/keras_bench.py --check compares Keras with, then exit). (--child is internal.)

Output
------
stderr: a note (torch version, first lines of torch.__config__.parallel_info(),
BLAS build info from torch.__config__.show(), the BLAS library actually loaded,
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as used), then a human table: one row per
workload x setting with steps/s, GFLOP/s, ms/update, peak RSS, and the fastest
setting per workload.

stdout (only with --json): one JSON object

    {"torch": "1.13.0a0", "variant": {...}, "note": {...},
     "workloads": {"small": {"a": {...}, "b": {...}, "c": {...}, "best": "a"}, ...}}

where each setting holds steps_per_s, gflops, sec_per_update (median),
rounds (list of per-round sec/update), updates (timed), peak_rss_mb
(ru_maxrss of that child process), plus the thread/env details it ran with.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WORKLOADS = {
    "small": dict(I=8, H=64, O=8, B=32, T=64),
    "medium": dict(I=32, H=256, O=32, B=32, T=64),
    "large": dict(I=128, H=1024, O=128, B=64, T=32),
}

SETTINGS = {
    "a": dict(torch_threads=1, openblas_threads="2", desc="torch 1 thr, OPENBLAS_NUM_THREADS=2"),
    "b": dict(torch_threads=1, openblas_threads="1", desc="torch 1 thr, OPENBLAS_NUM_THREADS=1"),
    "c": dict(torch_threads=2, openblas_threads=None, desc="torch 2 thr, OpenBLAS default"),
}

CORETYPE_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
N_BATCHES = 4


GATES = {"elman": 1, "lstm": 4, "gru": 3}


def forward_flops(w, cell="elman"):
    # The gate products are G times an Elman layer's (G = 4 LSTM, 3 GRU), as `rnn bench` counts.
    g = GATES[cell]
    return 2 * w["B"] * w["T"] * (g * (w["I"] * w["H"] + w["H"] * w["H"]) + w["H"] * w["O"])


def loaded_blas_libs():
    """Real paths of BLAS/LAPACK shared objects mapped into this process."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6:
                    path = parts[5]
                    base = os.path.basename(path).lower()
                    if "blas" in base or "lapack" in base or "mkl" in base:
                        libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


def openblas_info(libs):
    """If an OpenBLAS is loaded, ask it for its config and thread count."""
    import ctypes

    for p in libs:
        try:
            lib = ctypes.CDLL(p)
            cfg = lib.openblas_get_config
        except (OSError, AttributeError):
            continue
        cfg.restype = ctypes.c_char_p
        info = {"lib": p, "config": cfg().decode(errors="replace")}
        try:
            info["num_threads"] = lib.openblas_get_num_threads()
        except AttributeError:
            pass
        try:
            lib.openblas_get_corename.restype = ctypes.c_char_p
            info["corename"] = lib.openblas_get_corename().decode(errors="replace")
        except AttributeError:
            pass
        return info
    return None


# --------------------------------------------------------------------------- child


def time_updates(update, seconds):
    """The timing protocol (shared with bench/keras_bench.py): warm-up, then >= 5 timed rounds.

    Warm-up runs until 5 updates or >= 0.5 s, whichever comes first (at least one update); then
    at least ``seconds`` of wall time split into >= 5 rounds, each >= seconds/5 and >= 1 update.
    Returns sec_per_update (the median over the rounds), rounds (each round's sec/update),
    updates (timed), timed_s, warmup_updates, warmup_s.
    """
    t0 = time.perf_counter()
    n_warm = 0
    while True:
        update()
        n_warm += 1
        if n_warm >= 5 or time.perf_counter() - t0 >= 0.5:
            break
    warm_s = time.perf_counter() - t0

    n_rounds = 5
    round_target = seconds / n_rounds
    rounds = []
    total_updates = 0
    t_start = time.perf_counter()
    while len(rounds) < n_rounds or time.perf_counter() - t_start < seconds:
        r0 = time.perf_counter()
        n = 0
        while True:
            update()
            n += 1
            if time.perf_counter() - r0 >= round_target:
                break
        rounds.append((time.perf_counter() - r0) / n)
        total_updates += n
    return {
        "sec_per_update": statistics.median(rounds),
        "rounds": rounds,
        "updates": total_updates,
        "timed_s": time.perf_counter() - t_start,
        "warmup_updates": n_warm,
        "warmup_s": warm_s,
    }


def make_model(cell, w, freeze_hh_bias=False):
    """nn.RNN / nn.LSTM / nn.GRU (seq-first) and the nn.Linear read-out; returns (rnn, head, trained params).

    freeze_hh_bias (the Keras check only): Keras' SimpleRNN and LSTM have one bias where PyTorch
    has b_ih and b_hh, the same function; SGD moves the sum of two trained biases twice as fast and
    the clip norm counts its gradient twice, so the reference trains b_ih alone to be Keras' model.
    """
    import torch.nn as nn

    I, H, O = w["I"], w["H"], w["O"]
    if cell == "lstm":
        rnn = nn.LSTM(I, H, num_layers=1)  # seq-first (T, B, F)
    elif cell == "gru":
        rnn = nn.GRU(I, H, num_layers=1)
    else:
        rnn = nn.RNN(I, H, num_layers=1, nonlinearity="tanh")
    head = nn.Linear(H, O)
    if freeze_hh_bias:
        rnn.bias_hh_l0.requires_grad_(False)
    params = [p for p in list(rnn.parameters()) + list(head.parameters()) if p.requires_grad]
    return rnn, head, params


def make_update(cell, rnn, head, params, xs, ys):
    """One TBPTT update per call, cycling the batches; returns (loss, grad norm before clipping)."""
    import torch
    import torch.nn as nn

    opt = torch.optim.SGD(params, lr=0.01)
    loss_fn = nn.MSELoss()
    zero = torch.zeros(1, xs[0].shape[1], rnn.hidden_size)
    state = {"h": (zero, zero.clone()) if cell == "lstm" else zero, "i": 0}

    def update():
        i = state["i"] % len(xs)
        state["i"] += 1
        h = tuple(t.detach() for t in state["h"]) if cell == "lstm" else state["h"].detach()
        out, h = rnn(xs[i], h)
        loss = loss_fn(head(out), ys[i])
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        opt.zero_grad()
        state["h"] = h
        return loss, norm

    return update


def run_child(workload, setting, seconds, cell="elman"):
    """Benchmark one workload under one setting; env already prepared by the parent."""
    import resource

    import torch

    s = SETTINGS[setting]
    torch.set_num_threads(s["torch_threads"])
    torch.manual_seed(0)
    w = WORKLOADS[workload]
    I, O, B, T = w["I"], w["O"], w["B"], w["T"]

    rnn, head, params = make_model(cell, w)
    xs = [torch.randn(T, B, I) for _ in range(N_BATCHES)]
    ys = [torch.randn(T, B, O) for _ in range(N_BATCHES)]
    timing = time_updates(make_update(cell, rnn, head, params, xs, ys), seconds)

    spu = timing["sec_per_update"]
    ru = resource.getrusage(resource.RUSAGE_SELF)
    libs = loaded_blas_libs()
    cfg = torch.__config__.show()
    blas_build = sorted({tok.strip(" ,") for tok in cfg.replace(",", " ").split() if "BLAS" in tok})
    return {
        "workload": workload,
        "setting": setting,
        "desc": s["desc"],
        "dims": w,
        "steps_per_s": B * T / spu,
        "cell": cell,
        "gflops": 3 * forward_flops(w, cell) / spu / 1e9,
        **timing,
        "peak_rss_mb": ru.ru_maxrss / 1024.0,  # Linux: KiB
        "torch_num_threads": torch.get_num_threads(),
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") + CORETYPE_VARS},
        "torch": torch.__version__,
        "parallel_info": torch.__config__.parallel_info().strip().splitlines()[:3],
        "blas_build": blas_build,
        "blas_loaded": libs,
        "openblas": openblas_info(libs),
    }


REF_DIMS = dict(I=3, H=4, O=2, B=2, T=5)
REF_UPDATES = 3


def write_reference(path, cell):
    """The Keras check's reference (bench/keras_bench.py --check): float64, 3 updates of a tiny model.

    Writes the initial parameters (PyTorch names; the read-out as out.weight, out.bias), the
    batches (T, B, F), each update's loss and grad norm, and the parameters after the last update.
    Targets are 10 x N(0,1) so the clip at 5.0 acts.
    """
    import torch

    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    w = REF_DIMS
    rnn, head, params = make_model(cell, w, freeze_hh_bias=cell != "gru")
    named = lambda: {**{k: v.tolist() for k, v in rnn.state_dict().items()}, **{f"out.{k}": v.tolist() for k, v in head.state_dict().items()}}
    start = named()
    xs = [torch.randn(w["T"], w["B"], w["I"]) for _ in range(2)]
    ys = [10 * torch.randn(w["T"], w["B"], w["O"]) for _ in range(2)]
    update = make_update(cell, rnn, head, params, xs, ys)
    steps = [update() for _ in range(REF_UPDATES)]
    ref = {
        "cell": cell, "dims": w, "params": start, "xs": [x.tolist() for x in xs], "ys": [y.tolist() for y in ys],
        "losses": [float(l) for l, _ in steps], "grad_norms": [float(n) for _, n in steps], "final": named(),
    }
    with open(path, "w") as f:
        json.dump(ref, f)


# --------------------------------------------------------------------------- parent


def child_env(setting, unset_coretype, blas_dir):
    env = dict(os.environ)
    s = SETTINGS[setting]
    if s["openblas_threads"] is None:
        pass  # leave OPENBLAS_NUM_THREADS as the environment has it
    else:
        env["OPENBLAS_NUM_THREADS"] = s["openblas_threads"]
    if unset_coretype:
        for k in CORETYPE_VARS:
            env.pop(k, None)
    if blas_dir:
        env["LD_LIBRARY_PATH"] = blas_dir + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


def parse_list(values, allowed, what):
    out = []
    for v in values:
        for item in v.split(","):
            item = item.strip()
            if not item:
                continue
            if item not in allowed:
                raise SystemExit(f"unknown {what} {item!r}; choose from {', '.join(allowed)}")
            if item not in out:
                out.append(item)
    return out


def print_progress(wname, st, r, err, extra=""):
    """One child's line, as it finishes."""
    print(
        f"  {wname:<6} {st}: {r['steps_per_s']:>10.0f} steps/s {r['gflops']:>7.2f} GFLOP/s "
        f"{r['sec_per_update'] * 1e3:>9.2f} ms/update  ({r['updates']} updates{extra})",
        file=err,
        flush=True,
    )


def print_table(workloads, settings, elapsed, err, label=lambda r: r["desc"]):
    """The human table (bench/keras_bench.py prints it too): a row per workload x setting, * the fastest."""
    print("", file=err)
    hdr = f"{'workload':<8} {'set':<3} {'steps/s':>10} {'GFLOP/s':>8} {'ms/update':>10} {'spread%':>8} {'RSS MB':>7}  setting"
    print(hdr, file=err)
    print("-" * len(hdr), file=err)
    for wname, wres in workloads.items():
        for st in settings:
            r = wres[st]
            spread = 100.0 * (max(r["rounds"]) - min(r["rounds"])) / r["sec_per_update"]
            mark = " *" if wres["best"] == st else ""
            print(
                f"{wname:<8} {st:<3} {r['steps_per_s']:>10.0f} {r['gflops']:>8.2f} {r['sec_per_update'] * 1e3:>10.2f} "
                f"{spread:>8.1f} {r['peak_rss_mb']:>7.0f}  {label(r)}{mark}",
                file=err,
            )
    print(f"(* = fastest per workload; spread = (max-min)/median of round times; wall {elapsed:.1f} s)", file=err)


def main():
    ap = argparse.ArgumentParser(description="PyTorch CPU Elman RNN training benchmark (see module docstring).")
    ap.add_argument("--workload", action="append", default=[], help="small|medium|large; repeatable or comma list")
    ap.add_argument("--seconds", type=float, default=3.0, help="timed wall seconds per setting (default 3)")
    ap.add_argument("--settings", default="a,b,c", help="comma list of a,b,c")
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    ap.add_argument("--unset-coretype", action="store_true", help="unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE in children")
    ap.add_argument("--allow-reference-blas", action="store_true",
                    help="time PyTorch even when it runs on the reference (netlib) BLAS, not OpenBLAS")
    ap.add_argument("--blas-dir", default=None, help="prepend DIR to the children's LD_LIBRARY_PATH (alternative libblas.so.3)")
    ap.add_argument("--cell", default="elman", choices=list(GATES), help="elman (nn.RNN), lstm (nn.LSTM) or gru (nn.GRU)")
    ap.add_argument("--reference", metavar="OUT", help="write the Keras check's float64 reference for --cell to OUT, then exit")
    ap.add_argument("--child", nargs=2, metavar=("WORKLOAD", "SETTING"), help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.reference:
        write_reference(args.reference, args.cell)
        return
    if args.child:
        res = run_child(args.child[0], args.child[1], args.seconds, args.cell)
        sys.stdout.write(json.dumps(res) + "\n")
        return

    workloads = parse_list(args.workload or ["small,medium,large"], list(WORKLOADS), "workload")
    settings = parse_list([args.settings], list(SETTINGS), "setting")
    blas_dir = os.path.abspath(args.blas_dir) if args.blas_dir else None
    err = sys.stderr

    variant = {
        "unset_coretype": args.unset_coretype,
        "coretype_env_parent": {k: os.environ.get(k) for k in CORETYPE_VARS},
        "coretype_env_used": {k: (None if args.unset_coretype else os.environ.get(k)) for k in CORETYPE_VARS},
        "blas_dir": blas_dir,
        "seconds": args.seconds,
        "cpu_count": os.cpu_count(),
        "loadavg_start": list(os.getloadavg()),
    }
    print(
        "coretype env: "
        + ("UNSET in children (--unset-coretype)" if args.unset_coretype else "as inherited")
        + "; parent has "
        + ", ".join(f"{k}={os.environ.get(k, '<unset>')}" for k in CORETYPE_VARS),
        file=err,
    )

    t_all = time.perf_counter()
    result = {"torch": None, "variant": variant, "note": None, "workloads": {}}
    for wname in workloads:
        wres = {}
        for st in settings:
            cmd = [sys.executable, os.path.abspath(__file__), "--child", wname, st, "--seconds", str(args.seconds), "--cell", args.cell]
            p = subprocess.run(cmd, env=child_env(st, args.unset_coretype, blas_dir), stdout=subprocess.PIPE, text=True)
            if p.returncode != 0:
                raise SystemExit(f"child {wname}/{st} failed with exit code {p.returncode}")
            r = json.loads(p.stdout.strip().splitlines()[-1])
            if result["note"] is None:
                result["torch"] = r["torch"]
                result["note"] = {
                    "parallel_info": r["parallel_info"],
                    "blas_build": r["blas_build"],
                    "blas_loaded": r["blas_loaded"],
                    "openblas": r["openblas"],
                }
                print(f"torch {r['torch']}; parallel_info: {' | '.join(x.strip() for x in r['parallel_info'])}", file=err)
                print(f"BLAS (build): {' '.join(r['blas_build']) or '?'}", file=err)
                print(f"BLAS (loaded): {', '.join(r['blas_loaded']) or '?'}", file=err)
                if r["openblas"]:
                    print(f"OpenBLAS: {r['openblas']}", file=err)
                elif args.allow_reference_blas:
                    print("OpenBLAS: not loaded -> OPENBLAS_* variables have no effect; a and b differ only by noise", file=err)
                else:
                    # Debian's python3-torch links the libblas.so.3 alternative; with only libblas3
                    # installed that is the netlib reference, ~30x slower than OpenBLAS: no peer.
                    raise SystemExit("pytorch_bench.py: PyTorch runs on " + (", ".join(r["blas_loaded"]) or "an unknown BLAS")
                                     + ", not OpenBLAS: not a fair peer. apt-get install libopenblas0-pthread"
                                     " (or pass --allow-reference-blas)")
            for k in ("workload", "setting", "torch", "parallel_info", "blas_build", "blas_loaded"):
                r.pop(k, None)
            wres[st] = r
            print_progress(wname, st, r, err)
        wres["best"] = max(settings, key=lambda s: wres[s]["steps_per_s"])
        result["workloads"][wname] = wres
    elapsed = time.perf_counter() - t_all
    variant["wall_s"] = elapsed
    variant["loadavg_end"] = list(os.getloadavg())

    print_table(result["workloads"], settings, elapsed, err)

    if args.json:
        sys.stdout.write(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
