"""SSDP: content-aware kernel, pattern map and feature enhancement."""

import keras
from keras import ops


def replicate_pad(x, pad):
    """Pads `(B, h, w, C)` by repeating the border `pad` times (any h, w >= 1)."""
    if pad == 0:
        return x
    x = ops.concatenate([x[:, :1]] * pad + [x] + [x[:, -1:]] * pad, axis=1)
    return ops.concatenate([x[:, :, :1]] * pad + [x] + [x[:, :, -1:]] * pad, axis=2)


@keras.saving.register_keras_serializable(package="keras_csdnet")
class SSDP(keras.layers.Layer):
    """Subcategory-Specific Discrepancy Parsing: pattern map and enhancement.

    A CARAFE-style content-aware kernel is predicted at every location of the
    backbone feature map `X` (`Conv1x1(C -> kernel_channels)`, then
    `Conv(encoder_kernel_size, kernel_channels -> kernel_size**2)`, then a
    softmax over the `kernel_size**2` axis). The channel mean of `X` is
    reassembled with these kernels into the pattern map `P`, and `X` is
    enhanced as `X * (1 + sigmoid(P))`. The layer is part of the inference
    graph; the mask built from `P` (see `DiscrepancyView`) is training-only.

    The border is padded by replication, not zeros, so `P` is a convex
    combination of real channel means. With zero padding the kernels can put
    all their weight on the padding, `P` collapses to 0 and the mask (hence
    SSDP's augmented view) switches off: this was seen in training on small
    feature maps (2 x 2 at 64 px with a ResNet).

    Args:
        kernel_size: int, odd, side `k` of the reassembly kernel. Default 5.
        encoder_kernel_size: int, odd, side of the kernel-predicting conv.
            Default 3.
        kernel_channels: int, channels of the 1x1 compression. Default 64.
        **kwargs: base `keras.layers.Layer` arguments.

    Shapes:
        Input `X`: `(B, h, w, C)`.
        Output: `(X_enhanced (B, h, w, C), P (B, h, w, 1))`.

    References:
        Fang et al., arXiv 2311.06056 (SSDP); Wang et al., "CARAFE:
        Content-Aware ReAssembly of FEatures", ICCV 2019.

    Examples:
    ```python
    import numpy as np
    from keras_csdnet.layers import SSDP
    enhanced, pattern = SSDP(kernel_size=3)(np.ones((2, 4, 4, 8), "float32"))
    ```
    """

    def __init__(self, kernel_size=5, encoder_kernel_size=3, kernel_channels=64, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (
            ("kernel_size", kernel_size),
            ("encoder_kernel_size", encoder_kernel_size),
        ):
            if not isinstance(value, int) or value < 1 or value % 2 == 0:
                raise ValueError(f"`{arg}` must be an odd int >= 1, got {value!r}.")
        if not isinstance(kernel_channels, int) or kernel_channels < 1:
            raise ValueError(
                f"`kernel_channels` must be an int >= 1, got {kernel_channels!r}."
            )
        self.kernel_size = kernel_size
        self.encoder_kernel_size = encoder_kernel_size
        self.kernel_channels = kernel_channels
        self.compress = keras.layers.Conv2D(
            kernel_channels, 1, dtype=self.dtype_policy, name="compress"
        )
        self.encoder = keras.layers.Conv2D(
            kernel_size * kernel_size,
            encoder_kernel_size,
            padding="same",
            dtype=self.dtype_policy,
            name="kernel_encoder",
        )

    def build(self, input_shape):
        self.compress.build(input_shape)
        self.encoder.build(tuple(input_shape[:-1]) + (self.kernel_channels,))
        self.built = True

    def pattern_map(self, features):
        """Returns `(P (B, h, w, 1), kernels (B, h, w, k*k))` for `features`."""
        k = self.kernel_size
        kernels = ops.softmax(self.encoder(self.compress(features)), axis=-1)
        mean_map = ops.mean(features, axis=-1, keepdims=True)
        h, w = features.shape[1], features.shape[2]
        padded = replicate_pad(mean_map, k // 2)
        patches = ops.concatenate(
            [padded[:, i : i + h, j : j + w, :] for i in range(k) for j in range(k)],
            axis=-1,
        )
        pattern = ops.sum(kernels * patches, axis=-1, keepdims=True)
        return pattern, kernels

    def call(self, features):
        pattern, _ = self.pattern_map(features)
        enhanced = features * (1.0 + ops.sigmoid(pattern))
        return enhanced, pattern

    def compute_output_shape(self, input_shape):
        return tuple(input_shape), tuple(input_shape[:-1]) + (1,)

    def get_config(self):
        config = super().get_config()
        config.update(
            kernel_size=self.kernel_size,
            encoder_kernel_size=self.encoder_kernel_size,
            kernel_channels=self.kernel_channels,
        )
        return config
