"""DiscrepancyView: the SSDP mask and the augmented image it generates."""

import keras
from keras import ops

from keras_csdnet.layers.crop import crop_and_resize

MASK_MODES = ("crop", "keep", "erase")
MASK_FILLS = ("zeros", "border")


@keras.saving.register_keras_serializable(package="keras_csdnet")
class DiscrepancyView(keras.layers.Layer):
    """Builds the augmented view `I'` from the pattern map `P` (training only).

    `P` is min-max normalised per image and thresholded at `theta`, drawn per
    image from `U(threshold_low, threshold_high)` (the paper's Eq. 1). No
    gradient flows through the mask. The view is then, by `mask_mode`:
    `"crop"` the mask's bounding box zoomed back to full size, `"keep"` `I * M`,
    or `"erase"` `I * (1 - M)`, with `M` upsampled to the image size.

    The hidden pixels of `"keep"` and `"erase"` are black (`"zeros"`, the
    paper's product) or, with `mask_fill="border"`, each image's background
    colour: the per-channel mean of its outermost rows and columns. Zeros
    remove content only where the background is black (silhouettes on
    black); on dark-on-light images (characters, scans on paper) they paint
    an ink-coloured block instead, which `"border"` avoids.

    Args:
        threshold_low: float in `[0, 1]`, lower bound of `theta`. Default 0.4.
        threshold_high: float in `[threshold_low, 1]`. Default 0.6.
        mask_mode: `"crop"` (default), `"keep"` or `"erase"`.
        mask_fill: `"zeros"` (default) or `"border"`: the value of the hidden
            pixels in `"keep"` and `"erase"` modes (ignored by `"crop"`).
        seed: int or None, seed of the layer's `keras.random.SeedGenerator`.
        **kwargs: base `keras.layers.Layer` arguments.

    Shapes:
        Inputs: `images (B, H, W, C)` raw pixels, `pattern (B, h, w, 1)`.
        Output: `(B, H, W, C)` float32 view, same pixel range as `images`.

    References:
        Fang et al., arXiv 2311.06056 (SSDP, Eq. 1).

    Examples:
    ```python
    import numpy as np
    from keras_csdnet.layers import DiscrepancyView
    images = np.random.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    pattern = np.random.normal(size=(2, 4, 4, 1)).astype("float32")
    view = DiscrepancyView(mask_mode="crop", seed=0)(images, pattern)
    ```
    """

    def __init__(
        self,
        threshold_low=0.4,
        threshold_high=0.6,
        mask_mode="crop",
        seed=None,
        mask_fill="zeros",
        **kwargs,
    ):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        check_view_args(threshold_low, threshold_high, mask_mode, mask_fill)
        self.threshold_low = float(threshold_low)
        self.threshold_high = float(threshold_high)
        self.mask_mode = mask_mode
        self.mask_fill = mask_fill
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="view_seed")

    def normalized_pattern(self, pattern):
        """Per-image min-max normalisation of `pattern` to `[0, 1]`."""
        pattern = ops.stop_gradient(ops.cast(pattern, "float32"))
        low = ops.min(pattern, axis=(1, 2, 3), keepdims=True)
        high = ops.max(pattern, axis=(1, 2, 3), keepdims=True)
        return (pattern - low) / ops.maximum(high - low, 1e-12)

    def masks(self, pattern):
        """Returns `(normalised P, theta (B, 1, 1, 1), binary mask (B, h, w, 1))`."""
        norm = self.normalized_pattern(pattern)
        theta = keras.random.uniform(
            (ops.shape(norm)[0], 1, 1, 1),
            minval=self.threshold_low,
            maxval=self.threshold_high,
            seed=self.seed_generator,
        )
        return norm, theta, ops.cast(ops.greater_equal(norm, theta), "float32")

    def call(self, images, pattern):
        images = ops.cast(images, "float32")
        norm, theta, mask = self.masks(pattern)
        if self.mask_mode == "crop":
            return crop_and_resize(images, mask_boxes(mask))
        full = ops.image.resize(
            norm, (images.shape[1], images.shape[2]), interpolation="bilinear"
        )
        full = ops.cast(ops.greater_equal(full, theta), "float32")
        hidden = full if self.mask_mode == "erase" else 1.0 - full
        view = images * (1.0 - hidden)
        if self.mask_fill == "border":
            view = view + border_mean(images) * hidden
        return view

    def compute_output_shape(self, images_shape, pattern_shape=None):
        return tuple(images_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            threshold_low=self.threshold_low,
            threshold_high=self.threshold_high,
            mask_mode=self.mask_mode,
            seed=self.seed,
            mask_fill=self.mask_fill,
        )
        return config


def border_mean(images):
    """Per-image, per-channel mean `(B, 1, 1, C)` of the outermost pixels.

    The first and last rows and the first and last columns (corners once):
    the background colour of an image whose object does not fill the frame.
    """
    rows = ops.concatenate([images[:, :1], images[:, -1:]], axis=1)  # (B, 2, W, C)
    cols = ops.concatenate([images[:, 1:-1, :1], images[:, 1:-1, -1:]], axis=2)
    total = ops.sum(rows, axis=(1, 2), keepdims=True)
    total = total + ops.sum(cols, axis=(1, 2), keepdims=True)
    count = 2 * images.shape[2] + 2 * max(images.shape[1] - 2, 0)
    return total / float(count)


def check_view_args(threshold_low, threshold_high, mask_mode, mask_fill):
    """Raises a ValueError naming the bad argument of a `DiscrepancyView`."""
    check_thresholds(threshold_low, threshold_high)
    if mask_mode not in MASK_MODES:
        raise ValueError(f"Unknown `mask_mode={mask_mode!r}`; use one of {MASK_MODES}.")
    if mask_fill not in MASK_FILLS:
        raise ValueError(f"Unknown `mask_fill={mask_fill!r}`; use one of {MASK_FILLS}.")


def check_thresholds(threshold_low, threshold_high):
    for arg, value in (("threshold_low", threshold_low), ("threshold_high", threshold_high)):
        if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"`{arg}` must be a number in [0, 1], got {value!r}.")
    if threshold_low > threshold_high:
        raise ValueError(
            f"`threshold_low={threshold_low}` is above `threshold_high={threshold_high}`;"
            " pass threshold_low <= threshold_high."
        )


def mask_boxes(mask):
    """Bounding boxes `(B, 4)` `(y0, x0, y1, x1)` in `[0, 1]` of binary masks.

    A mask cell `(i, j)` of an `h x w` grid covers `[i / h, (i + 1) / h]`. An
    empty mask gives the full image box.
    """
    mask = ops.cast(mask[..., 0] if len(mask.shape) == 4 else mask, "float32")
    h, w = mask.shape[1], mask.shape[2]
    rows = ops.max(mask, axis=2)  # (B, h)
    cols = ops.max(mask, axis=1)  # (B, w)
    y0 = ops.cast(ops.argmax(rows, axis=1), "float32")
    y1 = h - ops.cast(ops.argmax(ops.flip(rows, axis=1), axis=1), "float32")
    x0 = ops.cast(ops.argmax(cols, axis=1), "float32")
    x1 = w - ops.cast(ops.argmax(ops.flip(cols, axis=1), axis=1), "float32")
    boxes = ops.stack([y0 / h, x0 / w, y1 / h, x1 / w], axis=1)
    empty = ops.equal(ops.max(rows, axis=1, keepdims=True), 0.0)
    full = ops.convert_to_tensor([0.0, 0.0, 1.0, 1.0], "float32")
    return ops.where(empty, full, boxes)
