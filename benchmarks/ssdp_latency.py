"""Batch-1 cost of SSDP, the only part CSDNet adds to the inference graph.

Backend from the environment; one backend per run:

    KERAS_BACKEND=tensorflow python benchmarks/ssdp_latency.py --height 4 --width 4 \
        --channels 576 --runs 300
    python benchmarks/ssdp_latency.py --smoke

Times, on one feature map of the given shape (default: MobileNetV3-Small's last
map at 112 px), the median of `--runs` calls of: a trivial one-op function (the
call overhead), SSDP's two kernel-predicting convolutions, its pattern map, and
the whole layer. Compiled as inference runs them: `tf.function` on TensorFlow,
`jax.jit` on JAX, eager under `torch.no_grad()` on PyTorch.
"""

import argparse
import json

import keras
import numpy as np

from benchmarks.export_latency import median_time
from keras_csdnet.layers import SSDP


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--height", type=int, default=4)
    p.add_argument("--width", type=int, default=4)
    p.add_argument("--channels", type=int, default=576)
    p.add_argument("--runs", type=int, default=300)
    p.add_argument("--smoke", action="store_true", help="tiny run to check the script")
    args = p.parse_args(argv)
    if args.smoke:
        args.channels, args.runs = 8, 3
    return args


def compiled(fn, feature):
    """A no-argument callable running `fn(feature)` the way inference would, to completion."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        graph, x = tf.function(fn, autograph=False), tf.constant(feature)
        return lambda: graph(x).numpy()
    if backend == "jax":
        import jax

        jitted, x = jax.jit(fn), jax.numpy.asarray(feature)
        return lambda: jitted(x).block_until_ready()
    import torch

    x = torch.as_tensor(feature)

    def run():
        with torch.no_grad():
            return fn(x)

    return run


def main(argv=None):
    args = parse_args(argv)
    feature = (
        np.random.default_rng(0)
        .normal(size=(1, args.height, args.width, args.channels))
        .astype("float32")
    )
    layer = SSDP()
    layer.build(feature.shape)
    parts = {
        "trivial_ms": lambda z: z * 2.0,
        "convolutions_ms": lambda z: layer.encoder(layer.compress(z)),
        "pattern_map_ms": lambda z: layer.pattern_map(z)[0],
        "ssdp_ms": lambda z: layer(z)[0],
    }
    result = dict(
        backend=keras.backend.backend(),
        feature_shape=list(feature.shape),
        runs=args.runs,
        keras=keras.__version__,
    )
    for name, fn in parts.items():
        result[name] = round(1000 * median_time(compiled(fn, feature), args.runs, warmup=20), 4)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
