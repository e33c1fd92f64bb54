"""One augmentation recipe: it keeps the images' colours, tf.data and PyDataset agree."""

import numpy as np
import pytest
from PIL import Image

from keras_csdnet.data import FewShotSequence
from keras_csdnet.data import augment_image
from keras_csdnet.data import load_image
from keras_csdnet.data import make_dataset
from keras_csdnet.data.augment import jitter_colors
from keras_csdnet.data.augment import rotate

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
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (SIZE, SIZE, 3)).astype(np.float32)
    np.testing.assert_allclose(rotate(image, 0.0), image)
    np.testing.assert_allclose(rotate(image, 360.0), image, atol=1e-2)
    np.testing.assert_allclose(jitter_colors(image, rng, 0.0), image)
    # Brightness, contrast and saturation move by at most `strength` either way.
    shifts = []
    for seed in range(200):
        out = jitter_colors(np.full((4, 4, 3), 128.0), np.random.default_rng(seed), 0.1)
        shifts.append(out.mean() - 128.0)
    assert max(np.abs(shifts)) <= 0.1 * 255 + 1e-3 and abs(np.mean(shifts)) < 3.0
    with pytest.raises(ValueError, match="color_jitter"):
        augment_image(image.astype(np.uint8), SIZE, rng, color_jitter=1.5)
    with pytest.raises(ValueError, match="rotation_degrees"):
        FewShotSequence(np.zeros((2, SIZE, SIZE, 3), np.uint8), [0, 1], SIZE, rotation_degrees=-5)


def test_sequence_and_tf_data_use_the_same_recipe(tmp_path):
    path = _colour_texture(str(tmp_path / "texture.png"))
    big = np.asarray(Image.open(path).convert("RGB"))
    seq = FewShotSequence(np.stack([big] * 8), np.zeros(8), SIZE, batch_size=4, seed=3)
    x, y = seq[0]
    assert x.shape == (4, SIZE, SIZE, 3) and x.dtype == np.uint8 and y.dtype == np.int32
    np.testing.assert_array_equal(seq[0][0], x)  # batch i of epoch e is fixed
    seq.on_epoch_end()
    assert not np.array_equal(seq[0][0], x)
    seq.start_at(0)
    np.testing.assert_array_equal(seq[0][0], x)
    # Both pipelines give augmented images with the evaluation colours.
    train = _images(make_dataset([(path, 0)] * 8, SIZE, training=True, batch_size=4))
    for batch in (x, train):
        mean, spread = _mean_and_colour_spread(batch)
        eval_mean, eval_spread = _mean_and_colour_spread(big)
        assert abs(mean - eval_mean) <= 0.1 * eval_mean
        assert abs(spread - eval_spread) <= 0.15 * eval_spread
    centre = FewShotSequence(np.stack([big] * 2), [0, 1], SIZE, training=False)[0][0]
    np.testing.assert_array_equal(centre[0], centre[1])


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


def test_seeded_passes_depend_on_the_epoch_alone(tmp_path):
    paths = []
    for i in range(5):
        path = str(tmp_path / f"{i}.png")
        _colour_texture(path, seed=i)
        paths.append((path, i % 2))

    def batches(passes, peek=0):
        ds = make_dataset(paths, 16, training=True, batch_size=2, seed=3, passes=passes)
        for _ in range(peek):  # Keras and CSDNet open iterators to peek at a batch
            next(iter(ds))
        return [(x.numpy(), y.numpy()) for x, y in ds]

    whole = batches(range(0, 3))
    resumed = batches(range(1, 3), peek=2)
    assert len(whole) == 9 and len(resumed) == 6  # 3 steps per epoch (2 + 2 + 1)
    for (x, y), (rx, ry) in zip(whole[3:], resumed):
        np.testing.assert_array_equal(rx, x)
        np.testing.assert_array_equal(ry, y)
    first, second = (
        np.concatenate([x for x, _ in whole[:3]]),
        np.concatenate([x for x, _ in whole[3:6]]),
    )
    assert first.shape == second.shape == (5, 16, 16, 3)
    assert not np.array_equal(first, second)  # another order and augmentation per epoch
    with pytest.raises(ValueError, match="passes"):
        make_dataset(paths, 16, training=True, passes=range(0))
