#!/usr/bin/env bash
# The accuracy study (benchmarks/study.py) on one GPU: JAX backend, no
# TensorFlow needed, WORKERS processes sharing the GPU (the models are small),
# a persistent XLA compilation cache shared between them. Arguments go to
# study.py, e.g.:
#   WORKERS=14 bash benchmarks/gpu/study.sh --cache-dir .benchdata --out-dir out --budget 500
# SCRIPT=accuracy.py runs the test grid alone the same way (the rest of the grid, see
# benchmarks/README.md "Not done"), e.g.:
#   SCRIPT=accuracy.py bash benchmarks/gpu/study.sh --datasets omniglot_small --shots 5 \
#       --config '{"learning_rate": 3e-4, "epochs": 80, "mask_mode": "erase", "_pretrained": "cpu"}' \
#       --cache-dir .benchdata --workdir /tmp/pretrained --deadline 480 \
#       --output benchmarks/results/study/study.jsonl
set -u
cd "$(dirname "$0")/../.."
# The checkout itself is importable (a bare GPU machine has no `pip install -e .`).
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-/tmp/jax_cache}
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=-1
SCRIPT=${SCRIPT:-study.py}
exec python3 -m "benchmarks.${SCRIPT%.py}" --workers "${WORKERS:-14}" "$@"
