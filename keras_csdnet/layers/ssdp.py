"""SSDP: content-aware kernel, pattern map and feature enhancement."""

import functools

import keras
import numpy as np
from keras import ops

from keras_csdnet.utils.checks import check_int


@functools.lru_cache(maxsize=32)
def neighbour_index(height, width, kernel_size):
    """Flat indices of every location's `k x k` neighbours, border replicated.

    Returns an int32 array of shape `(height * width * k * k,)`: entry
    `((y * width + x) * k + i) * k + j` is the flat index of the pixel at
    `(clip(y + i - k // 2), clip(x + j - k // 2))`, so one gather of a
    `(B, height * width)` map gives its replicate-padded `k x k` patches.
    """
    pad = kernel_size // 2
    offsets = np.arange(-pad, pad + 1)
    ys = np.clip(np.arange(height)[:, None] + offsets, 0, height - 1)  # (h, k)
    xs = np.clip(np.arange(width)[:, None] + offsets, 0, width - 1)  # (w, k)
    index = ys[:, None, :, None] * width + xs[None, :, None, :]  # (h, w, k, k)
    index = index.reshape(-1).astype("int32")
    index.flags.writeable = False  # cached: one array per map size, shared by every call
    return index


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

    With `pattern_stride` (e.g. 16), `P` is computed on a finer map of the
    same backbone pass, the one at that stride (`pattern_features`, which the
    model taps from the backbone: keras-hub's `pyramid_outputs`, else the
    last layer of that size), while the classifier keeps the last stage: `X`
    is enhanced with `P` averaged down to its size. A ResNet at 128 px gives a
    4 x 4 last map but an 8 x 8 pattern map at stride 16, so the mask has
    cells small enough to hide a detail rather than a quarter of the image.

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
        pattern_stride: None (default: the backbone's last feature map) or a
            power of two, the backbone stride of the map that `P` is computed
            on (16 or 8 for a ResNet, whose last map is at 32). It must be
            finer than or equal to the backbone's last stride.
        **kwargs: base `keras.layers.Layer` arguments.

    Shapes:
        Input `X`: `(B, h, w, C)`, and optionally `pattern_features`
        `(B, h', w', C')`, the finer map (`h' >= h`).
        Output: `(X_enhanced (B, h, w, C), P (B, h', w', 1))` (`h' = h`
        without `pattern_features`).

    References:
        Fang et al., arXiv 2311.06056 (SSDP); Wang et al., "CARAFE:
        Content-Aware ReAssembly of FEatures", ICCV 2019.

    Examples:
    ```python
    import numpy as np
    from keras_csdnet.layers import SSDP
    enhanced, pattern = SSDP(kernel_size=3)(np.ones((2, 4, 4, 8), "float32"))
    # A pattern map on a finer (8 x 8) map, enhancing the 4 x 4 one:
    enhanced, pattern = SSDP(kernel_size=3, pattern_stride=16)(
        np.ones((2, 4, 4, 8), "float32"), np.ones((2, 8, 8, 4), "float32"))
    ```
    """

    def __init__(
        self,
        kernel_size=5,
        encoder_kernel_size=3,
        kernel_channels=64,
        pattern_stride=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.pattern_stride = check_stride("pattern_stride", pattern_stride)
        self.kernel_size = check_int("kernel_size", kernel_size, odd=True)
        self.encoder_kernel_size = check_int("encoder_kernel_size", encoder_kernel_size, odd=True)
        self.kernel_channels = check_int("kernel_channels", kernel_channels)
        kernel_size, kernel_channels = self.kernel_size, self.kernel_channels
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

    def build(self, features_shape, pattern_features_shape=None):
        # The kernels are predicted on the map that P is computed on.
        shape = tuple(pattern_features_shape or features_shape)
        self.compress.build(shape)
        self.encoder.build(shape[:-1] + (self.kernel_channels,))
        self.built = True

    def pattern_map(self, features):
        """Returns `(P (B, h, w, 1), kernels (B, h, w, k*k))` for `features`."""
        k = self.kernel_size
        kernels = ops.softmax(self.encoder(self.compress(features)), axis=-1)
        h, w = features.shape[1], features.shape[2]
        if h is None or w is None:
            raise ValueError(
                f"SSDP needs a static feature-map size, got {tuple(features.shape)}: "
                "build the model with a fixed `image_size`."
            )
        # One gather of the channel-mean map gives each location's k x k
        # neighbourhood (border replicated); the same values as replicate
        # padding and k*k slices, in three ops instead of ~k*k + 4k (about
        # 0.1 ms less per batch-1 call on TF and JAX: benchmarks/ssdp_latency.py).
        mean_map = ops.reshape(ops.mean(features, axis=-1), (-1, h * w))
        patches = ops.take(mean_map, neighbour_index(h, w, k), axis=1)
        patches = ops.reshape(patches, (-1, h, w, k * k))
        pattern = ops.sum(kernels * patches, axis=-1, keepdims=True)
        return pattern, kernels

    def call(self, features, pattern_features=None):
        if pattern_features is None:
            pattern, _ = self.pattern_map(features)
            return features * (1.0 + ops.sigmoid(pattern)), pattern
        pattern, _ = self.pattern_map(pattern_features)
        coarse = pool_to(pattern, features.shape[1], features.shape[2])
        return features * (1.0 + ops.sigmoid(ops.cast(coarse, features.dtype))), pattern

    def compute_output_shape(self, features_shape, pattern_features_shape=None):
        source = pattern_features_shape or features_shape
        return tuple(features_shape), tuple(source[:-1]) + (1,)

    def get_config(self):
        config = super().get_config()
        config.update(
            kernel_size=self.kernel_size,
            encoder_kernel_size=self.encoder_kernel_size,
            kernel_channels=self.kernel_channels,
            pattern_stride=self.pattern_stride,
        )
        return config


def pool_to(pattern, height, width):
    """`pattern (B, h', w', 1)` averaged down to `(B, height, width, 1)`.

    An exact block mean when `h'` and `w'` are multiples of the target size
    (a stride-16 map onto a stride-32 one at image sizes divisible by 32),
    else a bilinear resize.
    """
    h, w = pattern.shape[1], pattern.shape[2]
    if (h, w) == (height, width):
        return pattern
    if h % height == 0 and w % width == 0:
        fy, fx = h // height, w // width
        blocks = ops.reshape(pattern, (-1, height, fy, width, fx, 1))
        return ops.mean(blocks, axis=(2, 4))
    return ops.image.resize(pattern, (height, width), interpolation="bilinear")


def check_stride(name, value):
    """None, or `value` as an int power of two (a backbone stride); else a ValueError."""
    if value is None:
        return None
    stride = check_int(name, value)
    if stride & (stride - 1):
        raise ValueError(
            f"`{name}={stride}` is not a power of two; a backbone stride is 8, 16 or 32 "
            "(or None: the backbone's last feature map)."
        )
    return stride
