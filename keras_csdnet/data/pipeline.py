"""tf.data pipelines: parallel decode, cache, Keras augmentation layers, prefetch.

Train: resize (shorter side to `image_size * 512 / 448`), random crop to
`image_size`, then Keras layers on the batch: horizontal flip, rotation and a
mild colour jitter centred on the original colours (`train_augmentation`).
Eval: the same resize, then a centre crop (`load_image` does the same for one
file, without TensorFlow). Outputs are `(uint8 image, int32 label)` batches
for every Keras backend (the layers run as TensorFlow ops inside tf.data).
"""

import numpy as np

from keras_csdnet.data.images import load_image
from keras_csdnet.data.images import read_image

RESIZE_MODES = ("shorter_side", "square")
DEFAULT_CACHE_BYTES = 4 * 2**30


def resize_size(image_size):
    """The pre-crop size of the usual UFG recipe: 448 -> 512."""
    return int(round(image_size * 512 / 448))


def saturation_range(jitter):
    """Keras' `RandomSaturation` factor bounds for a saturation scale in `[1 - j, 1 + j]`.

    Keras' saturation factor `f` multiplies the saturation by `f / (1 - f)`:
    `0.5` is the identity and a single number `f` means the range `(0, f)`,
    which desaturates every image (`0.1` turns them nearly grey). This
    returns the bounds that scale the saturation by `1 - jitter` to
    `1 + jitter` around the identity.
    """
    return ((1.0 - jitter) / (2.0 - jitter), (1.0 + jitter) / (2.0 + jitter))


def train_augmentation(image_size, seed=0, rotation_degrees=10.0, color_jitter=0.1):
    """Batch-level Keras augmentation layers (after the random crop).

    Every factor is given in the form its Keras layer documents, so that each
    one is centred on "no change": `RandomFlip("horizontal")`,
    `RandomRotation(rotation_degrees / 360)` (a fraction of a full turn, either
    way), and `RandomColorJitter` with brightness shifted by up to
    `color_jitter` of the `[0, 255]` range either way, contrast scaled by a
    factor in `[1 - color_jitter, 1 + color_jitter]` and saturation scaled by
    a factor in the same range (`saturation_range`). A grey image stays grey.

    Args:
        image_size: int, crop size.
        seed: int, seed of every layer.
        rotation_degrees: float in `[0, 180]`, maximum rotation either way.
        color_jitter: float in `[0, 1)`, strength of the brightness, contrast
            and saturation jitter; 0 turns it off.

    Returns:
        A list of Keras preprocessing layers, to apply in order to float
        images in `[0, 255]` (see `augment_batch`). They are applied one by
        one, not as a `keras.Sequential`, because each layer switches itself
        to TensorFlow inside tf.data whatever the backend, and a Sequential
        would not.
    """
    import keras

    if not 0.0 <= rotation_degrees <= 180.0:
        raise ValueError(
            f"`rotation_degrees={rotation_degrees}` must be in [0, 180] (degrees either way)."
        )
    if not 0.0 <= color_jitter < 1.0:
        raise ValueError(
            f"`color_jitter={color_jitter}` must be in [0, 1): brightness, contrast and "
            "saturation change by at most this fraction; 0 turns the jitter off."
        )
    layers = [keras.layers.RandomFlip("horizontal", seed=seed)]
    if rotation_degrees:
        layers.append(
            keras.layers.RandomRotation(rotation_degrees / 360.0, fill_mode="reflect", seed=seed)
        )
    if color_jitter:
        layers.append(
            keras.layers.RandomColorJitter(
                value_range=(0, 255),
                brightness_factor=(-color_jitter, color_jitter),
                contrast_factor=(color_jitter, color_jitter),
                saturation_factor=saturation_range(color_jitter),
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
    import tensorflow as tf

    if resize not in RESIZE_MODES:
        raise ValueError(f"Unknown `resize={resize!r}`; use one of {RESIZE_MODES}.")
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
            num_parallel_calls=autotune, deterministic=True)
        estimated = len(paths) * short * short * (1 if square else 1.5) * 3
    else:
        # Exactly `load_image`: the same pixels as a single file prepared for
        # `predict` or an exported model.
        ds = ds.map(lambda p, y: decode(p, y, lambda f: load_image(f, image_size, resize), size),
                    num_parallel_calls=autotune, deterministic=True)
        estimated = len(paths) * image_size * image_size * 3
    if cache is True or (cache == "auto" and estimated <= DEFAULT_CACHE_BYTES):
        ds = ds.cache()
    if training:
        ds = ds.shuffle(max(len(paths), 1), seed=seed, reshuffle_each_iteration=True)
        # Images differ in size before the crop, which Keras' RandomCrop does
        # not take inside tf.data: a stateless TF crop, seeded per element.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds)).map(
            lambda xy, s: (tf.image.stateless_random_crop(xy[0], size, seed=s), xy[1]),
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
