"""Export of the inference graph: parity, quantization, metadata, errors.

Under the JAX and PyTorch backends these tests export models trained there
(through a TensorFlow subprocess), so each backend's run covers its own
"trained under X, exported to TFLite" case.
"""

import json
import os

import keras
import numpy as np
import pytest
from conftest import IMAGE_SIZE
from conftest import NUM_CLASSES
from conftest import tiny_model

import keras_csdnet
from keras_csdnet.data import synthetic_cultivar_arrays
from keras_csdnet.export import tflite_predict


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(0)
    (x, y), (xt, _) = synthetic_cultivar_arrays(NUM_CLASSES, IMAGE_SIZE, 8, 40, seed=0)
    model = tiny_model(class_names=["oak", "ash", "elm"])
    model.fit(x, y, batch_size=8, epochs=15, verbose=0)
    path = str(tmp_path_factory.mktemp("model") / "tiny.keras")
    model.save(path)
    return model, path, x, xt


def test_tflite_float32_parity_and_metadata(trained, tmp_path):
    model, _, _, test_images = trained
    out = str(tmp_path / "tiny.tflite")
    report = keras_csdnet.export(model, out, format="tflite", sample_images=test_images)
    assert report["passed"] and report["max_abs_diff"] <= 1e-4
    assert report["top1_agreement"] == 1.0 and report["num_samples"] == 64
    # Independent check with the LiteRT interpreter, uint8 pixels given as floats.
    logits = tflite_predict(out, test_images[:5].astype("float32"))
    np.testing.assert_allclose(logits, model.predict(test_images[:5], verbose=0), atol=1e-4)
    with open(str(tmp_path / "tiny.json")) as f:
        meta = json.load(f)
    assert meta["class_names"] == ["oak", "ash", "elm"] and meta["image_size"] == IMAGE_SIZE
    assert meta["input"]["dtype"] == "float32"


def test_tflite_holds_only_builtin_ops_and_no_queue(trained, tmp_path):
    _, path, _, _ = trained
    out = str(tmp_path / "m.tflite")
    keras_csdnet.export(path, out, format="tflite")
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=out)
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert not any("Flex" in op or "Custom" in op for op in ops), ops
    assert not any("Scatter" in op.title() or "Transform" in op.title() for op in ops), ops
    assert len(interpreter.get_input_details()) == 1
    assert len(interpreter.get_output_details()) == 1
    assert tuple(interpreter.get_output_details()[0]["shape"])[-1] == NUM_CLASSES


def test_keras_to_saved_model_to_reload(trained, tmp_path):
    model, path, _, test_images = trained
    out = str(tmp_path / "saved")
    report = keras_csdnet.export(path, out, format="saved_model", sample_images=test_images)
    assert report["passed"] and os.path.exists(os.path.join(out, "saved_model.pb"))
    assert json.load(open(os.path.join(out, "csdnet.json")))["num_classes"] == NUM_CLASSES
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        loaded = tf.saved_model.load(out)
        logits = loaded.serve(tf.constant(test_images[:4], tf.float32)).numpy()
        np.testing.assert_allclose(logits, model.predict(test_images[:4], verbose=0), atol=1e-4)


@pytest.mark.parametrize("quantization", ["float16", "dynamic_int8", "int8"])
def test_quantized_tflite(trained, tmp_path, quantization):
    _, path, train_images, test_images = trained
    out = str(tmp_path / f"{quantization}.tflite")
    report = keras_csdnet.export(
        path,
        out,
        format="tflite",
        quantization=quantization,
        representative_data=train_images,
        sample_images=test_images,
        num_samples=120,
    )
    assert report["passed"], report
    assert report["top1_agreement"] >= (0.97 if quantization == "int8" else 0.99)
    float_size = os.path.getsize(
        keras_csdnet.export(path, str(tmp_path / "f.tflite"), "tflite")["output"]
    )
    assert report["size_bytes"] < float_size
    if quantization == "int8":
        assert json.load(open(str(tmp_path / "int8.json")))["input"]["dtype"] == "uint8"


def test_export_errors(trained, tmp_path):
    _, path, _, _ = trained
    with pytest.raises(ValueError, match="Unknown export `format='onnx'`"):
        keras_csdnet.export(path, str(tmp_path / "x"), format="onnx")
    with pytest.raises(ValueError, match="representative_data"):
        keras_csdnet.export(path, str(tmp_path / "x.tflite"), "tflite", quantization="int8")
    with pytest.raises(ValueError, match="TFLite only"):
        keras_csdnet.export(path, str(tmp_path / "x"), "saved_model", quantization="float16")
    with pytest.raises(ValueError, match="quantization"):
        keras_csdnet.export(path, str(tmp_path / "x.tflite"), "tflite", quantization="int4")
    with pytest.raises(ValueError, match=".tflite"):
        keras_csdnet.export(path, str(tmp_path / "x.bin"), "tflite")
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    plain_path = str(tmp_path / "plain.keras")
    plain.save(plain_path)
    with pytest.raises(ValueError, match="not a keras_csdnet.CSDNet"):
        keras_csdnet.export(plain_path, str(tmp_path / "p.tflite"), "tflite")
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    with pytest.raises(ValueError, match="not a loadable Keras model|not a keras_csdnet"):
        keras_csdnet.export(str(text), str(tmp_path / "n.tflite"), "tflite")
    with pytest.raises(ValueError, match="No such model file"):
        keras_csdnet.export(str(tmp_path / "missing.keras"), str(tmp_path / "m.tflite"), "tflite")


def test_export_tflite_example(trained, tmp_path, capsys):
    import runpy

    _, path, _, _ = trained
    example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "export_tflite.py")
    main = runpy.run_path(example, run_name="not_main")["main"]
    out = str(tmp_path / "phone.tflite")
    predicted = main(["--model", path, "--output", out])
    printed = capsys.readouterr().out
    assert predicted in ("oak", "ash", "elm") and "passed" in printed and predicted in printed


def test_representative_data_from_a_dataset(trained, tmp_path):
    import tensorflow as tf

    _, path, train_images, test_images = trained
    ds = tf.data.Dataset.from_tensor_slices((train_images, np.zeros(len(train_images)))).batch(8)
    report = keras_csdnet.export(
        path,
        str(tmp_path / "d.tflite"),
        "tflite",
        quantization="dynamic_int8",
        representative_data=ds,
    )
    assert report["num_samples"] == len(train_images) and report["passed"]
