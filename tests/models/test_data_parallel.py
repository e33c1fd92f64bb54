"""Data-parallel training on two simulated CPU devices matches one device."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

WORKER = os.path.join(os.path.dirname(__file__), "data_parallel_worker.py")

pytestmark = pytest.mark.skipif(
    keras.backend.backend() == "torch",
    reason="Keras' PyTorch backend has no data-parallel engine (see the README).",
)


def run_worker(view):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if keras.backend.backend() == "jax":
        env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    done = subprocess.run(
        [sys.executable, WORKER, view], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("view", ["random", "discrepancy"])
def test_two_devices_match_one(view):
    runs = run_worker(view)
    one, two = runs["one"], runs["two"]
    assert one["steps"] == two["steps"] == 4
    # 4 steps of 8 images, each enqueued twice (raw and view), in a 20-slot queue.
    assert one["pointer"] == two["pointer"] == (4 * 16) % 20
    assert one["labels"] == two["labels"]
    np.testing.assert_allclose(two["features"], one["features"], atol=1e-5)
    for key in ("loss", "cls_loss", "qc_loss", "ssdt_loss"):
        np.testing.assert_allclose(two["history"][key], one["history"][key], rtol=1e-5, atol=1e-6)
    if keras.backend.backend() == "jax" and view == "random":
        assert "13 samples" in runs["uneven"] and "drop_remainder=True" in runs["uneven"]
