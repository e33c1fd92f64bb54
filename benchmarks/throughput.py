"""Training step time of CSDNet vs the plain baseline (same backbone, batch, size).

Backend from the environment; one backend per run:

    KERAS_BACKEND=tensorflow python benchmarks/throughput.py --backbone resnet18 \
        --image-size 112 --batch-size 8 --steps 15 --repeats 3
    python benchmarks/throughput.py --smoke

Each configuration is built, compiled and warmed up (compilation excluded),
then `train_on_batch` is timed `--steps` times; this is repeated `--repeats`
times with fresh models, alternating CSDNet and baseline so machine noise hits
both. Reports median step time, images/s and the CSDNet / baseline ratio.
"""

import argparse
import json
import platform
import statistics
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
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--smoke", action="store_true", help="tiny run to check the script")
    args = p.parse_args(argv)
    if args.smoke:
        args.image_size, args.batch_size, args.steps = 32, 2, 2
        args.warmup, args.repeats, args.classes = 1, 1, 3
    return args


def time_steps(model, x, y, warmup, steps):
    for _ in range(warmup):
        model.train_on_batch(x, y)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)  # returns host floats: the step has finished
        times.append(time.perf_counter() - start)
    return times


def main(argv=None):
    args = parse_args(argv)
    keras.mixed_precision.set_global_policy(args.dtype_policy)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (args.batch_size, args.image_size, args.image_size, 3), "uint8")
    y = rng.integers(0, args.classes, args.batch_size).astype("int32")
    configs = {
        "baseline": dict(ssdp=False, ddl=False, ssdt=False),
        "csdnet": dict(ssdp=True, ddl=True, ssdt=True),
    }
    times = {name: [] for name in configs}
    for repeat in range(args.repeats):
        for name, switches in configs.items():
            model = keras_csdnet.CSDNet(
                backbone=args.backbone,
                num_classes=args.classes,
                image_size=args.image_size,
                seed=repeat,
                **switches,
            )
            times[name] += time_steps(model, x, y, args.warmup, args.steps)
            del model
    result = {
        "backend": keras.backend.backend(),
        "backbone": args.backbone,
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "dtype_policy": args.dtype_policy,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "keras": keras.__version__,
    }
    for name, values in times.items():
        median = statistics.median(values)
        result[f"{name}_step_s"] = round(median, 4)
        result[f"{name}_img_per_s"] = round(args.batch_size / median, 2)
    result["ratio"] = round(result["csdnet_step_s"] / result["baseline_step_s"], 3)
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
