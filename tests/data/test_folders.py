"""Image-folder and UFG loaders, few-shot splits, pipeline, bad input."""

import os

import numpy as np
import pytest
from PIL import Image

from keras_csdnet.data import detect_layout
from keras_csdnet.data import few_shot_split
from keras_csdnet.data import load_image_folder
from keras_csdnet.data.images import read_image


def _save(path, mode="RGB", fmt=None, value=None, size=(40, 30)):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = np.random.default_rng(abs(hash(path)) % 2**32)
    if mode == "I;16":
        array = np.full(size[::-1], 65535 if value is None else value, np.uint16)
        Image.fromarray(array).save(path)
        return
    array = rng.integers(0, 256, size[::-1] + (3,), dtype=np.uint8)
    image = Image.fromarray(array)
    if mode == "P":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE)
    elif mode != "RGB":
        image = image.convert(mode)
    image.save(path, format=fmt)


def _pool(root, classes=3, per_class=6):
    formats = [
        ("a.jpg", "RGB"),
        ("b.png", "L"),
        ("c.bmp", "RGB"),
        ("d.gif", "P"),
        ("e.pgm", "L"),
        ("f.png", "1"),
        ("g.png", "RGBA"),
        ("h.ppm", "RGB"),
    ]
    for c in range(classes):
        for i in range(per_class):
            name, mode = formats[(c + i) % len(formats)]
            _save(os.path.join(root, f"class_{c}", f"{i}{name}"), mode)
        with open(os.path.join(root, f"class_{c}", "notes.txt"), "w") as f:
            f.write("not an image")
        open(os.path.join(root, f"class_{c}", ".DS_Store"), "w").close()
    return root


def _labels(ds):
    return np.concatenate([y.numpy() for _, y in ds]) if ds.num_images else np.zeros(0)


def test_every_image_mode_becomes_rgb_uint8(tmp_path):
    for name, mode in [
        ("g.png", "L"),
        ("b.png", "1"),
        ("p.gif", "P"),
        ("a.png", "RGBA"),
        ("f.pgm", "L"),
        ("c.ppm", "RGB"),
        ("w.bmp", "RGB"),
    ]:
        path = str(tmp_path / name)
        _save(path, mode)
        array = read_image(path)
        assert array.shape == (30, 40, 3) and array.dtype == np.uint8, name
    path = str(tmp_path / "deep.png")
    _save(path, "I;16", value=65535)
    assert read_image(path).min() == 255
    _save(path, "I;16", value=257)
    assert read_image(path).max() == 1
    assert read_image(str(tmp_path / "g.png"), short_side=15).shape == (15, 20, 3)


def test_class_pool_few_shot_split(tmp_path):
    root = _pool(str(tmp_path / "pool"))
    assert detect_layout(root) == "classes"
    train, val, test, names = load_image_folder(
        root, shots=3, val_shots=1, image_size=24, batch_size=4
    )
    assert names == ["class_0", "class_1", "class_2"]
    assert (train.num_images, val.num_images, test.num_images) == (9, 3, 6)
    assert sorted(_labels(val).tolist()) == [0, 1, 2]
    images, labels = next(iter(train))
    assert images.dtype.name == "uint8" and tuple(images.shape) == (4, 24, 24, 3)
    assert not set(train.file_paths) & set(test.file_paths)
    assert not set(val.file_paths) & set(test.file_paths)
    assert all(
        p.endswith((".jpg", ".png", ".bmp", ".gif", ".pgm", ".ppm")) for p in train.file_paths
    )
    again = load_image_folder(root, shots=3, val_shots=1, image_size=24)
    assert again.train.file_paths == train.file_paths
    other = load_image_folder(root, shots=3, val_shots=1, image_size=24, seed=1)
    assert other.train.file_paths != train.file_paths


def test_split_does_not_depend_on_file_order_or_other_classes():
    items = [f"img{i}" for i in range(10)] + [f"x{i}" for i in range(10)]
    labels = [0] * 10 + [1] * 10
    a = few_shot_split(items, labels, ["oak", "elm"], 3, 1, seed=4)
    b = few_shot_split(items[::-1], labels[::-1], ["oak", "elm"], 3, 1, seed=4)
    assert a == b
    c = few_shot_split(items[:10], labels[:10], ["oak"], 3, 1, seed=4)
    assert c[0] == a[0][:3]


