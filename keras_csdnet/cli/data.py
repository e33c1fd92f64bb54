"""Data for the commands: the built-in synthetic cultivars or an image folder."""

import os

import numpy as np

from keras_csdnet.cli.errors import CommandError

SPLITS = ("test", "val", "train", "all")


def load_splits(settings, passes=None):
    """`(train, val, test, class_names, info)` from resolved train settings.

    `passes` (a range of epochs) makes the training set those epochs back to
    back, each shuffled and augmented by `(seed, epoch)` alone.

    `settings["data"]` is a folder path, or None for the synthetic cultivars
    (`classes`, `train_per_class`, `test_per_class`). `info` records the
    source and the split counts for `config.yaml`.
    """
    from keras_csdnet import data

    size, seed, batch = settings["image_size"], settings["seed"], settings["batch_size"]
    if settings["data"] is None:
        datasets = data.synthetic_cultivars(
            num_classes=settings["classes"],
            image_size=size,
            train_per_class=settings["train_per_class"],
            test_per_class=settings["test_per_class"],
            val_per_class=settings["val_shots"],
            seed=seed,
            batch_size=batch,
            passes=passes,
        )
        train, val, test = datasets if len(datasets) == 3 else (datasets[0], None, datasets[1])
        names = list(train.class_names)
        info = {"source": "synthetic cultivars", "path": None, "layout": None}
    else:
        path = settings["data"]
        if not os.path.isdir(path):
            raise CommandError(f"No such data folder: {path!r}. Pass a folder of class folders.")
        layout = settings["layout"]
        if layout == "auto":
            layout = data.detect_layout(path)
        shots = settings["shots"]
        if shots is None and layout == "classes":
            shots = 3
        train, val, test, names = data.load_image_folder(
            path,
            layout=layout,
            image_size=size,
            shots=shots,
            val_shots=settings["val_shots"],
            seed=seed,
            batch_size=batch,
            resize=settings["resize"],
            passes=passes,
        )
        info = {"source": "folder", "path": os.path.abspath(path), "layout": layout}
        info["shots"] = shots
    info.update(
        classes=len(names),
        train_images=int(train.num_images),
        val_images=int(val.num_images) if val is not None else 0,
        test_images=int(test.num_images),
    )
    return train, val, test, names, info


def folder_split(path, settings, split, image_size):
    """One split of a folder as an evaluation dataset, `(dataset, class_names)`.

    `split="all"` takes every image of the folder; the other splits are the
    ones `load_splits` makes with the run's `shots`, `val_shots` and `seed`.
    """
    from keras_csdnet import data

    if split not in SPLITS:
        raise CommandError(f"Unknown split {split!r}; use one of {SPLITS}.")
    if not os.path.isdir(path):
        raise CommandError(f"No such data folder: {path!r}. Pass a folder of class folders.")
    if split == "all":
        layout = settings.get("layout", "auto")
        layout = data.detect_layout(path) if layout == "auto" else layout
        parts = data.FOLDER_LAYOUTS.get(layout).entries(path, None, False, None)
        entries = [e for part in parts[:3] if part for e in part]
        names = list(parts[3])
        if not entries:
            raise CommandError(f"No image files found under {path!r}.")
        dataset = data.make_dataset(
            entries,
            image_size=image_size,
            training=False,
            batch_size=settings.get("batch_size", 16),
            resize=settings.get("resize", "shorter_side"),
            class_names=names,
        )
        return dataset, names
    resolved = dict(settings, data=path, image_size=image_size)
    train, val, test, names, _ = load_splits(resolved)
    return {"train": train, "val": val, "test": test}[split], names


def label_map(data_names, model_names):
    """Index array taking the data's labels to the model's, matched by class name."""
    if model_names is None:
        return np.arange(len(data_names))
    index = {name: i for i, name in enumerate(model_names)}
    unknown = [n for n in data_names if n not in index]
    if unknown:
        shown = ", ".join(repr(n) for n in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise CommandError(
            f"The data has {len(unknown)} classes the model was not trained on ({shown}). "
            "Evaluate on folders of the model's classes (see classes.txt of its run)."
        )
    return np.asarray([index[n] for n in data_names])


def collect(dataset, mapping=None, limit=None):
    """All `(images uint8 (N, S, S, 3), labels int (N,))` of a batched dataset."""
    images, labels = [], []
    for x, y in dataset:
        images.append(np.asarray(x))
        labels.append(np.asarray(y))
        if limit and sum(len(b) for b in images) >= limit:
            break
    if not images:
        raise CommandError("The split has no images. Use a split with images (--split).")
    x, y = np.concatenate(images), np.concatenate(labels).astype(int)
    if mapping is not None:
        y = mapping[y]
    return (x[:limit], y[:limit]) if limit else (x, y)
