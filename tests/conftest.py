"""Shared helpers: tiny configurations so the suite runs fast on 2 CPU cores."""

import keras
import numpy as np
import pytest

IMAGE_SIZE = 32
NUM_CLASSES = 3


def tiny_backbone(image_size=IMAGE_SIZE, channels=16):
    """A 2-conv backbone: `(B, S, S, 3)` -> `(B, S/4, S/4, channels)`."""
    inputs = keras.Input((image_size, image_size, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(channels, 3, strides=2, padding="same")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    return keras.Model(inputs, x, name="tiny_backbone")


def tiny_model(**kwargs):
    import keras_csdnet

    config = dict(
        backbone=tiny_backbone(),
        num_classes=NUM_CLASSES,
        image_size=IMAGE_SIZE,
        queue_size=16,
        embedding_dim=8,
        kernel_channels=8,
        seed=0,
    )
    config.update(kwargs)
    return keras_csdnet.CSDNet(**config)


def tiny_arrays(n=8, seed=0, channels=3, dtype="uint8"):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, IMAGE_SIZE, IMAGE_SIZE, channels)).astype(dtype)
    y = (np.arange(n) % NUM_CLASSES).astype("int32")
    return x, y


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.fixture(autouse=True)
def _float32_policy():
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")
