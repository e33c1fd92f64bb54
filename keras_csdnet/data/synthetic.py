"""Synthetic "cultivars": procedurally drawn leaves that differ in small details.

The built-in default data of the library: no download, deterministic per
seed, small enough for a CPU. Every class ("cultivar") is one combination of
four local traits, drawn without replacement from a grid:

- margin serration: smooth, or 6 / 10 / 16 teeth,
- vein angle to the midrib: 30, 45 or 60 degrees,
- tip: blunt, medium or acuminate,
- spots: none, or one of three fixed spot layouts.

Everything else varies per image and carries no class information: pose
(rotation, position), scale, leaf and background colour, lighting, a
background gradient and pixel noise. So a classifier has to look at the
margin, veins, tip and spots; global colour or size do not help.
"""

import itertools
import math

import numpy as np

from keras_csdnet.data.pipeline import seeded_passes

SERRATIONS = (0, 6, 10, 16)
VEIN_ANGLES = (30.0, 45.0, 60.0)
TIPS = (("blunt", 0.45), ("medium", 0.9), ("acuminate", 1.6))
SPOT_LAYOUTS = (
    (),
    ((0.35, 1.0), (0.6, -1.0)),
    ((0.5, 1.0), (0.5, -1.0), (0.72, 1.0)),
    ((0.25, -1.0), (0.45, 1.0), (0.65, -1.0), (0.8, 1.0)),
)
MAX_CLASSES = len(SERRATIONS) * len(VEIN_ANGLES) * len(TIPS) * len(SPOT_LAYOUTS)


def cultivar_traits(num_classes, seed=0):
    """Returns the list of trait dicts of the `num_classes` cultivars for `seed`."""
    if not isinstance(num_classes, int) or not 2 <= num_classes <= MAX_CLASSES:
        raise ValueError(
            f"`num_classes` must be an int in [2, {MAX_CLASSES}] (the number of "
            f"distinct trait combinations), got {num_classes!r}."
        )
    grid = list(
        itertools.product(
            range(len(SERRATIONS)),
            range(len(VEIN_ANGLES)),
            range(len(TIPS)),
            range(len(SPOT_LAYOUTS)),
        )
    )
    rng = np.random.default_rng([seed, 7919])
    chosen = rng.choice(len(grid), size=num_classes, replace=False)
    traits = []
    for index in chosen:
        s, v, t, p = grid[index]
        traits.append(
            dict(
                serration=SERRATIONS[s],
                vein_angle=VEIN_ANGLES[v],
                tip=TIPS[t][0],
                tip_exponent=TIPS[t][1],
                spots=SPOT_LAYOUTS[p],
            )
        )
    return traits


def cultivar_names(num_classes, seed=0):
    """Readable class names, e.g. `"c03_serr10_vein45_acuminate_spots2"`."""
    names = []
    for i, t in enumerate(cultivar_traits(num_classes, seed)):
        serr = f"serr{t['serration']}" if t["serration"] else "smooth"
        names.append(
            f"c{i:02d}_{serr}_vein{int(t['vein_angle'])}_{t['tip']}_spots{len(t['spots'])}"
        )
    return names


