"""tf.data pipelines: parallel decode, cache, Keras augmentation layers, prefetch.

Train: resize (shorter side to `image_size * 512 / 448`), random crop to
`image_size`, then Keras layers on the batch: horizontal flip, mild colour
jitter and rotation. Eval: the same
resize, then a centre crop. Outputs are `(uint8 image, int32 label)` batches
for every Keras backend (the layers run as TensorFlow ops inside tf.data).
"""

import numpy as np

from keras_csdnet.data.images import read_image

RESIZE_MODES = ("shorter_side", "square")
DEFAULT_CACHE_BYTES = 4 * 2**30


def resize_size(image_size):
    """The pre-crop size of the usual UFG recipe: 448 -> 512."""
    return int(round(image_size * 512 / 448))


def train_augmentation(image_size, seed=0, rotation_degrees=10.0, color_jitter=0.1):
    """Batch-level Keras augmentation layers (after the random crop).

    Args:
        image_size: int, crop size.
        seed: int, seed of every layer.
        rotation_degrees: float, maximum rotation either way.
        color_jitter: float, brightness/contrast/saturation factor.

    Returns:
        A list of Keras preprocessing layers, to apply in order to float
        images in `[0, 255]` (see `augment_batch`). They are applied one by
        one, not as a `keras.Sequential`, because each layer switches itself
        to TensorFlow inside tf.data whatever the backend, and a Sequential
        would not.
    """
    import keras

    layers = [keras.layers.RandomFlip("horizontal", seed=seed)]
    if rotation_degrees:
        layers.append(
            keras.layers.RandomRotation(rotation_degrees / 360.0, fill_mode="reflect", seed=seed)
        )
    if color_jitter:
        layers.append(
            keras.layers.RandomColorJitter(
                value_range=(0, 255),
                brightness_factor=color_jitter,
                contrast_factor=color_jitter,
                saturation_factor=color_jitter,
                seed=seed,
            )
        )
    return layers


def augment_batch(images, layers):
    """Applies `train_augmentation` layers in order (inside tf.data)."""
    for layer in layers:
        images = layer(images, training=True)
    return images


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
        augment: bool, apply the training augmentation (training only).
        class_names: optional list stored as `dataset.class_names`.

    Returns:
        A `tf.data.Dataset` with `.class_names`, `.num_images` and
        `.file_paths` attributes (the latter in input order; training batches
        are shuffled).
    """
    import keras
    import tensorflow as tf

    if resize not in RESIZE_MODES:
        raise ValueError(f"Unknown `resize={resize!r}`; use one of {RESIZE_MODES}.")
    short = resize_size(image_size)
    square = resize == "square"
    paths = [str(p) for p, _ in entries]
    labels = np.asarray([int(y) for _, y in entries], dtype=np.int32)
    autotune = tf.data.AUTOTUNE

    def load(path, label):
        image = tf.numpy_function(
            lambda p: read_image(p.decode(), short, square), [path], tf.uint8, stateful=False
        )
        image.set_shape([None, None, 3])
        return image, label

    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    ds = ds.map(load, num_parallel_calls=autotune, deterministic=True)
    estimated = len(paths) * short * short * (1 if square else 1.5) * 3
    if cache is True or (cache == "auto" and estimated <= DEFAULT_CACHE_BYTES):
        ds = ds.cache()
    size = [image_size, image_size, 3]
    if training:
        ds = ds.shuffle(max(len(paths), 1), seed=seed, reshuffle_each_iteration=True)
        # Images differ in size before the crop, which Keras' RandomCrop does
        # not take inside tf.data: a stateless TF crop, seeded per element.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds)).map(
            lambda xy, s: (tf.image.stateless_random_crop(xy[0], size, seed=s), xy[1]),
            num_parallel_calls=autotune,
        )
    else:
        ds = ds.map(
            lambda x, y: (tf.image.resize_with_crop_or_pad(x, image_size, image_size), y),
            num_parallel_calls=autotune,
        )
    ds = ds.batch(batch_size)
    if training and augment:
        augmentation = train_augmentation(image_size, seed=seed)

        def augment(x, y):
            x = augment_batch(tf.cast(x, "float32"), augmentation)
            # Back to the uint8 contract; crops alone stay uint8 and skip this.
            return tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8), y

        ds = ds.map(augment, num_parallel_calls=autotune)
    ds = ds.prefetch(autotune)
    ds.class_names = list(class_names) if class_names is not None else None
    ds.num_images = len(paths)
    ds.file_paths = paths
    return ds
