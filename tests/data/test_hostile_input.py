"""Hostile files and arrays get a clear error or a counted skip, never garbage."""

import io
import os
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from keras_csdnet import input_checks
from keras_csdnet.data import images as images_lib
from keras_csdnet.data import load_image
from keras_csdnet.data import load_image_folder
from keras_csdnet.data.images import read_image
from keras_csdnet.errors import ImageFileError

FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _encoded(fmt, array=None, **kwargs):
    rng = np.random.default_rng(0)
    if array is None:
        array = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _png_header_only(width, height):
    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _write(tmp_path, name, data):
    path = os.path.join(tmp_path, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _exif_rotated_jpeg():
    """Stored 48 wide x 24 high, left half blue; orientation 6 shows it portrait."""
    image = Image.new("RGB", (48, 24), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 24, 24))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    return buffer.getvalue()


def _cmyk_jpeg():
    buffer = io.BytesIO()
    Image.new("CMYK", (32, 24), (0, 255, 255, 0)).save(buffer, "JPEG")  # red
    return buffer.getvalue()


def _palette_png():
    buffer = io.BytesIO()
    image = Image.new("P", (32, 24))
    image.putpalette([0, 128, 255] * 256)
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _sixteen_bit_png():
    buffer = io.BytesIO()
    Image.fromarray(np.full((24, 32), 65535, np.uint16)).save(buffer, "PNG")
    return buffer.getvalue()


def _nan_tiff():
    buffer = io.BytesIO()
    Image.fromarray(np.full((24, 32), np.nan, np.float32)).save(buffer, "TIFF")
    return buffer.getvalue()


REFUSED = [
    ("random_bytes.jpg", lambda: np.random.default_rng(1).bytes(3000), "not an image file"),
    ("empty.jpg", lambda: b"", "empty"),
    ("truncated.jpg", lambda: _encoded("JPEG")[:400], "truncated"),
    ("truncated.png", lambda: _encoded("PNG")[:600], "truncated"),
    ("one_pixel.png", lambda: _encoded("PNG", np.zeros((1, 1, 3), np.uint8)), "1 x 1 pixels"),
    ("bomb.png", lambda: _png_header_only(100_000, 100_000), "10,000,000,000 pixels"),
    ("over_limit.png", lambda: _png_header_only(9000, 8000), "72,000,000 pixels"),
    ("nan.tiff", _nan_tiff, "non-finite"),
]


@pytest.mark.parametrize("name, make, message", REFUSED, ids=[r[0] for r in REFUSED])
def test_hostile_file_is_refused_with_its_name_and_problem(tmp_path, name, make, message):
    path = _write(tmp_path, name, make())
    with pytest.raises(ImageFileError, match=message) as caught:
        read_image(path)
    assert str(caught.value).startswith(path)
    with pytest.raises(ValueError, match=message):
        load_image(path, 16)


def test_pixel_limit_is_checked_on_the_header(tmp_path, monkeypatch):
    path = _write(tmp_path, "big.png", _encoded("PNG"))  # 40 x 48 = 1920 pixels
    monkeypatch.setattr(images_lib, "MAX_IMAGE_PIXELS", 1000)
    opened = []
    monkeypatch.setattr(Image.Image, "load", lambda self: opened.append(1))
    with pytest.raises(ImageFileError, match="1,920 pixels, above the limit of 1,000"):
        read_image(path)
    assert not opened  # refused before decoding


def test_odd_but_valid_files_load_as_rgb_uint8(tmp_path):
    red = read_image(_write(tmp_path, "cmyk.jpg", _cmyk_jpeg()))
    assert red.shape == (24, 32, 3) and red.dtype == np.uint8
    assert red[..., 0].min() > 200 and red[..., 1:].max() < 60
    palette = read_image(_write(tmp_path, "palette.png", _palette_png()))
    assert palette.shape == (24, 32, 3) and (palette == [0, 128, 255]).all()
    white = read_image(_write(tmp_path, "sixteen.png", _sixteen_bit_png()))
    assert white.shape == (24, 32, 3) and (white == 255).all()


