"""Trains a tiny CSDNet under `keras.callbacks.BackupAndRestore`.

Run as a script by `test_resume.py`: `python resume_worker.py BACKUP_DIR
RESULT.json [KILL_AT_STEP]`. With `KILL_AT_STEP` the process SIGKILLs itself
right after that optimizer step, as a crash would; without it, it trains to
the end (resuming from `BACKUP_DIR` if a backup is there) and writes the
step count, the loss history and the memory queue to `RESULT.json`.
"""

import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
from conftest import tiny_arrays  # noqa: E402
from conftest import tiny_model  # noqa: E402

EPOCHS = 4
BATCH_SIZE = 4
SAMPLES = 12  # 3 steps per epoch


class KillAtStep(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def train(backup_dir, kill_at=None):
    keras.utils.set_random_seed(0)
    x, y = tiny_arrays(n=SAMPLES)
    model = tiny_model(view="random", queue_size=20)
    model.compile()
    callbacks = [keras.callbacks.BackupAndRestore(backup_dir)]
    if kill_at is not None:
        callbacks.append(KillAtStep(kill_at))
    history = model.fit(
        x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=False, callbacks=callbacks, verbose=0
    )
    features, labels = (keras.ops.convert_to_numpy(v) for v in model.queue.read())
    return {
        "steps": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        "loss": [float(v) for v in history.history["loss"]],
        "epochs_run": list(history.epoch),
        "pointer": int(keras.ops.convert_to_numpy(model.queue.pointer.value)),
        "labels": labels.tolist(),
        "features": features.tolist(),
        "seed_state": keras.ops.convert_to_numpy(
            model.view_generator.seed_generator.state.value
        ).tolist(),
    }


if __name__ == "__main__":
    kill = int(sys.argv[3]) if len(sys.argv) > 3 else None
    result = train(sys.argv[1], kill)
    with open(sys.argv[2], "w") as f:
        json.dump(result, f)
