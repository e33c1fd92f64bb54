"""The training augmentation, in NumPy: one recipe for tf.data and `PyDataset` alike.

Per image: a random `image_size` crop of the pre-crop image (see
`pipeline.resize_size`), a horizontal flip half of the time, a rotation by up
to `rotation_degrees` either way (bilinear, borders reflected) and a colour
jitter centred on the original colours: brightness shifted by up to
`color_jitter * 255` either way, contrast and saturation scaled by factors in
`[1 - color_jitter, 1 + color_jitter]` (around the image's mean and each
pixel's grey value, so a grey image stays grey). NumPy only, so the same
pixels come out on a machine without TensorFlow.
"""

import numpy as np


def check_augmentation(rotation_degrees, color_jitter):
    """Raises a `ValueError` for an out-of-range rotation or jitter strength."""
    if not 0.0 <= rotation_degrees <= 180.0:
        raise ValueError(
            f"`rotation_degrees={rotation_degrees}` must be in [0, 180] (degrees either way)."
        )
    if not 0.0 <= color_jitter < 1.0:
        raise ValueError(
            f"`color_jitter={color_jitter}` must be in [0, 1): brightness, contrast and "
            "saturation change by at most this fraction; 0 turns the jitter off."
        )


def _reflect(index, size):
    """Indices reflected into `[0, size)` the way `d c b a | a b c d | d c b a` does."""
    period = 2 * size
    index = np.mod(index, period)
    return np.where(index >= size, period - 1 - index, index)


def rotate(image, degrees):
    """`image (H, W, C)` float32 rotated by `degrees` about its centre (bilinear, reflect)."""
    if not degrees:
        return image
    h, w = image.shape[:2]
    theta = np.deg2rad(degrees)
    cos, sin = np.cos(theta), np.sin(theta)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    ys, xs = np.meshgrid(
        np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij"
    )
    # The source of each output pixel: the inverse rotation.
    sy = cos * (ys - cy) - sin * (xs - cx) + cy
    sx = sin * (ys - cy) + cos * (xs - cx) + cx
    y0, x0 = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
    fy, fx = (sy - y0)[..., None], (sx - x0)[..., None]
    y0r, y1r = _reflect(y0, h), _reflect(y0 + 1, h)
    x0r, x1r = _reflect(x0, w), _reflect(x0 + 1, w)
    top = image[y0r, x0r] * (1 - fx) + image[y0r, x1r] * fx
    bottom = image[y1r, x0r] * (1 - fx) + image[y1r, x1r] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def jitter_colors(image, rng, strength):
    """Brightness, contrast, then saturation jitter of a float `(H, W, C)` image."""
    if not strength:
        return image
    image = image + rng.uniform(-strength, strength) * 255.0
    mean = image.mean()
    image = (image - mean) * rng.uniform(1.0 - strength, 1.0 + strength) + mean
    if image.shape[-1] == 3:
        grey = image.mean(axis=-1, keepdims=True)
        image = (image - grey) * rng.uniform(1.0 - strength, 1.0 + strength) + grey
    return image


def augment_image(image, image_size, rng, rotation_degrees=10.0, color_jitter=0.1, flip=True):
    """The training augmentation of one uint8 image `(H, W, C)`, H, W >= image_size.

    Args:
        image: uint8 array `(H, W, C)` at the pre-crop size.
        image_size: int, the crop side.
        rng: a `numpy.random.Generator`; the same state gives the same pixels.
        rotation_degrees: float in `[0, 180]`, the largest rotation either way.
        color_jitter: float in `[0, 1)`, the jitter strength; 0 turns it off.
        flip: bool, mirror half of the images horizontally.

    Returns:
        uint8 array `(image_size, image_size, C)`.
    """
    check_augmentation(rotation_degrees, color_jitter)
    h, w = image.shape[:2]
    if h < image_size or w < image_size:
        raise ValueError(
            f"An image of {h} x {w} px cannot give a {image_size} px crop; resize it to at "
            f"least {image_size} px on its shorter side first."
        )
    y = int(rng.integers(0, h - image_size + 1))
    x = int(rng.integers(0, w - image_size + 1))
    crop = np.asarray(image[y : y + image_size, x : x + image_size], np.float32)
    if crop.ndim == 2:
        crop = crop[..., None]
    if flip and rng.random() < 0.5:
        crop = crop[:, ::-1]
    if rotation_degrees:
        crop = rotate(crop, rng.uniform(-rotation_degrees, rotation_degrees))
    crop = jitter_colors(crop, rng, color_jitter)
    return np.clip(np.round(crop), 0, 255).astype(np.uint8)


def augment_batch(images, image_size, rng, rotation_degrees=10.0, color_jitter=0.1):
    """`augment_image` on each image of a batch (array or list); returns `(N, S, S, C)`."""
    return np.stack(
        [augment_image(image, image_size, rng, rotation_degrees, color_jitter) for image in images]
    )
