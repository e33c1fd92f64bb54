"""The folder pipeline's augmentation keeps the images' colours; eval = `load_image`."""

import numpy as np
import pytest
from PIL import Image

from keras_csdnet.data import load_image
from keras_csdnet.data import make_dataset
from keras_csdnet.data import train_augmentation
from keras_csdnet.data.pipeline import saturation_range

SIZE = 48


def _colour_texture(path, seed=0):
    """A stationary texture of saturated tiles: any crop has the image's statistics."""
    rng = np.random.default_rng(seed)
    palette = np.array([[200, 40, 40], [40, 160, 60], [50, 70, 200], [220, 200, 40]], np.uint8)
    tiles = rng.integers(0, 4, (10, 14))
    Image.fromarray(palette[np.kron(tiles, np.ones((6, 6), int))]).save(path)
    return path


def _mean_and_colour_spread(images):
    x = np.asarray(images, np.float64)
    return x.mean(), (x.max(-1) - x.min(-1)).mean()


def _images(ds):
    return np.concatenate([np.asarray(x) for x, _ in ds])


def test_training_augmentation_keeps_mean_and_colour_spread(tmp_path):
    # A saturation factor given as one number means (0, f) in Keras and made
    # every training image nearly grey while evaluation stayed in colour.
    path = _colour_texture(str(tmp_path / "texture.png"))
    entries = [(path, 0)] * 48
    train = _images(make_dataset(entries, SIZE, training=True, batch_size=16, seed=0))
    evaluation = _images(make_dataset(entries, SIZE, training=False, batch_size=16))
    train_mean, train_spread = _mean_and_colour_spread(train)
    eval_mean, eval_spread = _mean_and_colour_spread(evaluation)
    assert eval_spread > 100  # the texture is colourful
    assert abs(train_mean - eval_mean) <= 0.06 * eval_mean
    assert abs(train_spread - eval_spread) <= 0.08 * eval_spread
    # Per image the jitter is mild: no training image loses its colour.
    per_image = (train.max(-1).astype(int) - train.min(-1)).mean(axis=(1, 2))
    assert per_image.min() >= 0.75 * eval_spread


def test_every_augmentation_factor_is_centred_on_no_change():
    layers = {type(layer).__name__: layer for layer in train_augmentation(SIZE, color_jitter=0.1)}
    rotation = layers["RandomRotation"].factor
    assert np.allclose(rotation, (-10 / 360, 10 / 360))
    jitter = layers["RandomColorJitter"]
    assert np.allclose(jitter.random_brightness.factor, (-0.1, 0.1))
    low, high = jitter.random_contrast.factor  # Keras draws from [1 - low, 1 + high]
    assert np.allclose((1 - low, 1 + high), (0.9, 1.1))
    # Keras multiplies the saturation by f / (1 - f); 0.5 is the identity.
    low, high = jitter.random_saturation.factor
    assert np.allclose((low / (1 - low), high / (1 - high)), (0.9, 1.1))
    assert low < 0.5 < high and np.allclose(saturation_range(0.0), (0.5, 0.5))
    with pytest.raises(ValueError, match="color_jitter"):
        train_augmentation(SIZE, color_jitter=1.5)
    with pytest.raises(ValueError, match="rotation_degrees"):
        train_augmentation(SIZE, rotation_degrees=-5)


def test_grey_images_stay_grey_in_training(tmp_path):
    rng = np.random.default_rng(1)
    path = str(tmp_path / "grey.png")
    Image.fromarray(rng.integers(0, 256, (60, 50), dtype=np.uint8)).save(path)
    train = _images(make_dataset([(path, 0)] * 8, SIZE, training=True, batch_size=8))
    assert np.abs(train.max(-1).astype(int) - train.min(-1)).max() <= 1


def test_evaluation_pipeline_is_load_image(tmp_path):
    # Non-square RGBA: the resize keeps the aspect, the crop is central and
    # transparent pixels are composited on white, in both paths alike.
    rng = np.random.default_rng(2)
    rgba = rng.integers(0, 256, (70, 45, 4), dtype=np.uint8)
    rgba[:10, :, 3] = 0
    path = str(tmp_path / "leaf.png")
    Image.fromarray(rgba, "RGBA").save(path)
    for resize in ("shorter_side", "square"):
        batch = _images(make_dataset([(path, 0)], SIZE, training=False, resize=resize))
        np.testing.assert_array_equal(batch[0], load_image(path, SIZE, resize=resize))
    assert load_image(path, SIZE).shape == (SIZE, SIZE, 3)
    with pytest.raises(ValueError, match="resize"):
        load_image(path, SIZE, resize="stretch")
