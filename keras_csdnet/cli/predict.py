"""`csdnet predict`: class names and probabilities for images and folders."""

import csv
import io
import json
import os
import sys

import numpy as np

from keras_csdnet.cli.common import class_names_of
from keras_csdnet.cli.common import load_model
from keras_csdnet.cli.errors import CommandError

HELP = "predict the classes of image files or folders of images"
FORMATS = ("table", "json", "csv")
RESIZES = ("shorter_side", "square", "none")


def add_parser(subparsers):
    p = subparsers.add_parser("predict", help=HELP, description=HELP + ".")
    p.add_argument("model", metavar="RUN_DIR|MODEL.keras")
    p.add_argument(
        "images", nargs="+", metavar="IMAGE|FOLDER", help="files, or folders (recursive)"
    )
    p.add_argument("--top-k", type=int, default=5, help="classes shown per image (default 5)")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument(
        "--resize",
        choices=RESIZES,
        default="shorter_side",
        help="as in training (default), both sides, or none: images already at the model's size",
    )
    p.add_argument("--output", metavar="FILE", help="write there instead of the screen")
    p.add_argument("--batch-size", type=int, default=32)
    p.set_defaults(run=run)
    return p


def image_files(paths):
    """The image files of `paths` (folders walked recursively, sorted)."""
    from keras_csdnet.data.images import is_image_file

    files = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(
                os.path.join(root, name)
                for root, _, names in os.walk(path)
                for name in names
                if is_image_file(name)
            )
            if not found:
                raise CommandError(f"No image files in folder {path!r}.")
            files += found
        elif os.path.isfile(path):
            if not is_image_file(path):
                raise CommandError(
                    f"{path!r} is not an image file we read (JPEG, PNG, BMP, GIF, PGM/PPM, "
                    "TIFF, WebP)."
                )
            files.append(path)
        else:
            raise CommandError(f"No such image file or folder: {path!r}.")
    return files


def load_images(files, image_size, resize):
    from keras_csdnet.data.images import load_image
    from keras_csdnet.data.images import read_image

    images = []
    for path in files:
        try:
            if resize == "none":
                array = read_image(path)
                if array.shape[:2] != (image_size, image_size):
                    raise CommandError(
                        f"{path!r} is {array.shape[1]} x {array.shape[0]} px, but the model "
                        f"takes {image_size} x {image_size} with --resize none; drop "
                        "--resize none to resize as in training."
                    )
            else:
                array = load_image(path, image_size, resize=resize)
        except CommandError:
            raise
        except Exception as e:
            reason = getattr(e, "reason", None) or str(e).splitlines()[0]
            raise CommandError(f"Cannot read image {path!r}: {reason}") from None
        images.append(array)
    return np.stack(images)


def predictions(model, images, top_k, batch_size=32):
    """`(indices (N, k), probabilities (N, k))`, best first."""
    from keras_csdnet.cli.evaluate import predict_logits

    logits = predict_logits(model, images, batch_size)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    k = min(top_k, probs.shape[1])
    order = np.argsort(-probs, axis=1)[:, :k]
    return order, np.take_along_axis(probs, order, axis=1)


def render(files, order, probs, names, fmt):
    if fmt == "json":
        rows = [
            {
                "image": path,
                "predictions": [
                    {"class": names[i], "probability": round(float(p), 6)} for i, p in zip(o, q)
                ],
            }
            for path, o, q in zip(files, order, probs)
        ]
        return json.dumps(rows, indent=1) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["image", "rank", "class", "probability"])
        for path, o, q in zip(files, order, probs):
            for rank, (i, p) in enumerate(zip(o, q), 1):
                writer.writerow([path, rank, names[i], f"{p:.6f}"])
        return out.getvalue()
    width = max(len(os.path.basename(f)) for f in files)
    lines = []
    for path, o, q in zip(files, order, probs):
        guesses = "  ".join(f"{names[i]} {p:.3f}" for i, p in zip(o, q))
        lines.append(f"{os.path.basename(path):<{width}}  {guesses}")
    return "\n".join(lines) + "\n"


def run(args):
    if args.top_k < 1:
        raise CommandError("--top-k must be 1 or more.")
    model, _ = load_model(args.model)
    files = image_files(args.images)
    images = load_images(files, model.image_size, args.resize)
    order, probs = predictions(model, images, args.top_k, args.batch_size)
    text = render(files, order, probs, class_names_of(model), args.format)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
        print(f"wrote {args.output}: {len(files)} images")
    else:
        sys.stdout.write(text)
    return 0
