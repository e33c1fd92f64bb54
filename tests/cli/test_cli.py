"""The `csdnet` command line, end to end on tiny built-in data, on this backend."""

import argparse
import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml
from PIL import Image

from keras_csdnet.cli import COMMANDS
from keras_csdnet.cli import main
from keras_csdnet.cli import train as train_command
from keras_csdnet.data import synthetic_cultivar_arrays

# The smallest run that exercises everything: 3 classes, 2 training images each,
# ResNet-18 at 64 px (a 2 x 2 pattern map), 1 epoch.
TINY = [
    "--classes", "3", "--train-per-class", "2", "--test-per-class", "2",
    "--image-size", "64", "--batch-size", "4", "--epochs", "1", "--verbose", "0",
]  # fmt: skip


def run_cli(capsys, *argv):
    """`(exit status, stdout, stderr)` of one in-process command."""
    try:
        status = main(list(argv))
    except SystemExit as e:  # argparse: --help, usage errors
        status = e.code
    out = capsys.readouterr()
    return status, out.out, out.err


def assert_png(path):
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.size[0] > 50 and image.size[1] > 50


def assert_one_line_error(status, err, *words):
    assert status not in (0, None)
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert lines[0].startswith("csdnet") and "error" in lines[0]
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("cli") / "run")
    assert main(["train", "--synthetic", "--output", path, *TINY]) == 0
    return path


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory, run_dir):
    """`root/<class>/<image>.png` of the run's classes (synthetic test images)."""
    root = tmp_path_factory.mktemp("folder")
    names = open(os.path.join(run_dir, "classes.txt")).read().split()
    _, _, (x, y) = synthetic_cultivar_arrays(3, 80, 2, 3, 7, 1)
    for i, (image, label) in enumerate(zip(x, y)):
        os.makedirs(root / names[label], exist_ok=True)
        Image.fromarray(image).save(root / names[label] / f"{i}.png")
    return str(root)


def test_every_command_has_help(capsys):
    for command in COMMANDS:
        status, out, _ = run_cli(capsys, command, "--help")
        assert status == 0 and f"csdnet {command}" in out
    status, out, _ = run_cli(capsys, "--help")
    assert status == 0 and all(c in out for c in COMMANDS)


