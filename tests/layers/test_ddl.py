"""DDL: projection, queue loss and writes, settings, config."""

import numpy as np
import pytest
from conftest import to_numpy
from csdnet_test_case import TestCase

from keras_csdnet import losses
from keras_csdnet.layers import DDL


class TestDDL(TestCase):
    def test_layer_and_serialization(self):
        self.run_layer_test(
            DDL,
            dict(queue_size=8, embedding_dim=4, margin=0.2, alpha=0.5),
            np.ones((2, 6), "float32"),
            expected_output_shape=(2, 4),
            expected_num_trainable_weights=2,
            expected_num_non_trainable_weights=3,
        )

    def test_embeddings_have_unit_norm_and_queue_loss_enqueues(self):
        ddl = DDL(queue_size=8, embedding_dim=4)
        pooled = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
        embeddings = ddl(pooled)
        np.testing.assert_allclose(np.linalg.norm(to_numpy(embeddings), axis=1), 1.0, rtol=1e-5)
        labels = np.array([0, 1, 0])
        loss = ddl.queue_loss(embeddings, labels)
        # The first call sees an empty queue: the batch's own pairs only.
        empty_features = np.zeros((8, 4), "float32")
        expected = losses.queue_contrastive_loss(
            embeddings, labels, empty_features, -np.ones(8, "int32"), ddl.margin
        )
        np.testing.assert_allclose(to_numpy(loss), to_numpy(expected), rtol=1e-5)
        assert to_numpy(ddl.queue.labels).tolist()[:3] == [0, 1, 0]

    @pytest.mark.parametrize(
        "kwargs,match",
        [
            (dict(queue_size=0), "queue_size"),
            (dict(embedding_dim=0), "embedding_dim"),
            (dict(margin=2.0), "margin"),
            (dict(alpha=-1.0), "alpha"),
        ],
    )
    def test_bad_arguments(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            DDL(**kwargs)
