"""CSDNet's parts: configured layers, settings by name, lazy sizes, old files, registries."""

import json
import os
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import IMAGE_SIZE
from conftest import NUM_CLASSES
from conftest import tiny_arrays
from conftest import tiny_backbone
from conftest import tiny_model
from conftest import to_numpy
from csdnet_test_case import TestCase

import keras_csdnet
from keras_csdnet import backbones
from keras_csdnet import views
from keras_csdnet.layers import DDL
from keras_csdnet.layers import SSDP
from keras_csdnet.layers import SSDT
from keras_csdnet.layers import DiscrepancyView
from keras_csdnet.layers import RandomView
from keras_csdnet.layers.discrepancy_view import MASK_MODES
from keras_csdnet.layers.discrepancy_view import register_mask_mode

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def test_a_keras_file_of_the_first_release_loads_and_trains():
    model = keras.saving.load_model(os.path.join(FIXTURES, "csdnet_0_1_0.keras"))
    with open(os.path.join(FIXTURES, "csdnet_0_1_0.json")) as f:
        record = json.load(f)
    x, y = tiny_arrays(6)
    np.testing.assert_allclose(model.predict(x[:2], verbose=0), record["logits"], atol=1e-5)
    assert to_numpy(model.queue.labels).tolist() == record["queue_labels"]
    assert int(to_numpy(model.queue.pointer)) == record["queue_pointer"]
    # Its flat settings land in the parts that own them.
    view, ddl, ssdt, ssdp = (model.part(n) for n in ("view", "ddl", "ssdt", "ssdp"))
    assert (view.mask_mode, view.mask_fill, view.threshold_low) == ("crop", "border", 0.3)
    assert (ddl.queue_size, ddl.embedding_dim, ddl.alpha, ddl.margin) == (8, 4, 0.5, 0.2)
    assert (ssdt.beta, ssdt.temperature, ssdt.distill_direction) == (2.0, 3.0, "symmetric")
    assert (ssdp.kernel_size, ssdp.kernel_channels) == (3, 4)
    assert model.class_names == ["a", "b", "c"] and model.label_smoothing == 0.1
    model.fit(x, y, epochs=1, verbose=0)


def test_parts_as_layers_equal_settings_by_name():
    by_name = tiny_model(mask_mode="crop", queue_size=8, temperature=2.0, kernel_size=3)
    as_parts = keras_csdnet.CSDNet(
        backbone=tiny_backbone(),
        num_classes=3,
        image_size=IMAGE_SIZE,
        seed=0,
        ssdp=SSDP(kernel_size=3, kernel_channels=8),
        view=DiscrepancyView(mask_mode="crop", seed=0),
        ddl=DDL(queue_size=8, embedding_dim=8),
        ssdt=SSDT(temperature=2.0),
    )
    for part in ("ssdp", "view", "ddl", "ssdt"):
        config_a = dict(by_name.part(part).get_config(), name=None)
        config_b = dict(as_parts.part(part).get_config(), name=None)
        assert config_a == config_b, part
    with pytest.raises(ValueError, match=r"queue_size.*DDL layer"):
        keras_csdnet.CSDNet(backbone=tiny_backbone(), num_classes=3, ddl=DDL(), queue_size=4)
    with pytest.raises(ValueError, match="ssdp=False"):
        keras_csdnet.CSDNet(backbone=tiny_backbone(), num_classes=3, ssdp=False, view="discrepancy")
    with pytest.raises(ValueError, match=r"Unknown `view='blur'`.*discrepancy"):
        keras_csdnet.CSDNet(backbone=tiny_backbone(), num_classes=3, view="blur")


def test_random_view_with_ssdp_keeps_the_enhancement():
    model = tiny_model(view="random")
    assert isinstance(model.part("view"), RandomView) and model.part("ssdp") is not None
    x, y = tiny_arrays(6)
    history = model.fit(x, y, epochs=1, batch_size=3, verbose=0)
    assert history.history["ssdt_loss"][0] > 0
    assert model.get_config()["view"]["class_name"] == "RandomView"


def test_the_design_card_line_fit_takes_sizes_and_classes_from_the_data(tmp_path):
    train, test = keras_csdnet.data.synthetic_cultivars(
        num_classes=3, image_size=64, train_per_class=2, test_per_class=1, seed=0
    )
    model = keras_csdnet.CSDNet(backbone="resnet18", queue_size=8)
    assert not model.built and model.num_classes is None and model.image_size is None
    model.fit(train, epochs=1, verbose=0)
    assert (model.num_classes, model.image_size) == (3, 64)
    assert model.class_names == train.class_names
    config = model.get_config()
    assert (config["num_classes"], config["image_size"]) == (3, 64)
    TestCase().run_model_saving_test(model, test)


