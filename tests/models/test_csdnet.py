"""CSDNet end to end on a tiny backbone: fit, evaluate, predict, save, errors."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import NUM_CLASSES
from conftest import tiny_arrays
from conftest import tiny_backbone
from conftest import tiny_model
from conftest import to_numpy
from csdnet_test_case import TestCase

import keras_csdnet


def _queue(model):
    return (
        to_numpy(model.queue.features),
        to_numpy(model.queue.labels),
        int(to_numpy(model.queue.pointer)),
    )


@pytest.fixture(scope="module")
def trained():
    """A tiny CSDNet fitted for 2 epochs on 8 images (batch 4).

    `mask_mode="keep"`: on noise images the pattern map is scattered, so a
    "crop" box can cover the whole image and make both views identical
    (SSDT loss exactly 0), which the assertions below must not depend on.
    """
    keras.mixed_precision.set_global_policy("float32")
    model = tiny_model(mask_mode="keep")
    x, y = tiny_arrays(8)
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    return model, history, x, y


def test_fit_logs_named_loss_components(trained):
    _, history, _, _ = trained
    for key in ("loss", "cls_loss", "qc_loss", "ssdt_loss", "accuracy"):
        assert key in history.history and len(history.history[key]) == 2
    logs = {k: v[-1] for k, v in history.history.items()}
    assert all(np.isfinite(v) for v in logs.values())
    assert logs["qc_loss"] > 0 and logs["ssdt_loss"] > 0
    # loss = cls + alpha * qc + beta * ssdt (alpha = beta = 1), per-epoch means.
    np.testing.assert_allclose(
        logs["loss"], logs["cls_loss"] + logs["qc_loss"] + logs["ssdt_loss"], rtol=1e-4
    )


def test_queue_is_written_by_fit_only(trained):
    model, _, x, y = trained
    features, labels, pointer = _queue(model)
    # 2 epochs x 8 images x 2 views = 32 rows through a 16-slot queue.
    assert pointer == 32 % 16
    assert set(labels.tolist()) <= set(range(NUM_CLASSES)) and (labels >= 0).all()
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, rtol=1e-4)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    model(x[:2])
    after = _queue(model)
    np.testing.assert_array_equal(after[0], features)
    np.testing.assert_array_equal(after[1], labels)
    assert after[2] == pointer


def test_queue_changes_inside_fit_on_a_tf_dataset():
    model = tiny_model(queue_size=64)
    x, y = tiny_arrays(6)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)  # partial last batch
    model.fit(ds, epochs=1, verbose=0)
    _, labels, pointer = _queue(model)
    assert pointer == 12 and (labels[:12] >= 0).all() and (labels[12:] == -1).all()
    # Each batch writes raw-view then augmented-view embeddings.
    assert labels[:4].tolist() == labels[4:8].tolist()


def test_evaluate_and_predict_outputs(trained):
    model, _, x, y = trained
    logits = model.predict(x, verbose=0)
    assert logits.shape == (8, NUM_CLASSES) and logits.dtype == np.float32
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(result) == {"loss", "accuracy"}
    # evaluate's loss is the raw-view cross-entropy only.
    log_p = (
        logits
        - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True))
        - logits.max(-1, keepdims=True)
    )
    np.testing.assert_allclose(result["loss"], -log_p[np.arange(8), y].mean(), rtol=1e-3)


def test_training_call_returns_both_views(trained):
    model, _, x, _ = trained
    out = model(x[:4], training=True)
    assert set(out) == {"logits", "aug_logits", "embeddings", "aug_embeddings"}
    assert tuple(out["embeddings"].shape) == (4, 8)


def test_loss_decreases_over_a_short_fit():
    keras.utils.set_random_seed(0)
    model = tiny_model(learning_rate=3e-3)
    x, y = tiny_arrays(12, seed=1)
    history = model.fit(x, y, batch_size=12, epochs=15, verbose=0)
    losses = history.history["loss"]
    assert np.mean(losses[-3:]) < 0.9 * np.mean(losses[:3]), losses


@pytest.mark.parametrize(
    "switches",
    [
        dict(ssdp=False, ddl=False, ssdt=False),
        dict(ssdp=True, ddl=False, ssdt=False),
        dict(ssdp=False, ddl=True, ssdt=False),
        dict(ssdp=False, ddl=False, ssdt=True),
    ],
)
def test_ablation_switches(switches):
    model = tiny_model(**switches)
    x, y = tiny_arrays(4)
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0).history
    out = model(x, training=True)
    two_views = any(switches.values())
    assert ("aug_logits" in out) == two_views
    assert (model.queue is not None) == switches["ddl"]
    assert (model.discrepancy_parser is not None) == switches["ssdp"]
    assert (history["qc_loss"][0] > 0) == switches["ddl"]
    assert (history["ssdt_loss"][0] > 0) == switches["ssdt"]
    if not two_views:  # plain fine-tuning: backbone + head, nothing else
        backbone = tiny_backbone()
        assert model.count_params() == backbone.count_params() + 16 * NUM_CLASSES + NUM_CLASSES


def test_baseline_inference_equals_backbone_plus_head():
    model = tiny_model(ssdp=False, ddl=False, ssdt=False, normalization="none")
    x, _ = tiny_arrays(2)
    features = model.backbone(x.astype("float32"))
    want = to_numpy(model.head(keras.ops.mean(features, axis=(1, 2))))
    np.testing.assert_allclose(to_numpy(model(x)), want, rtol=1e-4, atol=1e-5)


def test_uint8_float_and_grey_inputs_agree():
    model = tiny_model()
    x, _ = tiny_arrays(2)
    np.testing.assert_allclose(to_numpy(model(x)), to_numpy(model(x.astype("float32"))), atol=1e-5)
    grey = x[..., :1]
    np.testing.assert_allclose(
        to_numpy(model(grey)), to_numpy(model(np.repeat(grey, 3, axis=-1))), atol=1e-5
    )
    model.fit(grey, np.arange(2) % NUM_CLASSES, epochs=1, verbose=0)


@pytest.mark.parametrize(
    "mode,fill", [("crop", "zeros"), ("keep", "zeros"), ("erase", "zeros"), ("erase", "border")]
)
def test_mask_modes_train(mode, fill):
    model = tiny_model(mask_mode=mode, mask_fill=fill)
    x, y = tiny_arrays(4)
    logs = model.fit(x, y, batch_size=4, epochs=1, verbose=0).history
    assert np.isfinite(logs["loss"][0])


@pytest.mark.parametrize("direction", ["aug_to_raw", "raw_to_aug", "symmetric"])
def test_distill_directions_train(direction):
    model = tiny_model(distill_direction=direction, ddl=False, mask_mode="keep")
    x, y = tiny_arrays(4)
    assert model.fit(x, y, epochs=1, verbose=0).history["ssdt_loss"][0] > 0


def test_mixed_bfloat16_trains_with_float32_losses_and_queue():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = tiny_model()
    x, y = tiny_arrays(4)
    logs = model.fit(x, y, batch_size=4, epochs=1, verbose=0).history
    assert np.isfinite(logs["loss"][0]) and logs["qc_loss"][0] > 0
    assert model.queue.features.dtype == "float32"
    assert model.backbone.layers[1].compute_dtype == "bfloat16"
    assert model.predict(x, verbose=0).dtype == np.float32


def test_recompile_with_other_settings():
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.SGD(0.01), metrics=["accuracy"])
    x, y = tiny_arrays(4)
    model.fit(x, y, epochs=1, verbose=0)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    with pytest.raises(ValueError, match="loss"):
        model.compile(loss="mse")


def test_keras_file_round_trip(trained, tmp_path):
    model, _, x, _ = trained
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, keras_csdnet.CSDNet)
    np.testing.assert_allclose(
        restored.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
    )
    for a, b in zip(_queue(restored), _queue(model)):
        np.testing.assert_array_equal(a, b)
    assert restored.part("ddl").queue_size == 16 and restored.queue_size == 16
    # Training goes on after loading (optimizer state restored).
    assert len(restored.optimizer.variables) == len(model.optimizer.variables)
    restored.fit(x, np.arange(8) % NUM_CLASSES, epochs=1, verbose=0)


def test_get_config_round_trip_holds_every_argument():
    model = tiny_model(
        alpha=0.5,
        beta=2.0,
        temperature=2.0,
        margin=0.3,
        mask_mode="keep",
        mask_fill="border",
        distill_direction="symmetric",
        label_smoothing=0.1,
        class_names=["a", "b", "c"],
    )
    config = model.get_config()
    expected = dict(
        ddl=dict(alpha=0.5, margin=0.3, queue_size=16),
        ssdt=dict(beta=2.0, temperature=2.0, distill_direction="symmetric"),
        view=dict(mask_mode="keep", mask_fill="border"),
    )
    for part, settings in expected.items():
        for key, value in settings.items():
            assert config[part]["config"][key] == value
            assert getattr(model.part(part), key) == value and getattr(model, key) == value
    assert config["label_smoothing"] == 0.1 and config["class_names"] == ["a", "b", "c"]
    clone = keras_csdnet.CSDNet.from_config(config)
    clone_config = clone.get_config()
    # A custom backbone is serialized whole (its auto-generated layer names differ).
    assert clone_config.pop("backbone")["class_name"] == config.pop("backbone")["class_name"]
    assert clone_config == config
    assert clone.count_params() == model.count_params()


def test_named_backbone_config_round_trip():
    model = keras_csdnet.CSDNet(backbone="resnet18", num_classes=3, image_size=32, queue_size=8)
    config = model.get_config()
    assert config["backbone"] == "resnet18" and config["weights"] is None
    assert keras_csdnet.CSDNet.from_config(config).get_config() == config


def test_class_names_travel_with_the_model(tmp_path):
    model = tiny_model(class_names=["oak", "ash", "elm"])
    path = os.path.join(tmp_path, "named.keras")
    model.save(path)
    assert keras.saving.load_model(path).class_names == ["oak", "ash", "elm"]


class TestCSDNet(TestCase):
    def test_serialization(self):
        # A named backbone: a custom one's auto-generated layer names differ per build.
        model = keras_csdnet.CSDNet(
            backbone="resnet18",
            image_size=64,
            mask_mode="keep",
            queue_size=8,
            class_names=["a", "b", "c"],
        )
        self.run_serialization_test(model)

    def test_model_saving(self, tmp_path):
        model = tiny_model(view="random", ssdt=False)
        x, y = tiny_arrays(6)
        model.fit(x, y, epochs=1, batch_size=3, verbose=0)
        restored = self.run_model_saving_test(model, x)
        assert restored.part("ssdt") is None and type(restored.part("view")).__name__ == (
            "RandomView"
        )
