"""TFDS builders for UFG, on a tiny fake UFG tree that the test writes."""

import os

import numpy as np
import pytest
from PIL import Image

tfds = pytest.importorskip("tensorflow_datasets")

from keras_csdnet.data import ufg_tfds  # noqa: E402  (registers the builders)


def _fake_ufg(root, num_classes):
    os.makedirs(os.path.join(root, "images"))
    os.makedirs(os.path.join(root, "anno"))
    rng = np.random.default_rng(0)
    lines = {"train": [], "test": []}
    for c in range(num_classes):
        for split in ("train", "test"):
            name = f"{split}_{c}.jpg"
            Image.fromarray(rng.integers(0, 256, (12, 10, 3), np.uint8)).save(
                os.path.join(root, "images", name)
            )
            lines[split].append(f"{name} {c + 1}")
    for split, rows in lines.items():
        with open(os.path.join(root, "anno", f"{split}.txt"), "w") as f:
            f.write("\n".join(rows) + "\n")


def test_builders_are_registered():
    names = set(tfds.list_builders())
    assert {"cotton80", "soy_local", "soy_gene", "soy_ageing", "soy_global"} <= names
    assert [c.name for c in ufg_tfds.SoyAgeing.BUILDER_CONFIGS] == ["r1", "r3", "r4", "r5", "r6"]


def test_build_cotton80_from_a_manual_dir(tmp_path):
    manual = str(tmp_path / "manual")
    _fake_ufg(os.path.join(manual, "Cotton80"), 80)
    builder = ufg_tfds.Cotton80(data_dir=str(tmp_path / "tfds"))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual))
    assert builder.info.splits["train"].num_examples == 80
    assert builder.info.splits["test"].num_examples == 80
    labels = sorted(int(ex["label"]) for ex in builder.as_dataset(split="test"))
    assert labels == list(range(80))
    image = next(iter(builder.as_dataset(split="train")))["image"]
    assert image.shape == (12, 10, 3)


def test_soy_ageing_config_reads_its_subset(tmp_path):
    manual = str(tmp_path / "manual")
    _fake_ufg(os.path.join(manual, "SoyAgeing-R3"), 198)
    builder = ufg_tfds.SoyAgeing(config="r3", data_dir=str(tmp_path / "tfds"))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual))
    assert builder.info.splits["train"].num_examples == 198


def test_missing_manual_dir_gives_download_instructions(tmp_path):
    builder = ufg_tfds.SoyLocal(data_dir=str(tmp_path / "tfds"))
    with pytest.raises(
        Exception, match=r"(?s)github.com/XiaohanYu-GU/Ultra-FGVC.*SoyLocal/anno/train.txt"
    ):
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=str(tmp_path / "empty"))
        )
