"""A run killed with SIGKILL resumes from its backup as if never stopped."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
from conftest import tiny_arrays
from conftest import tiny_model
from conftest import to_numpy

WORKER = os.path.join(os.path.dirname(__file__), "resume_worker.py")


def run_worker(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, WORKER, *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_killed_run_resumes_to_the_same_state(tmp_path):
    sys.path.insert(0, os.path.dirname(WORKER))
    try:
        import resume_worker
    finally:
        sys.path.pop(0)
    uninterrupted = resume_worker.train(str(tmp_path / "uninterrupted"))

    backup, result = tmp_path / "backup", tmp_path / "result.json"
    killed = run_worker(backup, result, 7)  # mid-epoch 3 (3 steps per epoch)
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert not result.exists()
    metadata = json.loads((backup / "training_metadata.json").read_text())
    assert metadata["epoch"] == 2

    resumed = run_worker(backup, result)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    resumed = json.loads(result.read_text())

    assert resumed["epochs_run"] == [2, 3]
    assert resumed["steps"] == uninterrupted["steps"] == 12
    # 12 steps of 4 images, each enqueued twice, in a 20-slot queue.
    assert resumed["pointer"] == uninterrupted["pointer"] == (12 * 8) % 20
    assert resumed["labels"] == uninterrupted["labels"]
    assert resumed["seed_state"] == uninterrupted["seed_state"]
    np.testing.assert_allclose(resumed["features"], uninterrupted["features"], atol=1e-6)
    np.testing.assert_allclose(resumed["loss"], uninterrupted["loss"][2:], rtol=1e-6)


def test_keras_file_keeps_the_views_random_state(tmp_path):
    x, y = tiny_arrays(n=8)
    for view in ("random", "discrepancy"):
        model = tiny_model(view=view)
        model.compile()
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
        state = to_numpy(model.view_generator.seed_generator.state.value)
        assert state.tolist() != [0, 0]
        path = str(tmp_path / f"{view}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        np.testing.assert_array_equal(
            to_numpy(loaded.view_generator.seed_generator.state.value), state
        )
        images = x.astype("float32")
        np.testing.assert_allclose(
            to_numpy(loaded(images, training=True)["aug_logits"]),
            to_numpy(model(images, training=True)["aug_logits"]),
            atol=1e-5,
        )
