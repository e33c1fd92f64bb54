"""tf.data pipelines: parallel decode, cache, augmentation, prefetch.

Train: resize (shorter side to `image_size * 512 / 448`), then the NumPy
recipe of `keras_csdnet.data.augment` per image (random crop to
`image_size`, horizontal flip, rotation and a mild colour jitter centred on
the original colours), the same pixels `FewShotSequence` gives without
TensorFlow. Eval: the same resize, then a centre crop (`load_image` does the
same for one file). Outputs are `(uint8 image, int32 label)` batches for
every Keras backend.
"""

import math

import numpy as np

from keras_csdnet.data.augment import augment_image
from keras_csdnet.data.augment import check_augmentation
from keras_csdnet.data.images import load_image
from keras_csdnet.data.images import read_image

RESIZE_MODES = ("shorter_side", "square")
DEFAULT_CACHE_BYTES = 4 * 2**30


def resize_size(image_size):
    """The pre-crop size of the usual UFG recipe: 448 -> 512."""
    return int(round(image_size * 512 / 448))


def make_dataset(
    entries,
    image_size,
    training,
    batch_size=16,
    seed=0,
    resize="shorter_side",
    cache="auto",
    augment=True,
    class_names=None,
    rotation_degrees=10.0,
    color_jitter=0.1,
    passes=None,
):
    """Builds a batched dataset of `(uint8 image, int32 label)` from files.

    Args:
        entries: list of `(path, label)`.
        image_size: int, output side.
        training: bool; shuffles and augments when True.
        batch_size: int.
        seed: int, seeds the shuffle and the augmentation.
        resize: `"shorter_side"` (aspect kept, then crop) or `"square"`
            (both sides to the resize size, then crop).
        cache: True, False or `"auto"` (cache decoded images when they fit in
            `DEFAULT_CACHE_BYTES`).
        augment: bool; True applies the whole training augmentation, False
            the random crop only (training only).
        class_names: optional list stored as `dataset.class_names`.
        rotation_degrees: float in `[0, 180]`, the largest rotation either
            way (`keras_csdnet.data.augment`). Default 10.
        color_jitter: float in `[0, 1)`, the colour jitter strength. Default 0.1.
        passes: None (default) or a range of epochs, training only. None: each
            pass over the dataset is shuffled and augmented anew. `range(a, b)`:
            one dataset holding the epochs `a` to `b - 1` back to back, each
            shuffled and augmented as a function of `(seed, epoch)` alone (see
            `seeded_passes`); fit it with `steps_per_epoch=ceil(num_images /
            batch_size)`. `csdnet train` uses it, so that a run resumed at
            epoch `a` sees the batches an uninterrupted run saw.

    Returns:
        A `tf.data.Dataset` with `.class_names`, `.num_images` and
        `.file_paths` attributes (the latter in input order; training batches
        are shuffled).
    """
    import tensorflow as tf

    if resize not in RESIZE_MODES:
        raise ValueError(f"Unknown `resize={resize!r}`; use one of {RESIZE_MODES}.")
    check_augmentation(rotation_degrees, color_jitter)
    short = resize_size(image_size)
    square = resize == "square"
    paths = [str(p) for p, _ in entries]
    labels = np.asarray([int(y) for _, y in entries], dtype=np.int32)
    autotune = tf.data.AUTOTUNE

    def decode(path, label, reader, shape):
        image = tf.numpy_function(lambda p: reader(p.decode()), [path], tf.uint8, stateful=False)
        image.set_shape(shape)
        return image, label

    size = [image_size, image_size, 3]
    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    if training:
        # Decoded at the pre-crop size and cached; random crops come after.
        ds = ds.map(
            lambda p, y: decode(p, y, lambda f: read_image(f, short, square), [None, None, 3]),
            num_parallel_calls=autotune,
            deterministic=True,
        )
        estimated = len(paths) * short * short * (1 if square else 1.5) * 3
    else:
        # Exactly `load_image`: the same pixels as a single file prepared for
        # `predict` or an exported model.
        ds = ds.map(
            lambda p, y: decode(p, y, lambda f: load_image(f, image_size, resize), size),
            num_parallel_calls=autotune,
            deterministic=True,
        )
        estimated = len(paths) * image_size * image_size * 3
    if cache is True or (cache == "auto" and estimated <= DEFAULT_CACHE_BYTES):
        ds = ds.cache()
    if training:
        # One NumPy recipe (`keras_csdnet.data.augment`), seeded per element
        # from a seeded stream, so runs repeat exactly.
        rotation = rotation_degrees if augment else 0.0
        jitter = color_jitter if augment else 0.0

        def augment_one(image, element_seed):
            rng = np.random.default_rng([int(s) for s in element_seed])
            out = augment_image(image, image_size, rng, rotation, jitter, flip=augment)
            return np.repeat(out, 3, axis=-1) if out.shape[-1] == 1 else out

        def augment_tf(xy, element_seed):
            image = tf.numpy_function(augment_one, [xy[0], element_seed], tf.uint8, stateful=False)
            image.set_shape(size)
            return image, xy[1]

        if passes is None:
            ds = ds.shuffle(max(len(paths), 1), seed=seed, reshuffle_each_iteration=True)
            seeds = (
                tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
                .map(lambda s: tf.math.abs(s))
                .batch(2)
            )
            ds = tf.data.Dataset.zip((ds, seeds)).map(augment_tf, num_parallel_calls=autotune)
        else:

            def augmented(shuffled, epoch):
                seeds = tf.data.Dataset.range(len(paths)).map(
                    lambda i: tf.stack(
                        [tf.constant(seed, tf.int64), tf.constant(epoch, tf.int64), i]
                    )
                )
                return tf.data.Dataset.zip((shuffled, seeds)).map(
                    augment_tf, num_parallel_calls=autotune, deterministic=True
                )

            ds = seeded_passes(ds, len(paths), seed, passes, batch_size, augmented)
    if not training or passes is None:
        ds = ds.batch(batch_size)
    ds = ds.prefetch(autotune)
    ds.class_names = list(class_names) if class_names is not None else None
    ds.num_images = len(paths)
    ds.file_paths = paths
    return ds


