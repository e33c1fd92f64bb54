"""Loading image folders and the UFG benchmark layout into few-shot splits."""

import os
from collections.abc import Callable
from typing import NamedTuple

from keras_csdnet.data.images import find_unreadable
from keras_csdnet.data.images import is_image_file
from keras_csdnet.data.pipeline import make_dataset
from keras_csdnet.data.sampler import carve_validation
from keras_csdnet.data.sampler import few_shot_split
from keras_csdnet.utils.registry import Registry
from keras_csdnet.utils.warnings import warn_user

ON_ERROR = ("raise", "skip")


class FolderLayout(NamedTuple):
    """One registered folder layout.

    Fields:
        detect: `detect(path) -> bool`, whether the folder at `path` has this
            layout (tried in registration order by `layout="auto"`).
        entries: `entries(path, classes, drop_small_classes, num_classes)`
            returning `(train, val, test, class_names)`, each split a list of
            `(image path, label)` or None (val: carve it from train; test:
            split one pool into train/val/test with `shots`).
        description: the layout in one line, for messages.
    """

    detect: Callable
    entries: Callable
    description: str


FOLDER_LAYOUTS = Registry("folder layout", "layout")


def register_layout(name, detect, entries, description):
    """Registers `load_image_folder(layout=name)`; see `FolderLayout`."""
    FOLDER_LAYOUTS.register(name, FolderLayout(detect, entries, description))


class ImageFolderSplits(NamedTuple):
    """What `load_image_folder` returns; unpacks as `train, val, test, names`."""

    train: object
    val: object
    test: object
    class_names: list


def detect_layout(path):
    """The first registered layout whose `detect` accepts `path` (`"classes"` last)."""
    for name, layout in FOLDER_LAYOUTS.items():
        if layout.detect(path):
            return name
    return "classes"


def _list_images(folder):
    files = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files += [os.path.join(dirpath, f) for f in sorted(filenames) if is_image_file(f)]
    return files


def _class_folders(root, class_names=None, drop_empty=False, what="class folder", keep=None):
    """Lists `root/<class>/...` images; returns `(entries, class_names)`."""
    subdirs = sorted(
        d
        for d in os.listdir(root)
        if os.path.isdir(os.path.join(root, d)) and not d.startswith(".")
    )
    if keep is not None:
        subdirs = [d for d in subdirs if _selected(d, keep)]
    if class_names is None:
        class_names = subdirs
    else:
        unknown = [d for d in subdirs if d not in class_names]
        if unknown:
            raise ValueError(
                f"{root!r} has class folders that the training split lacks: {unknown[:10]}. "
                "Every class needs training images: add them to train/ or remove the folders."
            )
    entries, empty = [], []
    for label, name in enumerate(class_names):
        folder = os.path.join(root, name)
        files = _list_images(folder) if os.path.isdir(folder) else []
        if not files and name in subdirs:
            empty.append(folder)
        entries += [(f, label) for f in files]
    if empty:
        message = (
            f"{len(empty)} empty {what}(s) (no image files): {empty[:10]}. Add images "
            "(JPEG, PNG, BMP, GIF, PGM/PPM, TIFF, WebP) or remove the folders"
        )
        if not drop_empty:
            raise ValueError(message + ", or pass `drop_small_classes=True`.")
        warn_user(message + "; they are dropped.")
        keep = [n for n in class_names if os.path.join(root, n) not in empty]
        remap = {class_names.index(n): i for i, n in enumerate(keep)}
        entries = [(f, remap[y]) for f, y in entries]
        class_names = keep
    return entries, class_names


def _selected(name, keep):
    return keep(name) if callable(keep) else name in keep


def _read_annotations(root, split, num_classes=None):
    path = os.path.join(root, "anno", f"{split}.txt")
    if not os.path.isfile(path):
        return None
    entries, missing, bad = [], [], []
    images_root = os.path.join(root, "images")
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.rsplit(maxsplit=1)
            try:
                label = int(parts[1])
            except (IndexError, ValueError):
                bad.append(f"{path}:{number}: {line!r} (expected '<image> <1-based label>')")
                continue
            if label < 1 or (num_classes is not None and label > num_classes):
                high = num_classes if num_classes is not None else "num_classes"
                bad.append(f"{path}:{number}: label {label} outside [1, {high}]")
                continue
            candidates = [os.path.join(images_root, parts[0]), os.path.join(root, parts[0])]
            found = next((c for c in candidates if os.path.isfile(c)), None)
            if found is None:
                missing.append(f"{path}:{number}: {parts[0]}")
                continue
            entries.append((found, label - 1))
    if bad:
        raise ValueError(
            f"{len(bad)} bad annotation line(s): {bad[:10]}. Labels are 1-based class ids; "
            "fix or remove these lines."
        )
    if missing:
        raise ValueError(
            f"{len(missing)} annotation line(s) point at missing files: {missing[:10]}. "
            f"Paths are relative to {images_root!r}; fix the paths or restore the files."
        )
    return entries


