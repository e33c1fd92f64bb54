"""RandomView: an ordinary augmented second view (when SSDP is off)."""

import keras
from keras import ops

from keras_csdnet.layers.crop import crop_and_resize
from keras_csdnet.layers.seed_state import SeedStateMixin
from keras_csdnet.utils import replicas


@keras.saving.register_keras_serializable(package="keras_csdnet")
class RandomView(SeedStateMixin, keras.layers.Layer):
    """A random zoomed crop with a random horizontal flip, per image.

    CSDNet uses it as the second view for DDL and SSDT when SSDP is switched
    off (the paper's "DDL alone" and "SSDT alone" ablation rows).

    Args:
        min_scale: float in `(0, 1]`, smallest crop side as a fraction of the
            image side. Default 0.6.
        flip: bool, mirror half of the crops horizontally. Default True.
        seed: int or None, seed of the layer's `keras.random.SeedGenerator`.
        **kwargs: base `keras.layers.Layer` arguments.

    Shapes:
        Input `(B, H, W, C)`; output `(B, H, W, C)` float32.

    References:
        Fang et al., arXiv 2311.06056 (second view for DDL/SSDT).

    Examples:
    ```python
    import numpy as np
    from keras_csdnet.layers import RandomView
    view = RandomView(seed=0)(np.zeros((2, 32, 32, 3), "float32"))
    ```
    """

    def __init__(self, min_scale=0.6, flip=True, seed=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.min_scale = check_min_scale("min_scale", min_scale)
        self.flip = bool(flip)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="view_seed")

    needs_pattern = False  # the model passes the images only

    def check_pattern_shape(self, pattern_shape, image_size=None):
        """A random crop does not depend on the pattern map: nothing to check."""

    def call(self, images):
        return random_crop(images, self.min_scale, self.flip, self.seed_generator)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(min_scale=self.min_scale, flip=self.flip, seed=self.seed)
        return config


def check_min_scale(name, value):
    """`value` as a float in `(0, 1]` (a crop side as a fraction), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
        raise ValueError(f"`{name}` must be in (0, 1], got {value!r}.")
    return float(value)


def random_crop(images, min_scale, flip, seed_generator):
    """A random square zoomed crop per image (side in `[min_scale, 1]`), maybe mirrored."""
    batch = ops.shape(images)[0]
    rand = replicas.uniform((batch, 4), seed_generator)
    scale = min_scale + (1.0 - min_scale) * rand[:, 0]
    y0 = rand[:, 1] * (1.0 - scale)
    x0 = rand[:, 2] * (1.0 - scale)
    boxes = ops.stack([y0, x0, y0 + scale, x0 + scale], axis=1)
    mirror = ops.cast(rand[:, 3] < 0.5, "float32") if flip else None
    return crop_and_resize(images, boxes, mirror)
