"""MemoryQueue: FIFO writes, wrap-around, copies, config."""

import numpy as np
import pytest
from conftest import to_numpy
from csdnet_test_case import TestCase

from keras_csdnet.layers import MemoryQueue


def _queue_state(queue):
    return to_numpy(queue.features), to_numpy(queue.labels), int(to_numpy(queue.pointer))


def test_queue_starts_empty():
    queue = MemoryQueue(queue_size=5, feature_dim=3)
    features, labels, pointer = _queue_state(queue)
    assert features.shape == (5, 3) and labels.shape == (5,)
    assert (labels == -1).all() and pointer == 0
    assert len(queue.non_trainable_variables) == 3 and not queue.trainable_variables


def test_queue_fifo_and_wrap_around():
    queue = MemoryQueue(queue_size=5, feature_dim=2)
    reference = []  # (feature, label) pushed one by one

    def push(n, start):
        feats = np.arange(start, start + n, dtype="float32")[:, None].repeat(2, 1)
        labels = np.arange(start, start + n)
        queue.enqueue(feats, labels)
        reference.extend(labels.tolist())

    push(3, 0)  # slots 0-2
    _, labels, pointer = _queue_state(queue)
    assert labels.tolist() == [0, 1, 2, -1, -1] and pointer == 3
    push(4, 10)  # wraps: slots 3, 4, 0, 1 (a partial batch of another size)
    features, labels, pointer = _queue_state(queue)
    assert labels.tolist() == [12, 13, 2, 10, 11] and pointer == 2
    np.testing.assert_array_equal(features[:, 0], labels.astype("float32"))
    push(12, 100)  # more rows than slots: the last 5 survive, FIFO order kept
    _, labels, pointer = _queue_state(queue)
    assert pointer == (2 + 12) % 5
    expected = np.empty(5, int)
    for i, label in enumerate(reference[-5:]):
        expected[(pointer - 5 + i) % 5] = label
    assert labels.tolist() == expected.tolist()


def test_queue_read_is_a_copy_and_call_returns_old_state():
    queue = MemoryQueue(queue_size=3, feature_dim=1)
    feats, labels = queue(np.ones((2, 1), "float32"), np.array([4, 5]))
    assert to_numpy(labels).tolist() == [-1, -1, -1]
    assert to_numpy(queue.labels).tolist() == [4, 5, -1]


def test_queue_bad_arguments():
    with pytest.raises(ValueError, match="queue_size"):
        MemoryQueue(queue_size=0, feature_dim=2)
    with pytest.raises(ValueError, match="feature_dim"):
        MemoryQueue(queue_size=2, feature_dim=0)


class TestMemoryQueue(TestCase):
    def test_layer_and_serialization(self):
        self.run_layer_test(
            MemoryQueue,
            dict(queue_size=4, feature_dim=3, name="q"),
            (np.ones((2, 3), "float32"), np.array([0, 1])),
            expected_output_shape=((4, 3), (4,)),
            expected_num_trainable_weights=0,
            expected_num_non_trainable_weights=3,
        )