def ufg_entries(root, num_classes=None):
    """Reads a UFG folder: `(train, val or None, test, class_names)` entries."""
    train = _read_annotations(root, "train", num_classes)
    test = _read_annotations(root, "test", num_classes) or []
    val = _read_annotations(root, "val", num_classes)
    if not train:
        raise ValueError(f"{os.path.join(root, 'anno', 'train.txt')!r} lists no images.")
    k = num_classes or max(y for _, y in train + test + (val or [])) + 1
    seen = {y for _, y in train}
    unseen = sorted({y + 1 for _, y in test if y not in seen})
    if unseen:
        raise ValueError(
            f"Labels {unseen[:10]} appear in anno/test.txt but never in anno/train.txt. "
            "Every class needs training images; check the annotation files."
        )
    width = len(str(k))
    names = [f"{i + 1:0{width}d}" for i in range(k)]
    return train, val, test, names


def _skip_unreadable(entries, on_error):
    bad = dict(find_unreadable([p for p, _ in entries]))
    if not bad:
        return entries
    listing = "; ".join(f"{p} ({why})" for p, why in list(bad.items())[:10])
    if on_error == "raise":
        raise ValueError(
            f"{len(bad)} unusable image file(s) (unreadable, truncated, too small or too "
            f"large): {listing}. Re-export or remove them, or pass `on_error='skip'` to "
            "leave them out with a warning."
        )
    warn_user(f"Skipped {len(bad)} unusable image file(s) of {len(entries)}: {listing}")
    return [(p, y) for p, y in entries if p not in bad]


def _need_two_classes(names, path):
    if len(names) < 2:
        found = f"one class ({names[0]!r})" if names else "no class"
        raise ValueError(
            f"{path!r} holds {found}; a classifier needs at least 2 classes. Put each "
            "class's images in a folder of its own (root/<class>/<image>), one folder "
            "per class, or point `path` at the folder above them."
        )