def test_exif_rotated_photo_is_loaded_upright(tmp_path):
    upright = read_image(_write(tmp_path, "rotated.jpg", _exif_rotated_jpeg()))
    assert upright.shape == (48, 24, 3)  # portrait, as a viewer shows it
    top, bottom = upright[:20].mean(axis=(0, 1)), upright[-20:].mean(axis=(0, 1))
    assert top[2] > 200 and top[0] < 60  # the blue half is on top
    assert bottom[0] > 200 and bottom[2] < 60


@FEW
@given(data=st.binary(max_size=2048))
def test_any_bytes_give_an_image_or_an_image_file_error(tmp_path_factory, data):
    path = _write(tmp_path_factory.mktemp("bytes"), "file.jpg", data)
    try:
        array = read_image(path)
    except ImageFileError as e:
        assert e.path == path and e.reason
        return
    assert array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3
    assert min(array.shape[:2]) >= images_lib.MIN_IMAGE_SIDE


@FEW
@given(fmt=st.sampled_from(["PNG", "JPEG", "BMP", "GIF"]), cut=st.floats(0.0, 0.9))
def test_truncated_files_give_an_image_or_an_image_file_error(tmp_path_factory, fmt, cut):
    data = _encoded(fmt)
    path = _write(
        tmp_path_factory.mktemp("cut"), f"file.{fmt.lower()}", data[: int(len(data) * cut)]
    )
    try:
        array = read_image(path)
    except ImageFileError:
        return
    assert array.shape[2] == 3 and array.dtype == np.uint8


def test_folder_with_hostile_files_raises_or_skips_with_a_count(tmp_path):
    root = tmp_path / "pool"
    rng = np.random.default_rng(0)
    for c in range(2):
        (root / f"class_{c}").mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(
                root / f"class_{c}" / f"{i}.png"
            )
    hostile = {name: make for name, make, _ in REFUSED}
    for name in ("random_bytes.jpg", "empty.jpg", "one_pixel.png", "bomb.png"):
        _write(root / "class_0", name, hostile[name]())
    with pytest.raises(ValueError, match=r"4 unusable image file\(s\).*on_error='skip'"):
        load_image_folder(str(root), shots=2, val_shots=1, image_size=16)
    with pytest.warns(UserWarning, match=r"Skipped 4 unusable image file\(s\) of 12"):
        train, val, test, _ = load_image_folder(
            str(root), shots=2, val_shots=1, image_size=16, on_error="skip"
        )
    assert train.num_images + val.num_images + test.num_images == 8


@FEW
@given(
    images=hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=4, max_dims=4, min_side=1, max_side=3),
        elements=st.one_of(
            st.floats(-1e4, 1e4, width=32), st.sampled_from([np.nan, np.inf, -np.inf])
        ),
    )
)
def test_any_float_pixels_are_refused_or_are_finite_raw_pixels(images):
    try:
        input_checks.check_images(images)
    except ValueError as e:
        assert "pixel" in str(e)
        return
    assert np.isfinite(images).all()
    assert images.min() >= -1.0 and images.max() <= 256.0


FLOAT_LABELS = hnp.arrays(
    st.sampled_from([np.float32, np.float64]),
    st.integers(1, 6),
    elements=st.one_of(
        st.integers(-5, 8).map(float),
        st.floats(-5, 8, width=32),
        st.sampled_from([np.nan, np.inf]),
    ),
)
INT_LABELS = hnp.arrays(
    st.sampled_from([np.int32, np.int64]), st.integers(1, 6), elements=st.integers(-5, 8)
)


@FEW
@given(labels=st.one_of(FLOAT_LABELS, INT_LABELS))
def test_any_labels_are_refused_or_are_class_ids_in_range(labels):
    try:
        input_checks.check_labels(labels, num_classes=3)
    except ValueError as e:
        assert "label" in str(e).lower() or "class ids" in str(e)
        return
    assert np.all(np.mod(labels, 1) == 0) and labels.min() >= 0 and labels.max() < 3
