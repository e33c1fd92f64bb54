"""Reading image files of any common format into 3-channel uint8 arrays."""

import os
import re
import struct
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


# Refused before decoding: a 64-megapixel RGB image is 192 MB decoded; a
# decompression bomb declares billions of pixels in a few bytes.
MAX_IMAGE_PIXELS = 64_000_000
# Refused as unusable: a smaller image holds too little to upscale to a crop.
MIN_IMAGE_SIDE = 8


def open_image(path):
    """Opens `path` with Pillow, checks its declared size, decodes it upright.

    Returns a loaded PIL image, turned by its EXIF orientation tag (as photo
    viewers show it). Raises `keras_csdnet.errors.ImageFileError` naming the
    problem: not an image (random bytes, an empty file), truncated, fewer
    than `MIN_IMAGE_SIDE` pixels on a side, or more than `MAX_IMAGE_PIXELS`
    pixels (checked on the header, before any decoding).
    """
    import warnings

    from PIL import Image
    from PIL import ImageOps
    from PIL import UnidentifiedImageError

    from keras_csdnet.errors import ImageFileError

    def too_large(pixels):
        return ImageFileError(
            path,
            f"declares {pixels:,} pixels, above the limit of {MAX_IMAGE_PIXELS:,} "
            "(keras_csdnet.data.images.MAX_IMAGE_PIXELS); downscale the image, or raise "
            "the limit if you trust the file.",
        )

    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise ImageFileError(path, "the file is empty (0 bytes); re-export it or leave it out.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        declared = re.search(r"\((\d+) pixels\)", str(e))  # Pillow names the size
        raise too_large(int(declared.group(1)) if declared else MAX_IMAGE_PIXELS + 1) from None
    except UnidentifiedImageError:
        raise ImageFileError(
            path, "not an image file Pillow can read (unknown format or corrupt header)."
        ) from None
    except (OSError, SyntaxError, ValueError) as e:  # a header cut short or corrupt
        raise ImageFileError(
            path, f"cannot be decoded ({e}); the file is truncated or corrupt."
        ) from None
    with image:
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise too_large(width * height)
        if min(width, height) < MIN_IMAGE_SIDE:
            raise ImageFileError(
                path,
                f"{width} x {height} pixels, below the {MIN_IMAGE_SIDE} px minimum side "
                "(keras_csdnet.data.images.MIN_IMAGE_SIDE): too small to train or predict on.",
            )
        try:
            image.load()
            return ImageOps.exif_transpose(image)
        except (OSError, SyntaxError, ValueError, struct.error) as e:  # Pillow's decode errors
            raise ImageFileError(
                path, f"cannot be decoded ({e}); the file is truncated or corrupt."
            ) from None


def read_image(path, short_side=None, square=False):
    """Decodes `path` to `(H, W, 3)` uint8, upright, optionally resized.

    Args:
        path: image file path.
        short_side: int or None; resize so the shorter side has this length
            (aspect ratio kept), or to `short_side x short_side` if `square`.
        square: bool, see `short_side`.

    Raises:
        keras_csdnet.errors.ImageFileError (a `ValueError`): see `open_image`;
        also for float images with NaN or infinite pixels.
    """
    from PIL import Image

    from keras_csdnet.errors import ImageFileError

    image = open_image(path)
    try:
        array = to_rgb_uint8(image)
    except (OSError, ValueError) as e:
        raise ImageFileError(path, str(e)) from None
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
    """Returns `[(path, reason)]` for files `read_image` refuses."""
    from keras_csdnet.errors import ImageFileError

    def check(path):
        try:
            read_image(path)
            return None
        except ImageFileError as e:
            return (path, e.reason)
        except Exception as e:  # anything else Pillow raises
            return (path, f"{type(e).__name__}: {e}")

    with ThreadPoolExecutor(workers) as pool:
        return [r for r in pool.map(check, paths) if r is not None]
