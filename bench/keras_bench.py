#!/usr/bin/env python3
"""Keras 3 (TensorFlow backend, CPU) training benchmark: the second speed peer beside bench/pytorch_bench.py.

Purpose
-------
Measures how fast Keras trains the model bench/pytorch_bench.py trains, on the same three
workloads (small I8 H64 O8 B32 T64, medium I32 H256 O32 B32 T64, large I128 H1024 O128 B64 T32),
with the same update, data, timing protocol and formulas (imported from that file, so the two
cannot drift apart):

    --cell elman  keras.layers.SimpleRNN(H, activation="tanh")   nn.RNN(tanh)
    --cell lstm   keras.layers.LSTM(H)                           nn.LSTM   (gates i, f, c, o both)
    --cell gru    keras.layers.GRU(H, reset_after=True)          nn.GRU    (r applied to U·h + b)

each with stateful=True and return_sequences=True, then keras.layers.Dense(O) on every step. The
functions and multiply counts are PyTorch's (G gate blocks of x·W and h·U a step, G = 1, 4, 3, and
the read-out), so forward_flops is the same. Keras 3 tries cuDNN only where a GPU is visible; on
the CPU every cell runs the RNN layer's generic tf.while_loop over T (unroll=False, the default).
Two known differences, neither changing the cost: SimpleRNN and LSTM have one bias where PyTorch
has b_ih + b_hh (the same function; --check shows the same training once PyTorch trains one of
them), and Keras is batch-first (B, T, F), PyTorch seq-first.

One update: forward over T from the state the previous window ended in (stateful: the layer keeps
it in variables, which carry no gradient into the next window — PyTorch's h.detach()), the mean
squared error, gradients, SGD(learning_rate=0.01, global_clipnorm=5.0) (Keras' clip by global
norm: PyTorch's clip_grad_norm_(params, 5.0) up to its 1e-6). Random data made once (N(0,1) inputs
and targets, 4 batches cycled).

Two ways a Keras user would run that step, each its own model in the same child process:

    function        a custom @tf.function(jit_compile=False) step (GradientTape, apply_gradients)
    train_on_batch  model.compile(SGD, "mse", jit_compile=False), then model.train_on_batch(x, y)
    --xla adds      function_xla and train_on_batch_xla (jit_compile=True)

A setting's figure is its fastest mode, named in "mode"; every mode's figures are in "modes".
The first call of a mode traces and builds the graph (seconds); it is made before the shared
protocol (warm-up, >= 5 rounds, median sec/update) and reported as trace_s.

    steps/s = B*T / sec_per_update       GFLOP/s = 3 * forward_flops / sec_per_update / 1e9

Thread settings (each a fresh subprocess: TensorFlow fixes its thread pools at the first op):

    a  intra-op 1, inter-op 1        b  intra-op 2, inter-op 1
    c  intra-op 2, inter-op 2        d  intra-op 1, inter-op 2

How to run
----------
Keras lives in a virtual environment (scripts/keras-venv.sh makes .venv-keras offline):

    .venv-keras/bin/python bench/keras_bench.py                   # all workloads, settings a,b,c,d
    .venv-keras/bin/python bench/keras_bench.py --cell gru --workload small --seconds 1 --json
    .venv-keras/bin/python bench/keras_bench.py --check ref.json  # ref.json: pytorch_bench.py --reference

Flags: --workload small|medium|large (repeatable or comma list; default all), --seconds S (timed
wall time per mode, default 3), --settings a,b,c,d (default all), --modes function,train_on_batch,
--xla, --cell elman|lstm|gru, --json, --check REF. (--child is internal.)

--check REF: REF is what `/usr/bin/python3 bench/pytorch_bench.py --reference REF --cell C` writes
(float64, a tiny model, 3 updates). Each mode loads its weights and data into Keras (float64),
trains the same 3 updates and prints on stdout {"cell", "modes": {mode: {"losses", "final"}}},
the parameters in PyTorch's names and layout, for the caller to compare with REF.

Output
------
stderr: a note (versions, devices, oneDNN), per-child lines, then a table like pytorch_bench's.
stdout (only with --json): one JSON object

    {"keras": "3.15.1", "tensorflow": "2.21.0", "variant": {...}, "note": {...},
     "workloads": {"small": {"a": {...}, "b": {...}, "c": {...}, "best": "a"}, ...}}

where each setting holds steps_per_s, gflops, sec_per_update, rounds, updates, ... of its fastest
mode, plus mode, modes, trace_s, peak_rss_mb (ru_maxrss of the child, all its modes) and threads.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_bench import GATES, N_BATCHES, WORKLOADS, forward_flops, parse_list, print_progress, print_table, time_updates  # noqa: E402

SETTINGS = {
    "a": dict(intra=1, inter=1, desc="TF intra-op 1, inter-op 1"),
    "b": dict(intra=2, inter=1, desc="TF intra-op 2, inter-op 1"),
    "c": dict(intra=2, inter=2, desc="TF intra-op 2, inter-op 2"),
    "d": dict(intra=1, inter=2, desc="TF intra-op 1, inter-op 2"),
}
MODES = ("function", "train_on_batch")
# TensorFlow's start-up lines (absl writes them before TF_CPP_MIN_LOG_LEVEL is read); the note
# records the same facts (oneDNN, devices).
TF_START_UP = re.compile(r"^(WARNING: All log messages before absl::InitializeLog|I0000 .*(oneDNN custom operations|cpu_feature_guard)|To enable the following instructions)")
GRU_BLOCKS = (1, 0, 2)  # Keras' GRU gate blocks are (z, r, h), PyTorch's (r, z, n); its own inverse


def build(keras, cell, w):
    """Sequential: the stateful recurrent layer (return_sequences) and the Dense read-out."""
    H = w["H"]
    layer = {
        "elman": lambda: keras.layers.SimpleRNN(H, activation="tanh", stateful=True, return_sequences=True),
        "lstm": lambda: keras.layers.LSTM(H, stateful=True, return_sequences=True),
        "gru": lambda: keras.layers.GRU(H, reset_after=True, stateful=True, return_sequences=True),
    }[cell]()
    return keras.Sequential([keras.Input(batch_shape=(w["B"], w["T"], w["I"])), layer, keras.layers.Dense(w["O"])])


def sgd(keras):
    return keras.optimizers.SGD(learning_rate=0.01, global_clipnorm=5.0)


def function_update(keras, tf, model, xs, ys, jit):
    """The custom step: @tf.function over GradientTape and apply_gradients; returns the loss."""
    opt = sgd(keras)
    variables = model.trainable_variables
    opt.build(variables)

    @tf.function(jit_compile=jit)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return cycle(lambda x, y: float(step(x, y)), xs, ys)  # float(): wait for the step to finish


def compiled_update(keras, model, xs, ys, jit):
    """model.compile + train_on_batch, Keras' own training step; returns the loss."""
    model.compile(optimizer=sgd(keras), loss="mse", jit_compile=jit)
    return cycle(lambda x, y: float(model.train_on_batch(x, y)), xs, ys)


