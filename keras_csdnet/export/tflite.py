"""TFLite (LiteRT) conversion of a SavedModel, and running the result."""

import numpy as np

QUANTIZATIONS = (None, "float16", "dynamic_int8", "int8")


def convert(saved_dir, quantization=None, representative=None):
    """The `.tflite` bytes of the SavedModel in `saved_dir`.

    Args:
        saved_dir: a SavedModel folder (see `export_saved_model`).
        quantization: `None` (float32), `"float16"`, `"dynamic_int8"` or
            `"int8"` (full integer, uint8 input; needs `representative`).
        representative: float32 images `(N, S, S, 3)` 0-255 for int8 calibration.
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(saved_dir)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantization == "dynamic_int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif quantization == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8

        def calibration():
            for image in representative[:300]:
                yield [image[None].astype(np.float32)]

        converter.representative_dataset = calibration
    return converter.convert()


def tflite_predict(model_content_or_path, images):
    """Runs a TFLite model with the LiteRT interpreter on `images` (N, S, S, 3)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover
        from tensorflow.lite import Interpreter
    kwargs = (
        {"model_path": model_content_or_path}
        if isinstance(model_content_or_path, str)
        else {"model_content": model_content_or_path}
    )
    interpreter = Interpreter(**kwargs)
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(inp["index"], list(images.shape))
    interpreter.allocate_tensors()
    x = (
        images.astype(inp["dtype"])
        if inp["dtype"] != np.uint8
        else np.clip(np.round(images), 0, 255).astype(np.uint8)
    )
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    logits = interpreter.get_tensor(out["index"])
    if out["dtype"] in (np.int8, np.uint8):
        scale, zero = out["quantization"]
        logits = (logits.astype(np.float32) - zero) * scale
    return logits.astype(np.float32)
