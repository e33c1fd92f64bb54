"""Stratified, seeded few-shot splits that are the same on any machine."""

import zlib

import numpy as np

from keras_csdnet.utils.warnings import warn_user


def _class_rng(seed, class_name):
    # Seeded by the class *name*, so adding or removing other classes (or
    # listing files in another order) does not change this class's split.
    return np.random.default_rng([int(seed), zlib.crc32(str(class_name).encode())])


def few_shot_split(
    items,
    labels,
    class_names,
    shots,
    val_shots=1,
    min_test=1,
    seed=0,
    drop_small_classes=False,
):
    """Splits a pool into `shots` train, `val_shots` validation, the rest test.

    Items are sorted inside each class before shuffling, so the split depends
    only on the seed, the class names and the item names.

    Args:
        items: list of item identifiers (e.g. file paths), sortable.
        labels: int class ids, one per item.
        class_names: list of names, indexed by label.
        shots: int >= 1, training items per class (the few-shot `k`).
        val_shots: int >= 0, validation items per class (one is a noisy
            score for model selection; see `load_image_folder`).
        min_test: int >= 0, test items a class must keep.
        seed: int.
        drop_small_classes: bool; if True, classes with fewer than
            `shots + val_shots + min_test` items are dropped with a warning
            (labels are renumbered); else a `ValueError` lists them.

    Returns:
        `(train, val, test, class_names)`: three lists of `(item, label)` and
        the kept class names.
    """
    if not isinstance(shots, int) or shots < 1:
        raise ValueError(f"`shots` must be an int >= 1, got {shots!r}.")
    if not isinstance(val_shots, int) or val_shots < 0:
        raise ValueError(f"`val_shots` must be an int >= 0, got {val_shots!r}.")
    need = shots + val_shots + min_test
    by_class = {c: [] for c in range(len(class_names))}
    for item, label in zip(items, labels):
        by_class[int(label)].append(item)
    small = {class_names[c]: len(v) for c, v in by_class.items() if len(v) < need}
    if small:
        listing = ", ".join(f"{n!r} ({k})" for n, k in list(small.items())[:10])
        more = f" and {len(small) - 10} more" if len(small) > 10 else ""
        if not drop_small_classes:
            raise ValueError(
                f"{len(small)} class(es) have fewer than shots + val_shots + {min_test} = "
                f"{need} images: {listing}{more}. Lower `shots`/`val_shots`, add images, "
                "or pass `drop_small_classes=True` to drop them."
            )
        warn_user(
            f"Dropping {len(small)} class(es) with fewer than {need} images: {listing}{more}."
        )
    kept = [c for c in range(len(class_names)) if class_names[c] not in small]
    train, val, test = [], [], []
    for new_label, c in enumerate(kept):
        members = sorted(by_class[c])
        order = _class_rng(seed, class_names[c]).permutation(len(members))
        members = [members[i] for i in order]
        train += [(m, new_label) for m in members[:shots]]
        val += [(m, new_label) for m in members[shots : shots + val_shots]]
        test += [(m, new_label) for m in members[shots + val_shots :]]
    return train, val, test, [class_names[c] for c in kept]


def carve_validation(train, val_shots, seed=0, class_names=None, min_train=1):
    """Moves `val_shots` items per class from `train` to a validation list.

    Used where a dataset ships train/test only. Classes keep at least
    `min_train` training items; a class too small for that gets a
    `ValueError`.

    Returns:
        `(train, val)` lists of `(item, label)`.
    """
    if val_shots == 0:
        return list(train), []
    by_class = {}
    for item, label in train:
        by_class.setdefault(int(label), []).append(item)
    new_train, val = [], []
    for label in sorted(by_class):
        members = sorted(by_class[label])
        name = class_names[label] if class_names else label
        if len(members) < val_shots + min_train:
            raise ValueError(
                f"Class {name!r} has {len(members)} training images, too few to carve "
                f"{val_shots} validation image(s) and keep {min_train} for training. "
                "Lower `val_shots` (0 disables validation) or add images."
            )
        order = _class_rng(seed, f"val:{name}").permutation(len(members))
        members = [members[i] for i in order]
        val += [(m, label) for m in members[:val_shots]]
        new_train += [(m, label) for m in members[val_shots:]]
    return new_train, val
