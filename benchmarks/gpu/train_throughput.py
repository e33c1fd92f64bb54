"""GPU training throughput: CSDNet vs plain fine-tuning, plus plain PyTorch.

    bash benchmarks/gpu/run.sh            # JAX and PyTorch backends + torchvision
    KERAS_BACKEND=jax python benchmarks/gpu/train_throughput.py --smoke   # on CPU

ResNet-50 at 448 px, batch 32, `mixed_bfloat16`, random data already in
memory; images/s over `--steps` timed steps after `--warmup` (compilation
excluded). `--reference` instead times torchvision's ResNet-50
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
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reference", action="store_true", help="plain PyTorch torchvision run")
    p.add_argument("--only", choices=["baseline", "csdnet"], default=None)
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    if args.smoke:
        args.backbone, args.image_size, args.batch_size = "resnet18", 64, 4
        args.steps, args.warmup, args.classes = 2, 1, 5
    return args


class _StepTimer:
    def __init__(self, warmup):
        import keras

        class Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.marks = []

            def on_train_batch_end(self, batch, logs=None):
                if logs is not None and "loss" in logs:
                    float(logs["loss"])  # wait for the step (async dispatch)
                self.marks.append(time.perf_counter())

        self.callback = Timer()
        self.warmup = warmup

    def images_per_second(self, batch_size):
        marks = self.callback.marks[self.warmup - 1 :]
        return batch_size * (len(marks) - 1) / (marks[-1] - marks[0])


def keras_run(args, switches):
    import keras

    import keras_csdnet

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = keras_csdnet.CSDNet(
        backbone=args.backbone, num_classes=args.classes, image_size=args.image_size,
        seed=0, **switches)
    n = args.batch_size * 4
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, args.image_size, args.image_size, 3), dtype=np.uint8)
    y = rng.integers(0, args.classes, n).astype("int32")
    steps = args.warmup + args.steps
    timer = _StepTimer(args.warmup)
    start = time.perf_counter()
    model.fit(x, y, batch_size=args.batch_size, epochs=(steps + 3) // 4, verbose=0,
              callbacks=[timer.callback])
    return {"img_per_s": round(timer.images_per_second(args.batch_size), 1),
            "wall_s": round(time.perf_counter() - start, 1)}


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
    common = {"backbone": args.backbone, "image_size": args.image_size,
              "batch_size": args.batch_size, "dtype_policy": "mixed_bfloat16"}
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
        result = dict(common, run=f"keras_{keras.backend.backend()}_{name}",
                      **keras_run(args, switches))
        print(json.dumps(result), flush=True)
        results.append(result)
    return results


if __name__ == "__main__":
    main()