def cycle(step, xs, ys):
    state = {"i": 0}

    def update():
        i = state["i"] % len(xs)
        state["i"] += 1
        return step(xs[i], ys[i])

    return update


def make_update(keras, tf, mode, model, xs, ys):
    jit = mode.endswith("_xla")
    if mode.startswith("function"):
        return function_update(keras, tf, model, xs, ys, jit)
    return compiled_update(keras, model, xs, ys, jit)


def import_keras(setting=None):
    """TensorFlow and Keras, with the setting's thread pools fixed before the first op."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import tensorflow as tf

    if setting:
        tf.config.threading.set_intra_op_parallelism_threads(SETTINGS[setting]["intra"])
        tf.config.threading.set_inter_op_parallelism_threads(SETTINGS[setting]["inter"])
    import keras

    return keras, tf


# --------------------------------------------------------------------------- child


def run_child(workload, setting, seconds, cell, modes):
    """Benchmark one workload under one setting, every mode in turn, in this fresh process."""
    import resource

    import numpy as np

    keras, tf = import_keras(setting)
    w = WORKLOADS[workload]
    B, T = w["B"], w["T"]
    rng = np.random.default_rng(0)
    xs = [tf.constant(rng.standard_normal((B, T, w["I"]), dtype=np.float32)) for _ in range(N_BATCHES)]
    ys = [tf.constant(rng.standard_normal((B, T, w["O"]), dtype=np.float32)) for _ in range(N_BATCHES)]
    results = {}
    for mode in modes:
        keras.utils.set_random_seed(0)
        update = make_update(keras, tf, mode, build(keras, cell, w), xs, ys)
        t0 = time.perf_counter()
        update()
        trace_s = time.perf_counter() - t0
        timing = time_updates(update, seconds)
        spu = timing["sec_per_update"]
        results[mode] = {"steps_per_s": B * T / spu, "gflops": 3 * forward_flops(w, cell) / spu / 1e9, **timing, "trace_s": trace_s}
    best = max(results, key=lambda m: results[m]["steps_per_s"])
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "workload": workload,
        "setting": setting,
        "desc": SETTINGS[setting]["desc"],
        "dims": w,
        "cell": cell,
        "mode": best,
        **results[best],
        "modes": results,
        "peak_rss_mb": ru.ru_maxrss / 1024.0,  # Linux: KiB
        "threads": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(), "inter_op": tf.config.threading.get_inter_op_parallelism_threads()},
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "backend": keras.backend.backend(),
        "devices": [d.name for d in tf.config.list_logical_devices()],
        # TensorFlow on x86 uses its oneDNN kernels unless TF_ENABLE_ONEDNN_OPTS=0 (its start-up log says so).
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset (on)"),
    }


# --------------------------------------------------------------------------- --check


def blocks(a, cell):
    """PyTorch's gate-row order to Keras' (and back): only GRU's differs."""
    import numpy as np

    return np.concatenate([np.split(a, 3)[k] for k in GRU_BLOCKS]) if cell == "gru" else a