def test_train_writes_the_run_directory(run_dir):
    config = yaml.safe_load(open(os.path.join(run_dir, "config.yaml")))
    assert config["run_format"] == 1 and config["status"] == "finished"
    settings = config["settings"]
    assert settings["image_size"] == 64 and settings["epochs"] == 1 and settings["seed"] == 0
    assert settings["learning_rate"] == 3e-4  # CSDNet's default, resolved
    assert config["data"]["train_images"] == 6 and config["data"]["test_images"] == 6
    import keras

    assert config["versions"]["backend"] == keras.backend.backend()
    assert config["model"]["num_classes"] == 3
    with open(os.path.join(run_dir, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1
    assert {"loss", "cls_loss", "qc_loss", "ssdt_loss", "val_accuracy"} <= set(rows[0])
    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    assert metrics["selected_on"] == "val_accuracy" and metrics["best_epoch"] == 1
    assert 0 <= metrics["test"]["top1_accuracy"] <= metrics["test"]["top5_accuracy"] <= 1
    assert metrics["validation"]["images"] == 3
    names = open(os.path.join(run_dir, "classes.txt")).read().split()
    assert len(names) == 3 and names[0].startswith("c00_")
    for name in ("best.keras", "last.keras"):
        assert os.path.getsize(os.path.join(run_dir, name)) > 0
    assert_png(os.path.join(run_dir, "curves.png"))


def test_train_refuses_to_overwrite_a_finished_run(run_dir, capsys):
    status, _, err = run_cli(capsys, "train", "--synthetic", "--output", run_dir, *TINY)
    assert_one_line_error(status, err, "finished run", "--overwrite")


def test_evaluate_writes_accuracy_and_the_confusion_matrix(run_dir, capsys):
    status, out, _ = run_cli(capsys, "evaluate", run_dir)
    assert status == 0 and "top-1" in out
    folder = os.path.join(run_dir, "evaluate")
    result = json.load(open(os.path.join(folder, "evaluation.json")))
    assert result["images"] == 6 and result["split"] == "test"
    assert 0 <= result["top1_accuracy"] <= result["top5_accuracy"] <= 1
    with open(os.path.join(folder, "confusion_matrix.csv")) as f:
        rows = list(csv.reader(f))
    assert len(rows) == 4 and sum(int(v) for row in rows[1:] for v in row[1:]) == 6
    with open(os.path.join(folder, "per_class.csv")) as f:
        assert len(list(csv.DictReader(f))) == 3
    assert_png(os.path.join(folder, "confusion_matrix.png"))


def test_evaluate_a_model_file_on_a_folder(run_dir, image_folder, capsys, tmp_path):
    model = os.path.join(run_dir, "best.keras")
    out_dir = str(tmp_path / "eval")
    status, out, _ = run_cli(
        capsys, "evaluate", model, image_folder, "--split", "all", "--output", out_dir
    )
    assert status == 0, out
    assert json.load(open(os.path.join(out_dir, "evaluation.json")))["images"] == 9


def test_predict_names_the_run_classes(run_dir, image_folder, capsys):
    names = open(os.path.join(run_dir, "classes.txt")).read().split()
    status, out, _ = run_cli(
        capsys, "predict", run_dir, image_folder, "--top-k", "2", "--format", "json"
    )
    assert status == 0
    rows = json.loads(out)
    assert len(rows) == 9
    for row in rows:
        assert [p["class"] in names for p in row["predictions"]] == [True, True]
        probabilities = [p["probability"] for p in row["predictions"]]
        assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1
    one = os.path.join(image_folder, names[0], os.listdir(os.path.join(image_folder, names[0]))[0])
    status, out, _ = run_cli(capsys, "predict", run_dir, one, "--format", "csv", "--top-k", "1")
    assert status == 0
    (row,) = list(csv.DictReader(out.splitlines()))
    assert row["class"] in names and row["rank"] == "1"
    status, out, _ = run_cli(capsys, "predict", run_dir, one)
    assert status == 0 and os.path.basename(one) in out


def test_export_tflite_from_the_run(run_dir, capsys):
    status, out, _ = run_cli(capsys, "export", run_dir, "--format", "tflite")
    assert status == 0 and "top-1 agreement 1.000" in out
    meta = json.load(open(os.path.join(run_dir, "export", "model.json")))
    assert meta["image_size"] == 64 and len(meta["class_names"]) == 3
    assert os.path.getsize(os.path.join(run_dir, "export", "model.tflite")) > 0


@pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("onnx", "tf2onnx", "onnxruntime")),
    reason="the onnx extra is not installed",
)
def test_export_onnx(run_dir, capsys, tmp_path):
    output = str(tmp_path / "m.onnx")
    status, out, err = run_cli(capsys, "export", run_dir, "--format", "onnx", "--output", output)
    assert status == 0, err
    assert os.path.getsize(output) > 0


def test_visualize_draws_the_pictures(run_dir, capsys):
    other = os.path.join(run_dir, "last.keras")
    status, out, err = run_cli(capsys, "visualize", run_dir, "--compare", other)
    assert status == 0, err
    folder = os.path.join(run_dir, "pictures")
    for name in ("pattern_maps.png", "tsne.png", "confusion_matrix.png"):
        assert_png(os.path.join(folder, name))
    summary = json.load(open(os.path.join(folder, "pictures.json")))
    assert len(summary["separability"]) == 2
    assert all(-1 <= s <= 1 for s in summary["separability"].values())
    assert sorted(summary["confusion_order"]) == sorted(
        open(f"{run_dir}/classes.txt").read().split()
    )


def test_train_on_a_folder_and_resume(image_folder, capsys, tmp_path):
    path = str(tmp_path / "folder_run")
    common = ["--image-size", "64", "--batch-size", "4", "--verbose", "0"]
    argv = ["train", image_folder, "--output", path, "--shots", "1", "--epochs", "1"]
    assert main(argv + common + ["--ssdt", "--no-ddl"]) == 0
    config = yaml.safe_load(open(os.path.join(path, "config.yaml")))
    assert config["data"]["layout"] == "classes" and config["data"]["train_images"] == 3
    assert config["settings"]["ddl"] is False
    status, _, err = run_cli(capsys, "train", "--output", path, "--resume", "--epochs", "2")
    assert status == 0, err
    with open(os.path.join(path, "history.csv")) as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1"]
    assert yaml.safe_load(open(os.path.join(path, "config.yaml")))["settings"]["epochs"] == 2


