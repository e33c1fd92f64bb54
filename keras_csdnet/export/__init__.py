"""Export a trained CSDNet's inference graph to SavedModel or TFLite (LiteRT).

`export(model_or_path, output, format=..., quantization=...)` works whatever
backend trained the model: under JAX or PyTorch it saves the model to a
`.keras` file (if given an object) and runs the export under TensorFlow in a
subprocess (`keras_csdnet.export.worker`). The exported graph is
`model(x, training=False)`: raw RGB pixels (float32 0-255, or uint8 for full
int8 TFLite) -> normalisation -> backbone -> SSDP enhancement -> pooling ->
head -> logits; no queue, no second view. Class names and the input size
travel in a JSON file (`<name>.json` beside a `.tflite` file, `csdnet.json`
inside a SavedModel folder). Parity with Keras is checked on sample images
and reported; a failed check raises `ExportParityError`.

Parts: `saved_model` (the SavedModel), `tflite` (conversion, quantization,
running a `.tflite` file), `parity` (the thresholds and the error),
`metadata` (the JSON), `worker` (the TensorFlow subprocess).

Parity thresholds: float32 (SavedModel, TFLite) max abs logit difference
<= 1e-4 and identical top-1; float16 and dynamic_int8 top-1 agreement >= 99%;
int8 (full integer, with representative data) >= 97%.
"""

import json
import os
import subprocess
import sys
import tempfile
import types

import numpy as np

from keras_csdnet.export.metadata import metadata_of
from keras_csdnet.export.metadata import metadata_path
from keras_csdnet.export.metadata import preprocessing_of
from keras_csdnet.export.parity import FLOAT32_ATOL
from keras_csdnet.export.parity import TOP1_AGREEMENT
from keras_csdnet.export.parity import ExportParityError
from keras_csdnet.export.parity import check_parity
from keras_csdnet.export.parity import raise_if_failed
from keras_csdnet.export.saved_model import export_saved_model
from keras_csdnet.export.saved_model import saved_model_predict
from keras_csdnet.export.tflite import QUANTIZATIONS
from keras_csdnet.export.tflite import convert
from keras_csdnet.export.tflite import tflite_predict

FORMATS = ("saved_model", "tflite")

__all__ = [
    "FLOAT32_ATOL",
    "FORMATS",
    "QUANTIZATIONS",
    "TOP1_AGREEMENT",
    "ExportParityError",
    "export",
    "image_size_of",
    "load_csdnet",
    "metadata_of",
    "metadata_path",
    "preprocessing_of",
    "tflite_predict",
]


def _check_arguments(format, quantization, representative_data):
    if format not in FORMATS:
        raise ValueError(f"Unknown export `format={format!r}`; use one of {FORMATS}.")
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"Unknown `quantization={quantization!r}`; use one of {QUANTIZATIONS}.")
    if quantization is not None and format != "tflite":
        raise ValueError(
            f"`quantization={quantization!r}` applies to TFLite only; pass "
            "`format='tflite'` or `quantization=None`."
        )
    if quantization == "int8" and representative_data is None:
        raise ValueError(
            "Full int8 quantization needs `representative_data`: a few hundred "
            "training images (array (N, H, W, 3), 0-255) to calibrate the ranges. "
            "Pass them, or use `quantization='dynamic_int8'`, which needs none."
        )


def _as_images(data, image_size, limit=None):
    """Array `(N, S, S, 3)` float32 from an array or a dataset of (x, y) batches."""
    if data is None:
        return None
    if not hasattr(data, "shape") and not isinstance(data, (list, tuple)):
        # A dataset or iterable of batches: images, or (images, labels, ...).
        batches, total = [], 0
        for batch in data:
            x = np.asarray(batch[0] if isinstance(batch, (tuple, list)) else batch)
            batches.append(x)
            total += len(x)
            if limit and total >= limit:
                break
        data = np.concatenate(batches)
    images = np.asarray(data, dtype=np.float32)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[1:3] != (image_size, image_size):
        raise ValueError(
            f"Images for export must have shape (N, {image_size}, {image_size}, 3|1), got "
            f"{images.shape}. Resize them to the model's `image_size`."
        )
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images[:limit] if limit else images


