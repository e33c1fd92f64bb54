"""examples/train.py keeps working (smoke run)."""

import os
import runpy
import sys

import keras

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "train.py")


def test_train_example_smoke(tmp_path, capsys, monkeypatch):
    output = os.path.join(tmp_path, "smoke.keras")
    monkeypatch.setattr(sys, "argv", ["train.py", "--smoke", "--output", output])
    runpy.run_path(EXAMPLE, run_name="__main__")
    printed = capsys.readouterr().out
    assert "test accuracy:" in printed and "chance" in printed
    restored = keras.saving.load_model(output)
    assert restored.num_classes == 5 and restored.class_names[0].startswith("c00_")
