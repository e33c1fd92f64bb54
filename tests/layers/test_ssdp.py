"""SSDP: kernels, pattern map, enhancement, config."""

import keras
import numpy as np
import pytest
from conftest import to_numpy
from csdnet_test_case import TestCase

from keras_csdnet.layers import SSDP


@pytest.mark.parametrize("kernel_size, h, w", [(3, 5, 6), (5, 2, 3)])
def test_ssdp_shapes_and_pattern_equals_reassembled_features(kernel_size, h, w):
    # (5, 2, 3): the neighbourhood is wider than the map, as on a 2 x 2 ResNet map.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, h, w, 4)).astype("float32")
    layer = SSDP(kernel_size=kernel_size, encoder_kernel_size=3, kernel_channels=8)
    enhanced, pattern = layer(x)
    assert tuple(enhanced.shape) == (2, h, w, 4) and tuple(pattern.shape) == (2, h, w, 1)
    _, kernels = layer.pattern_map(x)
    kernels = to_numpy(kernels)
    np.testing.assert_allclose(kernels.sum(-1), 1.0, rtol=1e-5)
    # Reassemble every channel of X with the kernels (border replicated),
    # then average channels.
    k, p = kernel_size, kernel_size // 2
    padded = np.pad(x, [(0, 0), (p, p), (p, p), (0, 0)], mode="edge")
    want = np.zeros((2, h, w, 4), "float32")
    for i in range(k):
        for j in range(k):
            want += kernels[..., i * k + j : i * k + j + 1] * padded[:, i : i + h, j : j + w]
    np.testing.assert_allclose(to_numpy(pattern)[..., 0], want.mean(-1), rtol=1e-4, atol=1e-5)
    sig = 1 / (1 + np.exp(-to_numpy(pattern)))
    np.testing.assert_allclose(to_numpy(enhanced), x * (1 + sig), rtol=1e-5, atol=1e-5)


def test_ssdp_needs_a_static_feature_map_size():
    # As when a graph is traced for images of unknown height and width.
    with pytest.raises(ValueError, match="static feature-map size"):
        SSDP(kernel_size=3).pattern_map(keras.Input(shape=(None, None, 8)))


def test_ssdp_pattern_stays_within_the_mean_map_range():
    # Even with kernels that favour the border, P cannot collapse to 0: it is a
    # convex combination of channel means (replicated border, not zeros).
    x = np.random.default_rng(1).uniform(1.0, 2.0, size=(2, 2, 2, 4)).astype("float32")
    layer = SSDP(kernel_size=5, encoder_kernel_size=1, kernel_channels=2)
    _, pattern = layer(x)
    means = x.mean(-1)
    pattern = to_numpy(pattern)[..., 0]
    assert (pattern >= means.min((1, 2), keepdims=True) - 1e-5).all()
    assert (pattern <= means.max((1, 2), keepdims=True) + 1e-5).all()


def test_ssdp_bad_arguments():
    with pytest.raises(ValueError, match="kernel_size"):
        SSDP(kernel_size=4)
    with pytest.raises(ValueError, match="kernel_channels"):
        SSDP(kernel_channels=0)


class TestSSDP(TestCase):
    def test_layer_and_serialization(self):
        self.run_layer_test(
            SSDP,
            dict(kernel_size=3, encoder_kernel_size=1, kernel_channels=4),
            np.ones((1, 4, 4, 2), "float32"),
            expected_output_shape=((1, 4, 4, 2), (1, 4, 4, 1)),
            expected_num_trainable_weights=4,
        )


def test_ssdp_on_a_finer_map_enhances_the_last_one_with_the_block_mean():
    rng = np.random.default_rng(2)
    last = rng.normal(size=(2, 3, 3, 6)).astype("float32")
    fine = rng.normal(size=(2, 6, 6, 4)).astype("float32")
    layer = SSDP(kernel_size=3, kernel_channels=8, pattern_stride=16)
    enhanced, pattern = layer(last, fine)
    assert tuple(pattern.shape) == (2, 6, 6, 1) and tuple(enhanced.shape) == (2, 3, 3, 6)
    # The kernels are predicted on the finer map (4 channels in).
    assert tuple(layer.compress.kernel.shape) == (1, 1, 4, 8)
    want_pattern, _ = layer.pattern_map(fine)
    np.testing.assert_allclose(to_numpy(pattern), to_numpy(want_pattern), rtol=1e-5, atol=1e-6)
    blocks = to_numpy(pattern).reshape(2, 3, 2, 3, 2, 1).mean(axis=(2, 4))
    want = last * (1 + 1 / (1 + np.exp(-blocks)))
    np.testing.assert_allclose(to_numpy(enhanced), want, rtol=1e-5, atol=1e-5)


def test_ssdp_pool_to_resizes_when_the_sizes_do_not_divide():
    from keras_csdnet.layers.ssdp import pool_to

    pattern = np.ones((1, 5, 5, 1), "float32") * 3.0
    np.testing.assert_allclose(to_numpy(pool_to(pattern, 3, 3)), np.full((1, 3, 3, 1), 3.0))


def test_ssdp_pattern_stride_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        SSDP(pattern_stride=12)
    with pytest.raises(ValueError, match="pattern_stride"):
        SSDP(pattern_stride=0)
    assert SSDP(pattern_stride=16).get_config()["pattern_stride"] == 16


class TestSSDPFinerMap(TestCase):
    def test_layer_and_serialization(self):
        self.run_layer_test(
            SSDP,
            dict(kernel_size=3, kernel_channels=4, pattern_stride=8),
            (np.ones((2, 2, 2, 6), "float32"), np.ones((2, 8, 8, 3), "float32")),
            expected_output_shape=((2, 2, 2, 6), (2, 8, 8, 1)),
            expected_num_trainable_weights=4,
        )
