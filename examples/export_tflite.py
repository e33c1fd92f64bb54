"""Export a trained CSDNet to TFLite, then classify an image with LiteRT.

    python examples/train.py                      # writes csdnet_cultivars.keras
    python examples/export_tflite.py --model csdnet_cultivars.keras \
        --image examples/leaf.png --quantization float16

The second half is what a phone app does: the `.tflite` file, its `.json`
metadata (class names, input size, preprocessing) and the LiteRT interpreter
(`pip install ai-edge-litert`) classify the image; Keras does not run. The
photo is prepared by `keras_csdnet.data.load_image` (Pillow and NumPy), the
same resize, centre crop and alpha compositing that `load_image_folder`'s
test set gets, so the `.tflite` file and `model.evaluate` see the same pixels;
the `.json` spells the recipe out for an app to repeat. `examples/leaf.png`
is a synthetic cultivar rendered at 128 px (`synthetic_cultivar_arrays(20,
128, 1, 1, seed=0)`, first test image, of the classes `train.py` trains by
default). Without `--image`, a synthetic image at the model's size is used.
"""

import argparse
import json
import os

import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="csdnet_cultivars.keras", help="a CSDNet .keras file")
    p.add_argument("--output", default=None, help="the .tflite path (default: beside --model)")
    p.add_argument("--quantization", default=None, choices=["float16", "dynamic_int8", "int8"])
    p.add_argument("--image", default=None, help="an image file to classify")
    p.add_argument("--top", type=int, default=3)
    return p.parse_args(argv)


def export(args):
    """Desktop side: Keras model -> checked .tflite file + .json metadata."""
    import keras_csdnet

    output = (
        args.output
        or os.path.splitext(args.model)[0]
        + (f"_{args.quantization}" if args.quantization else "")
        + ".tflite"
    )
    representative = None
    if args.quantization == "int8":
        size = keras_csdnet.export.image_size_of(args.model)
        (representative, _), _ = keras_csdnet.data.synthetic_cultivar_arrays(20, size, 5, 1, seed=0)
    report = keras_csdnet.export(
        args.model,
        output,
        format="tflite",
        quantization=args.quantization,
        representative_data=representative,
    )
    print(
        f"exported {output} ({report['size_bytes'] / 1e6:.2f} MB), parity vs Keras: "
        f"max |diff| {report['max_abs_diff']:.2e}, top-1 agreement "
        f"{report['top1_agreement']:.1%} ({'passed' if report['passed'] else 'FAILED'})"
    )
    return output


def classify(tflite_path, image_path, top=3):
    """Phone side: LiteRT interpreter + metadata, the library's preprocessing; returns logits."""
    from ai_edge_litert.interpreter import Interpreter

    with open(os.path.splitext(tflite_path)[0] + ".json") as f:
        meta = json.load(f)
    size = meta["image_size"]
    if image_path:
        from keras_csdnet.data import load_image

        pixels = load_image(image_path, size)
    else:
        from keras_csdnet.data import synthetic_cultivar_arrays

        _, (test, labels) = synthetic_cultivar_arrays(meta["num_classes"], size, 1, 1, seed=0)
        pixels = test[-1]
        print(f"no --image: a synthetic image of {meta['class_names'][labels[-1]]}")
    interpreter = Interpreter(model_path=tflite_path)
    inp = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(inp["index"], [1, size, size, 3])
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], pixels[None].astype(inp["dtype"]))
    interpreter.invoke()
    logits = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    for i in np.argsort(-probs)[:top]:
        print(f"  {meta['class_names'][i]:40s} {probs[i]:.3f}")
    return logits


def main(argv=None):
    args = parse_args(argv)
    for path, what in ((args.model, "--model"), (args.image, "--image")):
        if path is not None and not os.path.isfile(path):
            raise SystemExit(f"error: {what} {path!r}: no such file")
    try:
        path = export(args)
        logits = classify(path, args.image, args.top)
    except ValueError as e:  # the library's errors name the problem and the fix
        raise SystemExit(f"error: {e}") from None
    with open(os.path.splitext(path)[0] + ".json") as f:
        return json.load(f)["class_names"][int(np.argmax(logits))]


if __name__ == "__main__":
    main()
