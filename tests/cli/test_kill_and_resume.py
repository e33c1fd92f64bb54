"""`csdnet train` killed with SIGKILL mid-epoch resumes to the uninterrupted run."""

import csv
import json
import os
import subprocess
import sys

import numpy as np

from keras_csdnet.cli import main
from keras_csdnet.export import load_csdnet

WORKER = os.path.join(os.path.dirname(__file__), "kill_worker.py")
# 3 classes x 2 training images in batches of 4: 2 steps per epoch.
RUN = [
    "--synthetic", "--classes", "3", "--train-per-class", "2", "--test-per-class", "1",
    "--image-size", "64", "--batch-size", "4", "--epochs", "3", "--verbose", "0",
]  # fmt: skip


def history(path):
    with open(os.path.join(path, "history.csv"), newline="") as f:
        return list(csv.DictReader(f))


def steps(path):
    model = load_csdnet(os.path.join(path, "last.keras"))
    return int(np.asarray(model.optimizer.iterations))


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    whole, crashed = str(tmp_path / "whole"), str(tmp_path / "crashed")
    assert main(["train", "--output", whole, *RUN]) == 0

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    killed = subprocess.run(
        [sys.executable, WORKER, "3", "train", "--output", crashed, *RUN],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode == -9, killed.stderr[-3000:]
    with open(os.path.join(crashed, "progress.json")) as f:
        assert json.load(f)["epochs_done"] == 1
    assert not os.path.exists(os.path.join(crashed, "metrics.json"))

    assert main(["train", "--output", crashed, "--resume", "--epochs", "3", "--verbose", "0"]) == 0
    done, expected = history(crashed), history(whole)
    assert [row["epoch"] for row in done] == ["0", "1", "2"]
    assert steps(crashed) == steps(whole) == 6
    for row, want in zip(done, expected):
        for key in ("loss", "cls_loss", "qc_loss", "ssdt_loss"):
            np.testing.assert_allclose(float(row[key]), float(want[key]), rtol=1e-5, atol=1e-6)
    with (
        open(os.path.join(crashed, "metrics.json")) as f,
        open(os.path.join(whole, "metrics.json")) as g,
    ):
        a, b = json.load(f), json.load(g)
    assert a["best_epoch"] == b["best_epoch"]
