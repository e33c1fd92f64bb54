"""MemoryQueue: the DDL memory of past embeddings and their labels."""

import keras
from keras import ops

from keras_csdnet.utils.checks import check_int


@keras.saving.register_keras_serializable(package="keras_csdnet")
class MemoryQueue(keras.layers.Layer):
    """FIFO memory of L2-normalised embeddings and labels (the DDL queue).

    The queue holds three non-trainable variables: `features` `(queue_size,
    feature_dim)` float32, `labels` `(queue_size,)` int32 (`-1` marks an empty
    slot) and `pointer` `()` int32, the next slot to write. `enqueue` writes a
    batch of any size with static shapes (no host round trip), wrapping
    around; writing more rows than `queue_size` keeps the last `queue_size`,
    exactly as pushing them one by one would. The variables are saved in
    `.keras` files. `CSDNet` writes the queue only in training steps.

    Args:
        queue_size: int >= 1, number of slots (the paper's iota).
        feature_dim: int >= 1, embedding size `D`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, ...).

    Shapes:
        `enqueue(features, labels)`: `features (N, D)`, `labels (N,)`.
        `read()`: returns copies `(queue_size, D)` and `(queue_size,)`.

    References:
        Fang et al., arXiv 2311.06056 (DDL, "queue contrastive learning").

    Examples:
    ```python
    import numpy as np
    from keras_csdnet.layers import MemoryQueue
    queue = MemoryQueue(queue_size=4, feature_dim=2)
    queue.enqueue(np.ones((3, 2), "float32"), np.array([0, 1, 2]))
    features, labels = queue.read()   # labels: [0, 1, 2, -1]
    ```
    """

    def __init__(self, queue_size, feature_dim, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.queue_size = check_int("queue_size", queue_size)
        self.feature_dim = check_int("feature_dim", feature_dim)
        self.build()

    def build(self, input_shape=None):
        if self.built:
            return
        self.features = self.add_weight(
            shape=(self.queue_size, self.feature_dim),
            initializer="zeros",
            dtype="float32",
            trainable=False,
            name="features",
        )
        self.labels = self.add_weight(
            shape=(self.queue_size,),
            initializer=keras.initializers.Constant(-1),
            dtype="int32",
            trainable=False,
            name="labels",
        )
        self.pointer = self.add_weight(
            shape=(), initializer="zeros", dtype="int32", trainable=False, name="pointer"
        )
        self.built = True

    def read(self):
        """Returns copies of `(features, labels)`, safe to use before `enqueue`."""
        return ops.copy(self.features.value), ops.copy(self.labels.value)

    def enqueue(self, features, labels):
        """Writes `features (N, D)` and `labels (N,)` FIFO, wrapping around."""
        features = ops.stop_gradient(ops.cast(features, "float32"))
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        total = ops.shape(features)[0]
        # Only the last `queue_size` rows can survive; drop the others so the
        # scatter never sees a repeated index.
        kept_features = features[-self.queue_size :]
        kept_labels = labels[-self.queue_size :]
        kept = ops.shape(kept_features)[0]
        start = self.pointer.value + ops.cast(total - kept, "int32")
        indices = ops.mod(start + ops.arange(kept, dtype="int32"), self.queue_size)
        indices = ops.expand_dims(indices, 1)
        self.features.assign(ops.scatter_update(self.features.value, indices, kept_features))
        self.labels.assign(ops.scatter_update(self.labels.value, indices, kept_labels))
        self.pointer.assign(ops.mod(self.pointer.value + ops.cast(total, "int32"), self.queue_size))

    def call(self, features, labels):
        """Enqueues and returns the queue contents as they were before."""
        snapshot = self.read()
        self.enqueue(features, labels)
        return snapshot

    def get_config(self):
        config = super().get_config()
        config.update(queue_size=self.queue_size, feature_dim=self.feature_dim)
        return config