def test_given_splits_carve_validation_from_train(tmp_path):
    root = str(tmp_path / "splits")
    for split, n in (("train", 4), ("test", 2)):
        for c in ("a", "b"):
            for i in range(n):
                _save(os.path.join(root, split, c, f"{i}.png"))
    assert detect_layout(root) == "splits"
    train, val, test, names = load_image_folder(root, val_shots=1, image_size=16)
    assert (train.num_images, val.num_images, test.num_images) == (6, 2, 4)
    assert not set(val.file_paths) & set(train.file_paths)
    train, val, test, _ = load_image_folder(root, shots=2, val_shots=1, image_size=16)
    assert (train.num_images, val.num_images) == (4, 2)
    for c in ("a", "b"):  # a given val/ split is used as it is
        _save(os.path.join(root, "val", c, "v.png"))
    train, val, _, _ = load_image_folder(root, image_size=16)
    assert (train.num_images, val.num_images) == (8, 2)
    _save(os.path.join(root, "test", "stranger", "0.png"))  # a class with no training images
    with pytest.raises(ValueError, match="training split lacks.*stranger"):
        load_image_folder(root, image_size=16)
    _, _, test, names = load_image_folder(root, image_size=16, classes=["a", "b"])
    assert names == ["a", "b"] and test.num_images == 4


