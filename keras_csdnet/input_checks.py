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
            f"`{what}` pixels are in [{low:.4g}, {high:.4g}], outside [0, 255]. " + OUT_OF_RANGE_FIX
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
                detail = text[text.index(mark) :][:200].splitlines()[0]
                raise ValueError(f"{message} (the check said: {detail})") from exc
        return False


def is_array(x):
    """A NumPy array or a backend tensor (not a dataset, generator or dict)."""
    return isinstance(x, np.ndarray) or (
        hasattr(x, "shape") and hasattr(x, "dtype") and not is_tf_dataset(x)
    )


def _numpy(x):
    from keras import ops

    return ops.convert_to_numpy(x)


def check_image_shape(shape, image_size):
    """Raises a `ValueError` unless `shape` is `(B, image_size, image_size, 1 or 3)`.

    `image_size=None` (a model not yet built) checks rank and channels only.
    """
    shape = tuple(shape)
    if len(shape) != 4:
        raise ValueError(
            f"CSDNet expects images of rank 4 `(batch, height, width, channels)`, "
            f"got shape {shape}. Add a batch axis (e.g. `x[None]`) for one image."
        )
    if shape[-1] not in (1, 3):
        raise ValueError(
            f"CSDNet expects 1 (grey) or 3 (RGB) channels last, got shape {shape}. "
            "Drop the alpha channel (`x[..., :3]`) or use channels-last layout."
        )
    if image_size is None:
        return
    expected = (image_size, image_size)
    if shape[1:3] != expected and None not in shape[1:3]:
        rebuild = (
            f", or build and train the model with `image_size={shape[1]}` for images of that size"
            if shape[1] == shape[2]
            else ""
        )
        raise ValueError(
            f"CSDNet was built for {expected} images (`image_size={image_size}`), got "
            f"shape {shape}. Resize the images to {image_size} x {image_size} (e.g. "
            "`keras_csdnet.data.load_image(path, image_size)` for a file, or "
            f"`keras.layers.Resizing` in your input pipeline){rebuild}."
        )


def data_parallel_parts():
    """Into how many parts JAX's `keras.distribution` splits each batch (1: none)."""
    import keras

    if keras.backend.backend() != "jax":
        return 1
    distribution = keras.distribution.distribution()
    if distribution is None or getattr(distribution, "batch_dim_name", None) is None:
        return 1
    mesh = distribution.device_mesh
    return int(mesh.shape[list(mesh.axis_names).index(distribution.batch_dim_name)])


def check_batches_split(num_samples, batch_size, what="x"):
    """Refuses arrays whose last batch the JAX distribution cannot split evenly.

    Under `keras.distribution.DataParallel` each batch is sharded across the
    devices, and JAX cannot shard a batch whose size the device count does
    not divide: Keras would stop with an `IndivisibleError` at the last batch.
    """
    parts = data_parallel_parts()
    if parts == 1 or not num_samples:
        return
    batch_size = batch_size or 32
    sizes = {min(batch_size, num_samples), num_samples % batch_size or batch_size}
    bad = sorted(size for size in sizes if size % parts)
    if bad:
        raise ValueError(
            f"`{what}` has {num_samples} samples: in batches of {batch_size} some batch "
            f"holds {bad[0]}, which the data-parallel distribution over {parts} devices "
            f"cannot split evenly. Use a `batch_size` and a number of samples divisible "
            f"by {parts}, or a tf.data pipeline batched with `drop_remainder=True`."
        )


def checked_inputs(x, y, kwargs, num_classes):
    """Checks `fit`/`evaluate`/`predict` inputs where they can be checked.

    Arrays are checked at once; a `tf.data.Dataset` (also as
    `validation_data`) gets per-batch checks. Returns `(x, y, kwargs)` with
    the datasets wrapped.
    """
    if is_tf_dataset(x):
        x = checked_dataset(x, num_classes)
    elif is_array(x):
        check_images(_numpy(x), "x")
        check_batches_split(len(x), kwargs.get("batch_size"))
    if y is not None and is_array(y):
        check_labels(_numpy(y), num_classes, "y")
    vd = kwargs.get("validation_data")
    if is_tf_dataset(vd):
        kwargs = dict(kwargs, validation_data=checked_dataset(vd, num_classes, "validation_data"))
    elif isinstance(vd, (tuple, list)) and len(vd) >= 2:
        if is_array(vd[0]):
            check_images(_numpy(vd[0]), "validation_data[0]")
        if is_array(vd[1]):
            check_labels(_numpy(vd[1]), num_classes, "validation_data[1]")
    return x, y, kwargs