def test_config_file_then_flags(tmp_path):
    config = tmp_path / "settings.yaml"
    config.write_text("epochs: 7\nimage_size: 96\nmethod:\n  mask_mode: crop\n")
    argv = ["--synthetic", "--output", "x", "--config", str(config), "--epochs", "3"]
    parser = train_command.add_parser(argparse.ArgumentParser().add_subparsers())
    args = parser.parse_args(argv + ["--set", "queue_size=64"])
    settings = train_command.resolve(args)
    assert settings["epochs"] == 3  # the flag wins over the file
    assert settings["image_size"] == 96  # the file wins over the default
    assert settings["method"] == {"mask_mode": "crop", "queue_size": 64}
    assert settings["backbone"] == "resnet18"  # the default


@pytest.fixture
def old_run(run_dir, tmp_path):
    path = str(tmp_path / "old_run")
    shutil.copytree(run_dir, path)
    text = open(os.path.join(path, "config.yaml")).read().replace("run_format: 1", "run_format: 9")
    open(os.path.join(path, "config.yaml"), "w").write(text)
    return path


def test_bad_arguments_give_one_line(run_dir, old_run, image_folder, capsys, tmp_path):
    wrong_size = str(tmp_path / "big.png")
    Image.fromarray(np.zeros((90, 70, 3), np.uint8)).save(wrong_size)
    not_model = str(tmp_path / "notes.keras")
    open(not_model, "w").write("not a model")
    bad_yaml = str(tmp_path / "bad.yaml")
    open(bad_yaml, "w").write("epochs: [1\n")
    random_bytes = str(tmp_path / "photo.jpg")
    open(random_bytes, "wb").write(np.random.default_rng(0).bytes(1000))
    tiny = str(tmp_path / "dot.png")
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tiny)
    cases = [
        (("predict", run_dir, random_bytes), "not an image file"),
        (("predict", run_dir, tiny), "1 x 1 pixels"),
        (("evaluate", str(tmp_path / "missing")), "No such run directory"),
        (("evaluate", not_model), "not a loadable Keras model"),
        (("predict", run_dir, str(tmp_path / "nope.png")), "No such image"),
        (("predict", run_dir, wrong_size, "--resize", "none"), "70 x 90 px"),
        (("predict", run_dir, image_folder, "--top-k", "0"), "--top-k"),
        (("evaluate", old_run), "run format 9"),
        (("evaluate", os.path.join(run_dir, "best.keras")), "pass DATA_DIR"),
        (("train", "--output", str(tmp_path / "r")), "DATA_DIR"),
        (("train", str(tmp_path / "nodata"), "--output", str(tmp_path / "r")), "No such data"),
        (("train", "--synthetic", "--output", str(tmp_path / "r"), "--set", "bogus=1"), "bogus"),
        (("train", "--synthetic", "--output", str(tmp_path / "r"), "--config", bad_yaml), "YAML"),
        (("train", "--synthetic", "--output", str(tmp_path / "r"), "--epochs", "0"), "--epochs"),
        (("train", "--synthetic", "--output", run_dir, "--resume"), "--epochs more than"),
        (("train", "--synthetic", "--output", run_dir, "--resume", "--seed", "5"), "--seed"),
        (("export", run_dir, "--format", "saved_model", "--quantization", "int8"), "tflite"),
        (("export", run_dir, "--format", "pdf"), "invalid choice"),
        (("visualize", run_dir, "--num-images", "0"), "--num-images"),
        (("predict",), "required"),
    ]
    for argv, words in cases:
        status, _, err = run_cli(capsys, *argv)
        assert_one_line_error(status, err, words)
        assert "Traceback" not in err


def test_console_script_module_exits_non_zero_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "keras_csdnet", "evaluate", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("csdnet evaluate: error: No such run directory")
