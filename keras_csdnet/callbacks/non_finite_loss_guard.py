"""NonFiniteLossGuard: stop training at the first NaN or infinite loss."""

import math

import keras

from keras_csdnet.errors import NonFiniteLossError


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Raises `NonFiniteLossError` as soon as the training loss is NaN or inf.

    One NaN pixel, an infinite label or a diverging learning rate makes the
    loss NaN; from that step on every weight the gradient touches is NaN,
    while `fit` would go on reporting epochs and an accuracy. This callback
    ends `fit` instead, with a message naming the epoch and the batch (both
    counted from 1, as the progress bar counts epochs) and the usual causes.
    `CSDNet.fit` adds it unless the callbacks already hold one.

    Unlike `keras.callbacks.TerminateOnNaN`, it raises (so a script cannot
    carry on with a broken model) and is safe for Keras' asynchronous
    callback dispatch: the check runs off the training thread and the error
    surfaces at the next batch or at the end of the epoch.

    Examples:
    ```python
    import keras, numpy as np
    from keras_csdnet.callbacks import NonFiniteLossGuard
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 2)), np.ones((4, 1)), callbacks=[NonFiniteLossGuard()], verbose=0)
    ```
    """

    async_safe = True

    def __init__(self):
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        raise NonFiniteLossError(
            f"Training stopped: the loss became {float(loss)} at epoch {self._epoch + 1}, "
            f"batch {batch + 1}; the weights updated from it are no longer usable. "
            "Check that batch's images and labels for NaN or inf values "
            "(`numpy.isfinite(images).all()`), lower `learning_rate`, or, with "
            "mixed precision, train in float32; then rebuild or reload the model."
        )
