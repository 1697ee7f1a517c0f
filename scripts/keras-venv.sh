#!/usr/bin/env bash
# Makes .venv-keras in the project root, the Python bench/keras_bench.py runs in (Keras 3 on
# TensorFlow's CPU build), offline from the wheels in /opt/pypi/files, as .ci/run makes
# .venv-tensorboard. Idempotent: nothing is installed when the venv already imports both.
# The Keras peer of bench/compare-all.mjs uses it (or $RNN_KERAS_PYTHON, when set).
set -euo pipefail
cd "$(dirname "$0")/.."
wheels=/opt/pypi/files
if .venv-keras/bin/python -c 'import keras, tensorflow' 2>/dev/null; then
  echo "keras-venv.sh: .venv-keras already has keras and tensorflow" >&2
  exit 0
fi
if [[ ! -d "$wheels" ]]; then
  echo "keras-venv.sh: *** SKIPPED: no wheel folder $wheels; .venv-keras not made (the Keras peer of bench/compare-all.mjs cannot run) ***" >&2
  exit 0
fi
python3 -m venv .venv-keras
.venv-keras/bin/pip install -q --no-index --find-links "$wheels" tensorflow_cpu keras
.venv-keras/bin/python -c 'import keras, tensorflow; print(f"keras-venv.sh: .venv-keras has keras {keras.__version__}, tensorflow {tensorflow.__version__}")' >&2
