"""Runs `csdnet` with its arguments and SIGKILLs the process after a given step.

`python kill_worker.py STEP ARGS...`: `csdnet ARGS...`, killed right after
optimizer step STEP, as a crash or an out-of-memory kill would end it.
"""

import os
import signal
import sys

import keras

from keras_csdnet.cli import main
from keras_csdnet.models.csdnet import CSDNet


class KillAtStep(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) >= self.step:
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    step = int(sys.argv[1])
    fit = CSDNet.fit

    def fit_then_die(self, *args, **kwargs):
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), KillAtStep(step)]
        return fit(self, *args, **kwargs)

    CSDNet.fit = fit_then_die
    sys.exit(main(sys.argv[2:]))