def load_image_folder(
    path,
    layout="auto",
    image_size=224,
    shots=None,
    val_shots=1,
    seed=0,
    batch_size=16,
    on_error="raise",
    drop_small_classes=False,
    resize="shorter_side",
    augment=True,
    cache="auto",
    num_classes=None,
    classes=None,
    passes=None,
):
    """Loads a folder of images into few-shot train / validation / test datasets.

    Layouts (auto-detected, or forced with `layout=`):

    - `"classes"`: `root/<class>/<image>`: one pool, split per class into
      `shots` train, `val_shots` validation and the rest test.
    - `"splits"`: `root/{train,val,test}/<class>/<image>`; `val/` is optional.
    - `"ufg"`: `root/images/...` with `root/anno/{train,test}.txt` (optionally
      `val.txt`) of lines `<image path relative to images/> <1-based label>`.

    With given splits, `shots` (if set) samples that many training images per
    class from the train split; when there is no validation split,
    `val_shots` images per class are carved from train (before sampling
    `shots`), so model selection never looks at test.

    Args:
        path: dataset root folder.
        layout: `"auto"` or a name in `FOLDER_LAYOUTS` (`"classes"`,
            `"splits"`, `"ufg"`; `register_layout` adds one).
        image_size: int, output image side.
        shots: int or None, training images per class (required for the
            `"classes"` layout).
        val_shots: int >= 0, validation images per class (default 1).
            One image per class makes a noisy score for choosing a
            checkpoint or a setting: in `docs/accuracy_study.md` a validation
            lead under about 0.03 predicted the test lead's sign no better
            than chance. Use 2 or more where classes have the images.
        seed: int; same seed, same split on any machine.
        batch_size: int.
        on_error: `"raise"` (default) or `"skip"` for unreadable image files.
        drop_small_classes: bool; drop (with a warning) classes that are empty
            or too small for the split instead of raising.
        resize: `"shorter_side"` (default) or `"square"` pre-crop resize.
        augment: bool, training augmentation on or off.
        cache: True, False or `"auto"` (decoded images kept in memory when
            they fit).
        num_classes: optional int, checks UFG labels against `[1, num_classes]`.
        classes: optional list of class folder names, or a predicate on the
            name, to load only those classes (folder layouts), e.g.
            `classes=lambda c: c.startswith("Quercus_")`.
        passes: None, or a range of epochs for the training set (see
            `make_dataset`: each epoch shuffled and augmented by
            `(seed, epoch)` alone; fit with `steps_per_epoch`).

    Returns:
        `ImageFolderSplits(train, val, test, class_names)`: batched
        `tf.data.Dataset`s of `(uint8 (B, image_size, image_size, 3), int32 (B,))`
        (`val` has no elements when `val_shots=0`), and the class names.

    Examples:
    ```python
    from keras_csdnet.data import load_image_folder
    train, val, test, names = load_image_folder(
        "../shared/data/leaves99", shots=3, val_shots=1, image_size=64)
    ```
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise ValueError(f"`path={path!r}` is not a folder. Pass the dataset's root folder.")
    if layout != "auto" and layout not in FOLDER_LAYOUTS:
        raise ValueError(
            f"Unknown `layout={layout!r}`; use one of {['auto'] + FOLDER_LAYOUTS.names()}."
        )
    if on_error not in ON_ERROR:
        raise ValueError(f"Unknown `on_error={on_error!r}`; use one of {ON_ERROR}.")
    if layout == "auto":
        layout = detect_layout(path)
    train, val, test, names = FOLDER_LAYOUTS.get(layout).entries(
        path, classes, drop_small_classes, num_classes
    )

    everything = train + (val or []) + (test or [])
    if not everything:
        raise ValueError(
            f"No image files found under {path!r} (layout {layout!r}). Expected "
            + "; or ".join(entry.description for _, entry in FOLDER_LAYOUTS.items())
            + "."
        )
    _need_two_classes(names, path)
    ok = set(p for p, _ in _skip_unreadable(everything, on_error))
    train = [e for e in train if e[0] in ok]
    val = [e for e in val if e[0] in ok] if val is not None else None
    test = [e for e in test if e[0] in ok] if test is not None else None

    if test is None:  # one pool per class: split it
        if shots is None:
            raise ValueError(
                f"`shots` is required for the {layout!r} layout (one pool of images per "
                "class): pass e.g. `shots=3, val_shots=1`; the rest is the test set."
            )
        paths, labels = zip(*train) if train else ((), ())
        train, val, test, names = few_shot_split(
            list(paths), list(labels), names, shots, val_shots, 1, seed, drop_small_classes
        )
    else:
        if val is None:
            train, val = carve_validation(train, val_shots, seed, names)
        if shots is not None:
            paths, labels = zip(*train)
            sampled, _, _, kept = few_shot_split(
                list(paths), list(labels), names, shots, 0, 0, seed, drop_small_classes
            )
            if kept != names:
                keep = {names.index(n): i for i, n in enumerate(kept)}
                val = [(p, keep[y]) for p, y in val if y in keep]
                test = [(p, keep[y]) for p, y in test if y in keep]
                names = kept
            train = sampled

    _need_two_classes(names, path)
    common = dict(
        image_size=image_size,
        batch_size=batch_size,
        seed=seed,
        resize=resize,
        cache=cache,
        class_names=names,
    )
    return ImageFolderSplits(
        make_dataset(train, training=True, augment=augment, passes=passes, **common),
        make_dataset(val, training=False, **common),
        make_dataset(test, training=False, **common),
        list(names),
    )


def _ufg_entries(path, classes, drop_small_classes, num_classes):
    if classes is not None:
        raise ValueError("`classes=` selects class folders; the UFG layout has none.")
    return ufg_entries(path, num_classes)


def _splits_entries(path, classes, drop_small_classes, num_classes):
    for split in ("train", "test"):
        if not os.path.isdir(os.path.join(path, split)):
            raise ValueError(
                f"Layout 'splits' needs {os.path.join(path, split)!r}: "
                "root/{train,val,test}/<class>/<image>."
            )
    keep = classes
    train, names = _class_folders(os.path.join(path, "train"), None, drop_small_classes, keep=keep)
    others = names if classes is not None else None
    test, _ = _class_folders(
        os.path.join(path, "test"), names, True, "test class folder", keep=others
    )
    val = None
    if os.path.isdir(os.path.join(path, "val")):
        val, _ = _class_folders(
            os.path.join(path, "val"), names, True, "val class folder", keep=others
        )
    return train, val, test, names


def _classes_entries(path, classes, drop_small_classes, num_classes):
    train, names = _class_folders(path, None, drop_small_classes, keep=classes)
    return train, None, None, names


register_layout(
    "ufg",
    lambda path: os.path.isfile(os.path.join(path, "anno", "train.txt")),
    _ufg_entries,
    "the UFG layout root/images + root/anno/{train,test}.txt",
)
register_layout(
    "splits",
    lambda path: (
        os.path.isdir(os.path.join(path, "train")) and os.path.isdir(os.path.join(path, "test"))
    ),
    _splits_entries,
    "root/{train,val,test}/<class>/<image>",
)
register_layout("classes", lambda path: False, _classes_entries, "root/<class>/<image>")
