"""RandomView: random crops and flips, config."""

import numpy as np
from conftest import to_numpy
from csdnet_test_case import TestCase

from keras_csdnet.layers import RandomView


def test_random_view_shape_and_range():
    images = np.random.default_rng(0).uniform(0, 255, (3, 16, 16, 3)).astype("float32")
    view = to_numpy(RandomView(seed=0)(images))
    assert view.shape == images.shape and view.min() >= 0 and view.max() <= 255


class TestRandomView(TestCase):
    def test_layer_and_serialization(self):
        self.run_layer_test(
            RandomView,
            dict(min_scale=0.5, flip=False, seed=1),
            np.zeros((2, 16, 16, 3), "float32"),
            expected_output_shape=(2, 16, 16, 3),
        )
