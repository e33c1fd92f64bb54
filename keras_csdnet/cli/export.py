"""`csdnet export`: SavedModel, TFLite (LiteRT) or ONNX, checked against Keras."""

import os

import numpy as np

from keras_csdnet.cli.common import load_model
from keras_csdnet.cli.common import model_source
from keras_csdnet.cli.common import output_folder
from keras_csdnet.cli.common import run_settings
from keras_csdnet.cli.errors import CommandError

HELP = "export a run or model's inference graph to SavedModel, TFLite or ONNX, parity-checked"
FORMATS = ("saved_model", "tflite", "onnx")


def add_parser(subparsers):
    from keras_csdnet.export import QUANTIZATIONS

    p = subparsers.add_parser("export", help=HELP, description=HELP + ".")
    p.add_argument("model", metavar="RUN_DIR|MODEL.keras")
    p.add_argument("--format", choices=FORMATS, default="tflite")
    p.add_argument(
        "--quantization",
        choices=[q for q in QUANTIZATIONS if q],
        help="TFLite only: float16, dynamic_int8 (int8 weights) or int8 (full integer)",
    )
    p.add_argument(
        "--output",
        metavar="PATH",
        help="file (.tflite, .onnx) or folder (SavedModel); default RUN_DIR/export/...",
    )
    p.add_argument(
        "--representative",
        metavar="DATA_DIR",
        help="images to calibrate int8 and check parity (default: the run's training images)",
    )
    p.set_defaults(run=run)
    return p


def _default_output(args, run, fmt, quantization):
    folder = output_folder(None, run, args.model, "export")
    stem = "model" if quantization is None else f"model_{quantization}"
    return os.path.join(folder, {"saved_model": stem, "tflite": f"{stem}.tflite"}.get(fmt, stem))


def _representative(args, model, run):
    """Up to 300 images `(N, S, S, 3)` for calibration and parity, or None."""
    from keras_csdnet.cli.data import collect
    from keras_csdnet.cli.data import load_splits
    from keras_csdnet.cli.predict import image_files
    from keras_csdnet.cli.predict import load_images

    if args.representative:
        files = image_files([args.representative])[:300]
        return load_images(files, model.image_size, "shorter_side")
    if run is None:
        return None
    settings = run_settings(run)
    train, _, _, _, _ = load_splits(dict(settings, image_size=model.image_size))
    images, _ = collect(train, limit=300)
    return images


def export_onnx(model, output, samples):
    """ONNX through Keras' own exporter, checked with onnxruntime where installed."""
    import keras

    from keras_csdnet.errors import MissingExtraError
    from keras_csdnet.export.parity import check_parity

    if not output.endswith(".onnx"):
        raise CommandError(f"ONNX output must end with '.onnx', got {output!r}.")
    spec = [keras.InputSpec(shape=(None, model.image_size, model.image_size, 3), dtype="float32")]
    try:
        model.export(output, format="onnx", input_signature=spec, verbose=False)
    except ImportError as e:
        raise MissingExtraError(
            f"ONNX export on the {keras.backend.backend()} backend needs packages that are not "
            f"installed ({e}): pip install 'keras-csdnet[onnx]'."
        ) from None
    report = {
        "output": output,
        "format": "onnx",
        "size_bytes": os.path.getsize(output),
        "num_samples": int(len(samples)),
    }
    try:
        import onnxruntime
    except ImportError:
        report["parity"] = "not checked: onnxruntime is not installed"
        return report
    session = onnxruntime.InferenceSession(output, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    exported = session.run(None, {name: samples.astype(np.float32)})[0]
    reference = np.asarray(model.predict(samples, verbose=0))
    report.update(check_parity(reference, exported, None))
    return report


def _onnx_in_tensorflow(args, model_path, output):
    """ONNX from JAX or PyTorch: the same command under TensorFlow, in a subprocess."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "keras_csdnet", "export", model_path]
    command += ["--format", "onnx", "--output", output]
    if args.representative:
        command += ["--representative", args.representative]
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    return subprocess.run(command, env=env).returncode


def run(args):
    import keras

    import keras_csdnet

    if args.quantization and args.format != "tflite":
        raise CommandError("--quantization applies to --format tflite only.")
    model, run_dir = load_model(args.model)
    output = args.output or _default_output(args, run_dir, args.format, args.quantization)
    if args.format == "onnx":
        if not args.output:
            output += ".onnx"
        if keras.backend.backend() != "tensorflow":
            return _onnx_in_tensorflow(args, model_source(args.model, run_dir), output)
        samples = _representative(args, model, run_dir)
        if samples is None:
            rng = np.random.default_rng(0)
            samples = rng.integers(0, 256, (16, model.image_size, model.image_size, 3))
        report = export_onnx(model, output, np.asarray(samples[:64], dtype=np.float32))
        if report.get("passed") is False:
            raise CommandError(f"ONNX parity failed: {report['rule']}.")
    else:
        representative = _representative(args, model, run_dir)
        report = keras_csdnet.export(
            model_source(args.model, run_dir),
            output,
            format=args.format,
            quantization=args.quantization,
            representative_data=representative,
        )
    line = f"exported {report['output']} ({args.format}"
    line += f", {args.quantization})" if args.quantization else ")"
    line += f", {report['size_bytes'] / 1e6:.2f} MB"
    if "max_abs_diff" in report:
        line += (
            f"; parity on {report.get('num_samples', 'the')} images: max |logit diff| "
            f"{report['max_abs_diff']:.2e}, top-1 agreement {report['top1_agreement']:.3f}"
        )
    elif "parity" in report:
        line += f"; parity {report['parity']}"
    print(line)
    if report.get("metadata"):
        print(f"metadata: {report['metadata']} (class names, input size, preprocessing)")
    return 0
