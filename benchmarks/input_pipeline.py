"""Input pipeline throughput: decode + resize + crop + augment, images/s.

    python benchmarks/input_pipeline.py --data-dir ../shared/data/leaves99 \
        --image-size 224 448 --batches 30 --repeats 3
    python benchmarks/input_pipeline.py --smoke     # writes a tiny folder itself

Times the training dataset of `load_image_folder` (all images of each class
in the pool used for training, so nothing is skipped), with the in-memory
cache off (every image decoded every time: the cold, worst case) and on
(second epoch onwards: decode cached, augmentation still per image). Reports
the median images/s of `--repeats` runs. Compare with the training step's
consumption rate from `benchmarks/throughput.py` (CSDNet img/s).
"""

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--image-size", type=int, nargs="+", default=[224, 448])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--batches", type=int, default=30, help="batches timed per run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    if args.smoke:
        args.image_size, args.batch_size, args.batches, args.repeats = [32], 4, 2, 1
    return args


def _fake_folder(root, classes=3, per_class=6):
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in range(classes):
        os.makedirs(os.path.join(root, f"c{c}"))
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (120, 90, 3), np.uint8)).save(
                os.path.join(root, f"c{c}", f"{i}.jpg")
            )
    return root


def measure(data_dir, image_size, batch_size, batches, cache):
    import keras_csdnet

    # Use every image as training data: shots = smallest class size - 1.
    splits = keras_csdnet.data.load_image_folder(
        data_dir,
        image_size=image_size,
        shots=_min_class_size(data_dir) - 1,
        val_shots=0,
        batch_size=batch_size,
        cache=cache,
    )
    ds = splits.train.repeat()
    iterator = iter(ds)
    if cache:  # fill the cache first: one full pass
        for _ in range((splits.train.num_images + batch_size - 1) // batch_size):
            next(iterator)
    else:
        next(iterator)
    start, count = time.perf_counter(), 0
    for _ in range(batches):
        images, _ = next(iterator)
        count += int(images.shape[0])
    return count / (time.perf_counter() - start)


def _min_class_size(root):
    from keras_csdnet.data.images import is_image_file

    sizes = [
        sum(is_image_file(f) for f in os.listdir(os.path.join(root, d)))
        for d in os.listdir(root)
        if os.path.isdir(os.path.join(root, d))
    ]
    return min(sizes)


def main(argv=None):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or _fake_folder(os.path.join(tmp, "fake"))
        results = []
        for size in args.image_size:
            row = {"image_size": size, "batch_size": args.batch_size, "data_dir": data_dir}
            for cache in (False, True):
                rates = [
                    measure(data_dir, size, args.batch_size, args.batches, cache)
                    for _ in range(args.repeats)
                ]
                row["cached_img_per_s" if cache else "cold_img_per_s"] = round(
                    statistics.median(rates), 1
                )
            print(json.dumps(row))
            results.append(row)
    return results


if __name__ == "__main__":
    main()
