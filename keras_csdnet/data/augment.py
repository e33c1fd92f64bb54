"""The training augmentation, in NumPy: one recipe for tf.data and `PyDataset` alike.

Per image: a random `image_size` crop of the pre-crop image (see
`pipeline.resize_size`), a horizontal flip half of the time, a rotation by up
to `rotation_degrees` either way (bilinear, borders reflected) and a colour
jitter centred on the original colours: brightness shifted by up to
`color_jitter * 255` either way, contrast and saturation scaled by factors in
`[1 - color_jitter, 1 + color_jitter]` (around the image's mean and each
pixel's grey value, so a grey image stays grey). NumPy and Pillow only, so the
same pixels come out on a machine without TensorFlow.
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


def rotate(image, degrees):
    """`image (H, W, C)` rotated by `degrees` about its centre: bilinear, borders reflected.

    The image is padded by reflection (`d c b a | a b c d | d c b a`) as far as the
    rotated corners reach, rotated with Pillow and cropped back, so no fill colour
    appears. Returns float32.
    """
    if not degrees:
        return image
    from PIL import Image

    h, w = image.shape[:2]
    theta = np.deg2rad(degrees)
    reach = (abs(np.sin(theta)) + abs(np.cos(theta)) - 1.0) / 2.0
    pad = int(np.ceil(max(reach, 0.0) * max(h, w))) + 2
    pixels = np.clip(np.round(image), 0, 255).astype(np.uint8)
    padded = np.pad(pixels, ((pad, pad), (pad, pad), (0, 0)), mode="symmetric")
    if padded.shape[-1] == 1:  # Pillow takes grey images as (H, W)
        padded = padded[..., 0]
    rotated = Image.fromarray(padded).rotate(degrees, resample=Image.Resampling.BILINEAR)
    rotated = np.asarray(rotated, np.float32)[pad : pad + h, pad : pad + w]
    return rotated.reshape(image.shape)


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
