"""Every bad input gets a clear ValueError naming the problem and the fix
(or, where training still runs, a warning saying what is degenerate)."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import IMAGE_SIZE
from conftest import tiny_arrays
from conftest import tiny_model

import keras_csdnet


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(backbone="resnet1000"), r"Unknown backbone 'resnet1000'.*resnet18"),
        (dict(num_classes=1), "num_classes"),
        (dict(backbone="resnet18", image_size=16), r"image_size=16.*at least 32"),
        (dict(backbone="vit_b16", image_size=40), "multiple of the ViT patch size"),
        (dict(alpha=-1.0), "alpha"),
        (dict(beta=-0.1), "beta"),
        (dict(temperature=0.0), "temperature"),
        (dict(queue_size=0), "queue_size"),
        (dict(threshold_low=-0.1), "threshold_low"),
        (dict(threshold_high=1.2), "threshold_high"),
        (dict(threshold_low=0.8, threshold_high=0.2), "threshold_low"),
        (dict(mask_mode="blur"), r"mask_mode.*crop"),
        (dict(mask_fill="white"), r"mask_fill.*border"),
        (dict(distill_direction="up"), r"distill_direction.*aug_to_raw"),
        (dict(label_smoothing=1.0), "label_smoothing"),
        (dict(kernel_size=4), "kernel_size"),
        (dict(normalization="zscore"), "normalization"),
        (dict(class_names=["a"]), "class_names"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    config = dict(backbone="resnet18", num_classes=3, image_size=32)
    config.update(kwargs)
    with pytest.raises(ValueError, match=match):
        keras_csdnet.CSDNet(**config)


def test_custom_backbone_must_return_a_feature_map():
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
    flat = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))
    with pytest.raises(ValueError, match="4-D feature map"):
        keras_csdnet.CSDNet(backbone=flat, num_classes=3, image_size=IMAGE_SIZE)
    with pytest.raises(ValueError, match="name in"):
        keras_csdnet.CSDNet(backbone=42, num_classes=3, image_size=IMAGE_SIZE)


def test_wrong_image_rank_channels_and_size():
    model = tiny_model()
    with pytest.raises(ValueError, match="rank 4"):
        model.predict(np.zeros((2, IMAGE_SIZE, IMAGE_SIZE), "uint8"), verbose=0)
    with pytest.raises(ValueError, match="channels"):
        model.predict(np.zeros((2, IMAGE_SIZE, IMAGE_SIZE, 4), "uint8"), verbose=0)
    with pytest.raises(ValueError, match=r"Resize.*load_image.*image_size=48"):
        model.predict(np.zeros((2, 48, 48, 3), "uint8"), verbose=0)
    with pytest.raises(ValueError, match="channels"):
        model.fit(np.zeros((2, IMAGE_SIZE, IMAGE_SIZE, 2)), np.zeros(2, "int32"), verbose=0)


def test_labels_out_of_range_numpy():
    model = tiny_model()
    x, _ = tiny_arrays(4)
    with pytest.raises(ValueError, match=r"\[0, num_classes=3\)"):
        model.fit(x, np.array([0, 1, 2, 3]), verbose=0)
    with pytest.raises(ValueError, match="num_classes"):
        model.fit(x, np.array([0, -1, 2, 1]), verbose=0)
    with pytest.raises(ValueError, match="num_classes"):
        model.evaluate(x, np.array([0, 1, 5, 1]), verbose=0)
    with pytest.raises(ValueError, match="integer"):
        model.fit(x, np.array([0.5, 1, 2, 1]), verbose=0)


def test_one_hot_labels_say_how_to_convert():
    model = tiny_model()
    x, y = tiny_arrays(6)
    one_hot = np.eye(3, dtype="float32")[y]
    with pytest.raises(ValueError, match=r"one-hot.*argmax"):
        model.fit(x, one_hot, verbose=0)
    ds = tf.data.Dataset.from_tensor_slices((x, one_hot)).batch(3)
    with pytest.raises(ValueError, match=r"one-hot.*argmax"):
        model.fit(ds, verbose=0)
    with pytest.raises(ValueError, match="NaN or infinite labels"):
        model.fit(x, np.array([0, 1, np.nan, 1, 0, 2]), verbose=0)


def test_numpy_integer_arguments_are_accepted():
    # e.g. num_classes=len(np.unique(y)) gives a NumPy integer.
    model = tiny_model(num_classes=np.int64(3), queue_size=np.int32(16))
    assert type(model.num_classes) is int and model.head.units == 3
    config = model.get_config()
    assert type(config["num_classes"]) is int
    assert type(config["ddl"]["config"]["queue_size"]) is int
    x, y = tiny_arrays(6)
    model.fit(x, y, epochs=1, verbose=0)


@pytest.mark.parametrize(
    "pixels,match",
    [
        (lambda x: x / 255.0, r"\[0, 1\] floats.*x \* 255"),
        (lambda x: (x - 127.5) / 127.5, r"outside \[0, 255\].*before any normalisation"),
        (lambda x: x * 256.0, r"outside \[0, 255\]"),
    ],
)
def test_pixels_not_in_0_255_are_refused(pixels, match):
    model = tiny_model()
    x, y = tiny_arrays(6)
    bad = pixels(x.astype("float32"))
    with pytest.raises(ValueError, match=match):
        model.fit(bad, y, verbose=0)
    with pytest.raises(ValueError, match=match):
        model.predict(bad, verbose=0)
    ds = tf.data.Dataset.from_tensor_slices((bad, y)).batch(3)
    with pytest.raises(ValueError, match="The dataset yields"):
        model.fit(ds, verbose=0)
    # A float batch that happens to be all black is not mistaken for [0, 1].
    model.predict(np.zeros((2, IMAGE_SIZE, IMAGE_SIZE, 3), "float32"), verbose=0)


def test_non_finite_pixels_are_refused_before_training():
    model = tiny_model()
    x, y = tiny_arrays(6)
    x = x.astype("float32")
    x[4, 1, 2, 0] = np.nan
    before = [keras.ops.convert_to_numpy(w) for w in model.head.weights]
    with pytest.raises(ValueError, match=r"1 non-finite pixel.*index 4"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="non-finite"):
        model.evaluate(x, y, verbose=0)
    for w, b in zip(model.head.weights, before):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(w), b)
    # A dataset is checked batch by batch: the first (clean) batch trains,
    # the second stops training before it reaches the weights.
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(3)
    with pytest.raises(ValueError, match="NaN or infinite pixels"):
        model.fit(ds, epochs=1, verbose=0)
    for w in model.weights:
        assert np.isfinite(keras.ops.convert_to_numpy(w)).all(), w.path


def test_a_nan_loss_stops_training_naming_epoch_and_batch():
    # A generator is not checked in advance: the loss guard stops at the
    # first NaN instead of reporting NaN epochs with an accuracy.
    x, y = tiny_arrays(6)
    x = x.astype("float32")

    def batches():
        for epoch in range(3):
            for step in range(3):
                images = x[2 * step : 2 * step + 2].copy()
                if epoch == 1 and step == 2:
                    images[0, 0, 0, 0] = np.nan
                yield images, y[2 * step : 2 * step + 2]

    model = tiny_model()
    with pytest.raises(keras_csdnet.errors.NonFiniteLossError, match="epoch 2, batch 3"):
        model.fit(batches(), steps_per_epoch=3, epochs=3, verbose=0)
    # A guard the user passes is not doubled; other callbacks still run.
    history = keras.callbacks.History()
    guard = keras_csdnet.callbacks.NonFiniteLossGuard()
    tiny_model().fit(x, y, epochs=1, verbose=0, callbacks=[guard, history])
    assert history.history["loss"] and np.isfinite(history.history["loss"][0])


def test_labels_out_of_range_tf_dataset():
    model = tiny_model()
    x, _ = tiny_arrays(4)
    ds = tf.data.Dataset.from_tensor_slices((x, np.array([0, 1, 2, 7]))).batch(2)
    with pytest.raises(ValueError, match="labels outside"):
        model.fit(ds, epochs=1, verbose=0)
    # The queue was not polluted by the bad batch... at most the good one.
    labels = keras.ops.convert_to_numpy(model.queue.labels)
    assert labels.max() < 3


def test_imagenet_weights_offline_error_says_how_to_pass_a_local_file(monkeypatch):
    import keras_hub

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(keras_hub.models.Backbone, "from_preset", offline)
    with pytest.raises(ValueError, match=r"weights='path/to/backbone.weights.h5'"):
        keras_csdnet.CSDNet(backbone="resnet18", num_classes=3, image_size=32, weights="imagenet")


def test_missing_or_wrong_weights_file(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        keras_csdnet.CSDNet(
            backbone="resnet18",
            num_classes=3,
            image_size=32,
            weights=str(tmp_path / "nope.weights.h5"),
        )
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        keras_csdnet.CSDNet(backbone="resnet18", num_classes=3, image_size=32, weights=str(other))


def test_single_cell_pattern_map_warns_that_the_view_is_the_input():
    # ResNet at 32 px leaves a 1 x 1 map: min-max normalised it is 0, no cell
    # passes the threshold, and the erased view is the image itself.
    with pytest.warns(UserWarning, match=r"pattern map is 1 x 1 at `image_size=32`"):
        model = keras_csdnet.CSDNet(
            backbone="resnet18", num_classes=3, image_size=32, mask_mode="erase"
        )
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    pattern = model.discrepancy_parser(model.backbone(images))[1]
    view = model.view_generator(images, pattern)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(view), images)
    # A 2 x 2 map, or no SSDP at all, builds without the warning.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        keras_csdnet.CSDNet(backbone="resnet18", num_classes=3, image_size=64)
        keras_csdnet.CSDNet(backbone="resnet18", num_classes=3, image_size=32, ssdp=False)
    assert not [w for w in caught if "pattern map" in str(w.message)]
