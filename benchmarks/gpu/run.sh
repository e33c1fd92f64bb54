#!/usr/bin/env bash
# One command for the GPU numbers: Keras-JAX and Keras-PyTorch (CSDNet and
# plain), then plain PyTorch torchvision as the reference. Under 5 minutes on
# one H100. Extra arguments go to every run (e.g. --steps 10).
set -u
cd "$(dirname "$0")/../.."
# The checkout itself is importable (a bare GPU machine has no `pip install -e .`).
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
for backend in jax torch; do
  KERAS_BACKEND=$backend timeout 200 python3 benchmarks/gpu/train_throughput.py "$@" \
    || echo "{\"run\": \"keras_$backend\", \"error\": \"exit $?\"}"
done
timeout 60 python3 -m benchmarks.gpu.train_throughput --reference "$@"