def _ufg(root, lines_train, lines_test, n_images=6):
    for i in range(n_images):
        _save(os.path.join(root, "images", f"{i}.jpg"))
    os.makedirs(os.path.join(root, "anno"), exist_ok=True)
    for split, lines in (("train", lines_train), ("test", lines_test)):
        with open(os.path.join(root, "anno", f"{split}.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return root


def test_ufg_layout(tmp_path):
    root = _ufg(
        str(tmp_path / "ufg"), ["0.jpg 1", "1.jpg 1", "2.jpg 2", "3.jpg 2"], ["4.jpg 1", "5.jpg 2"]
    )
    assert detect_layout(root) == "ufg"
    train, val, test, names = load_image_folder(root, val_shots=1, image_size=16)
    assert names == ["1", "2"]
    assert (train.num_images, val.num_images, test.num_images) == (2, 2, 2)
    assert sorted(_labels(test).tolist()) == [0, 1]
    _, val, _, _ = load_image_folder(root, val_shots=0, image_size=16)
    assert val.num_images == 0


def test_ufg_bad_annotations(tmp_path):
    root = _ufg(str(tmp_path / "missing"), ["0.jpg 1", "nothere.jpg 2"], ["4.jpg 1"])
    with pytest.raises(ValueError, match=r"missing files.*nothere\.jpg"):
        load_image_folder(root)
    root = _ufg(str(tmp_path / "range"), ["0.jpg 1", "1.jpg 0"], ["4.jpg 1"])
    with pytest.raises(ValueError, match=r"train\.txt:2: label 0 outside"):
        load_image_folder(root)
    root = _ufg(str(tmp_path / "range2"), ["0.jpg 1", "1.jpg 2"], ["4.jpg 9"])
    with pytest.raises(ValueError, match=r"label 9 outside \[1, 2\]"):
        load_image_folder(root, num_classes=2)
    root = _ufg(str(tmp_path / "unseen"), ["0.jpg 1", "1.jpg 1"], ["4.jpg 2"])
    with pytest.raises(ValueError, match="never in anno/train.txt"):
        load_image_folder(root)


def test_unreadable_images_raise_or_skip(tmp_path):
    root = _pool(str(tmp_path / "pool"), classes=2, per_class=5)
    bad = os.path.join(root, "class_0", "broken.jpg")
    good = os.path.join(root, "class_0", "0a.jpg")
    with open(good, "rb") as f:
        data = f.read()
    with open(bad, "wb") as f:
        f.write(data[: len(data) // 2])  # truncated JPEG
    with pytest.raises(ValueError, match=r"unusable.*truncated.*broken\.jpg.*on_error='skip'"):
        load_image_folder(root, shots=2, val_shots=1, image_size=16)
    with pytest.warns(UserWarning, match="Skipped 1 unusable image file"):
        train, val, test, _ = load_image_folder(
            root, shots=2, val_shots=1, image_size=16, on_error="skip"
        )
    assert bad not in train.file_paths + val.file_paths + test.file_paths
    assert train.num_images + val.num_images + test.num_images == 10


def test_empty_class_folder_and_too_small_classes(tmp_path):
    root = _pool(str(tmp_path / "pool"), classes=2, per_class=5)
    os.makedirs(os.path.join(root, "class_empty"))
    with open(os.path.join(root, "class_empty", "readme.txt"), "w") as f:
        f.write("no images here")
    with pytest.raises(ValueError, match=r"empty class folder.*class_empty"):
        load_image_folder(root, shots=2, image_size=16)
    with pytest.warns(UserWarning, match="dropped"):
        _, _, _, names = load_image_folder(root, shots=2, image_size=16, drop_small_classes=True)
    assert names == ["class_0", "class_1"]
    for f in os.listdir(os.path.join(root, "class_empty")):
        os.remove(os.path.join(root, "class_empty", f))
    os.rmdir(os.path.join(root, "class_empty"))
    with pytest.raises(
        ValueError, match=r"fewer than shots \+ val_shots \+ 1 = 6.*drop_small_classes"
    ):
        load_image_folder(root, shots=4, val_shots=1, image_size=16)
    _save(os.path.join(root, "class_2", "0.png"))
    with pytest.warns(UserWarning, match="Dropping 1 class"):
        _, _, _, names = load_image_folder(
            root, shots=3, val_shots=1, image_size=16, drop_small_classes=True
        )
    assert names == ["class_0", "class_1"]


def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        load_image_folder(str(tmp_path / "nope"))
    empty = tmp_path / "empty"
    (empty / "a").mkdir(parents=True)
    (empty / "a" / "x.txt").write_text("hi")
    with pytest.raises(ValueError, match="empty class folder"):
        load_image_folder(str(empty), shots=1)
    with pytest.warns(UserWarning, match="dropped"):
        with pytest.raises(ValueError, match="No image files"):
            load_image_folder(str(empty), shots=1, drop_small_classes=True)
    root = _pool(str(tmp_path / "pool"), classes=2, per_class=3)
    with pytest.raises(ValueError, match="`shots` is required"):
        load_image_folder(root)
    with pytest.raises(ValueError, match="layout"):
        load_image_folder(root, layout="coco")
    with pytest.raises(ValueError, match="on_error"):
        load_image_folder(root, shots=1, on_error="ignore")


def test_class_selection(tmp_path):
    root = _pool(str(tmp_path / "pool"), classes=4, per_class=3)
    _, _, _, names = load_image_folder(root, shots=1, image_size=16, classes=["class_1", "class_3"])
    assert names == ["class_1", "class_3"]
    train, _, _, names = load_image_folder(
        root, shots=1, image_size=16, classes=lambda c: c != "class_0"
    )
    assert names == ["class_1", "class_2", "class_3"] and train.num_images == 3


def test_one_class_folder_is_refused_at_load(tmp_path):
    root = _pool(str(tmp_path / "pool"), classes=1, per_class=6)
    with pytest.raises(ValueError, match=r"one class \('class_0'\).*at least 2 classes"):
        load_image_folder(root, shots=2, image_size=16)
    # Also when the split leaves a single class standing.
    root = _pool(str(tmp_path / "two"), classes=2, per_class=6)
    for name in os.listdir(os.path.join(root, "class_1"))[:-2]:
        os.remove(os.path.join(root, "class_1", name))
    with pytest.warns(UserWarning, match="Dropping 1 class"):
        with pytest.raises(ValueError, match="at least 2 classes"):
            load_image_folder(root, shots=3, image_size=16, drop_small_classes=True)


def test_non_finite_pixels_in_a_file_are_refused_with_its_name(tmp_path):
    root = _pool(str(tmp_path / "pool"), classes=2, per_class=4)
    values = np.full((30, 40), 120.0, np.float32)
    values[3, 5] = np.nan
    bad = os.path.join(root, "class_1", "scan.tif")
    Image.fromarray(values, mode="F").save(bad)
    with pytest.raises(ValueError, match=r"scan\.tif.*non-finite pixel"):
        load_image_folder(root, shots=2, val_shots=1, image_size=16)
    with pytest.raises(ValueError, match="non-finite"):
        read_image(bad)
