"""Reading image files of any common format into 3-channel uint8 arrays."""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

IMAGE_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".gif",
    ".pgm",
    ".ppm",
    ".pbm",
    ".pnm",
    ".tif",
    ".tiff",
    ".webp",
)


def is_image_file(name):
    """True for a visible file whose extension is an image format we read."""
    base = os.path.basename(name)
    return not base.startswith(".") and base.lower().endswith(IMAGE_EXTENSIONS)


def to_rgb_uint8(image):
    """Converts a PIL image of any mode (1-bit, grey, palette, RGBA, 16-bit,
    float, CMYK) to a `(H, W, 3)` uint8 array."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        if not np.isfinite(array).all():
            bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
            raise ValueError(
                f"{bad} non-finite pixel value(s) (NaN or inf) in a {mode!r} image: "
                "re-export the image with finite values, or leave the file out."
            )
        if mode.startswith("I;16") or array.max(initial=0) > 255:
            array = array / 65535.0 * 255.0
        array = np.clip(np.round(array), 0, 255).astype(np.uint8)
        return np.repeat(array[..., None], 3, axis=-1)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        # Transparent pixels become white, as viewers show them on paper.
        from PIL import Image

        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def read_image(path, short_side=None, square=False):
    """Decodes `path` to `(H, W, 3)` uint8, optionally resized.

    Args:
        path: image file path.
        short_side: int or None; resize so the shorter side has this length
            (aspect ratio kept), or to `short_side x short_side` if `square`.
        square: bool, see `short_side`.

    Raises:
        OSError / ValueError (from Pillow) if the file is unreadable or truncated.
    """
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        array = to_rgb_uint8(image)
    if short_side:
        h, w = array.shape[:2]
        if square:
            size = (short_side, short_side)
        else:
            scale = short_side / min(h, w)
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
        if size != (w, h):
            array = np.asarray(
                Image.fromarray(array).resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
            )
    return array


def center_crop(array, image_size):
    """The central `image_size x image_size` window of an `(H, W, C)` array.

    The same window as `tf.image.resize_with_crop_or_pad` takes when the
    image is at least `image_size` on both sides.
    """
    h, w = array.shape[:2]
    if h < image_size or w < image_size:
        raise ValueError(
            f"A {h} x {w} image is smaller than the {image_size} px crop; resize it first."
        )
    top, left = (h - image_size) // 2, (w - image_size) // 2
    return array[top : top + image_size, left : left + image_size]


def load_image(path, image_size, resize="shorter_side"):
    """One image file as the library evaluates it: `(image_size, image_size, 3)` uint8.

    The evaluation recipe of `make_dataset` (and so of `load_image_folder`'s
    validation and test sets), in Pillow and NumPy only: decode (grey,
    palette and 16-bit images become RGB, transparency is composited on
    white), resize (the shorter side to `image_size * 512 / 448`, or both
    sides with `resize="square"`), then take the centre crop. Use it to
    prepare a photo for `model.predict` or an exported model, so that both
    see what `evaluate` sees.

    Args:
        path: image file path.
        image_size: int, the model's input side.
        resize: `"shorter_side"` (default) or `"square"`, as in `make_dataset`.

    Returns:
        `(image_size, image_size, 3)` uint8 array.

    Examples:
    ```python
    from keras_csdnet.data import load_image
    pixels = load_image("examples/leaf.png", image_size=72)   # (72, 72, 3) uint8
    ```
    """
    from keras_csdnet.data.pipeline import RESIZE_MODES
    from keras_csdnet.data.pipeline import resize_size

    if resize not in RESIZE_MODES:
        raise ValueError(f"Unknown `resize={resize!r}`; use one of {RESIZE_MODES}.")
    array = read_image(path, resize_size(image_size), square=resize == "square")
    return center_crop(array, image_size)


def find_unreadable(paths, workers=8):
    """Returns `[(path, reason)]` for files Pillow cannot fully decode."""

    def check(path):
        try:
            read_image(path)
            return None
        except Exception as e:  # Pillow raises several types
            return (path, f"{type(e).__name__}: {e}")

    with ThreadPoolExecutor(workers) as pool:
        return [r for r in pool.map(check, paths) if r is not None]
