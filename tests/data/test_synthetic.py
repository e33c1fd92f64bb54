"""The built-in synthetic cultivars."""

import numpy as np
import pytest

from keras_csdnet import data


def test_datasets_shapes_dtypes_and_names():
    train, test = data.synthetic_cultivars(
        num_classes=4, image_size=32, train_per_class=3, test_per_class=2, seed=0, batch_size=5
    )
    assert train.class_names == test.class_names == data.cultivar_names(4, 0)
    assert len(set(train.class_names)) == 4
    images, labels = next(iter(train))
    assert images.dtype.name == "uint8" and tuple(images.shape) == (5, 32, 32, 3)
    assert labels.dtype.name == "int32"
    all_labels = np.concatenate([y.numpy() for _, y in test])
    assert sorted(all_labels.tolist()) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert sum(int(x.shape[0]) for x, _ in train) == 12


def test_deterministic_per_seed():
    (a, ya), (at, _) = data.synthetic_cultivar_arrays(3, 32, 2, 1, seed=5)
    (b, yb), (bt, _) = data.synthetic_cultivar_arrays(3, 32, 2, 1, seed=5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(at, bt)
    np.testing.assert_array_equal(ya, yb)
    (c, _), _ = data.synthetic_cultivar_arrays(3, 32, 2, 1, seed=6)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a[:1], at[:1])  # train and test images differ


def test_classes_are_distinct_trait_combinations():
    traits = data.cultivar_traits(data.synthetic.MAX_CLASSES, seed=1)
    keys = {(t["serration"], t["vein_angle"], t["tip"], len(t["spots"])) for t in traits}
    assert len(keys) == data.synthetic.MAX_CLASSES


def test_global_colour_and_size_do_not_give_the_class_away():
    k = 10
    (x, y), (xt, yt) = data.synthetic_cultivar_arrays(k, 48, 10, 10, seed=0)

    def global_features(images):
        f = images.astype("float32")
        green = (f[..., 1] > f[..., 0] + 20) & (f[..., 1] > f[..., 2] + 20)
        return np.concatenate([f.mean((1, 2)) / 255, green.mean((1, 2))[:, None] * 5], 1)

    f, ft = global_features(x), global_features(xt)
    centroids = np.stack([f[y == c].mean(0) for c in range(k)])
    pred = np.argmin(((ft[:, None] - centroids[None]) ** 2).sum(-1), 1)
    accuracy = (pred == yt).mean()
    assert accuracy < 2.5 / k, accuracy  # near chance (0.1), far from a real classifier


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(num_classes=1), "num_classes"),
        (dict(num_classes=10_000), "num_classes"),
        (dict(image_size=8), "image_size"),
        (dict(train_per_class=0), "train_per_class"),
    ],
)
def test_bad_arguments(kwargs, match):
    config = dict(num_classes=3, image_size=32)
    config.update(kwargs)
    with pytest.raises(ValueError, match=match):
        data.synthetic_cultivar_arrays(**config)


def test_validation_split_leaves_train_and_test_unchanged():
    (x, y), (xt, yt) = data.synthetic_cultivar_arrays(3, 32, 2, 2, seed=0)
    (x2, _), (xv, yv), (xt2, _) = data.synthetic_cultivar_arrays(
        3, 32, 2, 2, seed=0, val_per_class=1
    )
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(xt, xt2)
    assert sorted(yv.tolist()) == [0, 1, 2]
    assert not any(np.array_equal(v, t) for v in xv for t in np.concatenate([x, xt]))
    train, val, test = data.synthetic_cultivars(3, 32, 2, 2, seed=0, val_per_class=1)
    assert val.num_images == 3 and val.class_names == train.class_names