# ------------------------------------------------ what the data tells a model
_NEEDS_NUM_CLASSES = (
    "Pass `num_classes=` (or `class_names=`) to CSDNet, or fit on NumPy arrays or "
    "a finite tf.data.Dataset of `(images, labels)`, whose labels give it."
)


def _first_batch(x):
    """The first element of a dataset or `keras.utils.PyDataset`, or None."""
    if is_tf_dataset(x):
        for batch in x.take(1):
            return batch
        return None
    if hasattr(x, "__getitem__") and hasattr(x, "__len__") and hasattr(x, "on_epoch_end"):
        return x[0] if len(x) else None  # a PyDataset
    return None


def infer_image_size(x):
    """The square image side of `x` (arrays, tf.data, PyDataset), or None."""
    if is_array(x):
        shape = tuple(x.shape)
    elif is_tf_dataset(x):
        spec = x.element_spec
        spec = spec[0] if isinstance(spec, tuple) else spec
        shape = tuple(spec.shape) if hasattr(spec, "shape") else ()
        if len(shape) == 4 and None in shape[1:3]:
            batch = _first_batch(x)
            first = batch[0] if isinstance(batch, tuple) else batch
            shape = tuple(first.shape) if first is not None else shape
    else:
        batch = _first_batch(x)
        if batch is None:
            return None
        first = batch[0] if isinstance(batch, tuple) else batch
        shape = tuple(first.shape)
    if len(shape) != 4 or None in shape[1:3]:
        return None
    if shape[1] != shape[2]:
        raise ValueError(
            f"CSDNet takes square images; the data has shape {shape}. Resize or crop the "
            "images to a square (`keras_csdnet.data.load_image(path, image_size)` does)."
        )
    return int(shape[1])


def infer_num_classes(x, y=None):
    """`(num_classes, class_names)` the training data implies.

    Taken from the `class_names` a dataset carries (`load_image_folder`,
    `synthetic_cultivars`), else from the labels' maximum + 1 over one pass
    (NumPy labels, a finite tf.data.Dataset, a `PyDataset`). Raises a
    `ValueError` saying what to pass when it cannot be known.
    """
    names = getattr(x, "class_names", None)
    if names:
        return len(names), list(names)
    if y is not None and is_array(y):
        labels = _numpy(y)
    elif is_tf_dataset(x):
        import tensorflow as tf

        if int(x.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
            raise ValueError(
                "The dataset repeats forever, so its labels cannot be counted. "
                + _NEEDS_NUM_CLASSES
            )
        spec = x.element_spec
        if not (isinstance(spec, tuple) and len(spec) >= 2):
            raise ValueError("The dataset yields no labels. " + _NEEDS_NUM_CLASSES)
        highest = x.map(lambda *b: tf.reduce_max(tf.cast(b[1], tf.int64))).reduce(
            tf.constant(-1, tf.int64), tf.maximum
        )
        labels = np.array([int(highest)])
    elif hasattr(x, "__getitem__") and hasattr(x, "__len__") and hasattr(x, "on_epoch_end"):
        batches = [x[i] for i in range(len(x))]
        if not batches or not all(isinstance(b, tuple) and len(b) >= 2 for b in batches):
            raise ValueError("The PyDataset yields no labels. " + _NEEDS_NUM_CLASSES)
        labels = np.concatenate([np.ravel(_numpy(b[1])) for b in batches])
    else:
        raise ValueError(
            f"CSDNet cannot count the classes of a {type(x).__name__} input before "
            "training. " + _NEEDS_NUM_CLASSES
        )
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1:
        _check_label_shape(labels.shape, None, "y")
    if labels.size == 0:
        raise ValueError("The training data has no labels. " + _NEEDS_NUM_CLASSES)
    if not np.isfinite(labels.astype("float64")).all() or labels.min() < 0:
        raise ValueError("Labels must be integer class ids >= 0. " + _NEEDS_NUM_CLASSES)
    num_classes = int(labels.max()) + 1
    if num_classes < 2:
        raise ValueError(
            f"The training labels are all 0, so they give {num_classes} class; a "
            "classifier needs at least 2. " + _NEEDS_NUM_CLASSES
        )
    return num_classes, None