def to_keras(cell, p):
    """PyTorch-named arrays to [recurrent layer weights], [Dense weights]."""
    import numpy as np

    W, U, bi, bh = (blocks(p[k], cell) for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"))
    bias = np.stack([bi, bh]) if cell == "gru" else bi + bh
    return [W.T, U.T, bias], [p["out.weight"].T, p["out.bias"]]


def to_torch(cell, rnn, dense, frozen_bh):
    """Keras weights back to PyTorch's names; SimpleRNN's and LSTM's one bias less the frozen b_hh."""
    K, R, b = rnn
    out = {"weight_ih_l0": blocks(K.T, cell), "weight_hh_l0": blocks(R.T, cell)}
    if cell == "gru":
        out["bias_ih_l0"], out["bias_hh_l0"] = blocks(b[0], cell), blocks(b[1], cell)
    else:
        out["bias_ih_l0"], out["bias_hh_l0"] = b - frozen_bh, frozen_bh
    out["out.weight"], out["out.bias"] = dense[0].T, dense[1]
    return {k: v.tolist() for k, v in out.items()}


def run_check(ref_path, modes):
    import numpy as np

    keras, tf = import_keras()
    keras.config.set_floatx("float64")
    with open(ref_path) as f:
        ref = json.load(f)
    cell, w = ref["cell"], ref["dims"]
    p = {k: np.array(v) for k, v in ref["params"].items()}
    xs = [tf.constant(np.transpose(np.array(x), (1, 0, 2))) for x in ref["xs"]]  # (T, B, F) -> (B, T, F)
    ys = [tf.constant(np.transpose(np.array(y), (1, 0, 2))) for y in ref["ys"]]
    out = {"cell": cell, "keras": keras.__version__, "tensorflow": tf.__version__, "modes": {}}
    for mode in modes:
        model = build(keras, cell, w)
        rnn_w, dense_w = to_keras(cell, p)
        model.layers[0].set_weights(rnn_w)
        model.layers[1].set_weights(dense_w)
        update = make_update(keras, tf, mode, model, xs, ys)
        losses = [update() for _ in ref["losses"]]
        final = to_torch(cell, model.layers[0].get_weights(), model.layers[1].get_weights(), p["bias_hh_l0"])
        out["modes"][mode] = {"losses": losses, "final": final}
    sys.stdout.write(json.dumps(out) + "\n")


# --------------------------------------------------------------------------- parent


def main():
    ap = argparse.ArgumentParser(description="Keras 3 CPU RNN training benchmark (see module docstring).")
    ap.add_argument("--workload", action="append", default=[], help="small|medium|large; repeatable or comma list")
    ap.add_argument("--seconds", type=float, default=3.0, help="timed wall seconds per mode (default 3)")
    ap.add_argument("--settings", default="a,b,c,d", help="comma list of a,b,c,d (default all)")
    ap.add_argument("--modes", default=",".join(MODES), help="comma list of function,train_on_batch")
    ap.add_argument("--xla", action="store_true", help="also measure each mode with jit_compile=True")
    ap.add_argument("--cell", default="elman", choices=list(GATES), help="elman (SimpleRNN), lstm (LSTM) or gru (GRU)")
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    ap.add_argument("--check", metavar="REF", help="train pytorch_bench.py --reference's 3 updates in Keras; print the result")
    ap.add_argument("--child", nargs=2, metavar=("WORKLOAD", "SETTING"), help=argparse.SUPPRESS)
    args = ap.parse_args()

    modes = parse_list([args.modes], list(MODES), "mode")
    if args.xla:
        modes += [m + "_xla" for m in modes]
    if args.check:
        run_check(args.check, [m for m in modes if not m.endswith("_xla")])
        return
    if args.child:
        res = run_child(args.child[0], args.child[1], args.seconds, args.cell, modes)
        sys.stdout.write(json.dumps(res) + "\n")
        return

    workloads = parse_list(args.workload or ["small,medium,large"], list(WORKLOADS), "workload")
    settings = parse_list([args.settings], list(SETTINGS), "setting")
    err = sys.stderr
    variant = {"seconds": args.seconds, "modes": modes, "cpu_count": os.cpu_count(), "loadavg_start": list(os.getloadavg())}

    t_all = time.perf_counter()
    result = {"keras": None, "tensorflow": None, "variant": variant, "note": None, "workloads": {}}
    for wname in workloads:
        wres = {}
        for st in settings:
            cmd = [sys.executable, os.path.abspath(__file__), "--child", wname, st, "--seconds", str(args.seconds), "--cell", args.cell, "--modes", ",".join(m for m in modes if not m.endswith("_xla"))]
            if args.xla:
                cmd.append("--xla")
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                err.write(p.stderr)
                raise SystemExit(f"child {wname}/{st} failed with exit code {p.returncode}")
            err.write("".join(line for line in p.stderr.splitlines(True) if not TF_START_UP.match(line)))
            r = json.loads(p.stdout.strip().splitlines()[-1])
            if result["note"] is None:
                result["keras"], result["tensorflow"] = r["keras"], r["tensorflow"]
                result["note"] = {
                    "backend": r["backend"],
                    "devices": r["devices"],
                    "onednn": r["onednn"],
                    "loop": "the RNN layer's generic tf.while_loop over T (no cuDNN without a GPU), unroll=False",
                    "step": "fastest of: " + ", ".join(modes) + " (function: a custom @tf.function step; train_on_batch: model.compile + train_on_batch); each setting names its own",
                    "state": "stateful=True: the previous window's final state, no gradient across windows",
                    "optimizer": "keras.optimizers.SGD(learning_rate=0.01, global_clipnorm=5.0), MSE mean",
                }
                print(f"keras {r['keras']} (backend {r['backend']}), tensorflow {r['tensorflow']}; devices {', '.join(r['devices'])}; oneDNN {r['onednn']}", file=err)
            for k in ("workload", "setting", "keras", "tensorflow", "backend", "devices", "onednn"):
                r.pop(k, None)
            wres[st] = r
            others = "  ".join(f"{m} {v['steps_per_s']:.0f}" for m, v in r["modes"].items())
            print_progress(wname, st, r, err, f", {r['mode']}; {others}")
        wres["best"] = max(settings, key=lambda s: wres[s]["steps_per_s"])
        result["workloads"][wname] = wres
    elapsed = time.perf_counter() - t_all
    variant["wall_s"] = elapsed
    variant["loadavg_end"] = list(os.getloadavg())

    print_table(result["workloads"], settings, elapsed, err, lambda r: f"{r['desc']}, {r['mode']}")

    if args.json:
        sys.stdout.write(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
