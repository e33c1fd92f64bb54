"""DDL: discrepancy-driven learning with a memory queue (the contrastive term)."""

import keras
from keras import ops

from keras_csdnet import losses
from keras_csdnet.layers.memory_queue import MemoryQueue
from keras_csdnet.utils.checks import check_int
from keras_csdnet.utils.checks import check_number


@keras.saving.register_keras_serializable(package="keras_csdnet")
class DDL(keras.layers.Layer):
    """Projection, memory queue and margin contrastive loss `L_qc` of CSDNet.

    `call(pooled)` projects pooled backbone features to L2-normalised
    embeddings; `queue_loss(embeddings, labels)` scores them against each
    other and the queue (`keras_csdnet.losses.queue_contrastive_loss`), then
    writes them to the queue. `CSDNet` adds `alpha * L_qc` to its loss in
    training steps only; inference never runs this layer.

    Args:
        queue_size: int >= 1, queue length (the paper's iota). Default 1024.
        embedding_dim: int >= 1, embedding size. Default 256.
        margin: float in `[-1, 1]`, the margin `xi` for negative pairs.
            Default 0.4.
        alpha: float >= 0, the weight of `L_qc` in the total loss
            `L_cls + alpha * L_qc + beta * L_ssdt`. Default 1.0.
        **kwargs: base `keras.layers.Layer` arguments.

    Shapes:
        `call`: pooled features `(B, C)` -> embeddings `(B, embedding_dim)`
        float32, unit norm.
        `queue_loss(embeddings (N, embedding_dim), labels (N,))` -> scalar.

    References:
        Fang et al., arXiv 2311.06056 (DDL, "queue contrastive learning").

    Examples:
    ```python
    import numpy as np
    from keras_csdnet.layers import DDL
    ddl = DDL(queue_size=8, embedding_dim=4)
    embeddings = ddl(np.ones((2, 16), "float32"))   # (2, 4)
    loss = ddl.queue_loss(embeddings, np.array([0, 1]))
    ```
    """

    def __init__(self, queue_size=1024, embedding_dim=256, margin=0.4, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.queue_size = check_int("queue_size", queue_size)
        self.embedding_dim = check_int("embedding_dim", embedding_dim)
        self.margin = check_number("margin", margin, -1, 1)
        self.alpha = check_number("alpha", alpha, 0)
        self.projection = keras.layers.Dense(
            self.embedding_dim, dtype=self.dtype_policy, name="projection"
        )
        self.queue = MemoryQueue(self.queue_size, self.embedding_dim, name="memory_queue")

    def build(self, pooled_shape):
        self.projection.build(pooled_shape)
        self.built = True

    def call(self, pooled):
        embedding = ops.cast(self.projection(pooled), "float32")
        return ops.normalize(embedding, axis=-1, order=2)

    def queue_loss(self, embeddings, labels):
        """`L_qc` of `embeddings` against the queue and each other; then enqueues them."""
        queue_features, queue_labels = self.queue.read()
        loss = losses.queue_contrastive_loss(
            embeddings, labels, queue_features, queue_labels, self.margin
        )
        self.queue.enqueue(embeddings, labels)
        return loss

    def compute_output_shape(self, pooled_shape):
        return tuple(pooled_shape[:-1]) + (self.embedding_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            queue_size=self.queue_size,
            embedding_dim=self.embedding_dim,
            margin=self.margin,
            alpha=self.alpha,
        )
        return config
