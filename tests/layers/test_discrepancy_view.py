"""DiscrepancyView: mask modes, fills, thresholds, boxes, crops, config."""

import numpy as np
import pytest
from conftest import to_numpy
from csdnet_test_case import TestCase

from keras_csdnet.layers import DiscrepancyView
from keras_csdnet.layers.crop import crop_and_resize
from keras_csdnet.layers.discrepancy_view import border_mean
from keras_csdnet.layers.discrepancy_view import mask_boxes


def test_mask_boxes():
    mask = np.zeros((3, 4, 4, 1), "float32")
    mask[0, 1:3, 2, 0] = 1  # rows 1-2, col 2
    mask[1] = 1  # everything
    # mask[2] empty -> full image
    boxes = to_numpy(mask_boxes(mask))
    np.testing.assert_allclose(boxes[0], [0.25, 0.5, 0.75, 0.75])
    np.testing.assert_allclose(boxes[1], [0, 0, 1, 1])
    np.testing.assert_allclose(boxes[2], [0, 0, 1, 1])


def test_crop_and_resize_identity_zoom_and_flip():
    img = np.arange(8 * 8, dtype="float32").reshape(1, 8, 8, 1)
    same = to_numpy(crop_and_resize(img, np.array([[0, 0, 1, 1]], "float32")))
    np.testing.assert_allclose(same, img, atol=1e-3)
    flipped = to_numpy(crop_and_resize(img, np.array([[0, 0, 1, 1]], "float32"), np.ones(1)))
    np.testing.assert_allclose(flipped, img[:, :, ::-1], atol=1e-3)
    # Zoom on the left half of a horizontal ramp f(x) = x: output pixel x
    # samples the input at 0.5 * x - 0.25 (pixel centres aligned).
    ramp = np.tile(np.arange(8, dtype="float32"), (8, 1)).reshape(1, 8, 8, 1)
    half = to_numpy(crop_and_resize(ramp, np.array([[0, 0, 1, 0.5]], "float32")))
    np.testing.assert_allclose(half[0, 3, 1:, 0], 0.5 * np.arange(1, 8) - 0.25, atol=1e-4)


@pytest.mark.parametrize("mode", ["crop", "keep", "erase"])
def test_discrepancy_view_modes(mode):
    images = np.full((2, 16, 16, 3), 200.0, "float32")
    pattern = np.zeros((2, 4, 4, 1), "float32")
    pattern[:, 0, 0, 0] = 5.0  # only the top-left cell is above any threshold
    view = to_numpy(DiscrepancyView(mask_mode=mode, seed=1)(images, pattern))
    assert view.shape == images.shape
    if mode == "crop":
        np.testing.assert_allclose(view, 200.0, atol=1e-3)  # zoom of a flat image
    elif mode == "keep":
        assert view[:, :3, :3].min() == 200.0 and view[:, 8:, 8:].max() == 0.0
    else:
        assert view[:, :3, :3].max() == 0.0 and view[:, 8:, 8:].min() == 200.0


def test_border_mean_is_the_mean_of_the_outermost_pixels():
    images = np.random.default_rng(0).uniform(0, 255, (2, 5, 7, 3)).astype("float32")
    frame = np.ones((5, 7), bool)
    frame[1:-1, 1:-1] = False
    expected = images[:, frame].mean(axis=1)  # (2, 3)
    got = to_numpy(border_mean(images))
    assert got.shape == (2, 1, 1, 3)
    np.testing.assert_allclose(got[:, 0, 0], expected, rtol=1e-5)


@pytest.mark.parametrize("mode", ["keep", "erase"])
def test_discrepancy_view_border_fill_uses_the_background(mode):
    # Dark-on-light: white paper (255), a grey "stroke" inside; zeros would paint
    # black (ink) over the hidden cells, `border` paints the paper's white.
    images = np.full((2, 16, 16, 1), 255.0, "float32")
    images[:, 5:11, 5:11] = 40.0
    pattern = np.zeros((2, 4, 4, 1), "float32")
    pattern[:, 0, 0, 0] = 5.0
    zeros = to_numpy(DiscrepancyView(mask_mode=mode, seed=1)(images, pattern))
    border = to_numpy(DiscrepancyView(mask_mode=mode, mask_fill="border", seed=1)(images, pattern))
    hidden = zeros == 0.0
    assert hidden.any()
    np.testing.assert_allclose(border[hidden], 255.0, rtol=1e-5)
    np.testing.assert_array_equal(border[~hidden], images[~hidden])
    if mode == "keep":  # the stroke lies outside the kept top-left cell: hidden
        np.testing.assert_allclose(border[:, 5:11, 5:11], 255.0, rtol=1e-5)


def test_discrepancy_view_threshold_is_random_per_image():
    layer = DiscrepancyView(threshold_low=0.1, threshold_high=0.9, seed=3)
    pattern = np.linspace(0, 1, 2 * 64).reshape(2, 8, 8, 1).astype("float32")
    _, theta, _ = layer.masks(pattern)
    theta = to_numpy(theta).ravel()
    assert ((theta >= 0.1) & (theta <= 0.9)).all() and theta[0] != theta[1]