def load_csdnet(path, safe_mode=True):
    """Loads a `.keras` file and checks it holds a `keras_csdnet.CSDNet`.

    Args:
        path: a `.keras` file.
        safe_mode: bool, default True: a file holding Python code (a
            `keras.layers.Lambda` layer, whose function Keras would unpickle
            and run) is refused. Pass False only for a file you trust.
    """
    import keras

    from keras_csdnet.models.csdnet import CSDNet

    if not os.path.exists(path):
        raise ValueError(f"No such model file: {path!r}.")
    try:
        model = keras.saving.load_model(path, safe_mode=safe_mode)
    except ValueError as e:
        if "safe_mode" not in str(e):
            raise ValueError(
                f"{path!r} is not a loadable Keras model file (ValueError: {e}). "
                "Pass a `.keras` file saved with `CSDNet.save(...)`."
            ) from e
        raise ValueError(
            f"{path!r} holds Python code (a `Lambda` layer) that loading would run, so it "
            "was refused. Only if you trust where the file comes from, load it with "
            "`keras_csdnet.export.load_csdnet(path, safe_mode=False)`."
        ) from e
    except Exception as e:
        raise ValueError(
            f"{path!r} is not a loadable Keras model file ({type(e).__name__}: {e}). "
            "Pass a `.keras` file saved with `CSDNet.save(...)`."
        ) from e
    if not isinstance(model, CSDNet):
        raise ValueError(
            f"{path!r} holds a {type(model).__name__}, not a keras_csdnet.CSDNet. "
            "Export CSDNet models only (save them with `model.save('m.keras')`)."
        )
    return model


def _export_tensorflow(model, output, format, quantization, representative, samples):
    """The export itself; needs the TensorFlow backend."""
    reference = np.asarray(model.predict(samples, verbose=0, batch_size=32))
    with tempfile.TemporaryDirectory() as tmp:
        saved_dir = output if format == "saved_model" else os.path.join(tmp, "saved_model")
        export_saved_model(model, saved_dir)
        if format == "saved_model":
            exported = saved_model_predict(saved_dir, samples)
        else:
            content = convert(saved_dir, quantization, representative)
            os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
            with open(output, "wb") as f:
                f.write(content)
            exported = tflite_predict(content, samples)
    meta = metadata_of(model, format, quantization)
    with open(metadata_path(output, format), "w") as f:
        json.dump(meta, f, indent=1)
    report = {
        "output": output,
        "metadata": metadata_path(output, format),
        "format": format,
        "quantization": quantization,
        "num_samples": int(len(samples)),
        "size_bytes": _size(output),
    }
    report.update(check_parity(reference, exported, quantization))
    return report


def _size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def export(
    model_or_path,
    output,
    format="saved_model",
    quantization=None,
    representative_data=None,
    sample_images=None,
    num_samples=64,
    check=True,
):
    """Exports a CSDNet's inference path to SavedModel or TFLite, checked.

    Args:
        model_or_path: a `keras_csdnet.CSDNet`, or the path of its `.keras` file.
        output: a folder (SavedModel) or a `.tflite` file path.
        format: `"saved_model"` or `"tflite"`.
        quantization: TFLite only: `None` (float32), `"float16"`,
            `"dynamic_int8"` (int8 weights) or `"int8"` (full integer, uint8
            input; needs `representative_data`).
        representative_data: images `(N, S, S, 3)` 0-255 (array, or a dataset
            of `(images, labels)` batches) to calibrate int8; also the default
            parity samples.
        sample_images: images for the parity check; default
            `representative_data`, else `num_samples` seeded random images.
        num_samples: int, number of parity samples.
        check: bool; raise `ExportParityError` when parity fails (the report
            is returned either way when False).

    Returns:
        A report dict: `output`, `metadata`, `size_bytes`, `max_abs_diff`,
        `top1_agreement`, `rule`, `passed`, ...

    Examples:
    ```python
    import keras_csdnet
    report = keras_csdnet.export("cultivars.keras", "cultivars.tflite", format="tflite")
    print(report["max_abs_diff"], report["passed"])
    ```
    """
    import keras

    _check_arguments(format, quantization, representative_data)
    output = os.fspath(output)
    if format == "tflite" and not output.endswith(".tflite"):
        raise ValueError(f"TFLite output must end with '.tflite', got {output!r}.")
    if keras.backend.backend() != "tensorflow":
        return _export_in_subprocess(
            model_or_path,
            output,
            format,
            quantization,
            representative_data,
            sample_images,
            num_samples,
            check,
        )
    if isinstance(model_or_path, (str, os.PathLike)):
        model = load_csdnet(os.fspath(model_or_path))
    else:
        model = _checked_model(model_or_path)
    size = model.image_size
    representative = _as_images(representative_data, size, limit=300)
    samples = _as_images(sample_images, size, limit=num_samples)
    if samples is None:
        samples = representative[:num_samples] if representative is not None else None
    if samples is None:
        rng = np.random.default_rng(0)
        samples = rng.integers(0, 256, (num_samples, size, size, 3)).astype(np.float32)
    report = _export_tensorflow(model, output, format, quantization, representative, samples)
    if check:
        raise_if_failed(report, format, quantization)
    return report