def seeded_passes(elements, num_elements, seed, passes, batch_size, per_pass=None):
    """The epochs `passes` of `elements` back to back, each shuffled by `(seed, epoch)`.

    Unlike `Dataset.shuffle(reshuffle_each_iteration=True)`, whose order for
    a pass depends on how many iterators the dataset has had (Keras and
    CSDNet open some to peek at a batch), pass `epoch` here is the same in
    every process: a training run resumed at epoch `a` with
    `passes=range(a, epochs)` sees what the uninterrupted run saw.

    Args:
        elements: an unbatched `tf.data.Dataset` (e.g. decoded and cached).
        num_elements: int, its length.
        seed: int >= 0.
        passes: a range (or list) of int epochs >= 0.
        batch_size: int; each pass is batched on its own (its last batch may
            be smaller), so one epoch is `ceil(num_elements / batch_size)` steps.
        per_pass: optional `fn(shuffled_pass, epoch int) -> dataset`,
            e.g. the augmentation seeded by the epoch.

    Returns:
        A batched `tf.data.Dataset` of `len(passes)` epochs.
    """
    import tensorflow as tf

    epochs = [int(e) for e in passes]
    if not epochs or any(e < 0 for e in epochs) or int(seed) < 0:
        raise ValueError(
            f"`passes` must be a non-empty range of epochs >= 0 and `seed` an int >= 0; "
            f"got passes={passes!r}, seed={seed!r}."
        )

    def one_pass(epoch):
        # A fixed seed per epoch and no reshuffling: every iterator of this
        # pass gives the same order, however many were opened before.
        shuffled = elements.shuffle(
            max(num_elements, 1), seed=int(seed) * 1_000_003 + epoch, reshuffle_each_iteration=False
        )
        if per_pass is not None:
            shuffled = per_pass(shuffled, epoch)
        return shuffled.batch(batch_size)

    if len(epochs) == 1:
        return one_pass(epochs[0])
    steps = math.ceil(max(num_elements, 1) / batch_size)
    order = np.repeat(np.arange(len(epochs), dtype=np.int64), steps)
    return tf.data.Dataset.choose_from_datasets(
        [one_pass(e) for e in epochs], tf.data.Dataset.from_tensor_slices(order)
    )