def render_leaf(traits, image_size, rng):
    """Draws one leaf of a cultivar with random pose, colour and noise.

    Returns:
        `(image_size, image_size, 3)` uint8 image.
    """
    s = image_size
    coords = (np.arange(s) + 0.5) / s * 2.0 - 1.0
    v, u = np.meshgrid(coords, coords, indexing="ij")  # v: rows (down), u: cols

    # Pose and scale: per image, shared by all classes.
    angle = math.radians(rng.uniform(-20.0, 20.0))
    scale = rng.uniform(0.68, 0.92)
    shift = rng.uniform(-0.1, 0.1, size=2)
    cos, sin = math.cos(angle), math.sin(angle)
    du, dv = u - shift[0], v - shift[1]
    # Leaf frame: a along the midrib (base -1, tip +1), b across it.
    a = -(-sin * du + cos * dv) / scale
    b = (cos * du + sin * dv) / scale
    half_width = rng.uniform(0.36, 0.44)
    pixel = 2.0 / s / scale  # one pixel in leaf units

    # Intra-class jitter of the traits (small).
    vein_angle = math.radians(traits["vein_angle"] + rng.normal(0.0, 2.0))
    depth = 0.10 * rng.uniform(0.85, 1.15)
    tip_exp = traits["tip_exponent"] * rng.uniform(0.9, 1.1)

    t = np.clip((a + 1.0) / 2.0, 0.0, 1.0)
    # Width profile t^0.6 (1 - t)^tip_exp, scaled to peak at half_width.
    t_peak = 0.6 / (0.6 + tip_exp)
    peak = t_peak**0.6 * (1 - t_peak) ** tip_exp
    width = half_width * t**0.6 * (1.0 - t) ** tip_exp / peak
    if traits["serration"]:
        teeth = np.abs(np.sin(math.pi * traits["serration"] * t))
        width = width * (1.0 - depth * teeth)
    inside = (a > -1.0) & (a < 1.0)
    leaf_alpha = np.clip((width - np.abs(b)) / pixel + 0.5, 0.0, 1.0) * inside
    stem = (a > -1.25) & (a <= -1.0) & (np.abs(b) < 0.025)
    leaf_alpha = np.maximum(leaf_alpha, stem.astype(float))

    # Veins: midrib and side veins leaving it at `vein_angle`.
    thickness = max(0.022, 0.8 * pixel)
    density = 5.0
    phase = (a - np.abs(b) / math.tan(vein_angle)) * density
    vein_dist = np.abs(phase - np.round(phase)) / density * math.sin(vein_angle)
    veins = np.clip((thickness - vein_dist) / pixel + 0.5, 0.0, 1.0)
    midrib = np.clip((thickness * 1.3 - np.abs(b)) / pixel + 0.5, 0.0, 1.0)
    veins = np.maximum(veins * (np.abs(b) < width * 0.85), midrib)

    # Spots at fixed positions of the cultivar (in leaf coordinates).
    spots = np.zeros_like(a)
    radius = 0.075
    for spot_t, side in traits["spots"]:
        st = spot_t + rng.normal(0.0, 0.015)
        sa = st * 2.0 - 1.0
        sb = side * 0.45 * half_width * (st**0.6 * (1 - st) ** tip_exp / peak)
        dist = np.sqrt((a - sa) ** 2 + (b - sb) ** 2)
        spots = np.maximum(spots, np.clip((radius - dist) / pixel + 0.5, 0.0, 1.0))

    # Colours: per image, identical distributions for all classes.
    leaf_rgb = np.array([rng.uniform(40, 110), rng.uniform(110, 190), rng.uniform(30, 90)])
    vein_rgb = leaf_rgb * rng.uniform(1.2, 1.4)
    spot_rgb = np.array([rng.uniform(70, 110), rng.uniform(45, 75), rng.uniform(20, 45)])
    bg_a, bg_b = rng.uniform(120, 240, size=3), rng.uniform(120, 240, size=3)
    direction = rng.uniform(0, 2 * math.pi)
    ramp = ((math.cos(direction) * u + math.sin(direction) * v) + 1.0) / 2.0
    background = bg_a + (bg_b - bg_a) * ramp[..., None]

    leaf = leaf_rgb * (1.0 + 0.12 * b[..., None] / half_width)  # side shading
    leaf = leaf + (vein_rgb - leaf_rgb) * veins[..., None]
    leaf = leaf + (spot_rgb - leaf) * spots[..., None] * (leaf_alpha[..., None] > 0)
    image = background + (leaf - background) * leaf_alpha[..., None]

    # Lighting and sensor noise.
    image = image * rng.uniform(0.75, 1.2) + rng.uniform(-20, 20)
    image = image + rng.normal(0.0, rng.uniform(2.0, 8.0), size=image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def synthetic_cultivar_arrays(
    num_classes=20, image_size=64, train_per_class=3, test_per_class=3, seed=0, val_per_class=0
):
    """Numpy version of `synthetic_cultivars`: `((x_train, y_train), (x_test, y_test))`,
    or `(train, val, test)` pairs when `val_per_class > 0`."""
    if not isinstance(image_size, int) or image_size < 16:
        raise ValueError(f"`image_size` must be an int >= 16, got {image_size!r}.")
    for arg, value in (("train_per_class", train_per_class), ("test_per_class", test_per_class)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"`{arg}` must be an int >= 1, got {value!r}.")
    if not isinstance(val_per_class, int) or val_per_class < 0:
        raise ValueError(f"`val_per_class` must be an int >= 0, got {val_per_class!r}.")
    traits = cultivar_traits(num_classes, seed)
    # Split ids seed the images: train 0, test 1, validation 2, so asking for a
    # validation split leaves train and test unchanged.
    wanted = [(0, train_per_class)] + ([(2, val_per_class)] if val_per_class else [])
    splits = []
    for split, per_class in wanted + [(1, test_per_class)]:
        images, labels = [], []
        for label, trait in enumerate(traits):
            rng = np.random.default_rng([seed, split, label])
            for _ in range(per_class):
                images.append(render_leaf(trait, image_size, rng))
                labels.append(label)
        splits.append((np.stack(images), np.asarray(labels, dtype=np.int32)))
    return tuple(splits)


def synthetic_cultivars(
    num_classes=20,
    image_size=64,
    train_per_class=3,
    test_per_class=3,
    seed=0,
    batch_size=16,
    val_per_class=0,
    passes=None,
):
    """The built-in few-shot dataset: synthetic leaf cultivars.

    Args:
        num_classes: int in `[2, 144]`, number of cultivars.
        image_size: int >= 16, square image side in pixels.
        train_per_class: int >= 1, training images per class (few-shot `k`).
        test_per_class: int >= 1, test images per class.
        seed: int; the same seed gives the same classes and images anywhere.
        batch_size: int, batch size of the returned datasets.
        val_per_class: int >= 0; if > 0, also return a validation split of
            that many images per class (for model selection).
        passes: None, or a range of epochs: the training set as those epochs
            back to back, each shuffled by `(seed, epoch)` alone
            (`keras_csdnet.data.seeded_passes`; fit with `steps_per_epoch`).

    Returns:
        `(train, test)` (or `(train, val, test)` when `val_per_class > 0`)
        batched `tf.data.Dataset`s of `(uint8 image (B, S, S, 3),
        int32 label (B,))`; train is shuffled each epoch (seeded). Both carry
        `.class_names` (list of str), as `keras.utils.image_dataset_from_directory`
        datasets do; `cultivar_names(num_classes, seed)` gives them too.

    Examples:
    ```python
    import keras_csdnet
    train, test = keras_csdnet.data.synthetic_cultivars(num_classes=5, image_size=32)
    print(train.class_names[0])
    ```
    """
    import tensorflow as tf

    arrays = synthetic_cultivar_arrays(
        num_classes, image_size, train_per_class, test_per_class, seed, val_per_class
    )
    names = cultivar_names(num_classes, seed)
    (x_train, y_train), others = arrays[0], arrays[1:]
    train = tf.data.Dataset.from_tensor_slices((x_train, y_train))
    if passes is None:
        train = train.shuffle(len(x_train), seed=seed, reshuffle_each_iteration=True)
        train = train.batch(batch_size)
    else:
        train = seeded_passes(train, len(x_train), seed, passes, batch_size)
    train = train.prefetch(tf.data.AUTOTUNE)
    datasets = [train] + [tf.data.Dataset.from_tensor_slices(a).batch(batch_size) for a in others]
    for ds, (x, _) in zip(datasets, arrays):
        ds.class_names = names
        ds.num_images = len(x)
    return tuple(datasets)
