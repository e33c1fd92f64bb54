"""DiscrepancyView: the SSDP mask and the augmented image it generates."""

from collections.abc import Callable
from typing import NamedTuple

import keras
from keras import ops

from keras_csdnet.layers.crop import crop_and_resize
from keras_csdnet.layers.random_view import check_min_scale
from keras_csdnet.layers.random_view import random_crop
from keras_csdnet.layers.seed_state import SeedStateMixin
from keras_csdnet.utils import replicas
from keras_csdnet.utils.checks import check_int
from keras_csdnet.utils.registry import Registry
from keras_csdnet.utils.warnings import warn_user

MASK_FILLS = ("zeros", "border")
DEFAULT_CROP_SCALE = 0.6  # `random_crop=True`, and the warm-up crop without `random_crop`


class MaskMode(NamedTuple):
    """One registered way of turning the discrepancy mask into a view.

    Fields:
        make_view: `make_view(layer, images, norm, theta, mask) -> view`, with
            raw `images (B, H, W, C)`, the min-max normalised pattern `norm`
            and binary `mask` `(B, h, w, 1)`, thresholds `theta (B, 1, 1, 1)`.
        single_cell_view: what the view becomes when the pattern map has a
            single cell (min-max normalisation gives 0 everywhere, so no cell
            reaches the threshold), for the warning.
    """

    make_view: Callable
    single_cell_view: str


MASK_MODES = Registry("mask mode", "mask_mode")


def register_mask_mode(name, make_view, single_cell_view):
    """Registers `DiscrepancyView(mask_mode=name)`; see `MaskMode`."""
    MASK_MODES.register(name, MaskMode(make_view, single_cell_view))


