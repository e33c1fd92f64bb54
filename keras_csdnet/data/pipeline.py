"""tf.data pipelines: parallel decode, cache, augmentation, prefetch.

Train: resize (shorter side to `image_size * 512 / 448`), then the NumPy
recipe of `keras_csdnet.data.augment` per image (random crop to
`image_size`, horizontal flip, rotation and a mild colour jitter centred on
the original colours), the same pixels `FewShotSequence` gives without
TensorFlow. Eval: the same resize, then a centre crop (`load_image` does the
same for one file). Outputs are `(uint8 image, int32 label)` batches for
every Keras backend.
"""

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
        ds = ds.shuffle(max(len(paths), 1), seed=seed, reshuffle_each_iteration=True)
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

        seeds = (
            tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
            .map(lambda s: tf.math.abs(s))
            .batch(2)
        )
        ds = tf.data.Dataset.zip((ds, seeds)).map(augment_tf, num_parallel_calls=autotune)
    ds = ds.batch(batch_size)
    ds = ds.prefetch(autotune)
    ds.class_names = list(class_names) if class_names is not None else None
    ds.num_images = len(paths)
    ds.file_paths = paths
    return ds
