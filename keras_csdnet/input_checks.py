"""Checks of what users feed `CSDNet.fit`, `evaluate` and `predict`.

Images must be raw pixels in `[0, 255]` (the model normalises them itself),
finite; labels integer class ids `(B,)` in `[0, num_classes)`. Arrays are
checked on the host before Keras sees them; a `tf.data.Dataset` gets a
check of every batch inside the pipeline (it runs in tf.data whatever the
backend), and errors it raises come back as `ValueError`s through
`dataset_errors_as_value_errors`. Other inputs (Python generators,
`keras.utils.PyDataset`) are not checked here; a NaN that reaches the loss
still stops training (`keras_csdnet.callbacks.NonFiniteLossGuard`).
"""

import sys

import numpy as np

_MARK = "keras_csdnet input check: "
_BAD_LABELS = _MARK + "labels outside [0, num_classes)"
_NON_FINITE = _MARK + "non-finite pixels"
_UNIT_RANGE = _MARK + "pixels in [0, 1]"
_OUT_OF_RANGE = _MARK + "pixels outside [0, 255]"

UNIT_RANGE_FIX = (
    "CSDNet expects raw pixels in [0, 255] and normalises them itself; these look like "
    "[0, 1] floats, which it would see as an almost black image. Multiply by 255 "
    "(e.g. `x * 255.0`) or pass the uint8 images."
)
OUT_OF_RANGE_FIX = (
    "CSDNet expects raw pixels in [0, 255] (uint8 or float) and normalises them itself. "
    "Pass the images before any normalisation (no mean/std or [-1, 1] scaling), "
    "and 16-bit images scaled to 8 bits."
)
NON_FINITE_FIX = (
    "Replace or drop those images (`numpy.isfinite(x).all(axis=(1, 2, 3))` finds them): "
    "one NaN pixel makes every weight NaN after the first step."
)
# A little slack for users' own float augmentation that does not clip; a
# batch within [-1, 1] with negative values is refused too (symmetric scaling).
_LOW, _HIGH = -1.0, 256.0


def _range_problems(low, high):
    """`(looks like [0, 1], outside [0, 255])` for a batch's pixel range.

    Written with `&` and `|` so that the one rule serves Python floats (arrays)
    and TensorFlow scalars (datasets) alike.
    """
    unit_range = (high > 0.0) & (high <= 1.0) & (low >= 0.0)
    out_of_range = (low < _LOW) | (high > _HIGH) | ((low < 0.0) & (high <= 1.0))
    return unit_range, out_of_range


def check_images(images, what="x"):
    """Raises a `ValueError` for non-finite, `[0, 1]` or out-of-range pixels.

    Args:
        images: array-like `(B, H, W, C)` of raw pixels.
        what: the argument's name, for the message.
    """
    array = np.asarray(images)
    if array.size == 0 or not np.issubdtype(array.dtype, np.floating):
        return
    finite = np.isfinite(array)
    if not finite.all():
        per_image = (~finite).reshape(len(array), -1).sum(axis=1) if array.ndim > 1 else ~finite
        first = int(np.flatnonzero(per_image)[0])
        raise ValueError(
            f"`{what}` has {int((~finite).sum())} non-finite pixel value(s) (NaN or inf), "
            f"in {int(np.count_nonzero(per_image))} image(s), the first at index {first}. "
            + NON_FINITE_FIX
        )
    low, high = float(array.min()), float(array.max())
    unit_range, out_of_range = _range_problems(low, high)
    if unit_range:
        raise ValueError(f"`{what}` pixels are in [{low:.3g}, {high:.3g}]. " + UNIT_RANGE_FIX)
    if out_of_range:
        raise ValueError(
            f"`{what}` pixels are in [{low:.4g}, {high:.4g}], outside [0, 255]. "
            + OUT_OF_RANGE_FIX
        )