def test_discrepancy_view_bad_arguments():
    with pytest.raises(ValueError, match="mask_mode"):
        DiscrepancyView(mask_mode="blur")
    with pytest.raises(ValueError, match="mask_fill"):
        DiscrepancyView(mask_mode="erase", mask_fill="white")
    with pytest.raises(ValueError, match="threshold_low"):
        DiscrepancyView(threshold_low=-0.1)
    with pytest.raises(ValueError, match="threshold_high"):
        DiscrepancyView(threshold_low=0.2, threshold_high=1.5)
    with pytest.raises(ValueError, match="threshold_low"):
        DiscrepancyView(threshold_low=0.7, threshold_high=0.6)


class TestDiscrepancyView(TestCase):
    @pytest.mark.parametrize(
        "mode,fill", [("keep", "zeros"), ("erase", "border"), ("crop", "zeros")]
    )
    def test_layer_and_serialization(self, mode, fill):
        images = np.full((2, 16, 16, 3), 100.0, "float32")
        pattern = np.random.default_rng(0).normal(size=(2, 4, 4, 1)).astype("float32")
        self.run_layer_test(
            DiscrepancyView,
            dict(threshold_low=0.3, threshold_high=0.5, mask_mode=mode, mask_fill=fill, seed=2),
            (images, pattern),
            expected_output_shape=(2, 16, 16, 3),
            expected_num_trainable_weights=0,
        )

    def test_default_mask_mode_is_erase(self):
        assert DiscrepancyView().mask_mode == "erase"


def _view_inputs():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (2, 16, 16, 3)).astype("float32")
    pattern = rng.normal(size=(2, 8, 8, 1)).astype("float32")
    return images, pattern


def test_random_crop_is_applied_on_top_of_the_mask():
    images, pattern = _view_inputs()
    erased = to_numpy(DiscrepancyView(seed=4)(images, pattern))
    cropped = to_numpy(DiscrepancyView(seed=4, random_crop=0.5)(images, pattern))
    assert cropped.shape == images.shape
    assert not np.allclose(cropped, erased)
    # The erased pixels are black; a zoomed crop of the erased image still has
    # black pixels, and no value outside the image's range.
    assert (erased == 0).any() and cropped.min() >= 0 and cropped.max() <= 255.001
    # random_crop=1: a full-size crop, i.e. the erased image or its mirror.
    full = to_numpy(DiscrepancyView(seed=4, random_crop=1.0)(images, pattern))
    for i in range(2):
        assert np.allclose(full[i], erased[i], atol=1e-3) or np.allclose(
            full[i], erased[i, :, ::-1], atol=1e-3
        )
    assert DiscrepancyView(random_crop=True).random_crop == 0.6
    assert DiscrepancyView(random_crop=False).random_crop is None


def test_warmup_view_ignores_the_pattern_map_until_its_epoch():
    images, pattern = _view_inputs()
    outputs = {}
    for epoch in (0, 2):
        for sign in (1, -1):
            layer = DiscrepancyView(seed=5, warmup_epochs=2)
            layer.set_epoch(epoch)
            outputs[epoch, sign] = to_numpy(layer(images, sign * pattern))
    # In warm-up (epoch 0 < 2) the view is a random crop: the same for any map.
    np.testing.assert_allclose(outputs[0, 1], outputs[0, -1])
    assert not (outputs[0, 1] == 0).all(axis=-1).any()  # nothing erased
    # From epoch 2 the map drives the mask: opposite maps hide other cells.
    assert not np.allclose(outputs[2, 1], outputs[2, -1])
    # Without a warm-up the layer has no epoch variable (files stay as they were).
    assert len(DiscrepancyView().weights) == len(DiscrepancyView(warmup_epochs=1).weights) - 1


def test_random_crop_and_warmup_bad_arguments():
    with pytest.raises(ValueError, match="random_crop"):
        DiscrepancyView(random_crop=0.0)
    with pytest.raises(ValueError, match="random_crop"):
        DiscrepancyView(random_crop=1.5)
    with pytest.raises(ValueError, match="warmup_epochs"):
        DiscrepancyView(warmup_epochs=-1)
    with pytest.raises(ValueError, match="warmup_epochs"):
        DiscrepancyView(warmup_epochs=1.5)


class TestDiscrepancyViewOptions(TestCase):
    def test_layer_and_serialization(self):
        images, pattern = _view_inputs()
        layer, _ = self.run_layer_test(
            DiscrepancyView,
            dict(random_crop=0.7, warmup_epochs=3, seed=1),
            (images, pattern),
            expected_output_shape=(2, 16, 16, 3),
            expected_num_non_trainable_weights=1,  # the epoch
        )
        assert layer.get_config()["random_crop"] == 0.7
        assert layer.get_config()["warmup_epochs"] == 3
