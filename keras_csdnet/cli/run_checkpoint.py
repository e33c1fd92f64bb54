"""RunCheckpoint: the end-of-epoch files of a `csdnet train` run, crash-safe."""

import keras

from keras_csdnet.cli import run_directory as rd


class RunCheckpoint(keras.callbacks.Callback):
    """Writes a run's checkpoints at each epoch end, each one whole or not at all.

    In this order: `best.keras` when `val_accuracy` beats the best so far
    (the earliest epoch wins ties), `last.keras`, then `progress.json` with
    the number of epochs `last.keras` holds. A run killed at any moment
    leaves the previous files intact, and `csdnet train --resume` continues
    from the epoch `progress.json` names.

    Args:
        run_dir: the `RunDirectory`.
        best_so_far: float or None, the best validation accuracy of the
            epochs already trained (on resume).
        has_val: bool; without validation data only `last.keras` is kept.
    """

    def __init__(self, run_dir, best_so_far=None, has_val=True):
        super().__init__()
        self.run_dir = run_dir
        self.best = best_so_far
        self.has_val = has_val

    def on_epoch_end(self, epoch, logs=None):
        accuracy = (logs or {}).get("val_accuracy")
        if self.has_val and accuracy is not None:
            accuracy = float(accuracy)
            if self.best is None or accuracy > self.best:
                self.best = accuracy
                rd.atomic_write(self.run_dir.file(rd.BEST), self.model.save)
        rd.atomic_write(self.run_dir.file(rd.LAST), self.model.save)
        self.run_dir.write_progress(epoch + 1, self.best)
