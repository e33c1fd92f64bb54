"""Reading image files of any common format into 3-channel uint8 arrays."""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

IMAGE_EXTENSIONS = (
    ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".pgm", ".ppm", ".pbm", ".pnm",
    ".tif", ".tiff", ".webp",
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