def check_labels(labels, num_classes, what="y"):
    """Raises a `ValueError` unless `labels` are integer ids in `[0, num_classes)`."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return
    _check_label_shape(labels.shape, num_classes, what)
    kind = labels.dtype
    if not np.issubdtype(kind, np.number) or np.issubdtype(kind, np.complexfloating):
        raise ValueError(f"`{what}` must hold integer class ids, got dtype {labels.dtype}.")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.isfinite(labels).all():
            raise ValueError(f"`{what}` has NaN or infinite labels; labels are class ids.")
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise ValueError(
                f"`{what}` must hold integer class ids, got non-integer values. "
                "Pass ints in [0, num_classes) (not one-hot, not probabilities)."
            )
    low, high = labels.min(), labels.max()
    if low < 0 or high >= num_classes:
        raise ValueError(
            f"Labels must be in [0, num_classes={num_classes}), got values in "
            f"[{int(low)}, {int(high)}]. Map your classes to 0..{num_classes - 1}"
            " or build the model with a larger `num_classes`."
        )


def _check_label_shape(shape, num_classes, what):
    shape = tuple(shape)
    if len(shape) <= 1 or (len(shape) == 2 and shape[1] in (1, None)):
        return
    if len(shape) == 2:
        raise ValueError(
            f"`{what}` has shape {shape}: labels look one-hot (batch, classes), but CSDNet "
            f"takes integer class ids of shape (batch,). Convert them with "
            "`numpy.argmax(y, axis=-1)` (or `keras.ops.argmax`)."
        )
    raise ValueError(
        f"`{what}` has shape {shape}; CSDNet takes integer class ids of shape (batch,)."
    )


def is_tf_dataset(x):
    """True for a `tf.data.Dataset`; never imports TensorFlow itself.

    A dataset exists only once TensorFlow is imported, so under JAX or
    PyTorch with NumPy inputs this costs no TensorFlow import.
    """
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(x, tf.data.Dataset)


def checked_dataset(dataset, num_classes, what="x"):
    """Adds per-batch image and label checks to a dataset of `(images, labels, ...)`.

    Label shapes are checked at once from the element spec; pixel values and
    label ranges per batch inside tf.data, which fails the batch with a
    marked error that `dataset_errors_as_value_errors` turns into a
    `ValueError` before the model sees it.
    """
    import tensorflow as tf

    spec = dataset.element_spec
    if isinstance(spec, tuple) and len(spec) >= 2 and hasattr(spec[1], "shape"):
        _check_label_shape(spec[1].shape, num_classes, f"the labels of `{what}`")

    def check_images_tf(images):
        if not images.dtype.is_floating:
            return []
        images = tf.cast(images, tf.float32)
        low, high = tf.reduce_min(images), tf.reduce_max(images)
        unit_range, out_of_range = _range_problems(low, high)
        return [
            tf.debugging.Assert(tf.reduce_all(tf.math.is_finite(images)), [_NON_FINITE]),
            tf.debugging.Assert(tf.logical_not(unit_range), [_UNIT_RANGE, low, high]),
            tf.debugging.Assert(tf.logical_not(out_of_range), [_OUT_OF_RANGE, low, high]),
        ]

    def check_labels_tf(labels):
        if not (labels.dtype.is_integer or labels.dtype.is_floating):
            return []
        labels64 = tf.cast(labels, tf.int64)
        ok = tf.reduce_all(labels64 >= 0) & tf.reduce_all(labels64 < num_classes)
        if labels.dtype.is_floating:
            ok = ok & tf.reduce_all(tf.math.is_finite(labels))
        return [tf.debugging.Assert(ok, [_BAD_LABELS, labels64], summarize=16)]

    def check(*batch):
        if not batch or not isinstance(batch[0], tf.Tensor):
            return batch if len(batch) != 1 else batch[0]
        asserts = check_images_tf(batch[0])
        if len(batch) >= 2 and isinstance(batch[1], tf.Tensor):
            asserts += check_labels_tf(batch[1])
        with tf.control_dependencies(asserts):
            first = tf.identity(batch[0])
        return (first,) + tuple(batch[1:]) if len(batch) > 1 else first

    return dataset.map(check)


_MESSAGES = {
    _BAD_LABELS: "The dataset yields labels outside [0, num_classes). Labels must be "
    "integer class ids 0..num_classes-1: fix the labels or build the model with a "
    "larger `num_classes`.",
    _NON_FINITE: "The dataset yields images with NaN or infinite pixels. " + NON_FINITE_FIX,
    _UNIT_RANGE: "The dataset yields float pixels in [0, 1]. " + UNIT_RANGE_FIX,
    _OUT_OF_RANGE: "The dataset yields pixels outside [0, 255]. " + OUT_OF_RANGE_FIX,
}


class dataset_errors_as_value_errors:
    """Turns the failed checks of `checked_dataset` into `ValueError`s."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None:
            return False
        text = str(exc)
        for mark, message in _MESSAGES.items():
            if mark in text:
                detail = text[text.index(mark):][:200].splitlines()[0]
                raise ValueError(f"{message} (the check said: {detail})") from exc
        return False
