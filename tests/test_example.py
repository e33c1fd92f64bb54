"""The examples keep working: train.py (smoke run), export_tflite.py."""

import json
import os
import runpy
import sys

import keras
import numpy as np
import pytest
from conftest import IMAGE_SIZE
from conftest import tiny_model
from PIL import Image

from keras_csdnet.data import make_dataset

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "train.py")


def test_train_example_smoke(tmp_path, capsys, monkeypatch):
    output = os.path.join(tmp_path, "smoke.keras")
    monkeypatch.setattr(sys, "argv", ["train.py", "--smoke", "--output", output])
    runpy.run_path(EXAMPLE, run_name="__main__")
    printed = capsys.readouterr().out
    assert "test accuracy:" in printed and "chance" in printed
    restored = keras.saving.load_model(output)
    assert restored.num_classes == 5 and restored.class_names[0].startswith("c00_")


def test_phone_example_prepares_images_as_the_library_does(tmp_path):
    # The LiteRT side of examples/export_tflite.py must see the pixels that
    # `evaluate` sees for the same file: resize + centre crop, alpha on white.
    example = runpy.run_path(os.path.join(os.path.dirname(EXAMPLE), "export_tflite.py"))
    keras.utils.set_random_seed(0)
    model = tiny_model(class_names=["oak", "ash", "elm"])
    model_path = str(tmp_path / "tiny.keras")
    model.save(model_path)
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (60, 41, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(rng.random((60, 41)) < 0.3, 0, 255)
    image = str(tmp_path / "photo.png")
    Image.fromarray(rgba, "RGBA").save(image)

    tflite = example["export"](example["parse_args"](["--model", model_path]))
    logits = example["classify"](tflite, image)
    ((pixels, _),) = make_dataset([(image, 0)], IMAGE_SIZE, training=False)
    np.testing.assert_allclose(logits, model.predict(pixels, verbose=0)[0], atol=1e-4)
    with open(str(tmp_path / "tiny.json")) as f:
        assert json.load(f)["preprocessing"]["function"] == "keras_csdnet.data.load_image"
    # A missing file is one clear line, not a traceback.
    with pytest.raises(SystemExit, match="no such file"):
        example["main"](["--model", model_path, "--image", str(tmp_path / "leaf.png")])
    assert os.path.isfile(os.path.join(os.path.dirname(EXAMPLE), "leaf.png"))
