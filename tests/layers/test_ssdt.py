"""SSDT: the distillation term with its temperature and direction, config."""

import numpy as np
import pytest
from conftest import to_numpy
from csdnet_test_case import TestCase

from keras_csdnet import losses
from keras_csdnet.layers import SSDT


class TestSSDT(TestCase):
    def test_layer_and_serialization(self):
        self.run_layer_test(
            SSDT,
            dict(temperature=2.0, distill_direction="symmetric", beta=0.5),
            (np.zeros((2, 3), "float32"), np.ones((2, 3), "float32")),
            expected_output_shape=(),
            expected_num_trainable_weights=0,
        )

    def test_is_the_distillation_loss(self):
        rng = np.random.default_rng(0)
        raw, aug = rng.normal(size=(2, 4, 5)).astype("float32")
        for direction in losses.DISTILL_DIRECTIONS:
            layer = SSDT(temperature=3.0, distill_direction=direction)
            np.testing.assert_allclose(
                to_numpy(layer(raw, aug)),
                to_numpy(losses.distillation_loss(raw, aug, 3.0, direction)),
                rtol=1e-6,
            )

    @pytest.mark.parametrize(
        "kwargs,match",
        [
            (dict(temperature=0.0), "temperature"),
            (dict(beta=-0.1), "beta"),
            (dict(distill_direction="up"), r"distill_direction.*aug_to_raw"),
        ],
    )
    def test_bad_arguments(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            SSDT(**kwargs)
