"""EpochTracker: tells a model's layers which training epoch is starting."""

import keras


class EpochTracker(keras.callbacks.Callback):
    """Calls `set_epoch(epoch)` on every layer of the model that has one.

    `CSDNet.fit` adds it when a part needs the epoch (a `DiscrepancyView`
    with `warmup_epochs`), so a resumed `fit(initial_epoch=...)` continues
    the schedule where it was. The value lives in the layer's variable, so it
    reaches the compiled step on every backend.

    Examples:
    ```python
    import keras_csdnet
    train, _ = keras_csdnet.data.synthetic_cultivars(
        num_classes=3, image_size=64, train_per_class=2, test_per_class=1, seed=0)
    model = keras_csdnet.CSDNet(backbone="resnet18", warmup_epochs=1, queue_size=16)
    model.fit(train, epochs=2, verbose=0)   # adds an EpochTracker itself
    ```
    """

    def on_epoch_begin(self, epoch, logs=None):
        for layer in self.model._flatten_layers(include_self=False):
            set_epoch = getattr(layer, "set_epoch", None)
            if callable(set_epoch):
                set_epoch(epoch)
