"""PixelNormalization: the three modes, grey input, config."""

import numpy as np
import pytest
from conftest import to_numpy
from csdnet_test_case import TestCase

from keras_csdnet.layers import PixelNormalization


def test_pixel_normalization_modes_and_grey():
    grey = np.full((1, 4, 4, 1), 255, "uint8")
    assert tuple(PixelNormalization("symmetric")(grey).shape) == (1, 4, 4, 3)
    np.testing.assert_allclose(to_numpy(PixelNormalization("symmetric")(grey)), 1.0)
    np.testing.assert_allclose(to_numpy(PixelNormalization("none")(grey)), 255.0)
    out = to_numpy(PixelNormalization("imagenet")(grey))[0, 0, 0]
    np.testing.assert_allclose(
        out, (1 - np.array([0.485, 0.456, 0.406])) / [0.229, 0.224, 0.225], rtol=1e-5
    )
    with pytest.raises(ValueError, match="mode"):
        PixelNormalization("zscore")


class TestPixelNormalization(TestCase):
    def test_layer_and_serialization(self):
        self.run_layer_test(
            PixelNormalization,
            dict(mode="symmetric"),
            np.zeros((1, 4, 4, 3), "uint8"),
            expected_output_shape=(1, 4, 4, 3),
        )
