"""GPU training throughput: CSDNet vs plain fine-tuning, plus plain PyTorch.

    bash benchmarks/gpu/run.sh            # JAX and PyTorch backends + torchvision
    KERAS_BACKEND=jax python benchmarks/gpu/train_throughput.py --smoke   # on CPU

ResNet-50 at 448 px, batch 32, `mixed_bfloat16`, random uint8 images in host
memory fed by `fit` (as a user's numpy data would be); images/s of a timed
`fit` of `--steps` steps after a warm-up `fit` (compilation excluded).
`--reference` instead times torchvision's ResNet-50
(channels_last, bf16 autocast, SGD) in plain PyTorch. TensorFlow is not
needed (numpy inputs).
"""

import argparse
import json
import time

import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backbone", default="resnet50")
    p.add_argument("--image-size", type=int, default=448)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--classes", type=int, default=100)
    p.add_argument("--steps", type=int, default=24)
    p.add_argument("--warmup", type=int, default=4)
    p.add_argument("--reference", action="store_true", help="plain PyTorch torchvision run")
    p.add_argument("--only", choices=["baseline", "csdnet"], default=None)
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    if args.smoke:
        args.backbone, args.image_size, args.batch_size = "resnet18", 64, 4
        args.steps, args.warmup, args.classes = 4, 4, 5
    return args


def keras_run(args, switches):
    import keras

    import keras_csdnet

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = keras_csdnet.CSDNet(
        backbone=args.backbone,
        num_classes=args.classes,
        image_size=args.image_size,
        seed=0,
        **switches,
    )
    n = args.batch_size * 4
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, args.image_size, args.image_size, 3), dtype=np.uint8)
    y = rng.integers(0, args.classes, n).astype("int32")
    start = time.perf_counter()
    # Warm-up fit: compilation and first steps.
    model.fit(x, y, batch_size=args.batch_size, epochs=max(1, args.warmup // 4), verbose=0)
    compiled = time.perf_counter()
    # Timed fit: Keras' own loop, its asynchronous dispatch untouched; the
    # history's host floats at the end make sure every step has run.
    epochs = max(1, args.steps // 4)
    history = model.fit(x, y, batch_size=args.batch_size, epochs=epochs, verbose=0)
    float(history.history["loss"][-1])
    seconds = time.perf_counter() - compiled
    return {
        "img_per_s": round(epochs * n / seconds, 1),
        "timed_steps": epochs * 4,
        "warmup_s": round(compiled - start, 1),
    }


def reference_run(args):
    import torch
    import torchvision

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = torchvision.models.resnet50(num_classes=args.classes).to(device)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(args.batch_size, 3, args.image_size, args.image_size, device=device)
    x = x.to(memory_format=torch.channels_last)
    y = torch.randint(0, args.classes, (args.batch_size,), device=device)

    def step():
        with torch.autocast(device, dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    return {"img_per_s": round(args.batch_size * args.steps / (time.perf_counter() - start), 1)}


def main(argv=None):
    args = parse_args(argv)
    common = {
        "backbone": args.backbone,
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "dtype_policy": "mixed_bfloat16",
    }
    if args.reference:
        result = dict(common, run="plain_pytorch_torchvision", **reference_run(args))
        print(json.dumps(result), flush=True)
        return [result]
    import keras

    results = []
    runs = {"baseline": dict(ssdp=False, ddl=False, ssdt=False), "csdnet": {}}
    for name, switches in runs.items():
        if args.only and name != args.only:
            continue
        result = dict(
            common, run=f"keras_{keras.backend.backend()}_{name}", **keras_run(args, switches)
        )
        print(json.dumps(result), flush=True)
        results.append(result)
    return results


if __name__ == "__main__":
    main()