@keras.saving.register_keras_serializable(package="keras_csdnet")
class DiscrepancyView(SeedStateMixin, keras.layers.Layer):
    """Builds the augmented view `I'` from the pattern map `P` (training only).

    `P` is min-max normalised per image and thresholded at `theta`, drawn per
    image from `U(threshold_low, threshold_high)` (the paper's Eq. 1). No
    gradient flows through the mask. The view is then, by `mask_mode`:
    `"crop"` the mask's bounding box zoomed back to full size, `"keep"` `I * M`,
    or `"erase"` `I * (1 - M)`, with `M` upsampled to the image size.

    Two options change how the mask is used. `random_crop` applies it on top
    of a random zoomed crop: the masked image is then cropped (side drawn in
    `[random_crop, 1]`) and mirrored half of the time, as `RandomView` does,
    so the second view is both an ordinary augmentation and a hidden
    discrepancy. `warmup_epochs` trains the first epochs on the random crop
    alone, before the pattern map drives the mask: from random
    initialisation the map is noise at first. `CSDNet.fit` tells the layer
    the epoch (`keras_csdnet.callbacks.EpochTracker`); a custom loop calls
    `set_epoch(epoch)` itself.

    The hidden pixels of `"keep"` and `"erase"` are black (`"zeros"`, the
    paper's product) or, with `mask_fill="border"`, each image's background
    colour: the per-channel mean of its outermost rows and columns. Zeros
    remove content only where the background is black (silhouettes on
    black); on dark-on-light images (characters, scans on paper) they paint
    an ink-coloured block instead, which `"border"` avoids.

    Args:
        threshold_low: float in `[0, 1]`, lower bound of `theta`. Default 0.4.
        threshold_high: float in `[threshold_low, 1]`. Default 0.6.
        mask_mode: a name in `MASK_MODES`: `"erase"` (default, `I * (1 - M)`:
            hide the most discriminative region so the network must use the
            others; it won the validation sweep on the 38 oaks,
            docs/accuracy_study.md), `"crop"` (the paper's zoom on the mask's
            bounding box) or `"keep"` (`I * M`).
        mask_fill: `"zeros"` (default) or `"border"`: the value of the hidden
            pixels in `"keep"` and `"erase"` modes (ignored by `"crop"`).
        seed: int or None, seed of the layer's `keras.random.SeedGenerator`.
        random_crop: None (default, off), True (= 0.6) or a float in `(0, 1]`:
            the smallest side of a random zoomed crop (with a random
            horizontal flip) taken of the masked image.
        warmup_epochs: int >= 0, epochs at the start of training whose view
            is the random crop alone (side in `[random_crop or 0.6, 1]`,
            flipped half of the time), not masked. Default 0.
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
    # The erased image, randomly cropped; the first 5 epochs crop only:
    layer = DiscrepancyView(random_crop=0.6, warmup_epochs=5, seed=0)
    view = layer(images, pattern)   # epoch 0: a random crop of `images`
    ```
    """

    def __init__(
        self,
        threshold_low=0.4,
        threshold_high=0.6,
        mask_mode="erase",
        seed=None,
        mask_fill="zeros",
        random_crop=None,
        warmup_epochs=0,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        check_view_args(threshold_low, threshold_high, mask_mode, mask_fill)
        self.threshold_low = float(threshold_low)
        self.threshold_high = float(threshold_high)
        self.mask_mode = mask_mode
        self.mask_fill = mask_fill
        if random_crop is True:
            random_crop = DEFAULT_CROP_SCALE
        elif random_crop is False:
            random_crop = None
        if random_crop is not None:
            random_crop = check_min_scale("random_crop", random_crop)
        self.random_crop = random_crop
        self.warmup_epochs = check_int("warmup_epochs", warmup_epochs, low=0)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="view_seed")
        if self.warmup_epochs:
            # Only then: the files of models without a warm-up keep their variables.
            self.epoch = self.add_weight(
                shape=(), initializer="zeros", trainable=False, dtype="float32", name="epoch"
            )

    def set_epoch(self, epoch):
        """Tells the layer the (0-based) training epoch about to start (warm-up)."""
        if self.warmup_epochs:
            self.epoch.assign(float(epoch))

    def normalized_pattern(self, pattern):
        """Per-image min-max normalisation of `pattern` to `[0, 1]`."""
        pattern = ops.stop_gradient(ops.cast(pattern, "float32"))
        low = ops.min(pattern, axis=(1, 2, 3), keepdims=True)
        high = ops.max(pattern, axis=(1, 2, 3), keepdims=True)
        return (pattern - low) / ops.maximum(high - low, 1e-12)

    def masks(self, pattern):
        """Returns `(normalised P, theta (B, 1, 1, 1), binary mask (B, h, w, 1))`."""
        norm = self.normalized_pattern(pattern)
        theta = replicas.uniform(
            (ops.shape(norm)[0], 1, 1, 1),
            self.seed_generator,
            minval=self.threshold_low,
            maxval=self.threshold_high,
        )
        return norm, theta, ops.cast(ops.greater_equal(norm, theta), "float32")

    needs_pattern = True  # the model passes SSDP's pattern map to `call`

    def call(self, images, pattern):
        images = ops.cast(images, "float32")
        norm, theta, mask = self.masks(pattern)
        view = MASK_MODES.get(self.mask_mode).make_view(self, images, norm, theta, mask)
        scale = self.random_crop or DEFAULT_CROP_SCALE
        if self.random_crop is not None:
            view = random_crop(view, scale, True, self.seed_generator)
        if self.warmup_epochs:
            warm = random_crop(images, scale, True, self.seed_generator)
            view = ops.where(ops.less(self.epoch, float(self.warmup_epochs)), warm, view)
        return view

    def fill(self, images, view, hidden):
        """`view` with the `hidden` (1) pixels set to the `mask_fill` value."""
        if self.mask_fill == "border":
            return view + border_mean(images) * hidden
        return view

    def check_pattern_shape(self, pattern_shape, image_size=None):
        """Warns when a `pattern_shape` `(B, h, w, ...)` map makes this view degenerate.

        Min-max normalising a `1 x 1` map gives 0 everywhere, so no cell
        reaches the threshold. Training still runs, but the second view
        carries no discrepancy (e.g. ResNet at `image_size=32`).
        """
        height, width = pattern_shape[1], pattern_shape[2]
        if height is None or width is None or height * width > 1:
            return
        at = f" at `image_size={image_size}`" if image_size else ""
        larger = f" (at least {2 * image_size} here, for a 2 x 2 map" if image_size else " ("
        warn_user(
            f"SSDP's pattern map is {height} x {width}{at} with this backbone, so its "
            f"discrepancy view (`mask_mode={self.mask_mode!r}`) is "
            f"{MASK_MODES.get(self.mask_mode).single_cell_view}. Use a larger "
            f"`image_size`{larger}; the paper's 448 px gives ResNet 14 x 14) or a random-crop "
            'view (`view="random"`, or `ssdp=False`).'
        )

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
            random_crop=self.random_crop,
            warmup_epochs=self.warmup_epochs,
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
    MASK_MODES.get(mask_mode)
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


def _full_mask(images, norm, theta):
    """The mask at image resolution: the pattern upsampled, then thresholded."""
    full = ops.image.resize(norm, (images.shape[1], images.shape[2]), interpolation="bilinear")
    return ops.cast(ops.greater_equal(full, theta), "float32")


def _crop(layer, images, norm, theta, mask):
    return crop_and_resize(images, mask_boxes(mask))


def _erase(layer, images, norm, theta, mask):
    hidden = _full_mask(images, norm, theta)
    return layer.fill(images, images * (1.0 - hidden), hidden)


def _keep(layer, images, norm, theta, mask):
    kept = _full_mask(images, norm, theta)
    return layer.fill(images, images * kept, 1.0 - kept)


_UNCHANGED = "the input image unchanged: DDL and SSDT would compare an image with itself"
register_mask_mode("crop", _crop, _UNCHANGED)
register_mask_mode("keep", _keep, "blank: DDL and SSDT would learn from an empty image")
register_mask_mode("erase", _erase, _UNCHANGED)