def _checked_model(model):
    """`model` if it is a built `keras_csdnet.CSDNet`, else a `ValueError` saying why."""
    from keras_csdnet.models.csdnet import CSDNet

    if not isinstance(model, CSDNet):
        raise ValueError(
            "`model_or_path` must be a keras_csdnet.CSDNet or a `.keras` path, got "
            f"{type(model).__name__}."
        )
    if not model.built:
        raise ValueError(
            "The CSDNet is not built yet (its image size or number of classes is unknown): "
            "train it with `fit`, or pass `num_classes=` and `image_size=`, before exporting."
        )
    return model


def _export_in_subprocess(
    model_or_path,
    output,
    format,
    quantization,
    representative_data,
    sample_images,
    num_samples,
    check,
):
    """Runs the export under the TensorFlow backend in a fresh Python."""
    with tempfile.TemporaryDirectory() as tmp:
        if isinstance(model_or_path, (str, os.PathLike)):
            path = os.fspath(model_or_path)
            if not os.path.exists(path):
                raise ValueError(f"No such model file: {path!r}.")
        else:
            _checked_model(model_or_path)
            path = os.path.join(tmp, "model.keras")
            model_or_path.save(path)
        args = [
            sys.executable,
            "-m",
            "keras_csdnet.export.worker",
            path,
            os.path.abspath(output),
            "--format",
            format,
            "--num-samples",
            str(num_samples),
            "--report",
            os.path.join(tmp, "report.json"),
        ]
        if quantization:
            args += ["--quantization", quantization]
        for flag, data in (("--representative", representative_data), ("--samples", sample_images)):
            if data is not None:
                file = os.path.join(tmp, flag.strip("-") + ".npy")
                np.save(file, _as_images(data, image_size_of(model_or_path), limit=300))
                args += [flag, file]
        if not check:
            args.append("--no-check")
        env = dict(os.environ, KERAS_BACKEND="tensorflow")
        proc = subprocess.run(args, env=env, capture_output=True, text=True)
        report_file = os.path.join(tmp, "report.json")
        if os.path.exists(report_file):
            with open(report_file) as f:
                result = json.load(f)
            if "error" in result:
                error = {"ValueError": ValueError, "ExportParityError": ExportParityError}.get(
                    result["error_type"], RuntimeError
                )
                raise error(result["error"])
            return result
        raise RuntimeError(
            "The TensorFlow export subprocess failed. Run it yourself to see why:\n"
            f"  KERAS_BACKEND=tensorflow {' '.join(args[:5])} --format {format}\n"
            f"Its last output:\n{proc.stderr[-3000:]}"
        )


def image_size_of(model_or_path):
    """The `image_size` of a CSDNet, or of its `.keras` file (without loading it)."""
    if hasattr(model_or_path, "image_size"):
        return model_or_path.image_size
    import zipfile

    try:
        with zipfile.ZipFile(model_or_path) as z:
            config = json.loads(z.read("config.json"))
        return int(config["config"]["image_size"])
    except Exception as e:
        raise ValueError(
            f"{os.fspath(model_or_path)!r} is not a keras_csdnet.CSDNet `.keras` file "
            f"({type(e).__name__}: {e}). Save models with `model.save('m.keras')`."
        ) from e


class _CallableModule(types.ModuleType):
    """`keras_csdnet.export(...)` calls `export`; its parts stay reachable as attributes."""

    def __call__(self, *args, **kwargs):
        return export(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