def test_num_classes_from_labels_and_clear_errors_when_unknown():
    x, y = tiny_arrays(6)
    model = keras_csdnet.CSDNet(backbone=tiny_backbone(), queue_size=8, kernel_channels=4)
    model.fit(x, y, epochs=1, verbose=0)
    assert model.num_classes == 3 and model.image_size == IMAGE_SIZE
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(3)
    model = keras_csdnet.CSDNet(backbone=tiny_backbone(), queue_size=8, kernel_channels=4)
    model.fit(ds, epochs=1, verbose=0)
    assert model.num_classes == 3
    with pytest.raises(ValueError, match=r"repeats forever.*num_classes="):
        keras_csdnet.CSDNet(backbone=tiny_backbone()).fit(ds.repeat(), steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError, match=r"num_classes.*call `fit` first"):
        keras_csdnet.CSDNet(backbone=tiny_backbone()).predict(x, verbose=0)
    with pytest.raises(ValueError, match=r"at least 2"):
        keras_csdnet.CSDNet(backbone=tiny_backbone()).fit(x, np.zeros(6, "int32"), verbose=0)
    # A known number of classes builds at the first predict, from the input shape.
    model = keras_csdnet.CSDNet(backbone="resnet18", num_classes=4, queue_size=8)
    assert model.predict(np.zeros((2, 64, 64, 3), "uint8"), verbose=0).shape == (2, 4)
    assert model.image_size == 64


def test_the_single_cell_warning_names_the_users_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        keras_csdnet.CSDNet(backbone="resnet18", num_classes=3, image_size=32, queue_size=8)
    messages = [w for w in caught if "pattern map is 1 x 1" in str(w.message)]
    assert len(messages) == 1 and messages[0].filename == __file__
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        keras_csdnet.CSDNet(backbone="resnet18", num_classes=3, image_size=32, view="random")
    assert not [w for w in caught if "pattern map" in str(w.message)]


def test_a_new_mask_mode_is_one_registration():
    def invert(layer, images, norm, theta, mask):
        return 255.0 - images

    register_mask_mode("invert_for_test", invert, "the inverted image")
    try:
        model = tiny_model(mask_mode="invert_for_test")
        x, y = tiny_arrays(6)
        model.fit(x, y, epochs=1, batch_size=3, verbose=0)
        out = model.part("view")(np.zeros((1, 8, 8, 3), "float32"), np.ones((1, 2, 2, 1)))
        np.testing.assert_allclose(to_numpy(out), 255.0)
    finally:
        MASK_MODES._entries.pop("invert_for_test")


def test_a_new_backbone_is_one_registration():
    def tiny(image_size, weights):
        return tiny_backbone(image_size)

    backbones.register_backbone("tiny_for_test", tiny, min_size=8, normalization="symmetric")
    try:
        model = keras_csdnet.CSDNet(
            backbone="tiny_for_test", num_classes=3, image_size=16, queue_size=8, kernel_channels=4
        )
        assert model.get_config()["backbone"] == "tiny_for_test"
        assert model.pixel_normalization.mode == "symmetric"
        with pytest.raises(ValueError, match="at least 8"):
            keras_csdnet.CSDNet(backbone="tiny_for_test", num_classes=3, image_size=4)
    finally:
        backbones.BACKBONES._entries.pop("tiny_for_test")


def test_view_registry_names():
    assert views.VIEWS.names() == ["discrepancy", "random"]
    assert isinstance(views.make_view("random", seed=1), RandomView)
    with pytest.raises(ValueError, match="not a view layer"):
        views.make_view(keras.layers.Dense(2))


def test_pattern_stride_taps_a_finer_map_of_the_same_backbone_pass(tmp_path):
    model = tiny_model(pattern_stride=2)  # the tiny backbone's last map is at stride 4
    assert model.pattern_stride == 2 and model.part("ssdp").pattern_stride == 2
    x, y = tiny_arrays(8)
    outputs = model(x, training=True)
    assert tuple(outputs["aug_logits"].shape) == (8, NUM_CLASSES)
    # The pattern map is the stride-2 one (16 x 16 at 32 px), the classifier's 8 x 8.
    _, _, pattern = model._forward(model._pixels(x), False)
    assert tuple(pattern.shape) == (8, 16, 16, 1)
    # No extra weights beyond SSDP's (its kernels read the 8-channel map).
    plain = tiny_model()
    assert len(model.weights) == len(plain.weights)
    assert tuple(model.part("ssdp").compress.kernel.shape)[2] == 8
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    TestCase().run_model_saving_test(model, x, atol=1e-5)


def test_pattern_stride_errors_name_the_strides_there_are():
    with pytest.raises(ValueError, match="coarser than the backbone's last"):
        tiny_model(pattern_stride=8)
    with pytest.raises(ValueError, match=r"strides \[2, 4\]"):
        tiny_model(pattern_stride=1)


def test_warmup_epochs_follow_fit_through_the_epoch_tracker():
    from keras_csdnet.callbacks import EpochTracker

    model = tiny_model(warmup_epochs=2, random_crop=0.8)
    x, y = tiny_arrays(8)
    seen = []
    probe = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(
            float(keras.ops.convert_to_numpy(model.part("view").epoch))
        )
    )
    model.fit(x, y, epochs=3, batch_size=4, verbose=0, callbacks=[probe])
    assert seen == [0.0, 1.0, 2.0]
    model.fit(x, y, epochs=5, initial_epoch=3, batch_size=4, verbose=0, callbacks=[probe])
    assert seen[-2:] == [3.0, 4.0]
    # Given by the user, it is not added twice.
    model.fit(x, y, epochs=1, batch_size=4, verbose=0, callbacks=[EpochTracker()])
