"""Layer shapes, behaviour and serialization round trips."""

import keras
import numpy as np
import pytest
from conftest import to_numpy

from keras_csdnet.layers import SSDP
from keras_csdnet.layers import DiscrepancyView
from keras_csdnet.layers import MemoryQueue
from keras_csdnet.layers import PixelNormalization
from keras_csdnet.layers import RandomView
from keras_csdnet.layers.crop import crop_and_resize
from keras_csdnet.layers.discrepancy_view import border_mean
from keras_csdnet.layers.discrepancy_view import mask_boxes


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
    border = to_numpy(
        DiscrepancyView(mask_mode=mode, mask_fill="border", seed=1)(images, pattern)
    )
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


def test_random_view_shape_and_range():
    images = np.random.default_rng(0).uniform(0, 255, (3, 16, 16, 3)).astype("float32")
    view = to_numpy(RandomView(seed=0)(images))
    assert view.shape == images.shape and view.min() >= 0 and view.max() <= 255


def test_pixel_normalization_modes_and_grey():
    grey = np.full((1, 4, 4, 1), 255, "uint8")
    assert tuple(PixelNormalization("symmetric")(grey).shape) == (1, 4, 4, 3)
    np.testing.assert_allclose(to_numpy(PixelNormalization("symmetric")(grey)), 1.0)
    np.testing.assert_allclose(to_numpy(PixelNormalization("none")(grey)), 255.0)
    out = to_numpy(PixelNormalization("imagenet")(grey))[0, 0, 0]
    np.testing.assert_allclose(out, (1 - np.array([0.485, 0.456, 0.406])) / [0.229, 0.224, 0.225], rtol=1e-5)
    with pytest.raises(ValueError, match="mode"):
        PixelNormalization("zscore")


LAYERS = [
    (lambda: MemoryQueue(queue_size=4, feature_dim=3, name="q"), None),
    (lambda: SSDP(kernel_size=3, encoder_kernel_size=1, kernel_channels=4), (1, 4, 4, 2)),
    (lambda: DiscrepancyView(0.3, 0.5, "keep", seed=2), None),
    (lambda: DiscrepancyView(0.3, 0.5, "erase", seed=2, mask_fill="border"), None),
    (lambda: RandomView(min_scale=0.5, flip=False, seed=1), None),
    (lambda: PixelNormalization("symmetric"), None),
]


@pytest.mark.parametrize("make,shape", LAYERS)
def test_layer_config_round_trip(make, shape):
    layer = make()
    config = layer.get_config()
    clone = layer.__class__.from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer) and restored.get_config() == config
    if shape is not None:  # weights survive a save/load of the layer's variables
        layer(np.ones(shape, "float32"))
        restored(np.ones(shape, "float32"))
        restored.set_weights(layer.get_weights())
        a, b = layer(np.ones(shape, "float32")), restored(np.ones(shape, "float32"))
        np.testing.assert_allclose(to_numpy(a[0]), to_numpy(b[0]))
