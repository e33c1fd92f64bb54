"""Training step time of CSDNet vs the plain baseline (same backbone, batch, size).

Backend from the environment; one backend per run:

    KERAS_BACKEND=tensorflow python benchmarks/throughput.py --backbone resnet18 \
        --image-size 112 --batch-size 8 --steps 15 --repeats 3
    python benchmarks/throughput.py --smoke

Each configuration is built, compiled and warmed up (compilation excluded),
then `train_on_batch` is timed `--steps` times; this is repeated `--repeats`
times with fresh models, alternating CSDNet and baseline so machine noise hits
both. Reports median step time, images/s and the CSDNet / baseline ratio, the
median inference latency (`predict_on_batch`, batch 1, the inference path only)
of both (`--pattern-stride` and `--random-crop` set CSDNet's variant), the
float operations of one inference call of both (`--flops`, TensorFlow), and
the peak memory (resident set size) of a separate process per model that
builds it and runs the same steps (`--no-memory` skips that).
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import keras
import numpy as np

import keras_csdnet


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backbone", default="resnet18")
    p.add_argument("--image-size", type=int, default=112)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--classes", type=int, default=20)
    p.add_argument("--steps", type=int, default=15, help="timed steps per repeat")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps (compilation)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--dtype-policy", default="float32")
    p.add_argument(
        "--pattern-stride",
        type=int,
        default=None,
        help="CSDNet's SSDP reads the backbone map of this stride (default: the last)",
    )
    p.add_argument(
        "--random-crop",
        type=float,
        default=None,
        help="CSDNet's view: the mask on a random zoomed crop of this minimum scale",
    )
    p.add_argument("--latency-runs", type=int, default=20, help="timed batch-1 predictions")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    p.add_argument(
        "--flops",
        action="store_true",
        help="also count the inference graph's float operations (TensorFlow backend)",
    )
    p.add_argument("--memory-probe", choices=["baseline", "csdnet"], help=argparse.SUPPRESS)
    p.add_argument(
        "--jit-compile",
        action="store_true",
        help="compile the training step (torch.compile on PyTorch, XLA elsewhere); "
        "the first step's time, compilation included, is reported as *_first_step_s",
    )
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--smoke", action="store_true", help="tiny run to check the script")
    args = p.parse_args(argv)
    if args.smoke:
        args.image_size, args.batch_size, args.steps = 32, 2, 2
        args.warmup, args.repeats, args.classes = 1, 1, 3
        args.latency_runs = 2
    return args


CONFIGS = {
    "baseline": dict(ssdp=False, ddl=False, ssdt=False),
    "csdnet": dict(ssdp=True, ddl=True, ssdt=True),
}


def _rss_mb(field="VmHWM"):
    """Peak (`VmHWM`) or current (`VmRSS`) resident set of this process, MiB.

    Not `getrusage`'s `ru_maxrss`: on Linux it survives `exec`, so a child
    started by a process that already trained models inherits the parent's peak.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def memory_probe(args, x, y):
    """Runs in its own process: peak RSS of building and training one model."""
    before = _rss_mb("VmRSS")
    model = build(args, args.memory_probe, 0)
    time_steps(model, x, y, args.warmup, args.steps)
    print(json.dumps({"after_import_mb": round(before, 1), "peak_mb": round(_rss_mb(), 1)}))


def peak_memory(name, argv):
    """Peak RSS (MiB) of a fresh process training `name`; and its growth over the import."""
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), *argv, "--memory-probe", name],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def settings(args, name):
    """The constructor settings of `name`, with the variant flags on CSDNet."""
    config = dict(CONFIGS[name])
    if name == "csdnet":
        if args.pattern_stride is not None:
            config["pattern_stride"] = args.pattern_stride
        if args.random_crop is not None:
            config["random_crop"] = args.random_crop
    return config


