"""PixelNormalization: raw 0-255 pixels to the backbone's input range."""

import keras
from keras import ops

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
MODES = ("imagenet", "symmetric", "none")


@keras.saving.register_keras_serializable(package="keras_csdnet")
class PixelNormalization(keras.layers.Layer):
    """Casts raw pixels to float, makes them 3-channel, and normalises them.

    This is the first layer of every CSDNet, so models (and exported files)
    take raw pixel values in `[0, 255]`, uint8 or float.

    Args:
        mode: `"imagenet"` (`(x / 255 - mean) / std` with ImageNet statistics,
            for ResNets), `"symmetric"` (`x / 127.5 - 1`, for ViTs) or `"none"`
            (keep 0-255, for networks that rescale themselves).
        **kwargs: base `keras.layers.Layer` arguments.

    Shapes:
        Input `(B, H, W, 1)` or `(B, H, W, 3)`, any numeric dtype.
        Output `(B, H, W, 3)` in the layer's compute dtype.

    References:
        Fang et al., arXiv 2311.06056 (inputs of the backbone).

    Examples:
    ```python
    import numpy as np
    from keras_csdnet.layers import PixelNormalization
    x = np.full((1, 8, 8, 1), 255, "uint8")
    PixelNormalization("symmetric")(x)   # (1, 8, 8, 3) of ones
    ```
    """

    def __init__(self, mode="imagenet", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"Unknown normalisation `mode={mode!r}`; use one of {MODES}.")
        self.mode = mode

    def call(self, images):
        x = ops.cast(images, "float32")
        if x.shape[-1] == 1:
            x = ops.concatenate([x, x, x], axis=-1)
        if self.mode == "imagenet":
            mean = ops.convert_to_tensor([m * 255.0 for m in _MEAN], "float32")
            std = ops.convert_to_tensor([s * 255.0 for s in _STD], "float32")
            x = (x - mean) / std
        elif self.mode == "symmetric":
            x = x / 127.5 - 1.0
        return ops.cast(x, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (3,)

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode)
        return config