def build(args, name, seed):
    model = keras_csdnet.CSDNet(
        backbone=args.backbone,
        num_classes=args.classes,
        image_size=args.image_size,
        seed=seed,
        **settings(args, name),
    )
    if args.jit_compile:
        model.compile(jit_compile=True)
    return model


def latency(model, x, runs):
    one = x[:1]
    for _ in range(3):
        model.predict_on_batch(one)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        model.predict_on_batch(one)
        times.append(time.perf_counter() - start)
    return times


def inference_flops(model, image_size):
    """Float operations of one batch-1 inference call, from TensorFlow's graph profiler.

    A count of the graph's operations, so free of the timing noise that batch-1
    latency suffers on a shared CPU; the same graph runs on every backend.
    """
    if keras.backend.backend() != "tensorflow":
        raise SystemExit("--flops counts a TensorFlow graph: run it with KERAS_BACKEND=tensorflow.")
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    call = tf.function(lambda x: model(x, training=False))
    spec = tf.TensorSpec((1, image_size, image_size, 3), tf.uint8)
    frozen = convert_variables_to_constants_v2(call.get_concrete_function(spec))
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = tf.compat.v1.profiler.profile(graph=frozen.graph, options=options)
    return profile.total_float_ops


def time_steps(model, x, y, warmup, steps, first=None):
    for i in range(warmup):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        if i == 0 and first is not None:  # includes compilation
            first.append(time.perf_counter() - start)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)  # returns host floats: the step has finished
        times.append(time.perf_counter() - start)
    return times


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    keras.mixed_precision.set_global_policy(args.dtype_policy)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (args.batch_size, args.image_size, args.image_size, 3), "uint8")
    y = rng.integers(0, args.classes, args.batch_size).astype("int32")
    if args.memory_probe:
        return memory_probe(args, x, y)
    times = {name: [] for name in CONFIGS}
    first_steps = {name: [] for name in CONFIGS}
    latencies = {name: [] for name in CONFIGS}
    flops = {}
    for repeat in range(args.repeats):
        for name in CONFIGS:
            model = build(args, name, repeat)
            times[name] += time_steps(model, x, y, args.warmup, args.steps, first_steps[name])
            latencies[name] += latency(model, x, args.latency_runs)
            if args.flops and name not in flops:
                flops[name] = inference_flops(model, args.image_size)
            del model
    result = {
        "backend": keras.backend.backend(),
        "backbone": args.backbone,
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "dtype_policy": args.dtype_policy,
        "jit_compile": bool(args.jit_compile),
        "csdnet_settings": settings(args, "csdnet"),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "keras": keras.__version__,
    }
    for name, values in times.items():
        median = statistics.median(values)
        result[f"{name}_step_s"] = round(median, 4)
        result[f"{name}_img_per_s"] = round(args.batch_size / median, 2)
        if first_steps[name]:
            result[f"{name}_first_step_s"] = round(statistics.median(first_steps[name]), 2)
        result[f"{name}_latency_ms"] = round(1000 * statistics.median(latencies[name]), 2)
    result["ratio"] = round(result["csdnet_step_s"] / result["baseline_step_s"], 3)
    result["latency_ratio"] = round(result["csdnet_latency_ms"] / result["baseline_latency_ms"], 3)
    for name, count in flops.items():
        result[f"{name}_gflops"] = round(count / 1e9, 4)
    if flops:
        result["flops_ratio"] = round(flops["csdnet"] / flops["baseline"], 4)
    if not args.no_memory:
        probe_argv = [a for a in argv if a != "--smoke"]
        if args.smoke:
            probe_argv += [
                "--image-size",
                "32",
                "--batch-size",
                "2",
                "--steps",
                "2",
                "--warmup",
                "1",
                "--classes",
                "3",
            ]
        for name in CONFIGS:
            mem = peak_memory(name, probe_argv)
            result[f"{name}_peak_mb"] = mem["peak_mb"]
            result[f"{name}_train_mb"] = round(mem["peak_mb"] - mem["after_import_mb"], 1)
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
